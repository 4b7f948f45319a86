/**
 * Policy configuration: the schema fragments rules share and the one way a rule reads its config.
 * Defaults live in the schemas only; `configOf` applies them, so a rule behaves the same whether the
 * Pulumi CLI filled them in, the offline plan did, or a test passed nothing.
 */
import type { PolicyConfigSchema } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { DEFAULT_GPU_TAINT } from "../../capacity/pools";
import { NAMESPACES } from "../../facts/namespaces";

export { NVIDIA_DAEMONSETS } from "../../facts/nvidia";

export type Environment = "dev" | "prod";

export interface ConfigSource {
    getConfig<T extends object>(): T;
}

/** Freezes an object and everything in it; returns it. */
export function deepFreeze<T>(value: T): T {
    if (value && typeof value === "object") {
        Object.values(value).forEach(deepFreeze);
        Object.freeze(value);
    }
    return value;
}

// Rules read their config for every resource: the defaults are copied and frozen once per schema.
const defaultsCache = new WeakMap<PolicyConfigSchema, Readonly<Record<string, unknown>>>();

/** The schema's defaults, property by property: a deep-frozen copy, so no rule can change a default for the others. */
export function defaultsOf(schema: PolicyConfigSchema): Readonly<Record<string, unknown>> {
    let defaults = defaultsCache.get(schema);
    if (!defaults) {
        const out: Record<string, unknown> = {};
        for (const [key, prop] of Object.entries(schema.properties)) {
            if (prop.default !== undefined) {
                out[key] = structuredClone(prop.default);
            }
        }
        defaults = deepFreeze(out);
        defaultsCache.set(schema, defaults);
    }
    return defaults;
}

/** The policy's config with the schema's defaults under whatever was configured. */
export function configOf<T extends object>(args: ConfigSource, schema: PolicyConfigSchema): T {
    return { ...defaultsOf(schema), ...args.getConfig<Partial<T>>() } as T;
}

export const gpuTaintProperty: PolicyConfigJSONSchema = {
    type: "object",
    description: "The platform's GPU taint (ml-platform:gpuTaint). GPU pools carry it; only pods that use GPUs tolerate it.",
    properties: {
        key: { type: "string", minLength: 1 },
        value: { type: "string" },
        effect: { type: "string", enum: ["NoSchedule", "NoExecute"] },
    },
    required: ["key", "value", "effect"],
    additionalProperties: false,
    default: { ...DEFAULT_GPU_TAINT },
};

/** System DaemonSets named "namespace/name"; allow-lists in this pack only ever match DaemonSets. */

export const daemonSetListProperty = (description: string, defaults: string[]): PolicyConfigJSONSchema => ({
    type: "array",
    description,
    items: { type: "string", pattern: "^[a-z0-9-]+/[a-z0-9.-]+$" },
    default: defaults,
});

/** Per-DaemonSet string lists ("namespace/name" -> values), e.g. capabilities or host paths. */
export const daemonSetMapProperty = (description: string, defaults: Record<string, string[]>): PolicyConfigJSONSchema => ({
    type: "object",
    description,
    propertyNames: { pattern: "^[a-z0-9-]+/[a-z0-9.-]+$" },
    additionalProperties: { type: "array", items: { type: "string" } },
    default: defaults,
});

export const servingNamespacesProperty: PolicyConfigJSONSchema = {
    type: "array",
    description: "Namespaces whose Deployments are model servers.",
    items: { type: "string" },
    default: [NAMESPACES.serving],
};

export const environmentProperty: PolicyConfigJSONSchema = {
    type: "string",
    enum: ["dev", "prod"],
    description: "The stack's tier (ml-platform:tier; for stacks without one, an ml-platform:environment of dev or prod). Stacks of a tier share policy/config/<tier>.json.",
    default: "prod",
};
