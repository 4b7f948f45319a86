/**
 * Will every workload schedule, and what will it cost? Registered resources (node groups, DaemonSets,
 * workloads, HPAs), as plain {type, name, props, urn}, are turned into node allocatable, pod groups and
 * the packing of capacity/scheduling, at minimum and at maximum scale. The policy rules and the plan
 * both call this; nothing here knows about Pulumi.
 */
import { EKS_SYSTEM_DAEMONSETS, DaemonSetLoad, nodeAllocatable } from "./allocatable";
import { devicesOfNode } from "./sharing";
import { Bill, buildBill, Infrastructure, infrastructureOf } from "./bill";
import { HOURS_PER_MONTH, INSTANCE_CATALOG, GpuModel } from "./catalog";
import { efaDevicePluginLoad } from "./efa";
import { costSummary, CostSummary, gpuAllocation } from "./cost";
import { EXPECTED_HOURS_ANNOTATION } from "../facts/training";
import { AdmissionStep, admissionVerdicts, kueueViewOf, simulateAdmission, trainingJobsOf } from "./admission";
import { pipelineStepJobs } from "./pipelineQueueing";
import { dedicatedBaselineForHours, hoursFromAnnotation, TimedCost, TimedDedicatedWorkload, timedMonthlyCost } from "./trainingTime";
import { nodePoolOf } from "./nodeGroups";
import { ARGO_WORKFLOW_KIND } from "../facts/pipelines";
import { analyzePipelines, PipelineCapacity, pipelinesOf } from "./pipelines";
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
    /**
     * hourly/monthly: every pod at once, all month (the peak). dedicatedBaselineMonthly: every GPU pod on its
     * own instance for the hours it runs (serving all month, training its declared hours).
     */
    cost: CostSummary & { dedicatedBaselineMonthly: number };
    /** The month counted in hours: always-on nodes all month, each training job's extra nodes for its hours. */
    time: TimeAnalysis;
    /** The whole bill (EC2, EKS, NAT, EBS, EFS) at minimum, maximum and reachable maximum. */
    bill: Bill;
    /** Kueue admission at the declared load, when the stack has ClusterQueues (capacity/admission.ts). */
    queueing?: { steps: AdmissionStep[]; never: { job: string; reason: string }[] };
    gpus: { requested: { min: number; max: number }; provisioned: { min: number; max: number } };
    gpuAllocation: { min: number; max: number };
    /** Pools whose instance type the catalog does not know: no simulation for them. */
    unknownPools: string[];
    /** One run of each pipeline (Argo WorkflowTemplate): steps per pool, concurrent demand, cost per run. */
    pipelines: PipelineCapacity[];
}

export interface TimeAnalysis {
    min: TimedCost;
    max: TimedCost;
    /** Training jobs with their hours a month; declared false means none given, all month assumed. */
    jobs: { name: string; hours: number; declared: boolean }[];
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
    /** Jobs and Kubeflow jobs run for hours (declared, or all month when not); the rest runs all month. */
    time?: { hours: number; declared: boolean };
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
        // A pipeline's steps run one DAG level at a time, not all at once: capacity/pipelines.ts counts them.
        if (ARGO_WORKFLOW_KIND.test(r.type)) {
            continue;
        }
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
        const annotation = r.props.metadata?.annotations?.[EXPECTED_HOURS_ANNOTATION];
        // A batch job is counted by its hours when it declares them or holds GPUs; a CPU-only Job without hours
        // (a data-sync copy) is left with what runs all month, on pools that run all month anyway.
        const holdsGpus = templates.some((t) => gpusOf(podRequests(t.spec)) > 0);
        const timed = annotation !== undefined || ((kind === "Job" || templates[0].role !== undefined) && holdsGpus);
        out.push({ name, kind, namespace, urn: r.urn, groups: { min: groupsAt("min"), max: groupsAt("max") }, ...(timed ? { time: hoursFromAnnotation(annotation) } : {}) });
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
            // nvidia.com/gpu per node as advertised: GPUs, or the MIG slices or time-slice replicas the labels ask for.
            gpusPerNode: devicesOfNode(instance, view.labels)?.perNode ?? 0,
            ...(instance.gpu ? { gpuModel: instance.gpu.model } : {}),
        });
    }

    const workloads = workloadsOf(resources);
    const infra = infrastructureOf(resources);
    const pipelines = pipelinesOf(resources);
    const kueue = kueueViewOf(resources);
    // Pipeline steps queue through the pipelines namespace's LocalQueue, one pod each (capacity/pipelineQueueing.ts).
    const queuedJobs = kueue ? [...trainingJobsOf(resources), ...pipelineStepJobs(resources)].filter((j) => j.localQueue !== undefined) : [];
    const key = JSON.stringify([pools, unknownPools, workloads, infra, pipelines, queuedJobs, kueue ? [...kueue.localQueues, ...kueue.priorities] : [], kueue?.queues, kueue?.flavors]);
    if (last?.key === key) {
        return last.analysis;
    }
    const analysis: CapacityAnalysis = {
        ...simulate(pools, unknownPools, workloads, infra, new Set(queuedJobs.map((j) => j.name))),
        pipelines: analyzePipelines(pipelines, pools, workloads.flatMap((w) => w.groups.max)),
    };
    if (kueue) {
        const verdicts = admissionVerdicts(kueue, queuedJobs);
        analysis.queueing = {
            steps: simulateAdmission(kueue, verdicts),
            never: verdicts.filter((v) => v.never !== undefined).map((v) => ({ job: v.job.name, reason: v.never! })),
        };
    }
    last = { key, analysis };
    return analysis;
}

/**
 * The month at each scale: what runs all month (serving, other controllers, minSize) is placed alone;
 * each timed job is then placed on top of it, and the nodes it adds are paid for its hours.
 */
function timeAnalysis(pools: CapacityAnalysis["pools"], workloads: WorkloadShape[]): TimeAnalysis & { fitsAlone: Map<string, { min: boolean; max: boolean }> } {
    const alwaysOn = workloads.filter((w) => !w.time);
    const jobs = workloads.filter((w) => w.time);
    const fitsAlone = new Map(jobs.map((j) => [j.name, { min: false, max: false }]));
    const at = (scale: "min" | "max"): TimedCost => {
        const base = alwaysOn.flatMap((w) => w.groups[scale]);
        const baseNodes = placeWorkloads(base, pools).nodesPerPool;
        const timedPools = pools.map((p) => ({ name: p.name, instanceType: p.instanceType, gpusPerNode: p.gpusPerNode, alwaysOnNodes: Math.max(p.minSize, baseNodes[p.name] ?? 0) }));
        const timedJobs = jobs.map((j) => {
            const placed = placeWorkloads([...base, ...j.groups[scale]], pools);
            fitsAlone.get(j.name)![scale] = placed.placements.find((x) => x.workload === j.name)?.schedulable ?? false;
            const withJob = placed.nodesPerPool;
            const extraNodes = Object.fromEntries(timedPools.map((p) => [p.name, Math.max(0, Math.max(p.alwaysOnNodes, withJob[p.name] ?? 0) - p.alwaysOnNodes)]));
            return { name: j.name, hours: j.time!.hours, gpus: groupGpus(j.groups[scale]), extraNodes };
        });
        return timedMonthlyCost(timedPools, alwaysOn.reduce((n, w) => n + groupGpus(w.groups[scale]), 0), timedJobs);
    };
    return { min: at("min"), max: at("max"), jobs: jobs.map((j) => ({ name: j.name, ...j.time! })), fitsAlone };
}

function simulate(
    pools: CapacityAnalysis["pools"],
    unknownPools: string[],
    workloads: WorkloadShape[],
    infra: { infrastructure: Infrastructure; unread: string[] },
    queued: Set<string>,
): Omit<CapacityAnalysis, "pipelines"> {
    const { fitsAlone, ...time } = timeAnalysis(pools, workloads);
    const atMin = placeWorkloads(workloads.flatMap((w) => w.groups.min), pools);
    const atMax = placeWorkloads(workloads.flatMap((w) => w.groups.max), pools);
    const byName = (p: PlacementResult) => new Map(p.placements.map((x) => [x.workload, x]));
    const [minOf, maxOf] = [byName(atMin), byName(atMax)];
    const verdict = (w: WorkloadShape): WorkloadCapacity => {
        // A queued job that fits beside what runs all month, but not beside every other job at once,
        // waits for its turn in Kueue's queue: it is not unschedulable.
        const waitsAt = (scale: "min" | "max", p: WorkloadPlacement): WorkloadPlacement =>
            !p.schedulable && queued.has(w.name) && fitsAlone.get(w.name)?.[scale] ? { ...p, schedulable: true, reason: `waits in its Kueue queue: ${p.reason}` } : p;
        const min = waitsAt("min", minOf.get(w.name)!);
        const max = waitsAt("max", maxOf.get(w.name)!);
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

    // The world before the platform: every GPU pod on its own instance, for the hours it runs.
    const dedicated = workloads.flatMap((w, i) =>
        w.groups.min
            .filter((g) => gpusOf(g.requests) > 0)
            .map((g) => {
                const pool = pools.find((p) => p.name === results[i].pool);
                return pool?.gpuModel ? { gpusPerPod: gpusOf(g.requests), gpuModel: pool.gpuModel, pods: g.count, hours: w.time?.hours ?? HOURS_PER_MONTH } : undefined;
            })
            .filter((x): x is TimedDedicatedWorkload => x !== undefined),
    );

    return {
        pools,
        workloads: results,
        nodes,
        cost: { ...cost, dedicatedBaselineMonthly: dedicatedBaselineForHours(dedicated) },
        bill: buildBill(pools, nodes, infra.infrastructure, infra.unread),
        time,
        gpus: { requested, provisioned: gpusProvisioned },
        gpuAllocation: { min: gpuAllocation(requested.min, gpusProvisioned.min), max: gpuAllocation(requested.max, gpusProvisioned.max) },
        unknownPools,
    };
}
