/** The validated, resolved description of one stack. Components and the plan consume only this. */
import { GpuFacts } from "../capacity/catalog";
import { NodePoolShape, Taint } from "../capacity/pools";
import type { QueueShares } from "../capacity/queues";
import { NAMESPACES } from "../facts/namespaces";
import { ClusterConfig, StorageConfig } from "./schema";

export type Environment = "dev" | "prod";

export interface NodePoolSpec extends NodePoolShape {
    minSize: number;
    maxSize: number;
    desiredSize: number;
    capacityType: "ON_DEMAND" | "SPOT";
    diskSizeGiB: number;
    /** From the catalog; undefined for CPU pools. */
    gpu?: GpuFacts;
}

interface WorkloadResources {
    image: string;
    /** Resolved pool name (never "auto"). */
    pool: string;
    cpu: string;
    memory: string;
    cpuLimit: string;
    memoryLimit: string;
    /** Per-GPU memory estimate, when the entry gave a model. */
    gpuMemoryEstimateBytes?: number;
}

export interface ServingSpec extends WorkloadResources {
    name: string;
    namespace: string;
    gpus: number;
    replicas: { min: number; max: number };
    modelUri: string;
    modelLoadSeconds: number;
    autoscaling: { gpuUtilizationTarget: number; queueDepthTarget: number };
}

export interface TrainingSpec extends WorkloadResources {
    name: string;
    namespace: string;
    kind: "Job" | "PyTorchJob";
    args: string[];
    gpusPerPod: number;
    /** PyTorchJob workers beside the master; 0 for a Job. */
    workers: number;
    backoffLimit: number;
    activeDeadlineSeconds: number;
    /** Hours a month it runs (expectedHours, or runsPerMonth x hoursPerRun); undefined: not declared, all month assumed. */
    expectedHoursPerMonth?: number;
    /** Hours one run lasts, when the entry declares runsPerMonth x hoursPerRun. */
    hoursPerRun?: number;
}

export interface StackSpec {
    project: string;
    stack: string;
    environment: Environment;
    region: string;
    cluster: ClusterConfig;
    gpuTaint: Taint;
    nodePools: NodePoolSpec[];
    storage: StorageConfig;
    namespaces: { serving: string; training: string };
    serving: ServingSpec[];
    training: TrainingSpec[];
    /** True when the tracking URI was given (as a secret); workloads then reference it. */
    hasTrackingUri: boolean;
    /** App teams' shares of the GPU pools for Kueue (`ml-platform:queues`); absent: the platform's queue has all. */
    queues?: QueueShares;
}

export { NAMESPACES };

/** EKS refuses a longer node group name. */
export const NODE_GROUP_NAME_MAX_LENGTH = 63;

/** The EKS node group of a pool; its ASG is eks-<name>-<uuid>, which the autoscaler's expander matches. */
export function nodeGroupNameFor(clusterName: string, poolName: string): string {
    return `${clusterName}-${poolName}`;
}

export function gpuPools(spec: StackSpec): NodePoolSpec[] {
    return spec.nodePools.filter((p) => p.gpu !== undefined);
}

export function findPool(spec: StackSpec, name: string): NodePoolSpec {
    const pool = spec.nodePools.find((p) => p.name === name);
    if (!pool) {
        throw new Error(`no node pool named "${name}"`);
    }
    return pool;
}

export const STORAGE_CLASS_NAME = "efs-ml";

/** The shared volumes: names, namespaces and how workloads mount them. */
export const CLAIMS = {
    trainingData: { name: "training-data", namespace: NAMESPACES.training, mountReadOnly: true, mountPath: "/data" },
    checkpoints: { name: "checkpoints", namespace: NAMESPACES.training, mountReadOnly: false, mountPath: "/checkpoints" },
    modelCache: { name: "model-cache", namespace: NAMESPACES.serving, mountReadOnly: false, mountPath: "/model-cache" },
} as const;

export function storageClaims(spec: StackSpec) {
    return [
        { ...CLAIMS.trainingData, size: spec.storage.trainingDataSize },
        { ...CLAIMS.checkpoints, size: spec.storage.checkpointsSize },
        { ...CLAIMS.modelCache, size: spec.storage.modelCacheSize },
    ];
}
