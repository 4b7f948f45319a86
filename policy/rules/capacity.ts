/**
 * The capacity rules: thin wrappers over capacity/analysis, which decides whether every workload
 * schedules and what the pools cost. Each rule analyses the resources it is handed.
 */
import type { PolicyConfigSchema, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { analyzeCapacity, CapacityAnalysis } from "../../capacity/analysis";
import { BUDGET_BASES, BudgetBasis, budgetVerdict, DEFAULT_BUDGET_BASIS } from "../../capacity/limits";
import { configOf } from "./config";

function analysisOf(resources: PolicyResource[]): CapacityAnalysis {
    return analyzeCapacity(resources.map((r) => ({ type: r.type, name: r.name, props: r.props, urn: r.urn })));
}

export const workloadsSchedulable: StackValidationPolicy = {
    name: "workloads-schedulable",
    description:
        "Every workload's pods fit the node pools at minimum and maximum scale, as kube-scheduler would place them (on any pool whose nodes pass the filters: resources after kube-reserved and DaemonSets, taints, nodeSelector, node affinity; serving at HPA max, a PyTorchJob's pods all at once) within each pool's maxSize.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateStack: (args, report) => {
        const analysis = analysisOf(args.resources);
        if (analysis.pools.length === 0 && analysis.unknownPools.length === 0) {
            // No node pool in this stack: its nodes are another stack's (an app team's project on the
            // platform). The offline plan places such workloads on the platform's recorded pools instead.
            return;
        }
        const byUrn = new Map<string | undefined, PolicyResource>(args.resources.map((r) => [r.urn, r]));
        for (const w of analysis.workloads.filter((x) => !x.schedulable)) {
            const resource = byUrn.get(w.urn);
            report(`${w.kind} ${w.namespace}/${w.name} can never schedule ${w.reason}. Fix: give it a pool that can hold it, lower its requests or maxReplicas, or raise the pool's maxSize.`, resource?.urn);
        }
    },
};

const budgetSchema: PolicyConfigSchema = {
    properties: {
        maxMonthlyCost: {
            type: "number",
            minimum: 0,
            description: "Budget in USD per month for the whole bill (EC2 nodes, EKS control plane, NAT gateway hours, EBS root volumes and gp3 claims, EFS claims; us-east-1 list prices) at the scale budgetBasis names.",
        },
        budgetBasis: {
            type: "string",
            enum: [...BUDGET_BASES],
            default: DEFAULT_BUDGET_BASIS,
            description: "reachable: every node pool at maxSize, what app teams can reach without a platform change; demand: the nodes the declared workloads need at maximum scale.",
        },
    },
};

export const monthlyBudget: StackValidationPolicy = {
    name: "monthly-budget",
    description:
        "The whole bill (EC2 nodes, EKS control plane, NAT gateway hours, EBS, EFS claims; list prices) at the basis the config names (budgetBasis: reachable, every pool at maxSize, the default; or demand) costs no more per month than maxMonthlyCost.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: budgetSchema,
    validateStack: (args, report) => {
        const { maxMonthlyCost, budgetBasis } = configOf<{ maxMonthlyCost?: number; budgetBasis: BudgetBasis }>(args, budgetSchema);
        if (maxMonthlyCost === undefined) {
            return;
        }
        const verdict = budgetVerdict(analysisOf(args.resources).bill, maxMonthlyCost, budgetBasis);
        if (!verdict.within) {
            report(verdict.message);
        }
    },
};

export const capacityPolicies = [workloadsSchedulable, monthlyBudget];
