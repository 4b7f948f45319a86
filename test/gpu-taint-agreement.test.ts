/**
 * Validation and policy agree on the GPU taint (issue 18): each stack's policy config pins the taint
 * gpu-pool-tainted requires (dedicated=ml-workloads:NoSchedule); a stack whose ml-platform:gpuTaint
 * differs used to validate and then fail the rule. Validation now judges it with the rule's own
 * function (capacity/limits.ts carriesTaint), so the two verdicts are the same for every taint.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { carriesTaint } from "../capacity/limits";
import { DEFAULT_GPU_TAINT } from "../capacity/pools";
import { gpuPoolTainted } from "../policy/rules/gpu";
import { nodePoolOf } from "../policy/rules/nodepools";
import { policyLimitsOf } from "../stacks/policyLimits";
import { plan, platformRun, policy, tempDir } from "./fixtures";
import { problemsOf, rawConfigOf, ROOT, withKey } from "./helpers";
import { onResource } from "./policy-rules-helpers";


const dev = rawConfigOf("dev");
const pinning = (taint: object) => policyLimitsOf({ "gpu-pool-tainted": { gpuTaint: taint } }, "a policy config pinning it");

const TAINTS = [
    { name: "the platform's taint", taint: { ...DEFAULT_GPU_TAINT } },
    { name: "another key", taint: { key: "nvidia.com/gpu", value: "ml-workloads", effect: "NoSchedule" } },
    { name: "another value", taint: { key: "dedicated", value: "gpu", effect: "NoSchedule" } },
    { name: "another effect", taint: { key: "dedicated", value: "ml-workloads", effect: "NoExecute" } },
    { name: "an empty value", taint: { key: "dedicated", value: "", effect: "NoSchedule" } },
];

describe("gpuTaint: validation and gpu-pool-tainted agree", () => {
    it("carriesTaint: key, value and effect must all match; a missing value is the empty one", () => {
        assert.ok(carriesTaint([{ key: "a", value: "b", effect: "NoSchedule" }], { key: "a", value: "b", effect: "NoSchedule" }));
        assert.ok(!carriesTaint([{ key: "a", value: "b", effect: "NoSchedule" }], { key: "a", value: "b", effect: "NoExecute" }));
        assert.ok(!carriesTaint([{ key: "a", value: "b", effect: "NoSchedule" }], { key: "a", value: "c", effect: "NoSchedule" }));
        assert.ok(carriesTaint([{ key: "a", effect: "NoSchedule" }], { key: "a", value: "", effect: "NoSchedule" }));
        assert.ok(!carriesTaint([], { key: "a", value: "", effect: "NoSchedule" }));
    });

    it("a stack gpuTaint other than dev.json's exits 2 at validation, with the value and what the policy config allows", () => {
        const raw = withKey(dev, "gpuTaint", () => ({ key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" }));
        assert.deepEqual(problemsOf(raw), [
            'ml-platform:gpuTaint is not the taint policy/config/dev.json (gpu-pool-tainted) requires of GPU pools a10g, a100, got {"key":"nvidia.com/gpu","value":"true","effect":"NoSchedule"}; ' +
                `allowed: {"key":"dedicated","value":"ml-workloads","effect":"NoSchedule"} (or change gpu-pool-tainted's gpuTaint in policy/config/dev.json to match)`,
        ]);
    });

    it("a stack without GPU pools has no GPU taint to disagree on", () => {
        const raw = withKey(withKey(withKey(dev, "gpuTaint", () => ({ key: "x", value: "y", effect: "NoSchedule" })), "nodePools", (p) => ({ system: p.system })), "serving", () => []);
        assert.deepEqual(problemsOf(withKey(withKey(withKey(raw, "training", () => []), "pipelines", () => []), "queues", () => ({}))), []);
    });

    describe("for each taint a policy config may pin, the verdicts are the same", () => {
        for (const t of TAINTS) {
            it(t.name, async () => {
                // The dev stack's own node groups (GPU taint dedicated=ml-workloads), judged by the rule with this pin...
                const groups = (await platformRun("dev")).resources.filter((r) => nodePoolOf(r.type, r.inputs, r.name)?.pool && r.type === "eks:index:ManagedNodeGroup");
                assert.ok(groups.length >= 3, `node groups: ${groups.length}`);
                const ruleFails = groups.some((r) => onResource(gpuPoolTainted, r, { gpuTaint: t.taint }).length > 0);
                // ... and the dev stack's config validated against the same pin.
                const validationFails = problemsOf({ ...dev, policyLimits: pinning(t.taint) }).some((p) => p.startsWith("ml-platform:gpuTaint"));
                assert.equal(validationFails, ruleFails, `validation ${validationFails ? "fails" : "passes"}, the rule ${ruleFails ? "fails" : "passes"}`);
                assert.equal(ruleFails, t.name !== "the platform's taint");
            });
        }
    });

    describe("through the CLIs: a dev stack with another gpuTaint", () => {
        let config: string;
        before(() => {
            const dir = tempDir("gpu-taint");
            config = path.join(dir, "Pulumi.dev.yaml");
            const doc = parse(readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
            doc.config["ml-platform:gpuTaint"] = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };
            writeFileSync(config, stringify(doc));
        });
        for (const [name, command] of [["plan", plan], ["policy", policy]] as const) {
            it(`npm run ${name} exits 2 naming the key, never 1 with a gpu-pool-tainted violation`, async () => {
                const r = await command(["--stack", "dev", "--config", config, "--out", path.join(path.dirname(config), name)]);
                assert.equal(r.code, 2, r.stdout + r.stderr);
                assert.match(r.stderr, /ml-platform:gpuTaint is not the taint policy\/config\/dev\.json \(gpu-pool-tainted\) requires/);
            });
        }
    });
});
