/** summary.json: the machine-readable digest of a plan, derived from the spec and what was registered. */
import { poolLabels, poolTaints, Taint } from "../capacity/pools";
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
}

export function summarizeWorkloads(spec: StackSpec): WorkloadSummary[] {
    const est = (bytes?: number) => (bytes !== undefined ? { gpuMemoryEstimateBytes: bytes } : {});
    return [
        ...spec.serving.map((s) => ({
            name: s.name,
            kind: "Deployment" as const,
            namespace: s.namespace,
            pool: s.pool,
            gpusPerPod: s.gpus,
            pods: { min: s.replicas.min, max: s.replicas.max },
            ...est(s.gpuMemoryEstimateBytes),
        })),
        ...spec.training.map((t) => ({
            name: t.name,
            kind: t.kind,
            namespace: t.namespace,
            pool: t.pool,
            gpusPerPod: t.gpusPerPod,
            pods: 1 + t.workers,
            ...est(t.gpuMemoryEstimateBytes),
        })),
    ];
}

export function buildSummary(spec: StackSpec, resources: RecordedResource[], manifests: RenderedManifest[]): PlanSummary {
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
        remoteComponents: resources.filter((r) => REMOTE_COMPONENTS.has(r.type)).map((r) => `${r.type} ${r.name}`),
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
        workloads: summarizeWorkloads(spec),
        gpuCapacity: {
            minGpus: gpu.reduce((n, p) => n + p.minSize * p.gpu!.count, 0),
            maxGpus: gpu.reduce((n, p) => n + p.maxSize * p.gpu!.count, 0),
        },
    };
}
