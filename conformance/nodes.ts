/**
 * kwok Nodes for the node pools the program registered: labels and taints as the node group sets them,
 * the labels EKS and the kubelet add to every node, and capacity/allocatable from the instance catalog
 * and the planner's own kubelet reservations (capacity/allocatable.ts), never restated here.
 */
import { kubeletNode } from "../capacity/allocatable";
import { runtimeLabels } from "../capacity/sharing";
import { INSTANCE_CATALOG, InstanceType } from "../capacity/catalog";
import type { NodeResources } from "../capacity/resources";
import { kubernetesEffect, nodePoolOf } from "../policy/rules/nodepools";
import { KWOK_NODE_ANNOTATION } from "./controlPlane";
import type { KubeObject } from "./kube";

/** Marks every object the run creates itself, so a run against an existing cluster can clean up. */
export const CONFORMANCE_LABEL = "ml-platform.conformance/created-by";

export interface RecordedResource {
    type: string;
    name: string;
    urn: string;
    inputs: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface ConformancePool {
    name: string;
    instance: InstanceType;
    nodeGroupName: string;
    minSize: number;
    maxSize: number;
    labels: Record<string, string>;
    taints: { key: string; value?: string; effect: string }[];
    capacityType: string;
}

/** The node pools as registered (eks ManagedNodeGroup inputs), in registration order. */
export function poolsOf(resources: RecordedResource[]): ConformancePool[] {
    const pools: ConformancePool[] = [];
    for (const r of resources) {
        const view = nodePoolOf(r.type, r.inputs, r.name);
        if (!view) continue;
        const instance = INSTANCE_CATALOG.get(view.instanceTypes[0] ?? "");
        if (!instance) {
            throw new Error(`node pool ${view.pool}: instance type ${view.instanceTypes[0]} is not in capacity/catalog.ts, so its nodes cannot be modelled`);
        }
        pools.push({
            name: view.pool,
            instance,
            nodeGroupName: String(r.inputs.nodeGroupName ?? r.inputs.metadata?.name ?? r.name),
            minSize: view.minSize,
            maxSize: view.maxSize,
            labels: view.labels,
            taints: view.taints.map((t) => ({ key: t.key, ...(t.value ? { value: t.value } : {}), effect: kubernetesEffect(t.effect) })),
            capacityType: String(r.inputs.capacityType ?? "ON_DEMAND"),
        });
    }
    return pools;
}

const mi = (bytes: number) => `${Math.floor(bytes / (1024 * 1024))}Mi`;

function quantities(r: NodeResources, ephemeral: string): Record<string, string> {
    const out: Record<string, string> = { cpu: r.cpuMillis % 1000 === 0 ? String(r.cpuMillis / 1000) : `${r.cpuMillis}m`, memory: mi(r.memoryBytes), pods: String(r.pods), "ephemeral-storage": ephemeral };
    for (const [name, n] of Object.entries(r.extended)) if (n > 0) out[name] = String(n);
    return out;
}

/** What the kubelet reports (capacity/allocatable.ts kubeletNode): capacity, and allocatable before any pod. */
export function nodeResources(instance: InstanceType, labels: Record<string, string> = {}): { capacity: Record<string, string>; allocatable: Record<string, string> } {
    const node = kubeletNode(instance, labels);
    return { capacity: quantities(node.capacity, "100Gi"), allocatable: quantities(node.allocatable, "95Gi") };
}

/** `count` kwok Nodes of a pool, spread over the zones round-robin as a node group spreads them. */
export function kwokNodes(pool: ConformancePool, count: number, zones: string[], region: string, runId: string, kubeletVersion: string): KubeObject[] {
    const { capacity, allocatable } = nodeResources(pool.instance, pool.labels);
    const nodes: KubeObject[] = [];
    for (let i = 0; i < count; i++) {
        const name = `${pool.nodeGroupName}-${i}`;
        const zone = zones.length > 0 ? zones[i % zones.length] : undefined;
        nodes.push({
            apiVersion: "v1",
            kind: "Node",
            metadata: {
                name,
                annotations: { [KWOK_NODE_ANNOTATION.key]: KWOK_NODE_ANNOTATION.value, "node.alpha.kubernetes.io/ttl": "0" },
                labels: {
                    // What EKS and the kubelet put on every node of a managed node group.
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node.kubernetes.io/instance-type": pool.instance.name,
                    "eks.amazonaws.com/nodegroup": pool.nodeGroupName,
                    "eks.amazonaws.com/capacityType": pool.capacityType,
                    "topology.kubernetes.io/region": region,
                    ...(zone ? { "topology.kubernetes.io/zone": zone } : {}),
                    type: "kwok",
                    [CONFORMANCE_LABEL]: runId,
                    // The node group's own labels last: they are the ones under test. On a MIG pool the MIG
                    // manager's success label too: the run stands in for the MIG manager (capacity/sharing runtimeLabels).
                    ...runtimeLabels(pool.labels),
                },
            },
            spec: pool.taints.length > 0 ? { taints: pool.taints } : {},
            status: {
                capacity,
                allocatable,
                nodeInfo: { architecture: "amd64", operatingSystem: "linux", kubeletVersion, containerRuntimeVersion: "kwok", kernelVersion: "", kubeProxyVersion: "", osImage: "Amazon Linux 2023 (kwok)", machineID: "", systemUUID: "", bootID: "" },
                phase: "Running",
            },
        });
    }
    return nodes;
}
