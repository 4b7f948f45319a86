/** The policy gate through the CLIs: policy.json, the report's Policy section and the exit codes. */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { plan, planOf, policy, tempDir } from "./fixtures";
import { ROOT, runCli } from "./helpers";

const COMMANDS = { "cli.ts": plan, "policy-cli.ts": policy };

/** A CLI in this process, its stdout and stderr together. */
async function cli(script: keyof typeof COMMANDS, args: string[]) {
    const r = await COMMANDS[script](args);
    return { code: r.code, out: r.stdout + r.stderr };
}

const tmp = () => tempDir("policy");

describe("policy gate through the CLIs", () => {
    it("the plan writes policy.json and a passing Policy section for prod", async () => {
        const { out, result } = await planOf("prod");
        assert.equal(result.exitCode, 0, result.headline);
        assert.deepEqual(JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8")), []);
        const report = readFileSync(path.join(out, "report.md"), "utf8");
        assert.match(report, /## Policy\nPolicy pack `ml-platform` v\d+\.\d+\.\d+, \d+ rules, config `policy\/config\/prod.json`: \*\*pass\*\*/);
    });

    describe("a dev stack on an instance type dev does not allow (p4de.24xlarge)", () => {
        const dir = tmp();
        const config = path.join(dir, "Pulumi.dev.yaml");
        before(() => {
            const doc = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
            doc.config["ml-platform:nodePools"].a100.instanceType = "p4de.24xlarge";
            writeFileSync(config, stringify(doc));
        });

        it("npm run policy exits 1 and writes the violation to policy.json", async () => {
            const out = path.join(dir, "policy-out");
            const r = await cli("policy-cli.ts", ["--stack", "dev", "--config", config, "--out", out]);
            assert.equal(r.code, 1, r.out);
            assert.match(r.out, /policy dev: FAIL — \d+ rules \(policy\/config\/dev.json\), 1 mandatory/);
            const violations = JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8"));
            assert.deepEqual(
                violations.map((v: Record<string, unknown>) => [v.policy, v.enforcementLevel, v.severity, (v.resource as { type: string }).type]),
                [["instance-types-allowed", "mandatory", "high", "eks:index:ManagedNodeGroup"]],
            );
            assert.match(violations[0].message, /uses GPU instance type p4de.24xlarge, which this stack does not allow/);
        });

        it("the plan exits 1, says why, and lists the violation in the report", async () => {
            const out = path.join(dir, "plan-out");
            const r = await cli("cli.ts", ["--stack", "dev", "--config", config, "--out", out]);
            assert.equal(r.code, 1, r.out);
            assert.match(r.out, /plan dev: INVALID — 1 mandatory policy violation\(s\)/);
            const report = readFileSync(path.join(out, "report.md"), "utf8");
            assert.match(report, /Verdict: \*\*INVALID\*\*/);
            assert.match(report, /\*\*FAIL\*\* — 1 mandatory, 0 advisory/);
            assert.match(report, /\| mandatory \| high \| instance-types-allowed \| `dev-pool-a100-mng` \|/);
        });
    });

    describe("npm run policy on another project (--program), judged by the platform environment's config", () => {
        const dir = tmp();
        const app = path.join(ROOT, "examples/app-team");
        let platform: string;
        before(async () => {
            const prod = await planOf("prod");
            assert.equal(prod.result.exitCode, 0, prod.result.headline);
            platform = prod.out;
        });

        it("passes the example's prod stack and writes an empty policy.json", async () => {
            const out = path.join(dir, "app-ok");
            const r = await cli("policy-cli.ts", ["--program", app, "--stack", "prod", "--platform-outputs", path.join(platform, "resources.json"), "--out", out]);
            assert.equal(r.code, 0, r.out);
            assert.match(r.out, /policy prod: pass — \d+ rules \(policy\/config\/prod.json\), 0 mandatory/);
            assert.deepEqual(JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8")), []);
        });

        it("fails one replica on the prod platform (prod's HPA minimum), exit 1", async () => {
            const config = path.join(dir, "Pulumi.prod.yaml");
            const doc = parse(readFileSync(path.join(app, "Pulumi.prod.yaml"), "utf8"));
            doc.config["ml-app-team:minReplicas"] = 1;
            writeFileSync(config, stringify(doc));
            const out = path.join(dir, "app-one-replica");
            const r = await cli("policy-cli.ts", ["--program", app, "--stack", "prod", "--config", config, "--platform-outputs", path.join(platform, "resources.json"), "--out", out]);
            assert.equal(r.code, 1, r.out);
            const violations = JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8"));
            assert.ok(violations.some((v: Record<string, unknown>) => v.policy === "serving-hpa-bounds" && v.enforcementLevel === "mandatory"), JSON.stringify(violations));
        });
    });

    it("npm run policy exits 2 on usage errors", async () => {
        const r = await cli("policy-cli.ts", ["--stack", "nope"]);
        assert.equal(r.code, 2, r.out);
        assert.match(r.out, /no stack config at .*Pulumi.nope.yaml/);
    });

    it("npm run policy as a separate process (the one spawn of this CLI): exit 1, its verdict, and the in-process policy.json", async () => {
        const dir = tmp();
        const config = path.join(dir, "Pulumi.dev.yaml");
        const doc = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
        doc.config["ml-platform:nodePools"].a100.instanceType = "p4de.24xlarge";
        writeFileSync(config, stringify(doc));
        const spawned = runCli("policy-cli.ts", ["--stack", "dev", "--config", config, "--out", path.join(dir, "spawned")]);
        const inProcess = await cli("policy-cli.ts", ["--stack", "dev", "--config", config, "--out", path.join(dir, "in-process")]);
        assert.equal(spawned.code, 1, spawned.stdout + spawned.stderr);
        assert.equal(spawned.stderr, "");
        assert.match(spawned.stdout, /^\[mandatory\/high\] instance-types-allowed — eks:index:ManagedNodeGroup dev-pool-a100-mng: /);
        assert.match(spawned.stdout, /\npolicy dev: FAIL — \d+ rules \(policy\/config\/dev.json\), 1 mandatory, 0 advisory violation\(s\)\nwrote .*spawned\/policy\.json\n$/);
        assert.equal(spawned.stdout.replace("spawned/", "in-process/"), inProcess.out);
        assert.ok(readFileSync(path.join(dir, "spawned", "policy.json")).equals(readFileSync(path.join(dir, "in-process", "policy.json"))));
    });
});
