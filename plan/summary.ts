/** summary.json: the machine-readable digest of a plan, derived from the spec and what was registered. */
import type { CapacityAnalysis, ScaleVerdict } from "../capacity/analysis";
import type { Bill } from "../capacity/bill";
import type { BudgetVerdict } from "../capacity/limits";
import { NodePoolView, nodePoolOf } from "../capacity/nodeGroups";
import { poolLabels } from "../capacity/pools";
import type { NodeTaint } from "../capacity/predicates";
import { CATALOG_SOURCE, HOURS_PER_MONTH } from "../capacity/catalog";
import { gpuPools, StackSpec, storageClaims, STORAGE_CLASS_NAME } from "../stacks/spec";
import { REMOTE_COMPONENTS } from "./emulator";
import { RenderedManifest } from "./manifests";
import { RecordedResource } from "./recorder";

export interface NodePoolSummary {
    name: string;
    instanceType: string;
    gpuModel: string | null;
    gpusPerNode: number;
    gpuMemoryMiB: number;
    minSize: number;
    maxSize: number;
    capacityType: string;
    /** As the registered node group carries them (what nodes will have), not as config intends. */
    taints: NodeTaint[];
    labels: Record<string, string>;
}

export interface WorkloadSummary {
    name: string;
    kind: "Deployment" | "Job" | "PyTorchJob";
    namespace: string;
    pool: string;
    gpusPerPod: number;
    pods: { min: number; max: number } | number;
    gpuMemoryEstimateBytes?: number;
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
    gpuCapacity: { minGpus: number; maxGpus: number };
    cost: CostFigures;
    /** GPUs requested / GPUs provisioned, at minimum and maximum scale. */
    gpuAllocation: { min: number; max: number };
    gpus: { requested: { min: number; max: number }; provisioned: { min: number; max: number } };
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
            ...est(s.gpuMemoryEstimateBytes),
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
            minSize: p.minSize,
            maxSize: p.maxSize,
            capacityType: p.capacityType,
            taints: registered.get(p.name)?.taints ?? [],
            labels: registeredLabels(poolLabels(p), registered.get(p.name)?.labels ?? {}),
        })),
        namespaces: [spec.namespaces.serving, spec.namespaces.training],
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
    };
}
