import { strict as assert } from "node:assert";
import { DEFAULT_GPU_TAINT, GPU_RESOURCE, LABEL_ACCELERATOR } from "../capacity/pools";
import type { ResourceLike } from "../plan/policy";
import * as gpu from "../policy/rules/gpu";
import { MANAGED_NODE_GROUP } from "../policy/rules/nodepools";
import { Obj, onResource } from "./policy-rules-helpers";

const W = 'Deployment ml-serving/m container "server"';
const dep = (resources: Obj | undefined): ResourceLike => ({
    type: "kubernetes:apps/v1:Deployment",
    name: "m",
    inputs: { metadata: { name: "m", namespace: "ml-serving" }, spec: { template: { metadata: {}, spec: { containers: [{ name: "server", image: "a:v1", ...(resources ? { resources } : {}) }] } } } },
});
const ng = (instanceTypes: string[], inputs: Obj = {}): ResourceLike => ({ type: MANAGED_NODE_GROUP, name: "gpu-ng", inputs: { instanceTypes, ...inputs } });
const T = DEFAULT_GPU_TAINT;

describe("policy rules (direct): gpu", () => {
    describe("gpu-request-equals-limit", () => {
        const rule = gpu.gpuRequestEqualsLimit;
        it("no resources, no GPUs, or one side missing", () => {
            assert.deepEqual(onResource(rule, dep(undefined)), []);
            assert.deepEqual(onResource(rule, dep({ requests: { cpu: "1" } })), []);
            assert.deepEqual(onResource(rule, dep({ limits: { [GPU_RESOURCE]: "1" } })), [
                `${W} limits ${GPU_RESOURCE}=1 without a request. Fix: set requests and limits of ${GPU_RESOURCE} to the same whole number.`,
            ]);
            assert.deepEqual(onResource(rule, dep({ requests: { [GPU_RESOURCE]: "2" } })), [
                `${W} requests ${GPU_RESOURCE}=2 without a limit. Fix: set requests and limits of ${GPU_RESOURCE} to the same whole number.`,
            ]);
        });
        it("whole numbers on both sides, equal", () => {
            const both = (r: string, l: string) => dep({ requests: { [GPU_RESOURCE]: r }, limits: { [GPU_RESOURCE]: l } });
            const msg = (r: string, l: string) => `${W} requests ${GPU_RESOURCE}=${r} but limits ${GPU_RESOURCE}=${l}. Fix: set both to the same whole number of GPUs.`;
            assert.deepEqual(onResource(rule, both("2", "2")), []);
            assert.deepEqual(onResource(rule, both("1", "2")), [msg("1", "2")]);
            assert.deepEqual(onResource(rule, both("0.5", "1")), [msg("0.5", "1")]);
            assert.deepEqual(onResource(rule, both("1", "1.5")), [msg("1", "1.5")]);
        });
    });

    describe("gpu-pool-tainted", () => {
        const rule = gpu.gpuPoolTainted;
        const FIX = `Fix: add the taint ${T.key}=${T.value}:${T.effect} (EKS spelling: {key: "${T.key}", value: "${T.value}", effect: "NO_SCHEDULE"}) from capacity/pools poolTaints.`;
        const msg = (taints: string) => `node group "gpu-ng" (pool gpu-ng, g5.12xlarge) is a GPU pool with taints [${taints}]. ${FIX}`;
        it("the whole taint: key, value and effect", () => {
            assert.equal(T.effect, "NoSchedule");
            assert.deepEqual(onResource(rule, ng(["g5.12xlarge"], { taints: [{ key: T.key, value: T.value, effect: "NO_SCHEDULE" }] })), []);
            assert.deepEqual(onResource(rule, ng(["g5.12xlarge"])), [msg("none")]);
            assert.deepEqual(onResource(rule, ng(["g5.12xlarge"], { taints: [{ key: "other", value: T.value, effect: "NO_SCHEDULE" }] })), [msg(`other=${T.value}:NoSchedule`)]);
            assert.deepEqual(onResource(rule, ng(["g5.12xlarge"], { taints: [{ key: T.key, value: "x", effect: "NO_SCHEDULE" }] })), [msg(`${T.key}=x:NoSchedule`)]);
            assert.deepEqual(onResource(rule, ng(["g5.12xlarge"], { taints: [{ key: T.key, value: T.value, effect: "NO_EXECUTE" }, { key: "a", value: "b", effect: "NO_SCHEDULE" }] })), [
                msg(`${T.key}=${T.value}:NoExecute, a=b:NoSchedule`),
            ]);
            assert.deepEqual(onResource(rule, ng(["m6i.2xlarge"])), []);
            assert.deepEqual(onResource(rule, { type: "aws:s3/bucket:Bucket", name: "b", inputs: {} }), []);
        });
    });

    describe("gpu-pool-labels-match-catalog", () => {
        const rule = gpu.gpuPoolLabelsMatchCatalog;
        it("CPU pools: stray GPU labels named; non-pools ignored", () => {
            assert.deepEqual(onResource(rule, { type: "aws:s3/bucket:Bucket", name: "b", inputs: {} }), []);
            assert.deepEqual(onResource(rule, ng(["m6i.2xlarge"], { labels: { "node-pool": "system" } })), []);
            assert.deepEqual(onResource(rule, ng(["m6i.2xlarge"], { labels: { [LABEL_ACCELERATOR]: "A10G" } })), [
                `node group "gpu-ng" (pool gpu-ng, m6i.2xlarge) has no GPUs but carries ${LABEL_ACCELERATOR}=A10G; GPU DaemonSets and the autoscaler would treat it as a GPU pool. Fix: remove these labels (use capacity/pools poolLabels).`,
            ]);
        });
        it("GPU types the catalog does not know", () => {
            const found = onResource(rule, ng(["g7e.2xlarge"]));
            assert.deepEqual(found, [
                'node group "gpu-ng" (pool gpu-ng, g7e.2xlarge): instance type g7e.2xlarge looks like a GPU type but is not in the instance catalog. Fix: add it to capacity/catalog.ts or use a catalogued type.',
            ]);
        });
    });
});
