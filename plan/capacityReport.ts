/** report.md sections for the capacity simulation: placement, cost, and GPU demand against capacity. */
import type { CapacityAnalysis } from "../capacity/analysis";
import { EFA_RESOURCE } from "../capacity/pools";
import { HOURS_PER_MONTH, INSTANCE_CATALOG } from "../capacity/catalog";
import { gpusOf } from "../capacity/resources";
import { table, type ReportSection } from "./report";
import type { PlanSummary, TimeFigures } from "./summary";

/** EFA devices per node, shown only on EFA pools (capacity/efa.ts). */
const efaOf = (r: { extended: Record<string, number> }) => (r.extended[EFA_RESOURCE] ? `, ${r.extended[EFA_RESOURCE]} EFA` : "");

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

export function placementSection(s: PlanSummary, a: CapacityAnalysis): ReportSection {
    const rows = a.workloads.map((w) => [
        w.name,
        w.kind,
        w.pool ?? "-",
        `${w.gpusRequested.min} / ${w.gpusRequested.max}`,
        w.schedulable ? ([w.scales.min, w.scales.max].some((x) => x.reason?.startsWith("waits")) ? "yes, after waiting in its Kueue queue" : "yes") : `**no**: ${w.reason}`,
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

const SCALE_HEADS = ["at minimum", "at demand-driven maximum", "at reachable maximum"];

/** "$280.32 a month more than": a difference is never shown as if it were an amount. */
export function moreOrLess(difference: number, per = ""): string {
    return `${usd(Math.abs(difference))}${per} ${difference >= 0 ? "more" : "less"} than`;
}

export function costSection(s: PlanSummary): ReportSection {
    const c = s.cost;
    const b = c.bill;
    const three = (f: { min: number; max: number; reachable: number }, fmt: (n: number) => string) => [fmt(f.min), fmt(f.max), fmt(f.reachable)];
    const quantity = (l: (typeof b.lines)[number]) =>
        l.quantity.min === l.quantity.max && l.quantity.max === l.quantity.reachable
            ? `${+l.quantity.min.toFixed(2)} ${l.quantity.min === 1 && l.unit !== "GiB" ? l.unit.slice(0, -1) : l.unit}`
            : `${+l.quantity.min.toFixed(2)} / ${+l.quantity.max.toFixed(2)} / ${+l.quantity.reachable.toFixed(2)} ${l.unit}`;
    const lines = [
        "The whole bill per month at three scales: **minimum** (the nodes the workloads need at minimum scale), **demand-driven maximum** (the nodes the declared workloads need at maximum scale) and **reachable maximum** (every pool at its maxSize: what the autoscaler can reach, and app teams can spend, without a platform change).",
        "",
        table(
            ["item", "quantity (min / max / reachable)", ...SCALE_HEADS, "what"],
            [
                ...b.lines.map((l) => [l.label, quantity(l), ...three(l.monthly, usd), l.detail]),
                ["**total per month**", "", ...three(b.monthly, (n) => `**${usd(n)}**`), ""],
                ["total per hour", "", ...three(b.hourly, usd), ""],
            ],
        ),
        "",
        table(
            ["pool", "instance", "nodes (min / max / at maxSize)", "EC2 per month at minimum", "at demand-driven maximum", "at maxSize"],
            b.perPool.map((p) => [p.pool, p.instanceType, `${p.nodes.min} / ${p.nodes.max} / ${p.nodes.reachable}`, ...three(p.monthly, usd)]),
        ),
        "",
    ];
    if (c.budget) {
        lines.push(`Budget (monthly-budget in \`${c.budget.source}\`, budgetBasis \`${c.budget.basis}\`): ${c.budget.within ? "**within**" : "**OVER**"} — ${c.budget.message}`, "");
    }
    const saving = c.dedicatedBaselineMonthly - s.time.monthly.min;
    lines.push(
        table(
            ["EC2 with training counted by its hours", "per month"],
            [
                ["minimum scale, training for its hours", usd(s.time.monthly.min)],
                ["maximum scale, training for its hours", usd(s.time.monthly.max)],
                ["dedicated instance per GPU pod, same hours (before the platform)", usd(c.dedicatedBaselineMonthly)],
            ],
        ),
        "",
        "The bill above runs every pod at once, all month (the peak). The rows \"training for its hours\" keep what serving and each pool's minSize need running all month and add the nodes each training job brings up only for the hours it declares (`expectedHours`, or `runsPerMonth` x `hoursPerRun`; a job that declares none is counted all month).",
        "",
        `Against one dedicated instance per GPU pod for the same hours (serving all month, training its hours), the platform's EC2 at minimum scale comes to ${moreOrLess(-saving, " a month")} that; ` +
            `its side includes the CPU pools that run the cluster's own pods (${usd(cpuPoolsMonthly(s))} a month at minimum scale), which dedicated instances would not need, and every GPU pool's minSize, idle or not.`,
        "",
        `GPU utilisation over the month (GPU-hours requested / GPU-hours provisioned): ${hoursRatio(s.time, "min")} at minimum scale, ${hoursRatio(s.time, "max")} at maximum scale.`,
        "",
        "Prices (a GiB of storage counted as a GB-month; EFS bills what is stored, so its line is the claims filled up):",
        ...b.lines.map((l) => `- ${l.label}: ${l.price}`),
        "",
        `Not counted: ${b.notCounted.join("; ")}. Spot prices are never assumed.`,
    );
    return { title: "Cost", body: lines.join("\n") };
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

const hours = (h: number) => Math.round(h * 100) / 100;

/** Kueue's admission at the declared load: order, queue, flavor and expected wait per training job and pipeline step. */
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
            q.steps.map((s) => [s.order, s.submittedHours !== undefined ? `${s.job} (submitted at hour ${hours(s.submittedHours)})` : s.job, s.clusterQueue, s.flavor, hours(s.waitHours), hours(s.runHours), s.borrowed ? "yes" : "no"]),
        ),
        "",
        "A job that fits its pool but not its queue now waits (shown above); only a job no queue could ever admit is a failure (policy training-fits-queue).",
    ];
    if (q.steps.some((s) => s.job.includes("/"))) {
        body.push(
            "",
            "Pipeline steps (`<pipeline>/<step>`) are queued one pod at a time through the pipelines namespace's LocalQueue (Kueue's plain-Pod integration): each step is submitted when the steps it depends on have run (their expected minutes), and is admitted alone, not as a gang with the rest of its pipeline.",
        );
    }
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
    // Bars of one pool are drawn over each other, in series order: the tallest (capacity) first, so the
    // demand bars stay visible on it. The title and the legend name them in that same order.
    const series: [string, (p: (typeof gpuPools)[number]) => number][] = [
        ["capacity at maxSize", (p) => p.maxSize * p.gpusPerNode],
        ["demand at max", (p) => demand("max", p.name)],
        ["demand at min", (p) => demand("min", p.name)],
    ];
    return {
        title: "GPU demand against capacity",
        body: [
            "```mermaid",
            "---",
            "config:",
            "  xyChart:",
            "    showLegend: true",
            "---",
            "xychart-beta",
            `    title "GPUs per pool: ${series.map(([name]) => name).join(", ")}"`,
            `    x-axis [${names}]`,
            `    y-axis "GPUs" 0 --> ${top}`,
            ...series.map(([name, value]) => `    bar "${name}" [${gpuPools.map(value).join(", ")}]`),
            "```",
            "",
            `Bars drawn over each other, in the title's order: ${series.map(([name]) => name).join(", then ")} (the legend beside the chart names each colour).`,
            "",
            table(
                ["pool", ...series.map(([name]) => name)],
                gpuPools.map((p) => [p.name, ...series.map(([, value]) => value(p))]),
            ),
        ].join("\n"),
    };
}
