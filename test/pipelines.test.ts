/**
 * ML pipelines (issue 15): the DAG rules and their config errors, the rendered Argo objects and their
 * cross-resource invariants, the policy pack on step templates (a mutation per rule), the planner's
 * view of one run, the report's flowchart, the contract, and the conformance stand-in's pods.
 */
import { strict as assert } from "node:assert";
import { analyzeCapacity } from "../capacity/analysis";
import { ancestorsOf, criticalPathMinutes, findCycle, maximalAntichains, peakGpus, unknownDependencies } from "../capacity/pipelines";
import { podTemplates } from "../capacity/podTemplates";
import { poolLabels, poolTaints } from "../capacity/pools";
import { nodeAffinity, taintToleration } from "../capacity/predicates";
import { EXECUTOR_RULES, gateCondition } from "../components/pipelines";
import { PRIORITY_CLASSES } from "../components/priority";
import { argoModuleOf, dagTasks, workflowRunPods } from "../conformance/argoStandIn";
import { ARGO_EXECUTOR_SECURITY_CONTEXT, metricPath, PIPELINE_SERVICE_ACCOUNT, PIPELINES_NAMESPACE } from "../facts/pipelines";
import { policyConfigFile, PolicyPackConfig, PolicyViolation, readPolicyConfig, runPolicies, sharedStackArgs } from "../plan/policy";
import { parseGate, pipelineFlowchart } from "../plan/pipelinesReport";
import { RecordedResource } from "../plan/recorder";
import { ProgramRun } from "../plan/run";
import { allPolicies } from "../policy/rules";
import { cronProblem } from "../stacks/cron";
import { buildStackSpec } from "../stacks/validate";
import { platformRun } from "./fixtures";
import { problemsOf, rawConfigOf, withKey } from "./helpers";

type Obj = Record<string, any>;

const steps = (...s: [string, string[]][]) => s.map(([name, dependencies]) => ({ name, dependencies }));

describe("pipelines: the DAG", () => {
    it("finds unknown dependencies and where they are", () => {
        assert.deepEqual(unknownDependencies(steps(["a", []], ["b", ["a", "x"]])), [{ step: 1, at: 1, name: "x" }]);
    });

    it("finds a cycle in run order, and none in a DAG", () => {
        assert.deepEqual(findCycle(steps(["a", []], ["b", ["a", "c"]], ["c", ["b"]])), ["b", "c", "b"]);
        assert.deepEqual(findCycle(steps(["a", ["a"]])), ["a", "a"]);
        assert.equal(findCycle(steps(["a", []], ["b", ["a"]], ["c", ["a"]], ["d", ["b", "c"]])), undefined);
    });

    it("maximal antichains are the sets of steps that can run at once", () => {
        const diamond = steps(["a", []], ["b", ["a"]], ["c", ["a"]], ["d", ["b", "c"]]);
        assert.deepEqual(maximalAntichains(diamond), [["a"], ["b", "c"], ["d"]]);
        // c waits for nothing, so it may run beside a, b or d.
        assert.deepEqual(maximalAntichains(steps(["a", []], ["b", ["a"]], ["c", []], ["d", ["b"]])), [["a", "c"], ["b", "c"], ["c", "d"]]);
        assert.deepEqual([...ancestorsOf(diamond, "d")].sort(), ["a", "b", "c"]);
    });

    it("peak GPUs take the heaviest concurrent set, the critical path the longest chain", () => {
        const s = [
            { name: "pre", dependencies: [], gpus: 0, expectedMinutes: 10 },
            { name: "t1", dependencies: ["pre"], gpus: 2, expectedMinutes: 60 },
            { name: "t2", dependencies: ["pre"], gpus: 4, expectedMinutes: 30 },
            { name: "eval", dependencies: ["t1", "t2"], gpus: 1, expectedMinutes: 5 },
        ];
        assert.equal(peakGpus(s), 6);
        assert.equal(criticalPathMinutes(s), 75);
    });

    it("reads cron as Argo's controller does", () => {
        for (const ok of ["0 2 * * *", "*/15 * * * MON-FRI", "0 0 1 JAN,JUL *", "@daily", "@every 1h30m"]) assert.equal(cronProblem(ok), undefined, ok);
        assert.match(cronProblem("0 2 * *")!, /4 field/);
        assert.match(cronProblem("61 2 * * *")!, /minute field "61"/);
        assert.match(cronProblem("0 2 * * 8")!, /day of week/);
        assert.match(cronProblem("@sometimes")!, /descriptor/);
    });
});


const dev = rawConfigOf("dev");
const step = (name: string, edit: (s: Obj) => void) => (list: Obj[]) => {
    edit(list[0].steps.find((s: Obj) => s.name === name));
    return list;
};

describe("pipelines: config validation (exit 2 with key, value and what is allowed)", () => {
    const cases: { wrong: string; edit: (list: Obj[]) => Obj[]; expect: (string | RegExp)[] }[] = [
        {
            wrong: "a cycle",
            edit: step("preprocess", (s) => (s.dependencies = ["validate"])),
            expect: ["ml-platform:pipelines[0].steps[", "].dependencies makes the pipeline a cycle", "allowed: dependencies that form a DAG"],
        },
        {
            wrong: "a dependency on an unknown step",
            edit: step("train", (s) => (s.dependencies = ["preprocess", "prepocess"])),
            expect: ['ml-platform:pipelines[0].steps[1].dependencies[1] names no step of this pipeline, got "prepocess"; allowed: preprocess, validate, register'],
        },
        {
            wrong: "duplicate step names",
            edit: step("register", (s) => (s.name = "validate")),
            expect: ['ml-platform:pipelines[0].steps[3].name must be unique within the pipeline (also at steps[2]), got "validate"'],
        },
        {
            wrong: "a gate on a step that publishes nothing",
            edit: step("register", (s) => (s.gate = { step: "train", metric: "accuracy", min: 0.8 })),
            expect: ['ml-platform:pipelines[0].steps[3].gate.metric gates on step "train", which publishes nothing, got "accuracy"; allowed: a metric an earlier step lists under publishes: validate (accuracy)'],
        },
        {
            wrong: "an accuracy threshold above 1",
            edit: step("register", (s) => (s.gate.min = 80)),
            expect: ["ml-platform:pipelines[0].steps[3].gate.min is a threshold for accuracy, a fraction, got 80; allowed: a number from 0 to 1"],
        },
        {
            wrong: "a gate on a step that runs later",
            edit: step("train", (s) => (s.gate = { step: "validate", metric: "accuracy", min: 0.5 })),
            expect: ['ml-platform:pipelines[0].steps[1].gate.step must be a step this one waits for', 'got "validate"; allowed: preprocess'],
        },
        {
            wrong: "a bad cron schedule",
            edit: (list) => ((list[0].schedule = "0 25 * * *"), list),
            expect: ['ml-platform:pipelines[0].schedule is not a cron schedule: it the hour field "25" is outside 0-23, got "0 25 * * *"; allowed: five fields'],
        },
        {
            wrong: "a GPU step on a CPU pool",
            edit: step("train", (s) => (s.pool = "system")),
            expect: ['ml-platform:pipelines[0].steps[1].pool cannot take the step: pool "system" is a CPU pool (m6i.xlarge) and the step asks for 1 GPU(s), got "system"; allowed: a100, or "auto"'],
        },
        {
            wrong: "32Gi on dev's a10g (a g5.xlarge node offers about 13.8Gi)",
            edit: step("train", (s) => (s.pool = "a10g")),
            expect: ['ml-platform:pipelines[0].steps[1].pool cannot take the step: pool "a10g" g5.xlarge nodes offer 3770m CPU and 14162Mi memory to pods', "allowed: a100"],
        },
        {
            wrong: "a step no pool can hold",
            edit: step("train", (s) => (s.memory = "4000Gi")),
            expect: ['ml-platform:pipelines[0].steps[1].pool is "auto" but no pool\'s nodes hold the step, got "auto"'],
        },
        {
            wrong: "a step without command",
            edit: step("validate", (s) => (s.command = [])),
            expect: ["ml-platform:pipelines[0].steps[2].command must name the entrypoint"],
        },
        {
            wrong: "an image on :latest",
            edit: step("validate", (s) => (s.image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/recsys-pipeline:latest")),
            expect: ["ml-platform:pipelines[0].steps[2].image must not use the mutable tag :latest"],
        },
        {
            wrong: "two pipelines with one name",
            edit: (list) => [...list, structuredClone(list[0])],
            expect: ['ml-platform:pipelines[1].name must be unique (also at [0]), got "recsys-retrain"'],
        },
    ];
    for (const c of cases) {
        it(`rejects ${c.wrong}`, () => {
            const problems = problemsOf(withKey(dev, "pipelines", c.edit));
            assert.ok(
                problems.some((p) => c.expect.every((e) => (typeof e === "string" ? p.includes(e) : e.test(p)))),
                `no problem matches ${c.expect.join(" ... ")}:\n${problems.join("\n")}`,
            );
        });
    }

    it("accepts dev's lesson pipeline and places train on the only pool that holds 32Gi", () => {
        const spec = buildStackSpec(dev);
        const [p] = spec.pipelines!;
        assert.deepEqual(
            p.steps.map((s) => [s.name, s.pool]),
            [
                ["preprocess", "system"],
                ["train", "a100"],
                ["validate", "system"],
                ["register", "system"],
            ],
        );
        assert.match(p.steps[1].placedBy!, /not a10g: g5\.xlarge nodes offer 3770m CPU and 14162Mi/);
        assert.deepEqual(p.steps[3].gate, { step: "validate", metric: "accuracy", min: 0.8 });
    });
});

const k8s = (rs: readonly RecordedResource[], kind: string, ns?: string) =>
    rs.filter((r) => r.type.startsWith("kubernetes:") && r.type.endsWith(`:${kind}`) && (ns === undefined || (r.inputs.metadata as Obj | undefined)?.namespace === ns)).map((r) => r.inputs as Obj);
const one = (rs: readonly RecordedResource[], kind: string, name: string) => {
    const found = k8s(rs, kind).filter((o) => o.metadata?.name === name);
    assert.equal(found.length, 1, `${kind} ${name}`);
    return found[0];
};

for (const stack of ["dev", "prod"] as const) {
    describe(`pipelines: what the ${stack} platform renders`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await platformRun(stack);
        });

        it("a WorkflowTemplate per pipeline whose DAG and gates come from config", () => {
            for (const p of run.spec.pipelines!) {
                const wt = one(run.resources, "WorkflowTemplate", p.name);
                assert.equal(wt.metadata.namespace, PIPELINES_NAMESPACE);
                const tasks = wt.spec.templates.find((t: Obj) => t.name === wt.spec.entrypoint).dag.tasks;
                assert.deepEqual(
                    tasks.map((t: Obj) => [t.name, t.dependencies ?? [], t.when]),
                    p.steps.map((s) => [s.name, s.dependencies, s.gate ? gateCondition(s.gate) : undefined]),
                );
                for (const s of p.steps.filter((x) => x.gate)) {
                    // The gate reads an output parameter that the gated-on step really declares, from the file it writes.
                    const when = tasks.find((t: Obj) => t.name === s.name).when;
                    assert.equal(when, `{{tasks.${s.gate!.step}.outputs.parameters.${s.gate!.metric}}} >= ${s.gate!.min}`);
                    const source = wt.spec.templates.find((t: Obj) => t.name === tasks.find((x: Obj) => x.name === s.gate!.step).template);
                    assert.deepEqual(source.outputs.parameters.find((o: Obj) => o.name === s.gate!.metric), { name: s.gate!.metric, valueFrom: { path: metricPath(s.gate!.metric) } });
                    // The file is on a writable mount: the root filesystem is read-only.
                    assert.ok(source.container.volumeMounts.some((m: Obj) => metricPath(s.gate!.metric).startsWith(`${m.mountPath}/`) && !m.readOnly));
                }
            }
        });

        it("step pods select their pool and tolerate its taints; GPU requests equal limits; priority and no-evict as training", () => {
            const pools = new Map(run.spec.nodePools.map((p) => [p.name, p]));
            for (const r of run.resources.filter((x) => x.type.endsWith(":WorkflowTemplate"))) {
                const templates = podTemplates(r.type, r.inputs as Obj, r.name);
                assert.equal(templates.length, (r.inputs as Obj).spec.templates.length - 1, "every step template is seen as a pod template");
                for (const t of templates) {
                    const step = run.spec.pipelines!.flatMap((p) => p.steps).find((s) => `step-${s.name}` === t.role)!;
                    const pool = pools.get(step.pool)!;
                    assert.ok(nodeAffinity({ nodeSelector: t.spec.nodeSelector }, { labels: poolLabels(pool) }).fits, `${t.role} selects ${pool.name}`);
                    assert.ok(taintToleration(t.spec.tolerations ?? [], poolTaints(pool, run.spec.gpuTaint)).fits, `${t.role} tolerates ${pool.name}`);
                    for (const other of run.spec.nodePools.filter((p) => p.name !== pool.name)) {
                        assert.ok(!nodeAffinity({ nodeSelector: t.spec.nodeSelector }, { labels: poolLabels(other) }).fits, `${t.role} does not select ${other.name}`);
                    }
                    const res = t.spec.containers![0].resources!;
                    assert.equal(res.requests?.["nvidia.com/gpu"], step.gpus > 0 ? String(step.gpus) : undefined);
                    assert.equal(res.limits?.["nvidia.com/gpu"], res.requests?.["nvidia.com/gpu"]);
                    assert.ok((t.spec as Obj).priorityClassName in PRIORITY_CLASSES);
                    assert.equal(t.metadata.annotations?.["cluster-autoscaler.kubernetes.io/safe-to-evict"], "false");
                    assert.equal(t.spec.automountServiceAccountToken, false);
                }
            }
        });

        it("the run service account has only the executor's Role, bound in the pipelines namespace, and its token Secret", () => {
            const wt = one(run.resources, "WorkflowTemplate", run.spec.pipelines![0].name);
            assert.equal(wt.spec.serviceAccountName, PIPELINE_SERVICE_ACCOUNT);
            assert.equal(wt.spec.executor.serviceAccountName, PIPELINE_SERVICE_ACCOUNT);
            one(run.resources, "ServiceAccount", PIPELINE_SERVICE_ACCOUNT);
            const bindings = k8s(run.resources, "RoleBinding", PIPELINES_NAMESPACE).filter((b) => b.subjects.some((s: Obj) => s.kind === "ServiceAccount" && s.name === PIPELINE_SERVICE_ACCOUNT));
            assert.equal(bindings.length, 1);
            const role = k8s(run.resources, "Role", PIPELINES_NAMESPACE).find((r) => r.metadata.name === bindings[0].roleRef.name)!;
            assert.deepEqual(role.rules, [{ apiGroups: ["argoproj.io"], resources: ["workflowtaskresults"], verbs: ["create", "patch"] }]);
            assert.deepEqual(role.rules, EXECUTOR_RULES);
            assert.ok(!k8s(run.resources, "ClusterRoleBinding").some((b) => (b.subjects ?? []).some((s: Obj) => s.name === PIPELINE_SERVICE_ACCOUNT)));
            const token = one(run.resources, "Secret", `${PIPELINE_SERVICE_ACCOUNT}.service-account-token`);
            assert.equal(token.type, "kubernetes.io/service-account-token");
            assert.equal(token.metadata.annotations["kubernetes.io/service-account.name"], PIPELINE_SERVICE_ACCOUNT);
        });

        it("the pipelines namespace gets restricted Pod Security, default-deny, a claim for artifacts and a GPU quota of the peaks", () => {
            const ns = one(run.resources, "Namespace", PIPELINES_NAMESPACE);
            assert.equal(ns.metadata.labels["pod-security.kubernetes.io/enforce"], "restricted");
            assert.ok(k8s(run.resources, "NetworkPolicy", PIPELINES_NAMESPACE).some((p) => p.metadata.name === "default-deny"));
            const claims = k8s(run.resources, "PersistentVolumeClaim", PIPELINES_NAMESPACE).map((c) => c.metadata.name);
            const wt = one(run.resources, "WorkflowTemplate", run.spec.pipelines![0].name);
            for (const v of wt.spec.volumes.filter((x: Obj) => x.persistentVolumeClaim)) assert.ok(claims.includes(v.persistentVolumeClaim.claimName), v.persistentVolumeClaim.claimName);
            const quota = one(run.resources, "ResourceQuota", "pipeline-gpus");
            assert.equal(quota.spec.hard["requests.nvidia.com/gpu"], String(run.spec.pipelines!.reduce((n, p) => n + peakGpus(p.steps), 0)));
        });

        it("Argo's chart: controller on the system pool, no server, restricted executor, Strict template references", () => {
            const release = run.resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "argo-workflows")!;
            const values = release.inputs.values as Obj;
            const system = run.spec.nodePools.find((p) => !p.gpu && p.minSize >= 1)!;
            assert.ok(nodeAffinity({ nodeSelector: values.controller.nodeSelector }, { labels: poolLabels(system) }).fits);
            assert.equal(values.server.enabled, false);
            assert.deepEqual(values.controller.workflowNamespaces, [PIPELINES_NAMESPACE]);
            assert.deepEqual(values.controller.workflowRestrictions, { templateReferencing: "Strict" });
            assert.deepEqual(values.executor.securityContext, ARGO_EXECUTOR_SECURITY_CONTEXT);
            assert.deepEqual(values.workflow, { serviceAccount: { create: false }, rbac: { create: false } });
        });

        it("scheduled pipelines get a CronWorkflow that runs the template, Forbid by default", () => {
            for (const p of run.spec.pipelines!) {
                const crons = k8s(run.resources, "CronWorkflow").filter((c) => c.metadata.name === p.name);
                assert.equal(crons.length, p.schedule ? 1 : 0);
                if (p.schedule) {
                    assert.deepEqual(crons[0].spec.schedules, [p.schedule]);
                    assert.equal(crons[0].spec.concurrencyPolicy, p.concurrencyPolicy);
                    assert.deepEqual(crons[0].spec.workflowSpec, { workflowTemplateRef: { name: p.name } });
                }
            }
            if (stack === "prod") assert.equal(k8s(run.resources, "CronWorkflow")[0].spec.concurrencyPolicy, "Forbid");
        });

        it("app teams may submit Workflows from the templates and nothing more", () => {
            for (const team of run.spec.cluster.appTeams) {
                const role = one(run.resources, "Role", `app-team-${team.name}-workflows`);
                assert.equal(role.metadata.namespace, PIPELINES_NAMESPACE);
                assert.deepEqual(
                    role.rules.flatMap((r: Obj) => r.resources.map((res: string) => `${res}:${r.verbs.join(",")}`)).sort(),
                    ["cronworkflows:get,list,watch", "workflows:get,list,watch,create,delete", "workflowtemplates:get,list,watch"],
                );
            }
        });

        it("the contract lists the templates, the namespace and the service account", () => {
            const c = run.outputs.pipelines.value as Obj;
            assert.equal(c.installed, true);
            assert.equal(c.namespace, PIPELINES_NAMESPACE);
            assert.equal(c.serviceAccountName, PIPELINE_SERVICE_ACCOUNT);
            assert.deepEqual(c.workflow, { apiVersion: "argoproj.io/v1alpha1", kind: "Workflow" });
            assert.deepEqual(
                c.templates.map((t: Obj) => t.name),
                run.spec.pipelines!.map((p) => p.name),
            );
        });

        it("the planner places each step where the config says and costs one run from expectedMinutes", () => {
            const a = analyzeCapacity(sharedStackArgs(run.resources, stack).resources);
            assert.equal(a.pipelines.length, run.spec.pipelines!.length);
            assert.ok(!a.workloads.some((w) => w.kind === "WorkflowTemplate"), "steps are not counted as always-running workloads");
            for (const p of run.spec.pipelines!) {
                const c = a.pipelines.find((x) => x.name === p.name)!;
                assert.equal(c.schedulable, true, c.reason);
                assert.deepEqual(
                    c.steps.map((s) => [s.name, s.pool, s.gpus, s.expectedMinutes]),
                    p.steps.map((s) => [s.name, s.pool, s.gpus, s.expectedMinutes]),
                );
                const gpuHours = p.steps.reduce((n, s) => n + (s.gpus * s.expectedMinutes) / 60, 0);
                assert.equal(c.run.gpuHours, gpuHours);
                assert.ok(c.run.costShared > 0 && c.run.costShared < c.run.costWholeNodes);
            }
            if (stack === "prod") {
                const c = a.pipelines[0];
                assert.ok(c.concurrentSets.some((set) => set.includes("train") && set.includes("data-quality")), "data-quality runs beside train");
                assert.deepEqual(c.peak.steps, ["data-quality", "train"]);
            }
        });
    });
}

describe("pipelines: the planner says no when a run does not fit", () => {
    let clean: ProgramRun;
    before(async () => {
        clean = await platformRun("dev");
    });
    const train = (rs: RecordedResource[]) => (rs.find((r) => r.type.endsWith(":WorkflowTemplate"))!.inputs as Obj).spec.templates.find((t: Obj) => t.name === "step-train");

    it("a step bigger than any node of its pool (and the policy pack's workloads-schedulable says so too)", async () => {
        const rs = structuredClone(clean.resources) as RecordedResource[];
        train(rs).container.resources.requests.memory = "2000Gi";
        const [p] = analyzeCapacity(sharedStackArgs(rs, "dev").resources).pipelines;
        assert.equal(p.schedulable, false);
        assert.match(p.reason!, /step train fits no pool/);
        const violations = await runPolicies(rs, readPolicyConfig(policyConfigFile("dev")), allPolicies, "dev");
        assert.ok(
            violations.some((v) => v.policy === "workloads-schedulable" && v.enforcementLevel === "mandatory" && v.message.includes("WorkflowTemplate ml-pipelines/recsys-retrain")),
            violations.map((v) => `${v.policy}: ${v.message}`).join("\n"),
        );
    });

    it("concurrent steps that together exceed the pools at maxSize", () => {
        const rs = structuredClone(clean.resources) as RecordedResource[];
        const wt = (rs.find((r) => r.type.endsWith(":WorkflowTemplate"))!.inputs as Obj).spec;
        // Two trains of 5 GPUs each at once on dev's single p4d (8 GPUs): each fits, together they do not.
        train(rs).container.resources.requests["nvidia.com/gpu"] = "5";
        train(rs).container.resources.limits["nvidia.com/gpu"] = "5";
        const dag = wt.templates.find((t: Obj) => t.name === wt.entrypoint).dag.tasks;
        dag.push({ ...dag.find((t: Obj) => t.name === "train"), name: "train-twin" });
        const [p] = analyzeCapacity(sharedStackArgs(rs, "dev").resources).pipelines;
        assert.ok(p.steps.every((s) => s.fits));
        assert.equal(p.schedulable, false);
        assert.match(p.reason!, /steps train \+ train-twin can run at once but do not fit/);
    });
});

describe("pipelines: the report's flowchart", () => {
    it("a node per step with pool and GPUs, an edge per dependency, the gate on its edge", async () => {
        const run = await platformRun("dev");
        const [p] = analyzeCapacity(sharedStackArgs(run.resources, "dev").resources).pipelines;
        const chart = pipelineFlowchart(p);
        const lines = chart.split("\n");
        assert.deepEqual(lines.slice(0, 2), ["```mermaid", "flowchart LR"]);
        assert.equal(lines[lines.length - 1], "```");
        assert.ok(chart.includes('s1["train<br/>a100, 1 GPU, 90 min"]'));
        assert.ok(chart.includes('s2 -->|"accuracy >= 0.8"| s3'));
        // Every edge joins nodes declared above it.
        const declared = new Set(lines.filter((l) => /^\s+s\d+\[/.test(l)).map((l) => l.trim().split("[")[0]));
        for (const l of lines.filter((x) => x.includes("--"))) {
            const ids = l.trim().replace(/\|"[^"]*"\|/, "").split(/\s*-[-.]*>\s*/);
            assert.ok(ids.every((i) => declared.has(i.trim())), l);
        }
        assert.deepEqual(parseGate("{{tasks.evaluate.outputs.parameters.auc}} >= 0.75"), { step: "evaluate", label: "auc >= 0.75" });
    });
});

describe("pipelines: the policy pack sees step templates (mutation per rule)", () => {
    let clean: RecordedResource[];
    let config: PolicyPackConfig;
    let baseline: Set<string>;
    const key = (v: PolicyViolation) => `${v.policy}|${v.resource.type}|${v.resource.name}|${v.message}`;
    const template = (rs: RecordedResource[]) => (rs.find((r) => r.type.endsWith(":WorkflowTemplate"))!.inputs as Obj).spec;
    const stepOf = (rs: RecordedResource[], name: string) => template(rs).templates.find((t: Obj) => t.name === `step-${name}`);

    before(async () => {
        const run = await platformRun("prod");
        clean = run.resources;
        config = readPolicyConfig(policyConfigFile("prod"));
        baseline = new Set((await runPolicies(clean, config, allPolicies, "prod")).map(key));
    });

    const mutations: { rule: string; change: string; apply: (rs: RecordedResource[]) => void }[] = [
        { rule: "images-pinned", change: "step image on :latest", apply: (rs) => (stepOf(rs, "evaluate").container.image = stepOf(rs, "evaluate").container.image.replace(/:[^:/]+$/, ":latest")) },
        { rule: "gpu-request-equals-limit", change: "train GPU limit 2, request 1", apply: (rs) => (stepOf(rs, "train").container.resources.limits["nvidia.com/gpu"] = "2") },
        { rule: "gpu-pod-targets-gpu-pool", change: "train nodeSelector removed", apply: (rs) => delete stepOf(rs, "train").nodeSelector },
        {
            rule: "gpu-toleration-requires-gpu-request",
            change: "train without GPUs, toleration kept",
            apply: (rs) => {
                const r = stepOf(rs, "train").container.resources;
                delete r.requests["nvidia.com/gpu"];
                delete r.limits["nvidia.com/gpu"];
            },
        },
        { rule: "container-resources-set", change: "preprocess memory limit removed", apply: (rs) => delete stepOf(rs, "preprocess").container.resources.limits.memory },
        { rule: "no-privileged-containers", change: "register privileged", apply: (rs) => (stepOf(rs, "register").container.securityContext.privileged = true) },
        { rule: "no-privilege-escalation", change: "register allowPrivilegeEscalation true", apply: (rs) => (stepOf(rs, "register").container.securityContext.allowPrivilegeEscalation = true) },
        { rule: "capabilities-dropped", change: "register adds NET_ADMIN", apply: (rs) => (stepOf(rs, "register").container.securityContext.capabilities.add = ["NET_ADMIN"]) },
        { rule: "run-as-non-root", change: "register runAsUser 0", apply: (rs) => (stepOf(rs, "register").container.securityContext.runAsUser = 0) },
        { rule: "read-only-root-filesystem", change: "register writable root", apply: (rs) => (stepOf(rs, "register").container.securityContext.readOnlyRootFilesystem = false) },
        { rule: "seccomp-runtime-default", change: "workflow pod seccomp Unconfined", apply: (rs) => (template(rs).securityContext.seccompProfile = { type: "Unconfined" }) },
        { rule: "service-account-token-not-mounted", change: "workflow mounts the token into steps", apply: (rs) => (template(rs).automountServiceAccountToken = true) },
        {
            rule: "secrets-from-secret-refs",
            change: "tracking URI as a literal in a step",
            apply: (rs) => {
                const env = stepOf(rs, "register").container.env as Obj[];
                env[env.findIndex((e) => e.name === "MLFLOW_TRACKING_URI")] = { name: "MLFLOW_TRACKING_URI", value: "https://ml:hunter2@mlflow.internal" };
            },
        },
        { rule: "training-pods-not-evictable", change: "train safe-to-evict removed", apply: (rs) => delete stepOf(rs, "train").metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"] },
        { rule: "tolerations-valid", change: "train toleration loses its key", apply: (rs) => delete stepOf(rs, "train").tolerations[0].key },
        {
            rule: "images-pinned",
            change: "a CronWorkflow with an inline template on :latest (CronWorkflow pod templates are seen too)",
            apply: (rs) => {
                const cron = rs.find((r) => r.type.endsWith(":CronWorkflow"))!.inputs as Obj;
                const inline = structuredClone(template(rs));
                const evaluate = inline.templates.find((t: Obj) => t.name === "step-evaluate");
                evaluate.container.image = evaluate.container.image.replace(/:[^:/]+$/, ":latest");
                cron.spec.workflowSpec = inline;
            },
        },
    ];

    for (const m of mutations) {
        it(`${m.rule} catches: ${m.change}`, async () => {
            const mutated = structuredClone(clean) as RecordedResource[];
            m.apply(mutated);
            const fresh = (await runPolicies(mutated, config, allPolicies, "prod")).filter((v) => !baseline.has(key(v)));
            const fired = [...new Set(fresh.map((v) => v.policy))];
            assert.deepEqual(fired, [m.rule], fresh.map((v) => `${v.policy}: ${v.message}`).join("\n"));
            assert.ok(fresh.some((v) => /WorkflowTemplate|CronWorkflow/.test(v.message)), fresh.map((v) => v.message).join("\n"));
        });
    }
});

describe("pipelines: the conformance stand-in's pods", () => {
    it("one pod per DAG task, as Argo's controller builds it (main behind the emissary, restricted init and wait)", async () => {
        const run = await platformRun("dev");
        const wt = run.resources.find((r) => r.type.endsWith(":WorkflowTemplate"))!.inputs as Obj;
        const pods = workflowRunPods(wt as never, { image: "quay.io/argoproj/argoexec:v4.0.5", securityContext: { ...ARGO_EXECUTOR_SECURITY_CONTEXT } });
        assert.deepEqual(
            pods.map((p) => p.metadata.name),
            dagTasks(wt as never).map((t) => `recsys-retrain-stand-in-${t.name}`),
        );
        const train = pods.find((p) => p.metadata.name.endsWith("-train"))!;
        assert.deepEqual(
            train.spec.containers.map((c: Obj) => c.name),
            ["main", "wait"],
        );
        assert.deepEqual(train.spec.containers[0].command.slice(0, 4), ["/var/run/argo/argoexec", "emissary", "--", "python"]);
        assert.equal(train.spec.nodeSelector["node-pool"], "a100");
        assert.equal(train.spec.automountServiceAccountToken, false);
        assert.ok(train.spec.volumes.some((v: Obj) => v.secret?.secretName === "pipeline-runner.service-account-token"));
        assert.equal(argoModuleOf("v4.0.5"), "github.com/argoproj/argo-workflows/v4");
    });
});

describe("pipelines: the README documents every key", () => {
    it("of a pipeline and of a step", async () => {
        const { readFileSync } = await import("node:fs");
        const path = await import("node:path");
        const { configKeys } = await import("../stacks/schema");
        const readme = readFileSync(path.join(__dirname, "..", "README.md"), "utf8");
        const pipeline = configKeys.pipelines.unwrap().element;
        const stepShape = pipeline.shape.steps.element.shape;
        for (const key of [...Object.keys(pipeline.shape), ...Object.keys(stepShape)]) {
            assert.match(readme, new RegExp("`[^`]*\\b" + key + "\\b[^`]*`"), `README does not document pipelines key ${key}`);
        }
        assert.ok(Object.keys(stepShape).includes("expectedMinutes"), "the introspection reached the step schema");
    });
});
