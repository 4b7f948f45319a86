/**
 * The conformance run's pure parts, without a cluster (the cluster suite is `npm run test:cluster`):
 * kwok nodes derived from the registered pools and the planner's figures, stand-ins, the comparison,
 * the differential generator and its order-free rule.
 */
import * as assert from "node:assert/strict";
import { EKS_SYSTEM_DAEMONSETS, kubeletNode, nodeAllocatable } from "../capacity/allocatable";
import { instanceType } from "../capacity/catalog";
import { parseCpu, parseMemory } from "../capacity/quantity";
import { ConformanceUsageError, parseConformanceArgs } from "../conformance/cli";
import { checkGpuDaemonSet, compareWorkload, plannedAt, ranFully } from "../conformance/compare";
import { generateScenario, orderFree, plannerFeasible, podsPerNode, scenarioObjects, ScenarioPool, ScenarioWorkload } from "../conformance/differential";
import { kwokNodes, nodeResources, poolsOf } from "../conformance/nodes";
import { eksSystemDaemonSets, pyTorchJobPods, trainingOperatorTag, volumeForClaim } from "../conformance/standIns";

const gpuGroup = {
    type: "eks:index:ManagedNodeGroup",
    name: "dev-pool-a10g-mng",
    urn: "urn:a10g",
    inputs: {
        instanceTypes: ["g5.12xlarge"],
        nodeGroupName: "ml-dev-a10g",
        capacityType: "ON_DEMAND",
        labels: { "node-pool": "a10g", "nvidia.com/gpu.present": "true" },
        taints: [{ key: "dedicated", value: "ml-workloads", effect: "NO_SCHEDULE" }],
        scalingConfig: { minSize: 1, maxSize: 3, desiredSize: 1 },
    },
};

describe("conformance: kwok nodes from the registered pools", () => {
    it("reads pools from the node groups as registered, EKS effects in Kubernetes' spelling", () => {
        const [pool] = poolsOf([gpuGroup]);
        assert.equal(pool.name, "a10g");
        assert.deepEqual(pool.taints, [{ key: "dedicated", value: "ml-workloads", effect: "NoSchedule" }]);
        assert.equal(pool.maxSize, 3);
        assert.throws(() => poolsOf([{ ...gpuGroup, inputs: { ...gpuGroup.inputs, instanceTypes: ["x9.huge"] } }]), /x9\.huge is not in capacity\/catalog\.ts/);
    });

    it("gives each node the pool's labels and taints, and the kubelet's capacity and allocatable", () => {
        const [pool] = poolsOf([gpuGroup]);
        const nodes = kwokNodes(pool, 3, ["us-east-1a", "us-east-1b"], "us-east-1", "run", "v1.34.4");
        assert.equal(nodes.length, 3);
        assert.deepEqual(nodes.map((n) => n.metadata.labels["topology.kubernetes.io/zone"]), ["us-east-1a", "us-east-1b", "us-east-1a"]);
        for (const n of nodes) {
            assert.equal(n.metadata.labels["node-pool"], "a10g");
            assert.equal(n.metadata.annotations["kwok.x-k8s.io/node"], "fake");
            assert.deepEqual(n.spec.taints, pool.taints);
        }
        const k = kubeletNode(instanceType("g5.12xlarge"));
        const { allocatable, capacity } = nodes[0].status;
        assert.equal(capacity["nvidia.com/gpu"], "4");
        assert.equal(parseCpu(allocatable.cpu), k.allocatable.cpuMillis);
        assert.equal(parseMemory(allocatable.memory), k.allocatable.memoryBytes);
        assert.equal(Number(allocatable.pods), k.allocatable.pods);
    });

    it("the kwok node less the stand-in EKS DaemonSets is exactly what the planner packs onto", () => {
        const instance = instanceType("g5.12xlarge");
        const { allocatable } = nodeResources(instance);
        const standIns = eksSystemDaemonSets("run");
        assert.equal(standIns.length, EKS_SYSTEM_DAEMONSETS.length);
        const dsCpu = standIns.reduce((n, ds) => n + parseCpu(ds.spec.template.spec.containers[0].resources.requests.cpu ?? "0"), 0);
        const planner = nodeAllocatable(instance, [], {}, EKS_SYSTEM_DAEMONSETS);
        assert.equal(parseCpu(allocatable.cpu) - dsCpu, planner.cpuMillis);
        assert.equal(Number(allocatable.pods) - standIns.length, planner.pods);
        for (const ds of standIns) assert.deepEqual(ds.spec.template.spec.tolerations, [{ operator: "Exists" }]);
    });
});

describe("conformance: stand-ins", () => {
    it("creates the training operator's pods from every replica spec, owned by the job", () => {
        const job = {
            apiVersion: "kubeflow.org/v1",
            kind: "PyTorchJob",
            metadata: { name: "llm", namespace: "ml-training" },
            spec: { pytorchReplicaSpecs: { Master: { replicas: 1, restartPolicy: "OnFailure", template: { spec: { containers: [{ name: "pytorch" }] } } }, Worker: { replicas: 3, template: { metadata: { labels: { app: "llm" } }, spec: { containers: [{ name: "pytorch" }] } } } } },
        };
        const pods = pyTorchJobPods(job, "uid-1");
        assert.deepEqual(pods.map((p) => p.metadata.name), ["llm-master-0", "llm-worker-0", "llm-worker-1", "llm-worker-2"]);
        assert.equal(pods[0].spec.restartPolicy, "OnFailure");
        assert.equal(pods[1].metadata.labels.app, "llm");
        for (const p of pods) assert.equal(p.metadata.ownerReferences[0].uid, "uid-1");
    });

    it("reads the operator's tag from the registered kustomize Directory", () => {
        assert.equal(trainingOperatorTag([{ type: "kubernetes:kustomize/v2:Directory", inputs: { directory: "https://github.com/kubeflow/trainer//manifests/overlays/standalone?ref=v1.9.4" } }]), "v1.9.4");
        assert.equal(trainingOperatorTag([{ type: "kubernetes:kustomize/v2:Directory", inputs: { directory: "https://github.com/other/thing?ref=v1" } }]), undefined);
    });

    it("pre-binds a volume of the claim's size, class and access modes to the claim", () => {
        const claim = { apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data", namespace: "ml" }, spec: { accessModes: ["ReadWriteMany"], storageClassName: "efs-ml", resources: { requests: { storage: "5Ti" } } } };
        const pv = volumeForClaim(claim, { apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name: "efs-ml" }, provisioner: "efs.csi.aws.com", reclaimPolicy: "Retain", parameters: { fileSystemId: "fs-1" } }, "run");
        assert.deepEqual(pv.spec.claimRef, { namespace: "ml", name: "data" });
        assert.equal(pv.spec.capacity.storage, "5Ti");
        assert.equal(pv.spec.storageClassName, "efs-ml");
        assert.equal(pv.spec.persistentVolumeReclaimPolicy, "Retain");
    });
});

describe("conformance: comparison", () => {
    const observed = { kind: "Deployment", namespace: "ml", name: "w", expectedPods: 3, pods: 3, bound: 3, running: 3 };

    it("a workload ran only when every expected pod exists, is bound and runs", () => {
        assert.equal(ranFully(observed), true);
        assert.equal(ranFully({ ...observed, bound: 2 }), false);
        assert.equal(ranFully({ ...observed, pods: 2, bound: 2, running: 2 }), false);
        assert.equal(ranFully({ ...observed, expectedPods: 0, pods: 0, bound: 0, running: 0 }), false);
    });

    it("uses the plan's verdict at the scale under test", () => {
        const w = { name: "w", kind: "Deployment", namespace: "ml", schedulable: false, reason: "at maximum scale: x", scales: { min: { schedulable: true }, max: { schedulable: false, reason: "x" } } };
        assert.equal(plannedAt(w, "min").schedulable, true);
        assert.equal(plannedAt(w, "max").schedulable, false);
        const old = { name: "w", kind: "Deployment", namespace: "ml", schedulable: false, reason: "at maximum scale: x" };
        assert.equal(plannedAt(old, "min").schedulable, true);
        assert.equal(plannedAt(old, "max").schedulable, false);
    });

    it("a difference names both verdicts and what Kubernetes said", () => {
        const v = compareWorkload({ name: "w", kind: "Deployment", namespace: "ml", schedulable: true }, { ...observed, bound: 1, running: 1, message: "Unschedulable: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu." }, "max");
        assert.equal(v.agrees, false);
        assert.match(v.observedDetail, /1\/3 pods bound.*Insufficient nvidia\.com\/gpu/);
    });

    it("a GPU DaemonSet must run exactly one pod on every GPU node and none on CPU nodes", () => {
        const pod = (node?: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, spec: node ? { nodeName: node } : {} });
        assert.deepEqual(checkGpuDaemonSet("ds", [pod("g1"), pod("g2")], ["g1", "g2"], ["g1", "g2", "c1"]).problems, []);
        assert.match(checkGpuDaemonSet("ds", [pod("g1")], ["g1", "g2"], ["g1", "g2", "c1"], "why").problems.join(), /no pod on GPU node\(s\) g2 \(why\)/);
        assert.match(checkGpuDaemonSet("ds", [pod("g1"), pod("g2"), pod("c1")], ["g1", "g2"], ["g1", "g2", "c1"]).problems.join(), /pods on CPU node\(s\) c1/);
        assert.match(checkGpuDaemonSet("ds", [pod("g1"), pod("g1"), pod("g2")], ["g1", "g2"], ["g1", "g2"]).problems.join(), /more than one pod on g1/);
    });

    it("parses its arguments and refuses what it does not know", () => {
        assert.deepEqual(parseConformanceArgs(["--stack", "dev"]), { stack: "dev", out: "out/dev" });
        assert.deepEqual(parseConformanceArgs(["--stack=prod", "--plan", "p"]), { stack: "prod", plan: "p", out: "p" });
        assert.throws(() => parseConformanceArgs(["--stack"]), ConformanceUsageError);
        assert.throws(() => parseConformanceArgs(["--bogus", "x"]), /unknown argument "--bogus"/);
        assert.throws(() => parseConformanceArgs([]), /--stack is required/);
    });
});

describe("conformance: differential scenarios", () => {
    it("are the same for a seed and differ across seeds", () => {
        assert.deepEqual(generateScenario(7, 3, plannerFeasible), generateScenario(7, 3, plannerFeasible));
        assert.notDeepEqual(generateScenario(7, 3, plannerFeasible), generateScenario(8, 3, plannerFeasible));
    });

    const pool = (name: string, extra: Partial<ScenarioPool> = {}): ScenarioPool => ({ name, nodes: 1, labels: {}, taints: [], allocatable: { cpuMillis: 4000, memoryMiB: 4096, pods: 4, extended: {} }, ...extra });
    const workload = (name: string, pods: number, cpuMillis = 1000, nodeSelector: Record<string, string> = {}): ScenarioWorkload => ({ name, pods, gang: false, requests: { cpuMillis, memoryMiB: 128, extended: {} }, tolerations: [], nodeSelector });

    it("refuse scenarios whose answer depends on the order pods are tried", () => {
        const a = pool("a", { labels: { tier: "gold" } });
        const b = pool("b");
        // Feasible pools {a} and {a, b}: overlapping but different, so who gets pool a depends on order.
        assert.equal(orderFree([workload("x", 2, 1000, { tier: "gold" }), workload("y", 2)], [a, b], plannerFeasible), false);
        // Same pools, same shape, fits whole: order-free.
        assert.equal(orderFree([workload("x", 2), workload("y", 2)], [a, b], plannerFeasible), true);
        // Same pools, same shape, but 10 pods for 8 slots: which workload loses depends on order.
        assert.equal(orderFree([workload("x", 5), workload("y", 5)], [a, b], plannerFeasible), false);
        // Same pools, different shapes: bin packing order matters.
        assert.equal(orderFree([workload("x", 1, 1000), workload("y", 1, 2000)], [a, b], plannerFeasible), false);
    });

    it("count pods per node by the tightest resource, pod slots included", () => {
        assert.equal(podsPerNode({ cpuMillis: 4000, memoryMiB: 4096, pods: 3, extended: {} }, { cpuMillis: 1000, memoryMiB: 128, extended: {} }), 3);
        assert.equal(podsPerNode({ cpuMillis: 4000, memoryMiB: 4096, pods: 9, extended: { "nvidia.com/gpu": 4 } }, { cpuMillis: 100, memoryMiB: 128, extended: { "nvidia.com/gpu": 2 } }), 2);
        assert.equal(podsPerNode({ cpuMillis: 4000, memoryMiB: 4096, pods: 9, extended: {} }, { cpuMillis: 100, memoryMiB: 128, extended: { "vpc.amazonaws.com/efa": 1 } }), 0);
    });

    it("render pods whose extended-resource requests equal their limits, on nodes kwok manages", () => {
        const s = generateScenario(11, 0, plannerFeasible);
        const { nodes, pods } = scenarioObjects(s, "differential", { key: "kwok.x-k8s.io/node", value: "fake" });
        assert.equal(nodes.length, s.pools.reduce((n, p) => n + p.nodes, 0));
        assert.equal(pods.length, s.workloads.reduce((n, w) => n + w.pods, 0));
        for (const p of pods) assert.deepEqual(p.spec.containers[0].resources.requests, p.spec.containers[0].resources.limits);
        for (const n of nodes) assert.equal(n.metadata.annotations["kwok.x-k8s.io/node"], "fake");
    });
});
