/**
 * `npm run preflight -- --stack <name> [--config <Pulumi.x.yaml>]`: before a real `pulumi up`, fails
 * while the stack file still holds a placeholder (stacks/placeholders.ts), naming each key, its value
 * and what to put instead. Reads the file only: no program run, no credentials, nothing written.
 * Exit 0: no placeholders. 1: placeholders found. 2: usage (no such stack file, bad arguments), or the
 * stack file shares its cluster name or VPC CIDR with another stack file of the project (plan/siblings.ts).
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { findPlaceholders } from "../stacks/placeholders";
import { CliOutput, exitWith } from "./cli";
import { formatPlaceholder } from "./preflight";
import { siblingStackConflicts } from "./siblings";
import { parseFlags, readStackConfigMap, UsageError } from "./stackConfig";

const USAGE = "usage: npm run preflight -- --stack <name> [--config <Pulumi.<stack>.yaml>]";

export function parsePreflightArgs(argv: string[], root: string): { stack: string; config: string } {
    const flags = parseFlags(argv, ["stack", "config"], USAGE);
    const config = path.resolve(flags.config ?? path.join(root, `Pulumi.${flags.stack}.yaml`));
    if (!existsSync(config)) {
        throw new UsageError(`no stack config at ${config}; pass --config <file>`);
    }
    return { stack: flags.stack, config };
}

export async function preflightCommand(argv: string[], io: CliOutput = process): Promise<number> {
    const root = path.resolve(__dirname, "..");
    try {
        const args = parsePreflightArgs(argv, root);
        const conflicts = siblingStackConflicts(args.config);
        if (conflicts.length > 0) {
            io.stderr.write(`preflight ${args.stack}: ${conflicts.length} conflict(s) with other stack files:\n${conflicts.map((c) => `  - ${c}\n`).join("")}`);
            return 2;
        }
        const found = findPlaceholders(readStackConfigMap(args.config));
        const file = path.relative(process.cwd(), args.config) || args.config;
        if (found.length === 0) {
            io.stdout.write(`preflight ${args.stack}: ${file} holds no placeholders\n`);
            return 0;
        }
        io.stderr.write(
            `preflight ${args.stack}: ${file} still holds ${found.length} placeholder(s); a real \`pulumi up\` would use them:\n` +
                found.map((p) => `  - ${formatPlaceholder(p)}\n`).join(""),
        );
        return 1;
    } catch (e) {
        if (e instanceof UsageError) {
            io.stderr.write(`error: ${e.message}\n`);
            return 2;
        }
        throw e;
    }
}

if (require.main === module) {
    exitWith(preflightCommand(process.argv.slice(2)));
}
