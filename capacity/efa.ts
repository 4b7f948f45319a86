/**
 * EFA (Elastic Fabric Adapter) for multi-node training, decided once: which pools have it, the network
 * interfaces their launch template attaches, what their nodes advertise, and what a distributed training
 * pod on such a pool requests and sets. Pure: components, the planner, the policies and the conformance
 * run all call these. Without EFA, NCCL between p4d nodes falls back to TCP sockets on the primary ENI.
 */
import { VERSIONS } from "../facts/versions";
import type { DaemonSetLoad } from "./allocatable";
import { EfaFacts, InstanceType, INSTANCE_CATALOG, instanceType, KNOWN_INSTANCE_TYPES } from "./catalog";
import type { Props } from "./podTemplates";
import { EFA_RESOURCE, gpuDaemonSetTolerations, LABEL_EFA_PRESENT, NodePoolShape, Taint } from "./pools";
import { podRequests } from "./resources";

export { EFA_RESOURCE, LABEL_EFA_PRESENT } from "./pools";

/** Instance types of the catalog that can carry EFA interfaces, for messages. */
export const EFA_INSTANCE_TYPES: readonly string[] = KNOWN_INSTANCE_TYPES.filter((t) => INSTANCE_CATALOG.get(t)?.efa);

/** The pool's EFA facts when the pool enables EFA (and its type has any), else undefined. */
export function poolEfa(pool: NodePoolShape): EfaFacts | undefined {
    return pool.efa ? instanceType(pool.instanceType).efa : undefined;
}

export function isEfaPool(pool: NodePoolShape): boolean {
    return poolEfa(pool) !== undefined;
}

/**
 * EFA devices a node advertises: the EFA device plugin runs only on nodes labelled
 * vpc.amazonaws.com/efa.present=true (capacity/pools poolLabels), and there advertises one device per
 * EFA interface the launch template attached (the catalog's count). Elsewhere: none.
 */
export function nodeEfaDevices(instance: InstanceType, labels: Record<string, string>): number {
    return labels[LABEL_EFA_PRESENT] === "true" ? (instance.efa?.interfaces ?? 0) : 0;
}

/** A launch template network interface, in the field names of aws.ec2.LaunchTemplate. */
export interface EfaNetworkInterface {
    networkCardIndex: number;
    deviceIndex: number;
    interfaceType: "efa";
    deleteOnTermination: "true";
    associatePublicIpAddress: "false";
}

/**
 * One EFA interface per network card. Card 0's is the primary interface (device index 0); every other
 * card's sits at device index 1, the layout AWS documents for p4d/p5 and terraform-aws-eks builds for
 * `enable_efa_support`. No public IP: nodes live in private subnets.
 */
export function efaNetworkInterfaces(efa: EfaFacts): EfaNetworkInterface[] {
    return Array.from({ length: efa.interfaces }, (_, card) => ({
        networkCardIndex: card,
        deviceIndex: card === 0 ? 0 : 1,
        interfaceType: "efa",
        deleteOnTermination: "true",
        associatePublicIpAddress: "false",
    }));
}

/**
 * What a distributed training container on an EFA pool requests (and limits to: extended resources
 * cannot be overcommitted): every EFA device of its node, so NCCL gets all of the node's bandwidth.
 */
export function efaContainerResources(efa: EfaFacts): Record<string, string> {
    return { [EFA_RESOURCE]: String(efa.interfaces) };
}

/**
 * The libfabric/NCCL environment that makes NCCL use EFA through the aws-ofi-nccl plugin:
 * - FI_PROVIDER=efa: libfabric uses the EFA provider, never falls back to TCP silently;
 * - FI_EFA_USE_DEVICE_RDMA=1 on types with GPUDirect RDMA (p4d/p4de/p5): NCCL reads and writes GPU
 *   memory across nodes without a copy through the CPU;
 * - FI_EFA_FORK_SAFE=1: PyTorch DataLoader workers fork after EFA memory is registered;
 * - NCCL_SOCKET_IFNAME=^lo,docker: NCCL's bootstrap (not the data path) uses a real interface.
 * The image must ship libfabric and aws-ofi-nccl (AWS Deep Learning Containers do); the EKS AL2023
 * NVIDIA AMI brings the EFA kernel driver.
 */
export function efaTrainingEnv(efa: EfaFacts): { name: string; value: string }[] {
    return [
        { name: "FI_PROVIDER", value: "efa" },
        ...(efa.gpuDirectRdma ? [{ name: "FI_EFA_USE_DEVICE_RDMA", value: "1" }] : []),
        { name: "FI_EFA_FORK_SAFE", value: "1" },
        { name: "NCCL_SOCKET_IFNAME", value: "^lo,docker" },
    ];
}

/** The Helm release type the EFA device plugin is installed with (components/efa.ts). */
export const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";

/** The chart's own default requests, restated so the planner and the conformance run count them. */
const EFA_DEVICE_PLUGIN_RESOURCES = { requests: { cpu: "10m", memory: "20Mi" } };

/** The chart adds this toleration to whatever the values list. */
const CHART_TOLERATION = { key: "CriticalAddonsOnly", operator: "Exists" as const };

/**
 * Values for the aws-efa-k8s-device-plugin chart: tolerate exactly the EFA pools' taints and select the
 * EFA label poolLabels sets, so the plugin runs on every EFA node and nowhere else.
 */
export function efaDevicePluginValues(efaPools: NodePoolShape[], gpuTaint: Taint) {
    return {
        tolerations: gpuDaemonSetTolerations(efaPools, gpuTaint),
        nodeSelector: { [LABEL_EFA_PRESENT]: "true" },
        resources: EFA_DEVICE_PLUGIN_RESOURCES,
    };
}

/** The DaemonSet the EFA chart renders, as the planner counts DaemonSets, from the release's values. */
export function efaDevicePluginLoad(type: string, props: Props): DaemonSetLoad | undefined {
    if (type !== HELM_RELEASE || props?.chart !== VERSIONS.efaDevicePlugin.chart) {
        return undefined;
    }
    const values: Props = props.values ?? {};
    return {
        name: VERSIONS.efaDevicePlugin.chart,
        requests: podRequests({ containers: [{ resources: values.resources ?? {} }] }),
        tolerations: [CHART_TOLERATION, ...(values.tolerations ?? [])],
        nodeSelector: { ...(values.nodeSelector ?? {}) },
    };
}
