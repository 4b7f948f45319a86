import assert from "node:assert/strict";
import { LABEL_ACCELERATOR, LABEL_NODE_POOL, GPU_RESOURCE } from "../capacity/pools";
import {
    NodeSelectorRequirement,
    NodeTaint,
    RequiredNodeAffinity,
    nodeAffinity,
    nodeResourcesFit,
    nodeSelectorMatches,
    parseInt64,
    requiredAffinityMatches,
    taintToleration,
    toleratesTaint,
} from "../capacity/predicates";
import { NodeResources, PodResources, podRequests } from "../capacity/resources";

const GIB = 2 ** 30;
const gpuTaint: NodeTaint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };
const batch: NodeTaint = { key: "dedicated", value: "batch", effect: "NoExecute" };

function pod(cpu: number, memGi: number, extended: Record<string, number> = {}): PodResources {
    return { cpuMillis: cpu, memoryBytes: memGi * GIB, extended };
}

const node: NodeResources = { cpuMillis: 4000, memoryBytes: 16 * GIB, extended: { [GPU_RESOURCE]: 1 }, pods: 10 };

/** Affinity of one term per list of expressions. */
const terms = (...exprs: NodeSelectorRequirement[][]): RequiredNodeAffinity => ({ nodeSelectorTerms: exprs.map((matchExpressions) => ({ matchExpressions })) });

describe("capacity/predicates", () => {
    describe("TaintToleration (Toleration.ToleratesTaint)", () => {
        it("tolerates every taint with no key and operator Exists", () => {
            for (const taint of [gpuTaint, batch, { key: "x", effect: "NoSchedule" }]) {
                assert.equal(toleratesTaint({ operator: "Exists" }, taint), true);
            }
        });

        it("matches every effect when the toleration sets none, only its own when it sets one", () => {
            assert.equal(toleratesTaint({ key: "dedicated", operator: "Equal", value: "batch" }, batch), true);
            assert.equal(toleratesTaint({ key: "dedicated", operator: "Equal", value: "batch", effect: "NoSchedule" }, batch), false);
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator: "Exists", effect: "NoExecute" }, gpuTaint), false);
        });

        it("compares values for Equal and for an empty operator; Exists ignores the value", () => {
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator: "Equal", value: "false" }, gpuTaint), false);
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", value: "true" }, gpuTaint), true);
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator: "", value: "false" }, gpuTaint), false);
            assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator: "Exists" }, gpuTaint), true);
            assert.equal(toleratesTaint({ key: "other", operator: "Exists" }, gpuTaint), false);
        });

        it("never tolerates with an operator it does not know", () => {
            for (const operator of ["exists", "In", "Gt", "Lt"]) {
                assert.equal(toleratesTaint({ key: "nvidia.com/gpu", operator, value: "true" }, gpuTaint), false, operator);
            }
        });

        it("mirrors the code for an empty key with Equal (the API server rejects it): the value alone decides", () => {
            assert.equal(toleratesTaint({ operator: "Equal", value: "batch" }, batch), true);
            assert.equal(toleratesTaint({ value: "true" }, batch), false);
        });

        it("filters on NoSchedule and NoExecute only, naming the first untolerated taint as the scheduler does", () => {
            assert.deepEqual(taintToleration([], [{ ...gpuTaint, effect: "PreferNoSchedule" }]), { fits: true });
            const r = taintToleration([], [gpuTaint, batch]);
            assert.equal(r.fits, false);
            if (!r.fits) {
                assert.equal(r.plugin, "TaintToleration");
                assert.equal(r.reason, "taints nvidia.com/gpu=true:NoSchedule, dedicated=batch:NoExecute not tolerated");
                assert.deepEqual(r.schedulerReasons, ["node(s) had untolerated taint {nvidia.com/gpu: true}"]);
            }
        });
    });

    describe("NodeAffinity", () => {
        const labels = { [LABEL_ACCELERATOR]: "nvidia-a10g", zone: "a", "gpu-count": "4", [LABEL_NODE_POOL]: "a10g" };
        const matches = (affinity: RequiredNodeAffinity, on = labels, name?: string) => requiredAffinityMatches(affinity, { labels: on, name });

        it("needs every nodeSelector pair, an absent label never matching", () => {
            assert.deepEqual(nodeSelectorMatches({ [LABEL_NODE_POOL]: "a10g", zone: "a" }, labels), { fits: true });
            const wrong = nodeSelectorMatches({ [LABEL_NODE_POOL]: "a100" }, labels);
            assert.equal(wrong.fits === false && wrong.reason, "nodeSelector node-pool=a100 does not match (node has node-pool=a10g)");
            assert.equal(nodeSelectorMatches({ missing: "" }, labels).fits, false);
        });

        it("evaluates In, NotIn, Exists and DoesNotExist; NotIn and DoesNotExist hold on an absent label", () => {
            assert.equal(matches(terms([{ key: LABEL_ACCELERATOR, operator: "In", values: ["nvidia-a10g", "nvidia-l4"] }])), true);
            assert.equal(matches(terms([{ key: LABEL_ACCELERATOR, operator: "In", values: ["nvidia-a100"] }])), false);
            assert.equal(matches(terms([{ key: "missing", operator: "In", values: [""] }])), false);
            assert.equal(matches(terms([{ key: LABEL_ACCELERATOR, operator: "NotIn", values: ["nvidia-a10g"] }])), false);
            assert.equal(matches(terms([{ key: "missing", operator: "NotIn", values: ["x"] }])), true);
            assert.equal(matches(terms([{ key: "zone", operator: "Exists" }])), true);
            assert.equal(matches(terms([{ key: "missing", operator: "DoesNotExist" }])), true);
            assert.equal(matches(terms([{ key: "zone", operator: "DoesNotExist" }])), false);
        });

        it("compares Gt and Lt as base-10 int64 (strconv.ParseInt); a non-integer on either side never matches", () => {
            assert.equal(matches(terms([{ key: "gpu-count", operator: "Gt", values: ["3"] }])), true);
            assert.equal(matches(terms([{ key: "gpu-count", operator: "Gt", values: ["4"] }])), false);
            assert.equal(matches(terms([{ key: "gpu-count", operator: "Lt", values: ["+5"] }])), true);
            assert.equal(matches(terms([{ key: "gpu-count", operator: "Gt", values: ["-1"] }])), true);
            assert.equal(matches(terms([{ key: "gpu-count", operator: "Gt", values: ["3.5"] }])), false);
            assert.equal(matches(terms([{ key: "gpu-count", operator: "Gt", values: ["0x3"] }])), false);
            assert.equal(matches(terms([{ key: "gpu-count", operator: "Gt", values: ["1", "2"] }])), false);
            assert.equal(matches(terms([{ key: "zone", operator: "Gt", values: ["1"] }])), false);
            assert.equal(matches(terms([{ key: "missing", operator: "Lt", values: ["10"] }])), false);
            assert.equal(matches(terms([{ key: "gpu-count", operator: "Lt", values: ["9223372036854775808"] }])), false);
            assert.equal(parseInt64("9223372036854775807"), 9223372036854775807n);
            assert.equal(parseInt64("007"), 7n);
            assert.equal(parseInt64(" 7"), undefined);
        });

        it("ORs the terms and ANDs the expressions within one", () => {
            const a100 = [{ key: LABEL_ACCELERATOR, operator: "In", values: ["nvidia-a100"] }];
            const a10gInZoneA = [
                { key: LABEL_ACCELERATOR, operator: "In", values: ["nvidia-a10g"] },
                { key: "zone", operator: "In", values: ["a"] },
            ];
            assert.equal(matches(terms(a100)), false);
            assert.equal(matches(terms(a100, a10gInZoneA)), true);
            assert.equal(matches(terms(a100, [...a10gInZoneA, { key: "zone", operator: "NotIn", values: ["a"] }])), false);
        });

        it("matches nothing with an empty term, with no terms, or with an invalid requirement in the term", () => {
            assert.equal(matches({ nodeSelectorTerms: [{}] }), false);
            assert.equal(matches({ nodeSelectorTerms: [{ matchExpressions: [] }] }), false);
            assert.equal(matches({ nodeSelectorTerms: [] }), false);
            assert.equal(matches(terms([{ key: "zone", operator: "In", values: [] }])), false);
            assert.equal(matches(terms([{ key: "zone", operator: "NotIn", values: [] }])), false);
            assert.equal(matches(terms([{ key: "zone", operator: "Exists", values: ["a"] }])), false);
            assert.equal(matches(terms([{ key: "zone", operator: "Equals", values: ["a"] }])), false);
            // An empty or invalid term does not spoil the others.
            assert.equal(matches({ nodeSelectorTerms: [{}, { matchExpressions: [{ key: "zone", operator: "Exists" }] }] }), true);
            assert.equal(requiredAffinityMatches(undefined, { labels }), true);
        });

        it("matches metadata.name with matchFields In/NotIn of one value, and skips them on a node with no name yet", () => {
            const byName = (operator: string, values: string[]) => ({ nodeSelectorTerms: [{ matchFields: [{ key: "metadata.name", operator, values }] }] });
            assert.equal(matches(byName("In", ["ip-10-0-1-5"]), labels, "ip-10-0-1-5"), true);
            assert.equal(matches(byName("In", ["ip-10-0-1-6"]), labels, "ip-10-0-1-5"), false);
            assert.equal(matches(byName("NotIn", ["ip-10-0-1-6"]), labels, "ip-10-0-1-5"), true);
            assert.equal(matches(byName("In", ["a", "b"]), labels, "a"), false);
            assert.equal(matches(byName("Exists", []), labels, "a"), false);
            assert.equal(matches(byName("In", ["ip-10-0-1-6"]), labels), true);
        });

        it("checks nodeSelector before affinity and says which failed", () => {
            const r = nodeAffinity({ nodeSelector: { [LABEL_NODE_POOL]: "a10g" }, affinity: terms([{ key: LABEL_ACCELERATOR, operator: "In", values: ["nvidia-a100"] }]) }, { labels });
            assert.equal(r.fits, false);
            if (!r.fits) {
                assert.equal(r.plugin, "NodeAffinity");
                assert.equal(r.constraint, "nodeAffinity");
                assert.equal(r.reason, "required node affinity accelerator In [nvidia-a100] not satisfied");
                assert.deepEqual(r.schedulerReasons, ["node(s) didn't match Pod's node affinity/selector"]);
            }
        });
    });

    describe("NodeResourcesFit", () => {
        it("passes when every request fits", () => {
            assert.deepEqual(nodeResourcesFit(pod(4000, 16, { [GPU_RESOURCE]: 1 }), node), { fits: true });
        });

        it("names GPUs first when they are short, and lists the scheduler's reasons in its order", () => {
            const r = nodeResourcesFit(pod(8000, 32, { [GPU_RESOURCE]: 2 }), node, { pod: "a b", node: "g5.xlarge" });
            assert.equal(r.fits, false);
            if (!r.fits) {
                assert.equal(r.constraint, GPU_RESOURCE);
                assert.equal(r.reason, "a b needs 2 GPUs; g5.xlarge has 1 (also short of memory, cpu)");
                assert.deepEqual(r.schedulerReasons, ["Insufficient cpu", "Insufficient memory", "Insufficient nvidia.com/gpu"]);
            }
        });

        it("names memory and CPU when each binds", () => {
            const mem = nodeResourcesFit(pod(1000, 17), node);
            assert.equal(mem.fits === false && mem.reason, "pod needs 17Gi memory; node allocates 16Gi");
            const cpu = nodeResourcesFit(pod(4001, 1), node);
            assert.equal(cpu.fits === false && cpu.reason, "pod needs 4001m CPU; node allocates 4");
        });

        it("counts every extended resource, not only GPUs", () => {
            const efa = nodeResourcesFit(pod(1000, 1, { "vpc.amazonaws.com/efa": 1 }), node);
            assert.equal(efa.fits, false);
            if (!efa.fits) {
                assert.equal(efa.constraint, "vpc.amazonaws.com/efa");
                assert.equal(efa.reason, "pod needs 1 vpc.amazonaws.com/efa; node has 0");
                assert.deepEqual(efa.schedulerReasons, ["Insufficient vpc.amazonaws.com/efa"]);
            }
            assert.equal(nodeResourcesFit(pod(1000, 1, { "vpc.amazonaws.com/efa": 1 }), { ...node, extended: { "vpc.amazonaws.com/efa": 4 } }).fits, true);
        });

        it("runs out of pod slots even for a pod that requests nothing", () => {
            const full = { ...node, pods: 0 };
            for (const p of [pod(1, 1), pod(0, 0)]) {
                const r = nodeResourcesFit(p, full);
                assert.equal(r.fits === false && r.constraint, "pods");
                assert.deepEqual(r.fits === false && r.schedulerReasons, ["Too many pods"]);
            }
            // A pod that requests nothing only needs a slot, as fitsRequest returns early for it.
            assert.equal(nodeResourcesFit(pod(0, 0), { ...node, cpuMillis: -100, pods: 1 }).fits, true);
        });
    });

    describe("podRequests", () => {
        it("takes a limit as the request when only the limit is set", () => {
            const r = podRequests({ containers: [{ resources: { limits: { cpu: "2", memory: "4Gi", [GPU_RESOURCE]: "1" } } }] });
            assert.deepEqual(r, { cpuMillis: 2000, memoryBytes: 4 * GIB, extended: { [GPU_RESOURCE]: 1 } });
        });

        it("is the larger of the containers' sum and the largest init container, per resource", () => {
            const r = podRequests({
                containers: [
                    { resources: { requests: { cpu: "1", memory: "1Gi", [GPU_RESOURCE]: "1" } } },
                    { resources: { requests: { cpu: "500m", memory: "1Gi", "vpc.amazonaws.com/efa": "1" } } },
                ],
                initContainers: [{ resources: { requests: { cpu: "4", memory: "512Mi" } } }, { resources: { limits: { memory: "3Gi" } } }],
            });
            assert.deepEqual(r, { cpuMillis: 4000, memoryBytes: 3 * GIB, extended: { [GPU_RESOURCE]: 1, "vpc.amazonaws.com/efa": 1 } });
        });
    });
});
