import { strict as assert } from "node:assert";
import * as path from "node:path";
import { HeapGovernor } from "../plan/heapGovernor";
import { structValue } from "../plan/recorder";
import { runProgram } from "../plan/run";
import { ROOT } from "./helpers";

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

    describe("protobuf Structs during and after a plan", () => {
        it("gives the program real Structs back once the plan has run", async () => {
            await runProgram("dev", path.join(ROOT, "Pulumi.dev.yaml"));
            const sdkDir = path.dirname(require.resolve("@pulumi/pulumi/package.json"));
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { Struct } = require(require.resolve("google-protobuf/google/protobuf/struct_pb", { paths: [sdkDir] }));
            const value = { b: 1, a: ["x", { c: true }] };
            const bytes: Uint8Array = Struct.fromJavaScript(value).serializeBinary();
            assert.ok(bytes.length > 0);
            assert.deepEqual(Struct.deserializeBinary(bytes).toJavaScript(), value);
        });
    });
});
