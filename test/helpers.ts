import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { CLI_NODE_ARGS } from "../plan/nodeArgs";
import { readStackConfigFile } from "../plan/stackConfig";
import { strict as assert } from "node:assert";
import { ConfigError } from "../stacks/errors";
import { buildStackSpec, RawConfig } from "../stacks/validate";

export const ROOT = path.resolve(__dirname, "..");

/** A stack file as the validator receives it, so tests can mutate one key at a time. */
export function rawConfigOf(stack: string): RawConfig {
    const file = readStackConfigFile(path.join(ROOT, `Pulumi.${stack}.yaml`));
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(file.values)) {
        if (k.startsWith("ml-platform:")) {
            values[k.slice("ml-platform:".length)] = v;
        }
    }
    return {
        project: "ml-platform",
        stack,
        region: file.values["aws:region"],
        values,
        secretKeys: file.secretKeys.filter((k) => k.startsWith("ml-platform:")).map((k) => k.slice("ml-platform:".length)),
    };
}

/** Applies `edit` to the parsed value of one config key and returns a new RawConfig. */
export function withKey(raw: RawConfig, key: string, edit: (value: any) => any): RawConfig {
    const current = raw.values[key] === undefined ? undefined : JSON.parse(raw.values[key]);
    const next = edit(current === undefined ? undefined : structuredClone(current));
    const values = { ...raw.values };
    if (next === undefined) {
        delete values[key];
    } else {
        values[key] = JSON.stringify(next);
    }
    return { ...raw, values };
}

/** Every problem validation reports for `raw` (none: it is valid); anything but a ConfigError fails the test. */
export function problemsOf(raw: RawConfig): string[] {
    try {
        buildStackSpec(raw);
    } catch (e) {
        assert.ok(e instanceof ConfigError, `expected ConfigError, got ${String(e)}`);
        return e.problems;
    }
    return [];
}

export { CLI_NODE_ARGS };

/** Runs one of the plan/ CLIs as a separate process, as a user would: one smoke test per CLI (the rest run in-process, test/fixtures.ts). */
export function runCli(script: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
    const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, path.join(ROOT, "plan", script), ...args], { cwd: ROOT, encoding: "utf8", env });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
