import { strict as assert } from "node:assert";
import { cpSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { diffPlans } from "../plan/diff";
import { parseArgs } from "../plan/cli";
import { plan, planOf, policy, stackFile, tempDir } from "./fixtures";
import { ROOT } from "./helpers";

const readJson = (dir: string, name: string) => JSON.parse(readFileSync(path.join(dir, name), "utf8"));

describe("offline plan --base: a change to dev's config against dev's plan", () => {
    let base: string;
    let out: string;
    let code: number;
    let stdout: string;
    before(async () => {
        base = (await planOf("dev")).out;
        const dir = tempDir("plan-diff");
        const text = readFileSync(stackFile("dev"), "utf8");
        const edited = text.replace("instanceType: g5.xlarge", "instanceType: g5.2xlarge").replace("replicas: { min: 1, max: 3 }", "replicas: { min: 1, max: 5 }");
        assert.equal(edited.split("\n").filter((l, i) => l !== text.split("\n")[i]).length, 2, "two lines edited");
        const cfg = path.join(dir, "Pulumi.dev.yaml");
        writeFileSync(cfg, edited);
        out = path.join(dir, "out");
        ({ code, stdout } = await plan(["--stack", "dev", "--config", cfg, "--out", out, "--base", base]));
    });

    it("keeps the plan's exit code (the larger max no longer fits the pool) and says it wrote diff.json", () => {
        assert.equal(code, 1);
        assert.match(stdout, /wrote .*\/\{resources\.json,summary\.json,report\.md,policy\.json,diff\.json,manifests\/\}\n$/);
    });

    it("shows exactly the resources the change touches: the A10G node group replaced, the HPA updated", () => {
        const d = readJson(out, "diff.json");
        assert.deepEqual([d.resources.added, d.resources.removed, d.kubernetes.added, d.kubernetes.removed], [[], [], [], []]);
        assert.deepEqual(
            d.resources.changed.map((c: any) => [c.urn, c.changes]),
            [["urn:pulumi:dev::ml-platform::eks:index:ManagedNodeGroup::dev-pool-a10g-mng", [{ path: "instanceTypes[0]", before: "g5.xlarge", after: "g5.2xlarge" }]]],
        );
        const group = d.resources.changed[0];
        assert.match(group.replacedBecause[0].source, /aws_eks_node_group/);
        assert.equal(group.effects[0], "replaces and drains GPU node pool a10g");
        assert.match(group.effects.join("; "), /evicts serving recommendation-model.*restarts training bert-finetune/);
        const changed = d.kubernetes.changed.map((c: any) => [c.object, c.changes, c.replacedBecause]);
        assert.deepEqual(
            changed.filter(([o]: [string]) => !o.includes(" ClusterQueue ")).map(([o, changes, because]: [string, any[], any[]]) => [o, changes.map((x: any) => [x.before, x.after]), because]),
            [
                ["autoscaling/v2 HorizontalPodAutoscaler ml-serving/recommendation-model", [[3, 5]], []],
                // The a10g pool's hourly price, recorded for the cost panel, follows its instance type.
                ["monitoring.coreos.com/v1 PrometheusRule monitoring/ml-platform", [["vector(1.006)", "vector(1.212)"], ["g5.xlarge", "g5.2xlarge"]], []],
            ],
        );
        assert.deepEqual(d.kubernetes.changed.find((c: any) => c.object.includes("HorizontalPodAutoscaler")).changes, [{ path: "spec.maxReplicas", before: 3, after: 5 }]);
        // Kueue's quotas are derived from the a10g node: its CPU and memory (not its one GPU) change with it, in every queue.
        const queues = changed.filter(([o]: [string]) => o.includes(" ClusterQueue "));
        assert.deepEqual(queues.map(([o]: [string]) => o.split(" ").pop()).sort(), ["recsys", "training"]);
        for (const [, changes] of queues) {
            assert.deepEqual(changes.map((c: any) => c.path), ["spec.resourceGroups[0].flavors[0].resources[0].nominalQuota", "spec.resourceGroups[0].flavors[0].resources[1].nominalQuota"]);
        }
        assert.deepEqual(d.risks, []);
    });

    it("gives cost, GPU and schedulability deltas that match the two plans' own figures", () => {
        const d = readJson(out, "diff.json").deltas;
        const b = readJson(base, "summary.json");
        const h = readJson(out, "summary.json");
        assert.deepEqual(d.monthlyCostMin, { base: b.cost.monthlyMin, head: h.cost.monthlyMin, delta: Math.round((h.cost.monthlyMin - b.cost.monthlyMin) * 100) / 100 });
        assert.deepEqual([d.monthlyCostMax.base, d.monthlyCostMax.head], [b.cost.monthlyMax, h.cost.monthlyMax]);
        assert.ok(d.monthlyCostMax.delta > 0, "g5.2xlarge costs more");
        assert.deepEqual([d.gpusProvisionedMax.base, d.gpusProvisionedMax.head], [b.gpus.provisioned.max, h.gpus.provisioned.max]);
        assert.deepEqual(d.newlyUnschedulable.map((w: any) => w.name), h.workloads.filter((w: any) => !w.schedulable).map((w: any) => w.name));
        assert.deepEqual(d.newlyUnschedulable.map((w: any) => w.name), ["recommendation-model"]);
        assert.deepEqual(d.policyViolationsAdded.map((v: any) => v.policy), readJson(out, "policy.json").map((v: any) => v.policy));
    });

    it("puts the Changes section first in report.md, the replacement and its drain in it", () => {
        const md = readFileSync(path.join(out, "report.md"), "utf8");
        const changes = md.indexOf("## Changes");
        assert.ok(changes > 0 && changes < md.indexOf("## Node pools") && md.indexOf("## Node pools") === md.indexOf("\n## ", changes + 1) + 1);
        assert.match(md, /\| replace \| `urn:pulumi:dev::ml-platform::eks:index:ManagedNodeGroup::dev-pool-a10g-mng` \| `instanceTypes\[0\]` "g5.xlarge" -> "g5.2xlarge" \|/);
        assert.match(md, /replaces and drains GPU node pool a10g/);
        assert.match(md, /\| update \| `autoscaling\/v2 HorizontalPodAutoscaler ml-serving\/recommendation-model` \| `spec\.maxReplicas` 3 -> 5 \|/);
        assert.match(md, /Workloads newly unschedulable: recommendation-model/);
        // The rest of the report is the plan's own, as without --base.
        assert.ok(md.endsWith(readFileSync(path.join(base, "report.md"), "utf8").slice(readFileSync(path.join(base, "report.md"), "utf8").indexOf("\n## Resources by type"))));
    });

    it("the same config against its own plan: no changes, and a plan without --base removes the stale diff.json", async () => {
        const again = path.join(tempDir("plan-diff-same"), "out");
        assert.equal((await plan(["--stack", "dev", "--out", again, "--base", base])).code, 0);
        const d = readJson(again, "diff.json");
        assert.deepEqual([d.resources, d.kubernetes, d.risks], [{ added: [], removed: [], changed: [] }, { added: [], removed: [], changed: [] }, []]);
        assert.match(readFileSync(path.join(again, "report.md"), "utf8"), /### Resources: 0 added, 0 removed, 0 changed \(0 replaced\)\nNo changes\./);
        assert.equal((await plan(["--stack", "dev", "--out", again])).code, 0);
        assert.ok(!existsSync(path.join(again, "diff.json")));
        for (const f of ["report.md", "resources.json", "summary.json", "policy.json"]) {
            assert.ok(readFileSync(path.join(again, f)).equals(readFileSync(path.join(base, f))), `${f} differs from the plan without --base`);
        }
    });
});

describe("offline plan --base: refused bases", () => {
    const refused = async (baseDir: string, pattern: RegExp) => {
        const out = path.join(tempDir("plan-diff-bad"), "out");
        const r = await plan(["--stack", "dev", "--out", out, "--base", baseDir]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, pattern);
        assert.match(r.stderr, /nothing was written\.\n$/);
        assert.ok(!existsSync(out), "nothing written");
    };

    it("a missing folder, or one that is no plan, exits 2 and writes nothing", async () => {
        await refused(path.join(tempDir("plan-diff-none"), "nope"), /--base .*nope is not a folder/);
        await refused(tempDir("plan-diff-empty"), /is not a plan folder: no resources\.json/);
    });

    it("another stack's plan, an older format or broken JSON exits 2 and writes nothing", async () => {
        await refused((await planOf("prod")).out, /is a plan of stack "prod", not "dev"/);
        const older = tempDir("plan-diff-older");
        cpSync((await planOf("dev")).out, older, { recursive: true });
        const resources = readJson(older, "resources.json");
        for (const r of resources.resources) delete r.options.replaceOnChanges;
        writeFileSync(path.join(older, "resources.json"), JSON.stringify(resources));
        await refused(older, /older or unknown format/);
        writeFileSync(path.join(older, "summary.json"), "{");
        await refused(older, /summary\.json is not valid JSON/);
    });
});

describe("offline plan --base: arguments", () => {
    it("needs a value, is the platform plan's only, and npm run policy refuses it", async () => {
        assert.throws(() => parseArgs(["--stack", "dev", "--base"], ROOT), /--base needs a value/);
        assert.equal(parseArgs(["--stack", "dev", "--base=some/dir"], ROOT).base, path.resolve("some/dir"));
        assert.equal(parseArgs(["--stack", "dev"], ROOT).base, undefined);
        const app = ["--program", path.join(ROOT, "examples/app-team"), "--stack", "dev", "--platform-outputs", path.join((await planOf("dev")).out, "resources.json")];
        assert.throws(() => parseArgs([...app, "--base", "x"], ROOT), /does not combine with --program/);
        const r = await policy(["--stack", "dev", "--base", (await planOf("dev")).out]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /--base is the plan's/);
    });
});

describe("plan diff over prod's own plan", () => {
    it("a change that would delete prod's file system is flagged first", async () => {
        const { result } = await planOf("prod");
        const snapshot = { resources: result.resources, summary: result.summary, violations: result.policy.violations };
        const np = result.resources.find((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy")!;
        const head = {
            ...snapshot,
            resources: result.resources
                .filter((r) => r.type !== "aws:efs/fileSystem:FileSystem")
                .map((r) => (r === np ? { ...r, inputs: { ...r.inputs, spec: {} } } : r)),
        };
        const d = diffPlans(snapshot, head);
        assert.equal(d.risks[0].kind, "data-loss");
        assert.match(d.risks[0].message, /^deletes aws:efs\/fileSystem:FileSystem prod-storage-efs, which is protected .* and retainOnDelete/);
        assert.ok(d.risks.some((r) => r.kind === "network-policy"));
    });
});
