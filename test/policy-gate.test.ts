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

    describe("a dev stack on an instance type dev does not allow (p4de.24xlarge): validation says so, with the rule's own function", () => {
        const dir = tmp();
        const config = path.join(dir, "Pulumi.dev.yaml");
        before(() => {
            const doc = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
            doc.config["ml-platform:nodePools"].a100.instanceType = "p4de.24xlarge";
            writeFileSync(config, stringify(doc));
        });

        for (const script of ["policy-cli.ts", "cli.ts"] as const) {
            it(`${script} exits 2 naming the key, the value and what policy/config/dev.json allows`, async () => {
                const r = await cli(script, ["--stack", "dev", "--config", config, "--out", path.join(dir, script)]);
                assert.equal(r.code, 2, r.out);
                assert.match(r.out, /ml-platform:nodePools\.a100\.instanceType is not allowed by policy\/config\/dev\.json \(instance-types-allowed\), got "p4de\.24xlarge"; allowed: .*p4d\.24xlarge/);
            });
        }
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

    it("npm run policy as a separate process (the one spawn of this CLI): exit 2 on a config the policy config forbids, as in process", async () => {
        const dir = tmp();
        const config = path.join(dir, "Pulumi.dev.yaml");
        const doc = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
        doc.config["ml-platform:nodePools"].a100.instanceType = "p4de.24xlarge";
        writeFileSync(config, stringify(doc));
        const spawned = runCli("policy-cli.ts", ["--stack", "dev", "--config", config, "--out", path.join(dir, "spawned")]);
        const inProcess = await cli("policy-cli.ts", ["--stack", "dev", "--config", config, "--out", path.join(dir, "in-process")]);
        assert.equal(spawned.code, 2, spawned.stdout + spawned.stderr);
        assert.equal(inProcess.code, 2, inProcess.out);
        assert.match(spawned.stdout + spawned.stderr, /instance-types-allowed\), got "p4de\.24xlarge"/);
    });
});
