/** The policy gate through the CLIs: policy.json, the report's Policy section and the exit codes. */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { ROOT, runCli } from "./helpers";

function cli(script: string, args: string[]) {
    const r = runCli(script, args);
    return { code: r.code, out: r.stdout + r.stderr };
}

const tmp = () => mkdtempSync(path.join(tmpdir(), "ml-platform-policy-"));

describe("policy gate through the CLIs", () => {
    it("the plan writes policy.json and a passing Policy section for prod", () => {
        const out = tmp();
        const r = cli("cli.ts", ["--stack", "prod", "--out", out]);
        assert.equal(r.code, 0, r.out);
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

        it("npm run policy exits 1 and writes the violation to policy.json", () => {
            const out = path.join(dir, "policy-out");
            const r = cli("policy-cli.ts", ["--stack", "dev", "--config", config, "--out", out]);
            assert.equal(r.code, 1, r.out);
            assert.match(r.out, /policy dev: FAIL — \d+ rules \(policy\/config\/dev.json\), 1 mandatory/);
            const violations = JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8"));
            assert.deepEqual(
                violations.map((v: Record<string, unknown>) => [v.policy, v.enforcementLevel, v.severity, (v.resource as { type: string }).type]),
                [["instance-types-allowed", "mandatory", "high", "eks:index:ManagedNodeGroup"]],
            );
            assert.match(violations[0].message, /uses GPU instance type p4de.24xlarge, which this stack does not allow/);
        });

        it("the plan exits 1, says why, and lists the violation in the report", () => {
            const out = path.join(dir, "plan-out");
            const r = cli("cli.ts", ["--stack", "dev", "--config", config, "--out", out]);
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
        const platform = path.join(dir, "platform-prod");
        before(() => {
            const r = cli("cli.ts", ["--stack", "prod", "--out", platform]);
            assert.equal(r.code, 0, r.out);
        });

        it("passes the example's prod stack and writes an empty policy.json", () => {
            const out = path.join(dir, "app-ok");
            const r = cli("policy-cli.ts", ["--program", app, "--stack", "prod", "--platform-outputs", path.join(platform, "resources.json"), "--out", out]);
            assert.equal(r.code, 0, r.out);
            assert.match(r.out, /policy prod: pass — \d+ rules \(policy\/config\/prod.json\), 0 mandatory/);
            assert.deepEqual(JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8")), []);
        });

        it("fails one replica on the prod platform (prod's HPA minimum), exit 1", () => {
            const config = path.join(dir, "Pulumi.prod.yaml");
            const doc = parse(readFileSync(path.join(app, "Pulumi.prod.yaml"), "utf8"));
            doc.config["ml-app-team:minReplicas"] = 1;
            writeFileSync(config, stringify(doc));
            const out = path.join(dir, "app-one-replica");
            const r = cli("policy-cli.ts", ["--program", app, "--stack", "prod", "--config", config, "--platform-outputs", path.join(platform, "resources.json"), "--out", out]);
            assert.equal(r.code, 1, r.out);
            const violations = JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8"));
            assert.ok(violations.some((v: Record<string, unknown>) => v.policy === "serving-hpa-bounds" && v.enforcementLevel === "mandatory"), JSON.stringify(violations));
        });
    });

    it("npm run policy exits 2 on usage errors", () => {
        const r = cli("policy-cli.ts", ["--stack", "nope"]);
        assert.equal(r.code, 2, r.out);
        assert.match(r.out, /no stack config at .*Pulumi.nope.yaml/);
    });
});
