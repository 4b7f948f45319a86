/**
 * What the stack's policy config forbids, checked at validation (exit 2) with the very functions the
 * policy rules use (capacity/limits.ts), so a config that validates never fails instance-types-allowed
 * or serving-hpa-bounds afterwards. The policy config is policy/config/<tier>.json, the file the
 * plan and CI hand to the pack; a rule's missing entry means its schema default, as in the pack.
 */
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import {
    BUDGET_BASES,
    carriesTaint,
    DEFAULT_ALLOWED_INSTANCE_TYPES,
    DEFAULT_BUDGET_BASIS,
    DEFAULT_POLICY_GPU_TAINT,
    DEFAULT_PROD_MIN_REPLICAS,
    disallowedInstanceTypes,
    replicaBoundProblems,
    TaintLike,
} from "../capacity/limits";
import { poolTaints, Taint } from "../capacity/pools";
import { describe, NAMESPACE, problemLine } from "./errors";
import type { NodePoolConfig, ServingConfig } from "./schema";
import { policyConfigName, Tier } from "./tiers";

export interface PolicyLimits {
    /** The file the limits came from, for messages. */
    source: string;
    allowedInstanceTypes: readonly string[];
    /** serving-hpa-bounds' own environment setting (the pack's default is prod). */
    hpaEnvironment: string;
    prodMinReplicas: number;
    /** The taint gpu-pool-tainted requires of every GPU pool. */
    gpuTaint: TaintLike;
    /** monthly-budget's budget (undefined: no budget) and basis, as written (checked by checkPolicyLimits). */
    maxMonthlyCost?: number;
    budgetBasis: string;
}

export const POLICY_CONFIG_DIR = path.join(__dirname, "..", "policy", "config");

type Entry = Record<string, unknown> | undefined;

/** The limits of policy config object `config` (policy name -> settings), defaults where it is silent. */
export function policyLimitsOf(config: Record<string, unknown>, source: string): PolicyLimits {
    const types = (config["instance-types-allowed"] as Entry)?.allowedInstanceTypes;
    const hpa = config["serving-hpa-bounds"] as Entry;
    const taint = (config["gpu-pool-tainted"] as Entry)?.gpuTaint as Entry;
    const budget = config["monthly-budget"] as Entry;
    return {
        source,
        allowedInstanceTypes: Array.isArray(types) ? types.map(String) : DEFAULT_ALLOWED_INSTANCE_TYPES,
        hpaEnvironment: typeof hpa?.environment === "string" ? hpa.environment : "prod",
        prodMinReplicas: typeof hpa?.prodMinReplicas === "number" ? hpa.prodMinReplicas : DEFAULT_PROD_MIN_REPLICAS,
        gpuTaint: taint && typeof taint.key === "string" && typeof taint.effect === "string" ? { key: taint.key, value: typeof taint.value === "string" ? taint.value : "", effect: taint.effect } : DEFAULT_POLICY_GPU_TAINT,
        ...(typeof budget?.maxMonthlyCost === "number" ? { maxMonthlyCost: budget.maxMonthlyCost } : {}),
        budgetBasis: budget?.budgetBasis === undefined ? DEFAULT_BUDGET_BASIS : String(budget.budgetBasis),
    };
}

/** The limits for a tier from its policy config file (stacks/tiers.ts policyConfigName), or undefined when there is none. */
export function readPolicyLimits(tier: Tier, dir: string = POLICY_CONFIG_DIR): PolicyLimits | undefined {
    const file = path.join(dir, policyConfigName(tier));
    if (!existsSync(file)) {
        return undefined;
    }
    const source = path.relative(path.join(dir, "..", ".."), file);
    return policyLimitsOf(JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>, source);
}

/**
 * GPU pools carry ml-platform:gpuTaint (capacity/pools poolTaints); gpu-pool-tainted requires the policy
 * config's taint of each of them, judged by the rule's own carriesTaint.
 */
export function checkGpuTaint(limits: PolicyLimits, gpuTaint: Taint | undefined, pools: Record<string, NodePoolConfig> | undefined, problems: string[]) {
    if (!gpuTaint) {
        return;
    }
    const untainted = Object.entries(pools ?? {}).filter(([name, p]) => {
        const taints = poolTaints({ name, instanceType: p.instanceType }, gpuTaint);
        return taints.length > 0 && !carriesTaint(taints, limits.gpuTaint);
    });
    if (untainted.length > 0) {
        const wanted = limits.gpuTaint;
        problems.push(
            problemLine(
                `${NAMESPACE}:gpuTaint`,
                `is not the taint ${limits.source} (gpu-pool-tainted) requires of GPU pools ${untainted.map(([n]) => n).join(", ")}`,
                gpuTaint,
                `${describe({ key: wanted.key, value: wanted.value ?? "", effect: wanted.effect })} (or change gpu-pool-tainted's gpuTaint in ${limits.source} to match)`,
            ),
        );
    }
}

export function checkPolicyLimits(limits: PolicyLimits, pools: Record<string, NodePoolConfig> | undefined, serving: ServingConfig[], problems: string[]) {
    // The budget itself is judged by monthly-budget alone (the demand basis needs the placement of what
    // was registered); its basis is checked here, before anything is registered.
    if (!(BUDGET_BASES as readonly string[]).includes(limits.budgetBasis)) {
        problems.push(problemLine(`${limits.source} monthly-budget.budgetBasis`, "is not a budget basis", limits.budgetBasis, BUDGET_BASES.join(", ")));
    }
    for (const [name, p] of Object.entries(pools ?? {})) {
        for (const t of disallowedInstanceTypes([p.instanceType], limits.allowedInstanceTypes)) {
            problems.push(problemLine(`${NAMESPACE}:nodePools.${name}.instanceType`, `is not allowed by ${limits.source} (instance-types-allowed)`, t, limits.allowedInstanceTypes.join(", ")));
        }
    }
    serving.forEach((s, i) => {
        for (const p of replicaBoundProblems(s.replicas.min, s.replicas.max, limits.hpaEnvironment, limits.prodMinReplicas)) {
            const where = `${NAMESPACE}:serving[${i}].replicas.${p.field}`;
            problems.push(`${where} ${p.wrong} (${limits.source}, serving-hpa-bounds), got ${describe(s.replicas[p.field])}; allowed: ${p.allowed}`);
        }
    });
}
