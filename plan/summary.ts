/** summary.json: the machine-readable digest of a plan, derived from the spec and what was registered. */
import { poolLabels, poolTaints, Taint } from "../capacity/pools";
import type { CapacityAnalysis } from "../policy/rules/capacity";
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
    taints: Taint[];
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
    /** Fits its pool at minimum and maximum scale (capacity simulation). */
    schedulable: boolean;
    reason?: string;
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
}

export interface PlanSummary {
    stack: string;
    environment: string;
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
        return w.schedulable ? { schedulable: true } : { schedulable: false, reason: w.reason };
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
    ];
}

export function buildSummary(spec: StackSpec, resources: RecordedResource[], manifests: RenderedManifest[], capacity: CapacityAnalysis): PlanSummary {
    const byType: Record<string, number> = {};
    for (const r of resources) {
        byType[r.type] = (byType[r.type] ?? 0) + 1;
    }
    const invalid = manifests.filter((m) => m.errors.length > 0).map((m) => ({ file: m.file, errors: m.errors }));
    const pvcInputs = manifests.filter((m) => m.object.kind === "PersistentVolumeClaim").map((m) => m.object);
    const gpu = gpuPools(spec);
    return {
        stack: spec.stack,
        environment: spec.environment,
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
            taints: poolTaints(p, spec.gpuTaint),
            labels: poolLabels(p),
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
        },
        gpuAllocation: capacity.gpuAllocation,
        gpus: capacity.gpus,
    };
}
