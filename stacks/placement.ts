/**
 * Which pool a workload runs on and how many GPUs each of its pods gets: explicit values are checked
 * against the pool, a model block sizes them with capacity/gpu-memory's estimate and GPU-count ladder,
 * and `pool: auto` (placeAuto) picks the cheapest pool whose usable GPU memory holds the estimate with the
 * headroom left free and whose maxSize holds the workload beside the others.
 */
import { chooseAutoPool, PlacementDecision } from "../capacity/autoPlacement";
import { chooseGpuPlacement, formatBytes, GPU_COUNTS, gpuMemoryCandidates, MemoryCandidate, ModelArchitecture, perGpuBytesFor } from "../capacity/gpu-memory";
import { PodGroup, PoolCapacity } from "../capacity/scheduling";
import { poolDevices } from "../capacity/sharing";
import { ServingConfig, TrainingConfig } from "./schema";
import { NodePoolSpec } from "./spec";

/** Per-GPU bytes as a function of a pod's GPU count. */
export type PerGpuBytes = (gpus: number) => number;

export interface GpuChoice {
    pool: string;
    gpus: number;
    /** Per-GPU estimate in bytes when a model sized the workload. */
    estimate?: number;
    /** How `pool: auto` decided, pool by pool. */
    decision?: PlacementDecision;
}

function architectureOf(m: ModelArchitecture): ModelArchitecture {
    return {
        parameters: m.parameters,
        layers: m.layers,
        hiddenSize: m.hiddenSize,
        attentionHeads: m.attentionHeads,
        kvHeads: m.kvHeads,
        headDim: m.headDim,
    };
}

/** The estimate of a served model (tensor parallel over a pod's GPUs); the schema has checked its architecture. */
export function servingMemory(model: ServingConfig["model"]): PerGpuBytes | undefined {
    if (!model) {
        return undefined;
    }
    return perGpuBytesFor(architectureOf(model), {
        mode: "inference",
        precision: model.precision,
        batchSize: model.batchSize,
        sequenceLength: model.sequenceLength,
    });
}

/** The estimate of a training run: every GPU of every pod is a data-parallel rank. */
export function trainingMemory(model: TrainingConfig["model"], pods: number): PerGpuBytes | undefined {
    if (!model) {
        return undefined;
    }
    const architecture = architectureOf(model);
    return (gpus: number) =>
        perGpuBytesFor(architecture, {
            mode: "training",
            precision: model.precision,
            optimizer: "adam",
            zeroStage: model.zeroStage,
            dataParallel: gpus * pods,
            microBatchSize: model.microBatchSize,
            sequenceLength: model.sequenceLength,
            recompute: model.recompute,
        })(gpus * pods);
}

/** Ladder counts a pod may have on the pool; the estimate is Infinity where a count is no valid tensor-parallel size. */
function ladderOn(pool: NodePoolSpec): number[] {
    return GPU_COUNTS.filter((g) => g <= poolDevices(pool)!.maxPerPod);
}

/** Why a pod on a shared pool gets one device. */
function oneDeviceReason(pool: NodePoolSpec): string {
    return poolDevices(pool)!.mode === "mig"
        ? `pool "${pool.name}" cuts its GPUs into MIG ${poolDevices(pool)!.profile} slices and a CUDA process uses one MIG device`
        : `pool "${pool.name}" time-slices its GPUs (${poolDevices(pool)!.replicas} replicas) and the device plugin refuses a pod more than one replica`;
}

/** A GPU count on a known GPU pool: within its nodes, a valid parallel size, and enough memory per GPU. */
function checkOnPool(where: string, gpuKey: string, pool: NodePoolSpec, gpus: number, perGpuBytes: PerGpuBytes | undefined, problems: string[]): GpuChoice | undefined {
    const devices = poolDevices(pool)!;
    if (gpus > devices.maxPerPod) {
        problems.push(
            devices.mode === "whole"
                ? `${where}.${gpuKey} must be <= ${devices.gpus} (GPUs per ${pool.instanceType} node in pool "${pool.name}"), got ${gpus}`
                : `${where}.${gpuKey} must be 1: ${oneDeviceReason(pool)}, got ${gpus}`,
        );
        return undefined;
    }
    if (!perGpuBytes) {
        if (devices.mode === "time-slicing") {
            problems.push(`${where} needs a model block on pool "${pool.name}": time-slicing gives no memory isolation, so the planner must know what each pod holds on the GPU it shares`);
            return undefined;
        }
        return { pool: pool.name, gpus };
    }
    const estimate = perGpuBytes(gpus);
    if (!Number.isFinite(estimate)) {
        const valid = ladderOn(pool).filter((g) => Number.isFinite(perGpuBytes(g)));
        problems.push(`${where}.${gpuKey} must divide model.attentionHeads to split the model across GPUs (tensor parallelism), got ${gpus}; allowed: ${valid.join(", ")}`);
        return undefined;
    }
    const capacityBytes = devices.memoryMiB * 2 ** 20;
    if (estimate > capacityBytes) {
        const device = devices.mode === "mig" ? `MIG ${devices.profile} slice` : "GPU";
        problems.push(
            `${where}: the model needs ${formatBytes(estimate)} per ${device} on ${gpus} ${device}(s) but pool "${pool.name}" (${pool.instanceType}) has ${devices.memoryMiB} MiB ` +
                `(${formatBytes(capacityBytes)}) usable per ${device}; use more GPUs, a larger pool or profile, or pool "auto"`,
        );
        return undefined;
    }
    return { pool: pool.name, gpus, estimate };
}

/**
 * Resolves the GPU count of an entry on the pool it names (never "auto": see placeAuto). `gpuKey` is the
 * entry's GPU-count key (gpus, gpusPerPod); `perGpuBytes` is its model's estimate, if it has one.
 */
export function placeWorkload(
    where: string,
    gpuKey: string,
    entry: { pool: string; gpus: number | undefined },
    perGpuBytes: PerGpuBytes | undefined,
    pools: NodePoolSpec[],
    problems: string[],
): GpuChoice | undefined {
    const gpuPools = pools.filter((p) => p.gpu);
    if (entry.pool === "auto") {
        // Auto-placement needs the other workloads and the pools' capacity: placeAuto below.
        throw new Error(`${where}: pool "auto" is placed by placeAuto, with the stack's capacity and headroom`);
    }
    const pool = pools.find((p) => p.name === entry.pool);
    if (!pool) {
        problems.push(`${where}.pool names no node pool: got "${entry.pool}"; known pools: ${pools.map((p) => p.name).join(", ")}${perGpuBytes ? ', or "auto"' : ""}`);
        return undefined;
    }
    if (!pool.gpu) {
        problems.push(`${where}.pool "${pool.name}" is a CPU pool (${pool.instanceType}); GPU workloads need one of: ${gpuPools.map((p) => p.name).join(", ") || "(no GPU pools configured)"}`);
        return undefined;
    }
    if (entry.gpus !== undefined) {
        return checkOnPool(where, gpuKey, pool, entry.gpus, perGpuBytes, problems);
    }
    if (!perGpuBytes) {
        problems.push(`${where} needs ${gpuKey} or a model block to size it`);
        return undefined;
    }
    const fit = chooseGpuPlacement(perGpuBytes, [{ name: pool.name, instanceType: pool.instanceType, sharing: pool.sharing }]);
    if (!fit) {
        const least = Math.min(...ladderOn(pool).map(perGpuBytes));
        problems.push(
            `${where}.model needs at least ${formatBytes(least)} per GPU on up to the ${poolDevices(pool)!.maxPerPod} device(s) a pod may have on pool "${pool.name}" ` +
                `(${pool.instanceType}, ${poolDevices(pool)!.memoryMiB} MiB usable per device)`,
        );
        return undefined;
    }
    return checkOnPool(where, gpuKey, pool, fit.gpus, perGpuBytes, problems);
}

/** What `pool: auto` needs beside the entry: the pools as the packer sees them and who is already on them. */
export interface AutoPlacementContext {
    pools: NodePoolSpec[];
    capacities: PoolCapacity[];
    headroom: number;
    /** Pod groups (at maximum scale) of every workload placed so far. */
    others: PodGroup[];
}

/** An entry's fixed GPU count narrows the memory candidates: fewer GPUs than the model needs, or more than a node has, rejects the pool. */
function withEntryGpus(candidates: MemoryCandidate[], gpus: number | undefined, perGpuBytes: PerGpuBytes, gpuKey: string): MemoryCandidate[] {
    if (gpus === undefined) {
        return candidates;
    }
    return candidates.map((c): MemoryCandidate => {
        if (!c.fits) {
            return c;
        }
        if (gpus < c.placement.gpus) {
            return { pool: c.pool, instanceType: c.instanceType, fits: false, reason: `${gpuKey} is ${gpus} but the model needs ${c.placement.gpus} GPU(s) of ${c.instanceType} within the headroom` };
        }
        const estimateBytes = perGpuBytes(gpus);
        if (!Number.isFinite(estimateBytes)) {
            return { pool: c.pool, instanceType: c.instanceType, fits: false, reason: `${gpuKey} ${gpus} is no valid tensor-parallel size for the model` };
        }
        return { ...c, estimateBytes, placement: { ...c.placement, gpus, hourlyUsd: (c.placement.hourlyUsd / c.placement.gpus) * gpus } };
    });
}

/**
 * `pool: auto` with capacity: the cheapest pool whose GPUs hold the model within the headroom and whose
 * maxSize holds the workload's pods at maximum scale beside every workload placed before it. The problem,
 * when no pool qualifies, names each pool and why (memory, or the workloads that would not fit).
 */
export function placeAuto(
    where: string,
    gpuKey: string,
    name: string,
    entryGpus: number | undefined,
    perGpuBytes: PerGpuBytes | undefined,
    groupsFor: (pool: NodePoolSpec, gpus: number) => PodGroup[],
    ctx: AutoPlacementContext,
    problems: string[],
): GpuChoice | undefined {
    const gpuPools = ctx.pools.filter((p) => p.gpu);
    if (!perGpuBytes) {
        problems.push(`${where}.pool is "auto" but no model is given; add ${where}.model or name a pool (${gpuPools.map((p) => p.name).join(", ")})`);
        return undefined;
    }
    // Time-slicing guarantees no memory: auto takes only pools where an estimate that fits stays fitting.
    const timeSliced = gpuPools.filter((p) => poolDevices(p)!.mode === "time-slicing");
    const tooBig = entryGpus !== undefined ? gpuPools.filter((p) => !timeSliced.includes(p) && entryGpus > poolDevices(p)!.maxPerPod) : [];
    const candidates = withEntryGpus(
        gpuMemoryCandidates(
            perGpuBytes,
            gpuPools.filter((p) => !tooBig.includes(p) && !timeSliced.includes(p)).map((p) => ({ name: p.name, instanceType: p.instanceType, sharing: p.sharing })),
            ctx.headroom,
        ),
        entryGpus,
        perGpuBytes,
        gpuKey,
    );
    const rejectedBySize: MemoryCandidate[] = tooBig.map((p) => ({
        pool: p.name,
        instanceType: p.instanceType,
        fits: false,
        reason: poolDevices(p)!.mode === "whole" ? `${gpuKey} ${entryGpus} is more than the ${poolDevices(p)!.gpus} GPU(s) of a ${p.instanceType} node` : `${gpuKey} ${entryGpus} is more than 1: ${oneDeviceReason(p)}`,
    }));
    const rejectedTimeSliced: MemoryCandidate[] = timeSliced.map((p) => ({
        pool: p.name,
        instanceType: p.instanceType,
        fits: false,
        reason: `time-sliced (${poolDevices(p)!.replicas} replicas per GPU, no memory isolation): pool "auto" never chooses it; name the pool to run there`,
    }));
    const choice = chooseAutoPool(name, [...candidates, ...rejectedBySize, ...rejectedTimeSliced], (p) => groupsFor(gpuPools.find((x) => x.name === p.pool)!, p.gpus), ctx.others, ctx.capacities);
    if (!choice.placement) {
        const lines = choice.decision.candidates.map((c) => `${c.pool} (${c.instanceType}): ${c.reason}`);
        problems.push(`${where}.pool is "auto" but no GPU pool can take "${name}": ${lines.join("; ") || "there are no GPU pools"}. Raise a pool's maxSize, add a pool, or shrink the model's sequenceLength/batchSize`);
        return undefined;
    }
    return { pool: choice.placement.pool, gpus: choice.placement.gpus, estimate: choice.estimateBytes, decision: choice.decision };
}
