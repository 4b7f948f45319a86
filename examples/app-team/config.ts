/**
 * The app team's own config (namespace ml-app-team), validated before anything is created: every
 * problem at once, each naming the key, the bad value and what is allowed, thrown as a pulumi.RunError
 * (Pulumi's clean stop: `pulumi up` prints it without a stack trace, the offline plan exits 2).
 * The keys are checked alone first (appConfigProblems), then against the platform's contract
 * (platformProblems: the GPU pool must be one the platform has, the GPUs fit its nodes).
 */
import * as pulumi from "@pulumi/pulumi";
import { isCpuQuantity, isMemoryQuantity } from "../../capacity/quantity";
import { didYouMean } from "../../stacks/didYouMean";
import type { PlatformContractValues } from "../../stacks/contract";

export interface AppConfig {
    /** `<org>/ml-platform/<stack>`: the only thing this project knows about the platform. */
    platformStack: string;
    modelName: string;
    image: string;
    /** A key of the platform's gpuPools output. */
    gpuPool: string;
    gpus: number;
    cpu: string;
    memory: string;
    minReplicas: number;
    maxReplicas: number;
    /** How long the server takes to load its model; the startup probe waits 1.2x this. */
    modelLoadSeconds: number;
}

type Rule = { test: (v: string) => boolean; allowed: string };
const text = (pattern: RegExp, allowed: string, extra?: (v: string) => boolean): Rule => ({ test: (v) => pattern.test(v) && (extra?.(v) ?? true), allowed });
const whole = (min: number, max: number): Rule => ({ test: (v) => /^-?\d+$/.test(v) && Number(v) >= min && Number(v) <= max, allowed: `a whole number from ${min} to ${max}` });

const RULES: Record<keyof AppConfig, Rule> = {
    platformStack: text(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "<org>/<project>/<stack>, e.g. acme/ml-platform/dev"),
    modelName: text(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/, "a DNS label of at most 40 characters (lower-case letters, digits, '-')"),
    image: text(/^[^\s:@]+(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/, "an image with a pinned tag or digest, not :latest", (v) => !v.endsWith(":latest")),
    gpuPool: text(/^\S+$/, "the name of one of the platform's GPU pools (its gpuPools output)"),
    gpus: whole(1, 8),
    cpu: { test: isCpuQuantity, allowed: "a CPU quantity such as 500m or 4" },
    memory: { test: isMemoryQuantity, allowed: "a memory quantity such as 512Mi or 16Gi" },
    minReplicas: whole(1, 1000),
    maxReplicas: whole(1, 1000),
    modelLoadSeconds: whole(1, 3600),
};
export const APP_CONFIG_KEYS = Object.keys(RULES) as (keyof AppConfig)[];
const NUMBERS: readonly (keyof AppConfig)[] = ["gpus", "minReplicas", "maxReplicas", "modelLoadSeconds"];

const shown = (v: unknown) => JSON.stringify(v);

/**
 * Every problem of the project's config values (`<namespace>:<key>` -> the string Pulumi holds), and the
 * typed config when there are none. Unknown keys of the namespace get a did-you-mean.
 */
export function appConfigProblems(namespace: string, values: Record<string, string>): { config?: AppConfig; problems: string[] } {
    const problems: string[] = [];
    for (const key of Object.keys(values)) {
        if (!(APP_CONFIG_KEYS as string[]).includes(key)) {
            const guess = didYouMean(key, APP_CONFIG_KEYS);
            problems.push(`${namespace}:${key} is not a config key of this project${guess ? ` (did you mean ${namespace}:${guess}?)` : ""}; allowed: ${APP_CONFIG_KEYS.join(", ")}`);
        }
    }
    const out: Record<string, string | number> = {};
    for (const key of APP_CONFIG_KEYS) {
        const value = values[key];
        if (value === undefined) {
            problems.push(`${namespace}:${key} is required; allowed: ${RULES[key].allowed}`);
        } else if (!RULES[key].test(value)) {
            problems.push(`${namespace}:${key} is not valid, got ${shown(value)}; allowed: ${RULES[key].allowed}`);
        } else {
            out[key] = NUMBERS.includes(key) ? Number(value) : value;
        }
    }
    if (typeof out.minReplicas === "number" && typeof out.maxReplicas === "number" && out.maxReplicas <= out.minReplicas) {
        problems.push(`${namespace}:maxReplicas must be above minReplicas (${out.minReplicas}) or the autoscaler can never scale out, got ${out.maxReplicas}; allowed: a whole number > ${out.minReplicas}`);
    }
    return problems.length === 0 ? { config: out as unknown as AppConfig, problems } : { problems };
}

/** What the config asks of the platform that the platform's contract does not offer. */
export function platformProblems(namespace: string, cfg: AppConfig, platform: Pick<PlatformContractValues, "gpuPools">, platformStack: string): string[] {
    const pools = Object.keys(platform.gpuPools);
    const pool = platform.gpuPools[cfg.gpuPool];
    if (!pool) {
        const guess = didYouMean(cfg.gpuPool, pools);
        return [
            `${namespace}:gpuPool names no GPU pool of platform ${platformStack}${guess ? ` (did you mean "${guess}"?)` : ""}, got ${shown(cfg.gpuPool)}; ` +
                `allowed: ${pools.length > 0 ? pools.join(", ") : "none: the platform has no GPU pool"}`,
        ];
    }
    if (pool.sharing && cfg.gpus > pool.sharing.maxGpusPerPod) {
        const what = pool.sharing.mode === "mig" ? `MIG ${pool.sharing.migProfile} slices` : `${pool.sharing.replicas} time-slice replicas per GPU`;
        return [`${namespace}:gpus must be at most ${pool.sharing.maxGpusPerPod} on pool ${shown(cfg.gpuPool)}, which shares its GPUs (${what}), got ${cfg.gpus}; allowed: 1`];
    }
    if (cfg.gpus > pool.gpusPerNode) {
        return [`${namespace}:gpus must fit one ${pool.instanceType} node of pool ${shown(cfg.gpuPool)} (a pod never spans nodes), got ${cfg.gpus}; allowed: a whole number from 1 to ${pool.gpusPerNode}`];
    }
    return [];
}

export function invalidConfig(problems: string[]): pulumi.RunError {
    return new pulumi.RunError(`invalid config:\n  ${problems.join("\n  ")}`);
}

export function loadAppConfig(): AppConfig {
    const config = new pulumi.Config();
    const prefix = `${config.name}:`;
    const values: Record<string, string> = {};
    for (const [key, value] of Object.entries(pulumi.runtime.allConfig())) {
        if (key.startsWith(prefix)) {
            values[key.slice(prefix.length)] = value;
        }
    }
    const { config: cfg, problems } = appConfigProblems(config.name, values);
    if (!cfg) {
        throw invalidConfig(problems);
    }
    return cfg;
}
