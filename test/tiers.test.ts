/**
 * Stacks beyond dev and prod (issue 18): any stack name with a tier, the tier driving every protection
 * and the policy config, and stack files of one project that would collide in AWS refused (exit 2).
 */
import { strict as assert } from "node:assert";
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { projectStacks, siblingStackConflicts } from "../plan/siblings";
import { cidrRange, cidrsOverlap, siblingConflicts, SiblingStack } from "../stacks/siblings";
import { resolveTier, tierProtections } from "../stacks/tiers";
import { buildStackSpec, RawConfig } from "../stacks/validate";
import { plan, platformRun, preflight, tempDir } from "./fixtures";
import { problemsOf, rawConfigOf, ROOT, withKey } from "./helpers";


const dev = rawConfigOf("dev");
const staging = rawConfigOf("staging");
const withValues = (raw: RawConfig, values: Record<string, string | undefined>): RawConfig => {
    const next = { ...raw.values };
    for (const [k, v] of Object.entries(values)) {
        if (v === undefined) delete next[k];
        else next[k] = v;
    }
    return { ...raw, values: next };
};

describe("stack tiers", () => {
    describe("resolveTier: ml-platform:tier, or an environment named dev or prod", () => {
        const cases: { name: string; tier?: "dev" | "prod"; environment?: string; want?: string; problem?: string }[] = [
            { name: "tier alone", tier: "prod", want: "prod" },
            { name: "an old stack file: environment dev, no tier", environment: "dev", want: "dev" },
            { name: "an old stack file: environment prod, no tier", environment: "prod", want: "prod" },
            { name: "a named environment with a tier", tier: "prod", environment: "staging", want: "prod" },
            { name: "environment and tier agreeing", tier: "dev", environment: "dev", want: "dev" },
            { name: "a named environment without a tier", environment: "staging", problem: 'ml-platform:tier is required when ml-platform:environment is not dev or prod (got "staging"); allowed: "dev", "prod"' },
            { name: "neither", problem: 'ml-platform:tier is required; allowed: "dev", "prod"' },
            { name: "environment prod with tier dev", tier: "dev", environment: "prod", problem: 'ml-platform:environment "prod" contradicts ml-platform:tier "dev"' },
        ];
        for (const c of cases) {
            it(c.name, () => {
                const problems: string[] = [];
                assert.equal(resolveTier(c.tier, c.environment, problems), c.want);
                if (c.problem) {
                    assert.equal(problems.length, 1);
                    assert.ok(problems[0].includes(c.problem), problems[0]);
                } else {
                    assert.deepEqual(problems, []);
                }
            });
        }
    });

    it("prod-like protections are exactly the prod tier's", () => {
        assert.deepEqual(tierProtections("prod"), { protectData: true, protectKeys: true, backups: true, logRetentionDays: 365, strictEndpoint: true });
        assert.deepEqual(tierProtections("dev"), { protectData: false, protectKeys: false, backups: false, logRetentionDays: 30, strictEndpoint: false });
    });

    describe("validation", () => {
        it("staging: environment staging, tier prod; dev and prod keep their environment as the tier", () => {
            const s = buildStackSpec(staging);
            assert.equal(s.environment, "staging");
            assert.equal(s.tier, "prod");
            assert.equal(buildStackSpec(dev).tier, "dev");
            assert.equal(buildStackSpec(rawConfigOf("prod")).tier, "prod");
        });

        it("the environment defaults to the stack name", () => {
            const raw = withValues({ ...dev, stack: "qa" }, { environment: undefined, tier: "dev" });
            assert.equal(buildStackSpec(raw).environment, "qa");
        });

        it("a named environment without a tier exits with the tier's problem and no policy judgement on a guessed tier", () => {
            const raw = withKey(withValues(staging, { tier: undefined }), "nodePools", (p) => ((p.a10g.instanceType = "g5.12xlarge"), p));
            const problems = problemsOf(raw);
            assert.deepEqual(problems, ['ml-platform:tier is required when ml-platform:environment is not dev or prod (got "staging"); allowed: "dev", "prod" (dev-like or prod-like protections; see the README\'s "Stacks beyond dev and prod")']);
        });

        it("a tier that is not dev or prod names the allowed tiers and the bad value", () => {
            const problems = problemsOf(withValues(staging, { tier: "preprod" }));
            assert.ok(problems.some((p) => p.startsWith('ml-platform:tier must be one of "dev", "prod", got "preprod"')), problems.join("\n"));
        });

        it("an environment name that is not a DNS label shows the value", () => {
            const problems = problemsOf(withValues(staging, { environment: "Staging EU" }));
            assert.ok(problems.some((p) => p.startsWith("ml-platform:environment must be a DNS label") && p.includes('"Staging EU"')), problems.join("\n"));
        });

        it("a tier-prod stack gets prod's strict endpoint rule and policy config; as tier dev the same file gets dev's", () => {
            const open = withKey(staging, "cluster", (c) => ((c.endpoint.publicAccessCidrs = []), c));
            assert.ok(problemsOf(open).some((p) => p.includes("publicAccessCidrs is empty in tier prod")));
            // prod.json allows g5.12xlarge, dev.json does not: the tier picks the file.
            const big = withKey(staging, "nodePools", (p) => ((p.a10g.instanceType = "g5.12xlarge"), p));
            assert.deepEqual(problemsOf(big), []);
            const asDev = withValues(big, { tier: "dev" });
            assert.ok(problemsOf(asDev).some((p) => p.startsWith("ml-platform:nodePools.a10g.instanceType is not allowed by policy/config/dev.json")), problemsOf(asDev).join("\n"));
            // prod's serving floor (2 replicas) holds for a tier-prod stack whatever its name.
            const one = withKey(staging, "serving", (l) => ((l[0].replicas = { min: 1, max: 4 }), l));
            assert.ok(problemsOf(one).some((p) => p.startsWith("ml-platform:serving[0].replicas.min must be >= 2 in prod")));
        });
    });

    describe("the staging stack's program: every protection follows the tier", () => {
        it("protects data and keys, retains EFS volumes, backs up EFS and keeps a year of logs, as prod does", async () => {
            const run = await platformRun("staging");
            assert.equal(run.spec.tier, "prod");
            const protectedTypes = ["aws:efs/fileSystem:FileSystem", "aws:kms/key:Key", "kubernetes:core/v1:PersistentVolumeClaim"];
            const data = run.resources.filter((r) => protectedTypes.includes(r.type));
            assert.ok(data.length >= 5, `data resources: ${data.length}`);
            for (const r of data) {
                assert.equal(r.options.protect, true, `${r.type} ${r.name} protect`);
                assert.equal(r.options.retainOnDelete, true, `${r.type} ${r.name} retainOnDelete`);
            }
            const classes = run.resources.filter((r) => r.type === "kubernetes:storage.k8s.io/v1:StorageClass").map((r) => r.inputs.reclaimPolicy);
            assert.ok(classes.length > 0 && classes.every((p) => p === "Retain"), `reclaim policies ${classes.join(", ")}`);
            assert.ok(run.resources.some((r) => r.type === "aws:efs/backupPolicy:BackupPolicy" && (r.inputs.backupPolicy as { status?: string }).status === "ENABLED"));
            const logs = run.resources.filter((r) => r.type === "aws:cloudwatch/logGroup:LogGroup").map((r) => r.inputs.retentionInDays);
            assert.deepEqual([...new Set(logs)], [365]);
            const tags = run.resources.find((r) => r.type === "aws:efs/fileSystem:FileSystem")!.inputs.tags as Record<string, string>;
            assert.equal(tags["ml-platform:environment"], "staging");
            assert.equal(tags["ml-platform:tier"], "prod");
        });

        it("publishes its tier as the contract's environment: an app team on staging gets prod's policy config", async () => {
            const run = await platformRun("staging");
            assert.equal(run.outputs.environment.value, "prod");
        });

        it("plans exit 0, judged by policy/config/prod.json, and the report names environment and tier", async () => {
            const out = path.join(tempDir("plan-staging"), "out");
            const r = await plan(["--stack", "staging", "--out", out]);
            assert.equal(r.code, 0, r.stdout + r.stderr);
            const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
            assert.equal(summary.environment, "staging");
            assert.equal(summary.tier, "prod");
            const report = readFileSync(path.join(out, "report.md"), "utf8");
            assert.match(report, /^# Offline plan: stack `staging` \(staging, tier prod, us-east-1\)/);
            assert.match(report, /policy\/config\/prod\.json/);
        });
    });
});

describe("every stack file is covered where stacks are iterated", () => {
    const tiers = Object.fromEntries(projectStacks(ROOT).map((s) => [s, buildStackSpec(rawConfigOf(s)).tier]));
    const workflow = (name: string) => parse(readFileSync(path.join(ROOT, ".github", "workflows", name), "utf8"));

    it("preview.yml previews each stack with its tier's policy config", () => {
        const job = workflow("preview.yml").jobs.preview;
        const include = job.strategy.matrix.include as { stack: string; tier: string }[];
        assert.deepEqual(Object.fromEntries(include.map((i) => [i.stack, i.tier])), tiers);
        const pulumi = job.steps.find((s: { uses?: string }) => s.uses?.startsWith("pulumi/actions"));
        assert.equal(pulumi.with.policyPackConfigs, "policy/config/${{ matrix.tier }}.json");
    });

    it("deploy.yml deploys each stack after its preflight, with its tier's policy config; prod last", () => {
        const jobs = workflow("deploy.yml").jobs as Record<string, { needs?: string; steps: { run?: string; uses?: string; with?: Record<string, string> }[] }>;
        for (const [stack, tier] of Object.entries(tiers)) {
            const job = Object.values(jobs).find((j) => j.steps.some((st) => st.with?.["stack-name"]?.endsWith(`/ml-platform/${stack}`)));
            assert.ok(job, `a deploy job for ${stack}`);
            assert.ok(job.steps.some((st) => st.run === `npm run preflight -- --stack ${stack}`), `${stack}: preflight`);
            assert.equal(job.steps.find((st) => st.uses?.startsWith("pulumi/actions"))!.with!.policyPackConfigs, `policy/config/${tier}.json`);
        }
        assert.equal(jobs.prod.needs, "staging");
        assert.equal(jobs.staging.needs, "dev");
    });

    it("the app-team example has a stack file for each platform stack, so offline.yml plans it on each", () => {
        assert.deepEqual(projectStacks(path.join(ROOT, "examples", "app-team")), projectStacks(ROOT));
    });

    it("offline.yml plans every Pulumi.*.yaml, not a fixed list", () => {
        const text = readFileSync(path.join(ROOT, ".github", "workflows", "offline.yml"), "utf8");
        assert.doesNotMatch(text, /for stack in dev prod/);
        assert.equal(text.match(/for file in Pulumi\.\*\.yaml; do/g)?.length, 3);
    });
});

describe("stack files that would collide in AWS", () => {
    const file = (name: string, cluster: Record<string, unknown>, extra: Record<string, unknown> = {}): SiblingStack => ({
        file: `Pulumi.${name}.yaml`,
        config: { "aws:region": "us-east-1", "ml-platform:cluster": { admins: ["arn:aws:iam::111111111111:role/admins"], ...cluster }, ...extra },
    });

    it("cidrRange and cidrsOverlap: a /24 inside a /16, neighbours, host bits, not a CIDR", () => {
        assert.deepEqual(cidrRange("10.20.0.0/16"), [169082880, 169148415]);
        assert.deepEqual(cidrRange("10.20.7.9/16"), cidrRange("10.20.0.0/16"));
        assert.equal(cidrRange("10.0.0.0/33"), undefined);
        assert.equal(cidrRange("300.0.0.0/8"), undefined);
        assert.ok(cidrsOverlap("10.20.0.0/16", "10.20.5.0/24"));
        assert.ok(cidrsOverlap("10.0.0.0/8", "10.40.0.0/16"));
        assert.ok(!cidrsOverlap("10.20.0.0/16", "10.21.0.0/16"));
        assert.ok(!cidrsOverlap("10.20.0.0/16", "not a cidr"));
    });

    const cases: { name: string; own: SiblingStack; other: SiblingStack; expect: string[] }[] = [
        {
            name: "a copied file: same name and CIDR, same account and region",
            own: file("staging", { name: "ml-dev", vpcCidr: "10.20.0.0/16" }),
            other: file("dev", { name: "ml-dev", vpcCidr: "10.20.0.0/16" }),
            expect: [
                'ml-platform:cluster.name of Pulumi.staging.yaml is also the cluster name of Pulumi.dev.yaml in the same account 111111111111 and region us-east-1, got "ml-dev"; allowed:',
                'ml-platform:cluster.vpcCidr of Pulumi.staging.yaml overlaps ml-platform:cluster.vpcCidr "10.20.0.0/16" of Pulumi.dev.yaml in the same account 111111111111 and region us-east-1, got "10.20.0.0/16"; allowed:',
            ],
        },
        { name: "a CIDR inside the other's", own: file("a", { name: "a", vpcCidr: "10.20.128.0/17" }), other: file("b", { name: "b", vpcCidr: "10.20.0.0/16" }), expect: ["ml-platform:cluster.vpcCidr of Pulumi.a.yaml overlaps"] },
        { name: "both without vpcCidr (both the default 10.0.0.0/16)", own: file("a", { name: "a" }), other: file("b", { name: "b" }), expect: ['overlaps ml-platform:cluster.vpcCidr "10.0.0.0/16" of Pulumi.b.yaml'] },
        { name: "other region", own: file("a", { name: "x", vpcCidr: "10.0.0.0/16" }), other: { ...file("b", { name: "x", vpcCidr: "10.0.0.0/16" }), config: { ...file("b", { name: "x", vpcCidr: "10.0.0.0/16" }).config, "aws:region": "eu-west-1" } }, expect: [] },
        {
            name: "other account (IAM ARNs)",
            own: file("a", { name: "x", vpcCidr: "10.0.0.0/16" }),
            other: file("b", { name: "x", vpcCidr: "10.0.0.0/16", admins: ["arn:aws:iam::222222222222:role/admins"] }),
            expect: [],
        },
        {
            name: "other account (aws:allowedAccountIds wins over ARNs)",
            own: file("a", { name: "x", vpcCidr: "10.0.0.0/16" }, { "aws:allowedAccountIds": ["333333333333"] }),
            other: file("b", { name: "x", vpcCidr: "10.0.0.0/16" }),
            expect: [],
        },
        {
            name: "an account neither file names counts as the same",
            own: file("a", { name: "x", admins: [] }),
            other: file("b", { name: "x", admins: [], vpcCidr: "10.9.0.0/16" }),
            expect: ['ml-platform:cluster.name of Pulumi.a.yaml is also the cluster name of Pulumi.b.yaml in what may be the same account'],
        },
        { name: "distinct names and CIDRs", own: file("a", { name: "a", vpcCidr: "10.40.0.0/16" }), other: file("b", { name: "b", vpcCidr: "10.20.0.0/16" }), expect: [] },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const got = siblingConflicts(c.own, [c.own, c.other]);
            assert.equal(got.length, c.expect.length, got.join("\n"));
            c.expect.forEach((e, i) => assert.ok(got[i].includes(e), `${got[i]}\n  should include\n${e}`));
        });
    }

    it("the repository's stack files: dev, prod and staging, none colliding", () => {
        assert.deepEqual(projectStacks(ROOT), ["dev", "prod", "staging"]);
        for (const stack of projectStacks(ROOT)) {
            assert.deepEqual(siblingStackConflicts(path.join(ROOT, `Pulumi.${stack}.yaml`)), [], stack);
        }
    });

    describe("a copy of Pulumi.dev.yaml next to it, in a project directory", () => {
        let dir: string;
        before(() => {
            dir = tempDir("siblings");
            copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
            copyFileSync(path.join(ROOT, "Pulumi.dev.yaml"), path.join(dir, "Pulumi.dev.yaml"));
            const doc = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
            doc.config["ml-platform:environment"] = "staging";
            doc.config["ml-platform:tier"] = "dev";
            writeFileSync(path.join(dir, "Pulumi.staging.yaml"), stringify(doc));
        });

        it("the plan of either exits 2, naming both files and both keys, with every other problem of the file", async () => {
            for (const [stack, other] of [["staging", "dev"], ["dev", "staging"]]) {
                const r = await plan(["--stack", stack, "--config", path.join(dir, `Pulumi.${stack}.yaml`), "--out", path.join(dir, `out-${stack}`)]);
                assert.equal(r.code, 2, r.stdout + r.stderr);
                assert.match(r.stderr, new RegExp(`ml-platform:cluster\\.name of Pulumi\\.${stack}\\.yaml is also the cluster name of Pulumi\\.${other}\\.yaml`));
                assert.match(r.stderr, new RegExp(`ml-platform:cluster\\.vpcCidr of Pulumi\\.${stack}\\.yaml overlaps ml-platform:cluster\\.vpcCidr "10\\.20\\.0\\.0/16" of Pulumi\\.${other}\\.yaml`));
            }
            const doc = parse(readFileSync(path.join(dir, "Pulumi.staging.yaml"), "utf8"));
            doc.config["ml-platform:nodePools"].a10g.maxSize = -1;
            writeFileSync(path.join(dir, "Pulumi.staging.yaml"), stringify(doc));
            const r = await plan(["--stack", "staging", "--config", path.join(dir, "Pulumi.staging.yaml"), "--out", path.join(dir, "out-bad")]);
            assert.equal(r.code, 2);
            assert.match(r.stderr, /nodePools\.a10g\.maxSize must be >= 1/);
            assert.match(r.stderr, /is also the cluster name of Pulumi\.dev\.yaml/);
        });

        it("preflight exits 2 on it before looking for placeholders", async () => {
            const r = await preflight(["--stack", "dev", "--config", path.join(dir, "Pulumi.dev.yaml")]);
            assert.equal(r.code, 2, r.stdout + r.stderr);
            assert.match(r.stderr, /ml-platform:cluster\.name of Pulumi\.dev\.yaml is also the cluster name of Pulumi\.staging\.yaml/);
        });
    });
});
