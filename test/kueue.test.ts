/**
 * Queued training (issue 17): Kueue's flavors and quotas derived from the pools, suspended and labelled
 * training, the shares validated, the policy rules, and admission as the planner simulates it.
 */
import { strict as assert } from "node:assert";
import { load } from "js-yaml";
import { admissionVerdicts, KueueView, kueueViewOf, QueuedJob, simulateAdmission, trainingJobsOf } from "../capacity/admission";
import { platformRun } from "./fixtures";
import { analyzeCapacity, CapacityResource } from "../capacity/analysis";
import { MANAGED_NODE_GROUP } from "../capacity/nodeGroups";
import { EFA_RESOURCE, GPU_RESOURCE, poolNodeSelector, poolTaints } from "../capacity/pools";
import { clusterQueues, poolQuota, queueShareProblems } from "../capacity/queues";
import { kueueLabels, JOB_SUSPEND_IGNORE, TrainingJob } from "../components/training";
import { Kueue, kueueManagerConfig, kueueObjects } from "../components/kueue";
import { KUEUE_QUEUE_LABEL, PLATFORM_QUEUE } from "../facts/kueue";
import { VERSIONS } from "../facts/versions";
import { placementSection, queueingSection } from "../plan/capacityReport";
import { trainingFitsQueue, trainingQueued } from "../policy/rules/queues";
import { buildStackSpec } from "../stacks/validate";
import { A100_POOL, A10G_POOL, GPU_TAINT, Obj, one, poolSpec, recordResources, trainingSpec } from "./component-mocks";
import { problemsOf, rawConfigOf, withKey } from "./helpers";
import { onResource, onStack } from "./policy-rules-helpers";

const SYSTEM = poolSpec("system", "m6i.xlarge", 2, 3);
const POOLS = [SYSTEM, A10G_POOL, A100_POOL];

describe("capacity/queues: flavors and quotas from the pools", () => {
    it("makes one flavor per GPU pool, selecting and tainted exactly as the pool", () => {
        const { flavors } = kueueObjects({ pools: POOLS, gpuTaint: GPU_TAINT, shares: {}, trainingNamespace: "ml-training" });
        assert.deepEqual(
            flavors.map((f) => [f.metadata.name, f.spec.nodeLabels, f.spec.nodeTaints]),
            [A10G_POOL, A100_POOL].map((p) => [p.name, poolNodeSelector(p), poolTaints(p, GPU_TAINT)]),
        );
    });

    it("splits each pool at maxSize between the teams' shares and the platform's queue, summing to exactly the pool", () => {
        const queues = clusterQueues(POOLS, GPU_TAINT, { llm: { a100: 0.5 }, recsys: { a10g: 0.3, a100: 0.25 } });
        assert.deepEqual(queues.map((q) => q.name), [PLATFORM_QUEUE, "llm", "recsys"]);
        for (const pool of [A10G_POOL, A100_POOL]) {
            const total = poolQuota(pool, GPU_TAINT, [A10G_POOL, A100_POOL]);
            const of = (name: string) => queues.find((q) => q.name === name)!.quotas.find((x) => x.flavor === pool.name)!.quota;
            for (const k of ["cpuMillis", "memoryBytes", "gpus"] as const) {
                assert.equal(of(PLATFORM_QUEUE)[k] + of("llm")[k] + of("recsys")[k], total[k], `${pool.name} ${k}`);
            }
        }
        const a100 = (name: string) => queues.find((q) => q.name === name)!.quotas.find((x) => x.flavor === "a100")!.quota.gpus;
        // 4 x p4d.24xlarge = 32 A100s: llm half, recsys a quarter, the platform the rest.
        assert.deepEqual([a100("llm"), a100("recsys"), a100(PLATFORM_QUEUE)], [16, 8, 8]);
        // 4 x g5.12xlarge = 16 A10Gs; 30% rounds down to 4 whole GPUs.
        assert.equal(queues.find((q) => q.name === "recsys")!.quotas.find((x) => x.flavor === "a10g")!.quota.gpus, 4);
        assert.ok(queues.every((q) => q.cohort === queues[0].cohort));
    });

    it("refuses shares above the pool, unknown teams and pools, and teams without the training namespace", () => {
        const teams = [
            { name: "llm", namespaces: ["ml-training"] },
            { name: "web", namespaces: ["ml-serving"] },
        ];
        const problems = (shares: Record<string, Record<string, number>>) => queueShareProblems(shares, POOLS, teams, "ml-training").map((p) => `${p.path}: ${p.wrong}`);
        assert.deepEqual(problems({ llm: { a100: 1 } }), []);
        assert.deepEqual(problems({ llm: { a100: 0.7 }, web: { a100: 0.4 } }), [
            "web: is an app team without the training namespace ml-training, where its LocalQueue would be",
            "*.a100: shares of pool a100 sum to 1.1 (llm 0.7 + web 0.4), more than the pool holds",
        ]);
        assert.deepEqual(problems({ ghost: { a10g: 0.1 } }), ["ghost: names no app team"]);
        assert.deepEqual(problems({ llm: { system: 0.1 } }), ["llm.system: names no GPU pool"]);
    });
});

describe("stacks: ml-platform:queues validated (exit 2)", () => {
    const prod = rawConfigOf("prod");

    it("prod gives the llm team half of the a100 pool", () => {
        assert.deepEqual(buildStackSpec(prod).queues, { llm: { a100: 0.5 } });
    });

    it("names the key, the value and the rule when shares exceed the pool or are out of range", () => {
        const [over] = problemsOf(withKey(prod, "queues", () => ({ llm: { a100: 1.5 } })));
        assert.match(over, /^ml-platform:queues\.llm\.a100 must be a share in \(0, 1\], got 1\.5/);
        const cluster = withKey(prod, "cluster", (c) => (c.appTeams[0].namespaces.push("ml-training"), c));
        const [sum] = problemsOf(withKey(cluster, "queues", () => ({ llm: { a100: 0.6 }, recsys: { a100: 0.6 } })));
        assert.match(sum, /^ml-platform:queues\.\*\.a100 shares of pool a100 sum to 1\.2 \(llm 0\.6 \+ recsys 0\.6\), more than the pool holds, got 1\.2; allowed: /);
    });
});

describe("components/kueue and training under mocks", () => {
    let resources: Awaited<ReturnType<typeof recordResources>>;
    before(async () => {
        resources = await recordResources(() => {
            new Kueue("k", { pools: POOLS, gpuTaint: GPU_TAINT, shares: { llm: { a100: 0.5 } }, trainingNamespace: "ml-training", systemNodeSelector: poolNodeSelector(SYSTEM) });
        });
    });

    it("installs the pinned chart and image on the system pool, with all-or-nothing admission", () => {
        const release = one(resources, "kubernetes:helm.sh/v3:Release");
        const v = release.inputs as Obj;
        assert.deepEqual([v.chart, v.version], [VERSIONS.kueue.chart, VERSIONS.kueue.version]);
        assert.deepEqual(v.values.controllerManager.manager.image, { repository: VERSIONS.kueue.image, tag: VERSIONS.kueue.tag, pullPolicy: "IfNotPresent" });
        assert.deepEqual(v.values.controllerManager.nodeSelector, poolNodeSelector(SYSTEM));
        const config = load(v.values.managerConfig.controllerManagerConfigYaml) as Obj;
        assert.deepEqual(config, kueueManagerConfig());
        assert.equal(config.waitForPodsReady.blockAdmission, true);
        assert.equal(config.manageJobsWithoutQueueName, false);
        assert.deepEqual(config.integrations.frameworks, ["batch/job", "kubeflow.org/pytorchjob"]);
    });

    it("creates the queues after the chart, and every LocalQueue points at a ClusterQueue it creates", () => {
        const kinds = (kind: string) => resources.filter((r) => r.type === `kubernetes:kueue.x-k8s.io/v1beta2:${kind}`).map((r) => r.inputs as Obj);
        const cqs = kinds("ClusterQueue").map((q) => q.metadata.name);
        assert.deepEqual(cqs.sort(), ["llm", PLATFORM_QUEUE]);
        assert.deepEqual(kinds("LocalQueue").map((q) => [q.metadata.namespace, q.spec.clusterQueue]).sort(), [["ml-training", "llm"], ["ml-training", PLATFORM_QUEUE]]);
        const flavors = kinds("ResourceFlavor").map((f) => f.metadata.name);
        for (const q of kinds("ClusterQueue")) {
            assert.deepEqual(q.spec.resourceGroups[0].flavors.map((f: Obj) => f.name), flavors);
        }
        assert.deepEqual(kinds("WorkloadPriorityClass").map((p) => p.metadata.name).sort(), ["ml-serving", "ml-training-batch"]);
    });

    it("creates a training Job suspended, labelled for its queue, and leaves suspend to Kueue afterwards", async () => {
        const rs = await recordResources(() => new TrainingJob("t", { training: trainingSpec(), pool: A10G_POOL, gpuTaint: GPU_TAINT, trackingSecretName: "s", serviceAccountName: "t", trainingDataClaim: "d", checkpointsClaim: "c" }));
        const job = one(rs, "kubernetes:batch/v1:Job");
        const obj = job.inputs as Obj;
        assert.equal(obj.spec.suspend, true);
        assert.equal(obj.metadata.labels[KUEUE_QUEUE_LABEL], PLATFORM_QUEUE);
        assert.deepEqual(Object.entries(kueueLabels()).filter(([k, v]) => obj.metadata.labels[k] !== v), []);
        assert.deepEqual(job.options.ignoreChanges, JOB_SUSPEND_IGNORE);
    });
});

// Admission over hand-built queues: one cohort, two queues on one 8-GPU flavor.
const view = (platformGpus: number, teamGpus: number): KueueView => ({
    flavors: [{ name: "a100", nodeLabels: { "node-pool": "a100" } }],
    queues: [
        { name: PLATFORM_QUEUE, cohort: "c", quotas: [{ flavor: "a100", cpuMillis: 1e6, memoryBytes: 1e13, gpus: platformGpus }], covered: COVERED },
        { name: "llm", cohort: "c", quotas: [{ flavor: "a100", cpuMillis: 1e6, memoryBytes: 1e13, gpus: teamGpus }], covered: COVERED },
    ],
    localQueues: new Map([
        ["ml-training/training", PLATFORM_QUEUE],
        ["ml-training/llm", "llm"],
    ]),
    priorities: new Map(),
    excludedPrefixes: [],
});
const COVERED = ["cpu", "memory", "nvidia.com/gpu"];
const qjob = (name: string, gpus: number, runHours: number, localQueue: string | null = PLATFORM_QUEUE): QueuedJob => ({
    name,
    kind: "PyTorchJob",
    namespace: "ml-training",
    ...(localQueue !== null ? { localQueue } : {}),
    demand: { cpuMillis: 1000, memoryBytes: 1e9, gpus },
    nodeSelector: { "node-pool": "a100" },
    resources: COVERED,
    runHours,
});

describe("capacity/admission: Kueue's admission at the declared load", () => {
    it("a job requesting a resource its ClusterQueue does not cover is never admitted, unless Kueue's configuration excludes it", () => {
        // What the real Kueue v0.17.0 said of prod's EFA gang in the conformance run before the platform excluded EFA.
        const efaJob = { ...qjob("gang", 8, 10), resources: [...COVERED, "vpc.amazonaws.com/efa"] };
        const [never] = admissionVerdicts(view(8, 0), [efaJob]);
        assert.match(never.never!, /requests vpc\.amazonaws\.com\/efa, which ClusterQueue training does not cover and Kueue's configuration does not exclude/);
        const [ok] = admissionVerdicts({ ...view(8, 0), excludedPrefixes: ["vpc.amazonaws.com/efa"] }, [efaJob]);
        assert.equal(ok.never, undefined);
    });

    it("the platform's Kueue configuration excludes EFA devices, which the prod gang requests", async () => {
        const rs = (await platformRun("prod")).resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as Obj }));
        const v = kueueViewOf(rs)!;
        assert.deepEqual(v.excludedPrefixes, [EFA_RESOURCE]);
        const gang = trainingJobsOf(rs).find((j) => j.kind === "PyTorchJob")!;
        assert.ok(gang.resources.includes(EFA_RESOURCE));
        assert.equal(admissionVerdicts(v, [gang])[0].never, undefined);
    });

    it("admits what fits, then the next job when a run ends: the second job waits the first's run", () => {
        const v = view(8, 0);
        const steps = simulateAdmission(v, admissionVerdicts(v, [qjob("a", 8, 10), qjob("b", 8, 5)]));
        assert.deepEqual(steps.map((s) => [s.order, s.job, s.waitHours]), [
            [1, "a", 0],
            [2, "b", 10],
        ]);
    });

    it("lets a queue borrow its cohort's idle quota, and says so", () => {
        const v = view(4, 4);
        const steps = simulateAdmission(v, admissionVerdicts(v, [qjob("gang", 8, 10)]));
        assert.deepEqual(steps.map((s) => [s.job, s.waitHours, s.borrowed]), [["gang", 0, true]]);
    });

    it("a smaller job behind a blocked one is admitted first (BestEffortFIFO)", () => {
        const v = view(8, 0);
        const steps = simulateAdmission(v, admissionVerdicts(v, [qjob("big", 6, 10), qjob("bigger", 8, 10), qjob("small", 2, 1)]));
        assert.deepEqual(steps.map((s) => [s.job, s.waitHours]), [
            ["big", 0],
            ["small", 0],
            ["bigger", 10],
        ]);
    });

    it("calls a job that exceeds everything the cohort holds, or names no queue, never admitted", () => {
        const v = view(4, 4);
        const verdicts = admissionVerdicts(v, [qjob("huge", 9, 1), qjob("stray", 1, 1, null), qjob("lost", 1, 1, "nowhere")]);
        assert.match(verdicts[0].never!, /needs 9 GPU.*can ever use 8 GPU/);
        assert.match(verdicts[1].never!, /no kueue.x-k8s.io\/queue-name label/);
        assert.match(verdicts[2].never!, /LocalQueue ml-training\/nowhere/);
        assert.deepEqual(simulateAdmission(v, verdicts), []);
    });
});

// A stack whose two 8-GPU gangs fit the pool one at a time but not together.
const GPU_TAINT_NG = [{ key: "dedicated", value: "ml-workloads", effect: "NO_SCHEDULE" }];
const TOLERATION = [{ key: "dedicated", operator: "Equal", value: "ml-workloads", effect: "NoSchedule" }];
function gangJob(name: string, queued: boolean): CapacityResource {
    const template = {
        metadata: {},
        spec: {
            tolerations: TOLERATION,
            nodeSelector: { "node-pool": "a100" },
            containers: [{ name: "main", resources: { requests: { cpu: "8", memory: "64Gi", [GPU_RESOURCE]: 8 }, limits: { [GPU_RESOURCE]: 8 } } }],
        },
    };
    return {
        type: "kubernetes:kubeflow.org/v1:PyTorchJob",
        name,
        urn: `urn:${name}`,
        props: {
            metadata: { name, namespace: "ml-training", labels: queued ? kueueLabels() : {}, annotations: { "ml-platform/hours-per-run": "12" } },
            spec: { runPolicy: { suspend: true, activeDeadlineSeconds: 86400 }, pytorchReplicaSpecs: { Master: { replicas: 1, template }, Worker: { replicas: 1, template } } },
        },
    };
}
function queuedStack(queued: boolean): CapacityResource[] {
    const pools = [
        { type: MANAGED_NODE_GROUP, name: "system", props: { instanceTypes: ["m6i.xlarge"], scalingConfig: { minSize: 2, maxSize: 2 }, labels: { "node-pool": "system" } } },
        { type: MANAGED_NODE_GROUP, name: "a100", props: { instanceTypes: ["p4d.24xlarge"], scalingConfig: { minSize: 0, maxSize: 2 }, labels: { "node-pool": "a100" }, taints: GPU_TAINT_NG } },
    ];
    const objects = kueueObjects({ pools: [SYSTEM, poolSpec("a100", "p4d.24xlarge", 0, 2)], gpuTaint: GPU_TAINT, shares: {}, trainingNamespace: "ml-training" });
    const crs = [...objects.flavors, ...objects.queues, ...objects.localQueues, ...objects.priorities].map((o) => ({
        type: `kubernetes:${o.apiVersion}:${o.kind}`,
        name: `${o.kind}-${o.metadata.name}`,
        props: o as Obj,
    }));
    return [...pools, ...crs, gangJob("first", queued), gangJob("second", queued)];
}

const asLike = (r: CapacityResource) => ({ type: r.type, name: r.name, inputs: r.props, urn: r.urn ?? `urn:${r.name}` });

describe("capacity/analysis with Kueue: waiting is not unschedulable", () => {
    it("a queued gang that fits the pool alone but not beside the other waits its turn, 12 h", () => {
        const a = analyzeCapacity(queuedStack(true));
        assert.deepEqual(a.workloads.map((w) => [w.name, w.schedulable]), [
            ["first", true],
            ["second", true],
        ]);
        assert.match(a.workloads[1].scales.min.reason ?? "", /waits in its Kueue queue/);
        assert.deepEqual(a.queueing!.steps.map((s) => [s.job, s.waitHours]), [
            ["first", 0],
            ["second", 12],
        ]);
        const placement = placementSection({ gpus: a.gpus, gpuAllocation: a.gpuAllocation } as never, a).body;
        assert.match(placement, /\| second \| PyTorchJob \| a100 \| [^|]+\| yes, after waiting in its Kueue queue \|/);
        assert.match(placement, /\| first \| PyTorchJob \| a100 \| [^|]+\| yes \|/);
        const queueing = queueingSection(a)!.body;
        assert.match(queueing, /\| 2 \| second \| training \| a100 \| 12 \| 12 \| no \|/);
    });

    it("without queue labels the same gangs are unschedulable all at once, and the policy says they are unqueued", () => {
        const a = analyzeCapacity(queuedStack(false));
        assert.equal(a.workloads.find((w) => w.name === "second")!.schedulable, false);
        const r = gangJob("first", false);
        const reports = onResource(trainingQueued, asLike(r));
        assert.equal(reports.length, 1);
        assert.match(reports[0], /has no kueue\.x-k8s\.io\/queue-name label/);
    });
});

describe("policy: training-queued and training-fits-queue", () => {
    const stackRule = (rs: CapacityResource[]) => onStack(trainingFitsQueue, rs.map(asLike));

    it("passes queued gangs the cohort can admit", () => {
        assert.deepEqual(stackRule(queuedStack(true)), []);
        assert.deepEqual(onResource(trainingQueued, asLike(gangJob("first", true))), []);
        const unsuspended = gangJob("first", true);
        unsuspended.props.spec.runPolicy.suspend = false;
        assert.match(onResource(trainingQueued, asLike(unsuspended)).join("\n"), /not created suspended \(spec\.runPolicy\.suspend false\)/);
    });

    it("fails a gang larger than every quota of its cohort", () => {
        const rs = queuedStack(true);
        const job = rs.find((r) => r.name === "second")!;
        job.props.spec.pytorchReplicaSpecs.Worker.replicas = 2;
        const out = stackRule(rs);
        assert.equal(out.length, 1);
        assert.match(out[0], /PyTorchJob ml-training\/second can never be admitted: it needs 24 GPU.*can ever use 16 GPU/);
    });
});

describe("plan: prod's quotas are the planner's own node figures", () => {
    it("each flavor's quotas over all ClusterQueues equal maxSize x the analysed allocatable of its pool", async () => {
        const { planOf } = await import("./fixtures");
        const { result } = await planOf("prod");
        const cqs = result.manifests.filter((m) => m.object.kind === "ClusterQueue").map((m) => m.object as Obj);
        assert.ok(cqs.length >= 2);
        const { analyzeCapacity: analyse } = await import("../capacity/analysis");
        const { platformRun } = await import("./fixtures");
        const run = await platformRun("prod");
        const a = analyse(run.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as Obj, urn: r.urn })));
        for (const pool of a.pools.filter((p) => p.gpusPerNode > 0)) {
            const sum = (name: string) =>
                cqs.reduce((n, q) => {
                    const r = q.spec.resourceGroups[0].flavors.find((f: Obj) => f.name === pool.name).resources.find((x: Obj) => x.name === name);
                    return n + Number(String(r.nominalQuota).replace(/m$|Mi$/, ""));
                }, 0);
            assert.equal(sum(GPU_RESOURCE), pool.maxSize * pool.gpusPerNode, pool.name);
            assert.equal(sum("cpu"), pool.maxSize * pool.allocatable.cpuMillis, pool.name);
            // Memory renders in whole MiB, each queue rounded down.
            assert.ok(Math.abs(sum("memory") - (pool.maxSize * pool.allocatable.memoryBytes) / 2 ** 20) < cqs.length, pool.name);
        }
        const bert = result.manifests.find((m) => m.object.kind === "Job" && m.object.metadata.name === "bert-finetune")!.object as Obj;
        assert.equal(bert.spec.suspend, true);
        assert.equal(result.summary.workloads.every((w) => w.schedulable), true);
    });
});
