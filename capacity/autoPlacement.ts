/**
 * `pool: auto` with the pools' capacity in view: a pool whose GPUs hold the model (with the headroom
 * of capacity/gpuHeadroom) is taken only when the workload's pods at maximum scale, packed beside every
 * workload already placed, fit the pool's maxSize without pushing out a workload that fitted before.
 * The packing is capacity/scheduling's placeWorkloads, the same one the plan's verdict uses.
 */
import { formatBytes, GpuPlacement, MemoryCandidate } from "./gpu-memory";
import { nameSome, PodGroup, PoolCapacity, placeWorkloads } from "./scheduling";

/** One pool weighed for a workload. */
export interface PlacementCandidate {
    pool: string;
    instanceType: string;
    verdict: "chosen" | "rejected" | "not needed";
    /** GPUs per pod on this pool, when its memory fits. */
    gpus?: number;
    reason: string;
}

export interface PlacementDecision {
    how: "config" | "auto";
    /** One line: where and why. */
    summary: string;
    candidates: PlacementCandidate[];
}

export interface CapacityFit {
    fits: boolean;
    /** Workloads (the new one included) that would not fit, with the packer's reason. */
    notFitting: { workload: string; reason: string }[];
}

/**
 * Whether `workload`'s pod groups fit the pools beside `others` (every other placed workload's groups,
 * at the same scale): the workload itself must fit, and no workload that fitted without it may stop
 * fitting. Workloads that did not fit before are not its fault and are not held against it.
 */
export function fitsBeside(workload: string, groups: PodGroup[], others: PodGroup[], pools: PoolCapacity[]): CapacityFit {
    const before = new Set(
        placeWorkloads(others, pools)
            .placements.filter((p) => p.schedulable)
            .map((p) => p.workload),
    );
    const after = placeWorkloads([...others, ...groups], pools);
    const notFitting = after.placements
        .filter((p) => !p.schedulable && (p.workload === workload || before.has(p.workload)))
        .map((p) => ({ workload: p.workload, reason: p.reason ?? "does not fit" }));
    return { fits: notFitting.length === 0, notFitting };
}

export interface AutoChoice {
    placement?: GpuPlacement;
    estimateBytes?: number;
    decision: PlacementDecision;
}

function memoryLine(c: Extract<MemoryCandidate, { fits: true }>): string {
    const p = c.placement;
    return `${formatBytes(c.estimateBytes)} per GPU on ${p.gpus} GPU(s), within ${formatBytes(c.limitBytes)} after headroom; $${p.hourlyUsd.toFixed(3)}/h of GPUs per pod`;
}

/**
 * Walks the memory candidates cheapest first and takes the first whose pods at maximum scale fit beside
 * the others. Every pool appears in the decision with its verdict: chosen, rejected on memory, rejected
 * on capacity (naming the workloads that would not fit), or not needed (a cheaper pool was taken).
 */
export function chooseAutoPool(
    workload: string,
    candidates: MemoryCandidate[],
    groupsFor: (placement: GpuPlacement) => PodGroup[],
    others: PodGroup[],
    pools: PoolCapacity[],
): AutoChoice {
    const out: PlacementCandidate[] = [];
    let chosen: Extract<MemoryCandidate, { fits: true }> | undefined;
    for (const c of candidates) {
        if (!c.fits) {
            out.push({ pool: c.pool, instanceType: c.instanceType, verdict: "rejected", reason: `GPU memory: ${c.reason}` });
            continue;
        }
        if (chosen) {
            out.push({ pool: c.pool, instanceType: c.instanceType, verdict: "not needed", gpus: c.placement.gpus, reason: `fits (${memoryLine(c)}) but ${chosen.pool} came first (cheaper per pod, or as cheap with fewer GPUs)` });
            continue;
        }
        const fit = fitsBeside(workload, groupsFor(c.placement), others, pools);
        if (fit.fits) {
            chosen = c;
            out.push({ pool: c.pool, instanceType: c.instanceType, verdict: "chosen", gpus: c.placement.gpus, reason: `cheapest that fits: ${memoryLine(c)}; its pods at maximum scale fit beside the other workloads within maxSize` });
        } else {
            const names = fit.notFitting.map((n) => n.workload);
            out.push({
                pool: c.pool,
                instanceType: c.instanceType,
                verdict: "rejected",
                gpus: c.placement.gpus,
                reason: `capacity: memory fits (${memoryLine(c)}) but at maximum scale ${nameSome(names)} would not fit: ${fit.notFitting.map((n) => n.reason).join("; ")}`,
            });
        }
    }
    const rejected = out.filter((c) => c.verdict === "rejected").map((c) => c.pool);
    const summary = chosen
        ? `pool: auto chose ${chosen.pool} (${chosen.placement.gpus} GPU(s) per pod)${rejected.length > 0 ? `; rejected ${rejected.join(", ")}` : ""}`
        : `pool: auto found no pool: ${out.map((c) => `${c.pool}: ${c.reason}`).join(" | ") || "no GPU pools"}`;
    return {
        ...(chosen ? { placement: chosen.placement, estimateBytes: chosen.estimateBytes } : {}),
        decision: { how: "auto", summary, candidates: out },
    };
}
