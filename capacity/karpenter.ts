/**
 * Karpenter's view of a node pool, derived from the same pool definition as the managed node group:
 * a NodePool (karpenter.sh/v1: labels, taints, instance type, capacity type, zones, limits, disruption)
 * and an EC2NodeClass (karpenter.k8s.aws/v1: AMI alias, IMDSv2 hop 1, encrypted gp3 root volume). Pure;
 * components/karpenter.ts creates them, the planner and the conformance run read them back.
 * Sources: Karpenter v1.14 CRDs (pkg/apis/crds) and docs (concepts/nodepools, nodeclasses, disruption).
 */
import { instanceType } from "./catalog";
import { GPU_RESOURCE, NodePoolShape, poolLabels, poolTaints, Taint } from "./pools";

export const KARPENTER_NODEPOOL_API = { apiVersion: "karpenter.sh/v1", kind: "NodePool" } as const;
export const KARPENTER_NODECLASS_API = { apiVersion: "karpenter.k8s.aws/v1", kind: "EC2NodeClass" } as const;
/** How the recorded resources name a NodePool custom resource. */
export const KARPENTER_NODEPOOL_TYPE = "kubernetes:karpenter.sh/v1:NodePool";
export { DO_NOT_DISRUPT_ANNOTATION } from "../facts/training";
export const LABEL_INSTANCE_TYPE = "node.kubernetes.io/instance-type";
export const LABEL_CAPACITY_TYPE = "karpenter.sh/capacity-type";
export const LABEL_ZONE = "topology.kubernetes.io/zone";
/** Records the pool's minSize on its NodePool: Karpenter has no minimum, the planner still wants it. */
export const MIN_SIZE_ANNOTATION = "ml-platform/min-size";

export interface KarpenterPool extends NodePoolShape {
    minSize: number;
    maxSize: number;
    capacityType: string;
    diskSizeGiB: number;
    availabilityZones?: string[];
}

const CAPACITY_TYPES: Record<string, string> = { ON_DEMAND: "on-demand", SPOT: "spot" };

/** Karpenter's capacity-type label value for a pool's capacityType. */
export function karpenterCapacityType(capacityType: string): string {
    const value = CAPACITY_TYPES[capacityType];
    if (!value) {
        throw new Error(`capacity type ${capacityType} has no Karpenter NodePool equivalent here; allowed: ${Object.keys(CAPACITY_TYPES).join(", ")}`);
    }
    return value;
}

/**
 * Limits so Karpenter never provisions past the pool's maxSize: maxSize times each node's CPUs, memory
 * and GPUs (a NodePool's limits cap the sum over its nodes).
 */
export function nodePoolLimits(pool: KarpenterPool): Record<string, string> {
    const it = instanceType(pool.instanceType);
    return {
        cpu: String(pool.maxSize * it.vcpu),
        memory: `${pool.maxSize * it.memoryGiB}Gi`,
        ...(it.gpu ? { [GPU_RESOURCE]: String(pool.maxSize * it.gpu.count) } : {}),
    };
}

/** The NodePool spec: every label and taint from capacity/pools, the pool's one instance type. */
export function nodePoolSpec(pool: KarpenterPool, gpuTaint: Taint, nodeClassName: string, runsTraining: boolean) {
    const requirements = [
        { key: LABEL_INSTANCE_TYPE, operator: "In", values: [pool.instanceType] },
        { key: LABEL_CAPACITY_TYPE, operator: "In", values: [karpenterCapacityType(pool.capacityType)] },
        ...(pool.availabilityZones ? [{ key: LABEL_ZONE, operator: "In", values: [...pool.availabilityZones] }] : []),
    ];
    const taints = poolTaints(pool, gpuTaint);
    return {
        template: {
            metadata: { labels: poolLabels(pool) },
            spec: {
                nodeClassRef: { group: "karpenter.k8s.aws", kind: KARPENTER_NODECLASS_API.kind, name: nodeClassName },
                requirements,
                ...(taints.length > 0 ? { taints } : {}),
            },
        },
        limits: nodePoolLimits(pool),
        // A pool that runs training is only ever emptied, never consolidated under a running job
        // (training pods also carry karpenter.sh/do-not-disrupt); serving pools may be repacked.
        disruption: runsTraining ? { consolidationPolicy: "WhenEmpty", consolidateAfter: "10m" } : { consolidationPolicy: "WhenEmptyOrUnderutilized", consolidateAfter: "10m" },
    };
}

/** The EKS-optimized AL2023 AMI release pinned for EC2NodeClasses (Karpenter picks its NVIDIA variant for GPU types). */
export const AL2023_AMI_ALIAS = "al2023@v20260714";

/** The EC2NodeClass spec, from the pool: AMI alias, IMDSv2 with hop limit 1, encrypted gp3 root of diskSizeGiB. */
export function ec2NodeClassSpec<R, S, G>(pool: KarpenterPool, role: R, subnetSelectorTerms: S, securityGroupId: G, tags: Record<string, string>) {
    return {
        role,
        amiSelectorTerms: [{ alias: AL2023_AMI_ALIAS }],
        subnetSelectorTerms,
        securityGroupSelectorTerms: [{ id: securityGroupId }],
        metadataOptions: { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" },
        blockDeviceMappings: [{ deviceName: "/dev/xvda", rootVolume: true, ebs: { volumeSize: `${pool.diskSizeGiB}Gi`, volumeType: "gp3", encrypted: true, deleteOnTermination: true } }],
        tags,
    };
}
