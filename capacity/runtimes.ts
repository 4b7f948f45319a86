/**
 * What a serving runtime's pod needs beyond the entry's own sizing, as pure functions: the
 * memory-backed /dev/shm for tensor parallelism, and the vLLM server's arguments derived from the
 * entry (tensor parallel size, context length, memory fraction). The component renders them and the
 * placement check counts the same figures.
 */
import { formatMemory, GiB, MiB, parseMemory } from "./quantity";

/**
 * /dev/shm per pod: 1 GiB per GPU, at least 1 GiB. With tensor parallelism every GPU is a worker
 * process and NCCL's intra-node SHM transport (the path on PCIe-only nodes such as g5, which have no
 * NVLink) keeps its per-peer, per-channel buffers there; vLLM's own processes (API server, engine
 * core, workers) exchange scheduler output through shared-memory queues. The container runtime's
 * default is 64 MiB, which NCCL outgrows at initialisation; PyTorch's own CI gives a multi-GPU
 * container 2 GiB. A tmpfs page is charged to the pod's memory cgroup, so the pod's memory request and
 * limit grow by this size (see servingMemoryBytes): the scheduler, the planner and the kubelet then
 * count the same bytes.
 */
export const SHM_BYTES_PER_GPU = GiB;

export function shmBytesFor(gpus: number): number {
    if (!Number.isSafeInteger(gpus) || gpus < 0) {
        throw new Error(`gpus must be a non-negative integer, got ${gpus}`);
    }
    return Math.max(1, gpus) * SHM_BYTES_PER_GPU;
}

/** A memory quantity plus some bytes, as a quantity again (exact: whole MiB as Mi/Gi, else plain bytes). */
export function addMemory(quantity: string, bytes: number): string {
    const sum = parseMemory(quantity) + bytes;
    return sum % MiB === 0 ? formatMemory(sum) : String(sum);
}

/**
 * vLLM's --gpu-memory-utilization: the fraction of each GPU's memory the engine may take for weights,
 * activations, CUDA graphs and KV cache, after which it fills what is left of that fraction with KV
 * blocks. The estimate (capacity/gpu-memory) already holds the weights, the KV cache of batchSize
 * sequences of sequenceLength tokens, the activation working set, the CUDA context and 10% for
 * fragmentation, so the fraction is estimate / usable memory, rounded up to the next hundredth: the
 * engine gets at least what the estimate sized (so a full-length sequence always fits), and the rest
 * of the GPU — the placement headroom at least, when `pool: auto` chose it — stays free. The usable
 * memory is EC2's figure, a little under what CUDA reports as total, so the rounding errs towards
 * giving the engine more, never less.
 */
export function gpuMemoryUtilization(estimateBytes: number, usableBytesPerGpu: number): number {
    if (!(estimateBytes > 0) || !(usableBytesPerGpu > 0)) {
        throw new Error(`estimate and usable memory must be positive, got ${estimateBytes} and ${usableBytesPerGpu}`);
    }
    const fraction = Math.ceil((estimateBytes / usableBytesPerGpu) * 100) / 100;
    if (fraction > 1) {
        throw new Error(`the estimate (${estimateBytes} bytes) exceeds the GPU's usable memory (${usableBytesPerGpu} bytes)`);
    }
    return fraction;
}

export interface VllmServerArgs {
    /** Directory the model-downloader init container filled. */
    modelPath: string;
    servedModelName: string;
    /** GPUs per pod. */
    tensorParallelSize: number;
    /** Tokens per sequence (prompt + output) the engine accepts: the sequence length the estimate sized. */
    maxModelLen: number;
    gpuMemoryUtilization: number;
    port: number;
    precision: "float32" | "bfloat16" | "float16" | "int8" | "int4";
}

/** Weight-quantised checkpoints carry their scheme in their config; vLLM reads it, so no --dtype then. */
const DTYPE: Partial<Record<VllmServerArgs["precision"], string>> = { float32: "float32", bfloat16: "bfloat16", float16: "float16" };

/** Arguments of `vllm serve` (positional model, then engine and server flags). */
export function vllmServeArgs(a: VllmServerArgs): string[] {
    const dtype = DTYPE[a.precision];
    return [
        a.modelPath,
        "--served-model-name",
        a.servedModelName,
        "--port",
        String(a.port),
        "--tensor-parallel-size",
        String(a.tensorParallelSize),
        "--max-model-len",
        String(a.maxModelLen),
        "--gpu-memory-utilization",
        a.gpuMemoryUtilization.toFixed(2),
        ...(dtype ? ["--dtype", dtype] : []),
    ];
}
