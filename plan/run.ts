/**
 * Runs a Pulumi program, unchanged, under Pulumi's mock runtime with the cloud emulator, and returns
 * what it registered and exported. Config goes in exactly as the Pulumi CLI would pass it. The
 * platform (index.ts) is the default; any Pulumi project directory can be run the same way (an app
 * team's project, with its StackReferences answered from a platform plan's recorded outputs).
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse } from "yaml";
import { loadStackSpec } from "../stacks/config";
import { findPlaceholders, Placeholder } from "../stacks/placeholders";
import { StackSpec } from "../stacks/spec";
import { CloudEmulator, EmulatorOptions } from "./emulator";
import { HeapGovernor } from "./heapGovernor";
import { attachRecorder, RecordedResource, SECRET_PLACEHOLDER, StackOutput } from "./recorder";
import { applySdkPatches, checkSdkVersion, installedSdkVersion } from "./sdkPatches";
import { siblingStackConflicts, validateWithSiblings } from "./siblings";
import { readStackConfigFile, readStackConfigMap, UsageError } from "./stackConfig";

export type { StackOutput } from "./recorder";

export const ROOT = path.resolve(__dirname, "..");
export const PROJECT = "ml-platform";
export const PROGRAM = path.join(ROOT, "index.ts");

/** What any program registered and exported. */
export interface ProjectRun {
    project: string;
    resources: RecordedResource[];
    outputs: Record<string, StackOutput>;
    /** The stacks it read through a StackReference. */
    referencedStacks: string[];
}

/** The platform's run: its validated spec as well. */
export interface ProgramRun extends ProjectRun {
    spec: StackSpec;
    /** What the stack file holds only as an example (report.md's "Before the first deploy"). */
    placeholders: Placeholder[];
}

export interface RunOptions {
    /** StackReference name pattern -> that stack's recorded outputs (see EmulatorOptions). */
    stackReferences?: EmulatorOptions["stackReferences"];
    /** Called with each resource as it registers, before the program has finished. */
    onRecord?: (r: RecordedResource) => void;
    /** Run on the stock SDK: no speed patches (plan/sdkPatches.ts), the SDK's MockMonitor answering. */
    stock?: boolean;
}

/** A Pulumi project on disk, read from its Pulumi.yaml as the CLI would. */
export interface PulumiProject {
    dir: string;
    name: string;
    /** The entry module. */
    main: string;
}

export function readPulumiProject(dir: string): PulumiProject {
    const file = path.join(dir, "Pulumi.yaml");
    if (!existsSync(file)) {
        throw new UsageError(`${dir} is not a Pulumi project: no Pulumi.yaml`);
    }
    const doc = parse(readFileSync(file, "utf8")) as { name?: unknown; main?: unknown; runtime?: unknown } | null;
    const runtime = typeof doc?.runtime === "object" && doc.runtime !== null ? (doc.runtime as { name?: unknown }).name : doc?.runtime;
    if (typeof doc?.name !== "string" || runtime !== "nodejs") {
        throw new UsageError(`${file}: the offline plan runs Node.js projects with a name (name: <project>, runtime: nodejs)`);
    }
    let main = path.resolve(dir, typeof doc.main === "string" ? doc.main : ".");
    if (existsSync(main) && statSync(main).isDirectory()) {
        main = path.join(main, "index.ts");
    }
    if (!existsSync(main)) {
        throw new UsageError(`${file}: entry point ${main} does not exist`);
    }
    return { dir: path.resolve(dir), name: doc.name, main };
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

/** The program runs when its module is first required: forget our own modules so it can run again. */
function forgetProgramModules(): void {
    for (const file of Object.keys(require.cache)) {
        if (file.startsWith(ROOT) && !file.includes(`${path.sep}node_modules${path.sep}`) && !file.startsWith(__dirname)) {
            delete require.cache[file];
        }
    }
}

/** As the Pulumi Node.js host does: a default export wins, and an exported function is called and awaited. */
async function programExports(module: unknown): Promise<Record<string, unknown>> {
    let exported = module;
    if (exported && typeof exported === "object" && "default" in exported) {
        exported = (exported as { default: unknown }).default;
    }
    if (typeof exported === "function") {
        exported = await (exported as () => unknown)();
    }
    return exported && typeof exported === "object" ? (exported as Record<string, unknown>) : {};
}

/**
 * `validate` runs after config is set and before anything registers (the platform's loadStackSpec
 * throws ConfigError there); then the program loads and every registration is awaited.
 */
async function execute<T>(project: PulumiProject, stack: string, configPath: string, opts: RunOptions, validate: () => T): Promise<{ run: ProjectRun; validated: T }> {
    checkSdkVersion(installedSdkVersion());
    const file = readStackConfigFile(configPath);
    const region = file.values["aws:region"] ?? "us-east-1";
    const emulator = new CloudEmulator({ region, availabilityZones: azsOf(file.values), stackReferences: opts.stackReferences });
    await pulumi.runtime.setMocks(emulator, project.name, stack, false);
    pulumi.runtime.setAllConfig(file.values, file.secretKeys);
    const validated = validate();

    const governor = new HeapGovernor();
    const onRecord = (r: RecordedResource) => {
        governor.registered();
        opts.onRecord?.(r);
    };
    const resources = attachRecorder(onRecord, { stock: opts.stock });
    const failures: unknown[] = [];
    const onRejection = (reason: unknown) => failures.push(reason);
    process.on("unhandledRejection", onRejection);
    const undoPatches = opts.stock ? () => undefined : applySdkPatches();
    try {
        forgetProgramModules();
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const exported = await programExports(require(project.main));
        const outputs: Record<string, StackOutput> = {};
        for (const [name, value] of Object.entries(exported)) {
            outputs[name] = await resolveOutput(value);
        }
        await pulumi.runtime.disconnect();
        if (failures.length > 0) {
            throw failures[0];
        }
        return { run: { project: project.name, resources, outputs, referencedStacks: [...new Set(emulator.referencedStacks)] }, validated };
    } finally {
        undoPatches();
        process.off("unhandledRejection", onRejection);
    }
}

/** The platform: validates config (throws ConfigError before anything registers), then runs index.ts. */
export async function runProgram(stack: string, configPath: string, opts: RunOptions = {}): Promise<ProgramRun> {
    // A stack file that collides with another of the project (cluster name, VPC CIDR) stops here too.
    const conflicts = siblingStackConflicts(configPath);
    const { run, validated } = await execute({ dir: ROOT, name: PROJECT, main: PROGRAM }, stack, configPath, opts, () => validateWithSiblings(conflicts, loadStackSpec));
    return { ...run, spec: validated, placeholders: findPlaceholders(readStackConfigMap(configPath)) };
}

/**
 * Any Pulumi project directory. Only the platform validates its config up front (that validation is
 * its own); another project checks its config itself, as it would under `pulumi up`.
 */
export async function runProject(dir: string, stack: string, configPath: string, opts: RunOptions = {}): Promise<ProjectRun> {
    if (path.resolve(dir) === ROOT) {
        return runProgram(stack, configPath, opts);
    }
    return (await execute(readPulumiProject(dir), stack, configPath, opts, () => undefined)).run;
}
