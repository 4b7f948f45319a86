import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseAllDocuments } from "yaml";
import { parseArgs } from "../plan/cli";
import { UsageError } from "../plan/stackConfig";
import { MANIFESTS_DIR, PLAN_FILES } from "../plan/writer";
import { plan, planOf, tempDir } from "./fixtures";
import { CLI_NODE_ARGS, ROOT, runCli } from "./helpers";

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string): string[] {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
        .sort();
}

for (const stack of ["dev", "prod"] as const) {
    describe(`offline plan end to end: ${stack}`, () => {
        let out: string;
        let exitCode: number;
        before(async () => {
            const written = await planOf(stack);
            out = written.out;
            exitCode = written.result.exitCode;
        });

        it("exits 0 and writes the contract's files", () => {
            assert.equal(exitCode, 0);
            for (const f of ["resources.json", "summary.json", "report.md", "policy.json", "manifests/all.yaml"]) {
                assert.ok(existsSync(path.join(out, f)), `${f} missing`);
            }
        });

        it("renders one valid YAML per Kubernetes object, and all.yaml in apply order", () => {
            const files = readdirSync(path.join(out, "manifests")).filter((f) => f !== "all.yaml" && f !== "patches.yaml");
            const all = parseAllDocuments(readFileSync(path.join(out, "manifests/all.yaml"), "utf8")).map((d) => d.toJS());
            const patchFiles = files.filter((f) => /^\d+-[a-z]+patch-/.test(f));
            // all.yaml applies as it stands: a patch (a partial object) lives in patches.yaml only.
            const patchesPath = path.join(out, "manifests/patches.yaml");
            const patches = existsSync(patchesPath) ? parseAllDocuments(readFileSync(patchesPath, "utf8")).map((d) => d.toJS()) : [];
            assert.equal(patches.length, patchFiles.length);
            assert.equal(existsSync(patchesPath), patchFiles.length > 0);
            assert.equal(all.length, files.length - patchFiles.length);
            const kinds = all.map((o) => o.kind);
            assert.equal(kinds[0], "Namespace");
            assert.ok(kinds.indexOf("PersistentVolumeClaim") > kinds.lastIndexOf("StorageClass"));
            const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
            assert.deepEqual(summary.invalidManifests, []);
            assert.equal(summary.manifestCount, files.length);
        });

        it("summarises pools, namespaces and storage as the contract says", () => {
            const s = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
            assert.equal(s.stack, stack);
            assert.ok(s.resourceCount > 40);
            for (const p of s.nodePools) {
                for (const k of ["name", "instanceType", "gpuModel", "gpusPerNode", "gpuMemoryMiB", "minSize", "maxSize", "capacityType", "taints", "labels"]) {
                    assert.ok(k in p, `nodePools[].${k}`);
                }
            }
            const system = s.nodePools.find((p: any) => p.name === "system");
            assert.equal(system.gpusPerNode, 0);
            const a100 = s.nodePools.find((p: any) => p.name === "a100");
            assert.equal(a100.gpusPerNode, 8);
            assert.equal(a100.gpuMemoryMiB, 40960);
            assert.deepEqual(a100.taints, [{ key: "dedicated", value: "ml-workloads", effect: "NoSchedule" }]);
            assert.deepEqual(s.namespaces, ["ml-serving", "ml-training", "ml-pipelines"]);
            assert.equal(s.storage.storageClass, "efs-ml");
            assert.deepEqual(
                s.storage.pvcs.map((c: any) => [c.namespace, c.name, c.accessModes]),
                [
                    ["ml-training", "training-data", ["ReadWriteMany"]],
                    ["ml-training", "checkpoints", ["ReadWriteMany"]],
                    ["ml-serving", "model-cache", ["ReadWriteMany"]],
                    ["ml-pipelines", "checkpoints", ["ReadWriteMany"]],
                ],
            );
        });

        it("records options the engine would see and never writes the secret's value", () => {
            const text = readFileSync(path.join(out, "resources.json"), "utf8");
            const { resources } = JSON.parse(text);
            for (const r of resources) {
                assert.ok("protect" in r.options && "retainOnDelete" in r.options && Array.isArray(r.options.dependsOn));
            }
            // The stack file's ciphertext never reaches the plan; the secret stands as a placeholder.
            const cipher = /secure: (\S+)/.exec(readFileSync(path.join(ROOT, `Pulumi.${stack}.yaml`), "utf8"))![1];
            const all = readFileSync(path.join(out, "manifests/all.yaml"), "utf8");
            assert.ok(!text.includes(cipher) && !all.includes(cipher), "ciphertext written");
            // The pipelines' service-account token Secret carries no data: the token controller fills it in the cluster.
            const secrets = resources.filter((r: any) => r.type === "kubernetes:core/v1:Secret" && r.inputs.type !== "kubernetes.io/service-account-token");
            assert.ok(secrets.length > 0);
            for (const r of secrets) {
                assert.equal(r.hasSecretInputs, true);
                assert.deepEqual(Object.values(r.inputs.stringData), ["[secret]"]);
            }
        });

        it("writes a report a reviewer can read", () => {
            const md = readFileSync(path.join(out, "report.md"), "utf8");
            for (const h of ["## Node pools", "## GPU capacity", "## Storage", "## Workloads", "## Resources by type"]) {
                assert.ok(md.includes(h), h);
            }
            assert.ok(md.includes("dedicated=ml-workloads:NoSchedule"));
        });
    });
}

describe("offline plan: bad input", () => {
    it("exits 2 on invalid config, names the key, and writes nothing", async () => {
        const dir = tempDir("plan-bad");
        const cfg = path.join(dir, "Pulumi.bad.yaml");
        const text = readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8").replace("maxSize: 4", "maxSize: -4");
        writeFileSync(cfg, text);
        const out = path.join(dir, "out");
        const r = await plan(["--stack", "bad", "--config", cfg, "--out", out]);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /ml-platform:nodePools\.a10g\.maxSize must be >= 1, got -4/);
        assert.ok(!existsSync(out), "nothing written");
    });

    it("exits 2, not 1 with a stack trace, on values the estimator and the S3 grant would refuse, and names them all", async () => {
        const dir = tempDir("plan-estimator");
        const cfg = path.join(dir, "Pulumi.bad.yaml");
        const prod = readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8");
        const text = prod
            .replace("        attentionHeads: 32\n        precision: bfloat16\n        batchSize: 1", "        attentionHeads: 32\n        kvHeads: 5\n        precision: bfloat16\n        batchSize: 1")
            .replace("modelUri: s3://ml-models-prod/llm-chat-7b/v1/", "modelUri: s3://ml-models-prod/llm-chat-7b/*/");
        assert.notEqual(text, prod);
        writeFileSync(cfg, text);
        const out = path.join(dir, "out");
        const r = await plan(["--stack", "bad", "--config", cfg, "--out", out]);
        assert.equal(r.code, 2, r.stderr);
        assert.match(r.stderr, /ml-platform:serving\[1\]\.model\.kvHeads must divide model\.attentionHeads \(32\), got 5; allowed: 1, 2, 4, 8, 16, 32/);
        assert.match(r.stderr, /ml-platform:serving\[1\]\.modelUri .*got "s3:\/\/ml-models-prod\/llm-chat-7b\/\*\/"/);
        assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
        assert.ok(!existsSync(out), "nothing written");
    });

    it("exits 2 on usage errors", async () => {
        for (const args of [[], ["--stack", "nosuchstack"], ["--stack", "dev", "--bogus"]]) {
            assert.throws(() => parseArgs(args, ROOT), UsageError, args.join(" "));
            const r = await plan(args);
            assert.equal(r.code, 2, args.join(" "));
            assert.match(r.stderr, /^error: .*\nnothing was written\.\n$/s);
        }
    });

    it("names what is wrong with the arguments", () => {
        assert.throws(() => parseArgs([], ROOT), /--stack is required/);
        assert.throws(() => parseArgs(["--stack", "nosuchstack"], ROOT), /no stack config at .*Pulumi\.nosuchstack\.yaml/);
        assert.throws(() => parseArgs(["--stack", "dev", "--bogus"], ROOT), /unknown argument "--bogus"/);
        assert.throws(() => parseArgs(["--stack"], ROOT), /--stack needs a value/);
        assert.throws(() => parseArgs(["--stack", "a/b"], ROOT), /may only use letters/);
    });
});

describe("npm run plan as a separate process (the one spawn of this CLI)", () => {
    it("exits 0, says what it wrote, and writes exactly the bytes of the in-process plan", async () => {
        const out = path.join(tempDir("plan-spawn"), "out");
        const r = runCli("cli.ts", ["--stack", "dev", "--out", out]);
        assert.equal(r.code, 0, r.stderr + r.stdout);
        assert.match(r.stdout, /^plan dev: valid — \d+ resources, \d+ Kubernetes objects\nwrote .*\/\{resources\.json,summary\.json,report\.md,policy\.json,manifests\/\}\n$/);
        assert.equal(r.stderr, "");
        const fixture = (await planOf("dev")).out;
        const files = filesUnder(out);
        assert.deepEqual(files, filesUnder(fixture));
        for (const f of [...PLAN_FILES, path.join(MANIFESTS_DIR, "all.yaml")]) {
            assert.ok(files.includes(f), f);
        }
        for (const f of files) {
            assert.ok(readFileSync(path.join(out, f)).equals(readFileSync(path.join(fixture, f))), `${f} differs`);
        }
    });
});

describe("plan launch flags", () => {
    it("tests start the CLIs exactly as the npm scripts do", () => {
        const scripts = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
        assert.equal(scripts.plan, `node ${CLI_NODE_ARGS.join(" ")} plan/cli.ts`);
        assert.equal(scripts.policy, `node ${CLI_NODE_ARGS.join(" ")} plan/policy-cli.ts`);
    });
});
