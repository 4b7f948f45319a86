/**
 * Limits a stack's policy config (policy/config/<environment>.json) sets, each judged by one function:
 * the policy rules call it on what the program registered, validation on the config before anything is
 * registered (stacks/policyLimits.ts), so the two can never disagree. Pure; no Pulumi, no files.
 */
import { KNOWN_INSTANCE_TYPES } from "./catalog";
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
