/**
 * Pipeline steps queued through Kueue (issue 17): the plain-Pod integration scoped to the queued
 * namespaces, the pipelines namespace's LocalQueue, every step's pod labelled by the training helper,
 * the planner's admission of steps after their dependencies, the policy rules over step templates, and
 * the conformance run's stand-in for Kueue's pod webhook.
 */
import { strict as assert } from "node:assert";
import { load } from "js-yaml";
import { admissionVerdicts, KueueView, kueueViewOf, QueuedJob, simulateAdmission } from "../capacity/admission";
import { analyzeCapacity } from "../capacity/analysis";
import { pipelineStepJobs, stepJobName } from "../capacity/pipelineQueueing";
import { poolNodeSelector } from "../capacity/pools";
import { clusterQueueNamespaces, clusterQueues, localQueues, pipelineCpuPools, poolQuota, quotaResources } from "../capacity/queues";
import { kueueManagerConfig, kueueObjects } from "../components/kueue";
import { kueueLabels } from "../components/training";
import { gateForKueue, isGatedByKueue, kueuePodNamespaces, standInAdmission, ungatePatch } from "../conformance/kueue";
import { workflowRunPods } from "../conformance/argoStandIn";
import type { KubeObject } from "../conformance/kube";
import { KUEUE_ADMISSION_GATE, KUEUE_MANAGED_LABEL, KUEUE_POD_FRAMEWORK, KUEUE_QUEUE_LABEL, PLATFORM_QUEUE } from "../facts/kueue";
import { ARGO_EXECUTOR_SECURITY_CONTEXT, PIPELINE_LABEL, PIPELINES_NAMESPACE } from "../facts/pipelines";
import { PolicyPackConfig, PolicyViolation, policyConfigFile, readPolicyConfig, runPolicies } from "../plan/policy";
import { queueingSection } from "../plan/capacityReport";
import { RecordedResource } from "../plan/recorder";
import { CONTRACT_VERSION } from "../stacks/contract";
import { ProgramRun } from "../plan/run";
import { allPolicies } from "../policy/rules";
import { trainingFitsQueue, trainingQueued } from "../policy/rules/queues";
import { A100_POOL, A10G_POOL, GPU_TAINT, Obj, dependsOnResource, poolSpec } from "./component-mocks";
import { planOf, platformRun } from "./fixtures";
import { onResource, onStack } from "./policy-rules-helpers";

const SYSTEM = poolSpec("system", "m6i.xlarge", 2, 3);
const POOLS = [SYSTEM, A10G_POOL, A100_POOL];
const KUEUE = "kubernetes:kueue.x-k8s.io/v1beta2";

/** A LabelSelector's matchLabels and matchExpressions (In, NotIn) against a namespace's labels. */
function selects(selector: Obj, labels: Record<string, string>): boolean {
    const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
    const byExpressions = (selector.matchExpressions ?? []).every((e: Obj) => (e.operator === "In" ? e.values.includes(labels[e.key]) : e.operator === "NotIn" ? !e.values.includes(labels[e.key]) : false));
    return byLabels && byExpressions;
}
const ns = (name: string) => ({ "kubernetes.io/metadata.name": name });

describe("pipeline queueing: Kueue's plain-Pod integration, scoped", () => {
    it("without pipelines the config is as before: no pod integration, no namespace selector", () => {
        const c = kueueManagerConfig() as Obj;
        assert.ok(!c.integrations.frameworks.includes(KUEUE_POD_FRAMEWORK));
        assert.equal(c.managedJobsNamespaceSelector, undefined);
    });

    it("with pipelines it enables pods, managed only in the training and pipelines namespaces", () => {
        const c = kueueManagerConfig({ trainingNamespace: "ml-training", pipelinesNamespace: PIPELINES_NAMESPACE }) as Obj;
        assert.deepEqual(c.integrations.frameworks, ["batch/job", "kubeflow.org/pytorchjob", KUEUE_POD_FRAMEWORK]);
        const selector = c.managedJobsNamespaceSelector;
        assert.ok(selects(selector, ns(PIPELINES_NAMESPACE)));
        // The Job and PyTorchJob webhooks share this selector in the chart: training must stay in it.
        assert.ok(selects(selector, ns("ml-training")));
        for (const other of ["kube-system", "kueue-system", "default", "ml-serving", "argo", "kubeflow"]) {
            assert.ok(!selects(selector, ns(other)), other);
        }
    });
});

describe("pipeline queueing: the pipelines namespace's LocalQueue and the CPU flavor", () => {
    const args = { pools: POOLS, gpuTaint: GPU_TAINT, shares: { llm: { a100: 0.5 } }, trainingNamespace: "ml-training" };

    it("the pipelines namespace gets the platform's LocalQueue, named so kueueLabels() names it", () => {
        const { localQueues: lqs } = kueueObjects({ ...args, pipelines: { namespace: PIPELINES_NAMESPACE, cpuPools: [] } });
        const inPipelines = lqs.filter((l) => l.metadata.namespace === PIPELINES_NAMESPACE);
        assert.deepEqual(inPipelines.map((l) => [l.metadata.name, l.spec.clusterQueue]), [[kueueLabels()[KUEUE_QUEUE_LABEL], PLATFORM_QUEUE]]);
        assert.deepEqual(
            kueueObjects(args).localQueues.map((l) => l.metadata.namespace),
            ["ml-training", "ml-training"],
        );
    });

    it("every ClusterQueue admits exactly the namespaces of its LocalQueues", () => {
        const { queues, localQueues: lqs } = kueueObjects({ ...args, pipelines: { namespace: PIPELINES_NAMESPACE, cpuPools: ["system"] } });
        for (const l of lqs) {
            const cq = queues.find((q) => q.metadata.name === l.spec.clusterQueue)!;
            assert.ok(selects(cq.spec.namespaceSelector, ns(l.metadata.namespace)), `${l.metadata.namespace}/${l.metadata.name} -> ${cq.metadata.name}`);
        }
        const llm = queues.find((q) => q.metadata.name === "llm")!;
        assert.ok(!selects(llm.spec.namespaceSelector, ns(PIPELINES_NAMESPACE)), "a team's queue is not open to the pipelines namespace");
        assert.deepEqual(clusterQueueNamespaces(PLATFORM_QUEUE, localQueues(clusterQueues(POOLS, GPU_TAINT, {}), "ml-training", PIPELINES_NAMESPACE)), [PIPELINES_NAMESPACE, "ml-training"]);
    });

    it("a CPU pool pipeline steps use becomes a flavor of the platform's queue only, at its capacity at maxSize", () => {
        const { flavors, queues } = kueueObjects({ ...args, pipelines: { namespace: PIPELINES_NAMESPACE, cpuPools: ["system"] } });
        const system = flavors.find((f) => f.metadata.name === "system")!;
        assert.deepEqual(system.spec.nodeLabels, poolNodeSelector(SYSTEM));
        const platform = queues.find((q) => q.metadata.name === PLATFORM_QUEUE)!;
        const quota = platform.spec.resourceGroups[0].flavors.find((f: Obj) => f.name === "system")!;
        assert.deepEqual(quota.resources, quotaResources(poolQuota(SYSTEM, GPU_TAINT, [A10G_POOL, A100_POOL])));
        assert.equal(quota.resources.find((r: Obj) => r.name === "nvidia.com/gpu")!.nominalQuota, "0");
        const llm = queues.find((q) => q.metadata.name === "llm")!;
        assert.ok(!llm.spec.resourceGroups[0].flavors.some((f: Obj) => f.name === "system"));
        assert.deepEqual(
            pipelineCpuPools(POOLS, [{ steps: [{ pool: "system" }, { pool: "a100" }] }]),
            ["system"],
        );
        assert.deepEqual(pipelineCpuPools(POOLS, [{ steps: [{ pool: "a10g" }] }]), []);
    });
});

for (const stack of ["dev", "prod"] as const) {
    describe(`pipeline queueing: what the ${stack} platform renders`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await platformRun(stack);
        });
        const kueueObjectsOf = (kind: string) => run.resources.filter((r) => r.type === `${KUEUE}:${kind}`).map((r) => r.inputs as Obj);

        it("Kueue's release enables the pod integration for the training and pipelines namespaces only", () => {
            const release = run.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && String((r.inputs as Obj).chart).endsWith("/kueue"))!;
            const config = load((release.inputs as Obj).values.managerConfig.controllerManagerConfigYaml) as Obj;
            assert.ok(config.integrations.frameworks.includes(KUEUE_POD_FRAMEWORK));
            assert.ok(selects(config.managedJobsNamespaceSelector, ns(PIPELINES_NAMESPACE)));
            assert.ok(selects(config.managedJobsNamespaceSelector, ns(run.spec.namespaces.training)));
            assert.ok(!selects(config.managedJobsNamespaceSelector, ns("kube-system")));
            assert.ok(!selects(config.managedJobsNamespaceSelector, ns(run.spec.namespaces.serving)));
        });

        it("every step's pod template, CPU and GPU, carries the training labels naming a LocalQueue of its namespace", () => {
            const lqs = kueueObjectsOf("LocalQueue");
            const cqs = kueueObjectsOf("ClusterQueue");
            const templates = run.resources.filter((r) => r.type.endsWith(":WorkflowTemplate"));
            assert.ok(templates.length > 0);
            for (const r of templates) {
                const wt = r.inputs as Obj;
                const steps = wt.spec.templates.filter((t: Obj) => t.name !== wt.spec.entrypoint);
                assert.ok(steps.some((t: Obj) => t.container.resources.requests["nvidia.com/gpu"] === undefined), "the stack has a CPU step");
                for (const t of steps) {
                    for (const [k, v] of Object.entries(kueueLabels())) {
                        assert.equal(t.metadata.labels[k], v, `${wt.metadata.name}/${t.name} ${k}`);
                    }
                    const lq = lqs.find((l) => l.metadata.namespace === wt.metadata.namespace && l.metadata.name === t.metadata.labels[KUEUE_QUEUE_LABEL]);
                    assert.ok(lq, `${wt.metadata.name}/${t.name} names a LocalQueue in ${wt.metadata.namespace}`);
                    const cq = cqs.find((q) => q.metadata.name === lq.spec.clusterQueue)!;
                    assert.ok(selects(cq.spec.namespaceSelector, ns(wt.metadata.namespace)));
                }
            }
        });

        it("Kueue could admit every step: a flavor of the queue matches its pool, and its pod fits", () => {
            const resources = run.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as Obj, urn: r.urn }));
            const view = kueueViewOf(resources)!;
            const steps = pipelineStepJobs(resources);
            assert.equal(steps.length, run.spec.pipelines!.reduce((n, p) => n + p.steps.length, 0));
            for (const v of admissionVerdicts(view, steps)) {
                assert.equal(v.never, undefined, `${v.job.name}: ${v.never}`);
                const pool = run.spec.pipelines!.flatMap((p) => p.steps.map((s) => [stepJobName(p.name, s.name), s.pool])).find(([n]) => n === v.job.name)![1];
                assert.deepEqual(v.flavors, [pool], v.job.name);
            }
        });

        it("contract 1.9: pipelines.localQueue names the LocalQueue the step pods are submitted to", () => {
            assert.equal(CONTRACT_VERSION, "1.9.0");
            const c = run.outputs.pipelines.value as Obj;
            const lq = kueueObjectsOf("LocalQueue").find((l) => l.metadata.namespace === c.namespace)!;
            assert.equal(c.localQueue, lq.metadata.name);
            const wt = run.resources.find((r) => r.type.endsWith(":WorkflowTemplate"))!.inputs as Obj;
            assert.ok(wt.spec.templates.filter((t: Obj) => t.name !== wt.spec.entrypoint).every((t: Obj) => t.metadata.labels[KUEUE_QUEUE_LABEL] === c.localQueue));
        });

        it("the pipelines wait for Kueue: its release (the pod webhook) and the pipelines LocalQueue come first", () => {
            const pipelines = run.resources.find((r) => r.type === "ml-platform:pipelines:Pipelines")!;
            const release = run.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && String((r.inputs as Obj).chart).endsWith("/kueue"))!;
            const lq = run.resources.find((r) => r.type === `${KUEUE}:LocalQueue` && (r.inputs as Obj).metadata.namespace === PIPELINES_NAMESPACE)!;
            assert.ok(dependsOnResource(pipelines, release));
            assert.ok(dependsOnResource(pipelines, lq));
        });
    });
}

// Admission with DAG order, over a hand-built view: one queue, 8 GPUs of a100 and a CPU flavor.
const dagView: KueueView = {
    flavors: [
        { name: "a100", nodeLabels: { "node-pool": "a100" } },
        { name: "system", nodeLabels: { "node-pool": "system" } },
    ],
    queues: [
        {
            name: PLATFORM_QUEUE,
            quotas: [
                { flavor: "a100", cpuMillis: 1e6, memoryBytes: 1e13, gpus: 8 },
                { flavor: "system", cpuMillis: 4000, memoryBytes: 1e11, gpus: 0 },
            ],
            covered: ["cpu", "memory", "nvidia.com/gpu"],
        },
    ],
    localQueues: new Map([
        [`ml-training/${PLATFORM_QUEUE}`, PLATFORM_QUEUE],
        [`${PIPELINES_NAMESPACE}/${PLATFORM_QUEUE}`, PLATFORM_QUEUE],
    ]),
    priorities: new Map(),
    excludedPrefixes: [],
};
const job = (name: string, pool: string, gpus: number, cpuMillis: number, runHours: number, after?: string[], namespace = PIPELINES_NAMESPACE): QueuedJob => ({
    name,
    kind: "pipeline step",
    namespace,
    localQueue: PLATFORM_QUEUE,
    demand: { cpuMillis, memoryBytes: 1e9, gpus },
    nodeSelector: { "node-pool": pool },
    resources: gpus > 0 ? ["cpu", "memory", "nvidia.com/gpu"] : ["cpu", "memory"],
    runHours,
    ...(after ? { after } : {}),
});
const simulate = (jobs: QueuedJob[]) => simulateAdmission(dagView, admissionVerdicts(dagView, jobs));

describe("pipeline queueing: admission after dependencies", () => {
    it("a step is submitted when its dependencies end, and waits from then", () => {
        const steps = simulate([job("p/prep", "system", 0, 2000, 0.5), job("p/train", "a100", 1, 4000, 2, ["p/prep"]), job("p/eval", "system", 0, 2000, 0.25, ["p/train"])]);
        assert.deepEqual(
            steps.map((s) => [s.job, s.flavor, s.submittedHours ?? 0, s.waitHours]),
            [
                ["p/prep", "system", 0, 0],
                ["p/train", "a100", 0.5, 0],
                ["p/eval", "system", 2.5, 0],
            ],
        );
    });

    it("a GPU step waits for training holding its queue's GPUs: pipeline demand counts against the same queue", () => {
        const steps = simulate([job("big", "a100", 8, 1000, 10, undefined, "ml-training"), job("p/prep", "system", 0, 1000, 1), job("p/train", "a100", 1, 1000, 2, ["p/prep"])]);
        assert.deepEqual(
            steps.map((s) => [s.job, s.submittedHours ?? 0, s.waitHours]),
            [
                ["big", 0, 0],
                ["p/prep", 0, 0],
                ["p/train", 1, 9],
            ],
        );
        const section = queueingSection({ queueing: { steps, never: [] } } as never)!.body;
        assert.match(section, /\| 3 \| p\/train \(submitted at hour 1\) \| training \| a100 \| 9 \| 2 \| no \|/);
        assert.match(section, /admitted alone, not as a gang/);
    });

    it("CPU steps queue on the CPU flavor: two that together exceed its quota run one after the other", () => {
        const steps = simulate([job("p/a", "system", 0, 3000, 1), job("q/a", "system", 0, 3000, 1)]);
        assert.deepEqual(steps.map((s) => [s.job, s.waitHours]), [
            ["p/a", 0],
            ["q/a", 1],
        ]);
    });

    it("a step after one that is never admitted is never submitted", () => {
        const verdicts = admissionVerdicts(dagView, [job("p/huge", "a100", 9, 1000, 1), job("p/next", "system", 0, 1000, 1, ["p/huge"])]);
        assert.match(verdicts[0].never!, /needs 9 GPU/);
        assert.equal(verdicts[1].never, undefined);
        assert.deepEqual(simulateAdmission(dagView, verdicts), []);
    });

    it("prod's nightly pipeline: each step submitted after the longest of its dependencies", async () => {
        const run = await platformRun("prod");
        const a = analyzeCapacity(run.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as Obj, urn: r.urn })));
        const at = (step: string) => a.queueing!.steps.find((s) => s.job === stepJobName("recsys-nightly", step))!;
        // preprocess 30 min, then train 120 and data-quality 10; evaluate after both; register after evaluate (15).
        assert.deepEqual(
            ["preprocess", "data-quality", "train", "evaluate", "register"].map((s) => at(s).submittedHours ?? 0),
            [0, 0.5, 0.5, 2.5, 2.75],
        );
        assert.equal(at("train").flavor, run.spec.pipelines![0].steps.find((s) => s.name === "train")!.pool);
        assert.equal(at("evaluate").flavor, "system");
    });
});

describe("pipeline queueing: policy over step templates", () => {
    const wtOf = (rs: RecordedResource[]) => rs.find((r) => r.type.endsWith(":WorkflowTemplate"))!;
    const stepOf = (rs: RecordedResource[], name: string) => (wtOf(rs).inputs as Obj).spec.templates.find((t: Obj) => t.name === `step-${name}`);
    const like = (r: RecordedResource) => ({ type: r.type, name: r.name, inputs: r.inputs as Obj, urn: r.urn });
    let clean: RecordedResource[];
    before(async () => {
        clean = (await platformRun("prod")).resources as RecordedResource[];
    });

    it("training-queued passes labelled steps and fails a GPU step without the label", () => {
        assert.deepEqual(onResource(trainingQueued, like(wtOf(clean))), []);
        const rs = structuredClone(clean) as RecordedResource[];
        delete stepOf(rs, "train").metadata.labels[KUEUE_QUEUE_LABEL];
        const reports = onResource(trainingQueued, like(wtOf(rs)));
        assert.equal(reports.length, 1);
        assert.match(reports[0], /^pipeline step ml-pipelines\/recsys-nightly\/train requests 1 GPUs but its pod template has no kueue\.x-k8s\.io\/queue-name label/);
    });

    it("training-fits-queue passes prod, and fails an unlabelled CPU step and a step whose queue does not exist", () => {
        assert.deepEqual(onStack(trainingFitsQueue, clean.map(like)), []);
        const rs = structuredClone(clean) as RecordedResource[];
        delete stepOf(rs, "register").metadata.labels[KUEUE_QUEUE_LABEL];
        stepOf(rs, "evaluate").metadata.labels[KUEUE_QUEUE_LABEL] = "nowhere";
        const reports = onStack(trainingFitsQueue, rs.map(like));
        assert.equal(reports.length, 2, reports.join("\n"));
        assert.match(reports[0], /recsys-nightly\/register has no kueue\.x-k8s\.io\/queue-name label in a stack that queues through Kueue/);
        assert.match(reports[1], /recsys-nightly\/evaluate can never be admitted: it names LocalQueue ml-pipelines\/nowhere/);
        // The GPU step without its label is training-queued's, not reported twice.
        const gpu = structuredClone(clean) as RecordedResource[];
        delete stepOf(gpu, "train").metadata.labels[KUEUE_QUEUE_LABEL];
        assert.deepEqual(onStack(trainingFitsQueue, gpu.map(like)), []);
    });
});

describe("pipeline queueing: the policy pack catches unqueued steps (mutation per rule)", () => {
    let clean: RecordedResource[];
    let config: PolicyPackConfig;
    let baseline: Set<string>;
    const key = (v: PolicyViolation) => `${v.policy}|${v.resource.type}|${v.resource.name}|${v.message}`;
    const stepOf = (rs: RecordedResource[], name: string) => (rs.find((r) => r.type.endsWith(":WorkflowTemplate"))!.inputs as Obj).spec.templates.find((t: Obj) => t.name === `step-${name}`);

    before(async () => {
        clean = (await platformRun("prod")).resources as RecordedResource[];
        config = readPolicyConfig(policyConfigFile("prod"));
        baseline = new Set((await runPolicies(clean, config, allPolicies, "prod")).map(key));
    });

    const mutations: { rule: string; change: string; apply: (rs: RecordedResource[]) => void }[] = [
        { rule: "training-queued", change: "the GPU step train loses its queue label", apply: (rs) => delete stepOf(rs, "train").metadata.labels[KUEUE_QUEUE_LABEL] },
        { rule: "training-fits-queue", change: "the CPU step preprocess loses its queue label", apply: (rs) => delete stepOf(rs, "preprocess").metadata.labels[KUEUE_QUEUE_LABEL] },
        { rule: "training-fits-queue", change: "the step train names a LocalQueue the pipelines namespace lacks", apply: (rs) => (stepOf(rs, "train").metadata.labels[KUEUE_QUEUE_LABEL] = "llm") },
        {
            rule: "training-fits-queue",
            change: "the platform's queue loses the system flavor, so CPU steps match no flavor",
            apply: (rs) => {
                const cq = rs.find((r) => r.type === `${KUEUE}:ClusterQueue` && (r.inputs as Obj).metadata.name === PLATFORM_QUEUE)!.inputs as Obj;
                cq.spec.resourceGroups[0].flavors = cq.spec.resourceGroups[0].flavors.filter((f: Obj) => f.name !== "system");
            },
        },
    ];

    for (const m of mutations) {
        it(`${m.rule} catches: ${m.change}`, async () => {
            const mutated = structuredClone(clean) as RecordedResource[];
            m.apply(mutated);
            const fresh = (await runPolicies(mutated, config, allPolicies, "prod")).filter((v) => !baseline.has(key(v)));
            assert.deepEqual([...new Set(fresh.map((v) => v.policy))], [m.rule], fresh.map((v) => `${v.policy}: ${v.message}`).join("\n"));
            assert.ok(fresh.every((v) => /pipeline step ml-pipelines\/recsys-nightly\//.test(v.message)), fresh.map((v) => v.message).join("\n"));
        });
    }
});

describe("pipeline queueing: the conformance run's stand-in for Kueue's pod webhook", () => {
    let objects: KubeObject[];
    let resources: { type: string; name: string; inputs: Record<string, unknown> }[];
    before(async () => {
        const { run, result } = await planOf("prod");
        objects = result.manifests.map((m) => structuredClone(m.object) as unknown as KubeObject);
        resources = run.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs as Record<string, unknown> }));
    });

    it("reads the pod namespaces from the plan's Kueue release", () => {
        assert.deepEqual(kueuePodNamespaces(resources), [PIPELINES_NAMESPACE, "ml-training"]);
        const noPods = resources.map((r) => (r.type === "kubernetes:helm.sh/v3:Release" && String(r.inputs.chart).endsWith("/kueue") ? structuredClone(r) : r));
        const release = noPods.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && String(r.inputs.chart).endsWith("/kueue"))!;
        const values = release.inputs.values as Obj;
        values.managerConfig.controllerManagerConfigYaml = JSON.stringify(kueueManagerConfig());
        assert.equal(kueuePodNamespaces(noPods), undefined);
    });

    it("gates the step pods as the webhook would, leaves other pods alone, and ungates only its own gate", () => {
        const wt = objects.find((o) => o.kind === "WorkflowTemplate")!;
        const pods = workflowRunPods(wt, { image: "quay.io/argoproj/argoexec:v4.0.5", securityContext: { ...ARGO_EXECUTOR_SECURITY_CONTEXT } });
        const namespaces = kueuePodNamespaces(resources)!;
        for (const pod of pods) {
            const gated = gateForKueue(pod, namespaces);
            assert.ok(isGatedByKueue(gated), pod.metadata.name);
            assert.equal(gated.metadata.labels[KUEUE_MANAGED_LABEL], "true");
            assert.equal(gated.metadata.labels[PIPELINE_LABEL], wt.metadata.name);
        }
        const elsewhere = { ...pods[0], metadata: { ...pods[0].metadata, namespace: "kube-system" } };
        assert.equal(gateForKueue(elsewhere, namespaces), elsewhere);
        const unlabelled = structuredClone(pods[0]);
        delete unlabelled.metadata.labels[KUEUE_QUEUE_LABEL];
        assert.ok(!isGatedByKueue(gateForKueue(unlabelled, namespaces)));
        const twoGates = gateForKueue({ ...pods[0], spec: { ...pods[0].spec, schedulingGates: [{ name: "other" }] } }, namespaces);
        assert.deepEqual(twoGates.spec.schedulingGates, [{ name: "other" }, { name: KUEUE_ADMISSION_GATE }]);
        assert.deepEqual(ungatePatch(twoGates), { spec: { schedulingGates: [{ name: "other" }] } });
    });

    it("admits every prod step, each on submission", () => {
        const admission = standInAdmission(objects, resources)!;
        const steps = [...admission.admitNow, ...admission.waiting].filter((s) => s.job.includes("/")).map((s) => s.job);
        assert.deepEqual(steps.sort(), ["data-quality", "evaluate", "preprocess", "register", "train"].map((s) => stepJobName("recsys-nightly", s)).sort());
        assert.deepEqual(admission.never, []);
    });
});
