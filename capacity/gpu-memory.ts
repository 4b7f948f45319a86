/**
 * Per-GPU memory estimates for transformer workloads, built on the published models in
 * shared/reference/gpu-memory.md (weights, KV cache, ZeRO model states, Korthikanti activations),
 * and the right-sizing choice behind `pool: auto`. All quantities are bytes; GiB = 2^30.
 */
import { instanceType } from "./catalog";
import { headroomLimitBytes } from "./gpuHeadroom";
import { gpuDevices, GpuSharing } from "./sharing";

export type InferencePrecision = "float32" | "bfloat16" | "float16" | "int8" | "int4";
export type TrainingPrecision = "float32" | "bfloat16" | "float16";

export interface ModelArchitecture {
    parameters: number;
    layers: number;
    hiddenSize: number;
    attentionHeads: number;
    /** Defaults to attentionHeads; fewer for grouped-query / multi-query attention. */
    kvHeads?: number;
    /** Defaults to hiddenSize / attentionHeads. */
    headDim?: number;
}

export type WorkloadShape =
    | { mode: "inference"; precision: InferencePrecision; batchSize: number; sequenceLength: number }
    | {
          mode: "training";
          precision: TrainingPrecision;
          optimizer: "adam";
          zeroStage: 0 | 1 | 2 | 3;
          dataParallel: number;
          microBatchSize: number;
          sequenceLength: number;
          recompute: "none" | "selective" | "full";
      };

export type InferenceWorkload = Extract<WorkloadShape, { mode: "inference" }>;
export type TrainingWorkload = Extract<WorkloadShape, { mode: "training" }>;

/** Memory one GPU needs, by component. */
export interface GpuMemoryEstimate {
    weightsBytes: number;
    gradientsBytes: number;
    optimizerBytes: number;
    kvCacheBytes: number;
    activationsBytes: number;
    overheadBytes: number;
    totalBytes: number;
}

const MIB = 2 ** 20;
const GIB = 2 ** 30;

/**
 * Fixed per-process CUDA context: driver/runtime state, loaded kernel images and the cuBLAS/cuDNN
 * handles and workspaces. PyTorch on Ampere/Hopper typically shows 300-500 MiB in nvidia-smi before
 * any tensor is allocated (less with CUDA lazy loading), so 512 MiB covers it without padding much.
 */
export const CUDA_CONTEXT_BYTES = 512 * MIB;

/**
 * Allocator headroom on top of everything else: the PyTorch caching allocator rounds and splits
 * blocks, and fragmentation commonly costs 5-10%. 10% keeps us near the reference's rule of thumb
 * (inference ~ 1.2 x weights once KV and activations are counted) and inside vLLM's 0.9 claim.
 */
export const FRAGMENTATION_FRACTION = 0.1;

const BYTES_PER_PARAM: Record<InferencePrecision, number> = {
    float32: 4,
    bfloat16: 2,
    float16: 2,
    int8: 1,
    int4: 0.5,
};

const INFERENCE_PRECISIONS = Object.keys(BYTES_PER_PARAM) as InferencePrecision[];
const TRAINING_PRECISIONS: readonly TrainingPrecision[] = ["float32", "bfloat16", "float16"];
const ZERO_STAGES: readonly (0 | 1 | 2 | 3)[] = [0, 1, 2, 3];
const RECOMPUTE_MODES: readonly TrainingWorkload["recompute"][] = ["none", "selective", "full"];

function requirePositiveInteger(field: string, value: unknown): number {
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0) {
        throw new Error(`${field} must be a positive integer, got ${String(value)}`);
    }
    return value;
}

function requireOneOf<T>(field: string, value: unknown, allowed: readonly T[]): T {
    if (!allowed.includes(value as T)) {
        throw new Error(`${field} must be one of ${allowed.map((a) => JSON.stringify(a)).join(", ")}, got ${JSON.stringify(value)}`);
    }
    return value as T;
}

interface Attention {
    kvHeads: number;
    headDim: number;
}

/** A relation between architecture fields that the estimator cannot size. */
export interface ArchitectureProblem {
    field: "kvHeads" | "hiddenSize";
    wrong: string;
    got: number;
    allowed: string;
}

function divisorsOf(n: number): number[] {
    const out: number[] = [];
    for (let d = 1; d <= n; d++) {
        if (n % d === 0) {
            out.push(d);
        }
    }
    return out;
}

/**
 * What is wrong across the fields of an architecture whose fields are each positive integers:
 * grouped-query attention shares each KV head among an equal group of query heads, and a head
 * dimension not given must follow from hiddenSize / attentionHeads.
 */
export function architectureProblems(model: ModelArchitecture): ArchitectureProblem[] {
    const heads = model.attentionHeads;
    const problems: ArchitectureProblem[] = [];
    if (model.kvHeads !== undefined && heads % model.kvHeads !== 0) {
        problems.push({ field: "kvHeads", wrong: `must divide model.attentionHeads (${heads})`, got: model.kvHeads, allowed: divisorsOf(heads).join(", ") });
    }
    if (model.headDim === undefined && model.hiddenSize % heads !== 0) {
        problems.push({
            field: "hiddenSize",
            wrong: `must be a multiple of model.attentionHeads (${heads}) when model.headDim is not given`,
            got: model.hiddenSize,
            allowed: `a multiple of ${heads}, or set model.headDim`,
        });
    }
    return problems;
}

function validateModel(model: ModelArchitecture): Attention {
    if (typeof model !== "object" || model === null) {
        throw new Error("model must be an object");
    }
    requirePositiveInteger("model.parameters", model.parameters);
    requirePositiveInteger("model.layers", model.layers);
    requirePositiveInteger("model.hiddenSize", model.hiddenSize);
    const heads = requirePositiveInteger("model.attentionHeads", model.attentionHeads);
    const kvHeads = model.kvHeads === undefined ? heads : requirePositiveInteger("model.kvHeads", model.kvHeads);
    const headDim = model.headDim === undefined ? undefined : requirePositiveInteger("model.headDim", model.headDim);
    const [problem] = architectureProblems(model);
    if (problem) {
        throw new Error(`model.${problem.field} ${problem.wrong}, got ${problem.got}`);
    }
    return { kvHeads, headDim: headDim ?? model.hiddenSize / heads };
}

function validateWorkload(workload: WorkloadShape): void {
    if (typeof workload !== "object" || workload === null) {
        throw new Error("workload must be an object");
    }
    const mode = requireOneOf("workload.mode", workload.mode, ["inference", "training"] as const);
    requirePositiveInteger("workload.sequenceLength", workload.sequenceLength);
    if (mode === "inference") {
        const w = workload as InferenceWorkload;
        requireOneOf("workload.precision", w.precision, INFERENCE_PRECISIONS);
        requirePositiveInteger("workload.batchSize", w.batchSize);
        return;
    }
    const w = workload as TrainingWorkload;
    requireOneOf("workload.precision", w.precision, TRAINING_PRECISIONS);
    requireOneOf("workload.optimizer", w.optimizer, ["adam"] as const);
    requireOneOf("workload.zeroStage", w.zeroStage, ZERO_STAGES);
    requirePositiveInteger("workload.dataParallel", w.dataParallel);
    requirePositiveInteger("workload.microBatchSize", w.microBatchSize);
    requireOneOf("workload.recompute", w.recompute, RECOMPUTE_MODES);
}

/** int8/int4 are weight-only quantisation: the KV cache stays fp16, as in common serving engines. */
function kvBytesPerElement(precision: InferencePrecision): number {
    return precision === "float32" ? 4 : 2;
}

/** Activations are 16-bit in the Korthikanti model; float32 doubles them, quantised weights do not change them. */
function activationScale(precision: InferencePrecision): number {
    return precision === "float32" ? 2 : 1;
}

/** KV cache on one GPU when tensor parallelism spreads the KV heads (replicated when gpus > kvHeads). */
function kvCacheBytes(model: ModelArchitecture, attention: Attention, w: InferenceWorkload, tensorParallel: number): number {
    const headsPerGpu = Math.ceil(attention.kvHeads / tensorParallel);
    return 2 * model.layers * headsPerGpu * attention.headDim * w.sequenceLength * w.batchSize * kvBytesPerElement(w.precision);
}

/**
 * Korthikanti et al. 2022, per layer, 16-bit, no tensor/sequence parallelism. The s·b·h·5·a·s/h
 * term is written as 5·a·s²·b so the result stays an exact integer.
 */
function activationBytesPerLayer(s: number, b: number, h: number, a: number, recompute: TrainingWorkload["recompute"]): number {
    switch (recompute) {
        case "none":
            return 34 * s * b * h + 5 * a * s * s * b;
        case "selective":
            return 34 * s * b * h;
        case "full":
            return 2 * s * b * h;
    }
}

type Parts = Omit<GpuMemoryEstimate, "overheadBytes" | "totalBytes">;

function withOverhead(parts: Parts): GpuMemoryEstimate {
    const rest = parts.weightsBytes + parts.gradientsBytes + parts.optimizerBytes + parts.kvCacheBytes + parts.activationsBytes;
    const overheadBytes = CUDA_CONTEXT_BYTES + FRAGMENTATION_FRACTION * rest;
    return { ...parts, overheadBytes, totalBytes: rest + overheadBytes };
}

/**
 * Inference needs no gradients or optimizer. Activations are a transient working set: one layer's
 * worth for the whole batch at prefill, 34·s·b·h bytes (Korthikanti's selective figure, i.e. without
 * the s² attention-score terms, which fused/flash attention kernels in serving engines never store).
 * Tensor parallelism splits weights and KV; the activation working set is counted unsplit.
 */
function inferenceParts(model: ModelArchitecture, attention: Attention, w: InferenceWorkload, tensorParallel: number): Parts {
    return {
        weightsBytes: (model.parameters * BYTES_PER_PARAM[w.precision]) / tensorParallel,
        gradientsBytes: 0,
        optimizerBytes: 0,
        kvCacheBytes: kvCacheBytes(model, attention, w, tensorParallel),
        activationsBytes: activationBytesPerLayer(w.sequenceLength, w.batchSize, model.hiddenSize, model.attentionHeads, "selective") * activationScale(w.precision),
    };
}

/**
 * Adam model states per parameter. Mixed precision (ZeRO paper): 2 fp16 weights + 2 fp16 grads +
 * 12 fp32 master weights/momentum/variance. Pure float32: 4 + 4 + 8 (momentum, variance; the weights
 * are already the master copy). ZeRO stage 1 shards the optimizer, 2 adds gradients, 3 adds weights.
 */
function trainingParts(model: ModelArchitecture, w: TrainingWorkload): Parts {
    const fp32 = w.precision === "float32";
    const p = model.parameters;
    const nd = w.dataParallel;
    const weights = p * (fp32 ? 4 : 2);
    const gradients = p * (fp32 ? 4 : 2);
    const optimizer = p * (fp32 ? 8 : 12);
    const perLayer = activationBytesPerLayer(w.sequenceLength, w.microBatchSize, model.hiddenSize, model.attentionHeads, w.recompute);
    return {
        weightsBytes: w.zeroStage >= 3 ? weights / nd : weights,
        gradientsBytes: w.zeroStage >= 2 ? gradients / nd : gradients,
        optimizerBytes: w.zeroStage >= 1 ? optimizer / nd : optimizer,
        kvCacheBytes: 0,
        activationsBytes: perLayer * model.layers * (fp32 ? 2 : 1),
    };
}

/**
 * Per-GPU memory for the workload. Inference is on a single GPU (see perGpuBytesFor for tensor
 * parallelism); training is one data-parallel rank of workload.dataParallel.
 */
export function estimateGpuMemory(model: ModelArchitecture, workload: WorkloadShape): GpuMemoryEstimate {
    const attention = validateModel(model);
    validateWorkload(workload);
    if (workload.mode === "inference") {
        return withOverhead(inferenceParts(model, attention, workload, 1));
    }
    return withOverhead(trainingParts(model, workload));
}

/**
 * Per-GPU bytes as a function of the GPU count, for chooseGpuPlacement. Inference uses tensor
 * parallelism over the GPUs (weights and KV split; a count that does not divide the attention heads
 * is not a valid tensor-parallel size and yields Infinity). Training uses the GPUs as data-parallel
 * ranks, overriding workload.dataParallel, so ZeRO sharding shrinks with the count.
 */
export function perGpuBytesFor(model: ModelArchitecture, workload: WorkloadShape): (gpus: number) => number {
    const attention = validateModel(model);
    validateWorkload(workload);
    return (gpus: number): number => {
        requirePositiveInteger("gpus", gpus);
        if (workload.mode === "training") {
            return withOverhead(trainingParts(model, { ...workload, dataParallel: gpus })).totalBytes;
        }
        if (model.attentionHeads % gpus !== 0) {
            return Infinity;
        }
        return withOverhead(inferenceParts(model, attention, workload, gpus)).totalBytes;
    };
}

/** A configured node pool. */
export interface PoolOption {
    name: string;
    instanceType: string;
    /** A MIG pool is sized on its slices (capacity/sharing.ts gpuDevices). */
    sharing?: GpuSharing;
}

export interface GpuPlacement {
    pool: string;
    instanceType: string;
    /** Devices per pod: whole GPUs, or MIG slices on a MIG pool. */
    gpus: number;
    /** Usable memory per device: the GPU's as EC2 reports it (catalog MiB x 2^20), not the marketed GB, or the MIG slice's. */
    usableBytesPerGpu: number;
    /** On-demand cost of the devices used: the node's hourly price x devices / devices per node. */
    hourlyUsd: number;
}

/** Power-of-two counts, the tensor/data-parallel sizes frameworks accept within one node. */
export const GPU_COUNTS: readonly number[] = [1, 2, 4, 8];

function fitPool(perGpuBytes: (gpus: number) => number, pool: PoolOption, maxGpus: number, headroom = 0): GpuPlacement | undefined {
    const instance = instanceType(pool.instanceType);
    if (!instance.gpu) {
        return undefined;
    }
    const devices = gpuDevices(instance.gpu, pool.sharing);
    const usableBytesPerGpu = devices.memoryMiB * MIB;
    const limit = headroomLimitBytes(usableBytesPerGpu, headroom);
    for (const gpus of GPU_COUNTS) {
        if (gpus > devices.maxPerPod || gpus > maxGpus) {
            break;
        }
        if (perGpuBytes(gpus) <= limit) {
            const hourlyUsd = (instance.onDemandHourlyUsd * gpus) / devices.perNode;
            return { pool: pool.name, instanceType: instance.name, gpus, usableBytesPerGpu, hourlyUsd };
        }
    }
    return undefined;
}

function isBetter(candidate: GpuPlacement, best: GpuPlacement): boolean {
    if (candidate.hourlyUsd !== best.hourlyUsd) {
        return candidate.hourlyUsd < best.hourlyUsd;
    }
    if (candidate.gpus !== best.gpus) {
        return candidate.gpus < best.gpus;
    }
    return candidate.pool < best.pool;
}

/**
 * The cheapest pool (by the cost of the GPUs used) that fits the workload on one node, taking the
 * smallest power-of-two GPU count that fits in each pool. Pools without GPUs are skipped; undefined
 * when nothing fits.
 */
export function chooseGpuPlacement(
    perGpuBytes: (gpus: number) => number,
    pools: PoolOption[],
    opts: { maxGpus?: number; headroom?: number } = {},
): GpuPlacement | undefined {
    const maxGpus = opts.maxGpus === undefined ? Infinity : requirePositiveInteger("maxGpus", opts.maxGpus);
    let best: GpuPlacement | undefined;
    for (const pool of pools) {
        const candidate = fitPool(perGpuBytes, pool, maxGpus, opts.headroom);
        if (candidate && (!best || isBetter(candidate, best))) {
            best = candidate;
        }
    }
    return best;
}

/** One pool as `pool: auto` weighed it on GPU memory alone. */
export type MemoryCandidate =
    | { pool: string; instanceType: string; fits: true; placement: GpuPlacement; estimateBytes: number; limitBytes: number }
    | { pool: string; instanceType: string; fits: false; reason: string };

/**
 * Every GPU pool with the smallest power-of-two GPU count whose per-GPU estimate stays within
 * (1 - headroom) of usable memory, or why none does; fitting pools first, cheapest first (the order
 * chooseGpuPlacement prefers), then the rejected ones in the given order.
 */
export function gpuMemoryCandidates(perGpuBytes: (gpus: number) => number, pools: PoolOption[], headroom: number): MemoryCandidate[] {
    const fitting: MemoryCandidate[] = [];
    const rejected: MemoryCandidate[] = [];
    for (const pool of pools) {
        const instance = instanceType(pool.instanceType);
        if (!instance.gpu) {
            continue;
        }
        const devices = gpuDevices(instance.gpu, pool.sharing);
        const usable = devices.memoryMiB * MIB;
        const limitBytes = headroomLimitBytes(usable, headroom);
        const placement = fitPool(perGpuBytes, pool, Infinity, headroom);
        if (placement) {
            fitting.push({ pool: pool.name, instanceType: instance.name, fits: true, placement, estimateBytes: perGpuBytes(placement.gpus), limitBytes });
            continue;
        }
        const counts = GPU_COUNTS.filter((g) => g <= devices.maxPerPod && Number.isFinite(perGpuBytes(g)));
        const least = counts.length > 0 ? Math.min(...counts.map(perGpuBytes)) : Infinity;
        const unit = devices.mode === "mig" ? `MIG ${devices.profile} slice` : "GPU";
        const on = counts.length > 0 ? ` on ${counts[counts.length - 1]} ${unit}(s)` : "";
        rejected.push({
            pool: pool.name,
            instanceType: instance.name,
            fits: false,
            reason:
                `needs ${Number.isFinite(least) ? formatBytes(least) : "a tensor-parallel size this node cannot give"} per ${unit}${on}, ` +
                `over ${formatBytes(limitBytes)} (${formatBytes(usable)} usable less ${Math.round(headroom * 100)}% headroom)`,
        });
    }
    const ordered = fitting.sort((a, b) => {
        const [x, y] = [a, b].map((c) => (c as Extract<MemoryCandidate, { fits: true }>).placement);
        return isBetter(x, y) ? -1 : isBetter(y, x) ? 1 : 0;
    });
    return [...ordered, ...rejected];
}

/** GiB with one decimal, for messages. */
export function formatBytes(b: number): string {
    return `${(b / GIB).toFixed(1)} GiB`;
}
