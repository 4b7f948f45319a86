/** report.md sections for the capacity simulation: placement, cost, and GPU demand against capacity. */
import type { CapacityAnalysis } from "../capacity/analysis";
import { EFA_RESOURCE } from "../capacity/pools";
import { gpusOf } from "../capacity/resources";
import { table, type ReportSection } from "./report";
import type { PlanSummary } from "./summary";

/** EFA devices per node, shown only on EFA pools (capacity/efa.ts). */
const efaOf = (r: { extended: Record<string, number> }) => (r.extended[EFA_RESOURCE] ? `, ${r.extended[EFA_RESOURCE]} EFA` : "");

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

export function placementSection(s: PlanSummary, a: CapacityAnalysis): ReportSection {
    const rows = a.workloads.map((w) => [
        w.name,
        w.kind,
        w.pool ?? "-",
        `${w.gpusRequested.min} / ${w.gpusRequested.max}`,
        w.schedulable ? "yes" : `**no**: ${w.reason}`,
    ]);
    const nodes = a.pools.map((p) => [p.name, p.instanceType, a.nodes.min[p.name] ?? 0, a.nodes.max[p.name] ?? 0, `${p.minSize}..${p.maxSize}`, `${(p.allocatable.cpuMillis / 1000).toFixed(2)} CPU, ${(p.allocatable.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${gpusOf(p.allocatable)} GPU${efaOf(p.allocatable)}, ${p.allocatable.pods} pods`]);
    const body = [
        "Each workload is placed as kube-scheduler would (resources after kube-reserved, eviction threshold and every DaemonSet that lands on the node; taints; nodeSelector; node affinity), at minimum scale (serving at HPA min) and at maximum scale (serving at HPA max), with every training job's pods at once.",
        "",
        table(["workload", "kind", "pool", "GPUs min / max", "fits?"], rows),
        "",
        table(["pool", "instance", "nodes at min", "nodes at max", "min..max", "allocatable per node"], nodes),
        "",
        `GPU allocation (requested / provisioned): ${s.gpus.requested.min}/${s.gpus.provisioned.min} = ${s.gpuAllocation.min} at minimum, ${s.gpus.requested.max}/${s.gpus.provisioned.max} = ${s.gpuAllocation.max} at maximum.`,
    ];
    if (a.unknownPools.length > 0) {
        body.push("", `Not simulated (instance type not in the catalog): ${a.unknownPools.join(", ")}.`);
    }
    return { title: "Placement", body: body.join("\n") };
}

export function costSection(s: PlanSummary): ReportSection {
    const c = s.cost;
    const saving = c.dedicatedBaselineMonthly - c.monthlyMin;
    return {
        title: "Cost",
        body: [
            table(
                ["pool", "instance", "nodes min", "nodes max", "$/h min", "$/h max"],
                c.perPool.map((p) => [p.pool, p.instanceType, p.nodesMin, p.nodesMax, usd(p.hourlyMin), usd(p.hourlyMax)]),
            ),
            "",
            table(
                ["", "per hour", "per month"],
                [
                    ["minimum scale", usd(c.hourlyMin), usd(c.monthlyMin)],
                    ["maximum scale", usd(c.hourlyMax), usd(c.monthlyMax)],
                    ["dedicated instance per pod (before the platform)", "", usd(c.dedicatedBaselineMonthly)],
                ],
            ),
            "",
            `Against one dedicated instance per pod running all month, minimum scale ${saving >= 0 ? "saves" : "costs"} ${usd(Math.abs(saving))} a month. ` +
                "Both sides count the training jobs' pods as running all month; pools scale down when they finish, so the platform's real bill is lower.",
            "",
            `Prices: ${c.source}. Spot prices are never assumed.`,
        ].join("\n"),
    };
}

/** A Mermaid bar chart per GPU pool: GPUs requested at min and max against GPUs the pool can provide. */
export function gpuDemandSection(a: CapacityAnalysis): ReportSection | undefined {
    const gpuPools = a.pools.filter((p) => p.gpusPerNode > 0);
    if (gpuPools.length === 0) {
        return undefined;
    }
    const demand = (scale: "min" | "max", pool: string) => a.workloads.filter((w) => w.pool === pool).reduce((n, w) => n + w.gpusRequested[scale], 0);
    const names = gpuPools.map((p) => `"${p.name}"`).join(", ");
    const top = Math.max(...gpuPools.map((p) => p.maxSize * p.gpusPerNode), 1);
    return {
        title: "GPU demand against capacity",
        body: [
            "```mermaid",
            "xychart-beta",
            '    title "GPUs per pool: demand at min, demand at max, capacity at maxSize"',
            `    x-axis [${names}]`,
            `    y-axis "GPUs" 0 --> ${top}`,
            `    bar [${gpuPools.map((p) => p.maxSize * p.gpusPerNode).join(", ")}]`,
            `    bar [${gpuPools.map((p) => demand("max", p.name)).join(", ")}]`,
            `    bar [${gpuPools.map((p) => demand("min", p.name)).join(", ")}]`,
            "```",
            "",
            table(
                ["pool", "demand at min", "demand at max", "capacity at maxSize"],
                gpuPools.map((p) => [p.name, demand("min", p.name), demand("max", p.name), p.maxSize * p.gpusPerNode]),
            ),
        ].join("\n"),
    };
}
