/**
 * `npm run test:cluster`: every stack on a real control plane, the breaks the run must catch, and the
 * planner against kube-scheduler. Needs Go (the binaries are built once into the cache, then reused).
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { dump, loadAll } from "js-yaml";
import { CLI_NODE_ARGS } from "../../plan/nodeArgs";
import { projectStacks } from "../../plan/siblings";
import { main } from "../cli";
import { controlPlaneBinaries, startControlPlane } from "../controlPlane";
import type { ConformanceResult } from "../run";
import { buildFieldSchemas, FIELD_SCHEMAS_FILE, fieldSchemasText } from "../../plan/schemas/generate";

const ROOT = path.resolve(__dirname, "..", "..");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "ml-platform-conformance-test-"));

function planInto(stack: string, dir: string): void {
    const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, path.join(ROOT, "plan", "cli.ts"), "--stack", stack, "--out", dir], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, `plan ${stack} failed:\n${r.stderr}${r.stdout}`);
}

async function conform(stack: string, dir: string): Promise<{ code: number; result: ConformanceResult }> {
    const code = await main(["--stack", stack, "--plan", dir]);
    return { code, result: JSON.parse(fs.readFileSync(path.join(dir, "conformance.json"), "utf8")) };
}

/** A copy of a plan whose all.yaml has one object edited: what a broken program would have rendered. */
function brokenPlan(from: string, name: string, edit: (objects: any[]) => void): string {
    const dir = path.join(TMP, name);
    fs.cpSync(from, dir, { recursive: true });
    const file = path.join(dir, "manifests", "all.yaml");
    const objects = loadAll(fs.readFileSync(file, "utf8")) as any[];
    edit(objects);
    fs.writeFileSync(file, objects.map((o) => dump(o)).join("---\n"));
    return dir;
}

const find = (objects: any[], kind: string, name: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
    assert.ok(o, `${kind} ${name} not in all.yaml`);
    return o;
};

describe("conformance on a real control plane", function () {
    before(function () {
        // Fails (never skips) without Go: the message says what is needed.
        controlPlaneBinaries();
    });
    after(() => fs.rmSync(TMP, { recursive: true, force: true }));

    it("the offline plan's field schemas are exactly what the pinned release's OpenAPI spec gives", () => {
        const { kubernetes } = Object.fromEntries(
            spawnSync("bash", [path.join(ROOT, "conformance", "build-control-plane.sh"), "--versions"], { encoding: "utf8" })
                .stdout.trim()
                .split("\n")
                .map((l) => l.split("=")),
        );
        assert.equal(fieldSchemasText(buildFieldSchemas(kubernetes)), fs.readFileSync(FIELD_SCHEMAS_FILE, "utf8"), "run node -r sucrase/register/ts plan/schemas/generate.ts");
    });

    // Every stack file of the project (dev, prod, staging): a new stack is conformance-checked without an edit here.
    for (const stack of projectStacks(ROOT)) {
        it(`${stack}: every object is accepted and Kubernetes runs what the plan says, at both scales`, async () => {
            const dir = path.join(TMP, stack);
            planInto(stack, dir);
            const { code, result } = await conform(stack, dir);
            assert.deepEqual(result.failures, []);
            assert.equal(code, 0);
            assert.deepEqual(result.passes.map((p) => p.scale), ["max", "min"]);
            for (const p of result.passes) {
                assert.deepEqual(p.rejected, []);
                assert.ok(p.workloads.length >= 2, `${p.scale}: workloads compared`);
                for (const w of p.workloads) assert.ok(w.agrees && w.observed, `${p.scale} ${w.workload}: ${w.observedDetail}`);
                assert.equal(p.daemonSets.length, 2, "device plugin and DCGM exporter checked");
                for (const d of p.daemonSets) {
                    assert.ok(d.expectedNodes.length > 0 || p.scale === "min", `${d.daemonSet}: GPU nodes at ${p.scale}`);
                    assert.deepEqual(d.problems.filter((x) => !x.startsWith("the stack has no GPU nodes")), []);
                }
            }
            assert.ok(fs.readFileSync(path.join(dir, "conformance.md"), "utf8").includes("Stand-ins"));
        });
    }

    it("the gpu-sharing example: time-sliced A10G and MIG A100 nodes advertise their replicas and slices, and every pod placed on them runs", async () => {
        const dir = path.join(TMP, "gpu-sharing");
        const config = path.join(ROOT, "examples", "gpu-sharing", "Pulumi.gpu-sharing.yaml");
        const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, path.join(ROOT, "plan", "cli.ts"), "--stack", "gpu-sharing", "--config", config, "--out", dir], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr + r.stdout);
        const { code, result } = await conform("gpu-sharing", dir);
        assert.deepEqual(result.failures, []);
        assert.equal(code, 0);
        const max = result.passes.find((p) => p.scale === "max")!;
        // One p4d (8 GPUs) holds 13 one-device pods, two g5.xlarge (one GPU each) hold the embedder's four.
        assert.equal(max.nodes["a100-mig"], 1);
        assert.equal(max.nodes["a10g-shared"], 2);
        for (const w of max.workloads) assert.ok(w.agrees && w.observed, `${w.workload}: ${w.observedDetail}`);
        assert.deepEqual(max.workloads.map((w) => w.workload).sort(), ["Deployment ml-serving/chat-7b-int8", "Deployment ml-serving/embedder", "Job ml-training/adapter-finetune"]);
        assert.ok(result.standIns.some((s) => s.startsWith("GPU sharing stands in")));
    });

    it("dev with nodeProvisioner karpenter: NodePools and EC2NodeClasses pass Karpenter's own CRDs, and its pools' kwok nodes run what the plan says", async () => {
        const configDir = path.join(TMP, "karpenter-config");
        fs.mkdirSync(configDir, { recursive: true });
        const config = path.join(configDir, "Pulumi.dev.yaml");
        fs.writeFileSync(config, fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8").replace("  ml-platform:environment: dev\n", "  ml-platform:environment: dev\n  ml-platform:nodeProvisioner: karpenter\n"));
        const dir = path.join(TMP, "dev-karpenter");
        const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, path.join(ROOT, "plan", "cli.ts"), "--stack", "dev", "--config", config, "--out", dir], { cwd: ROOT, encoding: "utf8" });
        assert.equal(r.status, 0, r.stderr + r.stdout);
        const objects = loadAll(fs.readFileSync(path.join(dir, "manifests", "all.yaml"), "utf8")) as any[];
        assert.deepEqual(objects.filter((o) => o.kind === "NodePool" || o.kind === "EC2NodeClass").map((o) => `${o.kind}/${o.metadata.name}`).sort(), ["EC2NodeClass/a100", "EC2NodeClass/a10g", "NodePool/a100", "NodePool/a10g"]);
        const { code, result } = await conform("dev", dir);
        assert.deepEqual(result.failures, []);
        assert.equal(code, 0);
        for (const p of result.passes) {
            assert.deepEqual(p.rejected, []);
            for (const w of p.workloads) assert.ok(w.agrees && w.observed, `${p.scale} ${w.workload}: ${w.observedDetail}`);
        }
        assert.ok(result.standIns.some((n) => n.startsWith("Karpenter stands in")));
    });

    it("--kubeconfig: runs against an existing cluster (kwok started against it), one pass, and removes what it made", async () => {
        const dir = path.join(TMP, "existing");
        planInto("dev", dir);
        const cluster = await startControlPlane({ kwok: false });
        try {
            const code = await main(["--stack", "dev", "--plan", dir, "--kubeconfig", cluster.kubeconfig]);
            const result: ConformanceResult = JSON.parse(fs.readFileSync(path.join(dir, "conformance.json"), "utf8"));
            assert.deepEqual(result.failures, []);
            assert.equal(code, 0);
            assert.deepEqual(result.passes.map((p) => p.scale), ["max"]);
            assert.ok(result.passes[0].workloads.every((w) => w.observed));
            assert.deepEqual(await cluster.kube.list("v1", "Node"), [], "the kwok nodes are gone");
            assert.equal(await cluster.kube.get("apps/v1", "Deployment", "ml-serving", "recommendation-model"), undefined);
        } finally {
            await cluster.stop();
        }
    });

    it("Kueue's real manager on prod with three 16-GPU EFA gangs: two are admitted whole (every pod runs), the third stays suspended with no pod", async () => {
        const base = path.join(TMP, "prod-gangs-base");
        planInto("prod", base);
        const dir = brokenPlan(base, "prod-gangs", (objects) => {
            const gang = find(objects, "PyTorchJob", "llm-distributed");
            for (const n of [2, 3]) objects.push({ ...structuredClone(gang), metadata: { ...structuredClone(gang.metadata), name: `llm-distributed-${n}` } });
        });
        // The copies are not in the plan's summary, so the run reports disagreements about them; what is
        // checked here is Kueue's own all-or-nothing admission: the cohort's 32 A100s hold two gangs of 16.
        // Which two is Kueue's choice among equal-priority jobs (the planner takes declaration order).
        const { result } = await conform("prod", dir);
        assert.ok(result.standIns.some((n) => n.startsWith("Kueue runs for real")), result.standIns.join("\n"));
        const max = result.passes.find((p) => p.scale === "max")!;
        const gangs = max.workloads.filter((w) => /PyTorchJob ml-training\/llm-distributed(-\d)?$/.test(w.workload));
        assert.equal(gangs.length, 3, gangs.map((g) => g.workload).join(", "));
        const running = gangs.filter((g) => /^2\/2 pods bound, 2 running|^NOT suspended, 2 pods/.test(g.observedDetail));
        // No pod at all: never unsuspended (the operator stand-in makes a gang's pods the moment Kueue unsuspends it).
        const waiting = gangs.filter((g) => /^suspended, 0 pods|^0\/2 pods bound, 0 running; only 0 of 2 pods were created/.test(g.observedDetail));
        assert.equal(running.length, 2, gangs.map((g) => `${g.workload}: ${g.observedDetail}`).join("\n"));
        assert.equal(waiting.length, 1, gangs.map((g) => `${g.workload}: ${g.observedDetail}`).join("\n"));
    });

    describe("breaks it must catch", () => {
        const devPlan = path.join(TMP, "dev-base");
        before(() => planInto("dev", devPlan));

        it("the device plugin without its GPU-taint toleration: no device plugin pod on the GPU nodes", async () => {
            const dir = brokenPlan(devPlan, "no-toleration", (objects) => {
                delete find(objects, "DaemonSet", "nvidia-device-plugin").spec.template.spec.tolerations;
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(
                result.failures.some((f) => f.includes("nvidia-device-plugin") && f.includes("no pod on GPU node")),
                result.failures.join("\n"),
            );
        });

        it("a request larger than any node: Pending with the scheduler's Insufficient message", async () => {
            const dir = brokenPlan(devPlan, "too-big", (objects) => {
                const c = find(objects, "Deployment", "recommendation-model").spec.template.spec.containers[0];
                c.resources.requests["nvidia.com/gpu"] = "16";
                c.resources.limits["nvidia.com/gpu"] = "16";
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(
                result.failures.some((f) => f.includes("recommendation-model") && f.includes("the plan says schedulable") && f.includes("Insufficient nvidia.com/gpu")),
                result.failures.join("\n"),
            );
        });

        it("a nodeSelector no pool has: Pending because no node matches", async () => {
            const dir = brokenPlan(devPlan, "no-pool", (objects) => {
                find(objects, "Deployment", "recommendation-model").spec.template.spec.nodeSelector = { "node-pool": "h100" };
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(
                result.failures.some((f) => f.includes("recommendation-model") && /didn't match Pod's node affinity\/selector/.test(f)),
                result.failures.join("\n"),
            );
        });

        it("a queued Job selecting a pool no flavor provides: Kueue never admits it, and the run says so", async () => {
            const dir = brokenPlan(devPlan, "no-flavor", (objects) => {
                find(objects, "Job", "bert-finetune").spec.template.spec.nodeSelector = { "node-pool": "h100" };
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(
                result.failures.some((f) => f.includes("bert-finetune") && f.includes("Kueue would never admit it") && f.includes("no flavor of ClusterQueue training")),
                result.failures.join("\n"),
            );
        });

        it("a field Kubernetes does not know: strict field validation rejects the object", async () => {
            const dir = brokenPlan(devPlan, "unknown-field", (objects) => {
                find(objects, "Deployment", "recommendation-model").spec.template.spec.containers[0].gpuCount = 1;
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            // Server-side apply refuses a field the schema does not declare, whatever the client asked for.
            assert.ok(result.failures.some((f) => f.includes("rejected Deployment ml-serving/recommendation-model") && f.includes("gpuCount: field not declared in schema")), result.failures.join("\n"));
        });

        it("an alert whose duration Prometheus cannot parse: the operator's PrometheusRule CRD refuses the rule", async () => {
            const dir = brokenPlan(devPlan, "bad-alert-for", (objects) => {
                const rule = find(objects, "PrometheusRule", "ml-platform");
                rule.spec.groups.flatMap((g: any) => g.rules).find((r: any) => r.alert === "GpuPodPendingTooLong").for = "15 minutes";
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(result.failures.some((f) => f.includes("rejected PrometheusRule monitoring/ml-platform") && f.includes("15 minutes")), result.failures.join("\n"));
            assert.ok(result.standIns.some((s) => s.includes("prometheus-operator Go module at v0.92.1")));
        });

        it("a ClusterQueue in Kueue's old spelling (spec.cohort): Kueue's real CRD refuses the field", async () => {
            const dir = brokenPlan(devPlan, "kueue-cohort", (objects) => {
                const q = find(objects, "ClusterQueue", "training");
                q.spec.cohort = q.spec.cohortName;
                delete q.spec.cohortName;
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(result.failures.some((f) => f.includes("rejected ClusterQueue training") && f.includes("cohort")), result.failures.join("\n"));
        });

        it("a pod that breaks the restricted Pod Security level: admission refuses its pods", async () => {
            const dir = brokenPlan(devPlan, "privileged", (objects) => {
                find(objects, "Job", "bert-finetune").spec.template.spec.hostNetwork = true;
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(result.failures.some((f) => f.includes("bert-finetune") && f.includes("violates PodSecurity")), result.failures.join("\n"));
        });

        const trainStep = (objects: any[]) => find(objects, "WorkflowTemplate", "recsys-retrain").spec.templates.find((t: any) => t.name === "step-train");

        it("a pipeline step field Argo does not know: its full CRD rejects the WorkflowTemplate", async () => {
            const dir = brokenPlan(devPlan, "argo-unknown-field", (objects) => {
                trainStep(objects).container.gpuCount = 1;
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(result.failures.some((f) => f.includes("rejected WorkflowTemplate ml-pipelines/recsys-retrain") && f.includes("gpuCount")), result.failures.join("\n"));
        });

        it("a pipeline step naming a LocalQueue its namespace lacks: Kueue never admits its pod, which stays gated", async () => {
            const dir = brokenPlan(devPlan, "step-no-queue", (objects) => {
                trainStep(objects).metadata.labels["kueue.x-k8s.io/queue-name"] = "nowhere";
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(result.failures.some((f) => f.includes("recsys-retrain") && f.includes("SchedulingGated")), result.failures.join("\n"));
        });

        it("a pipeline step that breaks the restricted Pod Security level: admission refuses the step's pod", async () => {
            const dir = brokenPlan(devPlan, "argo-escalation", (objects) => {
                trainStep(objects).container.securityContext.allowPrivilegeEscalation = true;
            });
            const { code, result } = await conform("dev", dir);
            assert.equal(code, 1);
            assert.ok(result.failures.some((f) => f.includes("recsys-retrain-stand-in-train") && f.includes("violates PodSecurity")), result.failures.join("\n"));
        });
    });
});
