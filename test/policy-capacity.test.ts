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
            description:
                "Budget in USD per month for the whole bill (EC2 nodes, EKS control plane, NAT gateway hours, EBS root volumes and gp3 claims, EFS claims; us-east-1 list prices) at the scale budgetBasis names.",
        });
        const basis = monthlyBudget.configSchema?.properties.budgetBasis;
        assert.deepEqual([basis?.type, basis?.enum, basis?.default], ["string", ["reachable", "demand"], "reachable"]);
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
        // The workload needs 2 system nodes at most; the gpu pool is never needed but may reach 2 nodes.
        const stack = () => [pool("system", "m6i.xlarge", 1, 2), pool("gpu", "g5.xlarge", 0, 2), deploy("web", "3", 2, { "node-pool": "system" })];
        // Demand-driven maximum: 2 x m6i.xlarge (0.192/h); reachable: plus 2 x g5.xlarge (1.006/h).
        const demandMax = Math.round(2 * 0.192 * HOURS_PER_MONTH * 100) / 100;
        const reachableMax = Math.round((2 * 0.192 + 2 * 1.006) * HOURS_PER_MONTH * 100) / 100;

        it("does nothing without a budget", () => {
            assert.deepEqual(run(monthlyBudget, args(stack())), []);
        });

        it("judges the reachable maximum by default: a pool no workload needs still counts at its maxSize", () => {
            assert.deepEqual([demandMax, reachableMax], [280.32, 1749.08]);
            assert.deepEqual(run(monthlyBudget, args(stack(), { maxMonthlyCost: 1000 })), [
                {
                    message:
                        "the whole bill at the reachable maximum (every pool at maxSize) is $1,749.08/month, $749.08 more than the budget of $1,000.00 (largest: pool gpu, 2 x g5.xlarge, $1,468.76/month). Fix: lower maxSize (or maxReplicas), or raise maxMonthlyCost in the policy config.",
                },
            ]);
            assert.equal(run(monthlyBudget, args(stack(), { maxMonthlyCost: 1000, budgetBasis: "reachable" })).length, 1);
        });

        it("judges the demand-driven maximum when budgetBasis says demand", () => {
            assert.deepEqual(run(monthlyBudget, args(stack(), { maxMonthlyCost: 1000, budgetBasis: "demand" })), []);
            assert.deepEqual(run(monthlyBudget, args(stack(), { maxMonthlyCost: 280, budgetBasis: "demand" })), [
                {
                    message:
                        "the whole bill at the demand-driven maximum (the nodes the declared workloads need at maximum scale) is $280.32/month, $0.32 more than the budget of $280.00 (largest: pool system, 2 x m6i.xlarge, $280.32/month). Fix: lower maxSize (or maxReplicas), or raise maxMonthlyCost in the policy config.",
                },
            ]);
        });

        it("counts the EKS control plane, NAT gateway hours, root volumes and EFS claims, not only the nodes", () => {
            const infra = [
                resource("eks:index:Cluster", "eks", {}),
                resource("awsx:ec2:Vpc", "vpc", { availabilityZoneNames: ["us-east-1a", "us-east-1b"], natGateways: { strategy: "Single" } }),
                resource("aws:ec2/launchTemplate:LaunchTemplate", "system-lt", {
                    blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 50, volumeType: "gp3" } }],
                    tagSpecifications: [{ resourceType: "instance", tags: { "node-pool": "system" } }],
                }),
                resource("kubernetes:storage.k8s.io/v1:StorageClass", "efs", { metadata: { name: "efs-ml" }, provisioner: "efs.csi.aws.com" }),
                resource("kubernetes:core/v1:PersistentVolumeClaim", "data", { metadata: { name: "data", namespace: "ml" }, spec: { storageClassName: "efs-ml", resources: { requests: { storage: "100Gi" } } } }),
            ];
            // 280.32 (nodes) + 73 (cluster) + 32.85 (one gateway) + 2 x 50 GiB x 0.08 + 100 GiB x 0.30 = 424.17.
            const whole = [...stack(), ...infra];
            assert.deepEqual(run(monthlyBudget, args(whole, { maxMonthlyCost: 424.17, budgetBasis: "demand" })), []);
            const out = run(monthlyBudget, args(whole, { maxMonthlyCost: 424.16, budgetBasis: "demand" }));
            assert.equal(out.length, 1);
            assert.match(out[0].message, /is \$424\.17\/month, \$0\.01 more than the budget of \$424\.16 /);
        });

        it("allows a cost exactly at the budget and below it", () => {
            assert.deepEqual(run(monthlyBudget, args(stack(), { maxMonthlyCost: reachableMax })), []);
            assert.deepEqual(run(monthlyBudget, args(stack(), { maxMonthlyCost: 5000 })), []);
        });
    });
});
