/**
 * A stack is any name (Pulumi.<stack>.yaml) with a tier: `ml-platform:tier: dev | prod` says which
 * protections it gets. Everything that used to ask "is this prod?" asks the tier through this module:
 * which policy config the plan and CI apply, and what the components protect. Pure: no Pulumi, no files.
 *
 * `ml-platform:environment` is the stack's environment name (tags, reports); it may be any DNS label
 * and defaults to the stack name. A stack file that names no tier takes it from an environment of
 * `dev` or `prod`, so stack files written before tiers existed keep their meaning unchanged.
 */
import { describe, NAMESPACE } from "./errors";

export const TIERS = ["dev", "prod"] as const;
export type Tier = (typeof TIERS)[number];

export function isTier(value: unknown): value is Tier {
    return (TIERS as readonly unknown[]).includes(value);
}

/** What a tier protects: every "prod-ness" of the platform, in one place. */
export interface TierProtections {
    /** EFS file systems, KMS keys and PersistentVolumeClaims: protect + retainOnDelete; EFS volumes reclaimed Retain. */
    protectData: boolean;
    /** The cluster's KMS key (secrets encryption) is protected from `pulumi destroy`. */
    protectKeys: boolean;
    /** AWS Backup on the EFS file systems. */
    backups: boolean;
    /** CloudWatch retention of the EKS control plane logs, in days. */
    logRetentionDays: number;
    /** The public API endpoint must list its CIDRs (never open to everyone) and private access stays on. */
    strictEndpoint: boolean;
}

const PROTECTIONS: Record<Tier, TierProtections> = {
    dev: { protectData: false, protectKeys: false, backups: false, logRetentionDays: 30, strictEndpoint: false },
    prod: { protectData: true, protectKeys: true, backups: true, logRetentionDays: 365, strictEndpoint: true },
};

export function tierProtections(tier: Tier): TierProtections {
    return { ...PROTECTIONS[tier] };
}

/**
 * The policy config a stack of this tier is judged by: policy/config/<tier>.json, for every stack of
 * the tier (a staging stack of tier prod gets prod's limits). The plan, validation and the CI
 * workflows all pick the file this way.
 */
export function policyConfigName(tier: Tier): string {
    return `${tier}.json`;
}

/**
 * The stack's tier from `ml-platform:tier` and `ml-platform:environment` (either may be missing);
 * undefined, with a problem line, when neither says it or they contradict each other.
 */
export function resolveTier(tier: Tier | undefined, environment: string | undefined, problems: string[]): Tier | undefined {
    if (tier !== undefined) {
        if (isTier(environment) && environment !== tier) {
            problems.push(
                `${NAMESPACE}:environment ${describe(environment)} contradicts ${NAMESPACE}:tier ${describe(tier)}: an environment named like a tier must be that tier; ` +
                    `allowed: environment ${describe(tier)}, another environment name, or no environment key`,
            );
            return undefined;
        }
        return tier;
    }
    if (isTier(environment)) {
        return environment;
    }
    problems.push(
        `${NAMESPACE}:tier is required${environment === undefined ? "" : ` when ${NAMESPACE}:environment is not dev or prod (got ${describe(environment)})`}; ` +
            `allowed: ${TIERS.map((t) => JSON.stringify(t)).join(", ")} (dev-like or prod-like protections; see the README's "Stacks beyond dev and prod")`,
    );
    return undefined;
}
