/**
 * Every Mermaid block of dev's and prod's report.md, rendered by the mermaid package in Debian's headless
 * Chromium (conformance/mermaid.ts): a diagram GitHub would show as "Syntax error" fails here. Needs
 * /usr/bin/chromium (.ci/run installs it); without it the suite fails, it never skips.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CLI_NODE_ARGS } from "../../plan/nodeArgs";
import { CHROMIUM, MermaidRenderer, mermaidBlocks, mermaidFailures } from "../mermaid";

const ROOT = path.resolve(__dirname, "..", "..");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "ml-platform-mermaid-test-"));

function reportOf(stack: string): string {
    const dir = path.join(TMP, stack);
    const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, path.join(ROOT, "plan", "cli.ts"), "--stack", stack, "--out", dir], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.status, 0, `plan ${stack} failed:\n${r.stderr}${r.stdout}`);
    return fs.readFileSync(path.join(dir, "report.md"), "utf8");
}

describe("report.md's Mermaid diagrams in headless Chromium", function () {
    let renderer: MermaidRenderer;

    before(async function () {
        // Fails, never skips, without Chromium: the message says how to install it.
        renderer = await MermaidRenderer.start();
        const version = JSON.parse(fs.readFileSync(require.resolve("mermaid/package.json"), "utf8")).version;
        console.log(`      mermaid ${version} in ${CHROMIUM}`);
    });
    after(async () => {
        await renderer?.close();
        fs.rmSync(TMP, { recursive: true, force: true });
    });

    describe("the render helper", () => {
        it("renders a good diagram and returns its text", async () => {
            const r = await renderer.render('flowchart LR\n  a["pool a10g"] -- "scale up" --> b["Cluster Autoscaler"]');
            assert.ok(r.ok, JSON.stringify(r));
            assert.ok(r.texts.join(" ").includes("scale up") || r.svg.includes("scale up"), r.svg);
        });

        it("fails a diagram that does not parse, with Mermaid's message", async () => {
            const r = await renderer.render('xychart-beta\n    x-axis ["a10g"]\n    bar [4, 8');
            assert.equal(r.ok, false);
            assert.match((r as { error: string }).error, /Parse error on line 3/);
            const unknown = await renderer.render("xychart-gamma\n    bar [1]");
            assert.equal(unknown.ok, false);
        });

        it("reports the broken block of a Markdown text by its line, and only that one", async () => {
            const markdown = ["# r", "```mermaid", "flowchart LR", "  a --> b", "```", "", "```mermaid", "flowchart LR", "  a -->", "```", ""].join("\n");
            assert.deepEqual(mermaidBlocks(markdown).map((b) => b.line), [2, 7]);
            const failures = await mermaidFailures(renderer, markdown);
            assert.equal(failures.length, 1, failures.join("\n"));
            assert.match(failures[0], /^line 7: Parse error/);
        });
    });

    for (const stack of ["dev", "prod"]) {
        it(`${stack}: every Mermaid block of report.md renders, and the GPU chart has its legend in the title's order`, async () => {
            const report = reportOf(stack);
            const blocks = mermaidBlocks(report);
            assert.ok(blocks.length >= 2, `${stack}: the GPU demand chart and the autoscaling chain`);
            assert.deepEqual(await mermaidFailures(renderer, report), []);

            const chart = blocks.find((b) => b.code.includes("xychart-beta"))!;
            const series = /title "GPUs per pool: ([^"]+)"/.exec(chart.code)![1].split(", ");
            const rendered = await renderer.render(chart.code);
            assert.ok(rendered.ok);
            // The legend: one text per series, exactly its name, in the title's order.
            const legend = rendered.texts.filter((t) => series.includes(t));
            assert.deepEqual(legend, series, `legend texts: ${rendered.texts.join(" | ")}`);
        });
    }
});
