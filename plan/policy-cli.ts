/**
 * `npm run policy -- --stack <name> [--config <Pulumi.<stack>.yaml>] [--out <dir>]`
 * `npm run policy -- --program <dir> --stack <name> --platform-outputs <resources.json> [...]`
 * Runs the program (the platform, or another project against a platform plan's outputs, with that
 * platform environment's policy config) under the offline emulator and only the policy gate; writes
 * <out>/policy.json. Exit 0: no mandatory violation. 1: mandatory violations. 2: bad stack/policy
 * config, an incompatible contract, or usage.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { CliOutput, exitWith, isStopBeforeCreating, parseArgs } from "./cli";
import { runPolicyGate } from "./policy";
import { readPlatformPlan } from "./appPlan";
import { RecordedResource } from "./recorder";
import { PROJECT, runProgram, runProject } from "./run";
import { UsageError } from "./stackConfig";
import { Tier } from "../stacks/tiers";
import { POLICY_FILE } from "./writer";

/** The whole CLI but the exit: returns its exit code; an unexpected failure throws. */
export async function policyCommand(argv: string[], io: CliOutput = process): Promise<number> {
    const root = path.resolve(__dirname, "..");
    try {
        const args = parseArgs(argv, root);
        if (args.base !== undefined) {
            throw new UsageError("--base is the plan's (npm run plan); npm run policy writes only policy.json");
        }
        let resources: RecordedResource[];
        let tier: Tier;
        if (args.platformOutputs) {
            const platform = readPlatformPlan(args.platformOutputs);
            resources = (await runProject(args.program, args.stack, args.config, { stackReferences: { [`*/${PROJECT}/*`]: platform.outputs } })).resources;
            tier = platform.tier;
        } else {
            const run = await runProgram(args.stack, args.config);
            resources = run.resources;
            tier = run.spec.tier;
        }
        const gate = await runPolicyGate(resources, { stack: args.stack, tier });
        for (const v of gate.violations) {
            io.stdout.write(`[${v.enforcementLevel}/${v.severity}] ${v.policy} — ${v.resource.type} ${v.resource.name}: ${v.message}\n`);
        }
        mkdirSync(args.out, { recursive: true });
        writeFileSync(path.join(args.out, POLICY_FILE), `${JSON.stringify(gate.violations, null, 2)}\n`);
        const verdict = gate.mandatory === 0 ? "pass" : "FAIL";
        io.stdout.write(
            `policy ${args.stack}: ${verdict} — ${gate.rules.length} rules (${gate.configFile}), ${gate.mandatory} mandatory, ${gate.advisory} advisory violation(s)\n` +
                `wrote ${path.relative(process.cwd(), path.join(args.out, POLICY_FILE))}\n`,
        );
        return gate.mandatory === 0 ? 0 : 1;
    } catch (e) {
        if (isStopBeforeCreating(e)) {
            io.stderr.write(`error: ${e.message.replace("npm run plan", "npm run policy")}\n`);
            return 2;
        }
        throw e;
    }
}

if (require.main === module) {
    exitWith(policyCommand(process.argv.slice(2)));
}
