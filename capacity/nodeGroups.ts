/**
 * Node pools as either world registers them: the offline plan sees the inputs of the remote component
 * eks:index:ManagedNodeGroup; a real preview also sees its child aws:eks/nodeGroup:NodeGroup. Both use
 * the same field names (instanceTypes, amiType, labels, taints with EKS effects such as NO_SCHEDULE).
 */
import { INSTANCE_CATALOG } from "./catalog";
import { KARPENTER_NODEPOOL_TYPE, LABEL_INSTANCE_TYPE } from "./karpenter";
import { GPU_RESOURCE, LABEL_NODE_POOL } from "./pools";
import { parseCpu } from "./quantity";
import type { Props } from "./podTemplates";
import type { NodeTaint } from "./predicates";

export const MANAGED_NODE_GROUP = "eks:index:ManagedNodeGroup";
export const AWS_NODE_GROUP = "aws:eks/nodeGroup:NodeGroup";
export const NODE_GROUP_TYPES: readonly string[] = [MANAGED_NODE_GROUP, AWS_NODE_GROUP];

export interface NodePoolView {
    type: string;
    resourceName: string;
    instanceTypes: string[];
    /** The node-pool label, else the resource's name. */
    readonly pool: string;
    readonly amiType: string | undefined;
    readonly labels: Record<string, string>;
    readonly taints: NodeTaint[];
    /** Nodes the pool keeps at least / may grow to (a Karpenter NodePool: none / what its limits allow). */
    readonly minSize: number;
    readonly maxSize: number;
}

const EKS_EFFECTS: Record<string, string> = { NO_SCHEDULE: "NoSchedule", NO_EXECUTE: "NoExecute", PREFER_NO_SCHEDULE: "PreferNoSchedule" };

/** EKS spells effects NO_SCHEDULE; Kubernetes NoSchedule. */
export function kubernetesEffect(effect: string): string {
    return EKS_EFFECTS[effect] ?? effect;
}

export function eksEffect(effect: string): string {
    return Object.entries(EKS_EFFECTS).find(([, k8s]) => k8s === effect)?.[0] ?? effect;
}

/**
 * The node pool a resource defines, or undefined. In a real preview's stack validation the
 * ManagedNodeGroup component shows its outputs (no instanceTypes), so only its NodeGroup child counts.
 */
export function nodePoolOf(type: string, props: Props, resourceName: string): NodePoolView | undefined {
    if (type === KARPENTER_NODEPOOL_TYPE) {
        return karpenterPoolOf(type, props, resourceName);
    }
    if (!NODE_GROUP_TYPES.includes(type) || !props || !Array.isArray(props.instanceTypes)) {
        return undefined;
    }
    // Lazy fields: in a preview, reading a value that is still unknown aborts the rule that reads it,
    // so a rule must not trip over fields it never looks at.
    return {
        type,
        resourceName,
        instanceTypes: [...props.instanceTypes].map(String),
        get pool() {
            return this.labels[LABEL_NODE_POOL] ?? resourceName;
        },
        get amiType() {
            return props.amiType === undefined ? undefined : String(props.amiType);
        },
        get labels(): Record<string, string> {
            return { ...(props.labels ?? {}) };
        },
        get taints(): NodeTaint[] {
            return (props.taints ?? []).map((t: NodeTaint) => ({ key: t.key, value: t.value ?? "", effect: kubernetesEffect(t.effect) }));
        },
        get minSize() {
            return Number(props.scalingConfig?.minSize ?? 0);
        },
        get maxSize() {
            return Number(props.scalingConfig?.maxSize ?? 0);
        },
    };
}

/**
 * A Karpenter NodePool (karpenter.sh/v1) as a pool: its template's labels and taints, the instance types
 * its requirements allow, no minimum (Karpenter keeps a node only while pods need it) and as many nodes
 * as its limits allow (capacity/karpenter.ts nodePoolLimits: maxSize times each node's resources).
 */
function karpenterPoolOf(type: string, props: Props, resourceName: string): NodePoolView | undefined {
    const template = props?.spec?.template;
    const requirement = (template?.spec?.requirements ?? []).find((r: Props) => r.key === LABEL_INSTANCE_TYPE && r.operator === "In");
    if (!requirement) {
        return undefined;
    }
    const instanceTypes: string[] = [...(requirement.values ?? [])].map(String);
    return {
        type,
        resourceName,
        instanceTypes,
        get pool() {
            return this.labels[LABEL_NODE_POOL] ?? props.metadata?.name ?? resourceName;
        },
        amiType: undefined,
        get labels(): Record<string, string> {
            return { ...(template.metadata?.labels ?? {}) };
        },
        get taints(): NodeTaint[] {
            return (template.spec?.taints ?? []).map((t: NodeTaint) => ({ key: t.key, value: t.value ?? "", effect: t.effect }));
        },
        minSize: 0,
        get maxSize() {
            const it = INSTANCE_CATALOG.get(instanceTypes[0] ?? "");
            const limits: Props = props.spec?.limits ?? {};
            if (!it) {
                return 0;
            }
            const bounds = [it.gpu && limits[GPU_RESOURCE] !== undefined ? Math.floor(Number(limits[GPU_RESOURCE]) / it.gpu.count) : Infinity, limits.cpu !== undefined ? Math.floor(parseCpu(String(limits.cpu)) / (it.vcpu * 1000)) : Infinity];
            const max = Math.min(...bounds);
            return Number.isFinite(max) ? max : 0;
        },
    };
}
