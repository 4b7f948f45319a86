import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { gpuDaemonSetTolerations, gpuNodeSelector, NodePoolShape, poolGpu, Taint } from "../capacity/pools";
import type { RequiredNodeAffinity } from "../capacity/predicates";
import { anyMig, anySharing, dcgmExporterAffinity, devicePluginAffinity, migManagerNodeSelector } from "../capacity/nvidiaDaemonSets";
import {
    DEFAULT_DEVICE_PLUGIN_CONFIG,
    devicePluginConfig,
    devicePluginConfigName,
    isMig,
    LABEL_DEVICE_PLUGIN_CONFIG,
    MIG_CLIENT_POD_LABELS,
    migPartedConfig,
} from "../capacity/sharing";
import { VERSIONS } from "../facts/versions";
import {
    DCGM_EXPORTER_NAME,
    DCGM_EXPORTER_RESOURCES,
    DCGM_METRICS_PORT,
    DEVICE_PLUGIN_CONFIG_MANAGER_RESOURCES,
    DEVICE_PLUGIN_CONFIGMAP,
    DEVICE_PLUGIN_NAME,
    DEVICE_PLUGIN_RESOURCES,
    MIG_GPU_CLIENTS_CONFIGMAP,
    MIG_MANAGER_NAME,
    MIG_MANAGER_RESOURCES,
    MIG_PARTED_CONFIGMAP,
} from "../facts/nvidia";
import { DCGM_COUNTERS_CONFIGMAP, DCGM_COUNTERS_DIR, DCGM_COUNTERS_FILE, dcgmCountersCsv } from "../facts/dcgmCounters";

export { DCGM_EXPORTER_NAME, DCGM_METRICS_PORT, DEVICE_PLUGIN_NAME } from "../facts/nvidia";

export interface NvidiaStackArgs {
    /** Every GPU pool: the DaemonSets tolerate exactly their taints (pitfall 1). */
    gpuPools: NodePoolShape[];
    gpuTaint: Taint;
    namespace: string;
}

/** A pod spec's required node affinity from the planner's shape (capacity/nvidiaDaemonSets.ts). */
function affinityOf(a: RequiredNodeAffinity | undefined): { affinity?: k8s.types.input.core.v1.Affinity } {
    return a ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: a.nodeSelectorTerms ?? [] } } } } : {};
}

// The capacity planner reads the DaemonSets' resources (facts/nvidia.ts) from the rendered objects.

/**
 * The NVIDIA device plugin (advertises nvidia.com/gpu) and the DCGM exporter (GPU metrics with
 * pod/namespace/container labels), on GPU nodes only, tolerating the GPU pools' taints.
 */
export class NvidiaStack extends pulumi.ComponentResource {
    public readonly devicePluginName: string = DEVICE_PLUGIN_NAME;
    public readonly dcgmServiceName: string = DCGM_EXPORTER_NAME;

    constructor(name: string, args: NvidiaStackArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:nvidia:NvidiaStack", name, {}, opts);
        const tolerations = gpuDaemonSetTolerations(args.gpuPools, args.gpuTaint);
        const nodeSelector = gpuNodeSelector();
        const common = { priorityClassName: "system-node-critical", tolerations, nodeSelector };

        const sharing = anySharing(args.gpuPools);
        const mig = anyMig(args.gpuPools);
        const pluginLabels = { "app.kubernetes.io/name": DEVICE_PLUGIN_NAME };
        // The MIG manager finds the GPU clients it must wait for by these pod labels (capacity/sharing.ts).
        const pluginPodLabels = mig ? { ...pluginLabels, app: MIG_CLIENT_POD_LABELS.devicePlugin } : pluginLabels;
        const pluginAffinity = devicePluginAffinity(args.gpuPools);
        const pluginSecurity = { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"], ...(mig ? { add: ["SYS_ADMIN"] } : {}) } };
        const pluginDeps: pulumi.Resource[] = [];
        let configManager: { account: string; volumes: k8s.types.input.core.v1.Volume[]; init: k8s.types.input.core.v1.Container; sidecar: k8s.types.input.core.v1.Container } | undefined;
        if (sharing) {
            pluginDeps.push(...this.devicePluginConfigs(name, args, pluginLabels));
            const env = (oneshot: boolean): k8s.types.input.core.v1.EnvVar[] => [
                { name: "ONESHOT", value: String(oneshot) },
                { name: "KUBECONFIG", value: "" },
                { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                { name: "NODE_LABEL", value: LABEL_DEVICE_PLUGIN_CONFIG },
                { name: "CONFIG_FILE_SRCDIR", value: "/available-configs" },
                { name: "CONFIG_FILE_DST", value: "/config/config.yaml" },
                { name: "DEFAULT_CONFIG", value: DEFAULT_DEVICE_PLUGIN_CONFIG },
                { name: "FALLBACK_STRATEGIES", value: "named" },
                // The sidecar sends SIGHUP to the plugin when the label changes; the init container only copies.
                { name: "SEND_SIGNAL", value: String(!oneshot) },
                { name: "SIGNAL", value: oneshot ? "" : "1" },
                { name: "PROCESS_TO_SIGNAL", value: oneshot ? "" : "nvidia-device-plugin" },
            ];
            const mounts = [
                { name: "available-configs", mountPath: "/available-configs", readOnly: true },
                { name: "config", mountPath: "/config" },
            ];
            const manager = (container: string, oneshot: boolean): k8s.types.input.core.v1.Container => ({
                name: container,
                image: VERSIONS.nvidiaDevicePlugin,
                command: ["config-manager"],
                env: env(oneshot),
                securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                resources: DEVICE_PLUGIN_CONFIG_MANAGER_RESOURCES,
                volumeMounts: mounts,
            });
            configManager = {
                account: DEVICE_PLUGIN_NAME,
                volumes: [
                    { name: "available-configs", configMap: { name: DEVICE_PLUGIN_CONFIGMAP } },
                    { name: "config", emptyDir: {} },
                ],
                init: manager("config-manager-init", true),
                sidecar: manager("config-manager", false),
            };
        }
        new k8s.apps.v1.DaemonSet(
            `${name}-device-plugin`,
            {
                metadata: { name: DEVICE_PLUGIN_NAME, namespace: args.namespace, labels: pluginLabels },
                spec: {
                    selector: { matchLabels: pluginLabels },
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels: pluginPodLabels },
                        spec: {
                            ...common,
                            ...affinityOf(pluginAffinity),
                            // The config-manager reads its node's label: the only reason this pod calls the API.
                            automountServiceAccountToken: configManager !== undefined,
                            ...(configManager ? { serviceAccountName: configManager.account, shareProcessNamespace: true, initContainers: [configManager.init] } : {}),
                            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
                            containers: [
                                {
                                    name: "nvidia-device-plugin",
                                    image: VERSIONS.nvidiaDevicePlugin,
                                    ...(configManager || mig
                                        ? {
                                              env: [
                                                  ...(configManager ? [{ name: "CONFIG_FILE", value: "/config/config.yaml" }] : []),
                                                  // MIG devices are watched for health only when asked (upstream's chart sets it with MIG).
                                                  ...(mig ? [{ name: "NVIDIA_MIG_MONITOR_DEVICES", value: "all" }] : []),
                                              ],
                                          }
                                        : {}),
                                    securityContext: pluginSecurity,
                                    resources: DEVICE_PLUGIN_RESOURCES,
                                    volumeMounts: [
                                        { name: "device-plugin", mountPath: "/var/lib/kubelet/device-plugins" },
                                        ...(configManager ? [{ name: "config", mountPath: "/config", readOnly: true }] : []),
                                    ],
                                },
                                ...(configManager ? [configManager.sidecar] : []),
                            ],
                            volumes: [{ name: "device-plugin", hostPath: { path: "/var/lib/kubelet/device-plugins" } }, ...(configManager?.volumes ?? [])],
                        },
                    },
                },
            },
            { parent: this, dependsOn: pluginDeps },
        );

        const dcgmLabels = { "app.kubernetes.io/name": DCGM_EXPORTER_NAME };
        const dcgmAffinity = dcgmExporterAffinity(args.gpuPools);
        // The fields it collects, as a file of our own: alerts and dashboards are checked against it.
        const counters = new k8s.core.v1.ConfigMap(
            `${name}-dcgm-counters`,
            { metadata: { name: DCGM_COUNTERS_CONFIGMAP, namespace: args.namespace, labels: dcgmLabels }, data: { [DCGM_COUNTERS_FILE]: dcgmCountersCsv() } },
            { parent: this },
        );
        new k8s.apps.v1.DaemonSet(
            `${name}-dcgm-exporter`,
            {
                metadata: { name: DCGM_EXPORTER_NAME, namespace: args.namespace, labels: dcgmLabels },
                spec: {
                    selector: { matchLabels: dcgmLabels },
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels: mig ? { ...dcgmLabels, app: MIG_CLIENT_POD_LABELS.dcgmExporter } : dcgmLabels },
                        spec: {
                            ...common,
                            ...affinityOf(dcgmAffinity),
                            automountServiceAccountToken: false,
                            containers: [
                                {
                                    name: "dcgm-exporter",
                                    image: VERSIONS.dcgmExporter,
                                    ports: [{ name: "metrics", containerPort: DCGM_METRICS_PORT }],
                                    env: [
                                        { name: "DCGM_EXPORTER_KUBERNETES", value: "true" },
                                        // Upstream's manifest sets it: the exporter labels series with the node it runs on.
                                        { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
                                        { name: "DCGM_EXPORTER_COLLECTORS", value: `${DCGM_COUNTERS_DIR}/${DCGM_COUNTERS_FILE}` },
                                    ],
                                    securityContext: {
                                        runAsNonRoot: false,
                                        allowPrivilegeEscalation: false,
                                        // Profiling counters need SYS_ADMIN; nothing else is kept.
                                        capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] },
                                    },
                                    resources: DCGM_EXPORTER_RESOURCES,
                                    readinessProbe: { httpGet: { path: "/health", port: DCGM_METRICS_PORT }, initialDelaySeconds: 45, periodSeconds: 10 },
                                    livenessProbe: { httpGet: { path: "/health", port: DCGM_METRICS_PORT }, initialDelaySeconds: 45, periodSeconds: 20 },
                                    volumeMounts: [
                                        { name: "pod-resources", mountPath: "/var/lib/kubelet/pod-resources", readOnly: true },
                                        { name: "counters", mountPath: DCGM_COUNTERS_DIR, readOnly: true },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "pod-resources", hostPath: { path: "/var/lib/kubelet/pod-resources" } },
                                { name: "counters", configMap: { name: DCGM_COUNTERS_CONFIGMAP } },
                            ],
                        },
                    },
                },
            },
            { parent: this, dependsOn: [counters] },
        );

        new k8s.core.v1.Service(
            `${name}-dcgm-exporter`,
            {
                metadata: { name: DCGM_EXPORTER_NAME, namespace: args.namespace, labels: dcgmLabels },
                spec: { selector: dcgmLabels, ports: [{ name: "metrics", port: DCGM_METRICS_PORT, targetPort: DCGM_METRICS_PORT }] },
            },
            { parent: this },
        );

        if (mig) {
            this.migManager(name, args, tolerations);
        }

        this.registerOutputs({});
    }

    /**
     * The device plugin's configs, one ConfigMap key per sharing mode in use plus `default` (every GPU whole),
     * and the account whose token lets the config-manager read its node's nvidia.com/device-plugin.config label.
     * The files are JSON, which the plugin's YAML reader takes as it is.
     */
    private devicePluginConfigs(name: string, args: NvidiaStackArgs, labels: Record<string, string>): pulumi.Resource[] {
        const data: Record<string, string> = { [DEFAULT_DEVICE_PLUGIN_CONFIG]: JSON.stringify(devicePluginConfig(undefined), null, 2) };
        for (const pool of args.gpuPools) {
            if (pool.sharing) {
                data[devicePluginConfigName(pool.sharing)] = JSON.stringify(devicePluginConfig(pool.sharing), null, 2);
            }
        }
        const configs = new k8s.core.v1.ConfigMap(`${name}-device-plugin-configs`, { metadata: { name: DEVICE_PLUGIN_CONFIGMAP, namespace: args.namespace, labels }, data }, { parent: this });
        // The config-manager reads its own node's nvidia.com/device-plugin.config label.
        const { account, binding } = this.nodeAccess(`${name}-device-plugin`, DEVICE_PLUGIN_NAME, args.namespace, labels, ["get", "list", "watch"]);
        return [configs, account, binding];
    }

    /** A ServiceAccount of `account` and a ClusterRole (of the same name) bound to it with `verbs` on nodes. */
    private nodeAccess(urnName: string, account: string, namespace: string, labels: Record<string, string>, verbs: string[]) {
        const sa = new k8s.core.v1.ServiceAccount(urnName, { metadata: { name: account, namespace, labels } }, { parent: this });
        const role = new k8s.rbac.v1.ClusterRole(urnName, { metadata: { name: account, labels }, rules: [{ apiGroups: [""], resources: ["nodes"], verbs }] }, { parent: this });
        const binding = new k8s.rbac.v1.ClusterRoleBinding(
            urnName,
            {
                metadata: { name: account, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: account },
                subjects: [{ kind: "ServiceAccount", name: account, namespace }],
            },
            { parent: this, dependsOn: [role, sa] },
        );
        return { account: sa, binding };
    }

    /**
     * NVIDIA's MIG manager on MIG pools: it reads nvidia.com/mig.config (all-<profile>), applies that
     * mig-parted config to every GPU, and reports nvidia.com/mig.config.state. Before it resets GPUs it
     * pauses the device plugin and DCGM exporter through their deploy labels and waits for their pods
     * (by the `app` labels above) to go. The driver is the EKS NVIDIA AMI's, on the host: driver root /,
     * seen at /host inside the container. Privileged: it resets GPUs and stops host services.
     */
    private migManager(name: string, args: NvidiaStackArgs, tolerations: k8s.types.input.core.v1.Toleration[]) {
        const labels = { "app.kubernetes.io/name": MIG_MANAGER_NAME };
        const uses = args.gpuPools.filter((p) => isMig(p.sharing)).map((p) => ({ model: poolGpu(p)!.model, profile: (p.sharing as { mig: { profile: string } }).mig.profile }));
        const parted = new k8s.core.v1.ConfigMap(
            `${name}-mig-parted-config`,
            { metadata: { name: MIG_PARTED_CONFIGMAP, namespace: args.namespace, labels }, data: { "config.yaml": JSON.stringify(migPartedConfig(uses), null, 2) } },
            { parent: this },
        );
        // Host services that hold the GPUs; the EKS AMI runs none of these by default, so the list is a guard.
        const clients = new k8s.core.v1.ConfigMap(
            `${name}-mig-gpu-clients`,
            {
                metadata: { name: MIG_GPU_CLIENTS_CONFIGMAP, namespace: args.namespace, labels },
                data: { "clients.yaml": JSON.stringify({ version: "v1", "systemd-services": ["nvidia-dcgm.service", "dcgm-exporter.service"] }, null, 2) },
            },
            { parent: this },
        );
        // Its own node's labels: it reads nvidia.com/mig.config and writes the state and deploy labels.
        const { account, binding: clusterBinding } = this.nodeAccess(`${name}-mig-manager`, MIG_MANAGER_NAME, args.namespace, labels, ["get", "list", "watch", "patch", "update"]);
        const role = new k8s.rbac.v1.Role(
            `${name}-mig-manager`,
            {
                metadata: { name: MIG_MANAGER_NAME, namespace: args.namespace, labels },
                rules: [
                    // It waits for the GPU clients' pods to go, and deletes validator pods, in this namespace only.
                    { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch", "delete"] },
                    { apiGroups: [""], resources: ["configmaps"], verbs: ["get", "list", "watch", "create", "update", "patch"] },
                ],
            },
            { parent: this },
        );
        const binding = new k8s.rbac.v1.RoleBinding(
            `${name}-mig-manager`,
            {
                metadata: { name: MIG_MANAGER_NAME, namespace: args.namespace, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: MIG_MANAGER_NAME },
                subjects: [{ kind: "ServiceAccount", name: MIG_MANAGER_NAME, namespace: args.namespace }],
            },
            { parent: this, dependsOn: [role, account] },
        );
        const fieldEnv = (envName: string, fieldPath: string) => ({ name: envName, valueFrom: { fieldRef: { fieldPath } } });
        new k8s.apps.v1.DaemonSet(
            `${name}-mig-manager`,
            {
                metadata: { name: MIG_MANAGER_NAME, namespace: args.namespace, labels },
                spec: {
                    selector: { matchLabels: labels },
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels },
                        spec: {
                            priorityClassName: "system-node-critical",
                            tolerations,
                            nodeSelector: migManagerNodeSelector(),
                            serviceAccountName: MIG_MANAGER_NAME,
                            automountServiceAccountToken: true,
                            hostPID: true,
                            hostIPC: true,
                            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
                            containers: [
                                {
                                    name: "nvidia-mig-manager",
                                    image: VERSIONS.nvidiaMigManager,
                                    env: [
                                        fieldEnv("NODE_NAME", "spec.nodeName"),
                                        fieldEnv("POD_NAME", "metadata.name"),
                                        fieldEnv("POD_NAMESPACE", "metadata.namespace"),
                                        { name: "CONFIG_FILE", value: "/mig-parted-config/config.yaml" },
                                        { name: "GPU_CLIENTS_FILE", value: "/gpu-clients/clients.yaml" },
                                        { name: "HOST_ROOT_MOUNT", value: "/host" },
                                        { name: "NVIDIA_DRIVER_ROOT", value: "/" },
                                        { name: "DRIVER_ROOT_CTR_PATH", value: "/host" },
                                        { name: "DEFAULT_GPU_CLIENTS_NAMESPACE", value: args.namespace },
                                        { name: "WITH_SHUTDOWN_HOST_GPU_CLIENTS", value: "true" },
                                        // A profile change never reboots a node: the pool's nodes are replaced instead.
                                        { name: "WITH_REBOOT", value: "false" },
                                    ],
                                    securityContext: { privileged: true, capabilities: { drop: ["ALL"] } },
                                    resources: MIG_MANAGER_RESOURCES,
                                    volumeMounts: [
                                        { name: "host-root", mountPath: "/host" },
                                        { name: "host-sys", mountPath: "/sys" },
                                        { name: "gpu-clients", mountPath: "/gpu-clients", readOnly: true },
                                        { name: "mig-parted-config", mountPath: "/mig-parted-config", readOnly: true },
                                    ],
                                },
                            ],
                            volumes: [
                                { name: "host-root", hostPath: { path: "/", type: "Directory" } },
                                { name: "host-sys", hostPath: { path: "/sys", type: "Directory" } },
                                { name: "gpu-clients", configMap: { name: MIG_GPU_CLIENTS_CONFIGMAP } },
                                { name: "mig-parted-config", configMap: { name: MIG_PARTED_CONFIGMAP } },
                            ],
                        },
                    },
                },
            },
            { parent: this, dependsOn: [parted, clients, clusterBinding, binding] },
        );
    }
}
