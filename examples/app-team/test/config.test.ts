/**
 * The app-team example's config (issue 18): every problem at once, each with the key, the bad value and
 * what is allowed; a GPU pool the platform does not have (or GPUs its nodes cannot hold) exits 2 without
 * a stack trace; a plan against another platform stack than the StackReference names warns.
 */
import { strict as assert } from "node:assert";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { stackReferenceWarnings } from "../../../plan/appPlan";
import { readStackConfigFile } from "../../../plan/stackConfig";
import { parseContract } from "../../../stacks/contract";
import { plan, planOf, platformRun, tempDir } from "../../../test/fixtures";
import { appConfigProblems, platformProblems } from "../config";

const APP = path.resolve(__dirname, "..");
const NS = "ml-app-team";
const good = (): Record<string, string> => {
    const values = readStackConfigFile(path.join(APP, "Pulumi.dev.yaml")).values;
    return Object.fromEntries(Object.entries(values).filter(([k]) => k.startsWith(`${NS}:`)).map(([k, v]) => [k.slice(NS.length + 1), v]));
};
const withValues = (edit: Record<string, string | undefined>) => {
    const v = good();
    for (const [k, x] of Object.entries(edit)) {
        if (x === undefined) delete v[k];
        else v[k] = x;
    }
    return v;
};

describe("app-team example: its config", () => {
    it("the committed config is valid", () => {
        const r = appConfigProblems(NS, good());
        assert.deepEqual(r.problems, []);
        assert.equal(r.config?.gpus, 1);
    });

    const cases: { name: string; values: Record<string, string>; expect: string[] }[] = [
        { name: "gpus zero", values: withValues({ gpus: "0" }), expect: ['ml-app-team:gpus is not valid, got "0"; allowed: a whole number from 1 to 8'] },
        { name: "gpus not a number", values: withValues({ gpus: "one" }), expect: ['ml-app-team:gpus is not valid, got "one"; allowed: a whole number from 1 to 8'] },
        { name: "image :latest", values: withValues({ image: "registry/server:latest" }), expect: ['ml-app-team:image is not valid, got "registry/server:latest"; allowed: an image with a pinned tag or digest, not :latest'] },
        { name: "platformStack without org", values: withValues({ platformStack: "ml-platform/dev" }), expect: ['ml-app-team:platformStack is not valid, got "ml-platform/dev"; allowed: <org>/<project>/<stack>'] },
        { name: "memory in GB", values: withValues({ memory: "8GB" }), expect: ['ml-app-team:memory is not valid, got "8GB"; allowed: a memory quantity'] },
        { name: "maxReplicas not above minReplicas", values: withValues({ minReplicas: "2", maxReplicas: "2" }), expect: ["ml-app-team:maxReplicas must be above minReplicas (2) or the autoscaler can never scale out, got 2; allowed: a whole number > 2"] },
        { name: "a missing key", values: withValues({ modelName: undefined }), expect: ["ml-app-team:modelName is required; allowed: a DNS label of at most 40 characters"] },
        { name: "a misspelt key", values: withValues({ gpuPol: "x", gpuPool: undefined }), expect: ["ml-app-team:gpuPol is not a config key of this project (did you mean ml-app-team:gpuPool?); allowed: platformStack,", "ml-app-team:gpuPool is required"] },
        {
            name: "three problems, all reported",
            values: withValues({ gpus: "0", cpu: "two", modelLoadSeconds: "7200" }),
            expect: ['ml-app-team:gpus is not valid, got "0"', 'ml-app-team:cpu is not valid, got "two"', 'ml-app-team:modelLoadSeconds is not valid, got "7200"; allowed: a whole number from 1 to 3600'],
        },
    ];
    for (const c of cases) {
        it(c.name, () => {
            const r = appConfigProblems(NS, c.values);
            assert.equal(r.config, undefined);
            assert.equal(r.problems.length, c.expect.length, r.problems.join("\n"));
            c.expect.forEach((e, i) => assert.ok(r.problems[i].startsWith(e), `${r.problems[i]}\n  should start with\n${e}`));
        });
    }

    describe("against the platform's contract", () => {
        it("a pool the platform does not have names the pools it has, with a did-you-mean; GPUs above a node's are refused", async () => {
            const outputs = (await platformRun("dev")).outputs;
            const contract = parseContract("acme/ml-platform/dev", Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.value])));
            const pools = Object.keys(contract.gpuPools);
            const cfg = appConfigProblems(NS, good()).config!;
            assert.deepEqual(platformProblems(NS, cfg, contract, "acme/ml-platform/dev"), []);
            assert.deepEqual(platformProblems(NS, { ...cfg, gpuPool: "trn1" }, contract, "acme/ml-platform/dev"), [
                `ml-app-team:gpuPool names no GPU pool of platform acme/ml-platform/dev, got "trn1"; allowed: ${pools.join(", ")}`,
            ]);
            const near = `${cfg.gpuPool}x`;
            assert.match(platformProblems(NS, { ...cfg, gpuPool: near }, contract, "p")[0], new RegExp(`\\(did you mean "${cfg.gpuPool}"\\?\\), got "${near}"`));
            const perNode = contract.gpuPools[cfg.gpuPool].gpusPerNode;
            assert.deepEqual(platformProblems(NS, { ...cfg, gpus: perNode + 1 }, contract, "p"), [
                `ml-app-team:gpus must fit one ${contract.gpuPools[cfg.gpuPool].instanceType} node of pool "${cfg.gpuPool}" (a pod never spans nodes), got ${perNode + 1}; allowed: a whole number from 1 to ${perNode}`,
            ]);
        });
    });
});

describe("app-team example: the offline plan", () => {
    const dir = tempDir("app-config");
    const run = async (text: string, platform: "dev" | "prod" = "dev", name = "bad") => {
        const config = path.join(dir, `Pulumi.${name}.yaml`);
        writeFileSync(config, text);
        const out = path.join(dir, `${name}-out`);
        const r = await plan(["--program", APP, "--stack", "dev", "--config", config, "--platform-outputs", path.join((await planOf(platform)).out, "resources.json"), "--out", out]);
        return { ...r, out };
    };
    const devConfig = () => readFileSync(path.join(APP, "Pulumi.dev.yaml"), "utf8");

    it("a GPU pool the platform does not have exits 2 without a stack trace, naming the key, the value and the pools", async () => {
        const text = devConfig().replace(/ml-app-team:gpuPool: .*/, "ml-app-team:gpuPool: trn1");
        const r = await run(text);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /error: invalid config:\n {2}ml-app-team:gpuPool names no GPU pool of platform acme\/ml-platform\/dev, got "trn1"; allowed: \w+, \w+\n/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
        assert.ok(!existsSync(r.out));
    });

    it("several bad keys exit 2 with all of them", async () => {
        const text = devConfig().replace("ml-app-team:gpus: 1", "ml-app-team:gpus: 0").replace(/ml-app-team:memory: .*/, "ml-app-team:memory: 8GB");
        const r = await run(text);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /ml-app-team:gpus is not valid, got "0"/);
        assert.match(r.stderr, /ml-app-team:memory is not valid, got "8GB"/);
        assert.doesNotMatch(r.stderr, /\n\s+at /);
    });

    it("a plan against another platform stack than the StackReference names warns, in the headline and the report", async () => {
        const r = await run(devConfig(), "prod", "mismatch");
        assert.match(r.stdout, /\nwarning: the program references platform stack acme\/ml-platform\/dev, but .*resources\.json is a plan of stack "prod"/);
        const summary = JSON.parse(readFileSync(path.join(r.out, "summary.json"), "utf8"));
        assert.equal(summary.platformPlanStack, "prod");
        assert.equal(summary.warnings.length, 1);
        assert.match(readFileSync(path.join(r.out, "report.md"), "utf8"), /\*\*Warning\*\*: the program references platform stack acme\/ml-platform\/dev/);
        const same = await run(devConfig(), "dev", "same");
        assert.doesNotMatch(same.stdout, /warning:/);
        assert.deepEqual(JSON.parse(readFileSync(path.join(same.out, "summary.json"), "utf8")).warnings, []);
    });

    it("stackReferenceWarnings: one per reference of another stack; a plan without URNs says it cannot tell", () => {
        const platform = { file: "/x/resources.json", stack: "dev" };
        assert.deepEqual(stackReferenceWarnings(["acme/ml-platform/dev"], platform), []);
        assert.equal(stackReferenceWarnings(["acme/ml-platform/dev", "acme/ml-platform/staging"], platform).length, 1);
        assert.match(stackReferenceWarnings(["acme/ml-platform/dev"], { file: "/x/resources.json" })[0], /does not say which platform stack/);
        assert.deepEqual(stackReferenceWarnings([], { file: "/x/resources.json" }), []);
    });
});
