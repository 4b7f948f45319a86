/**
 * The planner learns time (issue 17): training entries declare their hours, the planner pays for the nodes
 * a job adds for those hours only, and the dedicated baseline counts the very same hours.
 */
import { strict as assert } from "node:assert";
import { CapacityResource, analyzeCapacity } from "../capacity/analysis";
import { HOURS_PER_MONTH, instanceType } from "../capacity/catalog";
import { MANAGED_NODE_GROUP } from "../capacity/nodeGroups";
import { declaredMonthlyHours, dedicatedBaselineForHours, hoursFromAnnotation, timedMonthlyCost, trainingTimeProblems } from "../capacity/trainingTime";
import { DATA_SYNC_WORKLOAD, EXPECTED_HOURS_ANNOTATION } from "../facts/training";
import { buildStackSpec } from "../stacks/validate";
import { problemsOf, rawConfigOf, withKey } from "./helpers";

const GPU_TAINT = [{ key: "dedicated", value: "ml-workloads", effect: "NO_SCHEDULE" }];
const GPU_TOLERATION = [{ key: "dedicated", operator: "Equal", value: "ml-workloads", effect: "NoSchedule" }];

const nodeGroup = (name: string, type: string, min: number, max: number, extra: Record<string, unknown> = {}): CapacityResource => ({
    type: MANAGED_NODE_GROUP,
    name,
    props: { instanceTypes: [type], scalingConfig: { minSize: min, maxSize: max }, labels: { "node-pool": name }, ...extra },
});
const gpuPool = (min: number, max: number) => nodeGroup("gpu", "g5.xlarge", min, max, { taints: GPU_TAINT });
const podSpec = (gpus: number) => ({ tolerations: GPU_TOLERATION, containers: [{ name: "main", resources: { requests: { cpu: "1", "nvidia.com/gpu": gpus }, limits: { "nvidia.com/gpu": gpus } } }] });
const serving = (name: string, replicas: number): CapacityResource => ({
    type: "kubernetes:apps/v1:Deployment",
    name,
    props: { metadata: { name }, spec: { replicas, template: { metadata: {}, spec: podSpec(1) } } },
});
const job = (name: string, hours?: number): CapacityResource => ({
    type: "kubernetes:batch/v1:Job",
    name,
    props: {
        metadata: { name, ...(hours !== undefined ? { annotations: { [EXPECTED_HOURS_ANNOTATION]: String(hours) } } : {}) },
        spec: { parallelism: 1, template: { metadata: {}, spec: podSpec(1) } },
    },
});
const G5 = instanceType("g5.xlarge").onDemandHourlyUsd;
const M6I = instanceType("m6i.xlarge").onDemandHourlyUsd;
const cents = (x: number) => Math.round(x * 100) / 100;

describe("capacity/trainingTime: hours a training entry runs", () => {
    const deadline = { activeDeadlineSeconds: 43200 };
    it("reads expectedHours, or runsPerMonth x hoursPerRun, and nothing when none is declared", () => {
        assert.equal(declaredMonthlyHours({ ...deadline, expectedHours: 12.5 }), 12.5);
        assert.equal(declaredMonthlyHours({ ...deadline, runsPerMonth: 4, hoursPerRun: 10 }), 40);
        assert.equal(declaredMonthlyHours(deadline), undefined);
    });

    const cases: [string, Parameters<typeof trainingTimeProblems>[0], string | undefined][] = [
        ["both forms at once", { ...deadline, expectedHours: 10, runsPerMonth: 2, hoursPerRun: 5 }, "expectedHours"],
        ["runs without hours", { ...deadline, runsPerMonth: 2 }, "runsPerMonth"],
        ["hours without runs", { ...deadline, hoursPerRun: 2 }, "hoursPerRun"],
        ["a run longer than the deadline", { ...deadline, runsPerMonth: 1, hoursPerRun: 12.5 }, "hoursPerRun"],
        ["more hours than a month", { activeDeadlineSeconds: 30 * 86400, runsPerMonth: 2, hoursPerRun: 366 }, "runsPerMonth"],
        ["a run exactly at the deadline", { ...deadline, runsPerMonth: 1, hoursPerRun: 12 }, undefined],
        ["exactly a month", { activeDeadlineSeconds: 30 * 86400, runsPerMonth: 2, hoursPerRun: 365 }, undefined],
        ["expectedHours alone", { ...deadline, expectedHours: 700 }, undefined],
    ];
    for (const [title, t, field] of cases) {
        it(`${field ? "refuses" : "accepts"} ${title}`, () => {
            assert.deepEqual(trainingTimeProblems(t).map((p) => p.field), field ? [field] : []);
        });
    }

    it("reads the annotation back, counting anything unreadable as all month", () => {
        assert.deepEqual(hoursFromAnnotation("36"), { hours: 36, declared: true });
        for (const bad of [undefined, "", "x", "0", "-1", String(HOURS_PER_MONTH + 1)]) {
            assert.deepEqual(hoursFromAnnotation(bad), { hours: HOURS_PER_MONTH, declared: false }, String(bad));
        }
    });
});

describe("capacity/trainingTime: the month in hours", () => {
    const pools = [
        { name: "system", instanceType: "m6i.xlarge", gpusPerNode: 0, alwaysOnNodes: 2 },
        { name: "gpu", instanceType: "g5.xlarge", gpusPerNode: 1, alwaysOnNodes: 1 },
    ];
    it("pays always-on nodes all month and a job's extra nodes for its hours only", () => {
        const c = timedMonthlyCost(pools, 1, [{ name: "ft", hours: 40, gpus: 2, extraNodes: { gpu: 2 } }]);
        assert.equal(c.monthly, cents((2 * M6I + G5) * HOURS_PER_MONTH + 2 * G5 * 40));
        assert.deepEqual(c.perJob, [{ name: "ft", hours: 40, nodeHours: 80, gpuHoursRequested: 80, gpuHoursProvisioned: 80, monthly: cents(2 * G5 * 40) }]);
        assert.deepEqual(c.gpuHours, { requested: HOURS_PER_MONTH + 80, provisioned: HOURS_PER_MONTH + 80 });
        assert.equal(c.utilisation, 1);
    });

    it("charges nothing extra for a job that fits on nodes already running, and utilisation says so", () => {
        const c = timedMonthlyCost(pools, 0, [{ name: "ft", hours: 73, gpus: 1, extraNodes: {} }]);
        assert.equal(c.monthly, cents((2 * M6I + G5) * HOURS_PER_MONTH));
        assert.equal(c.perJob[0].monthly, 0);
        assert.equal(c.utilisation, 0.1);
    });

    it("prices the dedicated baseline for the hours each pod runs", () => {
        assert.equal(dedicatedBaselineForHours([{ gpusPerPod: 1, gpuModel: "A10G", pods: 2, hours: HOURS_PER_MONTH }, { gpusPerPod: 1, gpuModel: "A10G", pods: 1, hours: 10 }]), cents(G5 * (2 * HOURS_PER_MONTH + 10)));
    });
});

describe("capacity/analysis: training counted for its hours", () => {
    const stack = (hours?: number) => [nodeGroup("system", "m6i.xlarge", 2, 2), gpuPool(1, 3), serving("infer", 1), job("ft", hours)];

    it("pays the node the job adds for its declared hours, and the baseline counts the same hours", () => {
        const a = analyzeCapacity(stack(20));
        // Serving fills the one minSize node; the job brings up a second g5.xlarge for 20 h.
        assert.equal(a.time.min.monthly, cents((2 * M6I + G5) * HOURS_PER_MONTH + G5 * 20));
        assert.deepEqual(a.time.jobs, [{ name: "ft", hours: 20, declared: true }]);
        assert.equal(a.cost.dedicatedBaselineMonthly, cents(G5 * (HOURS_PER_MONTH + 20)));
        assert.deepEqual(a.time.min.gpuHours, { requested: HOURS_PER_MONTH + 20, provisioned: HOURS_PER_MONTH + 20 });
        // The peak figures still run both pods all month.
        assert.equal(a.cost.monthlyMin, cents((2 * M6I + 2 * G5) * HOURS_PER_MONTH));
    });

    it("counts a Job without declared hours all month, as before", () => {
        const a = analyzeCapacity(stack());
        assert.deepEqual(a.time.jobs, [{ name: "ft", hours: HOURS_PER_MONTH, declared: false }]);
        assert.equal(a.time.min.monthly, a.cost.monthlyMin);
        assert.equal(a.cost.dedicatedBaselineMonthly, cents(2 * G5 * HOURS_PER_MONTH));
    });

    it("adds nothing for a job that fits on an idle minSize node", () => {
        const a = analyzeCapacity([nodeGroup("system", "m6i.xlarge", 2, 2), gpuPool(2, 3), serving("infer", 1), job("ft", 20)]);
        assert.equal(a.time.min.perJob[0].nodeHours, 0);
        assert.equal(a.time.min.monthly, cents((2 * M6I + 2 * G5) * HOURS_PER_MONTH));
        assert.equal(a.time.min.utilisation, Math.round(((HOURS_PER_MONTH + 20) / (2 * HOURS_PER_MONTH)) * 1000) / 1000);
    });
});

describe("stacks: training hours validated and carried to the spec", () => {
    const prod = rawConfigOf("prod");
    const edit0 = (f: (t: Record<string, unknown>) => void) => (list: Record<string, unknown>[]) => (f(list[0]), list);

    it("prod declares every training entry's hours", () => {
        const spec = buildStackSpec(prod);
        assert.deepEqual(
            spec.training.map((t) => [t.name, t.expectedHoursPerMonth]),
            [
                ["bert-finetune", 40],
                ["llm-distributed", 72],
            ],
        );
    });

    it("names the key and the rule when a run outlasts its deadline", () => {
        const problems = problemsOf(withKey(prod, "training", edit0((t) => (t.hoursPerRun = 13))));
        assert.equal(problems.length, 1, problems.join("\n"));
        assert.match(problems[0], /^ml-platform:training\[0\]\.hoursPerRun is longer than activeDeadlineSeconds \(43200 s = 12 h\).*got 13; allowed: at most 12/);
    });

    it("refuses expectedHours beside runsPerMonth, and hours outside (0, 730]", () => {
        assert.match(problemsOf(withKey(prod, "training", edit0((t) => (t.expectedHours = 5))))[0], /training\[0\]\.expectedHours cannot be combined/);
        assert.match(problemsOf(withKey(prod, "training", edit0((t) => (delete t.runsPerMonth, delete t.hoursPerRun, (t.expectedHours = 0)))))[0], /training\[0\]\.expectedHours.*must be > 0/);
        assert.match(problemsOf(withKey(prod, "training", edit0((t) => (delete t.runsPerMonth, delete t.hoursPerRun, (t.expectedHours = 731)))))[0], /training\[0\]\.expectedHours.*must be <= 730/);
    });
});

describe("plan: prod's training counted for its hours, end to end", () => {
    it("the rendered Job and PyTorchJob carry their hours, and the summary and report count them", async () => {
        const { planOf } = await import("./fixtures");
        const { result } = await planOf("prod");
        const annotated = result.manifests
            .filter((m) => (m.object.kind === "Job" || m.object.kind === "PyTorchJob") && (m.object.metadata.labels as Record<string, string> | undefined)?.["ml-platform/workload"] !== DATA_SYNC_WORKLOAD)
            .map((m) => [m.object.metadata.name, (m.object.metadata.annotations as Record<string, string> | undefined)?.[EXPECTED_HOURS_ANNOTATION]]);
        assert.deepEqual(annotated.sort(), [
            ["bert-finetune", "40"],
            ["llm-distributed", "72"],
        ]);
        const t = result.summary.time;
        assert.deepEqual(t.jobs.map((j) => [j.name, j.hours, j.declared]), [
            ["bert-finetune", 40, true],
            ["llm-distributed", 72, true],
        ]);
        // Hours make the month cheaper than every pod all month, and utilisation is a share.
        assert.ok(t.monthly.min < result.summary.cost.monthlyMin);
        assert.ok(t.utilisation.min > 0 && t.utilisation.min <= 1);
        assert.match(result.report, /## Training time/);
        assert.match(result.report, /GPU-hours requested \/ GPU-hours provisioned\): [\d,.]+ \/ [\d,.]+ = /);
        // The comparison names what only the platform's side pays for: prod's 3 x m6i.2xlarge system pool.
        const system = result.summary.cost.perPool.find((p) => p.pool === "system")!;
        assert.ok(result.report.includes(`includes the CPU pools that run the cluster's own pods ($${(system.hourlyMin * 730).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })} a month`));
    });
});
