/**
 * Where GPU taints and node labels are decided: the one place that turns a node pool (instance type +
 * the platform's GPU taint) into its Kubernetes labels, taints, and the tolerations and nodeSelector of
 * everything that must run on it. Components, policies, the plan and the app-team contract call these.
 */
import { GpuFacts, instanceType } from "./catalog";
import { GpuSharing, sharingLabels } from "./sharing";

export type TaintEffect = "NoSchedule" | "PreferNoSchedule" | "NoExecute";

export interface Taint {
    key: string;
    value: string;
    effect: TaintEffect;
}

export interface Toleration {
    key: string;
    operator: "Equal";
    value: string;
    effect: TaintEffect;
}

/** What a node pool is, before any cloud resource exists. */
export interface NodePoolShape {
    name: string;
    instanceType: string;
    /** EFA interfaces on every node (capacity/efa.ts); only for instance types the catalog says carry EFA. */
    efa?: boolean;
    /** Time-slicing or MIG on a GPU pool (capacity/sharing.ts); absent: every GPU whole. */
    sharing?: GpuSharing;
}

/** The taint GPU pools carry unless a stack sets `ml-platform:gpuTaint`; also the policy pack's default. */
export const DEFAULT_GPU_TAINT = { key: "dedicated", value: "ml-workloads", effect: "NoSchedule" } as const satisfies Taint;

export const LABEL_NODE_POOL = "node-pool";
export const LABEL_ACCELERATOR = "accelerator";
export const LABEL_GPU_COUNT = "gpu-count";
export const LABEL_GPU_PRESENT = "nvidia.com/gpu.present";
/** Cluster Autoscaler's AWS provider recognises GPU nodes by this label (pitfall 12). */
export const LABEL_CA_ACCELERATOR = "k8s.amazonaws.com/accelerator";
export const GPU_RESOURCE = "nvidia.com/gpu";
/** The EFA device plugin's extended resource: one per EFA interface of the node. */
export const EFA_RESOURCE = "vpc.amazonaws.com/efa";
/** EFA-enabled pools carry it; the EFA device plugin selects it (the label EKS blueprints use). */
export const LABEL_EFA_PRESENT = "vpc.amazonaws.com/efa.present";

export function poolGpu(pool: NodePoolShape): GpuFacts | undefined {
    return instanceType(pool.instanceType).gpu;
}

export function isGpuPool(pool: NodePoolShape): boolean {
    return poolGpu(pool) !== undefined;
}

/** Node labels; for GPU pools gpu-count comes from the catalog, never from config. */
export function poolLabels(pool: NodePoolShape): Record<string, string> {
    const gpu = poolGpu(pool);
    const labels: Record<string, string> = { [LABEL_NODE_POOL]: pool.name };
    if (gpu) {
        labels[LABEL_ACCELERATOR] = gpu.acceleratorLabel;
        labels[LABEL_GPU_COUNT] = String(gpu.count);
        labels[LABEL_GPU_PRESENT] = "true";
        labels[LABEL_CA_ACCELERATOR] = gpu.acceleratorLabel;
        Object.assign(labels, sharingLabels(pool.sharing));
    }
    if (pool.efa && instanceType(pool.instanceType).efa) {
        labels[LABEL_EFA_PRESENT] = "true";
    }
    return labels;
}

/** GPU pools carry the platform's GPU taint; CPU pools are untainted. */
export function poolTaints(pool: NodePoolShape, gpuTaint: Taint): Taint[] {
    return isGpuPool(pool) ? [{ ...gpuTaint }] : [];
}

export function tolerationFor(taint: Taint): Toleration {
    return { key: taint.key, operator: "Equal", value: taint.value, effect: taint.effect };
}

export function poolTolerations(pool: NodePoolShape, gpuTaint: Taint): Toleration[] {
    return poolTaints(pool, gpuTaint).map(tolerationFor);
}

/** A workload pinned to a pool selects it by name; the pool's other labels follow from it. */
export function poolNodeSelector(pool: NodePoolShape): Record<string, string> {
    return { [LABEL_NODE_POOL]: pool.name };
}

/** Tolerations for a DaemonSet that must reach every GPU pool (device plugin, DCGM exporter). */
export function gpuDaemonSetTolerations(pools: NodePoolShape[], gpuTaint: Taint): Toleration[] {
    const seen = new Map<string, Toleration>();
    for (const pool of pools) {
        for (const t of poolTolerations(pool, gpuTaint)) {
            seen.set(`${t.key}=${t.value}:${t.effect}`, t);
        }
    }
    return [...seen.values()];
}

/** Selects GPU nodes only: every GPU pool sets this label, no CPU pool does. */
export function gpuNodeSelector(): Record<string, string> {
    return { [LABEL_GPU_PRESENT]: "true" };
}
