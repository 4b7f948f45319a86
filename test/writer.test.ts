import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { load, loadAll } from "js-yaml";
import { RenderedManifest } from "../plan/manifests";
import { SLOT_PREFIX, SlotFiles } from "../plan/manifestWorker";
import { PolicyGateResult } from "../plan/policy";
import { MANIFESTS_DIR, PLAN_FILES, PlanFiles, PlanWriter, writePlan } from "../plan/writer";

function manifest(i: number): RenderedManifest {
    const name = `cm-${i}`;
    return { file: `${String(i).padStart(3, "0")}-configmap-${name}.yaml`, object: { apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { i: String(i) } }, patch: false, errors: [] };
}

function plan(count: number, report = "# report\n"): PlanFiles {
    const policy = { pack: { name: "p", version: "1" }, configFile: "c", rules: [], violations: [], mandatory: 0, advisory: 0 } as PolicyGateResult;
    return { resources: [], outputs: {}, manifests: Array.from({ length: count }, (_, i) => manifest(i + 1)), policy, report, summary: { count } };
}

/** Everything in the out directory other than the plan's own names. */
function strays(out: string): string[] {
    const own = new Set<string>([...PLAN_FILES, MANIFESTS_DIR]);
    return [...readdirSync(out).filter((f) => !own.has(f)), ...readdirSync(path.join(out, "manifests")).filter((f) => f.startsWith(SLOT_PREFIX) || f.startsWith("."))];
}

const tmp = () => mkdtempSync(path.join(tmpdir(), "ml-platform-writer-"));

describe("plan/writer: the plan's files, written off the main thread and moved into place at the end", () => {
    it("writes every manifest alone and in all.yaml in the given order, and the four plan files", async () => {
        const out = path.join(tmp(), "out");
        const files = plan(600);
        await writePlan(files, out);
        const dir = path.join(out, "manifests");
        assert.equal(readdirSync(dir).length, 601);
        const all = loadAll(readFileSync(path.join(dir, "all.yaml"), "utf8"));
        assert.deepEqual(all, files.manifests.map((m) => m.object));
        for (const m of files.manifests) {
            assert.deepEqual(load(readFileSync(path.join(dir, m.file), "utf8")), m.object);
        }
        assert.equal(readFileSync(path.join(out, "report.md"), "utf8"), "# report\n");
        assert.deepEqual(JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8")), { count: 600 });
        assert.deepEqual(JSON.parse(readFileSync(path.join(out, "policy.json"), "utf8")), []);
        assert.deepEqual(strays(out), []);
    });

    it("fills slots reserved while the program ran, and removes the ones left over", async () => {
        const out = path.join(tmp(), "out");
        const writer = new PlanWriter(out);
        writer.reserve(300); // more than the plan will have
        writer.startManifests(plan(40).manifests);
        await writer.finish(plan(40));
        assert.equal(readdirSync(path.join(out, "manifests")).length, 41);
        assert.deepEqual(strays(out), []);

        const fewer = path.join(tmp(), "out");
        const short = new PlanWriter(fewer);
        short.reserve(64); // fewer than the plan has: the rest are created
        short.startManifests(plan(150).manifests);
        await short.finish(plan(150));
        assert.equal(readdirSync(path.join(fewer, "manifests")).length, 151);
        assert.deepEqual(strays(fewer), []);
    });

    it("SlotFiles: reserved files are created up front, renamed into place in order, and the rest released", () => {
        const dir = path.join(tmp(), "staging");
        const slots = new SlotFiles(dir);
        slots.reserve(2);
        slots.reserve(1);
        assert.deepEqual(readdirSync(dir).sort(), [`${SLOT_PREFIX}0`, `${SLOT_PREFIX}1`, `${SLOT_PREFIX}2`]);
        const slot0 = statSync(path.join(dir, `${SLOT_PREFIX}0`)).ino;
        const a = slots.take("a.yaml");
        assert.equal(statSync(a).ino, slot0, "a.yaml is the first slot, renamed");
        assert.deepEqual(readdirSync(dir).sort(), [`${SLOT_PREFIX}1`, `${SLOT_PREFIX}2`, "a.yaml"]);
        slots.release();
        assert.deepEqual(readdirSync(dir), ["a.yaml"]);
        const b = slots.take("b.yaml"); // no slot left: the path for a new file
        assert.equal(b, path.join(dir, "b.yaml"));
        assert.ok(!existsSync(b));
    });

    it("writes all.yaml even for a plan without Kubernetes objects", async () => {
        const out = path.join(tmp(), "out");
        await writePlan(plan(0), out);
        assert.deepEqual(readdirSync(path.join(out, "manifests")), ["all.yaml"]);
        assert.equal(readFileSync(path.join(out, "manifests", "all.yaml"), "utf8"), "");
    });

    it("replaces the previous plan's manifests wholesale: an object no longer planned leaves no file", async () => {
        const out = path.join(tmp(), "out");
        await writePlan(plan(5), out);
        await writePlan(plan(2), out);
        assert.deepEqual(readdirSync(path.join(out, "manifests")).sort(), ["001-configmap-cm-1.yaml", "002-configmap-cm-2.yaml", "all.yaml"]);
        assert.deepEqual(strays(out), []);
    });

    it("leaves everything else in the out directory alone", async () => {
        const out = tmp();
        writeFileSync(path.join(out, "notes.txt"), "mine");
        mkdirSync(path.join(out, "other"));
        await writePlan(plan(3), out);
        assert.equal(readFileSync(path.join(out, "notes.txt"), "utf8"), "mine");
        assert.ok(existsSync(path.join(out, "other")));
    });

    it("clears what an interrupted plan left staged, and nothing a running plan is writing", async () => {
        const out = path.join(tmp(), "out");
        await writePlan(plan(1), out);
        const dead = 2 ** 22 + 12345; // above Linux's pid_max default: no such process
        mkdirSync(path.join(out, `.manifests-${dead}`));
        writeFileSync(path.join(out, `.manifests-${dead}`, ".slot-0"), "");
        writeFileSync(path.join(out, `.report.md-${dead}`), "half");
        const running = path.join(out, `.manifests-${process.ppid}`);
        mkdirSync(running);
        await writePlan(plan(2), out);
        assert.ok(!existsSync(path.join(out, `.manifests-${dead}`)));
        assert.ok(!existsSync(path.join(out, `.report.md-${dead}`)));
        assert.ok(existsSync(running));
    });

    it("a plan that fails after its manifests started (abort) leaves the previous plan as it was", async () => {
        const out = path.join(tmp(), "out");
        await writePlan(plan(3, "# previous\n"), out);
        const writer = new PlanWriter(out);
        writer.reserve(100);
        writer.startManifests(plan(9).manifests);
        await writer.abort();
        assert.equal(readFileSync(path.join(out, "report.md"), "utf8"), "# previous\n");
        assert.equal(readdirSync(path.join(out, "manifests")).length, 4);
        assert.deepEqual(strays(out), []);
    });

    it("a first plan that fails part way leaves no out directory behind", async () => {
        const out = path.join(tmp(), "never");
        const writer = new PlanWriter(out);
        writer.reserve(200); // the worker creates out/ for its slots while the program runs
        for (let waited = 0; !existsSync(out) && waited < 10_000; waited += 20) {
            await new Promise((r) => setTimeout(r, 20));
        }
        assert.ok(existsSync(out), "the worker created the out directory");
        await writer.abort();
        assert.ok(!existsSync(out));
    });

    it("a manifest that cannot be written fails the plan with the reason, and keeps the previous plan", async () => {
        const out = path.join(tmp(), "out");
        await writePlan(plan(2, "# previous\n"), out);
        const bad = plan(3, "# new\n");
        bad.manifests[1] = { ...bad.manifests[1], file: "no-such-dir/x.yaml" };
        await assert.rejects(writePlan(bad, out), /writing manifests: .*no-such-dir/);
        assert.equal(readFileSync(path.join(out, "report.md"), "utf8"), "# previous\n");
        assert.equal(readdirSync(path.join(out, "manifests")).length, 3);
        assert.deepEqual(strays(out), []);
    });
});
