/**
 * report.md's Cost and GPU demand sections: differences said as differences ("more than", "less than"),
 * the chart's series in the order its title names them, each named for the legend. Fast: hand-built inputs.
 */
import { strict as assert } from "node:assert";
import { analyzeCapacity, CapacityResource } from "../capacity/analysis";
import { MANAGED_NODE_GROUP } from "../capacity/nodeGroups";
import { mermaidBlocks } from "../conformance/mermaid";
import { costSection, gpuDemandSection, moreOrLess } from "../plan/capacityReport";
import type { PlanSummary } from "../plan/summary";

const GPU_TAINT = [{ key: "dedicated", value: "ml-workloads", effect: "NO_SCHEDULE" }];
const pool = (name: string, type: string, min: number, max: number, extra: Record<string, unknown> = {}): CapacityResource => ({
    type: MANAGED_NODE_GROUP,
    name: `${name}-ng`,
    props: { instanceTypes: [type], scalingConfig: { minSize: min, maxSize: max }, labels: { "node-pool": name }, ...extra },
});
const stack = [pool("system", "m6i.xlarge", 1, 2), pool("a10g", "g5.xlarge", 0, 4, { taints: GPU_TAINT }), pool("a100", "p4d.24xlarge", 0, 1, { taints: GPU_TAINT })];

describe("report: cost and GPU demand", () => {
    it("moreOrLess says which way a difference goes", () => {
        assert.equal(moreOrLess(280.32, " a month"), "$280.32 a month more than");
        assert.equal(moreOrLess(-1468.76), "$1,468.76 less than");
    });

    it("the Cost section shows each item at the three scales and the dedicated baseline as a difference", () => {
        const a = analyzeCapacity(stack);
        const summary = { cost: { ...a.cost, source: "test", bill: a.bill } } as unknown as PlanSummary;
        const body = costSection(summary).body;
        for (const l of a.bill.lines) {
            assert.ok(body.includes(`| ${l.label} |`), l.label);
        }
        // The A100 pool no workload needs: $0 at the demand-driven maximum, one p4d.24xlarge at maxSize.
        assert.match(body, /\| a100 \| p4d\.24xlarge \| 0 \/ 0 \/ 1 \| \$0\.00 \| \$0\.00 \| \$16,029\.08 \|/);
        // Nothing runs, so the minimum scale's single system node costs more than the (empty) baseline.
        assert.match(body, /the EC2 nodes at minimum scale cost \$140\.16 a month more than that\./);
        assert.doesNotMatch(body, /minimum scale (costs|saves) \$/);
        assert.ok(body.includes("Not counted: NAT gateway data processing"));
    });

    it("the chart draws its series in the order the title names them, each named for the legend", () => {
        const body = gpuDemandSection(analyzeCapacity(stack))!.body;
        const title = /title "GPUs per pool: ([^"]+)"/.exec(body)![1].split(", ");
        const bars = [...body.matchAll(/^ {4}bar "([^"]+)" \[/gm)].map((m) => m[1]);
        assert.deepEqual(bars, title);
        assert.deepEqual(bars, ["capacity at maxSize", "demand at max", "demand at min"]);
        assert.match(body, /^config:\n {2}xyChart:\n {4}showLegend: true$/m);
        // The table's columns follow the same order.
        assert.ok(body.includes(`| pool | ${title.join(" | ")} |`));
        assert.match(body, /^ {4}bar "capacity at maxSize" \[4, 8\]$/m);
    });

    it("mermaidBlocks finds every fenced Mermaid block with its line, and refuses an unclosed one", () => {
        const body = gpuDemandSection(analyzeCapacity(stack))!.body;
        const blocks = mermaidBlocks(`# r\n\n${body}\n`);
        assert.equal(blocks.length, 1);
        assert.equal(blocks[0].line, 3);
        assert.ok(blocks[0].code.startsWith("---\nconfig:") && blocks[0].code.endsWith("]"));
        assert.throws(() => mermaidBlocks("```mermaid\nflowchart LR\n"), /line 1: a mermaid block that is never closed/);
    });
});
