/** Names of the NVIDIA stack, shared by the component that deploys it and the policies that look for it. */
export const NVIDIA_NAMESPACE = "kube-system";
export const DEVICE_PLUGIN_NAME = "nvidia-device-plugin";
export const DCGM_EXPORTER_NAME = "dcgm-exporter";
export const DCGM_METRICS_PORT = 9400;
/** The DaemonSets (namespace/name) that tolerate the GPU taint without requesting GPUs. */
export const NVIDIA_DAEMONSETS = [`${NVIDIA_NAMESPACE}/${DEVICE_PLUGIN_NAME}`, `${NVIDIA_NAMESPACE}/${DCGM_EXPORTER_NAME}`];
/**
 * Requests and limits of the two DaemonSets: the planner reads them from the rendered DaemonSets; the
 * Kueue quotas (capacity/queues.ts) and `pool: auto` read them from here, so all see the same node.
 */
export const DEVICE_PLUGIN_RESOURCES = { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "200m", memory: "256Mi" } };
export const DCGM_EXPORTER_RESOURCES = { requests: { cpu: "100m", memory: "128Mi" }, limits: { cpu: "200m", memory: "512Mi" } };
