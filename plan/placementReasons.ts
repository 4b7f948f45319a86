/** report.md: why each workload runs on its pool — named in config, or the pools `pool: auto` weighed. */
import { formatBytes } from "../capacity/gpu-memory";
import type { StackSpec } from "../stacks/spec";
import { table, type ReportSection } from "./report";

export function placementReasonsSection(spec: StackSpec): ReportSection | undefined {
    const workloads = [...spec.serving, ...spec.training];
    if (workloads.length === 0) {
        return undefined;
    }
    const rows = workloads.map((w) => [w.name, w.pool, w.placement?.how === "auto" ? "pool: auto" : "named in config", w.placement?.summary ?? "-"]);
    const body = [
        `\`pool: auto\` takes the cheapest GPU pool (by the hourly cost of the GPUs a pod uses) whose GPUs hold the model's estimate with ${Math.round(spec.gpuMemoryHeadroom * 100)}% of usable GPU memory left free ` +
            "(`ml-platform:placement.gpuMemoryHeadroom`), and whose maxSize holds the workload's pods at maximum scale packed beside every workload placed before it " +
            "(named pools first, then `auto` entries in config order), without pushing any of them out.",
        "",
        table(["workload", "pool", "decided by", "why"], rows),
    ];
    for (const w of workloads.filter((x) => x.placement?.how === "auto")) {
        body.push(
            "",
            `Candidates for \`${w.name}\`${w.gpuMemoryEstimateBytes !== undefined ? ` (estimate ${formatBytes(w.gpuMemoryEstimateBytes)} per GPU)` : ""}:`,
            "",
            table(
                ["pool", "instance", "GPUs/pod", "verdict", "reason"],
                w.placement!.candidates.map((c) => [c.pool, c.instanceType, c.gpus ?? "-", c.verdict, c.reason]),
            ),
        );
    }
    return { title: "Why each workload went where", body: body.join("\n") };
}
