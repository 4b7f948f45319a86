import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import {
    adapterRules,
    dcgmServiceMonitor,
    ExternalMetricNames,
    gpuUtilRecordingRule,
    KSM_POD_LABEL_ALLOWLIST,
    MONITORING_NAMESPACE,
    PROMETHEUS_PORT,
    PROMETHEUS_RETENTION_DAYS,
    PROMETHEUS_RELEASE,
    PROMETHEUS_URL,
    PrometheusVolume,
    servingPodMonitor,
} from "./metricsChain";
import { VERSIONS } from "../facts/versions";
import type { AlertThresholds } from "../stacks/schema";
import { DASHBOARD_CONFIGMAP, dashboardJson, GRAFANA_DASHBOARD_LABEL, KSM_NODE_LABEL_ALLOWLIST, PoolFacts, PROMETHEUS_RULE_NAME, RULE_LABELS, ruleGroups } from "./observability";

import type { ServingRuntime } from "../facts/runtimes";

export interface MonitoringArgs {
    /** Where the DCGM exporter runs. */
    dcgmNamespace: string;
    servingNamespace: string;
    externalMetrics: ExternalMetricNames;
    /** Runtimes the stack serves: the adapter publishes each one's queue gauge (facts/runtimes.ts). */
    servingRuntimes?: ServingRuntime[];
    /** Pins the monitoring pods to the CPU system pool. */
    systemNodeSelector: Record<string, string>;
    /** Prometheus' TSDB claim: a block-storage class (gp3) and a size from prometheusVolume. */
    prometheusStorageClassName: string;
    prometheusVolume: PrometheusVolume;
    /** Every node pool: the dashboard's and rules' pools, sizes and prices. */
    pools: PoolFacts[];
    alertThresholds: AlertThresholds;
    /** A pool cuts its GPUs into MIG slices: GPU utilisation then comes from the engine-active ratio on slices. */
    mig?: boolean;
}

/**
 * Links 1-3 of the GPU autoscaling chain: Prometheus (kube-prometheus-stack) scraping DCGM with its pod
 * labels kept and the serving pods' queue depth with their app label, a recording rule that joins the
 * app label onto GPU utilisation, and prometheus-adapter publishing both as External metrics.
 */
export class Monitoring extends pulumi.ComponentResource {
    public readonly namespace: string = MONITORING_NAMESPACE;
    public readonly prometheusUrl: string = `${PROMETHEUS_URL}:${PROMETHEUS_PORT}`;

    constructor(name: string, args: MonitoringArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:monitoring:Monitoring", name, {}, opts);

        const ns = new k8s.core.v1.Namespace(`${name}-ns`, { metadata: { name: MONITORING_NAMESPACE } }, { parent: this });
        const onSystemPool = { nodeSelector: args.systemNodeSelector };

        const prometheus = new k8s.helm.v3.Release(
            `${name}-kube-prometheus-stack`,
            {
                name: PROMETHEUS_RELEASE,
                namespace: MONITORING_NAMESPACE,
                chart: VERSIONS.kubePrometheusStack.chart,
                version: VERSIONS.kubePrometheusStack.version,
                repositoryOpts: { repo: VERSIONS.kubePrometheusStack.repo },
                values: {
                    prometheus: {
                        prometheusSpec: {
                            // Pick up monitors and rules that do not carry the chart's release label.
                            serviceMonitorSelectorNilUsesHelmValues: false,
                            podMonitorSelectorNilUsesHelmValues: false,
                            ruleSelectorNilUsesHelmValues: false,
                            retention: `${PROMETHEUS_RETENTION_DAYS}d`,
                            retentionSize: args.prometheusVolume.retentionSize,
                            // Without a claim the TSDB is an emptyDir: every reschedule loses the retention.
                            storageSpec: {
                                volumeClaimTemplate: {
                                    spec: {
                                        storageClassName: args.prometheusStorageClassName,
                                        accessModes: ["ReadWriteOnce"],
                                        resources: { requests: { storage: `${args.prometheusVolume.sizeGiB}Gi` } },
                                    },
                                },
                            },
                            ...onSystemPool,
                        },
                        additionalServiceMonitors: [dcgmServiceMonitor(args.dcgmNamespace)],
                        additionalPodMonitors: [servingPodMonitor(args.servingNamespace)],
                    },
                    "kube-state-metrics": { metricLabelsAllowlist: [...KSM_POD_LABEL_ALLOWLIST, ...KSM_NODE_LABEL_ALLOWLIST], ...onSystemPool },
                    prometheusOperator: onSystemPool,
                    alertmanager: { alertmanagerSpec: onSystemPool },
                    grafana: {
                        ...onSystemPool,
                        // The chart's defaults, stated: the dashboard ConfigMap below carries this label.
                        sidecar: { dashboards: { enabled: true, label: GRAFANA_DASHBOARD_LABEL.key, labelValue: GRAFANA_DASHBOARD_LABEL.value, searchNamespace: "ALL" } },
                    },
                    additionalPrometheusRulesMap: {
                        "ml-platform-gpu": { groups: [{ name: "ml-platform-gpu", interval: "15s", rules: [gpuUtilRecordingRule(args.mig ?? false)] }] },
                    },
                },
            },
            { parent: this, dependsOn: [ns] },
        );

        new k8s.helm.v3.Release(
            `${name}-prometheus-adapter`,
            {
                name: "prometheus-adapter",
                namespace: MONITORING_NAMESPACE,
                chart: VERSIONS.prometheusAdapter.chart,
                version: VERSIONS.prometheusAdapter.version,
                repositoryOpts: { repo: VERSIONS.prometheusAdapter.repo },
                values: {
                    prometheus: { url: PROMETHEUS_URL, port: PROMETHEUS_PORT, path: "" },
                    metricsRelistInterval: "1m",
                    // Only external rules: the external.metrics.k8s.io APIService exists only when they do.
                    rules: { default: false, custom: [], external: adapterRules(args.externalMetrics, args.servingRuntimes ?? []) },
                    ...onSystemPool,
                },
            },
            { parent: this, dependsOn: [prometheus] },
        );

        // Dashboards and alerts (components/observability.ts). The PrometheusRule CRD comes with the chart.
        new k8s.core.v1.ConfigMap(
            `${name}-dashboard`,
            {
                metadata: {
                    name: DASHBOARD_CONFIGMAP,
                    namespace: MONITORING_NAMESPACE,
                    labels: { [GRAFANA_DASHBOARD_LABEL.key]: GRAFANA_DASHBOARD_LABEL.value, "app.kubernetes.io/part-of": "ml-platform" },
                },
                data: { "ml-platform.json": dashboardJson(args.servingNamespace) },
            },
            { parent: this, dependsOn: [ns] },
        );
        new k8s.apiextensions.CustomResource(
            `${name}-rules`,
            {
                apiVersion: "monitoring.coreos.com/v1",
                kind: "PrometheusRule",
                metadata: { name: PROMETHEUS_RULE_NAME, namespace: MONITORING_NAMESPACE, labels: { ...RULE_LABELS } },
                spec: { groups: ruleGroups(args.pools, args.alertThresholds, args.servingNamespace, args.mig ?? false) },
            },
            { parent: this, dependsOn: [prometheus] },
        );

        this.registerOutputs({});
    }
}
