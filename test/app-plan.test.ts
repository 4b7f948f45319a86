import { strict as assert } from "node:assert";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseArgs } from "../plan/cli";
import { CONTRACT_VERSION } from "../stacks/contract";
import { runPolicies } from "../plan/policy";
import { workloadsSchedulable } from "../policy/rules/capacity";
import { CliRun, plan, planOf, tempDir } from "./fixtures";
import { ROOT } from "./helpers";

const APP = path.join(ROOT, "examples/app-team");

describe("offline plan of the app-team example against a platform plan", () => {
    const dir = tempDir("app-plan");
    const appOut = path.join(dir, "app");
    let platformOut: string;
    let app: CliRun;
    before(async () => {
        platformOut = (await planOf("dev")).out;
        app = await plan(["--program", APP, "--stack", "dev", "--platform-outputs", path.join(platformOut, "resources.json"), "--out", appOut]);
    });

    it("writes the platform's files for the example, and passes (policy included)", () => {
        assert.ok(existsSync(path.join(platformOut, "resources.json")));
        for (const f of ["resources.json", "summary.json", "report.md", "policy.json", "manifests/all.yaml"]) {
            assert.ok(existsSync(path.join(appOut, f)), `${f} missing: ${app.stderr}`);
        }
        const summary = JSON.parse(readFileSync(path.join(appOut, "summary.json"), "utf8"));
        assert.equal(summary.project, "ml-app-team");
        assert.deepEqual(summary.platformStacks, ["acme/ml-platform/dev"]);
        assert.equal(summary.environment, "dev");
        assert.deepEqual(summary.invalidManifests, []);
        assert.equal(summary.manifestCount, 5);
        assert.equal(app.code, 0, app.stdout + app.stderr);
        assert.equal(summary.policy.mandatory, 0);
    });

    it("places the model server on the platform's A10G pool, and says whether it shares room with the platform's workloads", () => {
        const summary = JSON.parse(readFileSync(path.join(appOut, "summary.json"), "utf8"));
        assert.equal(summary.workloads.length, 1);
        const [w] = summary.workloads;
        assert.deepEqual([w.name, w.pool, w.schedulable], ["sentiment-model", "a10g", true]);
        assert.equal(typeof w.withPlatformWorkloads.schedulable, "boolean");
        assert.match(readFileSync(path.join(appOut, "report.md"), "utf8"), /## Placement on the platform's pools/);
    });

    it("never writes the platform's kubeconfig", () => {
        const text = readFileSync(path.join(appOut, "resources.json"), "utf8");
        assert.ok(!text.includes("get-token"));
        assert.ok(!text.includes("not available to the offline plan"));
    });

    it("exits 2 naming the key, without a stack trace, and writes nothing when the project's own config is bad", async () => {
        const config = path.join(dir, "Pulumi.bad.yaml");
        const text = readFileSync(path.join(APP, "Pulumi.dev.yaml"), "utf8").replace("ml-app-team:gpus: 1", "ml-app-team:gpus: 0");
        assert.ok(text.includes("gpus: 0"));
        writeFileSync(config, text);
        const out = path.join(dir, "bad-out");
        const r = await plan(["--program", APP, "--stack", "dev", "--config", config, "--platform-outputs", path.join(platformOut, "resources.json"), "--out", out]);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /error: invalid config:\n {2}ml-app-team:gpus /);
        assert.match(r.stderr, /nothing was written/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
        assert.ok(!existsSync(out));
    });

    it("exits 2 and writes nothing when the platform exports another contract major", async () => {
        const v2 = path.join(dir, "v2.json");
        const doc = JSON.parse(readFileSync(path.join(platformOut, "resources.json"), "utf8"));
        doc.outputs.contractVersion.value = "2.0.0";
        writeFileSync(v2, JSON.stringify(doc));
        const out = path.join(dir, "v2-out");
        const r = await plan(["--program", APP, "--stack", "dev", "--platform-outputs", v2, "--out", out]);
        assert.equal(r.code, 2, r.stderr);
        const [major, minor] = CONTRACT_VERSION.split(".");
        assert.ok(r.stderr.includes(`exports contract 2.0.0; this consumer was built against ${major}.x (>= ${major}.${minor}). Upgrade the consumer to a 2.x contract reader.`), r.stderr);
        assert.ok(!existsSync(out));
    });
});

describe("offline plan CLI: another project's arguments", () => {
    it("plans the platform by default and another project into its own out/ directory", () => {
        const platform = parseArgs(["--stack", "dev"], ROOT);
        assert.equal(platform.program, ROOT);
        assert.equal(platform.out, path.join(ROOT, "out", "dev"));
        const resources = path.join(ROOT, "package.json"); // any existing file: parseArgs checks existence only
        const app = parseArgs(["--program", "examples/app-team", "--stack", "dev", "--platform-outputs", resources], ROOT);
        assert.equal(app.config, path.join(APP, "Pulumi.dev.yaml"));
        assert.equal(app.out, path.join(APP, "out", "dev"));
    });

    it("refuses another project without platform outputs, platform outputs for the platform, and a directory without Pulumi.yaml", () => {
        assert.throws(() => parseArgs(["--program", "examples/app-team", "--stack", "dev"], ROOT), /--program needs --platform-outputs/);
        assert.throws(() => parseArgs(["--stack", "dev", "--platform-outputs", "package.json"], ROOT), /--platform-outputs is for planning another project/);
        assert.throws(() => parseArgs(["--program", "stacks", "--stack", "dev"], ROOT), /is not a Pulumi project/);
        assert.throws(() => parseArgs(["--program", "examples/app-team", "--stack", "dev", "--platform-outputs", "out/nope.json"], ROOT), /no platform plan at/);
    });
});

describe("workloads-schedulable in a stack without node pools", () => {
    it("leaves placement to the platform's pools (an app team's project owns no nodes)", async () => {
        const deployment = {
            type: "kubernetes:apps/v1:Deployment",
            name: "server",
            inputs: {
                metadata: { name: "server", namespace: "ml-serving" },
                spec: { replicas: 1, template: { spec: { containers: [{ name: "s", image: "s:v1", resources: { requests: { cpu: "1", memory: "1Gi", "nvidia.com/gpu": "1" } } }] } } },
            },
        };
        assert.deepEqual(await runPolicies([deployment], {}, [workloadsSchedulable]), []);
    });
});
