/**
 * policy/rules/capacity.ts: the two stack rules over hand-built validateStack args (no Pulumi engine, no
 * program run), asserting the exact violation messages and the resources they name.
 */
import assert from "node:assert/strict";
import type { PolicyResource, StackValidationArgs, StackValidationPolicy } from "@pulumi/policy";
import { HOURS_PER_MONTH } from "../capacity/catalog";
import { MANAGED_NODE_GROUP } from "../capacity/nodeGroups";
import { capacityPolicies, monthlyBudget, workloadsSchedulable } from "../policy/rules/capacity";

type Props = Record<string, any>;

function resource(type: string, name: string, props: Props): PolicyResource {
    return { type, name, props, urn: `urn:pulumi:dev::ml::${type}::${name}` } as unknown as PolicyResource;
}

function args(resources: PolicyResource[], config: Props = {}): StackValidationArgs {
    return { resources, getConfig: () => config } as unknown as StackValidationArgs;
}

function run(policy: StackValidationPolicy, a: StackValidationArgs): { message: string; urn?: string }[] {
    const out: { message: string; urn?: string }[] = [];
    void policy.validateStack(a, (message: string, urn?: string) => {
        out.push(urn === undefined ? { message } : { message, urn });
    });
    return out;
}

const pool = (name: string, type: string, min: number, max: number) =>
    resource(MANAGED_NODE_GROUP, `${name}-ng`, { instanceTypes: [type], scalingConfig: { minSize: min, maxSize: max }, labels: { "node-pool": name } });

const deploy = (name: string, cpu: string, replicas = 1, nodeSelector: Record<string, string> = {}, namespace = "apps") =>
    resource("kubernetes:apps/v1:Deployment", name, {
        metadata: { name, namespace },
        spec: { replicas, template: { metadata: {}, spec: { nodeSelector, containers: [{ name: "main", resources: { requests: { cpu } } }] } } },
    });

describe("policy/rules/capacity", () => {
    it("exports the two rules, mandatory, with their names and severities", () => {
        assert.deepEqual(
            capacityPolicies.map((p) => [p.name, p.enforcementLevel, p.severity]),
            [
                ["workloads-schedulable", "mandatory", "critical"],
                ["monthly-budget", "mandatory", "medium"],
            ],
        );
        assert.deepEqual(monthlyBudget.configSchema?.properties.maxMonthlyCost, {
            type: "number",
            minimum: 0,
            description: "Budget in USD per month for the node pools at maximum scale (on-demand catalog prices).",
        });
    });

    describe("workloads-schedulable", () => {
        it("reports each workload that can never schedule, on its own resource", () => {
            const big = deploy("big", "3", 3);
            const out = run(workloadsSchedulable, args([pool("system", "m6i.xlarge", 1, 2), deploy("ok", "100m"), big]));
            assert.deepEqual(out, [
                {
                    message:
                        "Deployment apps/big can never schedule at minimum scale: big replica: needs 3 nodes of pool system at maximum scale; maxSize is 2 (pool shared with ok). Fix: give it a pool that can hold it, lower its requests or maxReplicas, or raise the pool's maxSize.",
                    urn: big.urn,
                },
            ]);
        });

        it("is silent when everything fits", () => {
            assert.deepEqual(run(workloadsSchedulable, args([pool("system", "m6i.xlarge", 1, 2), deploy("ok", "100m", 2)])), []);
        });

        it("skips a stack with no node pool at all (an app team's project on the platform's nodes)", () => {
            assert.deepEqual(run(workloadsSchedulable, args([deploy("big", "64")])), []);
        });

        it("still judges a stack whose only pools are of unknown instance types", () => {
            const w = deploy("web", "100m");
            const out = run(workloadsSchedulable, args([pool("odd", "x9.huge", 1, 1), w]));
            assert.deepEqual(out, [
                {
                    message:
                        "Deployment apps/web can never schedule at minimum scale: web replica: there are no node pools. Fix: give it a pool that can hold it, lower its requests or maxReplicas, or raise the pool's maxSize.",
                    urn: w.urn,
                },
            ]);
        });
    });

    describe("monthly-budget", () => {
        const stack = () => [pool("system", "m6i.xlarge", 1, 2), pool("gpu", "g5.xlarge", 1, 1), deploy("web", "3", 2, { "node-pool": "system" })];
        // Max scale: 2 x m6i.xlarge (0.192/h) + 1 x g5.xlarge (1.006/h) = 1.39/h.
        const monthlyMax = Math.round((2 * 0.192 + 1.006) * HOURS_PER_MONTH * 100) / 100;

        it("does nothing without a budget", () => {
            assert.deepEqual(run(monthlyBudget, args(stack())), []);
        });

        it("reports the cost over budget, naming the most expensive pool at maximum scale", () => {
            const out = run(monthlyBudget, args(stack(), { maxMonthlyCost: 1000 }));
            assert.equal(monthlyMax, 1014.7);
            assert.deepEqual(out, [
                {
                    message:
                        "the node pools cost $1014.70/month at maximum scale, over the budget of $1000.00 (largest: pool gpu, 1 x g5.xlarge). Fix: lower maxSize or maxReplicas, or raise maxMonthlyCost in the policy config.",
                },
            ]);
        });

        it("names the system pool when it costs most", () => {
            const out = run(monthlyBudget, args([pool("system", "m6i.xlarge", 6, 8), pool("gpu", "g5.xlarge", 1, 1)], { maxMonthlyCost: 0.5 }));
            assert.equal(out.length, 1);
            assert.match(out[0].message, /\(largest: pool system, 6 x m6i\.xlarge\)/);
            assert.match(out[0].message, /over the budget of \$0\.50 /);
        });

        it("allows a cost exactly at the budget and below it", () => {
            assert.deepEqual(run(monthlyBudget, args(stack(), { maxMonthlyCost: monthlyMax })), []);
            assert.deepEqual(run(monthlyBudget, args(stack(), { maxMonthlyCost: 5000 })), []);
        });
    });
});
