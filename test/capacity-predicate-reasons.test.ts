/**
 * capacity/predicates.ts failures as users read them: the whole FilterResult (plugin, binding constraint,
 * our reason, kube-scheduler's reasons), exactly. The verdicts themselves are tested in capacity-predicates.
 */
import assert from "node:assert/strict";
import { GPU_RESOURCE } from "../capacity/pools";
import {
    FITS,
    formatAffinity,
    formatRequirement,
    formatSelector,
    formatTaint,
    nodeAffinity,
    nodeResourcesFit,
    nodeSelectorMatches,
    taintToleration,
} from "../capacity/predicates";
import { GiB, MiB } from "../capacity/quantity";
import { NodeResources, PodResources } from "../capacity/resources";

const AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector";

function pod(cpuMillis: number, memoryBytes: number, extended: Record<string, number> = {}): PodResources {
    return { cpuMillis, memoryBytes, extended };
}

function node(cpuMillis: number, memoryBytes: number, extended: Record<string, number> = {}, pods = 10): NodeResources {
    return { cpuMillis, memoryBytes, extended, pods };
}

describe("capacity/predicates reasons", () => {
    describe("taintToleration", () => {
        it("names one untolerated taint and the scheduler's reason", () => {
            assert.deepEqual(taintToleration([], [{ key: "dedicated", value: "ml", effect: "NoSchedule" }]), {
                fits: false,
                plugin: "TaintToleration",
                constraint: "taint",
                reason: "taint dedicated=ml:NoSchedule not tolerated",
                schedulerReasons: ["node(s) had untolerated taint {dedicated: ml}"],
            });
        });

        it("lists several, skips PreferNoSchedule and tolerated ones, and reports the first to the scheduler", () => {
            const r = taintToleration(
                [{ key: "b", operator: "Exists" }],
                [
                    { key: "soft", value: "x", effect: "PreferNoSchedule" },
                    { key: "a", effect: "NoExecute" },
                    { key: "b", value: "1", effect: "NoSchedule" },
                    { key: "c", value: "2", effect: "NoSchedule" },
                ],
            );
            assert.deepEqual(r, {
                fits: false,
                plugin: "TaintToleration",
                constraint: "taint",
                reason: "taints a:NoExecute, c=2:NoSchedule not tolerated",
                schedulerReasons: ["node(s) had untolerated taint {a: }"],
            });
        });

        it("fits with FITS when nothing blocks", () => {
            assert.equal(taintToleration(undefined, []), FITS);
            assert.equal(taintToleration(undefined, [{ key: "soft", effect: "PreferNoSchedule" }]), FITS);
            assert.deepEqual(FITS, { fits: true });
            assert.equal(Object.isFrozen(FITS), true);
        });

        it("formats a taint with and without a value", () => {
            assert.equal(formatTaint({ key: "k", value: "v", effect: "NoSchedule" }), "k=v:NoSchedule");
            assert.equal(formatTaint({ key: "k", value: "", effect: "NoExecute" }), "k:NoExecute");
            assert.equal(formatTaint({ key: "k", effect: "NoExecute" }), "k:NoExecute");
        });
    });

    describe("nodeSelectorMatches", () => {
        it("says which pair fails and what the node has", () => {
            assert.deepEqual(nodeSelectorMatches({ "node-pool": "a100" }, { "node-pool": "a10g" }), {
                fits: false,
                plugin: "NodeAffinity",
                constraint: "nodeSelector",
                reason: "nodeSelector node-pool=a100 does not match (node has node-pool=a10g)",
                schedulerReasons: [AFFINITY_MISMATCH],
            });
        });

        it("says when the node lacks the label, naming the first failing pair", () => {
            const r = nodeSelectorMatches({ ok: "1", zone: "a", other: "b" }, { ok: "1" });
            assert.equal(r.fits === false && r.reason, "nodeSelector zone=a does not match (node has no zone label)");
        });

        it("tells an empty label value from a missing label", () => {
            const r = nodeSelectorMatches({ zone: "a" }, { zone: "" });
            assert.equal(r.fits === false && r.reason, "nodeSelector zone=a does not match (node has zone=)");
            const proto = nodeSelectorMatches({ toString: "x" }, {});
            assert.equal(proto.fits === false && proto.reason, "nodeSelector toString=x does not match (node has no toString label)");
        });

        it("fits with no selector or a matching one", () => {
            assert.equal(nodeSelectorMatches(undefined, {}), FITS);
            assert.equal(nodeSelectorMatches({ a: "1", b: "2" }, { a: "1", b: "2", c: "3" }), FITS);
        });

        it("formats a selector as k=v pairs joined by commas", () => {
            assert.equal(formatSelector({ a: "1", b: "2" }), "a=1,b=2");
            assert.equal(formatSelector({}), "");
        });
    });

    describe("nodeAffinity", () => {
        const affinity = {
            nodeSelectorTerms: [
                { matchExpressions: [{ key: "accelerator", operator: "In", values: ["nvidia-a100", "nvidia-h100"] }] },
                { matchExpressions: [{ key: "gpu-count", operator: "Gt", values: ["3"] }, { key: "spot", operator: "DoesNotExist" }], matchFields: [{ key: "metadata.name", operator: "NotIn", values: ["n1"] }] },
            ],
        };

        it("names every term of the required affinity", () => {
            assert.deepEqual(nodeAffinity({ affinity }, { labels: { accelerator: "nvidia-a10g", "gpu-count": "1" } }), {
                fits: false,
                plugin: "NodeAffinity",
                constraint: "nodeAffinity",
                reason: "required node affinity accelerator In [nvidia-a100, nvidia-h100] or gpu-count Gt 3, spot DoesNotExist, field metadata.name NotIn [n1] not satisfied",
                schedulerReasons: [AFFINITY_MISMATCH],
            });
        });

        it("reports the nodeSelector before the affinity", () => {
            const r = nodeAffinity({ nodeSelector: { zone: "a" }, affinity }, { labels: {} });
            assert.equal(r.fits === false && r.constraint, "nodeSelector");
        });

        it("fits when a term matches", () => {
            assert.equal(nodeAffinity({ affinity }, { labels: { accelerator: "nvidia-h100" } }), FITS);
            assert.equal(nodeAffinity({}, { labels: {} }), FITS);
        });

        it("formats empty terms and no terms", () => {
            assert.equal(formatAffinity({}), "(no terms)");
            assert.equal(formatAffinity({ nodeSelectorTerms: [] }), "(no terms)");
            assert.equal(formatAffinity({ nodeSelectorTerms: [{}, { matchExpressions: [] }] }), "(empty term) or (empty term)");
            const r = nodeAffinity({ affinity: { nodeSelectorTerms: [] } }, { labels: {} });
            assert.equal(r.fits === false && r.reason, "required node affinity (no terms) not satisfied");
        });

        it("formats each operator", () => {
            assert.equal(formatRequirement({ key: "k", operator: "In", values: ["a", "b"] }), "k In [a, b]");
            assert.equal(formatRequirement({ key: "k", operator: "NotIn", values: ["a"] }), "k NotIn [a]");
            assert.equal(formatRequirement({ key: "k", operator: "In" }), "k In []");
            assert.equal(formatRequirement({ key: "k", operator: "Gt", values: ["5"] }), "k Gt 5");
            assert.equal(formatRequirement({ key: "k", operator: "Lt", values: ["5", "6"] }), "k Lt 5, 6");
            assert.equal(formatRequirement({ key: "k", operator: "Lt" }), "k Lt ");
            assert.equal(formatRequirement({ key: "k", operator: "Exists" }), "k Exists");
            assert.equal(formatRequirement({ key: "k", operator: "DoesNotExist", values: ["x"] }), "k DoesNotExist");
            assert.equal(formatRequirement({ key: "k", operator: "Weird", values: ["x"] }), "k Weird");
        });
    });

    describe("nodeResourcesFit", () => {
        it("GPUs bind first, counted in the singular and plural, with every other shortfall listed", () => {
            assert.deepEqual(nodeResourcesFit(pod(5000, 20 * GiB, { [GPU_RESOURCE]: 2 }), node(4000, 16 * GiB, { [GPU_RESOURCE]: 1 }), { pod: "w worker", node: "g5.xlarge" }), {
                fits: false,
                plugin: "NodeResourcesFit",
                constraint: GPU_RESOURCE,
                reason: "w worker needs 2 GPUs; g5.xlarge has 1 (also short of memory, cpu)",
                schedulerReasons: ["Insufficient cpu", "Insufficient memory", `Insufficient ${GPU_RESOURCE}`],
            });
            const one = nodeResourcesFit(pod(0, 0, { [GPU_RESOURCE]: 1 }), node(4000, GiB));
            assert.equal(one.fits === false && one.reason, "pod needs 1 GPU; node has 0");
        });

        it("memory: whole GiB plainly, fractions rounded against the fit, small values in Mi", () => {
            const whole = nodeResourcesFit(pod(0, 17 * GiB), node(4000, 16 * GiB));
            assert.deepEqual(whole, {
                fits: false,
                plugin: "NodeResourcesFit",
                constraint: "memory",
                reason: "pod needs 17Gi memory; node allocates 16Gi",
                schedulerReasons: ["Insufficient memory"],
            });
            // 13.81 GiB requested rounds up to 13.9; 13.79 GiB free rounds down to 13.7.
            const frac = nodeResourcesFit(pod(0, Math.round(13.81 * GiB)), node(4000, Math.round(13.79 * GiB)));
            assert.equal(frac.fits === false && frac.reason, "pod needs 13.9Gi memory; node allocates 13.7Gi");
            const small = nodeResourcesFit(pod(0, 600 * MiB), node(4000, 512 * MiB));
            assert.equal(small.fits === false && small.reason, "pod needs 600Mi memory; node allocates 512Mi");
        });

        it("CPU in cores or millicores", () => {
            assert.deepEqual(nodeResourcesFit(pod(4001, 0), node(4000, GiB), { pod: "p", node: "m6i.xlarge" }), {
                fits: false,
                plugin: "NodeResourcesFit",
                constraint: "cpu",
                reason: "p needs 4001m CPU; m6i.xlarge allocates 4",
                schedulerReasons: ["Insufficient cpu"],
            });
        });

        it("pod slots, alone or after resources", () => {
            assert.deepEqual(nodeResourcesFit(pod(100, 0), node(4000, GiB, {}, 0), { pod: "p", node: "n" }), {
                fits: false,
                plugin: "NodeResourcesFit",
                constraint: "pods",
                reason: "n has no pod slots left for p",
                schedulerReasons: ["Too many pods"],
            });
            const both = nodeResourcesFit(pod(5000, 0), node(4000, GiB, {}, 0));
            assert.deepEqual(both.fits === false && [both.reason, both.schedulerReasons], ["pod needs 5 CPU; node allocates 4 (also short of pods)", ["Too many pods", "Insufficient cpu"]]);
            // A pod that requests nothing still needs a slot.
            const empty = nodeResourcesFit(pod(0, 0), node(0, 0, {}, 0));
            assert.equal(empty.fits === false && empty.reason, "node has no pod slots left for pod");
        });

        it("other extended resources by name, after GPUs and in name order", () => {
            assert.deepEqual(nodeResourcesFit(pod(0, 0, { "vpc.amazonaws.com/efa": 1, "b.io/x": 3 }), node(1000, GiB, { "b.io/x": 2 })), {
                fits: false,
                plugin: "NodeResourcesFit",
                constraint: "b.io/x",
                reason: "pod needs 3 b.io/x; node has 2 (also short of vpc.amazonaws.com/efa)",
                schedulerReasons: ["Insufficient b.io/x", "Insufficient vpc.amazonaws.com/efa"],
            });
            const gpuFirst = nodeResourcesFit(pod(0, 0, { "a.io/x": 1, [GPU_RESOURCE]: 1 }), node(1000, GiB));
            assert.equal(gpuFirst.fits === false && gpuFirst.reason, "pod needs 1 GPU; node has 0 (also short of a.io/x)");
        });

        it("fits exactly at the limits", () => {
            assert.equal(nodeResourcesFit(pod(4000, 16 * GiB, { [GPU_RESOURCE]: 1 }), node(4000, 16 * GiB, { [GPU_RESOURCE]: 1 }, 1)), FITS);
            // Requests of zero extended resources are no requests.
            assert.equal(nodeResourcesFit(pod(0, 0, { [GPU_RESOURCE]: 0 }), node(0, 0, {}, 1)), FITS);
        });
    });
});
