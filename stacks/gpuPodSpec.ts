/**
 * The GPU part of a pod spec for one of the platform's pools, from the contract alone: the pool's
 * tolerations and nodeSelector for the pod, and container resources whose nvidia.com/gpu requests
 * equal its limits. App teams import this; it is pure (no Pulumi, no platform components).
 */
import { GPU_RESOURCE } from "../capacity/pools";
import { isCpuQuantity, isMemoryQuantity, parseCpu, parseMemory } from "../capacity/quantity";
import { ContractToleration, PlatformContractValues } from "./contract";

export interface GpuContainerSizing {
    /** GPUs per pod: a whole number, at most the pool's GPUs per node (a pod never spans nodes). */
    gpus: number;
    cpu: string;
    memory: string;
    /** Default to the requests. */
    cpuLimit?: string;
    memoryLimit?: string;
}

export interface GpuPodSpec {
    /** Pod spec fields. */
    nodeSelector: Record<string, string>;
    tolerations: ContractToleration[];
    /** The GPU container's resources. */
    resources: { requests: Record<string, string>; limits: Record<string, string> };
}

export function gpuPodSpec(contract: Pick<PlatformContractValues, "gpuPools">, poolName: string, sizing: GpuContainerSizing): GpuPodSpec {
    const pool = contract.gpuPools[poolName];
    if (!pool) {
        const known = Object.keys(contract.gpuPools);
        throw new Error(`the platform has no GPU pool "${poolName}"; it has ${known.length > 0 ? known.join(", ") : "none"}`);
    }
    if (!Number.isInteger(sizing.gpus) || sizing.gpus < 1 || sizing.gpus > pool.gpusPerNode) {
        throw new Error(`gpus must be a whole number from 1 to ${pool.gpusPerNode} (GPUs per ${pool.instanceType} node of pool "${poolName}"), got ${sizing.gpus}`);
    }
    const cpuLimit = sizing.cpuLimit ?? sizing.cpu;
    const memoryLimit = sizing.memoryLimit ?? sizing.memory;
    for (const [field, value, ok] of [
        ["cpu", sizing.cpu, isCpuQuantity],
        ["cpuLimit", cpuLimit, isCpuQuantity],
        ["memory", sizing.memory, isMemoryQuantity],
        ["memoryLimit", memoryLimit, isMemoryQuantity],
    ] as const) {
        if (!ok(value)) {
            throw new Error(`${field} "${value}" is not a Kubernetes quantity`);
        }
    }
    if (parseCpu(cpuLimit) < parseCpu(sizing.cpu) || parseMemory(memoryLimit) < parseMemory(sizing.memory)) {
        throw new Error(`limits (cpu ${cpuLimit}, memory ${memoryLimit}) must not be below the requests (cpu ${sizing.cpu}, memory ${sizing.memory})`);
    }
    const gpus = String(sizing.gpus);
    return {
        // Copies: a caller that edits its pod spec must not edit the contract.
        nodeSelector: { ...pool.nodeSelector },
        tolerations: pool.tolerations.map((t) => ({ ...t })),
        resources: {
            requests: { cpu: sizing.cpu, memory: sizing.memory, [GPU_RESOURCE]: gpus },
            limits: { cpu: cpuLimit, memory: memoryLimit, [GPU_RESOURCE]: gpus },
        },
    };
}
