/** report.md's pipelines section: each pipeline's DAG as a Mermaid flowchart, where its steps run, and what one run costs. */
import type { PipelineCapacity } from "../capacity/pipelines";
import { table, type ReportSection } from "./report";

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;
const GATE = /^\{\{tasks\.([^.}]+)\.outputs\.parameters\.([^}]+)\}\}\s*(>=|>|<=|<|==)\s*(.+)$/;

/** A gate's `when` read back from the rendered template: which step's metric it judges, and the comparison. */
export function parseGate(when: string): { step: string; label: string } | undefined {
    const m = GATE.exec(when.trim());
    return m ? { step: m[1], label: `${m[2]} ${m[3]} ${m[4]}` } : undefined;
}

/** Mermaid flowchart of one pipeline: a node per step (pool, GPUs, minutes), an edge per dependency, the gate on its edge. */
export function pipelineFlowchart(p: PipelineCapacity): string {
    const id = new Map(p.steps.map((s, i) => [s.name, `s${i}`]));
    const lines = ["```mermaid", "flowchart LR"];
    for (const s of p.steps) {
        const where = s.pool ?? "no pool fits";
        lines.push(`    ${id.get(s.name)}["${s.name}<br/>${where}, ${s.gpus} GPU, ${s.expectedMinutes} min"]`);
    }
    for (const s of p.steps) {
        const gate = s.when ? parseGate(s.when) : undefined;
        for (const d of s.dependencies) {
            lines.push(gate?.step === d ? `    ${id.get(d)} -->|"${gate.label}"| ${id.get(s.name)}` : `    ${id.get(d)} --> ${id.get(s.name)}`);
        }
        if (gate && !s.dependencies.includes(gate.step) && id.has(gate.step)) {
            lines.push(`    ${id.get(gate.step)} -.->|"gate: ${gate.label}"| ${id.get(s.name)}`);
        }
    }
    lines.push("```");
    return lines.join("\n");
}

export function pipelinesSection(pipelines: readonly PipelineCapacity[], placedBy: Record<string, Record<string, string>> = {}): ReportSection | undefined {
    if (pipelines.length === 0) {
        return undefined;
    }
    const body: string[] = [
        "Argo WorkflowTemplates, one run each. A step's pod is its container plus Argo's wait sidecar; it must fit a node of its pool, and every set of steps the DAG lets run at once must fit beside the other workloads at maximum scale. " +
            "Cost of a run: each step's share of its node (the largest of its CPU, memory and GPU fractions) for its expected minutes, and, as the upper bound, a whole node per step (a pool scaled up from zero for the step alone).",
    ];
    for (const p of pipelines) {
        body.push("", `### ${p.name}`, "");
        body.push(`Namespace \`${p.namespace}\`; ${p.schedules.length > 0 ? `scheduled \`${p.schedules.join("`, `")}\` (UTC, CronWorkflow)` : "run on demand (submit a Workflow from the template)"}.`);
        body.push("", pipelineFlowchart(p), "");
        body.push(
            table(
                ["step", "pool", "GPUs", "CPU", "memory (with sidecar)", "expected min", "gate", "fits?", "why this pool"],
                p.steps.map((s) => [
                    s.name,
                    s.pool ?? "-",
                    s.gpus,
                    `${s.cpuMillis}m`,
                    `${Math.ceil(s.memoryBytes / 2 ** 20)}Mi`,
                    s.expectedMinutes,
                    s.when ? `\`${s.when}\`` : "-",
                    s.fits ? "yes" : `**no**: ${s.reason}`,
                    placedBy[p.name]?.[s.name] ?? "named in config",
                ]),
            ),
        );
        body.push(
            "",
            `Peak at once: ${p.peak.steps.join(" + ")} (${p.peak.gpus} GPU, ${p.peak.cpuMillis}m CPU); ${p.concurrentSets.length} set(s) of steps can run together. ` +
                `Critical path ${p.criticalPathMinutes} min. One run: ${p.run.gpuHours} GPU-hours, ${usd(p.run.costShared)} as node shares, ${usd(p.run.costWholeNodes)} at most (a whole node per step). ` +
                (p.schedulable ? "Schedulable." : `**Not schedulable**: ${p.reason}.`),
        );
    }
    return { title: "Pipelines", body: body.join("\n") };
}
