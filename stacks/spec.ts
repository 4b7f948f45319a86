/** The validated, resolved description of one stack. Components and the plan consume only this. */
import { CapacityReservation, CapacityType } from "../capacity/capacityTypes";
import { GpuFacts } from "../capacity/catalog";
import { NodePoolShape, Taint } from "../capacity/pools";
import { NAMESPACES } from "../facts/namespaces";
import { ClusterConfig, StorageConfig } from "./schema";
import { Tier } from "./tiers";

/** The stack's environment name (ml-platform:environment, default the stack name). Protections follow the tier, never this. */
export type Environment = string;
export type { Tier };

export interface NodePoolSpec extends NodePoolShape {
    minSize: number;
    maxSize: number;
    desiredSize: number;
    capacityType: CapacityType;
    /** Capacity reservation (ODCR or Capacity Block) the pool launches into. */
    capacityReservation?: CapacityReservation;
    diskSizeGiB: number;
    /** From the catalog; undefined for CPU pools. */
    gpu?: GpuFacts;
    /** Zones the pool launches in; undefined: every zone of the cluster. */
    availabilityZones?: string[];
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
    /** Normalised S3 URI (s3://bucket/prefix/) the run's role may read, if declared. */
    data?: string;
    /** Normalised S3 URI the run's role may write, if declared. */
    output?: string;
}

/** A Job that copies an S3 prefix into the training-data claim (stacks/dataSync.ts). */
export interface DataSyncSpec {
    name: string;
    namespace: string;
    /** Normalised S3 URI. */
    source: string;
    /** Folder inside the claim, relative, without a trailing "/". */
    path: string;
    /** The CPU system pool it runs on (systemPoolOf). */
    pool: string;
}

export interface StackSpec {
    project: string;
    stack: string;
    environment: Environment;
    /** dev-like or prod-like protections (stacks/tiers.ts tierProtections) and the policy config applied. */
    tier: Tier;
    region: string;
    cluster: ClusterConfig;
    gpuTaint: Taint;
    nodePools: NodePoolSpec[];
    storage: StorageConfig;
    namespaces: { serving: string; training: string };
    serving: ServingSpec[];
    training: TrainingSpec[];
    dataSync: DataSyncSpec[];
    /** Who provisions GPU nodes (the system pool is a managed node group either way); default cluster-autoscaler. */
    nodeProvisioner?: "cluster-autoscaler" | "karpenter";
    /** True when the tracking URI was given (as a secret); workloads then reference it. */
    hasTrackingUri: boolean;
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

/** The CPU pool system pods (and data-sync Jobs) run on: the first one that always has a node (validation requires one). */
export function systemPoolOf<P extends NodePoolSpec>(pools: P[]): P | undefined {
    return pools.find((p) => !p.gpu && p.minSize >= 1);
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
