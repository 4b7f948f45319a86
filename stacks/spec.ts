/** The validated, resolved description of one stack. Components and the plan consume only this. */
import { CapacityReservation, CapacityType } from "../capacity/capacityTypes";
import { GpuFacts } from "../capacity/catalog";
import { NodePoolShape, Taint } from "../capacity/pools";
import type { QueueShares } from "../capacity/queues";
import { NAMESPACES } from "../facts/namespaces";
import { PIPELINES_NAMESPACE } from "../facts/pipelines";
import type { ServingRuntime } from "../facts/runtimes";
import type { PlacementCandidate, PlacementDecision } from "../capacity/autoPlacement";
import { AlertThresholds, ClusterConfig, StorageConfig } from "./schema";
import type { PlainEnvVar } from "./servingEnv";
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
    /** Why the workload runs on its pool: the pools weighed and why each was taken or rejected. */
    placement?: PlacementDecision;
}

export interface SecretEnvVar {
    name: string;
    secretName: string;
    key: string;
}

/** What the vLLM server is started with, derived from the entry and its pool. */
export interface VllmServer {
    tensorParallelSize: number;
    maxModelLen: number;
    gpuMemoryUtilization: number;
    precision: "float32" | "bfloat16" | "float16" | "int8" | "int4";
}

export interface ServingSpec extends WorkloadResources {
    name: string;
    namespace: string;
    gpus: number;
    replicas: { min: number; max: number };
    modelUri: string;
    modelLoadSeconds: number;
    autoscaling: { gpuUtilizationTarget: number; queueDepthTarget: number };
    runtime: ServingRuntime;
    args: string[];
    env: PlainEnvVar[];
    secretEnv: SecretEnvVar[];
    /** The memory-backed /dev/shm, counted in the server container's memory request and limit. */
    shmBytes: number;
    /** Set for runtime vllm. */
    vllm?: VllmServer;
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
    /** Hours a month it runs (expectedHours, or runsPerMonth x hoursPerRun); undefined: not declared, all month assumed. */
    expectedHoursPerMonth?: number;
    /** Hours one run lasts, when the entry declares runsPerMonth x hoursPerRun. */
    hoursPerRun?: number;
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

/** One step of a pipeline, placed on a pool. */
export interface PipelineStepSpec {
    name: string;
    image: string;
    command: string[];
    args: string[];
    /** Resolved pool name (never "auto"). */
    pool: string;
    /** 0 for a CPU step. */
    gpus: number;
    cpu: string;
    memory: string;
    cpuLimit: string;
    memoryLimit: string;
    dependencies: string[];
    expectedMinutes: number;
    /** Metrics the step writes to facts/pipelines metricPath(<metric>) and Argo publishes as output parameters. */
    publishes: string[];
    /** Run only when an earlier step's metric is at least `min`. */
    gate?: { step: string; metric: string; min: number };
    /** Why the step is on its pool, when the config said "auto". */
    placedBy?: string;
}

export interface PipelineSpec {
    name: string;
    namespace: string;
    /** Cron schedule: the pipeline also gets a CronWorkflow. */
    schedule?: string;
    concurrencyPolicy: "Forbid" | "Allow" | "Replace";
    activeDeadlineSeconds: number;
    steps: PipelineStepSpec[];
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
    /** Thresholds of the platform's alerts (ml-platform:alerts). */
    alerts: AlertThresholds;
    /** Who provisions GPU nodes (the system pool is a managed node group either way); default cluster-autoscaler. */
    nodeProvisioner?: "cluster-autoscaler" | "karpenter";
    /** Argo pipelines (`ml-platform:pipelines`); absent is none. */
    pipelines?: PipelineSpec[];
    /** True when the tracking URI was given (as a secret); workloads then reference it. */
    hasTrackingUri: boolean;
    /** App teams' shares of the GPU pools for Kueue (`ml-platform:queues`); absent: the platform's queue has all. */
    queues?: QueueShares;
    /** Share of usable GPU memory `pool: auto` leaves free (ml-platform:placement.gpuMemoryHeadroom). */
    gpuMemoryHeadroom: number;
}

export { NAMESPACES };
export type { PlacementCandidate, PlacementDecision };

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

/**
 * Pipelines pass artifacts through a checkpoints claim of their own namespace (a claim is namespaced;
 * on EFS it is its own access point, a separate directory from ml-training's checkpoints).
 */
export const PIPELINE_CHECKPOINTS = { ...CLAIMS.checkpoints, namespace: PIPELINES_NAMESPACE } as const;

export function storageClaims(spec: StackSpec) {
    return [
        { ...CLAIMS.trainingData, size: spec.storage.trainingDataSize },
        { ...CLAIMS.checkpoints, size: spec.storage.checkpointsSize },
        { ...CLAIMS.modelCache, size: spec.storage.modelCacheSize },
        ...((spec.pipelines ?? []).length > 0 ? [{ ...PIPELINE_CHECKPOINTS, size: spec.storage.checkpointsSize }] : []),
    ];
}
