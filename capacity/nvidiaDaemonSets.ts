/**
 * Where the NVIDIA DaemonSets run and what they ask of a node, for every pool mix: the component
 * (components/nvidia.ts) renders these shapes, and the planner's own view of a node before anything is
 * rendered (Kueue quotas, `pool: auto`, pipeline placement) takes its loads from here.
 *
 * - With a MIG pool, the device plugin and the DCGM exporter follow NVIDIA's MIG manager protocol: they
 *   leave a node whose nvidia.com/gpu.deploy.<client> label says paused (the MIG manager then resets the
 *   GPUs), and on a MIG node they start only once nvidia.com/mig.config.state is success, so no pod is ever
 *   handed a whole GPU of a pool meant to be sliced.
 * - With any sharing pool, the device plugin runs its config-manager beside it.
 */
import { DaemonSetLoad } from "./allocatable";
import { NodePoolShape, Taint, gpuDaemonSetTolerations, gpuNodeSelector, isGpuPool } from "./pools";
import { NodeSelectorRequirement, RequiredNodeAffinity } from "./predicates";
import { parseCpu, parseMemory } from "./quantity";
import { NO_RESOURCES, PodResources } from "./resources";
import {
    isMig,
    LABEL_DEPLOY_DCGM_EXPORTER,
    LABEL_DEPLOY_DEVICE_PLUGIN,
    LABEL_DEPLOY_MIG_MANAGER,
    LABEL_MIG_CONFIG,
    LABEL_MIG_CONFIG_STATE,
    MIG_STATE_SUCCESS,
    PAUSED_DEPLOY_VALUES,
} from "./sharing";
import {
    DCGM_EXPORTER_NAME,
    DCGM_EXPORTER_RESOURCES,
    DEVICE_PLUGIN_CONFIG_MANAGER_RESOURCES,
    DEVICE_PLUGIN_NAME,
    DEVICE_PLUGIN_RESOURCES,
    MIG_MANAGER_NAME,
    MIG_MANAGER_RESOURCES,
} from "../facts/nvidia";

export function anySharing(pools: NodePoolShape[]): boolean {
    return pools.some((p) => isGpuPool(p) && p.sharing !== undefined);
}

export function anyMig(pools: NodePoolShape[]): boolean {
    return pools.some((p) => isGpuPool(p) && isMig(p.sharing));
}

/**
 * The affinity of a GPU client (device plugin, DCGM exporter) when MIG pools exist: on GPU nodes whose
 * deploy label is not paused, and either not a MIG node or one whose partitioning succeeded. Undefined
 * without MIG pools (the nodeSelector alone decides).
 */
export function gpuClientAffinity(pools: NodePoolShape[], deployLabel: string): RequiredNodeAffinity | undefined {
    if (!anyMig(pools)) {
        return undefined;
    }
    const base: NodeSelectorRequirement[] = [{ key: deployLabel, operator: "NotIn", values: [...PAUSED_DEPLOY_VALUES] }];
    return {
        nodeSelectorTerms: [
            { matchExpressions: [...base, { key: LABEL_MIG_CONFIG, operator: "DoesNotExist" }] },
            { matchExpressions: [...base, { key: LABEL_MIG_CONFIG_STATE, operator: "In", values: [MIG_STATE_SUCCESS] }] },
        ],
    };
}

export const devicePluginAffinity = (pools: NodePoolShape[]) => gpuClientAffinity(pools, LABEL_DEPLOY_DEVICE_PLUGIN);
export const dcgmExporterAffinity = (pools: NodePoolShape[]) => gpuClientAffinity(pools, LABEL_DEPLOY_DCGM_EXPORTER);

/** The MIG manager runs on MIG pools only: they carry this label. */
export function migManagerNodeSelector(): Record<string, string> {
    return { [LABEL_DEPLOY_MIG_MANAGER]: "true" };
}

function requestsOf(...containers: { requests: { cpu: string; memory: string } }[]): PodResources {
    return {
        ...NO_RESOURCES,
        cpuMillis: containers.reduce((n, c) => n + parseCpu(c.requests.cpu), 0),
        memoryBytes: containers.reduce((n, c) => n + parseMemory(c.requests.memory), 0),
    };
}

/** The NVIDIA DaemonSets of a stack with these pools, as the packer counts them on a node. */
export function nvidiaDaemonSetLoads(pools: NodePoolShape[], gpuTaint: Taint): DaemonSetLoad[] {
    const gpu = pools.filter(isGpuPool);
    if (gpu.length === 0) {
        return [];
    }
    const tolerations = gpuDaemonSetTolerations(gpu, gpuTaint);
    const nodeSelector = gpuNodeSelector();
    const pluginContainers = anySharing(gpu) ? [DEVICE_PLUGIN_RESOURCES, DEVICE_PLUGIN_CONFIG_MANAGER_RESOURCES] : [DEVICE_PLUGIN_RESOURCES];
    const withAffinity = (a: RequiredNodeAffinity | undefined) => (a ? { affinity: a } : {});
    const loads: DaemonSetLoad[] = [
        { name: DEVICE_PLUGIN_NAME, requests: requestsOf(...pluginContainers), tolerations, nodeSelector, ...withAffinity(devicePluginAffinity(gpu)) },
        { name: DCGM_EXPORTER_NAME, requests: requestsOf(DCGM_EXPORTER_RESOURCES), tolerations, nodeSelector, ...withAffinity(dcgmExporterAffinity(gpu)) },
    ];
    if (anyMig(gpu)) {
        loads.push({ name: MIG_MANAGER_NAME, requests: requestsOf(MIG_MANAGER_RESOURCES), tolerations, nodeSelector: migManagerNodeSelector() });
    }
    return loads;
}


