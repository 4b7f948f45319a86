/** conformance.md: the Markdown section that sits beside the plan's report.md. */
import type { ConformanceResult } from "./run";

const cell = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");

export function conformanceMarkdown(r: ConformanceResult): string {
    const lines: string[] = [];
    lines.push(`## Conformance: ${r.stack} on a real control plane`, "");
    lines.push(
        `${r.ok ? "**Agrees with the plan.**" : `**${r.failures.length} problem(s).**`} kube-apiserver, kube-controller-manager and kube-scheduler ${r.versions.kubernetes ?? "?"}, etcd ${r.versions.etcd ?? "?"}, kwok ${r.versions.kwok ?? "?"} (simulated nodes); every object applied server-side with strict field validation and Pod Security admission.`,
        "",
    );
    if (r.failures.length > 0) {
        lines.push("### Problems", "");
        for (const f of r.failures) lines.push(`- ${f}`);
        lines.push("");
    }
    for (const p of r.passes) {
        lines.push(`### ${p.scale === "max" ? "Maximum" : "Minimum"} scale (${Object.entries(p.nodes).map(([pool, n]) => `${pool} ${n}`).join(", ")} nodes; ${p.applied} objects applied, ${p.rejected.length} rejected; ${p.seconds} s)`, "");
        lines.push("| workload | plan | Kubernetes | |", "|---|---|---|---|");
        for (const w of p.workloads) {
            lines.push(`| ${cell(w.workload)} | ${w.planned ? "schedulable" : "unschedulable"} | ${cell(w.observedDetail)} | ${w.agrees ? (w.observed ? "ok" : "agrees: does not run") : "**differs**"} |`);
        }
        for (const d of p.daemonSets) {
            const on = Object.entries(d.podsPerNode).map(([n, c]) => `${n}${c > 1 ? ` x${c}` : ""}`);
            lines.push(`| ${cell(d.daemonSet)} | one pod per GPU node (${d.expectedNodes.length}) | ${on.length} node(s) run it | ${d.problems.length === 0 ? "ok" : `**${cell(d.problems.join("; "))}**`} |`);
        }
        lines.push("");
    }
    lines.push("### Stand-ins (components that cannot run here)", "");
    for (const s of r.standIns) lines.push(`- ${s}`);
    lines.push("", "### Not covered", "");
    for (const s of r.notCovered) lines.push(`- ${s}`);
    lines.push("");
    return lines.join("\n");
}
