import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { generateStack } from "../bench/generate";
import { analyzeCapacity } from "../capacity/analysis";
import { renderManifests } from "../plan/manifests";
import { buildSummary } from "../plan/summary";
import { monthlyBudget } from "../policy/rules/capacity";
import { plan, planOf, platformRun, tempDir } from "./fixtures";
import { ROOT } from "./helpers";

/** Writes a copy of a stack file with `edit` applied to its config map; returns the file path. */
function variant(stack: string, edit: (config: Record<string, any>) => void): string {
    const doc = parse(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"));
    edit(doc.config);
    const dir = tempDir("capacity");
    const file = path.join(dir, `Pulumi.${stack}-broken.yaml`);
    writeFileSync(file, stringify(doc));
    return file;
}

describe("capacity planner on whole plans", () => {
    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: every workload is schedulable, with cost and GPU allocation in summary.json`, async () => {
            const { out, result } = await planOf(stack);
            assert.equal(result.exitCode, 0, result.headline);
            const s = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
            assert.ok(s.workloads.length > 0);
            for (const w of s.workloads) {
                assert.equal(w.schedulable, true, `${w.name}: ${w.reason}`);
                assert.equal(w.reason, undefined);
            }
            for (const k of ["hourlyMin", "hourlyMax", "monthlyMin", "monthlyMax", "dedicatedBaselineMonthly"]) {
                assert.equal(typeof s.cost[k], "number", k);
            }
            assert.ok(s.cost.hourlyMax >= s.cost.hourlyMin);
            // monthly comes from the unrounded hourly figure: within half a cent an hour of the rounded one.
            assert.ok(Math.abs(s.cost.monthlyMin - s.cost.hourlyMin * 730) <= 0.005 * 730);
            assert.ok(s.gpuAllocation.min > 0 && s.gpuAllocation.min <= 1);
            assert.ok(s.gpuAllocation.max > 0 && s.gpuAllocation.max <= 1);
            const md = readFileSync(path.join(out, "report.md"), "utf8");
            for (const h of ["## Placement", "## Cost", "## GPU demand against capacity", "xychart-beta", "## GPU autoscaling chain"]) {
                assert.ok(md.includes(h), h);
            }

            // The whole bill: every item, each in the report's Cost table, the EC2 item equal to the node figures.
            const bill = s.cost.bill;
            assert.deepEqual(
                bill.lines.map((l: any) => l.item),
                ["ec2-nodes", "eks-control-plane", "nat-gateways", "ebs-root-volumes", "ebs-gp3-claims", "efs-claims"],
            );
            assert.deepEqual([bill.lines[0].monthly.min, bill.lines[0].monthly.max], [s.cost.monthlyMin, s.cost.monthlyMax]);
            const pools = s.nodePools as { name: string; maxSize: number; minSize: number }[];
            for (const p of bill.perPool) {
                assert.equal(p.nodes.reachable, pools.find((x) => x.name === p.pool)!.maxSize, p.pool);
            }
            const natGateways = stack === "dev" ? 1 : 3; // single; one per AZ over three AZs
            assert.deepEqual(bill.lines.find((l: any) => l.item === "nat-gateways").quantity, { min: natGateways, max: natGateways, reachable: natGateways });
            const efs = s.storage.pvcs.reduce((n: number, c: any) => n + parseFloat(c.size) * (c.size.endsWith("Ti") ? 1024 : 1), 0);
            assert.equal(bill.lines.find((l: any) => l.item === "efs-claims").quantity.reachable, efs);
            for (const l of bill.lines) {
                assert.ok(md.includes(`| ${l.label} |`), l.label);
                assert.ok(l.monthly.min <= l.monthly.max && l.monthly.max <= l.monthly.reachable, l.item);
            }
            assert.ok(Math.abs(bill.monthly.reachable - bill.lines.reduce((n: number, l: any) => n + l.monthly.reachable, 0)) < 0.05);
            // The budget the policy config names holds at its basis, and the report says so in the rule's words.
            assert.equal(s.cost.budget.basis, "reachable");
            assert.equal(s.cost.budget.within, true, s.cost.budget.message);
            assert.ok(md.includes(`**within** — ${s.cost.budget.message}`));
            assert.match(md, /Not counted: NAT gateway data processing/);
        });
    }

    it("dev: the A100 pool no workload needs is $0 at the demand-driven maximum and a p4d.24xlarge at the reachable one", async () => {
        const { out } = await planOf("dev");
        const s = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
        const a100 = s.cost.bill.perPool.find((p: any) => p.pool === "a100");
        assert.deepEqual(a100.nodes, { min: 0, max: 0, reachable: 1 });
        assert.deepEqual([a100.monthly.max, a100.monthly.reachable], [0, 16029.08]);
        assert.ok(s.cost.bill.monthly.reachable - s.cost.bill.monthly.max > 16029.08);
    });

    it("a 4-GPU, 256Gi worker aimed at g5.12xlarge exits 1 naming memory and what the node allocates", async () => {
        const file = variant("prod", (c) => {
            const job = c["ml-platform:training"].find((t: any) => t.kind === "PyTorchJob");
            Object.assign(job, { pool: "a10g", gpusPerPod: 4, memory: "256Gi", memoryLimit: "256Gi", cpu: "32" });
            delete job.model;
        });
        const out = path.join(path.dirname(file), "out");
        const r = await plan(["--stack", "prod", "--config", file, "--out", out]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /llm-distributed/);
        // 173400Mi from the AMI formula, less the device plugin (64Mi) and DCGM exporter (128Mi) requests.
        assert.match(r.stdout, /needs 256Gi memory; g5\.12xlarge allocates 169\.1Gi \(pool a10g\)/);
        const policy = JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8"));
        assert.ok(policy.some((v: any) => v.policy === "workloads-schedulable" && v.enforcementLevel === "mandatory" && /llm-distributed/.test(v.message)));
        const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
        const w = summary.workloads.find((x: any) => x.name === "llm-distributed");
        assert.equal(w.schedulable, false);
        assert.match(w.reason, /256Gi memory/);
    });

    it("an HPA maximum the pool's maxSize can never hold exits 1 naming maxSize", async () => {
        const file = variant("dev", (c) => {
            c["ml-platform:serving"][0].replicas = { min: 1, max: 12 };
        });
        const r = await plan(["--stack", "dev", "--config", file, "--out", path.join(path.dirname(file), "out")]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        assert.match(r.stdout, /recommendation-model/);
        assert.match(r.stdout, /maxSize is 4/);
    });

    it("many unschedulable workloads: the headline names five and counts the rest; summary.json has every one", async () => {
        const dir = tempDir("many");
        const file = path.join(dir, "Pulumi.prod.yaml");
        generateStack(path.join(ROOT, "Pulumi.prod.yaml"), file, 40);
        const out = path.join(dir, "out");
        const r = await plan(["--stack", "prod", "--config", file, "--out", out]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
        const unschedulable = summary.workloads.filter((w: any) => !w.schedulable);
        assert.ok(unschedulable.length > 5, `${unschedulable.length} unschedulable`);
        const headline = r.stdout.split("\n")[0];
        assert.match(headline, new RegExp(`${unschedulable.length} unschedulable workload\\(s\\): .*; and ${unschedulable.length - 5} more \\(see report\\.md\\)`));
        assert.equal((headline.match(/ \(at maximum scale: /g) ?? []).length, 5);
        assert.match(headline, /pool shared with [^)]* and \d+ more\)/);
    });

    it("a stack over its monthly budget fails the monthly-budget rule", async () => {
        const file = variant("dev", (c) => {
            c["ml-platform:nodePools"].a10g.maxSize = 40;
            c["ml-platform:serving"][0].replicas = { min: 1, max: 40 };
        });
        const out = path.join(path.dirname(file), "out");
        const r = await plan(["--stack", "dev", "--config", file, "--out", out]);
        assert.equal(r.code, 1, r.stdout + r.stderr);
        const policy = JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8"));
        const budget = policy.find((v: any) => v.policy === "monthly-budget");
        assert.ok(budget, JSON.stringify(policy));
        assert.match(budget.message, /^the whole bill at the reachable maximum \(every pool at maxSize\) is \$[\d,.]+\/month, \$[\d,.]+ more than the budget of \$22,000\.00 \(largest: pool a10g, 40 x g5\.xlarge/);
        // The report and summary.json give the rule's verdict, word for word: one judgement, shown twice.
        const report = readFileSync(path.join(out, "report.md"), "utf8");
        assert.ok(report.includes(`**OVER** — ${budget.message}`), report);
        const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
        assert.deepEqual([summary.cost.budget.within, summary.cost.budget.message, summary.cost.budget.basis], [false, budget.message, "reachable"]);
    });

    it("monthly-budget passes without a budget and under one, fails over one", async () => {
        const run = await platformRun("dev");
        const resources = run.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, props: r.inputs as any, opts: {} as any, dependencies: [], propertyDependencies: {}, isType: () => false, asType: () => undefined }));
        const reports = (config: object) => {
            const out: string[] = [];
            monthlyBudget.validateStack({ resources, getConfig: <T>() => config as T } as any, (m: string) => out.push(m));
            return out;
        };
        assert.deepEqual(reports({}), []);
        assert.deepEqual(reports({ maxMonthlyCost: 1e6 }), []);
        assert.equal(reports({ maxMonthlyCost: 100 }).length, 1);
    });

    it("summary.json reports each pool's taints and labels from the registered node group, not from config", async () => {
        const run = await platformRun("prod");
        // A component that forgot the taint and a label: the config still asks for both.
        const resources = run.resources.map((r) => {
            if (r.type !== "eks:index:ManagedNodeGroup" || (r.inputs.labels as any)?.["node-pool"] !== "a10g") return r;
            const labels = { ...(r.inputs.labels as Record<string, string>) };
            delete labels.accelerator;
            return { ...r, inputs: { ...r.inputs, taints: [], labels } };
        });
        const capacity = analyzeCapacity(resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as any, urn: r.urn })));
        const summary = buildSummary(run.spec, resources, renderManifests(resources), capacity);
        const a10g = summary.nodePools.find((p) => p.name === "a10g")!;
        assert.deepEqual(a10g.taints, []);
        assert.equal(a10g.labels.accelerator, undefined);
        assert.equal(a10g.labels["node-pool"], "a10g");
        assert.deepEqual(summary.nodePools.find((p) => p.name === "a100")!.taints, [run.spec.gpuTaint]);
    });

    it("gives every workload its verdict at each scale in summary.json", async () => {
        const run = await platformRun("prod");
        const capacity = analyzeCapacity(run.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as any, urn: r.urn })));
        const summary = buildSummary(run.spec, run.resources, renderManifests(run.resources), capacity);
        for (const w of summary.workloads) {
            const pods = typeof w.pods === "number" ? { min: w.pods, max: w.pods } : w.pods;
            assert.deepEqual(w.scales?.min, { schedulable: true, pods: pods.min, nodesNeeded: w.scales!.min.nodesNeeded, pools: [w.pool] }, w.name);
            assert.equal(w.scales!.max.pods, pods.max, w.name);
            assert.ok(w.scales!.max.nodesNeeded! >= 1);
        }
    });

    it("counts the DaemonSets the program deploys against GPU nodes only", async () => {
        const run = await platformRun("prod");
        const a = analyzeCapacity(run.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as any, urn: r.urn })));
        const a10g = a.pools.find((p) => p.name === "a10g")!;
        const system = a.pools.find((p) => p.name === "system")!;
        assert.ok(a10g.allocatable.daemonSets.includes("dcgm-exporter"));
        assert.ok(a10g.allocatable.daemonSets.includes("nvidia-device-plugin"));
        assert.ok(!system.allocatable.daemonSets.includes("dcgm-exporter"));
        // g5.12xlarge: 47810m after kube-reserved, less aws-node 50m, kube-proxy 100m, device plugin 50m, DCGM 100m.
        assert.equal(a10g.allocatable.cpuMillis, 47810 - 50 - 100 - 50 - 100);
    });
});
