/**
 * Time in the cost model. Serving runs all month; a training entry runs for the hours it declares
 * (`expectedHours`, or `runsPerMonth` x `hoursPerRun`). The nodes a job brings up beyond what serving
 * and the pools' minimum keep running are paid for those hours only, and the dedicated "before the
 * platform" baseline counts the very same hours, so the two sides compare like with like.
 */
import { GpuModel, HOURS_PER_MONTH } from "./catalog";
import { cheapestGpuInstance, poolHourlyCost, roundCents } from "./cost";

/** What the config says about a training entry's time. */
export interface TrainingTimeConfig {
    expectedHours?: number;
    runsPerMonth?: number;
    hoursPerRun?: number;
    activeDeadlineSeconds: number;
}

export interface TimeProblem {
    field: "expectedHours" | "runsPerMonth" | "hoursPerRun";
    wrong: string;
    got: unknown;
    allowed: string;
}

/** The rules across the three keys and the deadline; nothing is wrong when none is set (all month is assumed). */
export function trainingTimeProblems(t: TrainingTimeConfig): TimeProblem[] {
    const out: TimeProblem[] = [];
    const allowed = "either expectedHours (hours a month) or runsPerMonth together with hoursPerRun";
    if (t.expectedHours !== undefined && (t.runsPerMonth !== undefined || t.hoursPerRun !== undefined)) {
        out.push({ field: "expectedHours", wrong: "cannot be combined with runsPerMonth/hoursPerRun", got: t.expectedHours, allowed });
        return out;
    }
    if ((t.runsPerMonth === undefined) !== (t.hoursPerRun === undefined)) {
        const [field, got] = t.runsPerMonth === undefined ? (["hoursPerRun", t.hoursPerRun] as const) : (["runsPerMonth", t.runsPerMonth] as const);
        out.push({ field, wrong: `needs ${field === "hoursPerRun" ? "runsPerMonth" : "hoursPerRun"} beside it`, got, allowed });
        return out;
    }
    const deadlineHours = t.activeDeadlineSeconds / 3600;
    if (t.hoursPerRun !== undefined && t.hoursPerRun > deadlineHours) {
        out.push({
            field: "hoursPerRun",
            wrong: `is longer than activeDeadlineSeconds (${t.activeDeadlineSeconds} s = ${deadlineHours} h), which would stop every run first`,
            got: t.hoursPerRun,
            allowed: `at most ${deadlineHours}, or raise activeDeadlineSeconds`,
        });
    }
    if (t.runsPerMonth !== undefined && t.hoursPerRun !== undefined && t.runsPerMonth * t.hoursPerRun > HOURS_PER_MONTH) {
        out.push({
            field: "runsPerMonth",
            wrong: `x hoursPerRun (${t.hoursPerRun}) is ${t.runsPerMonth * t.hoursPerRun} h, more than a month (${HOURS_PER_MONTH} h); one Job object runs one run at a time`,
            got: t.runsPerMonth,
            allowed: `runsPerMonth x hoursPerRun <= ${HOURS_PER_MONTH}`,
        });
    }
    return out;
}

/** Hours a month the entry runs; undefined when it declares none (the planner then assumes all month). */
export function declaredMonthlyHours(t: TrainingTimeConfig): number | undefined {
    if (t.expectedHours !== undefined) {
        return t.expectedHours;
    }
    if (t.runsPerMonth !== undefined && t.hoursPerRun !== undefined) {
        return t.runsPerMonth * t.hoursPerRun;
    }
    return undefined;
}

/** The annotation value back to hours; anything unreadable counts as all month (the conservative side). */
export function hoursFromAnnotation(value: string | undefined): { hours: number; declared: boolean } {
    const n = value === undefined ? NaN : Number(value);
    return Number.isFinite(n) && n > 0 && n <= HOURS_PER_MONTH ? { hours: n, declared: true } : { hours: HOURS_PER_MONTH, declared: false };
}

/** One training job's share of the bill: the nodes it adds to each pool, for its hours. */
export interface TimedJob {
    name: string;
    hours: number;
    /** GPUs its pods request while it runs. */
    gpus: number;
    /** Nodes per pool above what runs all month (serving, minSize) while the job runs. */
    extraNodes: Record<string, number>;
}

export interface TimedPool {
    name: string;
    instanceType: string;
    gpusPerNode: number;
    /** Nodes that run all month at this scale: serving's and minSize, whichever is more. */
    alwaysOnNodes: number;
}

export interface TimedCost {
    /** $ a month: always-on nodes all month plus each job's extra nodes for its hours. */
    monthly: number;
    /** Per job: extra node-hours and their $ a month. */
    perJob: { name: string; hours: number; nodeHours: number; gpuHoursRequested: number; gpuHoursProvisioned: number; monthly: number }[];
    gpuHours: { requested: number; provisioned: number };
    /** GPU-hours requested / GPU-hours provisioned, to 3 decimals (0 when nothing is provisioned). */
    utilisation: number;
}

/**
 * The month at one scale. Jobs are counted one at a time on top of the always-on nodes (a job that fits
 * on idle minSize nodes adds nothing); overlapping jobs that together need more nodes than each alone are
 * not modelled, so this is the bill when runs do not overlap.
 */
export function timedMonthlyCost(pools: TimedPool[], alwaysOnGpusRequested: number, jobs: TimedJob[]): TimedCost {
    let hourlyAlwaysOn = 0;
    let gpuHoursProvisioned = 0;
    for (const p of pools) {
        hourlyAlwaysOn += poolHourlyCost(p.instanceType, p.alwaysOnNodes);
        gpuHoursProvisioned += p.alwaysOnNodes * p.gpusPerNode * HOURS_PER_MONTH;
    }
    let monthly = hourlyAlwaysOn * HOURS_PER_MONTH;
    let gpuHoursRequested = alwaysOnGpusRequested * HOURS_PER_MONTH;
    const perJob = jobs.map((j) => {
        let jobMonthly = 0;
        let nodeHours = 0;
        let gpuHours = 0;
        for (const p of pools) {
            const extra = j.extraNodes[p.name] ?? 0;
            jobMonthly += poolHourlyCost(p.instanceType, extra) * j.hours;
            nodeHours += extra * j.hours;
            gpuHours += extra * p.gpusPerNode * j.hours;
        }
        monthly += jobMonthly;
        gpuHoursProvisioned += gpuHours;
        gpuHoursRequested += j.gpus * j.hours;
        return { name: j.name, hours: j.hours, nodeHours, gpuHoursRequested: j.gpus * j.hours, gpuHoursProvisioned: gpuHours, monthly: roundCents(jobMonthly) };
    });
    const utilisation = gpuHoursProvisioned > 0 ? Math.round((gpuHoursRequested / gpuHoursProvisioned) * 1000) / 1000 : 0;
    return { monthly: roundCents(monthly), perJob, gpuHours: { requested: gpuHoursRequested, provisioned: gpuHoursProvisioned }, utilisation };
}

/** A pod group priced on dedicated instances: serving all month, a training job for its hours. */
export interface TimedDedicatedWorkload {
    gpusPerPod: number;
    gpuModel: GpuModel;
    pods: number;
    hours: number;
}

/** Every GPU pod on its own cheapest instance of its GPU model, for the hours it runs. */
export function dedicatedBaselineForHours(workloads: TimedDedicatedWorkload[]): number {
    const monthly = workloads.reduce((sum, w) => sum + cheapestGpuInstance(w.gpuModel, w.gpusPerPod).onDemandHourlyUsd * w.pods * w.hours, 0);
    return roundCents(monthly);
}
