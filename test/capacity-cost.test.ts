import assert from "node:assert/strict";
import {
    cheapestGpuInstance,
    costSummary,
    dedicatedBaselineMonthly,
    gpuAllocation,
    poolHourlyCost,
    roundCents,
} from "../capacity/cost";

const pools = [
    { name: "gpu-a10g-4x", instanceType: "g5.12xlarge" },
    { name: "system", instanceType: "m6i.2xlarge" },
];

describe("capacity/cost", () => {
    describe("poolHourlyCost", () => {
        it("multiplies the catalog's on-demand price by the node count", () => {
            assert.equal(poolHourlyCost("g5.12xlarge", 3), 5.672 * 3);
            assert.equal(poolHourlyCost("p4d.24xlarge", 2), 21.957642 * 2);
            assert.equal(poolHourlyCost("m6i.xlarge", 0), 0);
        });

        it("rejects an instance type the catalog does not know", () => {
            assert.throws(() => poolHourlyCost("x9.huge", 1), /unknown instance type "x9.huge"/);
        });
    });

    describe("costSummary", () => {
        it("adds the pools at min and max scale, by hand", () => {
            const summary = costSummary({
                minNodes: { "gpu-a10g-4x": 1, system: 2 },
                maxNodes: { "gpu-a10g-4x": 3, system: 4 },
                pools,
            });
            // min: 1 x 5.672 + 2 x 0.384 = 6.440 $/h; 6.44 x 730 = 4701.20 $/month
            // max: 3 x 5.672 + 4 x 0.384 = 18.552 $/h; 18.552 x 730 = 13542.96 $/month
            assert.equal(summary.hourlyMin, 6.44);
            assert.equal(summary.hourlyMax, 18.55);
            assert.equal(summary.monthlyMin, 4701.2);
            assert.equal(summary.monthlyMax, 13542.96);
            assert.deepEqual(summary.perPool, [
                { pool: "gpu-a10g-4x", instanceType: "g5.12xlarge", nodesMin: 1, nodesMax: 3, hourlyMin: 5.67, hourlyMax: 17.02 },
                { pool: "system", instanceType: "m6i.2xlarge", nodesMin: 2, nodesMax: 4, hourlyMin: 0.77, hourlyMax: 1.54 },
            ]);
        });

        it("derives monthly figures from the unrounded hourly sum", () => {
            // p4d: 21.957642 x 730 = 16029.07866 -> 16029.08, not 21.96 x 730 = 16030.80.
            const summary = costSummary({
                minNodes: { a100: 1 },
                maxNodes: { a100: 1 },
                pools: [{ name: "a100", instanceType: "p4d.24xlarge" }],
            });
            assert.equal(summary.hourlyMin, 21.96);
            assert.equal(summary.monthlyMin, 16029.08);
        });

        it("counts a pool missing from the node counts as zero nodes", () => {
            const summary = costSummary({ minNodes: {}, maxNodes: { system: 1 }, pools });
            assert.equal(summary.hourlyMin, 0);
            assert.equal(summary.hourlyMax, 0.38);
            assert.equal(summary.perPool[0].nodesMax, 0);
        });

        it("rejects unknown pools and max below min", () => {
            assert.throws(() => costSummary({ minNodes: { gpu: 1 }, maxNodes: {}, pools }), /minNodes names pool "gpu"/);
            assert.throws(
                () => costSummary({ minNodes: { system: 3 }, maxNodes: { system: 2 }, pools }),
                /maxNodes 2 is below minNodes 3/,
            );
        });
    });

    describe("dedicatedBaselineMonthly", () => {
        it("picks the cheapest instance with the same GPU model and enough GPUs", () => {
            assert.equal(cheapestGpuInstance("A10G", 1).name, "g5.xlarge");
            assert.equal(cheapestGpuInstance("A10G", 2).name, "g5.12xlarge"); // 5.672 < g5.24xlarge 8.144
            assert.equal(cheapestGpuInstance("A10G", 5).name, "g5.48xlarge");
            assert.equal(cheapestGpuInstance("L4", 1).name, "g6.xlarge");
            assert.equal(cheapestGpuInstance("A100-40GB", 8).name, "p4d.24xlarge");
            assert.throws(() => cheapestGpuInstance("H100-80GB", 16), /no catalog instance has 16 or more H100-80GB GPUs/);
        });

        it("prices one instance per pod for the whole month, by hand", () => {
            // 2 pods x g5.12xlarge 5.672 + 3 pods x g6.xlarge 0.8048 = 13.7584 $/h; x 730 = 10043.632
            const monthly = dedicatedBaselineMonthly([
                { gpusPerPod: 4, gpuModel: "A10G", pods: 2 },
                { gpusPerPod: 1, gpuModel: "L4", pods: 3 },
            ]);
            assert.equal(monthly, 10043.63);
            assert.equal(dedicatedBaselineMonthly([]), 0);
        });
    });

    describe("gpuAllocation", () => {
        it("is requested / provisioned to three decimals", () => {
            assert.equal(gpuAllocation(6, 8), 0.75);
            assert.equal(gpuAllocation(1, 3), 0.333);
            assert.equal(gpuAllocation(2, 3), 0.667);
            assert.equal(gpuAllocation(8, 8), 1);
        });

        it("is 0 when nothing is provisioned", () => {
            assert.equal(gpuAllocation(0, 0), 0);
            assert.equal(gpuAllocation(4, 0), 0);
        });
    });

    describe("roundCents", () => {
        it("rounds half up despite binary float error", () => {
            assert.equal(roundCents(1.005), 1.01);
            assert.equal(roundCents(2.344), 2.34);
        });
    });
});
