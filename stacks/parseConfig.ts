/**
 * The structural pass of validation, key by key, reporting every problem of a stack file in one run:
 * a schema error in one key no longer hides the others or the cross-key checks. Each key is parsed
 * whole; when that fails, its problems are reported and what still parses is kept for the cross-key
 * checks — the key with its misspelt fields read as the keys they misspell (unknown ones dropped),
 * else the serving/training entries and node pools that parse on their own — so those checks run on
 * sound values only and never cascade from the broken parts. Misspelt keys get a did-you-mean (stacks/didYouMean.ts), and the "required" error of the
 * key they misspell is folded into it.
 */
import { z } from "zod";
import { credentialShape } from "./credentials";
import { didYouMean } from "./didYouMean";
import { formatIssue, keyPath, NAMESPACE } from "./errors";
import { configKeys, nodePoolSchema, REQUIRED_KEYS, SECRET_KEYS, servingSchema, trainingSchema } from "./schema";

export type Parsed = { [K in keyof typeof configKeys]: z.infer<(typeof configKeys)[K]> };

export interface ParsedConfig {
    values: Partial<Parsed>;
    /**
     * For serving and training, the original index of each kept entry: values.serving[i] was
     * serving[indices.serving[i]] in the file. Identity unless broken entries were left out.
     */
    indices: { serving: number[]; training: number[] };
    /** Node pools whose own config is broken (left out of values.nodePools). */
    brokenPools: string[];
}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

type AnySchema = z.ZodType;
const defOf = (s: AnySchema) => (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;

/** The schema at `path` inside `schema`, through defaults, optionals, arrays and records. */
function schemaAt(schema: AnySchema, path: readonly PropertyKey[]): AnySchema | undefined {
    let s: AnySchema | undefined = schema;
    let i = 0;
    while (s) {
        const def = defOf(s);
        if (["default", "optional", "nullable", "prefault", "readonly", "catch"].includes(def.type)) {
            s = def.innerType as AnySchema;
            continue;
        }
        if (def.type === "pipe") {
            s = def.in as AnySchema;
            continue;
        }
        if (i === path.length) {
            return s;
        }
        const seg = path[i++];
        if (def.type === "object") {
            s = (def.shape as Record<string, AnySchema>)[String(seg)];
        } else if (def.type === "array") {
            s = def.element as AnySchema;
        } else if (def.type === "record") {
            s = def.valueType as AnySchema;
        } else {
            return undefined;
        }
    }
    return undefined;
}

/** The keys an object at `path` of `schema` allows (empty when it is not an object). */
export function knownKeysAt(schema: AnySchema, path: readonly PropertyKey[]): string[] {
    const s = schemaAt(schema, path);
    return s && defOf(s).type === "object" ? Object.keys(defOf(s).shape as Record<string, unknown>) : [];
}

const samePath = (a: readonly PropertyKey[], b: readonly PropertyKey[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/**
 * The problem lines of a key's zod issues: unknown keys with a did-you-mean and the keys allowed
 * there; a "required" issue of a key that an unknown key misspells is folded into the did-you-mean.
 */
export function issueLines(key: string, schema: AnySchema, issues: readonly z.core.$ZodIssue[]): string[] {
    const meant: PropertyKey[][] = [];
    const lines: { issue: z.core.$ZodIssue; line?: string }[] = issues.map((issue) => {
        if (issue.code !== "unrecognized_keys") {
            return { issue };
        }
        const known = knownKeysAt(schema, issue.path);
        const named = issue.keys.map((k) => {
            const guess = didYouMean(k, known);
            if (guess !== undefined) {
                meant.push([...issue.path, guess]);
            }
            return guess === undefined ? `"${k}"` : `"${k}" (did you mean "${guess}"?)`;
        });
        return { issue, line: `${keyPath(key, issue.path)} has unknown key(s) ${named.join(", ")}; allowed: ${known.join(", ")}` };
    });
    return lines
        // The key is missing because it is misspelt: any issue of its absence is the did-you-mean's.
        .filter(({ issue }) => !((issue as { input?: unknown }).input === undefined && issue.code !== "unrecognized_keys" && meant.some((p) => samePath(p, issue.path))))
        .map(({ issue, line }) => line ?? formatIssue(key, issue));
}

/**
 * A copy of `value` as it was probably meant: each key the issues call unknown renamed to the known
 * key it misspells (so the cross-key checks judge the value the user wrote, not its absence), or
 * dropped when it misspells none.
 */
function asMeant(key: string, value: unknown, issues: readonly z.core.$ZodIssue[]): unknown {
    const copy = structuredClone(value);
    for (const issue of issues) {
        if (issue.code !== "unrecognized_keys") {
            continue;
        }
        let target: unknown = copy;
        for (const seg of issue.path) {
            target = target && typeof target === "object" ? (target as Record<PropertyKey, unknown>)[seg] : undefined;
        }
        if (target && typeof target === "object") {
            const obj = target as Record<string, unknown>;
            const known = knownKeysAt(configKeys[key as keyof typeof configKeys], issue.path);
            for (const k of issue.keys) {
                const guess = didYouMean(k, known);
                if (guess !== undefined && obj[guess] === undefined) {
                    obj[guess] = obj[k];
                }
                delete obj[k];
            }
        }
    }
    return copy;
}

const ENTRY_SCHEMAS = { serving: servingSchema, training: trainingSchema } as const;
const POOL_NAME = schemaAt(configKeys.nodePools, []) ? (defOf(schemaAt(configKeys.nodePools, [])!).keyType as AnySchema) : undefined;

/**
 * What of a key that failed still parses: the key without its unknown fields; else, for the lists and
 * the pool map, the entries that parse on their own.
 */
function salvage(key: keyof typeof configKeys, value: unknown, issues: readonly z.core.$ZodIssue[], out: ParsedConfig) {
    const stripped = asMeant(key, value, issues);
    const again = configKeys[key].safeParse(stripped);
    if (again.success) {
        (out.values as Record<string, unknown>)[key] = again.data;
        return;
    }
    if ((key === "serving" || key === "training") && Array.isArray(stripped)) {
        const kept: unknown[] = [];
        const indices: number[] = [];
        stripped.forEach((entry, i) => {
            const r = ENTRY_SCHEMAS[key].safeParse(entry);
            if (r.success) {
                kept.push(r.data);
                indices.push(i);
            }
        });
        (out.values as Record<string, unknown>)[key] = kept;
        out.indices[key] = indices;
    } else if (key === "nodePools" && stripped && typeof stripped === "object" && !Array.isArray(stripped)) {
        const kept: Record<string, z.infer<typeof nodePoolSchema>> = {};
        for (const [name, pool] of Object.entries(stripped)) {
            const r = nodePoolSchema.safeParse(pool);
            if (r.success && (POOL_NAME?.safeParse(name).success ?? true)) {
                kept[name] = r.data;
            } else {
                out.brokenPools.push(name);
            }
        }
        (out.values as Record<string, unknown>).nodePools = kept;
    }
}

/** Structural validation of every key; unknown top-level keys are errors, with a did-you-mean. */
export function parseConfigKeys(values: Record<string, string>, secretKeys: readonly string[], problems: string[]): ParsedConfig {
    const known = Object.keys(configKeys);
    const out: ParsedConfig = { values: {}, indices: { serving: [], training: [] }, brokenPools: [] };
    const misspelt = new Map<string, string>();
    for (const key of Object.keys(values)) {
        if (!known.includes(key)) {
            const guess = didYouMean(key, known);
            if (guess !== undefined && values[guess] === undefined) {
                misspelt.set(guess, key);
            }
            const hint = guess === undefined ? "" : ` (did you mean ${NAMESPACE}:${guess}?${values[guess] === undefined && (REQUIRED_KEYS as readonly string[]).includes(guess) ? ` It is required.` : ""})`;
            problems.push(`${NAMESPACE}:${key} is not a known config key${hint}; known keys: ${known.map((k) => `${NAMESPACE}:${k}`).join(", ")}`);
        }
    }
    for (const key of known as (keyof typeof configKeys)[]) {
        const text = values[key];
        if (text === undefined && (REQUIRED_KEYS as readonly string[]).includes(key)) {
            if (!misspelt.has(key)) {
                problems.push(`${NAMESPACE}:${key} is required; see the README's config reference`);
            }
            continue;
        }
        if (text === undefined && key === "mlflowTrackingUri") {
            continue;
        }
        const value = key === "mlflowTrackingUri" || text === undefined ? text : parseValue(text);
        const secret = (SECRET_KEYS as readonly string[]).includes(key);
        // A secret's value never reaches a message: the plan's output is public in a pull request.
        const result = configKeys[key].safeParse(value, { reportInput: !secret });
        if (result.success) {
            (out.values as Record<string, unknown>)[key] = result.data;
            if (key === "serving" || key === "training") {
                out.indices[key] = (result.data as unknown[]).map((_, i) => i);
            }
        } else if (secret) {
            problems.push(...result.error.issues.map((i) => `${keyPath(key, i.path)} is invalid (${i.message}); the value is a secret and is not shown`));
        } else {
            problems.push(...issueLines(key, configKeys[key], result.error.issues));
            salvage(key, value, result.error.issues, out);
        }
    }
    for (const [key, text] of Object.entries(values)) {
        const shape = secretKeys.includes(key) ? undefined : credentialShape(text);
        if (shape) {
            problems.push(
                `${NAMESPACE}:${key} holds what looks like ${shape} in plain text; credentials belong in Pulumi secrets ` +
                    `(\`pulumi config set --secret\`) read by a key meant for them, never in plain config`,
            );
        }
    }
    for (const key of SECRET_KEYS) {
        if (values[key] !== undefined && !secretKeys.includes(key)) {
            problems.push(`${NAMESPACE}:${key} must be a secret: set it with \`pulumi config set --secret ${NAMESPACE}:${key} <value>\``);
        }
    }
    return out;
}

/**
 * Problems the cross-key checks wrote about kept entries name them by their place among the kept
 * (serving[0] of the kept list); this names them by their place in the file.
 */
export function toFileIndices(problems: string[], indices: ParsedConfig["indices"]): string[] {
    return problems.map((p) =>
        p.replace(new RegExp(`${NAMESPACE}:(serving|training)\\[(\\d+)\\]`, "g"), (whole, key: "serving" | "training", i: string) => {
            const original = indices[key][Number(i)];
            return original === undefined ? whole : `${NAMESPACE}:${key}[${original}]`;
        }),
    );
}
