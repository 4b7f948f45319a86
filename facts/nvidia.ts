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
/**
 * The device plugin's config-manager (an init container and a sidecar in the plugin's pod, from the same
 * image): it copies the ConfigMap key a node's nvidia.com/device-plugin.config label names into place and
 * restarts the plugin when the label changes. Deployed only when a pool shares its GPUs.
 */
export const DEVICE_PLUGIN_CONFIG_MANAGER_RESOURCES = { requests: { cpu: "10m", memory: "32Mi" }, limits: { cpu: "50m", memory: "64Mi" } };
export const DEVICE_PLUGIN_CONFIGMAP = "nvidia-device-plugin-configs";
/** NVIDIA's MIG manager (k8s-mig-manager, from NVIDIA/mig-parted): partitions GPUs on MIG pools. */
export const MIG_MANAGER_NAME = "nvidia-mig-manager";
export const MIG_MANAGER_DAEMONSET = `${NVIDIA_NAMESPACE}/${MIG_MANAGER_NAME}`;
export const MIG_MANAGER_RESOURCES = { requests: { cpu: "50m", memory: "128Mi" }, limits: { cpu: "500m", memory: "512Mi" } };
export const MIG_PARTED_CONFIGMAP = "nvidia-mig-parted-config";
export const MIG_GPU_CLIENTS_CONFIGMAP = "nvidia-mig-gpu-clients";
