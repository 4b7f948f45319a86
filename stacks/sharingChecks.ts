/**
 * Time-sliced pools after placement: the pods that may share one physical GPU must fit its memory
 * together (capacity/sharing.ts timeSlicedMemory), since time-slicing isolates no memory. Every workload
 * on such a pool has a model estimate (stacks/placement.ts refuses one without).
 */
import { formatBytes } from "../capacity/gpu-memory";
import { poolDevices, SlicedPod, timeSlicedMemory, TimeSlicedMemoryCheck } from "../capacity/sharing";
import { NAMESPACE } from "./errors";
import { NodePoolSpec, ServingSpec, TrainingSpec } from "./spec";

/** The pods of each workload placed on `pool`, at maximum scale, with their per-GPU estimates. */
export function slicedPodsOn(pool: string, serving: ServingSpec[], training: TrainingSpec[]): SlicedPod[] {
    const pods: SlicedPod[] = [];
    for (const s of serving) {
        if (s.pool === pool && s.gpuMemoryEstimateBytes !== undefined) pods.push({ workload: s.name, estimateBytes: s.gpuMemoryEstimateBytes, pods: s.replicas.max });
    }
    for (const t of training) {
        if (t.pool === pool && t.gpuMemoryEstimateBytes !== undefined) pods.push({ workload: t.name, estimateBytes: t.gpuMemoryEstimateBytes, pods: 1 + t.workers });
    }
    return pods;
}

/** Each time-sliced pool's worst case: what the planner found, for the report and for the check below. */
export function timeSlicedChecks(pools: NodePoolSpec[], serving: ServingSpec[], training: TrainingSpec[], headroom: number): { pool: string; replicas: number; check: TimeSlicedMemoryCheck }[] {
    return pools.flatMap((p) => {
        const d = poolDevices(p);
        if (d?.mode !== "time-slicing") return [];
        const check = timeSlicedMemory(d.replicas!, d.memoryMiB * 2 ** 20, headroom, slicedPodsOn(p.name, serving, training));
        return [{ pool: p.name, replicas: d.replicas!, check }];
    });
}

/** One problem per time-sliced pool whose `replicas` largest pods overflow one GPU. */
export function checkTimeSlicedMemory(pools: NodePoolSpec[], serving: ServingSpec[], training: TrainingSpec[], headroom: number, problems: string[]) {
    for (const { pool, replicas, check } of timeSlicedChecks(pools, serving, training, headroom)) {
        if (check.fits) continue;
        const pods = slicedPodsOn(pool, serving, training);
        const usable = check.usableBytes;
        const fewer = [...Array(Math.max(0, replicas - 2)).keys()].map((i) => replicas - 1 - i).find((r) => timeSlicedMemory(r, usable, headroom, pods).fits);
        const allowed = fewer !== undefined ? `replicas <= ${fewer}` : "no replica count of 2 or more holds these pods";
        const who = check.worst.map((w) => `${w.pods} x ${w.workload} (${formatBytes(w.estimateBytes)})`).join(" + ");
        problems.push(
            `${NAMESPACE}:nodePools.${pool}.sharing.timeSlicing.replicas: ${replicas} pods may share one GPU and the largest ${replicas} placed here need ` +
                `${formatBytes(check.sumBytes)} together (${who}), over ${formatBytes(check.limitBytes)} (${formatBytes(check.usableBytes)} usable less headroom); ` +
                `allowed: ${allowed}; or move a workload, or use MIG for isolated memory`,
        );
    }
}
