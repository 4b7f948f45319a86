/** Node pools for the rules: the registered view (capacity/nodeGroups) plus GPU facts and how to name a pool. */
import { GpuFacts, INSTANCE_CATALOG } from "../../capacity/catalog";
import type { NodePoolView } from "../../capacity/nodeGroups";

export { AWS_NODE_GROUP, eksEffect, kubernetesEffect, MANAGED_NODE_GROUP, NODE_GROUP_TYPES, nodePoolOf } from "../../capacity/nodeGroups";
export type { NodePoolView } from "../../capacity/nodeGroups";
export const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";

/** Instance families that carry GPUs, for types the catalog does not know yet (it stays the source). */
const GPU_FAMILY = /^(p\d|g\d|gr\d)[a-z0-9-]*\./;

export function instanceGpu(instanceType: string): GpuFacts | undefined {
    return INSTANCE_CATALOG.get(instanceType)?.gpu;
}

export function isGpuInstanceType(instanceType: string): boolean {
    return instanceGpu(instanceType) !== undefined || (!INSTANCE_CATALOG.has(instanceType) && GPU_FAMILY.test(instanceType));
}

export function isGpuNodePool(pool: NodePoolView): boolean {
    return pool.instanceTypes.some(isGpuInstanceType);
}

export function describePool(pool: NodePoolView): string {
    return `node group "${pool.resourceName}" (pool ${pool.pool}, ${pool.instanceTypes.join("/") || "no instance type"})`;
}

/**
 * How many subnets (so, at most, zones) a node group spreads over, when its subnet list is known; in a
 * preview the list may still be unknown, and then nothing is judged (undefined). The one-zone rules
 * (Capacity Blocks, EFA) ask this the same way.
 */
export function subnetSpread(props: Record<string, unknown>): number | undefined {
    const subnets = props.subnetIds;
    return Array.isArray(subnets) ? subnets.length : undefined;
}
