/** summary.json: the machine-readable digest of a plan, derived from the spec and what was registered. */
import type { CapacityAnalysis, ScaleVerdict } from "../capacity/analysis";
import type { Bill } from "../capacity/bill";
import type { BudgetVerdict } from "../capacity/limits";
import type { PipelineCapacity } from "../capacity/pipelines";
import { PIPELINES_NAMESPACE } from "../facts/pipelines";
import { NodePoolView, nodePoolOf } from "../capacity/nodeGroups";
import { poolLabels } from "../capacity/pools";
import type { NodeTaint } from "../capacity/predicates";
import { CATALOG_SOURCE, HOURS_PER_MONTH } from "../capacity/catalog";
import { gpuPools, NodePoolSpec, PlacementDecision, StackSpec, storageClaims, STORAGE_CLASS_NAME } from "../stacks/spec";
import { describeDevices, poolDevices } from "../capacity/sharing";
import { timeSlicedChecks } from "../stacks/sharingChecks";
import { REMOTE_COMPONENTS } from "./emulator";
import { RenderedManifest } from "./manifests";
import { RecordedResource } from "./recorder";

export interface NodePoolSummary {
    name: string;
    instanceType: string;
    gpuModel: string | null;
    gpusPerNode: number;
    gpuMemoryMiB: number;
    /** GPU sharing: "none", "time-slicing" or "mig" (capacity/sharing.ts). */
    sharing: "none" | "time-slicing" | "mig";
    /** nvidia.com/gpu a node advertises: GPUs, MIG slices or time-slice replicas. */
    devicesPerNode: number;
    /** Memory one advertised device holds, MiB (a MIG slice's; a time-sliced GPU's whole, shared). */
    deviceMemoryMiB: number;
    /** e.g. "8 GPU(s) x 2 MIG 3g.20gb slices = 16 nvidia.com/gpu (19968 MiB each)"; null for CPU pools. */
    devices: string | null;
    minSize: number;
    maxSize: number;
    capacityType: string;
    /** As the registered node group carries them (what nodes will have), not as config intends. */
    taints: NodeTaint[];
    labels: Record<string, string>;
}

function devicesSummary(p: NodePoolSpec): Pick<NodePoolSummary, "sharing" | "devicesPerNode" | "deviceMemoryMiB" | "devices"> {
    const d = poolDevices(p);
    if (!d) {
        return { sharing: "none", devicesPerNode: 0, deviceMemoryMiB: 0, devices: null };
    }
    return { sharing: d.mode === "whole" ? "none" : d.mode, devicesPerNode: d.perNode, deviceMemoryMiB: d.memoryMiB, devices: describeDevices(d) };
}

export interface WorkloadSummary {
    name: string;
    kind: "Deployment" | "Job" | "PyTorchJob";
    namespace: string;
    pool: string;
    gpusPerPod: number;
    pods: { min: number; max: number } | number;
    gpuMemoryEstimateBytes?: number;
    /** Why it runs on its pool (named in config, or the pools `pool: auto` weighed). */
    placement?: PlacementDecision;
    /** The serving runtime (Deployments only). */
    runtime?: string;
    /** Fits the pools at minimum and maximum scale (capacity simulation). */
    schedulable: boolean;
    reason?: string;
    /** The verdict at each scale: what a scheduler run at that scale should reproduce. */
    scales?: { min: ScaleVerdict; max: ScaleVerdict };
}

export interface CostFigures {
    hourlyMin: number;
    hourlyMax: number;
    monthlyMin: number;
    monthlyMax: number;
    /** Every pod on its own cheapest instance of its GPU model, all month: the world before the platform. */
    dedicatedBaselineMonthly: number;
    perPool: { pool: string; instanceType: string; nodesMin: number; nodesMax: number; hourlyMin: number; hourlyMax: number }[];
    source: string;
    /**
     * The whole bill (the fields above are its EC2 nodes at min and demand-driven max): each item at
     * min, max (demand-driven) and reachable (every pool at maxSize), totals, what is not counted.
     */
    bill: Bill;
    /** monthly-budget's verdict from the stack's policy config; absent when it sets no budget. */
    budget?: BudgetVerdict & { source: string };
}

export interface PlanSummary {
    stack: string;
    environment: string;
    /** dev or prod: the protections and the policy config (stacks/tiers.ts). */
    tier: string;
    region: string;
    valid: boolean;
    resourceCount: number;
    resourcesByType: Record<string, number>;
    remoteComponents: string[];
    manifestCount: number;
    invalidManifests: { file: string; errors: string[] }[];
    nodePools: NodePoolSummary[];
    namespaces: string[];
    storage: { storageClass: string; pvcs: { namespace: string; name: string; accessModes: string[]; size: string; mountedReadOnly: boolean }[] };
    workloads: WorkloadSummary[];
    gpuCapacity: {
        minGpus: number;
        maxGpus: number;
        /** nvidia.com/gpu advertised (GPUs, MIG slices, time-slice replicas) with every pool at minSize / maxSize. */
        minDevices: number;
        maxDevices: number;
        /** Each time-sliced pool's worst case: the `replicas` largest pods on one GPU (capacity/sharing.ts timeSlicedMemory). */
        timeSliced: { pool: string; replicas: number; fits: boolean; worstCaseBytes: number; limitBytes: number; worst: { workload: string; pods: number; estimateBytes: number }[] }[];
    };
    cost: CostFigures;
    /** GPUs requested / GPUs provisioned, at minimum and maximum scale. */
    gpuAllocation: { min: number; max: number };
    gpus: { requested: { min: number; max: number }; provisioned: { min: number; max: number } };
    /** One run of each pipeline: steps per pool, what can run at once, schedulability, GPU-hours and cost. */
    pipelines?: PipelineCapacity[];
    /** The month counted in hours (capacity/trainingTime.ts): training paid for the hours it runs. */
    time: TimeFigures;
}

export interface TimeFigures {
    monthly: { min: number; max: number };
    /** GPU-hours requested / GPU-hours provisioned over the month, at minimum and maximum scale. */
    utilisation: { min: number; max: number };
    gpuHours: { requested: { min: number; max: number }; provisioned: { min: number; max: number } };
    jobs: { name: string; hours: number; declared: boolean; gpuHours: number; extraNodeHours: { min: number; max: number }; monthly: { min: number; max: number } }[];
}

export function timeFigures(capacity: CapacityAnalysis): TimeFigures {
    const { min, max } = capacity.time;
    return {
        monthly: { min: min.monthly, max: max.monthly },
        utilisation: { min: min.utilisation, max: max.utilisation },
        gpuHours: { requested: { min: min.gpuHours.requested, max: max.gpuHours.requested }, provisioned: { min: min.gpuHours.provisioned, max: max.gpuHours.provisioned } },
        jobs: capacity.time.jobs.map((j, i) => ({
            ...j,
            gpuHours: max.perJob[i].gpuHoursRequested,
            extraNodeHours: { min: min.perJob[i].nodeHours, max: max.perJob[i].nodeHours },
            monthly: { min: min.perJob[i].monthly, max: max.perJob[i].monthly },
        })),
    };
}

export function summarizeWorkloads(spec: StackSpec, capacity: CapacityAnalysis): WorkloadSummary[] {
    const est = (bytes?: number) => (bytes !== undefined ? { gpuMemoryEstimateBytes: bytes } : {});
    const fit = (name: string) => {
        const w = capacity.workloads.find((x) => x.name === name);
        // A workload the simulation never saw (no pod template registered) cannot be called schedulable.
        if (!w) {
            return { schedulable: false, reason: "not found among the registered workloads" };
        }
        return { schedulable: w.schedulable, ...(w.schedulable ? {} : { reason: w.reason }), scales: w.scales };
    };
    return [
        ...spec.serving.map((s) => ({
            name: s.name,
            kind: "Deployment" as const,
            namespace: s.namespace,
            pool: s.pool,
            gpusPerPod: s.gpus,
            pods: { min: s.replicas.min, max: s.replicas.max },
            runtime: s.runtime,
            ...est(s.gpuMemoryEstimateBytes),
            ...(s.placement ? { placement: s.placement } : {}),
            ...fit(s.name),
        })),
        ...spec.training.map((t) => ({
            name: t.name,
            kind: t.kind,
            namespace: t.namespace,
            pool: t.pool,
            gpusPerPod: t.gpusPerPod,
            pods: 1 + t.workers,
            ...est(t.gpuMemoryEstimateBytes),
            ...(t.placement ? { placement: t.placement } : {}),
            ...fit(t.name),
        })),
        ...spec.dataSync.map((d) => ({ name: d.name, kind: "Job" as const, namespace: d.namespace, pool: d.pool, gpusPerPod: 0, pods: 1, ...fit(d.name) })),
    ];
}

/**
 * The registered labels, keyed in the order the pool defines them (the recorder sorts keys): which labels
 * and values appear is the node group's, the order only keeps plans diffing cleanly.
 */
function registeredLabels(defined: Record<string, string>, registered: Record<string, string>): Record<string, string> {
    const order = [...Object.keys(defined).filter((k) => k in registered), ...Object.keys(registered).filter((k) => !(k in defined))];
    return Object.fromEntries(order.map((k) => [k, registered[k]]));
}

export function buildSummary(
    spec: StackSpec,
    resources: RecordedResource[],
    manifests: RenderedManifest[],
    capacity: CapacityAnalysis,
    budget?: BudgetVerdict & { source: string },
): PlanSummary {
    const byType: Record<string, number> = {};
    for (const r of resources) {
        byType[r.type] = (byType[r.type] ?? 0) + 1;
    }
    const invalid = manifests.filter((m) => m.errors.length > 0).map((m) => ({ file: m.file, errors: m.errors }));
    const pvcInputs = manifests.filter((m) => m.object.kind === "PersistentVolumeClaim").map((m) => m.object);
    const gpu = gpuPools(spec);
    const registered = new Map<string, NodePoolView>();
    for (const r of resources) {
        const view = nodePoolOf(r.type, r.inputs, r.name);
        if (view && !registered.has(view.pool)) registered.set(view.pool, view);
    }
    return {
        stack: spec.stack,
        environment: spec.environment,
        tier: spec.tier,
        region: spec.region,
        valid: invalid.length === 0,
        resourceCount: resources.length,
        resourcesByType: Object.fromEntries(Object.entries(byType).sort(([a], [b]) => a.localeCompare(b))),
        remoteComponents: resources.filter((r) => REMOTE_COMPONENTS.has(r.type)).map((r) => `${r.type} ${r.name}`).sort(),
        manifestCount: manifests.length,
        invalidManifests: invalid,
        nodePools: spec.nodePools.map((p) => ({
            name: p.name,
            instanceType: p.instanceType,
            gpuModel: p.gpu?.model ?? null,
            gpusPerNode: p.gpu?.count ?? 0,
            gpuMemoryMiB: p.gpu?.memoryMiB ?? 0,
            ...devicesSummary(p),
            minSize: p.minSize,
            maxSize: p.maxSize,
            capacityType: p.capacityType,
            taints: registered.get(p.name)?.taints ?? [],
            labels: registeredLabels(poolLabels(p), registered.get(p.name)?.labels ?? {}),
        })),
        namespaces: [spec.namespaces.serving, spec.namespaces.training, ...((spec.pipelines ?? []).length > 0 ? [PIPELINES_NAMESPACE] : [])],
        storage: {
            storageClass: STORAGE_CLASS_NAME,
            pvcs: storageClaims(spec).map((c) => {
                const rendered = pvcInputs.find((o) => o.metadata.name === c.name && o.metadata.namespace === c.namespace) as
                    | { spec?: { accessModes?: string[] } }
                    | undefined;
                return {
                    namespace: c.namespace,
                    name: c.name,
                    accessModes: rendered?.spec?.accessModes ?? [],
                    size: c.size,
                    mountedReadOnly: c.mountReadOnly,
                };
            }),
        },
        workloads: summarizeWorkloads(spec, capacity),
        gpuCapacity: {
            minGpus: gpu.reduce((n, p) => n + p.minSize * p.gpu!.count, 0),
            maxGpus: gpu.reduce((n, p) => n + p.maxSize * p.gpu!.count, 0),
            minDevices: gpu.reduce((n, p) => n + p.minSize * poolDevices(p)!.perNode, 0),
            maxDevices: gpu.reduce((n, p) => n + p.maxSize * poolDevices(p)!.perNode, 0),
            timeSliced: timeSlicedChecks(spec.nodePools, spec.serving, spec.training, spec.gpuMemoryHeadroom).map((t) => ({
                pool: t.pool,
                replicas: t.replicas,
                fits: t.check.fits,
                worstCaseBytes: t.check.sumBytes,
                limitBytes: t.check.limitBytes,
                worst: t.check.worst,
            })),
        },
        cost: {
            hourlyMin: capacity.cost.hourlyMin,
            hourlyMax: capacity.cost.hourlyMax,
            monthlyMin: capacity.cost.monthlyMin,
            monthlyMax: capacity.cost.monthlyMax,
            dedicatedBaselineMonthly: capacity.cost.dedicatedBaselineMonthly,
            perPool: capacity.cost.perPool,
            source: `${CATALOG_SOURCE.prices} (${CATALOG_SOURCE.priceRegion} on-demand; ${HOURS_PER_MONTH} h/month)`,
            bill: capacity.bill,
            ...(budget ? { budget } : {}),
        },
        gpuAllocation: capacity.gpuAllocation,
        gpus: capacity.gpus,
        ...(capacity.pipelines.length > 0 ? { pipelines: capacity.pipelines } : {}),
        time: timeFigures(capacity),
    };
}
