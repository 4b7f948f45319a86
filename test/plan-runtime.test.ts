import { strict as assert } from "node:assert";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { HeapGovernor } from "../plan/heapGovernor";
import { planOfRun } from "../plan/plan";
import { structValue } from "../plan/recorder";
import { runProgram, runProject } from "../plan/run";
import { checkSdkVersion, installedSdkVersion, PATCHED_SDK_VERSION } from "../plan/sdkPatches";
import { writePlan } from "../plan/writer";
import { planOf, stackFile, tempDir } from "./fixtures";

const SDK_DIR = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: unknown };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [SDK_DIR] }));
const resourceClass = pulumi.Resource as unknown as { callsites: () => unknown[] };

/** The SDK entry points the patches replace, to compare before and after a run. */
const patchedEntries = () => [debuggable.debuggablePromise, resourceClass.callsites, Struct.fromJavaScript];

/** What only the stock SDK does: source positions have a stack, and a Struct from JavaScript serializes. */
function stockBehaviour() {
    const value = { b: 1, a: ["x", { c: true }] };
    const bytes: Uint8Array = Struct.fromJavaScript(value).serializeBinary();
    return { callsites: resourceClass.callsites().length > 0, structBytes: bytes.length > 0, roundTrip: Struct.deserializeBinary(bytes).toJavaScript() };
}

/** Every file under `dir`, relative to it, sorted. */
function filesUnder(dir: string): string[] {
    return readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((e) => e.isFile())
        .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
        .sort();
}

describe("plan runtime: what the offline plan changes in how a program runs, and that it changes nothing else", () => {
    describe("HeapGovernor", () => {
        function governed(heap: number[]) {
            const calls = { gc: 0, reads: 0 };
            let level = 0;
            const governor = new HeapGovernor({
                budgetBytes: 100,
                every: 10,
                heapUsed: () => {
                    calls.reads++;
                    return heap[level];
                },
                gc: () => {
                    calls.gc++;
                    level++;
                },
            });
            return { governor, calls, setLevel: (v: number) => (heap[level] = v) };
        }

        it("does nothing at all without global.gc (node without --expose-gc)", () => {
            const global = globalThis as { gc?: unknown };
            const exposed = global.gc;
            delete global.gc;
            try {
                const reads: number[] = [];
                const governor = new HeapGovernor({ budgetBytes: 1, every: 1, heapUsed: () => reads.push(1) });
                for (let i = 0; i < 100; i++) governor.registered();
                assert.equal(governor.active, false);
                assert.equal(reads.length, 0);
                global.gc = () => undefined;
                assert.equal(new HeapGovernor({ budgetBytes: 1, every: 1 }).active, true, "global.gc is what turns it on");
            } finally {
                if (exposed) {
                    global.gc = exposed;
                } else {
                    delete global.gc;
                }
            }
        });

        it("looks only every `every` registrations; the first look sets the baseline without collecting", () => {
            const { governor, calls, setLevel } = governed([1000, 500]);
            for (let i = 0; i < 9; i++) governor.registered();
            assert.equal(calls.reads, 0);
            governor.registered(); // 10th: baseline 1000
            assert.deepEqual(calls, { gc: 0, reads: 1 });
            setLevel(1100); // grew by exactly the budget: no collection
            for (let i = 0; i < 10; i++) governor.registered();
            assert.equal(calls.gc, 0);
            setLevel(1101); // over the budget: collect, and the new baseline is what is left (500)
            for (let i = 0; i < 10; i++) governor.registered();
            assert.equal(calls.gc, 1);
            assert.equal(governor.collections, 1);
        });

        it("measures growth from what the last collection left, not from the first look", () => {
            const heap = [1000, 300, 300];
            const { governor, calls } = governed(heap);
            for (let i = 0; i < 10; i++) governor.registered(); // baseline 1000
            heap[0] = 1200;
            for (let i = 0; i < 10; i++) governor.registered(); // collect -> 300
            heap[1] = 450; // 150 over 300
            for (let i = 0; i < 10; i++) governor.registered();
            assert.equal(calls.gc, 2);
        });
    });

    describe("structValue (what a protobuf Struct round trip returns)", () => {
        it("copies, with every object's keys sorted and arrays kept in order", () => {
            const input = { b: [{ z: 1, a: null }, "x", 2, true], a: { d: "d", c: { f: 1, e: 2 } } };
            const out = structValue(input) as Record<string, any>;
            assert.deepEqual(out, input);
            assert.deepEqual(Object.keys(out), ["a", "b"]);
            assert.deepEqual(Object.keys(out.a.c), ["e", "f"]);
            assert.deepEqual(Object.keys(out.b[0]), ["a", "z"]);
            out.a.d = "changed";
            assert.equal(input.a.d, "d");
        });
    });

    describe("the SDK patches (plan/sdkPatches.ts)", () => {
        const stock = { callsites: true, structBytes: true, roundTrip: { b: 1, a: ["x", { c: true }] } };

        it("are on while a program runs, and undone after it: the program sees real Structs again", async () => {
            const before = patchedEntries();
            assert.deepEqual(stockBehaviour(), stock, "the SDK is stock before the run (an earlier file left a patch)");
            const during: boolean[] = [];
            await runProgram("dev", stackFile("dev"), { onRecord: () => during.length === 0 && during.push(resourceClass.callsites().length === 0) });
            assert.deepEqual(during, [true], "source positions skipped during the run");
            assert.deepEqual(patchedEntries(), before);
            assert.deepEqual(stockBehaviour(), stock);
        });

        it("are undone when the program throws", async () => {
            const before = patchedEntries();
            const dir = tempDir("throwing-program");
            writeFileSync(path.join(dir, "Pulumi.yaml"), "name: throwing\nruntime: nodejs\nmain: index.ts\n");
            writeFileSync(path.join(dir, "index.ts"), 'throw new Error("the program failed");\n');
            writeFileSync(path.join(dir, "Pulumi.test.yaml"), "config: {}\n");
            await assert.rejects(runProject(dir, "test", path.join(dir, "Pulumi.test.yaml")), /the program failed/);
            assert.deepEqual(patchedEntries(), before);
            assert.deepEqual(stockBehaviour(), stock);
        });

        for (const stack of ["dev", "prod"] as const) {
            it(`${stack}: a stock run (no patches) and a patched run write byte-identical files`, async () => {
                assert.deepEqual(stockBehaviour(), stock, "the stock run starts on the stock SDK");
                const during: boolean[] = [];
                const run = await runProgram(stack, stackFile(stack), { stock: true, onRecord: () => during.length === 0 && during.push(resourceClass.callsites().length > 0) });
                assert.deepEqual(during, [true], "a stock run applies no patch");
                const stockOut = path.join(tempDir(`stock-${stack}`), "out");
                await writePlan(await planOfRun(run), stockOut);
                const patchedOut = (await planOf(stack)).out;
                const files = filesUnder(stockOut);
                assert.deepEqual(files, filesUnder(patchedOut));
                assert.ok(files.length > 20, `${files.length} files`);
                for (const f of files) {
                    assert.ok(readFileSync(path.join(stockOut, f)).equals(readFileSync(path.join(patchedOut, f))), `${f} differs`);
                }
            });
        }

        it("were written for the installed @pulumi/pulumi, and refuse any other version by name", () => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            assert.equal(installedSdkVersion(), require(path.join(SDK_DIR, "package.json")).version);
            assert.equal(installedSdkVersion(), PATCHED_SDK_VERSION);
            checkSdkVersion(PATCHED_SDK_VERSION);
            assert.throws(() => checkSdkVersion("3.249.0"), /internals of @pulumi\/pulumi 3\.248\.0 .* but 3\.249\.0 is installed: check each patch against 3\.249\.0, then update PATCHED_SDK_VERSION/);
        });
    });
});
