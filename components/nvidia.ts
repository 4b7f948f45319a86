import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { gpuDaemonSetTolerations, gpuNodeSelector, NodePoolShape, Taint } from "../capacity/pools";
import { VERSIONS } from "../facts/versions";
import { DCGM_EXPORTER_NAME, DCGM_EXPORTER_RESOURCES, DCGM_METRICS_PORT, DEVICE_PLUGIN_NAME, DEVICE_PLUGIN_RESOURCES } from "../facts/nvidia";
import { DCGM_COUNTERS_CONFIGMAP, DCGM_COUNTERS_DIR, DCGM_COUNTERS_FILE, dcgmCountersCsv } from "../facts/dcgmCounters";

export { DCGM_EXPORTER_NAME, DCGM_METRICS_PORT, DEVICE_PLUGIN_NAME } from "../facts/nvidia";

export interface NvidiaStackArgs {
    /** Every GPU pool: the DaemonSets tolerate exactly their taints (pitfall 1). */
    gpuPools: NodePoolShape[];
    gpuTaint: Taint;
    namespace: string;
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

        const pluginLabels = { "app.kubernetes.io/name": DEVICE_PLUGIN_NAME };
        new k8s.apps.v1.DaemonSet(
            `${name}-device-plugin`,
            {
                metadata: { name: DEVICE_PLUGIN_NAME, namespace: args.namespace, labels: pluginLabels },
                spec: {
                    selector: { matchLabels: pluginLabels },
                    updateStrategy: { type: "RollingUpdate" },
                    template: {
                        metadata: { labels: pluginLabels },
                        spec: {
                            ...common,
                            automountServiceAccountToken: false,
                            securityContext: { seccompProfile: { type: "RuntimeDefault" } },
                            containers: [
                                {
                                    name: "nvidia-device-plugin",
                                    image: VERSIONS.nvidiaDevicePlugin,
                                    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
                                    resources: DEVICE_PLUGIN_RESOURCES,
                                    volumeMounts: [{ name: "device-plugin", mountPath: "/var/lib/kubelet/device-plugins" }],
                                },
                            ],
                            volumes: [{ name: "device-plugin", hostPath: { path: "/var/lib/kubelet/device-plugins" } }],
                        },
                    },
                },
            },
            { parent: this },
        );

        const dcgmLabels = { "app.kubernetes.io/name": DCGM_EXPORTER_NAME };
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
                        metadata: { labels: dcgmLabels },
                        spec: {
                            ...common,
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

        this.registerOutputs({});
    }
}
