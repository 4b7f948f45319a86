/**
 * Prometheus' TSDB claim is sized from the biggest cluster the pools allow: nodes at maxSize and the GPU
 * entities DCGM's exporter writes series for on them (a MIG node's GPU instances besides its GPUs).
 */
import { strict as assert } from "node:assert";
import { instanceType } from "../capacity/catalog";
import { dcgmEntities, gpuDevices } from "../capacity/sharing";
import { prometheusVolume, prometheusVolumeOf, PROMETHEUS_RETENTION_DAYS } from "../components/metricsChain";

const a100 = instanceType("p4d.24xlarge").gpu!;
const a10g = instanceType("g5.xlarge").gpu!;

describe("Prometheus' volume, from the pools", () => {
    it("DCGM entities: whole and time-sliced GPUs count once, a MIG node adds its instances", () => {
        assert.equal(dcgmEntities(gpuDevices(a100, undefined)), 8);
        assert.equal(dcgmEntities(gpuDevices(a10g, { timeSlicing: { replicas: 4 } })), 1);
        assert.equal(dcgmEntities(gpuDevices(a100, { mig: { profile: "3g.20gb" } })), 8 + 16);
        assert.equal(dcgmEntities(gpuDevices(a100, { mig: { profile: "1g.5gb" } })), 8 + 56);
    });

    it("counts every pool at maxSize, GPU entities by sharing mode", () => {
        const system = { maxSize: 3, instanceType: "m6i.xlarge" };
        const mig = { maxSize: 2, instanceType: "p4d.24xlarge", sharing: { mig: { profile: "1g.5gb" } } };
        const sliced = { maxSize: 4, instanceType: "g5.xlarge", sharing: { timeSlicing: { replicas: 4 } } };
        assert.deepEqual(prometheusVolumeOf([system, mig, sliced]), prometheusVolume(3 + 2 + 4, 2 * (8 + 56) + 4 * 1));
        assert.ok(prometheusVolumeOf([system, mig]).activeSeries > prometheusVolumeOf([system, { ...mig, sharing: undefined }]).activeSeries);
    });

    it("disk = retention x samples/s x bytes/sample x headroom, rounded up to 10 GiB, 20 GiB at least; retention by size below it", () => {
        const small = prometheusVolume(3, 0);
        assert.equal(small.sizeGiB, 20, "a small cluster gets the floor");
        const big = prometheusVolume(200, 1600);
        // (50,000 + 3,000 x 200) / 30 s + 150 x 1,600 / 15 s = 37,666.7 samples/s; x 15 d x 86,400 s x 2 B x 1.5 = 136.4 GiB
        assert.equal(big.sizeGiB, 140);
        assert.equal(big.retentionSize, "119GB");
        assert.equal(big.activeSeries, 50_000 + 3_000 * 200 + 150 * 1_600);
        assert.ok(prometheusVolume(200, 1600, PROMETHEUS_RETENTION_DAYS * 2).sizeGiB > big.sizeGiB);
    });
});
