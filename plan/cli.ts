/**
 * `npm run plan -- --stack <name> [--config <Pulumi.x.yaml>] [--out <dir>]`
 * Exit 0: valid. 1: invalid manifests, policy violations or unschedulable workloads. 2: bad config or
 * usage (nothing is written).
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import { ConfigError } from "../stacks/validate";
import { executePlan, writePlan } from "./plan";
import { UsageError } from "./stackConfig";

interface CliArgs {
    stack: string;
    config: string;
    out: string;
}

const USAGE = "usage: npm run plan -- --stack <name> [--config <Pulumi.<stack>.yaml>] [--out <dir>]";

export function parseArgs(argv: string[], root: string): CliArgs {
    const flags: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const arg = argv[i];
        const m = /^--(stack|config|out)(?:=(.*))?$/.exec(arg);
        if (!m) {
            throw new UsageError(`unknown argument "${arg}"\n${USAGE}`);
        }
        const value = m[2] ?? argv[++i];
        if (value === undefined || value.startsWith("--")) {
            throw new UsageError(`--${m[1]} needs a value\n${USAGE}`);
        }
        flags[m[1]] = value;
    }
    if (!flags.stack) {
        throw new UsageError(`--stack is required\n${USAGE}`);
    }
    if (!/^[A-Za-z0-9_.-]+$/.test(flags.stack)) {
        throw new UsageError(`--stack "${flags.stack}" may only use letters, digits, '-', '_' and '.'`);
    }
    const config = path.resolve(flags.config ?? path.join(root, `Pulumi.${flags.stack}.yaml`));
    if (!existsSync(config)) {
        throw new UsageError(`no stack config at ${config}; pass --config <file>`);
    }
    return { stack: flags.stack, config, out: path.resolve(flags.out ?? path.join(root, "out", flags.stack)) };
}

async function main(): Promise<number> {
    const root = path.resolve(__dirname, "..");
    let args: CliArgs;
    try {
        args = parseArgs(process.argv.slice(2), root);
        const result = await executePlan(args.stack, args.config);
        writePlan(result, args.out);
        process.stdout.write(`${result.headline}\nwrote ${path.relative(process.cwd(), args.out) || "."}/{resources.json,summary.json,report.md,policy.json,manifests/}\n`);
        return result.exitCode;
    } catch (e) {
        if (e instanceof ConfigError || e instanceof UsageError) {
            process.stderr.write(`error: ${e.message}\nnothing was written.\n`);
            return 2;
        }
        throw e;
    }
}

// Only as the entry point: policy-cli.ts imports parseArgs from here.
if (require.main === module) {
    main().then(
        (code) => process.exit(code),
        (e) => {
            process.stderr.write(`the program failed under the offline plan: ${(e as Error).stack ?? String(e)}\n`);
            process.exit(1);
        },
    );
}
