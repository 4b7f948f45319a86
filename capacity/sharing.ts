/**
 * Sharing a GPU between pods: NVIDIA time-slicing (the device plugin advertises each GPU N times; no
 * memory isolation) and MIG (the GPU is cut into hardware slices with their own memory; the MIG manager
 * partitions, the device plugin's `single` strategy advertises one nvidia.com/gpu per slice).
 *
 * One pool config (`sharing`) becomes node labels (sharingLabels); the node's advertised GPUs, the
 * memory one advertised device holds and the most a pod may ask for all follow from those labels
 * (gpuDevices, devicesOfNode), so the planner, the kwok nodes of the conformance run, the Kueue quotas
 * and the Cluster Autoscaler's scale-from-zero template all see the same node.
 */
import { GpuFacts, GpuModel, instanceType, InstanceType } from "./catalog";
import { headroomLimitBytes } from "./gpuHeadroom";

export type GpuSharing = { timeSlicing: { replicas: number } } | { mig: { profile: string } };

/** One MIG profile as the `single` strategy uses it: every GPU of the node cut into `perGpu` equal instances. */
export interface MigProfile {
    name: string;
    /** GPU instances of this profile one GPU holds (NVML's instance count for the profile). */
    perGpu: number;
    /** Memory of one instance in MiB, as NVML reports it (MemorySizeMB of the profile). */
    memoryMiB: number;
}

/**
 * Profiles per GPU model, from NVML's GPU-instance profile info (InstanceCount, MemorySizeMB) as NVIDIA's
 * go-nvml v0.13.4-1 records them for A100-SXM4-40GB and -80GB (pkg/nvml/mock/gpus/a100.go), and the
 * names of NVIDIA mig-parted v0.15.0's example config (all-<profile>). The "+me" (media extension)
 * profiles give one instance per GPU and are left out. H100 is left out: the only table seen gives
 * nominal sizes, not measured ones, and a slice's usable memory must not be guessed.
 */
export const MIG_PROFILES: Partial<Record<GpuModel, readonly MigProfile[]>> = {
    "A100-40GB": [
        { name: "1g.5gb", perGpu: 7, memoryMiB: 4864 },
        { name: "1g.10gb", perGpu: 4, memoryMiB: 9856 },
        { name: "2g.10gb", perGpu: 3, memoryMiB: 9856 },
        { name: "3g.20gb", perGpu: 2, memoryMiB: 19968 },
        { name: "4g.20gb", perGpu: 1, memoryMiB: 19968 },
        { name: "7g.40gb", perGpu: 1, memoryMiB: 40192 },
    ],
    "A100-80GB": [
        { name: "1g.10gb", perGpu: 7, memoryMiB: 9856 },
        { name: "1g.20gb", perGpu: 4, memoryMiB: 19968 },
        { name: "2g.20gb", perGpu: 3, memoryMiB: 19968 },
        { name: "3g.40gb", perGpu: 2, memoryMiB: 40192 },
        { name: "4g.40gb", perGpu: 1, memoryMiB: 40192 },
        { name: "7g.80gb", perGpu: 1, memoryMiB: 80384 },
    ],
};

/**
 * Time-slicing replicas the config accepts. Past 16 pods per GPU each gets a sliver of compute and the
 * summed memory rule (timeSlicedMemory) leaves almost nothing per pod; 1 is no sharing.
 */
export const TIME_SLICING_REPLICAS = { min: 2, max: 16 } as const;

/** The node label the device plugin's config-manager reads to pick its config (a key of the ConfigMap). */
export const LABEL_DEVICE_PLUGIN_CONFIG = "nvidia.com/device-plugin.config";
/** The node label the MIG manager reads: the name of the mig-parted config to apply. */
export const LABEL_MIG_CONFIG = "nvidia.com/mig.config";
/** The MIG manager writes its progress here: pending, rebooting, success or failed. */
export const LABEL_MIG_CONFIG_STATE = "nvidia.com/mig.config.state";
export const MIG_STATE_SUCCESS = "success";
/** The MIG manager's DaemonSet runs where this is "true" (MIG pools only). */
export const LABEL_DEPLOY_MIG_MANAGER = "nvidia.com/gpu.deploy.mig-manager";
/**
 * While it repartitions, the MIG manager sets these to "paused-for-mig-change" (and back to "true"), then
 * waits for the GPU clients' pods to go: the DaemonSets' affinity must stop matching a paused node.
 */
export const LABEL_DEPLOY_DEVICE_PLUGIN = "nvidia.com/gpu.deploy.device-plugin";
export const LABEL_DEPLOY_DCGM_EXPORTER = "nvidia.com/gpu.deploy.dcgm-exporter";
export const PAUSED_DEPLOY_VALUES: readonly string[] = ["false", "paused-for-mig-change"];
/** Pod labels the MIG manager waits on (`kubectl wait --for=delete -l app=...`) before it resets GPUs. */
export const MIG_CLIENT_POD_LABELS = { devicePlugin: "nvidia-device-plugin-daemonset", dcgmExporter: "nvidia-dcgm-exporter" } as const;

/** The device plugin's config for pools that do not share: every GPU whole. */
export const DEFAULT_DEVICE_PLUGIN_CONFIG = "default";

export function isTimeSliced(sharing: GpuSharing | undefined): sharing is { timeSlicing: { replicas: number } } {
    return sharing !== undefined && "timeSlicing" in sharing;
}

export function isMig(sharing: GpuSharing | undefined): sharing is { mig: { profile: string } } {
    return sharing !== undefined && "mig" in sharing;
}

/** The key of the device plugin's ConfigMap a sharing pool's nodes select. */
export function devicePluginConfigName(sharing: GpuSharing | undefined): string {
    if (isTimeSliced(sharing)) {
        return `time-slicing-${sharing.timeSlicing.replicas}`;
    }
    if (isMig(sharing)) {
        return "mig-single";
    }
    return DEFAULT_DEVICE_PLUGIN_CONFIG;
}

/** The mig-parted config name a MIG pool's nodes carry in nvidia.com/mig.config. */
export function migConfigName(profile: string): string {
    return `all-${profile}`;
}

/** Node labels of a sharing pool, set at node registration (node group labels, Karpenter template labels). */
export function sharingLabels(sharing: GpuSharing | undefined): Record<string, string> {
    if (isTimeSliced(sharing)) {
        return { [LABEL_DEVICE_PLUGIN_CONFIG]: devicePluginConfigName(sharing) };
    }
    if (isMig(sharing)) {
        return {
            [LABEL_DEVICE_PLUGIN_CONFIG]: devicePluginConfigName(sharing),
            [LABEL_MIG_CONFIG]: migConfigName(sharing.mig.profile),
            [LABEL_DEPLOY_MIG_MANAGER]: "true",
        };
    }
    return {};
}

/** The sharing a node's labels ask for: the inverse of sharingLabels (undefined when they ask for none). */
export function sharingFromLabels(labels: Record<string, string>): GpuSharing | undefined {
    const mig = labels[LABEL_MIG_CONFIG];
    if (mig !== undefined && mig.startsWith("all-")) {
        return { mig: { profile: mig.slice("all-".length) } };
    }
    const replicas = /^time-slicing-(\d+)$/.exec(labels[LABEL_DEVICE_PLUGIN_CONFIG] ?? "")?.[1];
    return replicas !== undefined ? { timeSlicing: { replicas: Number(replicas) } } : undefined;
}

/**
 * Labels a node carries once it runs, beyond its registration labels: on a MIG node the MIG manager
 * writes nvidia.com/mig.config.state=success after partitioning. The planner and the conformance run's
 * kwok nodes model that steady state; the device plugin's affinity waits for it (nvidiaClientAffinity).
 */
export function runtimeLabels(labels: Record<string, string>): Record<string, string> {
    return labels[LABEL_MIG_CONFIG] !== undefined ? { ...labels, [LABEL_MIG_CONFIG_STATE]: MIG_STATE_SUCCESS } : labels;
}

export function migProfile(model: GpuModel, profile: string): MigProfile | undefined {
    return MIG_PROFILES[model]?.find((p) => p.name === profile);
}

/** What the device plugin advertises on one node of a pool, and what one advertised device is. */
export interface GpuDevices {
    mode: "whole" | "time-slicing" | "mig";
    /** Physical GPUs per node. */
    gpus: number;
    /** nvidia.com/gpu per node as the device plugin advertises it. */
    perNode: number;
    /** Memory one advertised device may use, MiB: a whole GPU, a MIG slice, or (time-slicing) the whole GPU, shared. */
    memoryMiB: number;
    /** The most nvidia.com/gpu one pod may request: the node's GPUs, or 1 on a shared GPU. */
    maxPerPod: number;
    /** Pods one physical GPU may serve at once. */
    perGpu: number;
    replicas?: number;
    profile?: string;
}

/**
 * The devices of a GPU under a sharing mode. Throws for a combination validation refuses (a MIG
 * profile the model has not, MIG on a GPU without it): config never reaches here with one.
 */
export function gpuDevices(gpu: GpuFacts, sharing: GpuSharing | undefined): GpuDevices {
    if (isTimeSliced(sharing)) {
        const n = sharing.timeSlicing.replicas;
        // failRequestsGreaterThanOne: two replicas of one GPU give no more compute, so a pod gets one.
        return { mode: "time-slicing", gpus: gpu.count, perNode: gpu.count * n, memoryMiB: gpu.memoryMiB, maxPerPod: 1, perGpu: n, replicas: n };
    }
    if (isMig(sharing)) {
        const p = migProfile(gpu.model, sharing.mig.profile);
        if (!gpu.supportsMig || !p) {
            throw new Error(`MIG profile ${sharing.mig.profile} is not one of ${gpu.model}'s: ${(MIG_PROFILES[gpu.model] ?? []).map((x) => x.name).join(", ") || "(none known)"}`);
        }
        // A CUDA process sees one MIG device: a pod asking for two could use only one of them.
        return { mode: "mig", gpus: gpu.count, perNode: gpu.count * p.perGpu, memoryMiB: p.memoryMiB, maxPerPod: 1, perGpu: p.perGpu, profile: p.name };
    }
    return { mode: "whole", gpus: gpu.count, perNode: gpu.count, memoryMiB: gpu.memoryMiB, maxPerPod: gpu.count, perGpu: 1 };
}

/** The devices of a pool's nodes (undefined for a CPU pool). */
export function poolDevices(pool: { instanceType: string; sharing?: GpuSharing }): GpuDevices | undefined {
    const gpu = instanceType(pool.instanceType).gpu;
    return gpu ? gpuDevices(gpu, pool.sharing) : undefined;
}

/**
 * The GPU entities DCGM's exporter writes series for on one node: every physical GPU, and on a MIG node
 * every GPU instance besides (its profiling fields, the ones MIG utilisation is read from, come per
 * instance). Time-slicing adds no entity: its replicas share one GPU's series.
 */
export function dcgmEntities(d: GpuDevices): number {
    return d.mode === "mig" ? d.gpus + d.perNode : d.gpus;
}

/** The devices a node of `instance` advertises, from its labels (undefined for a CPU instance). */
export function devicesOfNode(instance: InstanceType, labels: Record<string, string>): GpuDevices | undefined {
    return instance.gpu ? gpuDevices(instance.gpu, sharingFromLabels(labels)) : undefined;
}

/** One line for reports: "8 GPUs x 2 MIG 3g.20gb slices = 16 nvidia.com/gpu". */
export function describeDevices(d: GpuDevices): string {
    switch (d.mode) {
        case "whole":
            return `${d.gpus} whole GPU(s)`;
        case "time-slicing":
            return `${d.gpus} GPU(s) x ${d.replicas} time-slice replicas = ${d.perNode} nvidia.com/gpu (memory shared)`;
        case "mig":
            return `${d.gpus} GPU(s) x ${d.perGpu} MIG ${d.profile} slices = ${d.perNode} nvidia.com/gpu (${d.memoryMiB} MiB each)`;
    }
}

/** A problem with a pool's sharing block, for stacks/ to phrase with the config key. */
export interface SharingProblem {
    path: string;
    wrong: string;
    got: unknown;
    allowed: string;
}

/** What is wrong with `sharing` on a pool of `gpu` (undefined: a CPU instance type). */
export function sharingProblems(instanceTypeName: string, gpu: GpuFacts | undefined, sharing: GpuSharing): SharingProblem[] {
    if (!gpu) {
        return [{ path: "sharing", wrong: `is set but ${instanceTypeName} has no GPU`, got: sharing, allowed: "sharing only on a GPU pool" }];
    }
    if (isMig(sharing)) {
        const profiles = MIG_PROFILES[gpu.model];
        if (!gpu.supportsMig) {
            return [{ path: "sharing.mig", wrong: `is set but ${gpu.model} (${instanceTypeName}) has no MIG`, got: sharing.mig, allowed: "sharing.timeSlicing on this pool, or MIG on an A100 pool (p4d.24xlarge, p4de.24xlarge)" }];
        }
        if (!profiles) {
            return [{ path: "sharing.mig.profile", wrong: `names a profile, but the platform has no measured MIG table for ${gpu.model} (${instanceTypeName})`, got: sharing.mig.profile, allowed: `MIG on ${Object.keys(MIG_PROFILES).join(" or ")} pools` }];
        }
        if (!profiles.some((p) => p.name === sharing.mig.profile)) {
            return [{ path: "sharing.mig.profile", wrong: `is not a MIG profile of ${gpu.model}`, got: sharing.mig.profile, allowed: profiles.map((p) => p.name).join(", ") }];
        }
    }
    return [];
}

/** The device plugin's config file (version v1) for a sharing mode: what the config-manager copies into place. */
export function devicePluginConfig(sharing: GpuSharing | undefined): Record<string, unknown> {
    const flags = { migStrategy: isMig(sharing) ? "single" : "none", failOnInitError: true };
    if (!isTimeSliced(sharing)) {
        return { version: "v1", flags };
    }
    return {
        version: "v1",
        flags,
        sharing: {
            timeSlicing: {
                renameByDefault: false,
                failRequestsGreaterThanOne: true,
                resources: [{ name: "nvidia.com/gpu", replicas: sharing.timeSlicing.replicas }],
            },
        },
    };
}

/**
 * PCI device IDs mig-parted's device-filter matches, per GPU model (the SXM4 boards of p4d and p4de),
 * as NVIDIA mig-parted v0.15.0's example config lists them for A100-40GB and A100-80GB.
 */
export const MIG_DEVICE_FILTERS: Partial<Record<GpuModel, string>> = {
    "A100-40GB": "0x20B010DE",
    "A100-80GB": "0x20B210DE",
};

/**
 * mig-parted's config (version v1): all-disabled, plus one all-<profile> entry per profile in use, with a
 * device-filter per GPU model so one name can mean 4 slices on a 40GB A100 and 7 on an 80GB one.
 */
export function migPartedConfig(uses: { model: GpuModel; profile: string }[]): Record<string, unknown> {
    const configs: Record<string, unknown> = { "all-disabled": [{ devices: "all", "mig-enabled": false }] };
    const names = [...new Set(uses.map((u) => u.profile))].sort();
    for (const profile of names) {
        const models = [...new Set(uses.filter((u) => u.profile === profile).map((u) => u.model))].sort();
        configs[migConfigName(profile)] = models.map((model) => {
            const p = migProfile(model, profile);
            if (!p || !MIG_DEVICE_FILTERS[model]) {
                throw new Error(`no MIG profile ${profile} on ${model}`);
            }
            return { "device-filter": MIG_DEVICE_FILTERS[model], devices: "all", "mig-enabled": true, "mig-devices": { [profile]: p.perGpu } };
        });
    }
    return { version: "v1", "mig-configs": configs };
}

/** One pod's GPU memory on a time-sliced pool: what the planner sums per physical GPU. */
export interface SlicedPod {
    workload: string;
    estimateBytes: number;
    /** Pods of the workload (at maximum scale) that may land on the pool. */
    pods: number;
}

export interface TimeSlicedMemoryCheck {
    fits: boolean;
    /** The pods that could share one GPU with the most memory between them: the `replicas` largest. */
    worst: { workload: string; pods: number; estimateBytes: number }[];
    sumBytes: number;
    usableBytes: number;
    limitBytes: number;
}

/**
 * Time-slicing gives no memory isolation and the scheduler does not know which physical GPU a replica
 * is on: any `replicas` pods of the pool may share one GPU. So the `replicas` largest per-pod estimates
 * (each workload counted as many times as it has pods) must together fit the GPU's usable memory, with
 * the same headroom as a whole GPU (capacity/gpuHeadroom).
 */
export function timeSlicedMemory(replicas: number, usableBytes: number, headroom: number, pods: SlicedPod[]): TimeSlicedMemoryCheck {
    const expanded = pods.flatMap((p) => Array.from({ length: p.pods }, () => p)).sort((a, b) => b.estimateBytes - a.estimateBytes || a.workload.localeCompare(b.workload));
    const top = expanded.slice(0, replicas);
    const worst: TimeSlicedMemoryCheck["worst"] = [];
    for (const p of top) {
        const last = worst[worst.length - 1];
        if (last?.workload === p.workload) {
            last.pods += 1;
        } else {
            worst.push({ workload: p.workload, pods: 1, estimateBytes: p.estimateBytes });
        }
    }
    const sumBytes = top.reduce((n, p) => n + p.estimateBytes, 0);
    const limitBytes = headroomLimitBytes(usableBytes, headroom);
    return { fits: sumBytes <= limitBytes, worst, sumBytes, usableBytes, limitBytes };
}
