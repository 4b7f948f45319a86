/**
 * The other stack files of the project a stack file belongs to (Pulumi.*.yaml next to Pulumi.yaml),
 * checked for collisions with it (stacks/siblings.ts) before anything runs: the plan, the policy CLI
 * and preflight all stop with exit 2 on a shared cluster name or overlapping VPC CIDRs.
 */
import { existsSync, readdirSync } from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../stacks/errors";
import { siblingConflicts, SiblingStack } from "../stacks/siblings";
import { readStackConfigMap } from "./stackConfig";

export const STACK_FILE = /^Pulumi\.([A-Za-z0-9_.-]+)\.yaml$/;

/** The project's stack names, from the Pulumi.<stack>.yaml files next to its Pulumi.yaml, sorted. */
export function projectStacks(projectDir: string): string[] {
    return readdirSync(projectDir)
        .map((f) => STACK_FILE.exec(f)?.[1])
        .filter((s): s is string => s !== undefined)
        .sort();
}

/**
 * Conflicts of `configPath` with the other stack files of its directory, when that directory is a
 * Pulumi project (a stack file elsewhere, e.g. a test's copy, has no siblings). A sibling that does
 * not parse is skipped: its own plan reports it.
 */
export function siblingStackConflicts(configPath: string): string[] {
    const dir = path.dirname(path.resolve(configPath));
    if (!existsSync(path.join(dir, "Pulumi.yaml"))) {
        return [];
    }
    const read = (file: string): SiblingStack | undefined => {
        try {
            return { file, config: readStackConfigMap(path.join(dir, file)) };
        } catch {
            return undefined;
        }
    };
    const ownFile = path.basename(configPath);
    const own = read(ownFile);
    if (!own) {
        return [];
    }
    const others = projectStacks(dir)
        .map((s) => `Pulumi.${s}.yaml`)
        .filter((f) => f !== ownFile)
        .map(read)
        .filter((s): s is SiblingStack => s !== undefined);
    return siblingConflicts(own, others);
}

/** Runs `validate` and adds the sibling conflicts to its problems: one ConfigError with everything. */
export function validateWithSiblings<T>(conflicts: string[], validate: () => T): T {
    let value: T;
    try {
        value = validate();
    } catch (e) {
        if (e instanceof ConfigError && conflicts.length > 0) {
            throw new ConfigError([...e.problems, ...conflicts]);
        }
        throw e;
    }
    if (conflicts.length > 0) {
        throw new ConfigError(conflicts);
    }
    return value;
}
