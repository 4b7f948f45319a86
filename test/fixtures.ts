/**
 * What many test files need from the same stack, computed once per mocha process: the platform
 * program's run (a full program run costs as much as dozens of tests) and the plan written from it,
 * as `npm run plan` writes it. Both are frozen, so a test that changed them would fail rather than
 * pass or fail depending on file order.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { planCommand } from "../plan/cli";
import { planOfRun, PlanResult } from "../plan/plan";
import { policyCommand } from "../plan/policy-cli";
import { preflightCommand } from "../plan/preflight-cli";
import { ProgramRun, runProgram } from "../plan/run";
import { writePlan } from "../plan/writer";
import { ROOT } from "./helpers";

/** The repository's stack files (Pulumi.<stack>.yaml); staging is the third, of tier prod. */
export type Stack = "dev" | "prod" | "staging";

export const stackFile = (stack: Stack) => path.join(ROOT, `Pulumi.${stack}.yaml`);

/** A fresh directory under the run's temp directory (test/setup.ts removes it at the end). */
export const tempDir = (prefix: string) => mkdtempSync(path.join(tmpdir(), `${prefix}-`));

function deepFreeze<T>(value: T): T {
    if (value !== null && typeof value === "object" && !Object.isFrozen(value)) {
        Object.freeze(value);
        for (const v of Object.values(value)) {
            deepFreeze(v);
        }
    }
    return value;
}

function memoized<T>(make: (stack: Stack) => Promise<T>): (stack: Stack) => Promise<T> {
    const made = new Map<Stack, Promise<T>>();
    return (stack) => {
        if (!made.has(stack)) {
            made.set(stack, make(stack));
        }
        return made.get(stack)!;
    };
}

/** The platform program's run of a stack's own config file. */
export const platformRun = memoized(async (stack) => deepFreeze(await runProgram(stack, stackFile(stack))));

export interface WrittenPlan {
    run: ProgramRun;
    result: PlanResult;
    /** Where the plan's files are, as `npm run plan -- --stack <stack> --out <out>` writes them. */
    out: string;
}

/** The plan of a stack's own config, from platformRun, and its files. */
export const planOf = memoized(async (stack): Promise<WrittenPlan> => {
    const run = await platformRun(stack);
    const result = deepFreeze(await planOfRun(run));
    const out = path.join(tempDir(`plan-${stack}`), "out");
    await writePlan(result, out);
    return { run, result, out };
});

export interface CliRun {
    code: number;
    stdout: string;
    stderr: string;
}

/** A CLI in this process, as its entry point runs it (one spawn smoke test per CLI covers the rest). */
async function inProcess(command: typeof planCommand, args: string[]): Promise<CliRun> {
    let stdout = "";
    let stderr = "";
    const code = await command(args, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
    return { code, stdout, stderr };
}

export const plan = (args: string[]) => inProcess(planCommand, args);
export const policy = (args: string[]) => inProcess(policyCommand, args);
export const preflight = (args: string[]) => inProcess(preflightCommand, args);
