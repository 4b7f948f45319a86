/**
 * The pod pieces serving and training share, so both get the same answer: placement on a pool, GPU
 * resources, the restricted security context and the tracking URI. Pure: plain objects, no Pulumi.
 */
import { GPU_RESOURCE, poolNodeSelector, poolTolerations, NodePoolShape, Taint, Toleration } from "../capacity/pools";
import { TRACKING_URI_KEY } from "./tracking";
import { TRACKING_URI_ENV } from "../stacks/servingEnv";

/** The uid/gid workload containers run as; the EFS access points own files as the storage uid/gid. */
export const WORKLOAD_UID = 1000;
export const WORKLOAD_GID = 1000;

export interface ContainerSizing {
    cpu: string;
    memory: string;
    cpuLimit: string;
    memoryLimit: string;
}

export interface ContainerResources {
    requests: Record<string, string>;
    limits: Record<string, string>;
}

/** CPU and memory from the spec; GPUs (when any) with requests equal to limits. */
export function containerResources(sizing: ContainerSizing, gpus: number): ContainerResources {
    const requests: Record<string, string> = { cpu: sizing.cpu, memory: sizing.memory };
    const limits: Record<string, string> = { cpu: sizing.cpuLimit, memory: sizing.memoryLimit };
    if (gpus > 0) {
        requests[GPU_RESOURCE] = String(gpus);
        limits[GPU_RESOURCE] = String(gpus);
    }
    return { requests, limits };
}

/** Tolerations and nodeSelector for a pod pinned to a pool, from capacity/pools only. */
export function poolPlacement(pool: NodePoolShape, gpuTaint: Taint): { tolerations: Toleration[]; nodeSelector: Record<string, string> } {
    return { tolerations: poolTolerations(pool, gpuTaint), nodeSelector: poolNodeSelector(pool) };
}

/** Pod-level part of the restricted Pod Security Standard the workload namespaces enforce. */
export function podSecurityContext() {
    return {
        runAsNonRoot: true,
        runAsUser: WORKLOAD_UID,
        runAsGroup: WORKLOAD_GID,
        seccompProfile: { type: "RuntimeDefault" },
    };
}

/** Container-level part; the root filesystem is read-only, so writable paths are emptyDirs. */
export function containerSecurityContext() {
    return {
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
    };
}

export const TMP_VOLUME = { name: "tmp", emptyDir: {} };
export const TMP_MOUNT = { name: "tmp", mountPath: "/tmp" };

export function trackingUriEnv(secretName: string) {
    return { name: TRACKING_URI_ENV, valueFrom: { secretKeyRef: { name: secretName, key: TRACKING_URI_KEY } } };
}

/** A volume mounted from a shared claim; the claim is RWX, read-only mounts say so here (pitfall 10). */
export interface ClaimMount {
    name: string;
    mountPath: string;
    mountReadOnly: boolean;
}

export function claimVolume(claim: ClaimMount) {
    return { name: claim.name, persistentVolumeClaim: { claimName: claim.name, readOnly: claim.mountReadOnly } };
}

export function claimMount(claim: ClaimMount) {
    return { name: claim.name, mountPath: claim.mountPath, readOnly: claim.mountReadOnly };
}
