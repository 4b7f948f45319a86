/**
 * How a config problem is told: the key path, what is wrong, the value, and what is allowed, e.g.
 * `ml-platform:nodePools.a10g.maxSize must be >= minSize (2), got 1`. Every problem of a stack is
 * collected and thrown at once as a ConfigError (the plan exits 2 on it).
 */
import { z } from "zod";

export const NAMESPACE = "ml-platform";

export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

export function keyPath(key: string, path: PropertyKey[]): string {
    let out = `${NAMESPACE}:${key}`;
    for (const p of path) {
        out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
    }
    return out;
}

/** A value as a message shows it: JSON, cut to 80 characters. */
export function describe(value: unknown): string {
    const text = JSON.stringify(value);
    if (text === undefined) {
        return "nothing";
    }
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/** `<where> <wrong>, got <value>; allowed: <allowed>`. */
export function problemLine(where: string, wrong: string, got: unknown, allowed: string): string {
    return `${where} ${wrong}, got ${describe(got)}; allowed: ${allowed}`;
}

/** One zod issue of key `key` as a problem line. */
export function formatIssue(key: string, issue: z.core.$ZodIssue): string {
    const where = keyPath(key, issue.path);
    if (issue.code === "unrecognized_keys") {
        return `${where} has unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against the README's config reference`;
    }
    if (issue.code === "invalid_key") {
        return `${where}: the name ${describe(issue.input)} ${issue.issues.map((i) => i.message).join("; ")}`;
    }
    if (issue.code === "invalid_type" && issue.input === undefined) {
        return `${where} is required (${issue.expected})`;
    }
    if (issue.code === "invalid_value") {
        return `${where} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describe(issue.input)}`;
    }
    if (issue.code === "custom" && typeof issue.params?.allowed === "string") {
        return problemLine(where, issue.message, issue.input, issue.params.allowed);
    }
    const message = issue.code === "invalid_type" ? `must be a ${issue.expected}` : issue.message;
    return `${where} ${message}, got ${describe(issue.input)}`;
}
