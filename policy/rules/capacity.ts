/**
 * Will every workload schedule, and what will it cost? The stack as registered (node groups,
 * DaemonSets, workloads, HPAs) is turned into the plain inputs of capacity/ — node allocatable, the
 * kube-scheduler-style predicates and the packing — at minimum and at maximum scale.
 */
import type { PolicyConfigSchema, PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { EKS_SYSTEM_DAEMONSETS, DaemonSetLoad, nodeAllocatable, PodResources } from "../../capacity/allocatable";
import { INSTANCE_CATALOG, GpuModel } from "../../capacity/catalog";
import { costSummary, CostSummary, dedicatedBaselineMonthly, gpuAllocation } from "../../capacity/cost";
import { GPU_RESOURCE } from "../../capacity/pools";
import { parseCpu, parseMemory } from "../../capacity/quantity";
import { NodeSelectorRequirement, PodGroup, PoolCapacity, placeWorkloads, PlacementResult } from "../../capacity/scheduling";
import { configOf } from "./config";
import { Container, hpasByTarget, podTemplates, PodTemplate, scaleTargetKey } from "./k8s";
import { nodePoolOf } from "./nodepools";

export interface CapacityResource {
    type: string;
    name: string;
    props: Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    urn?: string;
}

export interface WorkloadCapacity {
    name: string;
    kind: string;
    namespace: string;
    urn?: string;
    pool?: string;
    gpusRequested: { min: number; max: number };
    schedulable: boolean;
    reason?: string;
}

export interface CapacityAnalysis {
    pools: (PoolCapacity & { gpusPerNode: number; gpuModel?: GpuModel })[];
    workloads: WorkloadCapacity[];
    nodes: { min: Record<string, number>; max: Record<string, number> };
    cost: CostSummary & { dedicatedBaselineMonthly: number };
    gpus: { requested: { min: number; max: number }; provisioned: { min: number; max: number } };
    gpuAllocation: { min: number; max: number };
    /** Pools whose instance type the catalog does not know: no simulation for them. */
    unknownPools: string[];
}

const quantity = (q: unknown, parse: (s: string) => number) => (q === undefined || q === null ? 0 : parse(String(q)));

function containerRequests(c: Container): PodResources {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    // A missing request defaults to the limit, as the API server does.
    return {
        cpuMillis: quantity(req.cpu ?? lim.cpu, parseCpu),
        memoryBytes: quantity(req.memory ?? lim.memory, parseMemory),
        gpus: Number(req[GPU_RESOURCE] ?? lim[GPU_RESOURCE] ?? 0),
    };
}

/** A pod's effective request: the larger of its containers' sum and its largest init container. */
export function podRequests(t: PodTemplate): PodResources {
    const sum = (t.spec.containers ?? []).map(containerRequests).reduce((a, b) => ({ cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes, gpus: a.gpus + b.gpus }), { cpuMillis: 0, memoryBytes: 0, gpus: 0 });
    for (const init of (t.spec.initContainers ?? []).map(containerRequests)) {
        sum.cpuMillis = Math.max(sum.cpuMillis, init.cpuMillis);
        sum.memoryBytes = Math.max(sum.memoryBytes, init.memoryBytes);
        sum.gpus = Math.max(sum.gpus, init.gpus);
    }
    return sum;
}

function affinityOf(t: PodTemplate): NodeSelectorRequirement[] | undefined {
    const terms = t.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    return terms.length > 0 ? (terms[0].matchExpressions as NodeSelectorRequirement[]) : undefined;
}

interface WorkloadShape {
    name: string;
    kind: string;
    namespace: string;
    urn?: string;
    groups: { min: PodGroup[]; max: PodGroup[] };
}

/** Replicas of a role of a Kubeflow job: spec.<x>ReplicaSpecs.<role>.replicas. */
function kubeflowReplicas(props: Record<string, any>, t: PodTemplate): number { // eslint-disable-line @typescript-eslint/no-explicit-any
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
                    requests: podRequests(t),
                    count,
                    tolerations: (t.spec.tolerations ?? []) as PodGroup["tolerations"],
                    nodeSelector: t.spec.nodeSelector ?? {},
                    ...(affinityOf(t) ? { affinity: affinityOf(t) } : {}),
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
        for (const t of podTemplates(r.type, r.props, r.name)) {
            if (t.workload.kind === "DaemonSet") {
                out.push({ name: t.workload.name, requests: podRequests(t), tolerations: (t.spec.tolerations ?? []) as DaemonSetLoad["tolerations"], nodeSelector: t.spec.nodeSelector ?? {} });
            }
        }
    }
    return out;
}

function gpusOf(groups: PodGroup[]): number {
    return groups.reduce((n, g) => n + g.count * g.requests.gpus, 0);
}

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
        const scaling = r.props.scalingConfig ?? {};
        const taints = view.taints.map((t) => ({ key: t.key, value: t.value, effect: t.effect as PoolCapacity["taints"][number]["effect"] }));
        pools.push({
            name: view.pool,
            instanceType: instance.name,
            minSize: Number(scaling.minSize ?? 0),
            maxSize: Number(scaling.maxSize ?? 0),
            taints,
            labels: view.labels,
            allocatable: nodeAllocatable(instance, taints, view.labels, daemonSets),
            gpusPerNode: instance.gpu?.count ?? 0,
            ...(instance.gpu ? { gpuModel: instance.gpu.model } : {}),
        });
    }

    const workloads = workloadsOf(resources);
    const atMin = placeWorkloads(workloads.flatMap((w) => w.groups.min), pools);
    const atMax = placeWorkloads(workloads.flatMap((w) => w.groups.max), pools);
    const verdict = (w: WorkloadShape): WorkloadCapacity => {
        const find = (p: PlacementResult) => p.placements.find((x) => x.workload === w.name);
        const min = find(atMin);
        const max = find(atMax);
        const failed = [min, max].find((x) => x && !x.schedulable);
        return {
            name: w.name,
            kind: w.kind,
            namespace: w.namespace,
            urn: w.urn,
            pool: max?.pool ?? min?.pool,
            gpusRequested: { min: gpusOf(w.groups.min), max: gpusOf(w.groups.max) },
            schedulable: !failed,
            ...(failed ? { reason: `${failed === min ? "at minimum scale" : "at maximum scale"}: ${failed.reason}` } : {}),
        };
    };
    const results = workloads.map(verdict);

    const nodes = { min: { ...atMin.nodesPerPool }, max: { ...atMax.nodesPerPool } };
    for (const p of pools) {
        nodes.min[p.name] = Math.max(p.minSize, nodes.min[p.name] ?? 0);
        nodes.max[p.name] = Math.max(p.minSize, nodes.max[p.name] ?? 0);
    }
    const cost = costSummary({ minNodes: nodes.min, maxNodes: nodes.max, pools: pools.map((p) => ({ name: p.name, instanceType: p.instanceType })) });
    const provisioned = (n: Record<string, number>) => pools.reduce((sum, p) => sum + (n[p.name] ?? 0) * p.gpusPerNode, 0);
    const requested = { min: results.reduce((n, w) => n + w.gpusRequested.min, 0), max: results.reduce((n, w) => n + w.gpusRequested.max, 0) };
    const gpusProvisioned = { min: provisioned(nodes.min), max: provisioned(nodes.max) };

    // The world before the platform: every pod of every workload on its own instance, all month.
    const dedicated = workloads.flatMap((w) =>
        w.groups.min
            .filter((g) => g.requests.gpus > 0)
            .map((g) => {
                const pool = pools.find((p) => p.name === verdict(w).pool);
                return pool?.gpuModel ? { gpusPerPod: g.requests.gpus, gpuModel: pool.gpuModel, pods: g.count } : undefined;
            })
            .filter((x): x is { gpusPerPod: number; gpuModel: GpuModel; pods: number } => x !== undefined),
    );

    return {
        pools,
        workloads: results,
        nodes,
        cost: { ...cost, dedicatedBaselineMonthly: dedicatedBaselineMonthly(dedicated) },
        gpus: { requested, provisioned: gpusProvisioned },
        gpuAllocation: { min: gpuAllocation(requested.min, gpusProvisioned.min), max: gpuAllocation(requested.max, gpusProvisioned.max) },
        unknownPools,
    };
}

function asCapacityResources(resources: PolicyResource[]): CapacityResource[] {
    return resources.map((r) => ({ type: r.type, name: r.name, props: r.props, urn: r.urn }));
}

// Both capacity rules analyse the same stack; the engine hands each stack rule the same resource list.
const analyses = new WeakMap<PolicyResource[], CapacityAnalysis>();

export function analysisOf(resources: PolicyResource[]): CapacityAnalysis {
    let a = analyses.get(resources);
    if (!a) {
        a = analyzeCapacity(asCapacityResources(resources));
        analyses.set(resources, a);
    }
    return a;
}

export const workloadsSchedulable: StackValidationPolicy = {
    name: "workloads-schedulable",
    description:
        "Every workload fits a node pool at its minimum and maximum scale, as kube-scheduler would place it (resources after kube-reserved and DaemonSets, taints, nodeSelector, node affinity; serving at HPA max, a PyTorchJob's pods all at once) within each pool's maxSize.",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateStack: (args, report) => {
        const analysis = analysisOf(args.resources);
        if (analysis.pools.length === 0 && analysis.unknownPools.length === 0) {
            // No node pool in this stack: its nodes are another stack's (an app team's project on the
            // platform). The offline plan places such workloads on the platform's recorded pools instead.
            return;
        }
        const byUrn = new Map<string | undefined, PolicyResource>(args.resources.map((r) => [r.urn, r]));
        for (const w of analysis.workloads.filter((x) => !x.schedulable)) {
            const resource = byUrn.get(w.urn);
            report(`${w.kind} ${w.namespace}/${w.name} can never schedule ${w.reason}. Fix: give it a pool that can hold it, lower its requests or maxReplicas, or raise the pool's maxSize.`, resource?.urn);
        }
    },
};

const budgetSchema: PolicyConfigSchema = {
    properties: {
        maxMonthlyCost: { type: "number", minimum: 0, description: "Budget in USD per month for the node pools at maximum scale (on-demand catalog prices)." },
    },
};

export const monthlyBudget: StackValidationPolicy = {
    name: "monthly-budget",
    description: "The node pools at maximum scale cost no more per month than the stack's budget (maxMonthlyCost, on-demand catalog prices).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: budgetSchema,
    validateStack: (args, report) => {
        const { maxMonthlyCost } = configOf<{ maxMonthlyCost?: number }>(args, budgetSchema);
        if (maxMonthlyCost === undefined) {
            return;
        }
        const analysis = analysisOf(args.resources);
        if (analysis.cost.monthlyMax > maxMonthlyCost) {
            const top = [...analysis.cost.perPool].sort((a, b) => b.hourlyMax - a.hourlyMax)[0];
            report(
                `the node pools cost $${analysis.cost.monthlyMax.toFixed(2)}/month at maximum scale, over the budget of $${maxMonthlyCost.toFixed(2)} (largest: pool ${top.pool}, ${top.nodesMax} x ${top.instanceType}). Fix: lower maxSize or maxReplicas, or raise maxMonthlyCost in the policy config.`,
            );
        }
    },
};

export const capacityPolicies = [workloadsSchedulable, monthlyBudget];
