/** report.md sections for the capacity simulation: placement, cost, and GPU demand against capacity. */
import type { CapacityAnalysis } from "../capacity/analysis";
import { HOURS_PER_MONTH, INSTANCE_CATALOG } from "../capacity/catalog";
import { gpusOf } from "../capacity/resources";
import { table, type ReportSection } from "./report";
import type { PlanSummary, TimeFigures } from "./summary";

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

export function placementSection(s: PlanSummary, a: CapacityAnalysis): ReportSection {
    const rows = a.workloads.map((w) => [
        w.name,
        w.kind,
        w.pool ?? "-",
        `${w.gpusRequested.min} / ${w.gpusRequested.max}`,
        w.schedulable ? ([w.scales.min, w.scales.max].some((x) => x.reason?.startsWith("waits")) ? "yes, after waiting in its Kueue queue" : "yes") : `**no**: ${w.reason}`,
    ]);
    const nodes = a.pools.map((p) => [p.name, p.instanceType, a.nodes.min[p.name] ?? 0, a.nodes.max[p.name] ?? 0, `${p.minSize}..${p.maxSize}`, `${(p.allocatable.cpuMillis / 1000).toFixed(2)} CPU, ${(p.allocatable.memoryBytes / 2 ** 30).toFixed(1)} GiB, ${gpusOf(p.allocatable)} GPU, ${p.allocatable.pods} pods`]);
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
    const saving = c.dedicatedBaselineMonthly - s.time.monthly.min;
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
                    ["minimum scale, training for its hours", "", usd(s.time.monthly.min)],
                    ["maximum scale, training for its hours", "", usd(s.time.monthly.max)],
                    ["dedicated instance per GPU pod, same hours (before the platform)", "", usd(c.dedicatedBaselineMonthly)],
                ],
            ),
            "",
            "The per-hour figures and the first two monthly ones run every pod at once, all month (the peak). The rows \"training for its hours\" keep what serving and each pool's minSize need running all month and add the nodes each training job brings up for the hours it runs (see Training time).",
            "",
            `Against one dedicated instance per GPU pod for the same hours (serving all month, training its hours), the platform at minimum scale ${saving >= 0 ? "saves" : "costs"} ${usd(Math.abs(saving))} a month; ` +
                `its side includes the CPU pools that run the cluster's own pods (${usd(cpuPoolsMonthly(s))} a month at minimum scale), which dedicated instances would not need, and every GPU pool's minSize, idle or not.`,
            "",
            `GPU utilisation over the month (GPU-hours requested / GPU-hours provisioned): ${hoursRatio(s.time, "min")} at minimum scale, ${hoursRatio(s.time, "max")} at maximum scale.`,
            "",
            `Prices: ${c.source}. Spot prices are never assumed.`,
        ].join("\n"),
    };
}

/** What the CPU pools (system pods) cost a month at minimum scale. */
function cpuPoolsMonthly(s: PlanSummary): number {
    return s.cost.perPool.filter((p) => !INSTANCE_CATALOG.get(p.instanceType)?.gpu).reduce((n, p) => n + p.hourlyMin * HOURS_PER_MONTH, 0);
}

function hoursRatio(t: TimeFigures, scale: "min" | "max"): string {
    const n = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 1 });
    return `${n(t.gpuHours.requested[scale])} / ${n(t.gpuHours.provisioned[scale])} = ${t.utilisation[scale]}`;
}

/** Each training job's hours a month and what they cost: the nodes it adds beyond the always-on ones. */
export function trainingTimeSection(s: PlanSummary): ReportSection | undefined {
    if (s.time.jobs.length === 0) {
        return undefined;
    }
    const assumed = s.time.jobs.filter((j) => !j.declared).map((j) => j.name);
    const body = [
        table(
            ["training", "hours a month", "GPU-hours", "extra node-hours min / max", "$ a month min / max"],
            s.time.jobs.map((j) => [j.name, j.declared ? j.hours : `${j.hours} (not declared: all month)`, j.gpuHours, `${j.extraNodeHours.min} / ${j.extraNodeHours.max}`, `${usd(j.monthly.min)} / ${usd(j.monthly.max)}`]),
        ),
        "",
        "A job that fits on nodes already running (a pool's minSize, serving's nodes) adds no node-hours. Jobs are counted one at a time: runs that overlap and together need more nodes than each alone are not modelled.",
    ];
    if (assumed.length > 0) {
        body.push("", `No expectedHours (or runsPerMonth x hoursPerRun) declared for ${assumed.join(", ")}: counted as running all month.`);
    }
    return { title: "Training time", body: body.join("\n") };
}

/** Kueue's admission at the declared load: order, queue, flavor and expected wait per training job. */
export function queueingSection(a: CapacityAnalysis): ReportSection | undefined {
    const q = a.queueing;
    if (!q) {
        return undefined;
    }
    const body = [
        "Training is queued through Kueue: each job is admitted when its ClusterQueue (plus what the cohort lends) has quota for the whole of it, a PyTorchJob's master and workers together. At the declared load (every job submitted once, at hour 0; each runs its run length, then frees its quota):",
        "",
        table(
            ["order", "job", "ClusterQueue", "flavor (pool)", "waits (h)", "runs (h)", "on borrowed quota"],
            q.steps.map((s) => [s.order, s.job, s.clusterQueue, s.flavor, s.waitHours, s.runHours, s.borrowed ? "yes" : "no"]),
        ),
        "",
        "A job that fits its pool but not its queue now waits (shown above); only a job no queue could ever admit is a failure (policy training-fits-queue).",
    ];
    if (q.never.length > 0) {
        body.push("", ...q.never.map((n) => `- **never admitted**: ${n.job} ${n.reason}`));
    }
    return { title: "Queueing (Kueue)", body: body.join("\n") };
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
