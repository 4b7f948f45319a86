/**
 * GPU scheduling: the rules that keep GPU nodes for GPU pods and GPU pods schedulable, with every
 * fact (labels, GPU counts, instance types) taken from capacity/ rather than retyped here.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { KARPENTER_NODEPOOL_TYPE } from "../../capacity/karpenter";
import { carriesTaint, DEFAULT_ALLOWED_INSTANCE_TYPES, disallowedInstanceTypes } from "../../capacity/limits";
import { GPU_RESOURCE, LABEL_ACCELERATOR, LABEL_CA_ACCELERATOR, LABEL_GPU_COUNT, LABEL_GPU_PRESENT, poolLabels } from "../../capacity/pools";
import { configOf, daemonSetListProperty, gpuTaintProperty, NVIDIA_DAEMONSETS } from "./config";
import { MIG_MANAGER_DAEMONSET } from "../../facts/nvidia";
import { runtimeLabels } from "../../capacity/sharing";
import {
    blockingTaints,
    containersOf,
    describeContainer,
    describeSelection,
    describeTaint,
    describeTemplate,
    gpuCount,
    hasNodeSelection,
    kindOf,
    listedDaemonSet,
    NodeTaint,
    podTemplates,
    Props,
    requestedGpus,
    selectsNode,
    Toleration,
    tolerates,
} from "./k8s";
import { describePool, eksEffect, instanceGpu, isGpuInstanceType, isGpuNodePool, LAUNCH_TEMPLATE, nodePoolOf, NodePoolView } from "./nodepools";

/** Labels the catalog decides for a GPU pool (node-pool is the pool's own name, not a catalog fact). */
const GPU_LABELS = [LABEL_ACCELERATOR, LABEL_GPU_COUNT, LABEL_GPU_PRESENT, LABEL_CA_ACCELERATOR];

function poolsIn(resources: PolicyResource[]): NodePoolView[] {
    return resources.map((r) => nodePoolOf(r.type, r.props, r.name)).filter((p): p is NodePoolView => p !== undefined);
}

export const gpuRequestEqualsLimit: ResourceValidationPolicy = {
    name: "gpu-request-equals-limit",
    description: "Every container that uses nvidia.com/gpu requests exactly as many GPUs as its limit (GPUs cannot be overcommitted).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        for (const t of podTemplates(args.type, args.props, args.name)) {
            for (const c of containersOf(t.spec)) {
                const request = c.container.resources?.requests?.[GPU_RESOURCE];
                const limit = c.container.resources?.limits?.[GPU_RESOURCE];
                if (request === undefined && limit === undefined) {
                    continue;
                }
                const [req, lim] = [gpuCount(request), gpuCount(limit)];
                const where = describeContainer(t, c);
                if (req === undefined || lim === undefined) {
                    const value = req === undefined ? `limits ${GPU_RESOURCE}=${limit} without a request` : `requests ${GPU_RESOURCE}=${request} without a limit`;
                    report(`${where} ${value}. Fix: set requests and limits of ${GPU_RESOURCE} to the same whole number.`);
                } else if (!Number.isFinite(req) || !Number.isFinite(lim) || req !== lim) {
                    report(`${where} requests ${GPU_RESOURCE}=${request} but limits ${GPU_RESOURCE}=${limit}. Fix: set both to the same whole number of GPUs.`);
                }
            }
        }
    },
};

const gpuTaintSchema = { properties: { gpuTaint: gpuTaintProperty } };

export const gpuPoolTainted: ResourceValidationPolicy = {
    name: "gpu-pool-tainted",
    description: "Every GPU node pool carries the platform's GPU taint, so only pods that tolerate it (GPU workloads) land on GPU nodes.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: gpuTaintSchema,
    validateResource: (args, report) => {
        const pool = nodePoolOf(args.type, args.props, args.name);
        if (!pool || !isGpuNodePool(pool)) {
            return;
        }
        const { gpuTaint } = configOf<{ gpuTaint: NodeTaint }>(args, gpuTaintSchema);
        if (!carriesTaint(pool.taints, gpuTaint)) {
            const current = pool.taints.map(describeTaint).join(", ") || "none";
            report(
                `${describePool(pool)} is a GPU pool with taints [${current}]. Fix: add the taint ${describeTaint(gpuTaint)} ` +
                    `(EKS spelling: {key: "${gpuTaint.key}", value: "${gpuTaint.value}", effect: "${eksEffect(gpuTaint.effect)}"}) from capacity/pools poolTaints.`,
            );
        }
    },
};

export const gpuPoolLabelsMatchCatalog: ResourceValidationPolicy = {
    name: "gpu-pool-labels-match-catalog",
    description: "A GPU pool's accelerator, gpu-count and GPU-presence labels equal what the instance catalog says for its instance type; CPU pools carry none of them.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const pool = nodePoolOf(args.type, args.props, args.name);
        if (!pool) {
            return;
        }
        if (!isGpuNodePool(pool)) {
            const stray = GPU_LABELS.filter((k) => k in pool.labels);
            if (stray.length > 0) {
                report(
                    `${describePool(pool)} has no GPUs but carries ${stray.map((k) => `${k}=${pool.labels[k]}`).join(", ")}; ` +
                        `GPU DaemonSets and the autoscaler would treat it as a GPU pool. Fix: remove these labels (use capacity/pools poolLabels).`,
                );
            }
            return;
        }
        for (const instanceType of pool.instanceTypes) {
            if (!instanceGpu(instanceType)) {
                report(`${describePool(pool)}: instance type ${instanceType} looks like a GPU type but is not in the instance catalog. Fix: add it to capacity/catalog.ts or use a catalogued type.`);
                continue;
            }
            const expected = poolLabels({ name: pool.pool, instanceType });
            for (const key of GPU_LABELS) {
                if (pool.labels[key] !== expected[key]) {
                    report(
                        `${describePool(pool)} has label ${key}=${pool.labels[key] ?? "(unset)"} but the catalog says ${expected[key]} for ${instanceType}. ` +
                            `Fix: derive the labels with capacity/pools poolLabels (${key}: "${expected[key]}").`,
                    );
                }
            }
        }
    },
};

const nvidiaAmiSchema = {
    properties: {
        nvidiaAmiTypes: {
            type: "array" as const,
            description: "EKS AMI types that ship the NVIDIA driver and container toolkit.",
            items: { type: "string" as const },
            default: ["AL2023_x86_64_NVIDIA", "AL2023_ARM_64_NVIDIA", "AL2_x86_64_GPU", "BOTTLEROCKET_x86_64_NVIDIA", "BOTTLEROCKET_ARM_64_NVIDIA"],
        },
    },
};

export const gpuPoolNvidiaAmi: ResourceValidationPolicy = {
    name: "gpu-pool-nvidia-ami",
    description: "GPU node pools use an EKS AMI type with the NVIDIA driver; on a standard AMI the GPUs are invisible (\"Insufficient nvidia.com/gpu\").",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: nvidiaAmiSchema,
    validateResource: (args, report) => {
        const pool = nodePoolOf(args.type, args.props, args.name);
        // A Karpenter NodePool has no amiType: its EC2NodeClass's AMI is judged by karpenter-nodeclass-hardened.
        if (!pool || !isGpuNodePool(pool) || pool.type === KARPENTER_NODEPOOL_TYPE) {
            return;
        }
        const { nvidiaAmiTypes } = configOf<{ nvidiaAmiTypes: string[] }>(args, nvidiaAmiSchema);
        if (!pool.amiType || !nvidiaAmiTypes.includes(pool.amiType)) {
            report(
                `${describePool(pool)} is a GPU pool with amiType ${pool.amiType ?? "(unset: EKS picks a standard AMI)"}, which has no NVIDIA driver. ` +
                    `Fix: set amiType to one of ${nvidiaAmiTypes.join(", ")}.`,
            );
        }
    },
};

const systemDaemonSetsSchema = {
    properties: {
        gpuTaint: gpuTaintProperty,
        systemDaemonSets: daemonSetListProperty("DaemonSets (namespace/name) that tolerate the GPU taint without requesting GPUs.", [...NVIDIA_DAEMONSETS, MIG_MANAGER_DAEMONSET]),
    },
};

export const gpuTolerationRequiresGpuRequest: ResourceValidationPolicy = {
    name: "gpu-toleration-requires-gpu-request",
    description: "A pod template that tolerates the GPU taint requests GPUs; otherwise it can fill a GPU node with CPU work. System DaemonSets are allow-listed by namespace/name.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: systemDaemonSetsSchema,
    validateResource: (args, report) => {
        const { gpuTaint, systemDaemonSets } = configOf<{ gpuTaint: NodeTaint; systemDaemonSets: string[] }>(args, systemDaemonSetsSchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            if (tolerates(t.spec.tolerations, gpuTaint) && requestedGpus(t.spec) === 0 && !listedDaemonSet(t, systemDaemonSets)) {
                report(
                    `${describeTemplate(t)} tolerates the GPU taint ${describeTaint(gpuTaint)} but requests no ${GPU_RESOURCE}. ` +
                        `Fix: remove the toleration, or request GPUs; a system DaemonSet belongs in systemDaemonSets.`,
                );
            }
        }
    },
};

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];

/**
 * What the API server's toleration validation rejects. The scheduler's code would still match such a
 * toleration (an empty key with Equal tolerates every taint with that value), so it must never get there.
 */
export function tolerationProblem(t: Toleration): string | undefined {
    const operator = t.operator ?? "";
    if (!t.key && operator !== "Exists") {
        return `has no key but operator ${operator || "Equal (the default)"}; with no key the operator must be Exists`;
    }
    if (operator === "Exists" && t.value) {
        return `uses operator Exists with value "${t.value}"; Exists takes no value`;
    }
    if (!["", "Equal", "Exists"].includes(operator)) {
        return `uses operator ${operator}; tolerations take Equal or Exists`;
    }
    if (t.effect && !TAINT_EFFECTS.includes(t.effect)) {
        return `uses effect ${t.effect}; effects are ${TAINT_EFFECTS.join(", ")}`;
    }
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute") {
        return `sets tolerationSeconds with effect ${t.effect || "(any)"}; only NoExecute tolerations take it`;
    }
    return undefined;
}

export const tolerationsValid: ResourceValidationPolicy = {
    name: "tolerations-valid",
    description: "Every toleration is one the API server accepts: no key only with operator Exists, Exists without a value, operator Equal or Exists, a known effect, tolerationSeconds only with NoExecute.",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: (args, report) => {
        for (const t of podTemplates(args.type, args.props, args.name)) {
            (t.spec.tolerations ?? []).forEach((toleration, i) => {
                const problem = tolerationProblem(toleration);
                if (problem) {
                    report(`${describeTemplate(t)} toleration ${i} ${problem}. Fix: use the pool's tolerations (capacity/pools poolTolerations).`);
                }
            });
        }
    },
};

export const gpuPodTargetsGpuPool: StackValidationPolicy = {
    name: "gpu-pod-targets-gpu-pool",
    description: "A pod that requests GPUs selects a GPU node pool (nodeSelector or required node affinity) and tolerates that pool's taints.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: gpuTaintSchema,
    validateStack: (args, report) => {
        const { gpuTaint } = configOf<{ gpuTaint: NodeTaint }>(args, gpuTaintSchema);
        const pools = poolsIn(args.resources);
        for (const r of args.resources) {
            for (const t of podTemplates(r.type, r.props, r.name)) {
                if (requestedGpus(t.spec) === 0) {
                    continue;
                }
                const what = `${describeTemplate(t)} requests ${requestedGpus(t.spec)} ${GPU_RESOURCE}`;
                if (pools.length === 0) {
                    // No pool is visible (nodes managed elsewhere): hold it to the platform taint only.
                    if (!tolerates(t.spec.tolerations, gpuTaint)) {
                        report(`${what} but does not tolerate the GPU taint ${describeTaint(gpuTaint)}. Fix: add the toleration from capacity/pools poolTolerations.`, r.urn);
                    }
                    continue;
                }
                const gpuPools = pools.filter((p) => isGpuNodePool(p) && selectsNode(t.spec, p.labels));
                const fix = `Fix: select one GPU pool (node-pool: ${pools.filter(isGpuNodePool).map((p) => p.pool).join(" | ") || "a GPU pool"}).`;
                if (!hasNodeSelection(t.spec)) {
                    report(`${what} but has no nodeSelector or required node affinity, so it is pinned to no GPU pool. ${fix}`, r.urn);
                    continue;
                }
                if (gpuPools.length === 0) {
                    const selected = pools.filter((p) => selectsNode(t.spec, p.labels)).map((p) => p.pool);
                    report(`${what} but its ${describeSelection(t.spec)} matches [${selected.join(", ")}], no GPU pool. ${fix}`, r.urn);
                    continue;
                }
                const reachable = gpuPools.filter((p) => blockingTaints(p.taints).every((taint) => tolerates(t.spec.tolerations, taint)));
                if (reachable.length === 0) {
                    const missing = [...new Set(gpuPools.flatMap((p) => blockingTaints(p.taints).filter((x) => !tolerates(t.spec.tolerations, x)).map(describeTaint)))];
                    report(
                        `${what} and selects GPU pool(s) ${gpuPools.map((p) => p.pool).join(", ")} but does not tolerate ${missing.join(", ")}. ` +
                            `Fix: add the pool's tolerations (capacity/pools poolTolerations).`,
                        r.urn,
                    );
                }
            }
        }
    },
};

const gpuDaemonSetsSchema = {
    properties: {
        gpuDaemonSets: daemonSetListProperty("DaemonSets (namespace/name) that must run on every GPU node and on no other: device plugin, DCGM exporter.", NVIDIA_DAEMONSETS),
    },
};

export const gpuDaemonSetsReachGpuPools: StackValidationPolicy = {
    name: "gpu-daemonsets-reach-gpu-pools",
    description: "The NVIDIA device plugin and DCGM exporter exist, tolerate every GPU pool's taints, and select every GPU pool and no CPU pool.",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: gpuDaemonSetsSchema,
    validateStack: (args, report) => {
        const { gpuDaemonSets } = configOf<{ gpuDaemonSets: string[] }>(args, gpuDaemonSetsSchema);
        const pools = poolsIn(args.resources);
        const gpuPools = pools.filter(isGpuNodePool);
        if (gpuPools.length === 0) {
            return;
        }
        for (const id of gpuDaemonSets) {
            const found = args.resources
                .filter((r) => kindOf(r.type) === "DaemonSet")
                .flatMap((r) => podTemplates(r.type, r.props, r.name).map((t) => ({ r, t })))
                .find(({ t }) => listedDaemonSet(t, [id]));
            if (!found) {
                report(`No DaemonSet ${id} in the stack, yet GPU pools ${gpuPools.map((p) => p.pool).join(", ")} exist: their GPUs would never be advertised or monitored. Fix: deploy ${id} (components/nvidia.ts).`);
                continue;
            }
            const { r, t } = found;
            for (const pool of gpuPools) {
                const untolerated = blockingTaints(pool.taints).filter((x) => !tolerates(t.spec.tolerations, x));
                if (untolerated.length > 0) {
                    report(`${describeTemplate(t)} does not tolerate ${untolerated.map(describeTaint).join(", ")} of GPU pool ${pool.pool}: it runs zero pods there. Fix: tolerate every GPU pool's taint (capacity/pools gpuDaemonSetTolerations).`, r.urn);
                }
                // The node as it runs: a MIG node once the MIG manager has partitioned it (capacity/sharing runtimeLabels).
                if (!selectsNode(t.spec, runtimeLabels(pool.labels))) {
                    report(`${describeTemplate(t)} ${describeSelection(t.spec)} does not select GPU pool ${pool.pool}, whose labels never match it. Fix: select ${LABEL_GPU_PRESENT}=true (capacity/pools gpuNodeSelector).`, r.urn);
                }
            }
            for (const pool of pools.filter((p) => !isGpuNodePool(p))) {
                if (selectsNode(t.spec, pool.labels) && blockingTaints(pool.taints).every((x) => tolerates(t.spec.tolerations, x))) {
                    report(`${describeTemplate(t)} ${describeSelection(t.spec)} also lands on CPU pool ${pool.pool}, where it crash-loops without a GPU. Fix: select ${LABEL_GPU_PRESENT}=true only (capacity/pools gpuNodeSelector).`, r.urn);
                }
            }
        }
    },
};

const instanceTypesSchema = {
    properties: {
        allowedInstanceTypes: {
            type: "array" as const,
            description: "EC2 instance types this stack may run (default: every type in the instance catalog).",
            items: { type: "string" as const },
            default: [...DEFAULT_ALLOWED_INSTANCE_TYPES],
        },
    },
};

/** Instance types a node group or launch template asks for, and how to name the resource. */
function instanceTypesOf(type: string, props: Props, name: string): [string[], string] {
    const pool = nodePoolOf(type, props, name);
    if (pool) {
        return [pool.instanceTypes, describePool(pool)];
    }
    if (type === LAUNCH_TEMPLATE && props.instanceType !== undefined) {
        return [[String(props.instanceType)], `launch template "${name}"`];
    }
    return [[], ""];
}

export const instanceTypesAllowed: ResourceValidationPolicy = {
    name: "instance-types-allowed",
    description: "Node groups and launch templates use only the stack's allow-listed instance types.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: instanceTypesSchema,
    validateResource: (args, report) => {
        const { allowedInstanceTypes } = configOf<{ allowedInstanceTypes: string[] }>(args, instanceTypesSchema);
        const [types, where] = instanceTypesOf(args.type, args.props, args.name);
        // The same judgement validation makes of ml-platform:nodePools.*.instanceType (capacity/limits.ts).
        for (const type of disallowedInstanceTypes(types, allowedInstanceTypes)) {
            const kind = isGpuInstanceType(type) ? "GPU " : "";
            report(`${where} uses ${kind}instance type ${type}, which this stack does not allow. Fix: use one of ${allowedInstanceTypes.join(", ")}, or add it to allowedInstanceTypes in the stack's policy config.`);
        }
    },
};

export const gpuPolicies = [
    gpuRequestEqualsLimit,
    gpuPoolTainted,
    gpuPoolLabelsMatchCatalog,
    gpuPoolNvidiaAmi,
    gpuTolerationRequiresGpuRequest,
    tolerationsValid,
    gpuPodTargetsGpuPool,
    gpuDaemonSetsReachGpuPools,
    instanceTypesAllowed,
];
