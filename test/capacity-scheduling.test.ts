import assert from "node:assert/strict";
import { instanceType } from "../capacity/catalog";
import { DaemonSetLoad, EKS_SYSTEM_DAEMONSETS, nodeAllocatable } from "../capacity/allocatable";
import {
    GPU_RESOURCE,
    LABEL_ACCELERATOR,
    LABEL_NODE_POOL,
    Taint,
    poolLabels,
    poolTaints,
    poolTolerations,
} from "../capacity/pools";
import { PodResources } from "../capacity/resources";
import { PodGroup, PoolCapacity, nameSome, placeWorkloads } from "../capacity/scheduling";

const GIB = 2 ** 30;
const gpuTaint: Taint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };
const gpuTolerations = poolTolerations({ name: "any-gpu", instanceType: "g5.xlarge" }, gpuTaint);

function pool(
    name: string,
    type: string,
    minSize: number,
    maxSize: number,
    daemonSets: DaemonSetLoad[] = EKS_SYSTEM_DAEMONSETS,
): PoolCapacity {
    const shape = { name, instanceType: type };
    const taints = poolTaints(shape, gpuTaint);
    const labels = poolLabels(shape);
    return {
        name,
        instanceType: type,
        minSize,
        maxSize,
        taints,
        labels,
        allocatable: nodeAllocatable(instanceType(type), taints, labels, daemonSets),
    };
}

function res(cpu: number, memGi: number, gpus = 0): PodResources {
    return { cpuMillis: cpu, memoryBytes: memGi * GIB, extended: gpus > 0 ? { [GPU_RESOURCE]: gpus } : {} };
}

function group(overrides: Partial<PodGroup> & Pick<PodGroup, "workload" | "requests">): PodGroup {
    return { role: "server", count: 1, tolerations: [], nodeSelector: {}, gang: false, ...overrides };
}

const system = pool("system", "m6i.xlarge", 2, 4);
const a10g = pool("gpu-a10g-4x", "g5.12xlarge", 0, 3);
const a100 = pool("gpu-a100", "p4d.24xlarge", 0, 2);

describe("capacity/scheduling", () => {
    describe("placeWorkloads", () => {
        const pools = [system, a10g, a100];

        it("reports a 4-GPU 256Gi worker on g5.12xlarge as unschedulable on memory", () => {
            const result = placeWorkloads(
                [
                    group({
                        workload: "llm-train",
                        role: "worker",
                        requests: res(16000, 256, 4),
                        tolerations: gpuTolerations,
                        nodeSelector: { [LABEL_NODE_POOL]: "gpu-a10g-4x" },
                    }),
                ],
                pools,
            );
            assert.equal(result.fits, false);
            const [p] = result.placements;
            assert.equal(p.schedulable, false);
            assert.equal(p.pool, undefined);
            // 192Gi less 7.5% VM overhead, 8362Mi reserved and 100Mi eviction = 173400Mi = 169.3Gi
            assert.equal(p.reason, "llm-train worker needs 256Gi memory; g5.12xlarge allocates 169.3Gi (pool gpu-a10g-4x)");
        });

        it("reports an 8-GPU pod on a 4-GPU pool by GPUs", () => {
            const result = placeWorkloads(
                [
                    group({
                        workload: "big",
                        requests: res(8000, 64, 8),
                        tolerations: gpuTolerations,
                        nodeSelector: { [LABEL_ACCELERATOR]: "nvidia-a10g" },
                    }),
                ],
                pools,
            );
            assert.equal(result.placements[0].reason, "big server needs 8 GPUs; g5.12xlarge has 4 (pool gpu-a10g-4x)");
        });

        it("places the same 8-GPU pod on the A100 pool when it may go there", () => {
            const result = placeWorkloads(
                [group({ workload: "big", requests: res(8000, 64, 8), tolerations: gpuTolerations })],
                pools,
            );
            assert.equal(result.fits, true);
            assert.deepEqual(result.placements[0], { workload: "big", pool: "gpu-a100", pools: ["gpu-a100"], pods: 1, schedulable: true, nodesNeeded: 1 });
            assert.deepEqual(result.nodesPerPool, { system: 2, "gpu-a10g-4x": 0, "gpu-a100": 1 });
        });

        it("names maxSize when the HPA maximum needs more nodes than the pool may have", () => {
            // 10 one-GPU replicas, 4 per g5.12xlarge -> 3 nodes; maxSize 2.
            const small = pool("gpu-a10g-4x", "g5.12xlarge", 0, 2);
            const result = placeWorkloads(
                [group({ workload: "llm-serve", requests: res(4000, 16, 1), count: 10, tolerations: gpuTolerations })],
                [system, small],
            );
            const [p] = result.placements;
            assert.equal(p.schedulable, false);
            assert.equal(p.pool, "gpu-a10g-4x");
            assert.equal(p.nodesNeeded, 3);
            assert.equal(p.reason, "llm-serve server: needs 3 nodes of pool gpu-a10g-4x at maximum scale; maxSize is 2");
            assert.equal(result.nodesPerPool["gpu-a10g-4x"], 2);
            assert.equal(result.fits, false);

            const roomy = placeWorkloads(
                [group({ workload: "llm-serve", requests: res(4000, 16, 1), count: 10, tolerations: gpuTolerations })],
                [system, a10g],
            );
            assert.equal(roomy.fits, true);
            assert.equal(roomy.nodesPerPool["gpu-a10g-4x"], 3);
        });

        it("names a few of the workloads sharing a full pool and counts the rest, at any scale", () => {
            const small = pool("gpu-a10g-4x", "g5.12xlarge", 0, 2);
            const many = Array.from({ length: 40 }, (_, i) => group({ workload: `m${String(i).padStart(2, "0")}`, requests: res(4000, 16, 1), count: 2, tolerations: gpuTolerations }));
            const result = placeWorkloads(many, [system, small]);
            const p = result.placements.find((x) => x.workload === "m39")!;
            assert.equal(p.schedulable, false);
            assert.equal(p.reason, "m39 server: needs 20 nodes of pool gpu-a10g-4x at maximum scale; maxSize is 2 (pool shared with m00, m01, m02, m03, m04 and 34 more)");
            assert.equal(nameSome(["a", "b"]), "a, b");
            assert.equal(nameSome(["a", "b", "c", "d", "e"]), "a, b, c, d, e");
            assert.equal(nameSome(["a", "b", "c", "d", "e", "f"]), "a, b, c, d, e and 1 more");
        });

        it("lets DaemonSet overhead tip a pod over", () => {
            // m6i.xlarge: 3920m after kube-reserved, 3770m after the EKS DaemonSets' 150m.
            const api = group({ workload: "api", requests: res(3800, 4) });
            const bare = placeWorkloads([api], [pool("system", "m6i.xlarge", 1, 4, [])]);
            assert.equal(bare.fits, true);
            const loaded = placeWorkloads([api], [pool("system", "m6i.xlarge", 1, 4)]);
            assert.equal(loaded.fits, false);
            assert.equal(loaded.placements[0].reason, "api server needs 3800m CPU; m6i.xlarge allocates 3770m (pool system)");
        });

        it("puts a pod that tolerates nothing on the untainted CPU pool only", () => {
            const result = placeWorkloads(
                [group({ workload: "ui", requests: res(500, 1) })],
                [a100, a10g, system],
            );
            assert.equal(result.placements[0].pool, "system");
            assert.deepEqual(result.nodesPerPool, { "gpu-a100": 0, "gpu-a10g-4x": 0, system: 2 });
        });

        it("says which taint is not tolerated on the pool the pod selects", () => {
            const result = placeWorkloads(
                [group({ workload: "ui", requests: res(500, 1, 1), nodeSelector: { [LABEL_NODE_POOL]: "gpu-a10g-4x" } })],
                pools,
            );
            assert.equal(result.placements[0].reason, "ui server: taint nvidia.com/gpu=true:NoSchedule not tolerated on pool gpu-a10g-4x");
        });

        it("says when a nodeSelector or affinity matches no pool", () => {
            const result = placeWorkloads(
                [
                    group({ workload: "a", requests: res(1000, 1, 1), tolerations: gpuTolerations, nodeSelector: { [LABEL_NODE_POOL]: "a100" } }),
                    group({
                        workload: "b",
                        requests: res(1000, 1, 1),
                        tolerations: gpuTolerations,
                        affinity: { nodeSelectorTerms: [{ matchExpressions: [{ key: LABEL_ACCELERATOR, operator: "In", values: ["nvidia-h100"] }] }] },
                    }),
                ],
                pools,
            );
            assert.equal(result.placements[0].reason, "a server: nodeSelector node-pool=a100 matches no pool");
            assert.equal(result.placements[1].reason, "b server: required node affinity accelerator In [nvidia-h100] matches no pool");
        });

        it("places a gang whole or not at all, freeing its capacity for others", () => {
            // master + 3 workers at 4 GPUs each need 4 g5.12xlarge; the pool stops at 3.
            const job = (gang: boolean): PodGroup[] => [
                group({ workload: "ddp", role: "master", requests: res(8000, 64, 4), tolerations: gpuTolerations, gang }),
                group({ workload: "ddp", role: "worker", requests: res(8000, 64, 4), count: 3, tolerations: gpuTolerations, gang }),
            ];
            const serve = group({ workload: "serve", requests: res(4000, 16, 1), count: 2, tolerations: gpuTolerations });
            const a10gOnly = [system, a10g];

            const gang = placeWorkloads([...job(true), serve], a10gOnly);
            const ddp = gang.placements.find((p) => p.workload === "ddp")!;
            assert.equal(ddp.schedulable, false);
            assert.equal(ddp.nodesNeeded, 4);
            assert.match(ddp.reason!, /^ddp master\+worker: needs 5 nodes of pool gpu-a10g-4x at maximum scale; maxSize is 3 \(gang/);
            // Without the gang's pods the two serving replicas share one node.
            assert.deepEqual(gang.placements.find((p) => p.workload === "serve"), {
                workload: "serve",
                pool: "gpu-a10g-4x",
                pools: ["gpu-a10g-4x"],
                pods: 2,
                schedulable: true,
                nodesNeeded: 1,
            });
            assert.equal(gang.nodesPerPool["gpu-a10g-4x"], 1);

            // Not a gang: three pods keep their nodes and serving gets nothing; both are short.
            const loose = placeWorkloads([...job(false), serve], a10gOnly);
            assert.equal(loose.nodesPerPool["gpu-a10g-4x"], 3);
            assert.equal(loose.placements.every((p) => p.schedulable), false);
            assert.equal(loose.fits, false);
        });

        it("places a gang that fits and counts its nodes", () => {
            const result = placeWorkloads(
                [
                    group({ workload: "ddp", role: "master", requests: res(8000, 64, 4), tolerations: gpuTolerations, gang: true }),
                    group({ workload: "ddp", role: "worker", requests: res(8000, 64, 4), count: 2, tolerations: gpuTolerations, gang: true }),
                ],
                [system, a10g],
            );
            assert.equal(result.fits, true);
            assert.equal(result.placements[0].nodesNeeded, 3);
        });

        it("packs pods of different workloads onto shared nodes, biggest first", () => {
            // In input order first-fit would need 4 nodes (1+1+1, then 3, 3, 3); decreasing needs 3.
            const groups = [
                group({ workload: "small", requests: res(1000, 8, 1), count: 3, tolerations: gpuTolerations }),
                group({ workload: "large", requests: res(1000, 8, 3), count: 3, tolerations: gpuTolerations }),
            ];
            const result = placeWorkloads(groups, [system, a10g]);
            assert.equal(result.fits, true);
            assert.equal(result.nodesPerPool["gpu-a10g-4x"], 3);
            assert.deepEqual(
                result.placements.map((p) => [p.workload, p.nodesNeeded]),
                [
                    ["small", 3],
                    ["large", 3],
                ],
            );
        });

        it("reports minSize for an idle pool and a lightly used one", () => {
            const result = placeWorkloads([group({ workload: "ui", requests: res(100, 0.5) })], [system, a10g]);
            assert.deepEqual(result.nodesPerPool, { system: 2, "gpu-a10g-4x": 0 });
            assert.equal(result.placements[0].nodesNeeded, 1);
        });

        it("lets each role land on whichever pool passes its filters, as the scheduler does", () => {
            const result = placeWorkloads(
                [
                    group({ workload: "mixed", role: "master", requests: res(1000, 1), nodeSelector: { [LABEL_NODE_POOL]: "system" } }),
                    group({ workload: "mixed", role: "worker", requests: res(1000, 1, 1), tolerations: gpuTolerations }),
                ],
                [system, a10g],
            );
            assert.equal(result.placements[0].schedulable, true);
            assert.equal(result.placements[0].pool, "system");
            assert.deepEqual(result.placements[0].pools, ["system", "gpu-a10g-4x"]);
            assert.equal(result.placements[0].nodesNeeded, 2);
        });

        it("counts pod slots in pod packing: small pods fill a node's max-pods before its CPU or memory", () => {
            // m6i.large: 29 pods less 4 EKS DaemonSets leaves 25 slots; 30 tiny pods need 2 nodes, 60 need 3.
            const cpuOnly = pool("system", "m6i.large", 1, 2);
            const tiny = (count: number) => group({ workload: "tiny", requests: res(10, 0.01), count });
            const two = placeWorkloads([tiny(30)], [cpuOnly]);
            assert.equal(two.fits, true);
            assert.equal(two.nodesPerPool.system, 2);
            const three = placeWorkloads([tiny(60)], [cpuOnly]);
            assert.equal(three.fits, false);
            assert.equal(three.placements[0].reason, "tiny server: needs 3 nodes of pool system at maximum scale; maxSize is 2");
            // A pod that requests nothing still takes a slot.
            const nothing = placeWorkloads([group({ workload: "idle", requests: res(0, 0), count: 26 })], [pool("system", "m6i.large", 1, 1)]);
            assert.equal(nothing.fits, false);
        });

        it("spreads a workload's pods over every feasible pool, opening nodes in the first with room", () => {
            // Two untainted CPU pools; the first may have one node. 4 pods of 3 CPU: 1 on the first, 3 on the second.
            const first = pool("cpu-a", "m6i.xlarge", 0, 1);
            const second = pool("cpu-b", "m6i.xlarge", 0, 3);
            const result = placeWorkloads([group({ workload: "api", requests: res(3000, 1), count: 4 })], [first, second]);
            assert.equal(result.fits, true);
            assert.deepEqual(result.nodesPerPool, { "cpu-a": 1, "cpu-b": 3 });
            assert.equal(result.placements[0].pool, "cpu-a");
            assert.deepEqual(result.placements[0].pools, ["cpu-a", "cpu-b"]);
            assert.equal(result.placements[0].nodesNeeded, 4);
            // The existing minSize nodes of a later pool are used before a node opens in an earlier one.
            const warm = placeWorkloads([group({ workload: "api", requests: res(3000, 1), count: 1 })], [first, pool("cpu-b", "m6i.xlarge", 1, 3)]);
            assert.deepEqual(warm.placements[0].pools, ["cpu-b"]);
            assert.deepEqual(warm.nodesPerPool, { "cpu-a": 0, "cpu-b": 1 });
            const full = placeWorkloads([group({ workload: "api", requests: res(3000, 1), count: 5 })], [first, second]);
            assert.equal(full.placements[0].reason, "api server: needs more nodes than pools cpu-a (maxSize 1), cpu-b (maxSize 3) may have at maximum scale");
        });

        it("lets a gang that now fits take the room another workload had: adding a node is not monotone for gangs", () => {
            // 4-GPU nodes. A: 3 pods x 4 GPUs (gang). B: 2 pods x 3 GPUs (gang). W: 1 pod x 1 GPU.
            const workloads = [
                group({ workload: "A", role: "worker", requests: res(1000, 8, 4), count: 3, tolerations: gpuTolerations, gang: true }),
                group({ workload: "B", role: "worker", requests: res(1000, 8, 3), count: 2, tolerations: gpuTolerations, gang: true }),
                group({ workload: "W", requests: res(1000, 8, 1), tolerations: gpuTolerations }),
            ];
            const verdicts = (maxSize: number) => placeWorkloads(workloads, [system, pool("gpu-a10g-4x", "g5.12xlarge", 0, maxSize)]).placements.map((p) => [p.workload, p.schedulable]);
            assert.deepEqual(verdicts(2), [["A", false], ["B", true], ["W", true]]);
            assert.deepEqual(verdicts(3), [["A", true], ["B", false], ["W", false]]);
        });

        it("counts memory in pod packing, not just GPUs", () => {
            // 100Gi pods: one per g5.12xlarge (183.7Gi allocatable) even though GPUs would allow four.
            const result = placeWorkloads(
                [group({ workload: "mem", requests: res(1000, 100, 1), count: 3, tolerations: gpuTolerations })],
                [system, a10g],
            );
            assert.equal(result.nodesPerPool["gpu-a10g-4x"], 3);
        });
    });
});
