/** Reads a Pulumi.<stack>.yaml the way the CLI would hand it to the program, without decrypting secrets. */
import { readFileSync } from "node:fs";
import { parse } from "yaml";

export class UsageError extends Error {}

export interface StackConfigFile {
    /** Full keys (`ml-platform:cluster`) to Pulumi's string form (objects as JSON). */
    values: Record<string, string>;
    secretKeys: string[];
}

export function secretPlaceholder(key: string): string {
    return `[secret ${key}: not decrypted by the offline plan]`;
}

/** The file's `config` map as YAML gives it: secrets stay `{ secure: <ciphertext> }`. */
export function readStackConfigMap(path: string): Record<string, unknown> {
    let text: string;
    try {
        text = readFileSync(path, "utf8");
    } catch {
        throw new UsageError(`cannot read stack config file ${path}`);
    }
    let doc: unknown;
    try {
        doc = parse(text);
    } catch (e) {
        throw new UsageError(`${path} is not valid YAML: ${(e as Error).message}`);
    }
    const config = (doc as { config?: unknown } | null)?.config ?? {};
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new UsageError(`${path}: "config" must be a map of keys to values`);
    }
    return config as Record<string, unknown>;
}

export function readStackConfigFile(path: string): StackConfigFile {
    const config = readStackConfigMap(path);
    const values: Record<string, string> = {};
    const secretKeys: string[] = [];
    for (const [key, value] of Object.entries(config)) {
        if (!key.includes(":")) {
            throw new UsageError(`${path}: config key "${key}" needs a namespace, e.g. ml-platform:${key}`);
        }
        if (value && typeof value === "object" && !Array.isArray(value) && "secure" in value) {
            values[key] = secretPlaceholder(key);
            secretKeys.push(key);
        } else if (typeof value === "string") {
            values[key] = value;
        } else {
            values[key] = JSON.stringify(value);
        }
    }
    return { values, secretKeys };
}

/** `--name value` / `--name=value` flags of a CLI; anything else, or a flag without a value, is a usage error. */
export function parseFlags(argv: string[], names: readonly string[], usage: string): Record<string, string> {
    const flags: Record<string, string> = {};
    const pattern = new RegExp(`^--(${names.join("|")})(?:=(.*))?$`);
    for (let i = 0; i < argv.length; i++) {
        const m = pattern.exec(argv[i]);
        if (!m) {
            throw new UsageError(`unknown argument "${argv[i]}"\n${usage}`);
        }
        const value = m[2] ?? argv[++i];
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError(`--${m[1]} needs a value\n${usage}`);
        }
        flags[m[1]] = value;
    }
    if (!flags.stack) {
        throw new UsageError(`--stack is required\n${usage}`);
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(flags.stack)) {
        throw new UsageError(`--stack "${flags.stack}" may only use letters, digits, '-', '_' and '.'`);
    }
    return flags;
}
