/**
 * Runs index.ts, unchanged, under Pulumi's mock runtime with the cloud emulator, and returns what it
 * registered and exported. Config goes in exactly as the Pulumi CLI would pass it.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { loadStackSpec } from "../stacks/config";
import { StackSpec } from "../stacks/spec";
import { CloudEmulator } from "./emulator";
import { attachRecorder, RecordedResource, SECRET_PLACEHOLDER } from "./recorder";
import { readStackConfigFile } from "./stackConfig";

export const PROJECT = "ml-platform";
export const PROGRAM = path.resolve(__dirname, "..", "index.ts");

export interface StackOutput {
    value: unknown;
    secret: boolean;
}

export interface ProgramRun {
    spec: StackSpec;
    resources: RecordedResource[];
    outputs: Record<string, StackOutput>;
}

function azsOf(values: Record<string, string>): string[] {
    try {
        const cluster = JSON.parse(values["ml-platform:cluster"] ?? "{}") as { availabilityZones?: unknown };
        return Array.isArray(cluster.availabilityZones) ? cluster.availabilityZones.map(String) : [];
    } catch {
        return [];
    }
}

async function resolveOutput(value: unknown): Promise<StackOutput> {
    if (!pulumi.Output.isInstance(value)) {
        return { value, secret: false };
    }
    const out = value as pulumi.Output<unknown> & { promise(): Promise<unknown>; isSecret: Promise<boolean> };
    const secret = await out.isSecret;
    return secret ? { value: SECRET_PLACEHOLDER, secret } : { value: await out.promise(), secret };
}

const ROOT = path.resolve(__dirname, "..");

/** The program runs when its module is first required: forget our own modules so it can run again. */
function forgetProgramModules(): void {
    for (const file of Object.keys(require.cache)) {
        if (file.startsWith(ROOT) && !file.includes(`${path.sep}node_modules${path.sep}`) && !file.startsWith(__dirname)) {
            delete require.cache[file];
        }
    }
}

/**
 * Validates config (throws ConfigError before anything registers), then loads the program and waits
 * for every registration.
 */
export async function runProgram(stack: string, configPath: string): Promise<ProgramRun> {
    const file = readStackConfigFile(configPath);
    const region = file.values["aws:region"] ?? "us-east-1";
    await pulumi.runtime.setMocks(new CloudEmulator({ region, availabilityZones: azsOf(file.values) }), PROJECT, stack, false);
    pulumi.runtime.setAllConfig(file.values, file.secretKeys);
    const spec = loadStackSpec();

    const resources = attachRecorder();
    const failures: unknown[] = [];
    const onRejection = (reason: unknown) => failures.push(reason);
    process.on("unhandledRejection", onRejection);
    try {
        forgetProgramModules();
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const program = require(PROGRAM) as Record<string, unknown>;
        const outputs: Record<string, StackOutput> = {};
        for (const [name, value] of Object.entries(program)) {
            outputs[name] = await resolveOutput(value);
        }
        await pulumi.runtime.disconnect();
        if (failures.length > 0) {
            throw failures[0];
        }
        return { spec, resources, outputs };
    } finally {
        process.off("unhandledRejection", onRejection);
    }
}
