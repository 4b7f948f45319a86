/**
 * Will every workload schedule, and what will it cost? Registered resources (node groups, DaemonSets,
 * workloads, HPAs), as plain {type, name, props, urn}, are turned into node allocatable, pod groups and
 * the packing of capacity/scheduling, at minimum and at maximum scale. The policy rules and the plan
 * both call this; nothing here knows about Pulumi.
 */
import { EKS_SYSTEM_DAEMONSETS, DaemonSetLoad, nodeAllocatable } from "./allocatable";
import { Bill, buildBill, Infrastructure, infrastructureOf } from "./bill";
import { INSTANCE_CATALOG, GpuModel } from "./catalog";
import { efaDevicePluginLoad } from "./efa";
import { costSummary, CostSummary, dedicatedBaselineMonthly, gpuAllocation } from "./cost";
import { nodePoolOf } from "./nodeGroups";
import { hpasByTarget, podTemplates, PodTemplate, Props, scaleTargetKey } from "./podTemplates";
import type { RequiredNodeAffinity } from "./predicates";
import { gpusOf, podRequests } from "./resources";
import { PodGroup, PoolCapacity, placeWorkloads, PlacementResult, WorkloadPlacement } from "./scheduling";

export interface CapacityResource {
    type: string;
    name: string;
    props: Props;
    urn?: string;
}

/** The verdict at one scale, as a scheduler run at that scale would give it. */
export interface ScaleVerdict {
    schedulable: boolean;
    reason?: string;
    /** Pods at this scale. */
    pods: number;
    nodesNeeded?: number;
    /** Pools the pods landed on, in config order. */
    pools: string[];
}

export interface WorkloadCapacity {
    name: string;
    kind: string;
    namespace: string;
    urn?: string;
    /** The pool its pods landed on at maximum scale (the first, if several), else at minimum. */
    pool?: string;
    gpusRequested: { min: number; max: number };
    /** Schedulable at both scales; reason names the first scale that fails. */
    schedulable: boolean;
    reason?: string;
    scales: { min: ScaleVerdict; max: ScaleVerdict };
}

export interface CapacityAnalysis {
    pools: (PoolCapacity & { gpusPerNode: number; gpuModel?: GpuModel })[];
    workloads: WorkloadCapacity[];
    /** Nodes per pool at minimum and maximum scale (what the workloads need), and reachable: every pool at maxSize. */
    nodes: { min: Record<string, number>; max: Record<string, number>; reachable: Record<string, number> };
    /** The EC2 nodes at minimum and (demand-driven) maximum scale. */
    cost: CostSummary & { dedicatedBaselineMonthly: number };
    /** The whole bill (EC2, EKS, NAT, EBS, EFS) at minimum, maximum and reachable maximum. */
    bill: Bill;
    gpus: { requested: { min: number; max: number }; provisioned: { min: number; max: number } };
    gpuAllocation: { min: number; max: number };
    /** Pools whose instance type the catalog does not know: no simulation for them. */
    unknownPools: string[];
}

/** The whole required node affinity (every term), or nothing when the pod sets none. */
function affinityOf(t: PodTemplate): { affinity: RequiredNodeAffinity } | Record<string, never> {
    const required = t.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
    return required ? { affinity: required } : {};
}

interface WorkloadShape {
    name: string;
    kind: string;
    namespace: string;
    urn?: string;
    groups: { min: PodGroup[]; max: PodGroup[] };
}

/** Replicas of a role of a Kubeflow job: spec.<x>ReplicaSpecs.<role>.replicas. */
function kubeflowReplicas(props: Props, t: PodTemplate): number {
    const [, field, role] = t.path.split(".");
    return Number(props.spec?.[field]?.[role]?.replicas ?? 1);
}

function workloadsOf(resources: CapacityResource[]): WorkloadShape[] {
    const hpas = hpasByTarget(resources);
    const out: WorkloadShape[] = [];
    for (const r of resources) {
        const templates = podTemplates(r.type, r.props, r.name);
        if (templates.length === 0 || templates[0].workload.kind === "DaemonSet") {
            continue;
        }
        const { kind, namespace, name } = templates[0].workload;
        const hpa = hpas.get(scaleTargetKey(namespace, kind, name))?.props;
        const gang = templates.length > 1 || templates[0].role !== undefined;
        const groupsAt = (scale: "min" | "max") =>
            templates.map<PodGroup>((t) => {
                let count: number;
                if (t.role !== undefined) {
                    count = kubeflowReplicas(r.props, t);
                } else if (kind === "Job") {
                    count = Number(r.props.spec?.parallelism ?? 1);
                } else {
                    const replicas = Number(r.props.spec?.replicas ?? 1);
                    count = hpa ? Number(scale === "min" ? hpa.spec.minReplicas ?? replicas : hpa.spec.maxReplicas) : replicas;
                }
                return {
                    workload: name,
                    role: t.role ? t.role.toLowerCase() : kind === "Job" ? "pod" : "replica",
                    requests: podRequests(t.spec),
                    count,
                    tolerations: t.spec.tolerations ?? [],
                    nodeSelector: t.spec.nodeSelector ?? {},
                    ...affinityOf(t),
                    gang,
                };
            });
        out.push({ name, kind, namespace, urn: r.urn, groups: { min: groupsAt("min"), max: groupsAt("max") } });
    }
    return out;
}

function daemonSetsOf(resources: CapacityResource[]): DaemonSetLoad[] {
    const out: DaemonSetLoad[] = [...EKS_SYSTEM_DAEMONSETS];
    for (const r of resources) {
        const chart = efaDevicePluginLoad(r.type, r.props);
        if (chart) {
            out.push(chart);
        }
        for (const t of podTemplates(r.type, r.props, r.name)) {
            if (t.workload.kind === "DaemonSet") {
                out.push({ name: t.workload.name, requests: podRequests(t.spec), tolerations: t.spec.tolerations ?? [], nodeSelector: t.spec.nodeSelector ?? {}, ...affinityOf(t) });
            }
        }
    }
    return out;
}

function scaleVerdict(p: WorkloadPlacement): ScaleVerdict {
    return {
        schedulable: p.schedulable,
        ...(p.reason !== undefined ? { reason: p.reason } : {}),
        pods: p.pods,
        ...(p.nodesNeeded !== undefined ? { nodesNeeded: p.nodesNeeded } : {}),
        pools: p.pools,
    };
}

function groupGpus(groups: PodGroup[]): number {
    return groups.reduce((n, g) => n + g.count * gpusOf(g.requests), 0);
}

/**
 * The last analysis, keyed by the plain inputs it was simulated from (pools, pod groups): the two capacity
 * rules and the plan ask about the same stack, and the packing is what costs.
 */
let last: { key: string; analysis: CapacityAnalysis } | undefined;

export function analyzeCapacity(resources: CapacityResource[]): CapacityAnalysis {
    const daemonSets = daemonSetsOf(resources);
    const unknownPools: string[] = [];
    const pools: CapacityAnalysis["pools"] = [];
    for (const r of resources) {
        const view = nodePoolOf(r.type, r.props, r.name);
        if (!view) {
            continue;
        }
        const instance = INSTANCE_CATALOG.get(view.instanceTypes[0] ?? "");
        if (!instance) {
            unknownPools.push(view.pool);
            continue;
        }
        const taints = view.taints;
        pools.push({
            name: view.pool,
            instanceType: instance.name,
            minSize: view.minSize,
            maxSize: view.maxSize,
            taints,
            labels: view.labels,
            allocatable: nodeAllocatable(instance, taints, view.labels, daemonSets),
            gpusPerNode: instance.gpu?.count ?? 0,
            ...(instance.gpu ? { gpuModel: instance.gpu.model } : {}),
        });
    }

    const workloads = workloadsOf(resources);
    const infra = infrastructureOf(resources);
    const key = JSON.stringify([pools, unknownPools, workloads, infra]);
    if (last?.key === key) {
        return last.analysis;
    }
    const analysis = simulate(pools, unknownPools, workloads, infra);
    last = { key, analysis };
    return analysis;
}

function simulate(
    pools: CapacityAnalysis["pools"],
    unknownPools: string[],
    workloads: WorkloadShape[],
    infra: { infrastructure: Infrastructure; unread: string[] },
): CapacityAnalysis {
    const atMin = placeWorkloads(workloads.flatMap((w) => w.groups.min), pools);
    const atMax = placeWorkloads(workloads.flatMap((w) => w.groups.max), pools);
    const byName = (p: PlacementResult) => new Map(p.placements.map((x) => [x.workload, x]));
    const [minOf, maxOf] = [byName(atMin), byName(atMax)];
    const verdict = (w: WorkloadShape): WorkloadCapacity => {
        const min = minOf.get(w.name)!;
        const max = maxOf.get(w.name)!;
        const failed = [min, max].find((x) => !x.schedulable);
        return {
            name: w.name,
            kind: w.kind,
            namespace: w.namespace,
            urn: w.urn,
            pool: max.pool ?? min.pool,
            gpusRequested: { min: groupGpus(w.groups.min), max: groupGpus(w.groups.max) },
            schedulable: !failed,
            ...(failed ? { reason: `${failed === min ? "at minimum scale" : "at maximum scale"}: ${failed.reason}` } : {}),
            scales: { min: scaleVerdict(min), max: scaleVerdict(max) },
        };
    };
    const results = workloads.map(verdict);

    const nodes = { min: { ...atMin.nodesPerPool }, max: { ...atMax.nodesPerPool }, reachable: {} as Record<string, number> };
    for (const p of pools) {
        nodes.min[p.name] = Math.max(p.minSize, nodes.min[p.name] ?? 0);
        nodes.max[p.name] = Math.max(p.minSize, nodes.max[p.name] ?? 0);
        nodes.reachable[p.name] = Math.max(p.maxSize, nodes.max[p.name]);
    }
    const cost = costSummary({ minNodes: nodes.min, maxNodes: nodes.max, pools: pools.map((p) => ({ name: p.name, instanceType: p.instanceType })) });
    const provisioned = (n: Record<string, number>) => pools.reduce((sum, p) => sum + (n[p.name] ?? 0) * p.gpusPerNode, 0);
    const requested = { min: results.reduce((n, w) => n + w.gpusRequested.min, 0), max: results.reduce((n, w) => n + w.gpusRequested.max, 0) };
    const gpusProvisioned = { min: provisioned(nodes.min), max: provisioned(nodes.max) };

    // The world before the platform: every pod of every workload on its own instance, all month.
    const dedicated = workloads.flatMap((w, i) =>
        w.groups.min
            .filter((g) => gpusOf(g.requests) > 0)
            .map((g) => {
                const pool = pools.find((p) => p.name === results[i].pool);
                return pool?.gpuModel ? { gpusPerPod: gpusOf(g.requests), gpuModel: pool.gpuModel, pods: g.count } : undefined;
            })
            .filter((x): x is { gpusPerPod: number; gpuModel: GpuModel; pods: number } => x !== undefined),
    );

    return {
        pools,
        workloads: results,
        nodes,
        cost: { ...cost, dedicatedBaselineMonthly: dedicatedBaselineMonthly(dedicated) },
        bill: buildBill(pools, nodes, infra.infrastructure, infra.unread),
        gpus: { requested, provisioned: gpusProvisioned },
        gpuAllocation: { min: gpuAllocation(requested.min, gpusProvisioned.min), max: gpuAllocation(requested.max, gpusProvisioned.max) },
        unknownPools,
    };
}
