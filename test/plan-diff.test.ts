import { strict as assert } from "node:assert";
import { DiffResource, DiffSummary, DiffViolation, diffPlans, inputChanges, PlanSnapshot, pathMatches, quantityBytes } from "../plan/diff";
import { changesSection } from "../plan/diffReport";

const urnOf = (type: string, name: string) => `urn:pulumi:dev::ml-platform::${type}::${name}`;

function res(type: string, name: string, inputs: Record<string, unknown>, options: Partial<DiffResource["options"]> = {}): DiffResource {
    return {
        urn: urnOf(type, name),
        type,
        name,
        custom: true,
        inputs,
        options: { protect: false, retainOnDelete: false, replaceOnChanges: [], deleteBeforeReplace: false, ...options },
    };
}

const summary = (over: Partial<DiffSummary> = {}): DiffSummary => ({
    stack: "dev",
    cost: { monthlyMin: 100, monthlyMax: 300 },
    gpus: { provisioned: { min: 0, max: 4 } },
    workloads: [
        { name: "chat", kind: "Deployment", pool: "a10g", schedulable: true },
        { name: "bert", kind: "Job", pool: "a10g", schedulable: true },
    ],
    ...over,
});

const snap = (resources: DiffResource[], over: Partial<PlanSnapshot> = {}): PlanSnapshot => ({ resources, summary: summary(), violations: [], ...over });

/** The diff of one resource changed from `before` to `after` inputs (same URN). */
function changeOf(type: string, before: Record<string, unknown>, after: Record<string, unknown>, options: Partial<DiffResource["options"]> = {}) {
    const d = diffPlans(snap([res(type, "x", before, options)]), snap([res(type, "x", after, options)]));
    return { d, c: [...d.resources.changed, ...d.kubernetes.changed][0] };
}

const k8s = (kind: string, apiVersion: string, spec: Record<string, unknown>, name = "x") => ({ apiVersion, kind, metadata: { name, namespace: "ml" }, spec });

const NODE_GROUP = "eks:index:ManagedNodeGroup";
const gpuGroup = (over: Record<string, unknown> = {}) => ({
    instanceTypes: ["g5.xlarge"],
    amiType: "AL2023_x86_64_NVIDIA",
    capacityType: "ON_DEMAND",
    labels: { "node-pool": "a10g", "nvidia.com/gpu.present": "true" },
    scalingConfig: { minSize: 0, maxSize: 4, desiredSize: 0 },
    launchTemplate: { id: "lt-1", version: "1" },
    ...over,
});

describe("plan diff: paths", () => {
    it("lists leaf paths that differ, arrays by index, and nothing for equal trees", () => {
        assert.deepEqual(inputChanges({ a: { b: 1, c: [1, 2] } }, { a: { b: 1, c: [1, 2] } }), []);
        assert.deepEqual(inputChanges({ a: { b: 1, c: [1, 2] } }, { a: { b: 2, c: [1] } }), [
            { path: "a.b", before: 1, after: 2 },
            { path: "a.c[1]", before: 2 },
        ]);
    });

    it("matches patterns as prefixes with * and [*], and not other paths", () => {
        assert.ok(pathMatches("spec.template", "spec.template.spec.containers[0].image"));
        assert.ok(pathMatches("spec.containers[*].image", "spec.containers[3].image"));
        assert.ok(pathMatches("*.x", "a.x.y"));
        assert.ok(!pathMatches("spec.template", "spec.templates"));
        assert.ok(!pathMatches("spec.template.spec", "spec.template"));
    });

    it("reads Kubernetes quantities", () => {
        assert.equal(quantityBytes("1Gi"), 2 ** 30);
        assert.equal(quantityBytes("500M"), 5e8);
        assert.ok(Number.isNaN(quantityBytes("lots")));
    });
});

describe("plan diff: added, removed, changed", () => {
    it("reports each by URN, and an unchanged resource not at all", () => {
        const keep = res("aws:iam/role:Role", "keep", { path: "/" });
        const gone = res("aws:iam/role:Role", "gone", {});
        const base = snap([keep, gone, res("aws:kms/key:Key", "k", { description: "a" })]);
        const head = snap([keep, res("aws:iam/role:Role", "new", {}), res("aws:kms/key:Key", "k", { description: "b" })]);
        const d = diffPlans(base, head);
        assert.deepEqual(d.resources.added.map((r) => r.urn), [urnOf("aws:iam/role:Role", "new")]);
        assert.deepEqual(d.resources.removed.map((r) => r.urn), [urnOf("aws:iam/role:Role", "gone")]);
        assert.deepEqual(d.resources.changed.map((r) => [r.urn, r.changes, r.replacedBecause]), [[urnOf("aws:kms/key:Key", "k"), [{ path: "description", before: "a", after: "b" }], []]]);
        assert.equal(diffPlans(base, base).resources.changed.length, 0);
    });

    it("puts Kubernetes objects apart, named by apiVersion, kind, namespace and name", () => {
        const d = diffPlans(snap([]), snap([res("kubernetes:core/v1:ConfigMap", "cm", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "ml" } })]));
        assert.deepEqual(d.resources.added, []);
        assert.equal(d.kubernetes.added[0].object, "v1 ConfigMap ml/cm");
    });
});

describe("plan diff: secrets", () => {
    const PLAINTEXT = "hunter2-do-not-print";
    it("shows a secret only as changed: the value reaches neither diff.json nor the report", () => {
        const secret = k8s("Secret", "v1", {}, "creds");
        const before = { ...secret, stringData: { password: "old-value-do-not-print" } };
        const after = { ...secret, stringData: { password: PLAINTEXT } };
        const { d, c } = changeOf("kubernetes:core/v1:Secret", before, after);
        assert.deepEqual(c.changes, [{ path: "stringData.password", secret: true }]);
        const text = JSON.stringify(d) + changesSection(d).body;
        assert.ok(!text.includes(PLAINTEXT) && !text.includes("old-value-do-not-print"));
        assert.match(changesSection(d).body, /`stringData\.password` \(secret, changed\)/);
    });

    it("treats a placeholder on either side as secret, and a plain value as plain", () => {
        assert.deepEqual(inputChanges({ token: "[secret]" }, { token: PLAINTEXT }), [{ path: "token", secret: true }]);
        assert.deepEqual(inputChanges({ token: "a" }, { token: "b" }), [{ path: "token", before: "a", after: "b" }]);
    });
});

describe("plan diff: replacements", () => {
    it("the program's replaceOnChanges replaces, with deleteBeforeReplace; another path updates", () => {
        const opts = { replaceOnChanges: ["spec.completions"], deleteBeforeReplace: true };
        const type = "kubernetes:kubeflow.org/v1:PyTorchJob";
        const r = changeOf(type, k8s("PyTorchJob", "kubeflow.org/v1", { completions: 1 }), k8s("PyTorchJob", "kubeflow.org/v1", { completions: 2 }), opts).c;
        assert.match(r.replacedBecause[0].source, /replaceOnChanges "spec\.completions"/);
        assert.equal(r.deleteBeforeReplace, true);
        assert.match(r.effects.join(), /restarts training/);
        const u = changeOf(type, k8s("PyTorchJob", "kubeflow.org/v1", { ttl: 1 }), k8s("PyTorchJob", "kubeflow.org/v1", { ttl: 2 }), opts).c;
        assert.deepEqual([u.replacedBecause, u.deleteBeforeReplace, u.effects], [[], false, []]);
    });

    const cases: [string, string, string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>][] = [
        // type, kind, apiVersion, base spec, replacing spec, updating spec
        ["kubernetes:batch/v1:Job", "Job", "batch/v1", { template: { image: "a" }, backoffLimit: 1 }, { template: { image: "b" }, backoffLimit: 1 }, { template: { image: "a" }, backoffLimit: 2 }],
        ["kubernetes:apps/v1:Deployment", "Deployment", "apps/v1", { selector: { app: "a" }, replicas: 1 }, { selector: { app: "b" }, replicas: 1 }, { selector: { app: "a" }, replicas: 2 }],
        ["kubernetes:apps/v1:StatefulSet", "StatefulSet", "apps/v1", { volumeClaimTemplates: [{ size: "1Gi" }], replicas: 1 }, { volumeClaimTemplates: [{ size: "2Gi" }], replicas: 1 }, { volumeClaimTemplates: [{ size: "1Gi" }], replicas: 3 }],
        ["kubernetes:core/v1:Service", "Service", "v1", { clusterIP: "10.0.0.1", ports: [80] }, { clusterIP: "10.0.0.2", ports: [80] }, { clusterIP: "10.0.0.1", ports: [8080] }],
        [
            "kubernetes:core/v1:PersistentVolumeClaim",
            "PersistentVolumeClaim",
            "v1",
            { storageClassName: "efs", resources: { requests: { storage: "10Gi" } } },
            { storageClassName: "gp3", resources: { requests: { storage: "10Gi" } } },
            { storageClassName: "efs", resources: { requests: { storage: "20Gi" } } },
        ],
    ];
    for (const [type, kind, apiVersion, base, replacing, updating] of cases) {
        it(`${kind}: an immutable field replaces, a mutable one updates in place`, () => {
            const r = changeOf(type, k8s(kind, apiVersion, base), k8s(kind, apiVersion, replacing)).c;
            assert.equal(r.replacedBecause.length, 1, JSON.stringify(r));
            assert.match(r.replacedBecause[0].source, /^kubernetes pkg\/apis\//);
            const u = changeOf(type, k8s(kind, apiVersion, base), k8s(kind, apiVersion, updating)).c;
            assert.deepEqual(u.replacedBecause, []);
        });
    }

    it("a PVC that shrinks is replaced; one that grows is not", () => {
        const pvc = (size: string) => k8s("PersistentVolumeClaim", "v1", { resources: { requests: { storage: size } } });
        assert.match(changeOf("kubernetes:core/v1:PersistentVolumeClaim", pvc("10Gi"), pvc("5Gi")).c.replacedBecause[0].source, /only grow/);
        assert.deepEqual(changeOf("kubernetes:core/v1:PersistentVolumeClaim", pvc("10Gi"), pvc("1Ti")).c.replacedBecause, []);
    });

    it("a Job's pod template change restarts training", () => {
        const job = (image: string) => k8s("Job", "batch/v1", { template: { image } });
        assert.match(changeOf("kubernetes:batch/v1:Job", job("a"), job("b")).c.effects[0], /restarts training batch\/v1 Job ml\/x/);
    });

    it("a GPU node group's instance type replaces it and drains the pool, naming the workloads on it", () => {
        const c = changeOf(NODE_GROUP, gpuGroup(), gpuGroup({ instanceTypes: ["g5.2xlarge"] })).c;
        assert.match(c.replacedBecause[0].source, /aws_eks_node_group/);
        assert.deepEqual(c.effects, [
            "replaces and drains GPU node pool a10g",
            "evicts serving chat (rescheduled; capacity drops while nodes come up)",
            "restarts training bert (pods evicted; progress since the last checkpoint is lost)",
        ]);
        for (const field of [{ amiType: "AL2023_x86_64_STANDARD" }, { capacityType: "SPOT" }]) {
            assert.equal(changeOf(NODE_GROUP, gpuGroup(), gpuGroup(field)).c.replacedBecause.length, 1, JSON.stringify(field));
        }
    });

    it("a node group's scaling updates in place and drains nothing; a launch template version rolls the nodes", () => {
        const s = changeOf(NODE_GROUP, gpuGroup(), gpuGroup({ scalingConfig: { minSize: 0, maxSize: 8, desiredSize: 0 } })).c;
        assert.deepEqual([s.replacedBecause, s.effects], [[], []]);
        const lt = changeOf(NODE_GROUP, gpuGroup(), gpuGroup({ launchTemplate: { id: "lt-1", version: "2" } })).c;
        assert.deepEqual(lt.replacedBecause, []);
        assert.match(lt.effects[0], /rolls \(drains and replaces\) every node of GPU node pool a10g/);
    });

    it("EFS encryption and the cluster's subnets replace; throughput mode and tags do not", () => {
        const efs = "aws:efs/fileSystem:FileSystem";
        assert.equal(changeOf(efs, { encrypted: true }, { encrypted: false }).c.replacedBecause.length, 1);
        assert.equal(changeOf(efs, { kmsKeyId: "a" }, { kmsKeyId: "b" }).c.replacedBecause.length, 1);
        assert.deepEqual(changeOf(efs, { throughputMode: "elastic" }, { throughputMode: "bursting" }).c.replacedBecause, []);
        const cluster = changeOf("eks:index:Cluster", { privateSubnetIds: ["a", "b"] }, { privateSubnetIds: ["a", "c"] }).c;
        assert.equal(cluster.replacedBecause.length, 1);
        assert.match(cluster.effects[0], /every node drains/);
        assert.deepEqual(changeOf("eks:index:Cluster", { tags: { a: "1" } }, { tags: { a: "2" } }).c.replacedBecause, []);
    });
});

describe("plan diff: risk", () => {
    const efs = "aws:efs/fileSystem:FileSystem";
    it("deleting a protected, retained file system comes first; deleting an unguarded role is no risk", () => {
        const fs = res(efs, "prod-efs", { encrypted: true }, { protect: true, retainOnDelete: true });
        const np = res("kubernetes:networking.k8s.io/v1:NetworkPolicy", "np", k8s("NetworkPolicy", "networking.k8s.io/v1", { a: 1 }));
        const np2 = res("kubernetes:networking.k8s.io/v1:NetworkPolicy", "np", k8s("NetworkPolicy", "networking.k8s.io/v1", { a: 2 }));
        const d = diffPlans(snap([np, fs]), snap([np2]));
        assert.deepEqual(d.risks.map((r) => r.kind), ["data-loss", "network-policy"]);
        assert.match(d.risks[0].message, /deletes aws:efs\/fileSystem:FileSystem prod-efs, which is protected .* and retainOnDelete/);
        assert.ok(changesSection(d).body.indexOf("data-loss") < changesSection(d).body.indexOf("### Resources"));
        assert.deepEqual(diffPlans(snap([res("aws:iam/role:Role", "r", {})]), snap([])).risks, []);
    });

    it("replacing a protected resource is a risk; updating it in place is not", () => {
        const opts = { protect: true, retainOnDelete: true };
        assert.match(changeOf(efs, { encrypted: true }, { encrypted: false }, opts).d.risks[0].message, /^replaces aws:efs/);
        assert.deepEqual(changeOf(efs, { throughputMode: "elastic" }, { throughputMode: "bursting" }, opts).d.risks, []);
    });

    it("a NetworkPolicy change is a risk; a ConfigMap change is not", () => {
        const t = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
        assert.equal(changeOf(t, k8s("NetworkPolicy", "networking.k8s.io/v1", { a: 1 }), k8s("NetworkPolicy", "networking.k8s.io/v1", { a: 2 })).d.risks[0].kind, "network-policy");
        assert.deepEqual(changeOf("kubernetes:core/v1:ConfigMap", k8s("ConfigMap", "v1", { a: 1 }), k8s("ConfigMap", "v1", { a: 2 })).d.risks, []);
    });

    it("an access entry change and a Kubernetes version change are risks; a cluster tag change is not", () => {
        const access = changeOf("eks:index:Cluster", { accessEntries: { team: { principalArn: "a" } } }, { accessEntries: { team: { principalArn: "b" } } }).d;
        assert.deepEqual(access.risks.map((r) => r.kind), ["access-entry"]);
        const version = changeOf("eks:index:Cluster", { version: "1.30" }, { version: "1.31" }).d;
        assert.deepEqual(version.risks.map((r) => [r.kind, r.message]), [["kubernetes-version", "Kubernetes version of x 1.30 -> 1.31"]]);
        assert.deepEqual(changeOf("eks:index:Cluster", { tags: { a: "1" } }, { tags: { a: "2" } }).d.risks, []);
    });

    it("a policy's enforcement level change is a risk; the same level is not", () => {
        const v = (level: string): DiffViolation => ({ policy: "p", enforcementLevel: level, resource: { type: "t", name: "n" }, message: "m" });
        assert.deepEqual(diffPlans(snap([], { violations: [v("advisory")] }), snap([], { violations: [v("mandatory")] })).risks.map((r) => r.message), ["policy p: enforcement advisory -> mandatory"]);
        assert.deepEqual(diffPlans(snap([], { violations: [v("advisory")] }), snap([], { violations: [v("advisory")] })).risks, []);
    });
});

describe("plan diff: deltas", () => {
    it("cost, GPUs, schedulability and policy violations, from the two summaries", () => {
        const v = (name: string): DiffViolation => ({ policy: "p", enforcementLevel: "mandatory", resource: { type: "t", name }, message: "m" });
        const base = snap([], { violations: [v("old"), v("both")] });
        const head = snap([], {
            summary: summary({
                cost: { monthlyMin: 150.5, monthlyMax: 300 },
                gpus: { provisioned: { min: 0, max: 8 } },
                workloads: [
                    { name: "chat", kind: "Deployment", pool: "a10g", schedulable: false, reason: "too big" },
                    { name: "bert", kind: "Job", pool: "a10g", schedulable: true },
                ],
            }),
            violations: [v("both"), v("new")],
        });
        const d = diffPlans(base, head).deltas;
        assert.deepEqual(d.monthlyCostMin, { base: 100, head: 150.5, delta: 50.5 });
        assert.deepEqual(d.monthlyCostMax.delta, 0);
        assert.deepEqual(d.gpusProvisionedMax, { base: 4, head: 8, delta: 4 });
        assert.deepEqual(d.newlyUnschedulable, [{ name: "chat", reason: "too big" }]);
        assert.deepEqual(d.newlySchedulable, []);
        assert.deepEqual(d.policyViolationsAdded.map((x) => x.resource.name), ["new"]);
        assert.deepEqual(d.policyViolationsFixed.map((x) => x.resource.name), ["old"]);
        // And back: what was unschedulable becomes schedulable.
        const back = diffPlans(head, base).deltas;
        assert.deepEqual([back.newlySchedulable, back.newlyUnschedulable], [["chat"], []]);
        // A change reads as a difference ("more", "less", "fewer"), never as a bare signed amount.
        const forth = changesSection(diffPlans(base, head)).body;
        assert.match(forth, /\| monthly EC2 cost, minimum scale \| \$100\.00 \| \$150\.50 \| \$50\.50 more \|/);
        assert.match(forth, /\| monthly EC2 cost, maximum scale \| \$300\.00 \| \$300\.00 \| no change \|/);
        assert.match(forth, /\| GPUs provisioned, maximum scale \| 4 \| 8 \| 4 more \|/);
        const backwards = changesSection(diffPlans(head, base)).body;
        assert.match(backwards, /\$150\.50 \| \$100\.00 \| \$50\.50 less \|/);
        assert.match(backwards, /\| 8 \| 4 \| 4 fewer \|/);
        assert.doesNotMatch(forth + backwards, /\| [+-]\$?\d/);
    });
});
