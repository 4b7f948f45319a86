/**
 * On-demand cost of the node pools, from the catalog's us-east-1 prices (see CATALOG_SOURCE for the
 * date), and the dedicated-instance baseline the shared pools are compared against.
 */
import { GpuModel, HOURS_PER_MONTH, INSTANCE_CATALOG, InstanceType, instanceType } from "./catalog";

export interface PoolCostLine {
    pool: string;
    instanceType: string;
    nodesMin: number;
    nodesMax: number;
    hourlyMin: number;
    hourlyMax: number;
}

export interface CostSummary {
    hourlyMin: number;
    hourlyMax: number;
    monthlyMin: number;
    monthlyMax: number;
    perPool: PoolCostLine[];
}

export interface CostSummaryInput {
    minNodes: Record<string, number>;
    maxNodes: Record<string, number>;
    pools: { name: string; instanceType: string }[];
}

/** What dedicated-instance pricing needs to know about one workload. */
export interface DedicatedWorkload {
    /** GPUs one pod requests. */
    gpusPerPod: number;
    /** GPU model of the pool the workload targets; the dedicated instance has the same GPU. */
    gpuModel: GpuModel;
    pods: number;
}

/** Rounds to cents; the epsilon keeps values like 1.005 from rounding down through float error. */
export function roundCents(usd: number): number {
    return Math.round((usd + Number.EPSILON * Math.sign(usd)) * 100) / 100;
}

/** Unrounded on-demand $/h for `nodes` instances, so sums are rounded once at the end. */
export function poolHourlyCost(instanceTypeName: string, nodes: number): number {
    return instanceType(instanceTypeName).onDemandHourlyUsd * nodes;
}

/**
 * Hourly and monthly (HOURS_PER_MONTH) cost at the pools' minimum and maximum node counts. Monthly
 * figures come from the unrounded hourly sum. A pool missing from minNodes/maxNodes counts as 0 nodes.
 */
export function costSummary(input: CostSummaryInput): CostSummary {
    const known = new Set(input.pools.map((p) => p.name));
    for (const [field, counts] of [["minNodes", input.minNodes], ["maxNodes", input.maxNodes]] as const) {
        for (const name of Object.keys(counts)) {
            if (!known.has(name)) {
                throw new Error(`${field} names pool "${name}", which is not among the pools (${[...known].join(", ")})`);
            }
        }
    }
    let hourlyMin = 0;
    let hourlyMax = 0;
    const perPool = input.pools.map((pool) => {
        const nodesMin = input.minNodes[pool.name] ?? 0;
        const nodesMax = input.maxNodes[pool.name] ?? 0;
        if (nodesMax < nodesMin) {
            throw new Error(`pool "${pool.name}": maxNodes ${nodesMax} is below minNodes ${nodesMin}`);
        }
        const min = poolHourlyCost(pool.instanceType, nodesMin);
        const max = poolHourlyCost(pool.instanceType, nodesMax);
        hourlyMin += min;
        hourlyMax += max;
        return {
            pool: pool.name,
            instanceType: pool.instanceType,
            nodesMin,
            nodesMax,
            hourlyMin: roundCents(min),
            hourlyMax: roundCents(max),
        };
    });
    return {
        hourlyMin: roundCents(hourlyMin),
        hourlyMax: roundCents(hourlyMax),
        monthlyMin: roundCents(hourlyMin * HOURS_PER_MONTH),
        monthlyMax: roundCents(hourlyMax * HOURS_PER_MONTH),
        perPool,
    };
}

/** The cheapest catalog instance with this GPU model and at least `gpus` GPUs; throws when none has enough. */
export function cheapestGpuInstance(gpuModel: GpuModel, gpus: number): InstanceType {
    const candidates = [...INSTANCE_CATALOG.values()]
        .filter((t) => t.gpu?.model === gpuModel && t.gpu.count >= gpus)
        .sort((a, b) => a.onDemandHourlyUsd - b.onDemandHourlyUsd);
    if (candidates.length === 0) {
        throw new Error(`no catalog instance has ${gpus} or more ${gpuModel} GPUs`);
    }
    return candidates[0];
}

/**
 * Monthly cost if every pod ran on its own instance all month: the cheapest catalog type with the
 * workload's GPU model and at least the pod's GPU count, HOURS_PER_MONTH hours, no sharing.
 */
export function dedicatedBaselineMonthly(workloads: DedicatedWorkload[]): number {
    const hourly = workloads.reduce(
        (sum, w) => sum + cheapestGpuInstance(w.gpuModel, w.gpusPerPod).onDemandHourlyUsd * w.pods,
        0,
    );
    return roundCents(hourly * HOURS_PER_MONTH);
}

/** Share of provisioned GPUs that pods request, to 3 decimals; 0 when nothing is provisioned. */
export function gpuAllocation(requested: number, provisioned: number): number {
    if (provisioned <= 0) {
        return 0;
    }
    return Math.round((requested / provisioned) * 1000) / 1000;
}
