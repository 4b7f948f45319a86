import assert from "node:assert/strict";
import fc from "fast-check";
import { EKS_SYSTEM_DAEMONSETS, nodeAllocatable } from "../capacity/allocatable";
import { instanceType } from "../capacity/catalog";
import { GPU_RESOURCE, Taint, poolLabels, poolTaints, poolTolerations } from "../capacity/pools";
import { fitsResources, nodeResourcesFit, shortfalls } from "../capacity/predicates";
import { NodeResources, PodResources } from "../capacity/resources";
import { PodGroup, PoolCapacity, placeWorkloads } from "../capacity/scheduling";

const GIB = 2 ** 30;
const gpuTaint: Taint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };
const RUNS = { numRuns: 300 };

const EXTENDED_NAMES = [GPU_RESOURCE, "vpc.amazonaws.com/efa", "example.com/fpga"];
const extended = (max: number, min = 0) => fc.dictionary(fc.constantFrom(...EXTENDED_NAMES), fc.integer({ min, max }), { maxKeys: 3 });

const podResources: fc.Arbitrary<PodResources> = fc.record({
    cpuMillis: fc.integer({ min: 0, max: 8000 }),
    memoryBytes: fc.integer({ min: 0, max: 64 }).map((g) => g * GIB),
    extended: extended(4),
});
const nodeResources: fc.Arbitrary<NodeResources> = fc.record({
    cpuMillis: fc.integer({ min: -500, max: 8000 }),
    memoryBytes: fc.integer({ min: -1, max: 64 }).map((g) => g * GIB),
    extended: extended(8, -1),
    pods: fc.integer({ min: -1, max: 3 }),
});

const INSTANCE_TYPES = ["m6i.large", "m6i.xlarge", "g5.xlarge", "g5.12xlarge"];

function poolOf(name: string, type: string, minSize: number, maxSize: number): PoolCapacity {
    const shape = { name, instanceType: type };
    const taints = poolTaints(shape, gpuTaint);
    const labels = poolLabels(shape);
    return { name, instanceType: type, minSize, maxSize, taints, labels, allocatable: nodeAllocatable(instanceType(type), taints, labels, EKS_SYSTEM_DAEMONSETS) };
}

const pools: fc.Arbitrary<PoolCapacity[]> = fc
    .array(fc.record({ type: fc.constantFrom(...INSTANCE_TYPES), minSize: fc.integer({ min: 0, max: 1 }), extra: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 3 })
    .map((shapes) => shapes.map((s, i) => poolOf(`p${i}`, s.type, s.minSize, Math.max(1, s.minSize + s.extra))));

const gpuTolerations = poolTolerations({ name: "any", instanceType: "g5.xlarge" }, gpuTaint);

/** Workloads of one role each, not gangs (a gang that now fits may take another's room: see capacity-scheduling). */
function workloads(poolCount: number): fc.Arbitrary<PodGroup[]> {
    return fc
        .array(
            fc.record({
                cpu: fc.integer({ min: 100, max: 8000 }),
                memGi: fc.integer({ min: 1, max: 48 }),
                gpus: fc.integer({ min: 0, max: 4 }),
                count: fc.integer({ min: 1, max: 5 }),
                tolerates: fc.boolean(),
                pinnedTo: fc.option(fc.integer({ min: 0, max: poolCount - 1 }), { nil: undefined }),
            }),
            { minLength: 1, maxLength: 4 },
        )
        .map((ws) =>
            ws.map<PodGroup>((w, i) => ({
                workload: `w${i}`,
                role: "server",
                requests: { cpuMillis: w.cpu, memoryBytes: w.memGi * GIB, extended: w.gpus > 0 ? { [GPU_RESOURCE]: w.gpus } : ({} as Record<string, number>) },
                count: w.count,
                tolerations: w.tolerates ? gpuTolerations : [],
                nodeSelector: w.pinnedTo === undefined ? ({} as Record<string, string>) : { "node-pool": `p${w.pinnedTo}` },
                gang: false,
            })),
        );
}

const scenario = pools.chain((ps) => fc.record({ pools: fc.constant(ps), groups: workloads(ps.length) }));

const fitting = (groups: PodGroup[], ps: PoolCapacity[]) => new Set(placeWorkloads(groups, ps).placements.filter((p) => p.schedulable).map((p) => p.workload));

describe("capacity properties (fast-check)", () => {
    it("the packer's fit check agrees with the shortfall list and with NodeResourcesFit", () => {
        fc.assert(
            fc.property(podResources, nodeResources, (pod, node) => {
                const fits = fitsResources(pod, node);
                assert.equal(fits, shortfalls(pod, node).length === 0);
                assert.equal(fits, nodeResourcesFit(pod, node).fits);
            }),
            RUNS,
        );
    });

    it("adding a node to a pool never makes a fitting workload unfit", () => {
        fc.assert(
            fc.property(scenario, fc.nat(), ({ pools: ps, groups }, pick) => {
                const i = pick % ps.length;
                const grown = ps.map((p, j) => (j === i ? { ...p, maxSize: p.maxSize + 1 } : p));
                const before = fitting(groups, ps);
                const after = fitting(groups, grown);
                for (const w of before) assert.ok(after.has(w), `${w} fit before pool ${ps[i].name} grew`);
            }),
            RUNS,
        );
    });

    it("removing a toleration never makes a workload fit", () => {
        fc.assert(
            fc.property(scenario, fc.nat(), ({ pools: ps, groups }, pick) => {
                const i = pick % groups.length;
                const stripped = groups.map((g, j) => (j === i ? { ...g, tolerations: [] } : g));
                const w = groups[i].workload;
                if (fitting(stripped, ps).has(w)) {
                    assert.ok(fitting(groups, ps).has(w), `${w} fits only without its toleration`);
                }
            }),
            RUNS,
        );
    });

    it("adding a pool (last in config order) never makes a fitting workload unfit", () => {
        fc.assert(
            fc.property(scenario, fc.constantFrom(...INSTANCE_TYPES), fc.integer({ min: 1, max: 3 }), ({ pools: ps, groups }, type, maxSize) => {
                const before = fitting(groups, ps);
                const after = fitting(groups, [...ps, poolOf("added", type, 0, maxSize)]);
                for (const w of before) assert.ok(after.has(w), `${w} fit before the pool was added`);
            }),
            RUNS,
        );
    });
});
