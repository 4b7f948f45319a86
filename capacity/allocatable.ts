/**
 * What a node can give pods: instance capacity minus what the EKS AL2023 AMI reserves for the kubelet,
 * the eviction threshold, and the requests of every DaemonSet that lands on the node. The numbers follow
 * shared/reference/eks-nodes-storage-access.md ("Node allocatable on AL2023", "DaemonSet default requests").
 */
import { InstanceType } from "./catalog";
import { nodeEfaDevices } from "./efa";
import { EFA_RESOURCE, GPU_RESOURCE } from "./pools";
import { NodeTaint, PodToleration, RequiredNodeAffinity, nodeAffinity, taintToleration } from "./predicates";
import { MiB } from "./quantity";
import { devicesOfNode, runtimeLabels } from "./sharing";
import { NO_RESOURCES, NodeResources, PodResources, subtractPod } from "./resources";

export interface DaemonSetLoad {
    name: string;
    requests: PodResources;
    /** pools.Toleration fits here; the wider type also allows `operator: "Exists"` with no key. */
    tolerations: PodToleration[];
    nodeSelector: Record<string, string>;
    affinity?: RequiredNodeAffinity;
}

export interface NodeAllocatable extends NodeResources {
    /** Pod slots left for workloads after the DaemonSets that land here. */
    pods: number;
    /** Names of the DaemonSets that land on this node. */
    daemonSets: string[];
}

/** A node as the kubelet reports it: capacity, and allocatable before any pod (DaemonSets included) runs. */
export interface KubeletNode {
    capacity: NodeResources;
    allocatable: NodeResources;
}

export interface KubeReserved {
    cpuMillis: number;
    memoryBytes: number;
}

/** Managed node groups cap the kubelet's max-pods at 110 below 30 vCPU and 250 from 30 vCPU up. */
const MAX_PODS_CAP_SMALL = 110;
const MAX_PODS_CAP_LARGE = 250;
const MAX_PODS_CAP_VCPU_THRESHOLD = 30;

/** eviction-hard memory.available on AL2023 nodeadm. */
export const EVICTION_HARD_MEMORY_BYTES = 100 * MiB;

/**
 * The kubelet's max-pods on a managed node group: min(ENI max pods, 110) below 30 vCPU,
 * min(ENI max pods, 250) otherwise. Source: amazon-eks-ami nodeadm / EKS managed node group behaviour.
 */
export function kubeletMaxPods(instance: InstanceType): number {
    const cap = instance.vcpu < MAX_PODS_CAP_VCPU_THRESHOLD ? MAX_PODS_CAP_SMALL : MAX_PODS_CAP_LARGE;
    return Math.min(instance.maxPodsEni, cap);
}

/**
 * kube-reserved as AL2023 nodeadm computes it (awslabs/amazon-eks-ami, nodeadm kubelet config):
 * - CPU: 6% of the first core, 1% of the second, 0.5% each of cores 3-4, 0.25% of each core above 4
 *   (for N >= 4 vCPU: 80 + 2.5 x (N - 4) millicores).
 * - memory: 11 MiB x maxPods + 255 MiB, where maxPods is the uncapped ENI value — the managed node group
 *   cap lowers the kubelet's max-pods but not this reservation.
 * No system-reserved on AL2023. Worked: g5.xlarge 80m / 893Mi, g5.12xlarge 190m / 8362Mi,
 * p4d.24xlarge 310m / 8362Mi.
 */
export function kubeReserved(instance: InstanceType): KubeReserved {
    const cores = instance.vcpu;
    // Millicores reserved per core, by the core's position (1-based).
    const tiers: { upTo: number; millisPerCore: number }[] = [
        { upTo: 1, millisPerCore: 60 },
        { upTo: 2, millisPerCore: 10 },
        { upTo: 4, millisPerCore: 5 },
        { upTo: Infinity, millisPerCore: 2.5 },
    ];
    let cpuMillis = 0;
    let counted = 0;
    for (const tier of tiers) {
        const inTier = Math.max(0, Math.min(cores, tier.upTo) - counted);
        cpuMillis += inTier * tier.millisPerCore;
        counted += inTier;
    }
    return {
        cpuMillis,
        memoryBytes: (11 * instance.maxPodsEni + 255) * MiB,
    };
}

/** Whether the DaemonSet controller would run a pod of `ds` on a node with these taints and labels. */
export function daemonSetLands(ds: DaemonSetLoad, taints: NodeTaint[], labels: Record<string, string>): boolean {
    return taintToleration(ds.tolerations, taints).fits && nodeAffinity(ds, { labels }).fits;
}

/**
 * The node's capacity (vCPUs, OS-visible memory, the kubelet's max pods, GPUs) and its kubelet allocatable:
 * capacity less kube-reserved and the eviction threshold. GPUs are never reserved; a sharing pool's node
 * advertises its replicas or slices (capacity/sharing.ts devicesOfNode). EFA devices count on
 * nodes whose labels say the EFA device plugin runs there (capacity/efa.ts nodeEfaDevices).
 */
export function kubeletNode(instance: InstanceType, labels: Record<string, string> = {}): KubeletNode {
    const reserved = kubeReserved(instance);
    // What the device plugin advertises: GPUs, or time-slice replicas or MIG slices when the labels ask for them.
    const devices = devicesOfNode(instance, labels);
    const extended: Record<string, number> = devices ? { [GPU_RESOURCE]: devices.perNode } : {};
    const efa = nodeEfaDevices(instance, labels);
    if (efa > 0) {
        extended[EFA_RESOURCE] = efa;
    }
    const capacity: NodeResources = {
        cpuMillis: instance.vcpu * 1000,
        memoryBytes: osVisibleMemoryBytes(instance),
        extended,
        pods: kubeletMaxPods(instance),
    };
    return {
        capacity,
        allocatable: {
            cpuMillis: capacity.cpuMillis - reserved.cpuMillis,
            memoryBytes: capacity.memoryBytes - reserved.memoryBytes - EVICTION_HARD_MEMORY_BYTES,
            extended: { ...extended },
            pods: capacity.pods,
        },
    };
}

/**
 * Allocatable for workload pods = the kubelet's allocatable (kubeletNode) - requests of the DaemonSets
 * that land here; pod slots = kubelet max-pods - landing DaemonSets.
 * Memory starts from what the OS sees: the catalog's nominal GiB less 7.5% that firmware and the
 * hypervisor keep (Karpenter's vmMemoryOverheadPercent default). With it our figures equal Karpenter's
 * published allocatable exactly (g5.xlarge 3920m / 14162Mi, g5.12xlarge 47810m / 173400Mi,
 * p4d.24xlarge 95690m / 1082712Mi); without it a pod could pass here and stay Pending on a real node.
 */
export function nodeAllocatable(
    instance: InstanceType,
    taints: NodeTaint[],
    labels: Record<string, string>,
    daemonSets: DaemonSetLoad[],
): NodeAllocatable {
    // DaemonSets land on the node as it runs: a MIG node once partitioned (capacity/sharing runtimeLabels).
    const running = runtimeLabels(labels);
    const landing = daemonSets.filter((ds) => daemonSetLands(ds, taints, running));
    const free = landing.reduce((node, ds) => subtractPod(node, ds.requests), kubeletNode(instance, labels).allocatable);
    return { ...free, daemonSets: landing.map((ds) => ds.name) };
}

/** Share of nominal instance memory the OS never sees (Karpenter's vmMemoryOverheadPercent default). */
export const VM_MEMORY_OVERHEAD = 0.075;

export function osVisibleMemoryBytes(instance: InstanceType): number {
    return Math.floor(instance.memoryGiB * 1024 * (1 - VM_MEMORY_OVERHEAD)) * MiB;
}

/** EKS add-ons tolerate every taint (operator Exists with no key) and select no labels, so they land everywhere. */
const TOLERATE_EVERYTHING: PodToleration[] = [{ operator: "Exists" }];

function systemDaemonSet(name: string, cpuMillis: number): DaemonSetLoad {
    return { name, requests: { ...NO_RESOURCES, cpuMillis }, tolerations: TOLERATE_EVERYTHING, nodeSelector: {} };
}

/** Default requests of the DaemonSets EKS runs on every node (reference: "DaemonSet default requests"). */
export const EKS_SYSTEM_DAEMONSETS: DaemonSetLoad[] = [
    systemDaemonSet("aws-node", 50),
    systemDaemonSet("kube-proxy", 100),
    systemDaemonSet("eks-pod-identity-agent", 0),
    systemDaemonSet("efs-csi-node", 0),
];
