/**
 * monthly-budget's budgetBasis: a bad value is a configuration error at validation (exit 2, before
 * anything registers) and in the policy config reader, naming the key and the allowed values; the
 * policy config files name a basis the rule knows; the stack files plan within their budgets.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BUDGET_BASES, DEFAULT_BUDGET_BASIS } from "../capacity/limits";
import { policyConfigFile, readPolicyConfig } from "../plan/policy";
import { UsageError } from "../plan/stackConfig";
import { ConfigError } from "../stacks/errors";
import { policyLimitsOf, readPolicyLimits } from "../stacks/policyLimits";
import { buildStackSpec } from "../stacks/validate";
import { rawConfigOf } from "./helpers";

const SOURCE = "policy/config/dev.json";

function problemsOf(budget: Record<string, unknown>): string[] {
    const config = { ...JSON.parse(readFileSync(policyConfigFile("dev"), "utf8")), "monthly-budget": budget };
    const raw = { ...rawConfigOf("dev"), policyLimits: policyLimitsOf(config, SOURCE) };
    try {
        buildStackSpec(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, String(e));
        return e.problems;
    }
    return [];
}

describe("monthly-budget budgetBasis", () => {
    it("an unknown basis fails validation, naming the file, the key, the value and what is allowed", () => {
        assert.deepEqual(problemsOf({ maxMonthlyCost: 1000, budgetBasis: "peak" }), [
            'policy/config/dev.json monthly-budget.budgetBasis is not a budget basis, got "peak"; allowed: reachable, demand',
        ]);
    });

    it("either basis, or none (the default, reachable), validates", () => {
        for (const budgetBasis of BUDGET_BASES) {
            assert.deepEqual(problemsOf({ maxMonthlyCost: 1000, budgetBasis }), [], budgetBasis);
        }
        assert.deepEqual(problemsOf({ maxMonthlyCost: 1000 }), []);
        assert.equal(policyLimitsOf({}, SOURCE).budgetBasis, DEFAULT_BUDGET_BASIS);
        assert.equal(DEFAULT_BUDGET_BASIS, "reachable");
    });

    it("the policy config reader refuses it too, as pulumi's --policy-pack-config would", () => {
        const file = path.join(mkdtempSync(path.join(tmpdir(), "budget-basis-")), "dev.json");
        writeFileSync(file, JSON.stringify({ "monthly-budget": { maxMonthlyCost: 1, budgetBasis: "peak" } }));
        assert.throws(() => readPolicyConfig(file), (e: unknown) => e instanceof UsageError && /monthly-budget\.budgetBasis: "peak" is not a valid one of \["reachable","demand"\]/.test(e.message));
        writeFileSync(file, JSON.stringify({ "monthly-budget": { maxMonthlyCost: 1, budgetBasis: "demand" } }));
        assert.doesNotThrow(() => readPolicyConfig(file));
    });

    for (const env of ["dev", "prod"] as const) {
        it(`${env}'s policy config names its budget and basis explicitly, and validation reads them`, () => {
            const config = JSON.parse(readFileSync(policyConfigFile(env), "utf8"));
            assert.equal(config["monthly-budget"].budgetBasis, "reachable");
            const limits = readPolicyLimits(env)!;
            assert.deepEqual([limits.maxMonthlyCost, limits.budgetBasis], [config["monthly-budget"].maxMonthlyCost, "reachable"]);
        });
    }
});
