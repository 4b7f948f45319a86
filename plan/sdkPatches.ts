/**
 * What the offline plan changes in the Pulumi SDK while a program runs, only for speed: each patch
 * replaces internal bookkeeping a mock run never uses, and each is undone when the run ends, so code
 * that runs afterwards (another test file, another program) sees the stock SDK. A stock run (no
 * patches) writes byte-identical plan files (test/plan-runtime.test.ts).
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { structValue } from "./recorder";

/** The @pulumi/pulumi release whose internals these patches (and the recorder) were written against. */
export const PATCHED_SDK_VERSION = "3.248.0";

const SDK_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));

/** The installed SDK's version, from its own package.json. */
export function installedSdkVersion(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require(path.join(SDK_DIR, "package.json")) as { version: string }).version;
}

/** Internals move between SDK releases: refuse to patch one the patches were not checked against. */
export function checkSdkVersion(installed: string): void {
    if (installed !== PATCHED_SDK_VERSION) {
        throw new Error(
            `the offline plan relies on internals of @pulumi/pulumi ${PATCHED_SDK_VERSION} (plan/sdkPatches.ts, plan/recorder.ts), ` +
                `but ${installed} is installed: check each patch against ${installed}, then update PATCHED_SDK_VERSION`,
        );
    }
}

type Undo = () => void;

/**
 * The SDK records a full stack trace on every internal promise, only for the leak report it prints
 * when a program exits with promises pending. Under sucrase or ts-node each trace is source-mapped,
 * and at a thousand workloads that bookkeeping was most of the plan's time and memory. The plan
 * awaits every registration itself (pulumi.runtime.disconnect), so it keeps the promises and drops
 * only the bookkeeping. The SDK calls it through its module object, so replacing the export reaches
 * every caller.
 */
function skipPromiseLeakStacks(): Undo {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: <T>(p: Promise<T>, ctx: unknown) => Promise<T> };
    const original = debuggable.debuggablePromise;
    debuggable.debuggablePromise = (p) => p;
    return () => {
        debuggable.debuggablePromise = original;
    };
}

/**
 * Every resource parses an unlimited stack trace for the source position it reports to the engine's
 * diagnostics; the mock monitor ignores it.
 */
function skipSourcePositions(): Undo {
    const resource = pulumi.Resource as unknown as { callsites: () => unknown[] };
    const original = Object.getOwnPropertyDescriptor(resource, "callsites")!;
    resource.callsites = () => [];
    return () => {
        Object.defineProperty(resource, "callsites", original);
    };
}

type StructClass = {
    new (): object;
    fromJavaScript(value: Record<string, unknown>): object;
    prototype: { getFieldsMap(...args: unknown[]): unknown };
};

/**
 * Under mocks the SDK still encodes every request's properties as a protobuf Struct (and the mock
 * monitor decodes them again), though no message ever leaves the process: at thousands of resources
 * that encoding and its garbage were a large share of a plan. While a program runs offline, a Struct
 * made from JavaScript keeps the value and toJavaScript() returns what a real Struct would: a copy
 * with every object's keys in order (protobuf map order, which the real engine's values have too).
 * Anything that reads its fields (getFieldsMap) gets a real Struct; nothing serializes to bytes under
 * mocks.
 */
function plainStructs(): Undo {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [SDK_DIR] })) as { Struct: StructClass };
    const encode = Struct.fromJavaScript;
    class PlainStruct extends Struct {
        constructor(private readonly value: Record<string, unknown>) {
            super();
        }
        toJavaScript(): Record<string, unknown> {
            return structValue(this.value) as Record<string, unknown>;
        }
        getFieldsMap(...args: unknown[]): unknown {
            const real = encode.call(Struct, this.value) as { getFieldsMap(...a: unknown[]): unknown };
            return real.getFieldsMap(...args);
        }
    }
    Struct.fromJavaScript = (value) => new PlainStruct(value);
    return () => {
        Struct.fromJavaScript = encode;
    };
}

/** Applies every patch; the returned undo restores them all, last first. */
export function applySdkPatches(): Undo {
    const undos: Undo[] = [];
    try {
        for (const patch of [skipPromiseLeakStacks, skipSourcePositions, plainStructs]) {
            undos.push(patch());
        }
    } catch (e) {
        undoAll(undos);
        throw e;
    }
    return () => undoAll(undos);
}

function undoAll(undos: Undo[]): void {
    for (const undo of undos.reverse()) {
        undo();
    }
}
