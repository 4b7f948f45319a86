/**
 * `npm run plan -- --stack <name> [--config <Pulumi.x.yaml>] [--out <dir>]` plans the platform.
 * `--base <previous plan folder>` also writes diff.json and a "Changes" section first in report.md: what the
 * change does against that plan (plan/diff.ts); the exit code stays the plan's.
 * `npm run plan -- --program <dir> --stack <name> --platform-outputs <resources.json> [...]` plans another
 * Pulumi project (an app team's) against a platform plan's recorded outputs.
 * Exit 0: valid. 1: invalid manifests, policy violations or unschedulable workloads. 2: bad config,
 * an incompatible platform contract, or usage (nothing is written).
 */
import { existsSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { isContractError } from "../stacks/contract";
import { ConfigError } from "../stacks/errors";
import { executeAppPlan } from "./appPlan";
import { loadBasePlan } from "./basePlan";
import { diffPlans } from "./diff";
import { changesSection } from "./diffReport";
import { executePlan } from "./plan";
import { withSectionFirst } from "./report";
import { parseFlags, UsageError } from "./stackConfig";
import { PLAN_OUTPUT_NAMES, PLAN_OUTPUT_NAMES_WITH_DIFF, PlanWriter } from "./writer";

interface CliArgs {
    stack: string;
    config: string;
    out: string;
    /** The Pulumi project directory; the platform's root unless --program says otherwise. */
    program: string;
    /** Another project's plan: the platform plan whose outputs answer its StackReferences. */
    platformOutputs?: string;
    /** A previous plan's out folder of the same stack, to diff against. */
    base?: string;
}

const USAGE =
    "usage: npm run plan -- --stack <name> [--config <Pulumi.<stack>.yaml>] [--out <dir>] [--base <previous plan folder>]\n" +
    "       npm run plan -- --program <project dir> --stack <name> --platform-outputs <out/<platform stack>/resources.json> [--config <file>] [--out <dir>]";

export function parseArgs(argv: string[], root: string): CliArgs {
    const flags = parseFlags(argv, ["stack", "config", "out", "program", "platform-outputs", "base"], USAGE);
    const program = path.resolve(flags.program ?? root);
    const isPlatform = program === path.resolve(root);
    if (!existsSync(path.join(program, "Pulumi.yaml"))) {
        throw new UsageError(`--program ${program} is not a Pulumi project (no Pulumi.yaml)`);
    }
    let platformOutputs: string | undefined;
    if (isPlatform && flags["platform-outputs"]) {
        throw new UsageError(`--platform-outputs is for planning another project against the platform (with --program)\n${USAGE}`);
    }
    if (!isPlatform) {
        if (!flags["platform-outputs"]) {
            throw new UsageError(`--program needs --platform-outputs: the platform plan's resources.json (npm run plan -- --stack <stack> writes out/<stack>/resources.json)\n${USAGE}`);
        }
        platformOutputs = path.resolve(flags["platform-outputs"]);
        if (!existsSync(platformOutputs)) {
            throw new UsageError(`no platform plan at ${platformOutputs}; run npm run plan -- --stack <stack> first`);
        }
    }
    if (!isPlatform && flags.base) {
        throw new UsageError(`--base diffs a platform plan; it does not combine with --program\n${USAGE}`);
    }
    const config = path.resolve(flags.config ?? path.join(program, `Pulumi.${flags.stack}.yaml`));
    if (!existsSync(config)) {
        throw new UsageError(`no stack config at ${config}; pass --config <file>`);
    }
    // Another project's plan lands in its own directory, never over the platform's out/<stack>.
    const out = path.resolve(flags.out ?? (isPlatform ? path.join(root, "out", flags.stack) : path.join(program, "out", flags.stack)));
    const base = flags.base !== undefined ? { base: path.resolve(flags.base) } : {};
    return { stack: flags.stack, config, out, program, ...(platformOutputs ? { platformOutputs } : {}), ...base };
}

/**
 * Exit 2: bad config or usage. The platform's ConfigError, a usage error, an incompatible platform
 * contract, or a pulumi.RunError from the program: Pulumi's clean stop, which its config errors
 * (config.require*) are and which another project's own config validation should throw.
 */
export function isStopBeforeCreating(e: unknown): e is Error {
    return e instanceof ConfigError || e instanceof UsageError || isContractError(e) || pulumi.RunError.isInstance(e);
}

/** Where a CLI writes: the process's streams, or a test's buffers. */
export interface CliOutput {
    stdout: { write(text: string): unknown };
    stderr: { write(text: string): unknown };
}

/** The whole CLI but the exit: returns its exit code; an unexpected failure throws. */
export async function planCommand(argv: string[], io: CliOutput = process): Promise<number> {
    const root = path.resolve(__dirname, "..");
    let args: CliArgs;
    try {
        args = parseArgs(argv, root);
        // Read before anything runs: a bad base folder is a usage error, and --base may name the out folder itself.
        const base = args.base !== undefined ? loadBasePlan(args.base, args.stack) : undefined;
        const writer = new PlanWriter(args.out);
        let result: { headline: string; exitCode: 0 | 1 };
        try {
            if (args.platformOutputs) {
                const app = await executeAppPlan(args.program, args.stack, args.config, args.platformOutputs);
                await writer.finish(app);
                result = app;
            } else {
                const platform = await executePlan(args.stack, args.config, writer);
                if (base) {
                    const diff = diffPlans(base, { resources: platform.resources, summary: platform.summary, violations: platform.policy.violations });
                    await writer.finish({ ...platform, report: withSectionFirst(platform.report, changesSection(diff)), diff });
                } else {
                    await writer.finish(platform);
                }
                result = platform;
            }
        } catch (e) {
            await writer.abort();
            throw e;
        }
        const names = base ? PLAN_OUTPUT_NAMES_WITH_DIFF : PLAN_OUTPUT_NAMES;
        io.stdout.write(`${result.headline}\nwrote ${path.relative(process.cwd(), args.out) || "."}/${names}\n`);
        return result.exitCode;
    } catch (e) {
        if (isStopBeforeCreating(e)) {
            io.stderr.write(`error: ${e.message}\nnothing was written.\n`);
            return 2;
        }
        throw e;
    }
}

/** How both CLIs end: the exit code, or exit 1 with the stack of what failed. */
export function exitWith(code: Promise<number>): void {
    code.then(
        (c) => process.exit(c),
        (e) => {
            process.stderr.write(`the program failed under the offline plan: ${(e as Error).stack ?? String(e)}\n`);
            process.exit(1);
        },
    );
}

// Only as the entry point: tests and policy-cli.ts import from here.
if (require.main === module) {
    exitWith(planCommand(process.argv.slice(2)));
}
