/**
 * The pools and pods of a stack as the scheduler will see them, from the config alone (before any
 * resource exists), so `pool: auto` can pack a workload beside the others: node allocatable after
 * kube-reserved and the DaemonSets that land there, and each workload's pod groups at maximum scale.
 * The figures are the ones the components render (facts/nvidia.ts, facts/serving.ts, the entry's
 * sizing plus /dev/shm), so the plan's later verdict on the rendered objects agrees.
 */
import { DaemonSetLoad, EKS_SYSTEM_DAEMONSETS, nodeAllocatable } from "../capacity/allocatable";
import { instanceType } from "../capacity/catalog";
import { efaContainerResources, efaDevicePluginLoad, efaDevicePluginValues, HELM_RELEASE, isEfaPool, poolEfa } from "../capacity/efa";
import { VERSIONS } from "../facts/versions";
import { GPU_RESOURCE, poolLabels, poolNodeSelector, poolTaints, poolTolerations, Taint } from "../capacity/pools";
import { nvidiaDaemonSetLoads } from "../capacity/nvidiaDaemonSets";
import { podRequests } from "../capacity/resources";
import { addMemory } from "../capacity/runtimes";
import { PodGroup, PoolCapacity } from "../capacity/scheduling";
import { MODEL_DOWNLOADER_RESOURCES } from "../facts/serving";
import { NodePoolSpec } from "./spec";

export interface ContainerSizing {
    cpu: string;
    memory: string;
    cpuLimit: string;
    memoryLimit: string;
}

/**
 * A model server's CPU and memory: the entry's, with the memory-backed /dev/shm added to the memory
 * request and limit (tmpfs pages are charged to the pod's memory cgroup; kube-scheduler counts only
 * requests, so the bytes must be in them for the scheduler, the planner and the kubelet to agree).
 */
export function servingContainerSizing(s: ContainerSizing & { shmBytes: number }): ContainerSizing {
    return { cpu: s.cpu, cpuLimit: s.cpuLimit, memory: addMemory(s.memory, s.shmBytes), memoryLimit: addMemory(s.memoryLimit, s.shmBytes) };
}

/** The EFA device plugin the platform installs when a pool has EFA (components/platform.ts), as the planner counts it. */
function efaDaemonSets(pools: NodePoolSpec[], gpuTaint: Taint): DaemonSetLoad[] {
    const efaPools = pools.filter(isEfaPool);
    const load = efaPools.length > 0 ? efaDevicePluginLoad(HELM_RELEASE, { chart: VERSIONS.efaDevicePlugin.chart, values: efaDevicePluginValues(efaPools, gpuTaint) }) : undefined;
    return load ? [load] : [];
}

/** Every pool as the packer takes it: taints, labels, sizes and per-node allocatable. */
export function poolCapacities(pools: NodePoolSpec[], gpuTaint: Taint): PoolCapacity[] {
    const daemonSets = [...EKS_SYSTEM_DAEMONSETS, ...nvidiaDaemonSetLoads(pools, gpuTaint), ...efaDaemonSets(pools, gpuTaint)];
    return pools.map((p) => {
        const taints = poolTaints(p, gpuTaint);
        const labels = poolLabels(p);
        return { name: p.name, instanceType: p.instanceType, minSize: p.minSize, maxSize: p.maxSize, taints, labels, allocatable: nodeAllocatable(instanceType(p.instanceType), taints, labels, daemonSets) };
    });
}

function resources(sizing: ContainerSizing, gpus: number): { requests: Record<string, string>; limits: Record<string, string> } {
    return {
        requests: { cpu: sizing.cpu, memory: sizing.memory, [GPU_RESOURCE]: String(gpus) },
        limits: { cpu: sizing.cpuLimit, memory: sizing.memoryLimit, [GPU_RESOURCE]: String(gpus) },
    };
}

/** A serving entry's pods at maximum scale (HPA max) on `pool`. */
export function servingPodGroups(name: string, sizing: ContainerSizing & { shmBytes: number }, gpus: number, maxReplicas: number, pool: NodePoolSpec, gpuTaint: Taint): PodGroup[] {
    const requests = podRequests({ containers: [{ resources: resources(servingContainerSizing(sizing), gpus) }], initContainers: [{ resources: MODEL_DOWNLOADER_RESOURCES }] });
    return [{ workload: name, role: "replica", requests, count: maxReplicas, tolerations: poolTolerations(pool, gpuTaint), nodeSelector: poolNodeSelector(pool), gang: false }];
}

/** A training entry's pods (all at once): one Job pod, or a PyTorchJob's master and workers as a gang. */
export function trainingPodGroups(name: string, kind: "Job" | "PyTorchJob", sizing: ContainerSizing, gpus: number, workers: number, pool: NodePoolSpec, gpuTaint: Taint): PodGroup[] {
    const res = resources(sizing, gpus);
    // A PyTorchJob on an EFA pool takes every EFA device of its node (components/training.ts).
    const efa = kind === "PyTorchJob" ? poolEfa(pool) : undefined;
    if (efa) {
        Object.assign(res.requests, efaContainerResources(efa));
        Object.assign(res.limits, efaContainerResources(efa));
    }
    const requests = podRequests({ containers: [{ resources: res }] });
    const common = { workload: name, requests, tolerations: poolTolerations(pool, gpuTaint), nodeSelector: poolNodeSelector(pool) };
    if (kind === "Job") {
        return [{ ...common, role: "pod", count: 1, gang: false }];
    }
    return [
        { ...common, role: "master", count: 1, gang: true },
        { ...common, role: "worker", count: workers, gang: true },
    ];
}
