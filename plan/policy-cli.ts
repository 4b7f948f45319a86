/**
 * `npm run policy -- --stack <name> [--config <Pulumi.<stack>.yaml>] [--out <dir>]`
 * Runs the program under the offline emulator and only the policy gate; writes <out>/policy.json.
 * Exit 0: no mandatory violation. 1: mandatory violations. 2: bad stack/policy config or usage.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { isStopBeforeCreating, parseArgs } from "./cli";
import { runPolicyGate } from "./policy";
import { runProgram } from "./run";
import { UsageError } from "./stackConfig";

async function main(): Promise<number> {
    const root = path.resolve(__dirname, "..");
    try {
        const args = parseArgs(process.argv.slice(2), root);
        if (args.platformOutputs) {
            throw new UsageError("npm run policy checks the platform; another project's plan (npm run plan -- --program ...) runs the policy gate itself");
        }
        const run = await runProgram(args.stack, args.config);
        const gate = await runPolicyGate(run.resources, { stack: args.stack, environment: run.spec.environment });
        for (const v of gate.violations) {
            process.stdout.write(`[${v.enforcementLevel}/${v.severity}] ${v.policy} — ${v.resource.type} ${v.resource.name}: ${v.message}\n`);
        }
        mkdirSync(args.out, { recursive: true });
        writeFileSync(path.join(args.out, "policy.json"), `${JSON.stringify(gate.violations, null, 2)}\n`);
        const verdict = gate.mandatory === 0 ? "pass" : "FAIL";
        process.stdout.write(
            `policy ${args.stack}: ${verdict} — ${gate.rules.length} rules (${gate.configFile}), ${gate.mandatory} mandatory, ${gate.advisory} advisory violation(s)\n` +
                `wrote ${path.relative(process.cwd(), path.join(args.out, "policy.json"))}\n`,
        );
        return gate.mandatory === 0 ? 0 : 1;
    } catch (e) {
        if (isStopBeforeCreating(e)) {
            process.stderr.write(`error: ${e.message.replace("npm run plan", "npm run policy")}\n`);
            return 2;
        }
        throw e;
    }
}

main().then(
    (code) => process.exit(code),
    (e) => {
        process.stderr.write(`the program failed under the offline plan: ${(e as Error).stack ?? String(e)}\n`);
        process.exit(1);
    },
);
