/**
 * capacity/analysis.ts over small hand-built resource lists: no Pulumi program runs, every case is a
 * pure function call (the slow plan tests cover the same code end to end).
 */
import assert from "node:assert/strict";
import { EKS_SYSTEM_DAEMONSETS, nodeAllocatable } from "../capacity/allocatable";
import { CapacityResource, analyzeCapacity } from "../capacity/analysis";
import { HOURS_PER_MONTH, instanceType } from "../capacity/catalog";
import { costSummary } from "../capacity/cost";
import { AWS_NODE_GROUP, MANAGED_NODE_GROUP } from "../capacity/nodeGroups";
import { GiB } from "../capacity/quantity";

type Props = CapacityResource["props"];

const GPU_TAINT = [{ key: "dedicated", value: "ml-workloads", effect: "NO_SCHEDULE" }];
const GPU_TOLERATION = [{ key: "dedicated", operator: "Equal", value: "ml-workloads", effect: "NoSchedule" }];

function nodeGroup(name: string, type: string, min: number | undefined, max: number | undefined, extra: Props = {}): CapacityResource {
    const scalingConfig: Props = {};
    if (min !== undefined) scalingConfig.minSize = min;
    if (max !== undefined) scalingConfig.maxSize = max;
    return { type: MANAGED_NODE_GROUP, name, props: { instanceTypes: [type], scalingConfig, ...extra }, urn: `urn:ng:${name}` };
}

function template(requests: Props, spec: Props = {}): Props {
    return { metadata: {}, spec: { containers: [{ name: "main", resources: { requests } }], ...spec } };
}

function deployment(name: string, requests: Props, spec: Props = {}, opts: { replicas?: number; namespace?: string } = {}): CapacityResource {
    return {
        type: "kubernetes:apps/v1:Deployment",
        name: `${name}-res`,
        urn: `urn:deploy:${name}`,
        props: {
            metadata: { name, ...(opts.namespace ? { namespace: opts.namespace } : {}) },
            spec: { ...(opts.replicas !== undefined ? { replicas: opts.replicas } : {}), template: template(requests, spec) },
        },
    };
}

function hpa(target: string, min: number | undefined, max: number, namespace?: string): CapacityResource {
    return {
        type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        name: `${target}-hpa`,
        props: {
            metadata: namespace ? { namespace } : {},
            spec: { scaleTargetRef: { kind: "Deployment", name: target }, ...(min !== undefined ? { minReplicas: min } : {}), maxReplicas: max },
        },
    };
}

const system = () => nodeGroup("system-ng", "m6i.xlarge", 2, 4, { labels: { "node-pool": "system" } });
const gpu = (type = "g5.xlarge", min = 0, max = 3) => nodeGroup("gpu-ng", type, min, max, { labels: { "node-pool": "gpu" }, taints: GPU_TAINT });

describe("capacity/analysis analyzeCapacity", () => {
    describe("pools", () => {
        it("reads each node group's pool name, instance, sizes, labels, Kubernetes taints and GPUs", () => {
            const a = analyzeCapacity([system(), gpu()]);
            assert.deepEqual(
                a.pools.map(({ allocatable: _allocatable, ...p }) => p),
                [
                    { name: "system", instanceType: "m6i.xlarge", minSize: 2, maxSize: 4, taints: [], labels: { "node-pool": "system" }, gpusPerNode: 0 },
                    {
                        name: "gpu",
                        instanceType: "g5.xlarge",
                        minSize: 0,
                        maxSize: 3,
                        taints: [{ key: "dedicated", value: "ml-workloads", effect: "NoSchedule" }],
                        labels: { "node-pool": "gpu" },
                        gpusPerNode: 1,
                        gpuModel: "A10G",
                    },
                ],
            );
            assert.equal("gpuModel" in a.pools[0], false);
            assert.deepEqual(a.unknownPools, []);
        });

        it("names a pool by its resource when it has no node-pool label, and reads aws:eks NodeGroup too", () => {
            const a = analyzeCapacity([{ type: AWS_NODE_GROUP, name: "plain", props: { instanceTypes: ["g5.12xlarge"], scalingConfig: { minSize: 1, maxSize: 2 } } }]);
            assert.deepEqual(
                a.pools.map((p) => [p.name, p.instanceType, p.minSize, p.maxSize, p.gpusPerNode, p.gpuModel]),
                [["plain", "g5.12xlarge", 1, 2, 4, "A10G"]],
            );
        });

        it("takes missing scaling sizes as 0", () => {
            const a = analyzeCapacity([nodeGroup("bare", "m6i.large", undefined, undefined)]);
            assert.equal(a.pools[0].minSize, 0);
            assert.equal(a.pools[0].maxSize, 0);
            assert.deepEqual(a.nodes, { min: { bare: 0 }, max: { bare: 0 }, reachable: { bare: 0 } });
        });

        it("takes a missing scalingConfig as sizes 0", () => {
            const a = analyzeCapacity([{ type: MANAGED_NODE_GROUP, name: "noscale", props: { instanceTypes: ["m6i.large"] } }]);
            assert.deepEqual([a.pools[0].minSize, a.pools[0].maxSize], [0, 0]);
        });

        it("lists pools of instance types the catalog does not know, and no instance type at all, as unknown", () => {
            const a = analyzeCapacity([
                system(),
                nodeGroup("weird-ng", "x9.huge", 1, 2, { labels: { "node-pool": "weird" } }),
                { type: MANAGED_NODE_GROUP, name: "empty", props: { instanceTypes: [] } },
            ]);
            assert.deepEqual(a.unknownPools, ["weird", "empty"]);
            assert.deepEqual(a.pools.map((p) => p.name), ["system"]);
            assert.deepEqual(Object.keys(a.nodes.max), ["system"]);
        });

        it("ignores resources that are not node groups or have no instanceTypes list", () => {
            const a = analyzeCapacity([
                { type: MANAGED_NODE_GROUP, name: "outputs-only", props: { instanceTypes: undefined } },
                { type: "aws:ec2/instance:Instance", name: "vm", props: { instanceTypes: ["m6i.large"] } },
            ]);
            assert.deepEqual(a.pools, []);
            assert.deepEqual(a.unknownPools, []);
        });

        it("subtracts the EKS system DaemonSets and the stack's own DaemonSets that land on a node", () => {
            const logger: CapacityResource = {
                type: "kubernetes:apps/v1:DaemonSet",
                name: "logger-res",
                props: { metadata: { name: "logger" }, spec: { template: template({ cpu: "200m", memory: "256Mi" }) } },
            };
            const gpuAgent: CapacityResource = {
                type: "kubernetes:apps/v1:DaemonSet",
                name: "agent-res",
                props: { metadata: { name: "gpu-agent" }, spec: { template: template({ cpu: "100m" }, { tolerations: GPU_TOLERATION, nodeSelector: { "node-pool": "gpu" } }) } },
            };
            const a = analyzeCapacity([system(), gpu(), logger, gpuAgent]);
            const [sys, g] = a.pools;
            const systemNames = EKS_SYSTEM_DAEMONSETS.map((d) => d.name);
            assert.deepEqual(sys.allocatable.daemonSets, [...systemNames, "logger"]);
            assert.deepEqual(g.allocatable.daemonSets, [...systemNames, "gpu-agent"]);
            const bare = nodeAllocatable(instanceType("m6i.xlarge"), [], { "node-pool": "system" }, EKS_SYSTEM_DAEMONSETS);
            assert.equal(sys.allocatable.cpuMillis, bare.cpuMillis - 200);
            assert.equal(sys.allocatable.memoryBytes, bare.memoryBytes - 256 * 2 ** 20);
            assert.equal(sys.allocatable.pods, bare.pods - 1);
            const bareGpu = nodeAllocatable(instanceType("g5.xlarge"), g.taints, g.labels, EKS_SYSTEM_DAEMONSETS);
            assert.equal(g.allocatable.cpuMillis, bareGpu.cpuMillis - 100);
            assert.equal(g.allocatable.memoryBytes, bareGpu.memoryBytes);
            // DaemonSets are node overhead, never workloads.
            assert.deepEqual(a.workloads, []);
        });

        it("carries a DaemonSet's required node affinity: one that matches no pool lands nowhere", () => {
            const pinned: CapacityResource = {
                type: "kubernetes:apps/v1:DaemonSet",
                name: "pinned",
                props: {
                    spec: {
                        template: template(
                            { cpu: "300m" },
                            { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "node-pool", operator: "In", values: ["gpu"] }] }] } } } },
                        ),
                    },
                },
            };
            const a = analyzeCapacity([system(), pinned]);
            assert.equal(a.pools[0].allocatable.daemonSets.includes("pinned"), false);
        });
    });

    describe("workloads", () => {
        it("places a Deployment scaled by an HPA at HPA min and max, naming kind, namespace, urn and pool", () => {
            const a = analyzeCapacity([system(), deployment("web", { cpu: "500m", memory: "1Gi" }, {}, { replicas: 2, namespace: "apps" }), hpa("web", 1, 6, "apps")]);
            assert.deepEqual(a.workloads, [
                {
                    name: "web",
                    kind: "Deployment",
                    namespace: "apps",
                    urn: "urn:deploy:web",
                    pool: "system",
                    gpusRequested: { min: 0, max: 0 },
                    schedulable: true,
                    scales: {
                        min: { schedulable: true, pods: 1, nodesNeeded: 1, pools: ["system"] },
                        max: { schedulable: true, pods: 6, nodesNeeded: 1, pools: ["system"] },
                    },
                },
            ]);
        });

        it("uses replicas at minimum when the HPA sets no minReplicas, and ignores an HPA in another namespace", () => {
            const a = analyzeCapacity([system(), deployment("web", { cpu: "100m" }, {}, { replicas: 3 }), hpa("web", undefined, 5)]);
            assert.deepEqual([a.workloads[0].scales.min.pods, a.workloads[0].scales.max.pods], [3, 5]);
            const b = analyzeCapacity([system(), deployment("web", { cpu: "100m" }, {}, { replicas: 3 }), hpa("web", 1, 5, "other")]);
            assert.deepEqual([b.workloads[0].scales.min.pods, b.workloads[0].scales.max.pods], [3, 3]);
        });

        it("defaults replicas to 1 and the namespace to default", () => {
            const a = analyzeCapacity([system(), deployment("one", { cpu: "100m" })]);
            assert.equal(a.workloads[0].namespace, "default");
            assert.deepEqual([a.workloads[0].scales.min.pods, a.workloads[0].scales.max.pods], [1, 1]);
        });

        it("fails only at maximum scale when the HPA max needs more nodes than maxSize, saying so", () => {
            const small = nodeGroup("system-ng", "m6i.xlarge", 1, 2, { labels: { "node-pool": "system" } });
            const a = analyzeCapacity([small, deployment("web", { cpu: "3" }, {}, { replicas: 1 }), hpa("web", undefined, 3)]);
            const w = a.workloads[0];
            assert.equal(w.schedulable, false);
            assert.equal(w.reason, "at maximum scale: web replica: needs 3 nodes of pool system at maximum scale; maxSize is 2");
            assert.deepEqual(w.scales.min, { schedulable: true, pods: 1, nodesNeeded: 1, pools: ["system"] });
            assert.deepEqual(w.scales.max, {
                schedulable: false,
                reason: "web replica: needs 3 nodes of pool system at maximum scale; maxSize is 2",
                pods: 3,
                nodesNeeded: 3,
                pools: ["system"],
            });
            assert.equal(w.pool, "system");
            assert.deepEqual(a.nodes, { min: { system: 1 }, max: { system: 2 }, reachable: { system: 2 } });
        });

        it("counts a Job's pods by parallelism (default 1) and names its pods 'pod' in reasons", () => {
            const job = (parallelism?: number): CapacityResource => ({
                type: "kubernetes:batch/v1:Job",
                name: "j",
                props: { metadata: { name: "train" }, spec: { ...(parallelism !== undefined ? { parallelism } : {}), template: template({ cpu: "1" }, { nodeSelector: { "node-pool": "nope" } }) } },
            });
            const a = analyzeCapacity([system(), job(3)]);
            const w = a.workloads[0];
            assert.equal(w.kind, "Job");
            assert.equal(w.schedulable, false);
            assert.equal(w.reason, "at minimum scale: train pod: nodeSelector node-pool=nope matches no pool");
            assert.deepEqual(w.scales.min, { schedulable: false, reason: "train pod: nodeSelector node-pool=nope matches no pool", pods: 3, pools: [] });
            assert.equal(w.pool, undefined);
            assert.equal(analyzeCapacity([system(), job()]).workloads[0].scales.max.pods, 1);
        });

        it("a Job ignores an HPA and replicas; a Deployment's pod is a 'replica'", () => {
            const job: CapacityResource = { type: "kubernetes:batch/v1:Job", name: "j2", props: { metadata: { name: "batch" }, spec: { replicas: 7, parallelism: 2, template: template({ cpu: "100m" }) } } };
            const hpaOnJob: CapacityResource = { ...hpa("batch", 5, 9), props: { spec: { scaleTargetRef: { kind: "Job", name: "batch" }, minReplicas: 5, maxReplicas: 9 } } };
            const a = analyzeCapacity([system(), job, hpaOnJob]);
            assert.deepEqual([a.workloads[0].scales.min.pods, a.workloads[0].scales.max.pods], [2, 2]);
            const b = analyzeCapacity([system(), deployment("svc", { cpu: "100m" }, { nodeSelector: { zone: "x" } })]);
            assert.equal(b.workloads[0].reason, "at minimum scale: svc replica: nodeSelector zone=x matches no pool");
        });

        it("gang-schedules a PyTorchJob's master and workers (roles lowercased, replicas per role) and counts its GPUs", () => {
            const ddp = (workers: number): CapacityResource => ({
                type: "kubernetes:kubeflow.org/v1:PyTorchJob",
                name: "pt",
                urn: "urn:pt",
                props: {
                    metadata: { name: "ddp", namespace: "ml" },
                    spec: {
                        pytorchReplicaSpecs: {
                            Master: { replicas: 1, template: template({ "nvidia.com/gpu": 4 }, { tolerations: GPU_TOLERATION }) },
                            Worker: { replicas: workers, template: template({ "nvidia.com/gpu": 4 }, { tolerations: GPU_TOLERATION }) },
                        },
                    },
                },
            });
            const fits = analyzeCapacity([system(), gpu("g5.12xlarge", 0, 2), ddp(1)]);
            const ok = fits.workloads[0];
            assert.deepEqual([ok.kind, ok.namespace, ok.urn, ok.pool, ok.schedulable], ["PyTorchJob", "ml", "urn:pt", "gpu", true]);
            assert.deepEqual(ok.gpusRequested, { min: 8, max: 8 });
            assert.deepEqual(ok.scales.min, { schedulable: true, pods: 2, nodesNeeded: 2, pools: ["gpu"] });
            assert.deepEqual(fits.nodes, { min: { system: 2, gpu: 2 }, max: { system: 2, gpu: 2 }, reachable: { system: 4, gpu: 2 } });
            assert.deepEqual(fits.gpus, { requested: { min: 8, max: 8 }, provisioned: { min: 8, max: 8 } });
            assert.deepEqual(fits.gpuAllocation, { min: 1, max: 1 });

            const tooBig = analyzeCapacity([system(), gpu("g5.12xlarge", 0, 2), ddp(2)]);
            const w = tooBig.workloads[0];
            const reason = "ddp master+worker: needs 3 nodes of pool gpu at maximum scale; maxSize is 2 (gang: all pods must be placed together)";
            assert.equal(w.schedulable, false);
            assert.equal(w.reason, `at minimum scale: ${reason}`);
            assert.deepEqual(w.scales.min, { schedulable: false, reason, pods: 3, nodesNeeded: 3, pools: [] });
            assert.equal(w.pool, "gpu");
            assert.deepEqual(w.gpusRequested, { min: 12, max: 12 });
            // Gang: nothing of it is placed, so nothing is provisioned for it.
            assert.deepEqual(tooBig.nodes, { min: { system: 2, gpu: 0 }, max: { system: 2, gpu: 0 }, reachable: { system: 4, gpu: 2 } });
            assert.deepEqual(tooBig.gpus, { requested: { min: 12, max: 12 }, provisioned: { min: 0, max: 0 } });
            assert.deepEqual(tooBig.gpuAllocation, { min: 0, max: 0 });
        });

        it("a single-role Kubeflow job is a gang too; a role without replicas has 1", () => {
            const one: CapacityResource = {
                type: "kubernetes:kubeflow.org/v1:TFJob",
                name: "tf",
                props: { metadata: { name: "tf" }, spec: { tfReplicaSpecs: { Worker: { template: template({ cpu: "3" }) } } } },
            };
            const a = analyzeCapacity([nodeGroup("s", "m6i.xlarge", 0, 1), one]);
            assert.equal(a.workloads[0].scales.max.pods, 1);
            assert.equal(a.workloads[0].schedulable, true);
            const two: CapacityResource = { ...one, props: { metadata: { name: "tf" }, spec: { tfReplicaSpecs: { Worker: { replicas: 2, template: template({ cpu: "3" }) } } } } };
            const b = analyzeCapacity([nodeGroup("s", "m6i.xlarge", 0, 1), two]);
            assert.equal(b.workloads[0].reason, "at minimum scale: tf worker: needs 2 nodes of pool s at maximum scale; maxSize is 1 (gang: all pods must be placed together)");
        });

        it("a plain Deployment that does not fit every replica still places some (no gang)", () => {
            const a = analyzeCapacity([nodeGroup("s", "m6i.xlarge", 0, 1), deployment("web", { cpu: "3" }, {}, { replicas: 2 })]);
            const w = a.workloads[0];
            assert.equal(w.reason, "at minimum scale: web replica: needs 2 nodes of pool s at maximum scale; maxSize is 1");
            assert.deepEqual(w.scales.min.pools, ["s"]);
            assert.deepEqual(a.nodes.min, { s: 1 });
        });

        it("passes a workload's required node affinity to the scheduler", () => {
            const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a"] }] }] } } };
            const a = analyzeCapacity([system(), deployment("aff", { cpu: "100m" }, { affinity })]);
            assert.equal(a.workloads[0].reason, "at minimum scale: aff replica: required node affinity zone In [a] matches no pool");
            const matching = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "node-pool", operator: "In", values: ["system"] }] }] } } };
            assert.equal(analyzeCapacity([system(), deployment("aff", { cpu: "100m" }, { affinity: matching })]).workloads[0].schedulable, true);
        });

        it("a GPU pod without the toleration is explained from the closest pool; tolerating and selecting it lands on the GPU pool", () => {
            const a = analyzeCapacity([system(), gpu(), deployment("g", { "nvidia.com/gpu": 1 })]);
            assert.equal(a.workloads[0].reason, "at minimum scale: g replica needs 1 GPU; m6i.xlarge has 0 (pool system)");
            assert.deepEqual(a.workloads[0].gpusRequested, { min: 1, max: 1 });
            const b = analyzeCapacity([system(), gpu(), deployment("g", { "nvidia.com/gpu": 1 }, { tolerations: GPU_TOLERATION, nodeSelector: { "node-pool": "gpu" } }, { replicas: 2 })]);
            assert.equal(b.workloads[0].pool, "gpu");
            assert.deepEqual(b.nodes.max, { system: 2, gpu: 2 });
        });

        it("skips resources that carry no pod template", () => {
            const a = analyzeCapacity([system(), { type: "kubernetes:core/v1:ConfigMap", name: "cm", props: { data: {} } }, { type: "kubernetes:apps/v1:Deployment", name: "empty", props: { spec: {} } }]);
            assert.deepEqual(a.workloads, []);
        });
    });

    describe("nodes, GPUs and cost", () => {
        const stack = (): CapacityResource[] => [
            system(),
            gpu(),
            deployment("web", { cpu: "500m", memory: "1Gi" }, {}, { replicas: 2 }),
            hpa("web", 1, 6),
            deployment("infer", { cpu: "1", memory: "4Gi", "nvidia.com/gpu": 1 }, { tolerations: GPU_TOLERATION, nodeSelector: { "node-pool": "gpu" } }, { replicas: 2 }),
        ];

        it("keeps every pool at least at minSize and sums GPUs requested and provisioned", () => {
            const a = analyzeCapacity(stack());
            assert.deepEqual(a.nodes, { min: { system: 2, gpu: 2 }, max: { system: 2, gpu: 2 }, reachable: { system: 4, gpu: 3 } });
            assert.deepEqual(a.gpus, { requested: { min: 2, max: 2 }, provisioned: { min: 2, max: 2 } });
            assert.deepEqual(a.gpuAllocation, { min: 1, max: 1 });
        });

        it("prices the node counts with costSummary and the dedicated baseline per GPU pod", () => {
            const a = analyzeCapacity(stack());
            const expected = costSummary({
                minNodes: { system: 2, gpu: 2 },
                maxNodes: { system: 2, gpu: 2 },
                pools: [
                    { name: "system", instanceType: "m6i.xlarge" },
                    { name: "gpu", instanceType: "g5.xlarge" },
                ],
            });
            assert.deepEqual(a.cost, { ...expected, dedicatedBaselineMonthly: 1468.76 });
            assert.equal(a.cost.dedicatedBaselineMonthly, Math.round(2 * 1.006 * HOURS_PER_MONTH * 100) / 100);
        });

        it("scales the GPU pool beyond minSize at maximum scale and reports partial GPU allocation", () => {
            const resources = [
                system(),
                gpu("g5.12xlarge", 1, 3),
                deployment("infer", { cpu: "1", "nvidia.com/gpu": 2 }, { tolerations: GPU_TOLERATION }, { replicas: 1 }),
                hpa("infer", undefined, 4),
            ];
            const a = analyzeCapacity(resources);
            assert.deepEqual(a.nodes, { min: { system: 2, gpu: 1 }, max: { system: 2, gpu: 2 }, reachable: { system: 4, gpu: 3 } });
            assert.deepEqual(a.gpus, { requested: { min: 2, max: 8 }, provisioned: { min: 4, max: 8 } });
            assert.deepEqual(a.gpuAllocation, { min: 0.5, max: 1 });
            assert.deepEqual(
                a.cost.perPool.map((p) => [p.pool, p.nodesMin, p.nodesMax]),
                [
                    ["system", 2, 2],
                    ["gpu", 1, 2],
                ],
            );
            // Baseline counts pods at minimum scale: one pod with 2 A10G -> the cheapest such instance (g5.12xlarge).
            assert.equal(a.cost.dedicatedBaselineMonthly, Math.round(5.672 * HOURS_PER_MONTH * 100) / 100);
        });

        it("leaves a GPU workload with no pool, and CPU workloads, out of the dedicated baseline", () => {
            const a = analyzeCapacity([system(), deployment("g", { "nvidia.com/gpu": 1 }), deployment("web", { cpu: "100m" })]);
            assert.equal(a.cost.dedicatedBaselineMonthly, 0);
            assert.deepEqual(a.gpus.requested, { min: 1, max: 1 });
            assert.deepEqual(a.gpus.provisioned, { min: 0, max: 0 });
        });

        it("counts GPUs through init containers as the effective request", () => {
            const withInit = deployment("i", { cpu: "100m" }, { tolerations: GPU_TOLERATION, initContainers: [{ name: "warm", resources: { requests: { "nvidia.com/gpu": 1 } } }] });
            const a = analyzeCapacity([gpu(), withInit]);
            assert.deepEqual(a.workloads[0].gpusRequested, { min: 1, max: 1 });
        });
    });

    describe("memoised analysis", () => {
        it("returns the same analysis for the same inputs and a fresh one when they change", () => {
            const first = analyzeCapacity([system(), deployment("web", { cpu: "100m" })]);
            const again = analyzeCapacity([system(), deployment("web", { cpu: "100m" })]);
            assert.equal(again, first);
            const other = analyzeCapacity([system(), deployment("web", { cpu: "100m" }, {}, { replicas: 2 })]);
            assert.notEqual(other, first);
            assert.equal(other.workloads[0].scales.max.pods, 2);
            const none = analyzeCapacity([]);
            assert.deepEqual(none.pools, []);
            assert.deepEqual(none.workloads, []);
            assert.deepEqual(none.nodes, { min: {}, max: {}, reachable: {} });
            assert.deepEqual(none.gpuAllocation, { min: 0, max: 0 });
            assert.equal(none.cost.monthlyMax, 0);
        });

        it("counts memory requests against allocatable", () => {
            const huge = deployment("mem", { memory: `${16 * GiB}` });
            const a = analyzeCapacity([system(), huge]);
            assert.equal(a.workloads[0].schedulable, false);
            assert.equal(a.workloads[0].reason, "at minimum scale: mem replica needs 16Gi memory; m6i.xlarge allocates 13.8Gi (pool system)");
        });
    });
});
