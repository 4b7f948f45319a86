/**
 * Limits a stack's policy config (policy/config/<environment>.json) sets, each judged by one function:
 * the policy rules call it on what the program registered, validation on the config before anything is
 * registered (stacks/policyLimits.ts), so the two can never disagree. Pure; no Pulumi, no files.
 */
import type { Bill, BillScale } from "./bill";
import { KNOWN_INSTANCE_TYPES } from "./catalog";
import { roundCents } from "./cost";
import { DEFAULT_GPU_TAINT } from "./pools";

/** A node taint as both the rules (EKS/Kubernetes spelling, normalised) and the config give it. */
export interface TaintLike {
    key: string;
    value?: string;
    effect: string;
}

/** gpu-pool-tainted's default: the platform's GPU taint. */
export const DEFAULT_POLICY_GPU_TAINT: TaintLike = DEFAULT_GPU_TAINT;

/** Whether a GPU pool's taints include `taint` exactly (key, value and effect): gpu-pool-tainted's test. */
export function carriesTaint(taints: readonly TaintLike[], taint: TaintLike): boolean {
    return taints.some((t) => t.key === taint.key && (t.value ?? "") === (taint.value ?? "") && t.effect === taint.effect);
}

/** serving-hpa-bounds' default floor for minReplicas in prod. */
export const DEFAULT_PROD_MIN_REPLICAS = 2;
/** instance-types-allowed's default allow-list: the whole catalog. */
export const DEFAULT_ALLOWED_INSTANCE_TYPES: readonly string[] = KNOWN_INSTANCE_TYPES;

/** The instance types of `types` that the allow-list does not name. */
export function disallowedInstanceTypes(types: readonly string[], allowed: readonly string[]): string[] {
    return types.filter((t) => !allowed.includes(t));
}

export interface ReplicaBoundProblem {
    field: "min" | "max";
    /** What is wrong, as a clause: "must be >= 2 in prod (...)". */
    wrong: string;
    allowed: string;
}

/** What is wrong with a serving HPA's bounds: a floor in prod, and room to scale (max above min). */
export function replicaBoundProblems(min: number, max: number | undefined, environment: string, prodMinReplicas: number): ReplicaBoundProblem[] {
    const problems: ReplicaBoundProblem[] = [];
    const floor = environment === "prod" ? prodMinReplicas : 1;
    if (min < floor) {
        problems.push({ field: "min", wrong: `must be >= ${floor} in ${environment} (one pod is an outage on every node drain or rollout)`, allowed: `an integer >= ${floor}` });
    }
    if (max === undefined || max <= min) {
        problems.push({ field: "max", wrong: `must be above replicas.min (${min}), or the autoscaler can never scale out`, allowed: `an integer > ${min}` });
    }
    return problems;
}

/** monthly-budget's basis: the reachable maximum (every pool at maxSize) or the demand-driven maximum. */
export const BUDGET_BASES = ["reachable", "demand"] as const;
export type BudgetBasis = (typeof BUDGET_BASES)[number];
/** What app teams can spend without a platform change is what a budget must bound. */
export const DEFAULT_BUDGET_BASIS: BudgetBasis = "reachable";

/** The bill's scale a basis judges. */
export const BUDGET_SCALE: Record<BudgetBasis, BillScale> = { reachable: "reachable", demand: "max" };

export const BUDGET_BASIS_LABEL: Record<BudgetBasis, string> = {
    reachable: "the reachable maximum (every pool at maxSize)",
    demand: "the demand-driven maximum (the nodes the declared workloads need at maximum scale)",
};

export interface BudgetVerdict {
    basis: BudgetBasis;
    budget: number;
    /** The whole bill per month at the basis. */
    monthly: number;
    within: boolean;
    /** One sentence: the bill, the budget and the difference; when over, the largest pool and the fix. */
    message: string;
}

const dollars = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** monthly-budget's judgement, which the rule reports and the plan's Cost section shows. */
export function budgetVerdict(bill: Bill, budget: number, basis: BudgetBasis): BudgetVerdict {
    const scale = BUDGET_SCALE[basis];
    const monthly = bill.monthly[scale];
    const within = monthly <= budget;
    const difference = roundCents(Math.abs(monthly - budget));
    let message = `the whole bill at ${BUDGET_BASIS_LABEL[basis]} is ${dollars(monthly)}/month, ${dollars(difference)} ${within ? "less" : "more"} than the budget of ${dollars(budget)}`;
    if (!within) {
        const top = [...bill.perPool].sort((a, b) => b.monthly[scale] - a.monthly[scale])[0];
        const largest = top ? ` (largest: pool ${top.pool}, ${top.nodes[scale]} x ${top.instanceType}, ${dollars(top.monthly[scale])}/month)` : "";
        message += `${largest}. Fix: lower maxSize (or maxReplicas), or raise maxMonthlyCost in the policy config.`;
    }
    return { basis, budget, monthly, within, message };
}
