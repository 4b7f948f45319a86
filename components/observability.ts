/**
 * What the platform shows and alerts on, as data: recording rules (node pools with their sizes and
 * prices, GPU utilisation and memory per GPU with node and pool, pending GPU pods), alerting rules with
 * configurable thresholds, the Grafana dashboard provisioned through kube-prometheus-stack's sidecar,
 * and the table of series each exporter the platform deploys produces. Pure: the Monitoring component
 * deploys these; test/observability.test.ts proves every query reads only series from that table.
 */
import { poolHourlyCost } from "../capacity/cost";
import { LABEL_NODE_POOL } from "../capacity/pools";
import { DCGM_COUNTERS, DCGM_MIG_SERIES_LABELS, DCGM_SERIES_LABELS } from "../facts/dcgmCounters";
import { APP_LABEL, SERVING_QUEUE_SERIES } from "../facts/serving";
import { RUNTIME_FACTS, SERVING_RUNTIMES } from "../facts/runtimes";
import type { AlertThresholds } from "../stacks/schema";
import { GPU_UTIL_BY_POD, gpuUtilExpr, KSM_POD_LABEL_ALLOWLIST, PROMETHEUS_RELEASE } from "./metricsChain";

/**
 * kube-prometheus-stack 87.17.0 (values.yaml, grafana.sidecar.dashboards): the sidecar loads every
 * ConfigMap labelled grafana_dashboard="1", in all namespaces (searchNamespace: ALL). Set explicitly in
 * the chart values from these constants, so the ConfigMap's label and the sidecar agree by construction.
 */
export const GRAFANA_DASHBOARD_LABEL = { key: "grafana_dashboard", value: "1" } as const;
export const DASHBOARD_CONFIGMAP = "ml-platform-dashboard";
export const DASHBOARD_UID = "ml-platform-gpu";
export const PROMETHEUS_RULE_NAME = "ml-platform";
/** The chart's ruleSelector (with ruleSelectorNilUsesHelmValues) selects release=<release>; our rule carries it either way. */
export const RULE_LABELS = { release: PROMETHEUS_RELEASE, "app.kubernetes.io/part-of": "ml-platform" } as const;

/** kube-state-metrics exports a node label only when allow-listed; the pool panels group by this one. */
export const KSM_NODE_LABEL_ALLOWLIST = [`nodes=[${LABEL_NODE_POOL}]`];

/** kube-state-metrics' name for an allow-listed Kubernetes label (label_ + sanitised, snake-cased key; v2.19 utils.go). */
export function ksmLabel(key: string): string {
    return `label_${key.replace(/[^a-zA-Z0-9_]/g, "_").replace(/([a-z0-9])([A-Z])/g, "$1_$2").toLowerCase()}`;
}

/** The labels an allow-list entry (`pods=[app,team]`) exports on kube_<resource>_labels. */
export function allowListedLabels(allowlist: readonly string[], resource: string): string[] {
    return allowlist.flatMap((entry) => {
        const m = /^([a-z]+)=\[(.*)\]$/.exec(entry);
        return m && m[1] === resource ? m[2].split(",").filter((k) => k !== "").map(ksmLabel) : [];
    });
}

const NODE_POOL_LABEL = ksmLabel(LABEL_NODE_POOL);

export const RECORDED = {
    nodePool: "ml_platform:node_pool:info",
    poolNodes: "ml_platform:node_pool:nodes",
    poolMinNodes: "ml_platform:node_pool:min_nodes",
    poolMaxNodes: "ml_platform:node_pool:max_nodes",
    poolHourlyPrice: "ml_platform:node_pool:hourly_price_usd",
    poolCostPerHour: "ml_platform:node_pool:cost_per_hour_usd",
    clusterCostPerHour: "ml_platform:cluster:cost_per_hour_usd",
    gpuUtil: "ml_platform:gpu_util:gpu",
    gpuMemoryUsed: "ml_platform:gpu_memory_used:ratio",
    gpuPodsPending: "ml_platform:gpu_pods_pending:pod",
} as const;

export interface RecordingRule {
    record: string;
    expr: string;
    labels?: Record<string, string>;
}

export interface AlertRule {
    alert: string;
    expr: string;
    for: string;
    labels: { severity: "critical" | "warning" };
    annotations: { summary: string; description: string };
}

/** What the rules need of a pool: its name, sizes and instance type (the price comes from the catalog). */
export interface PoolFacts {
    name: string;
    instanceType: string;
    minSize: number;
    maxSize: number;
}

/** DCGM series carry the node's name as Hostname (NODE_NAME); joins with kube-state-metrics need `node`. */
const withNode = (expr: string) => `label_replace(${expr}, "node", "$1", "Hostname", "(.+)")`;
const withPool = (expr: string) => `${withNode(expr)} * on (node) group_left(pool) ${RECORDED.nodePool}`;

/** Recorded series with the labels they carry (the observability test reads this table). */
export const RECORDED_LABELS: Record<string, readonly string[]> = {
    [RECORDED.nodePool]: ["node", NODE_POOL_LABEL, "pool"],
    [RECORDED.poolNodes]: ["pool"],
    [RECORDED.poolMinNodes]: ["pool"],
    [RECORDED.poolMaxNodes]: ["pool"],
    [RECORDED.poolHourlyPrice]: ["pool", "instance_type"],
    [RECORDED.poolCostPerHour]: ["pool"],
    [RECORDED.clusterCostPerHour]: [],
    [RECORDED.gpuUtil]: [...DCGM_SERIES_LABELS, "node", "pool"],
    [RECORDED.gpuMemoryUsed]: [...DCGM_SERIES_LABELS, "node", "pool"],
    [RECORDED.gpuPodsPending]: ["namespace", "pod"],
    // components/metricsChain.ts gpuUtilRecordingRule: per pod, with the app label joined on.
    [GPU_UTIL_BY_POD]: ["namespace", "pod", `label_${APP_LABEL}`, APP_LABEL],
};

/**
 * Node pools as Prometheus sees them (kube_node_labels with the node-pool label allow-listed), their
 * configured bounds and on-demand prices (capacity/catalog via capacity/cost, never retyped), and the
 * cost per hour at the node count Prometheus observes.
 */
export function recordingRules(pools: PoolFacts[], mig = false): RecordingRule[] {
    const perPool = pools.flatMap((p): RecordingRule[] => {
        return [
            { record: RECORDED.poolMinNodes, expr: `vector(${p.minSize})`, labels: { pool: p.name } },
            { record: RECORDED.poolMaxNodes, expr: `vector(${p.maxSize})`, labels: { pool: p.name } },
            { record: RECORDED.poolHourlyPrice, expr: `vector(${poolHourlyCost(p.instanceType, 1)})`, labels: { pool: p.name, instance_type: p.instanceType } },
        ];
    });
    return [
        {
            record: RECORDED.nodePool,
            expr: `label_replace(max by (node, ${NODE_POOL_LABEL}) (kube_node_labels{${NODE_POOL_LABEL}!=""}), "pool", "$1", "${NODE_POOL_LABEL}", "(.+)")`,
        },
        { record: RECORDED.poolNodes, expr: `count by (pool) (${RECORDED.nodePool})` },
        ...perPool,
        { record: RECORDED.poolCostPerHour, expr: `${RECORDED.poolNodes} * on (pool) max by (pool) (${RECORDED.poolHourlyPrice})` },
        { record: RECORDED.clusterCostPerHour, expr: `sum(${RECORDED.poolCostPerHour})` },
        // A MIG slice's utilisation is its engine-active ratio (components/metricsChain.ts gpuUtilExpr).
        { record: RECORDED.gpuUtil, expr: withPool(gpuUtilExpr([], mig)) },
        { record: RECORDED.gpuMemoryUsed, expr: withPool("DCGM_FI_DEV_FB_USED / (DCGM_FI_DEV_FB_USED + DCGM_FI_DEV_FB_FREE)") },
        {
            // One series per pending pod that requests GPUs; its value is the GPUs it asks for.
            record: RECORDED.gpuPodsPending,
            expr:
                `(sum by (namespace, pod) (kube_pod_container_resource_requests{resource="nvidia_com_gpu"}) > 0) ` +
                `* on (namespace, pod) group_left() (max by (namespace, pod) (kube_pod_status_phase{phase="Pending"}) == 1)`,
        },
    ];
}

/**
 * The alerts. Thresholds come from ml-platform:alerts (defaults in stacks/schema.ts ALERT_DEFAULTS):
 * a GPU idle for hours is money (the lesson's clusters had GPUs idle for months); an XID is a driver or
 * hardware fault; an HPA at its maximum cannot absorb more load; a GPU pod pending beyond a node's
 * scale-up time found no capacity; GPU memory near full is one batch from an out-of-memory crash.
 */
export function alertRules(t: AlertThresholds, servingNamespace: string): AlertRule[] {
    const idle = t.gpuIdleHours;
    const hpa = (m: string) => `kube_horizontalpodautoscaler_${m}{namespace="${servingNamespace}"}`;
    return [
        {
            alert: "GpuNodeIdle",
            expr: `max by (pool, node) (max_over_time(${RECORDED.gpuUtil}[${idle}h])) < ${t.gpuIdleUtilizationPercent} and on (node) (time() - kube_node_created > ${idle * 3600})`,
            for: "15m",
            labels: { severity: "warning" },
            annotations: {
                summary: `GPU node {{ $labels.node }} (pool {{ $labels.pool }}) has been idle for ${idle}h`,
                description: `No GPU on the node went above ${t.gpuIdleUtilizationPercent}% utilisation in ${idle} hours; it is paid for by the hour. Check what holds it (kubectl describe node) or lower the pool's minSize.`,
            },
        },
        {
            alert: "GpuXidError",
            expr: `max by (Hostname, gpu, modelName) (DCGM_FI_DEV_XID_ERRORS) > 0`,
            for: "0m",
            labels: { severity: "critical" },
            annotations: {
                summary: "GPU {{ $labels.gpu }} on {{ $labels.Hostname }} reported XID {{ $value }}",
                description: "An XID is a driver or hardware error (e.g. 48 double-bit ECC, 79 fallen off the bus). Drain the node and check NVIDIA's XID catalogue before scheduling on it again.",
            },
        },
        {
            alert: "ServingHpaAtMaximum",
            expr: `${hpa("status_current_replicas")} >= on (namespace, horizontalpodautoscaler) ${hpa("spec_max_replicas")}`,
            for: `${t.hpaAtMaxMinutes}m`,
            labels: { severity: "warning" },
            annotations: {
                summary: "HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has been at its maximum for " + `${t.hpaAtMaxMinutes}m`,
                description: "The model server cannot scale further: queues grow. Raise replicas.max (and the pool's maxSize if needed) or add capacity.",
            },
        },
        {
            alert: "GpuPodPendingTooLong",
            expr: `${RECORDED.gpuPodsPending} > 0`,
            for: `${t.gpuPodPendingMinutes}m`,
            labels: { severity: "warning" },
            annotations: {
                summary: "GPU pod {{ $labels.namespace }}/{{ $labels.pod }} pending for " + `${t.gpuPodPendingMinutes}m`,
                description: "It asks for {{ $value }} GPU(s) and no node took it within a node scale-up: the pool may be at maxSize, the instance type out of capacity in its zones, or the request larger than a node.",
            },
        },
        {
            alert: "GpuMemoryNearFull",
            expr: `${RECORDED.gpuMemoryUsed} > ${t.gpuMemoryFullPercent / 100}`,
            for: "10m",
            labels: { severity: "warning" },
            annotations: {
                summary: "GPU {{ $labels.gpu }} on {{ $labels.node }} is {{ $value | humanizePercentage }} full",
                description: `Above ${t.gpuMemoryFullPercent}% of usable framebuffer: the next larger batch or longer sequence runs out of memory. Servers that pre-allocate (vLLM's --gpu-memory-utilization) sit at their configured fraction; keep the threshold above it.`,
            },
        },
    ];
}

export interface PrometheusRuleGroup {
    name: string;
    interval?: string;
    rules: (RecordingRule | AlertRule)[];
}

export function ruleGroups(pools: PoolFacts[], thresholds: AlertThresholds, servingNamespace: string, mig = false): PrometheusRuleGroup[] {
    return [
        { name: "ml-platform-recording", interval: "30s", rules: recordingRules(pools, mig) },
        { name: "ml-platform-alerts", rules: alertRules(thresholds, servingNamespace) },
    ];
}

export interface PanelTarget {
    expr: string;
    legendFormat: string;
}

export interface DashboardPanel {
    title: string;
    unit: string;
    targets: PanelTarget[];
}

/** The panels, in reading order. */
export function dashboardPanels(servingNamespace: string): DashboardPanel[] {
    const hpa = (m: string) => `kube_horizontalpodautoscaler_${m}{namespace="${servingNamespace}"}`;
    const appOfPod = `max by (namespace, pod, label_${APP_LABEL}) (kube_pod_labels{label_${APP_LABEL}!=""})`;
    return [
        { title: "GPU utilisation by pool", unit: "percent", targets: [{ expr: `avg by (pool) (${RECORDED.gpuUtil})`, legendFormat: "{{pool}}" }] },
        { title: "GPU utilisation by node", unit: "percent", targets: [{ expr: `avg by (pool, node) (${RECORDED.gpuUtil})`, legendFormat: "{{pool}} {{node}}" }] },
        { title: "GPU utilisation by workload", unit: "percent", targets: [{ expr: `avg by (namespace, ${APP_LABEL}) (${GPU_UTIL_BY_POD})`, legendFormat: `{{namespace}}/{{${APP_LABEL}}}` }] },
        { title: "GPU memory used by pool", unit: "percentunit", targets: [{ expr: `avg by (pool) (${RECORDED.gpuMemoryUsed})`, legendFormat: "{{pool}}" }] },
        { title: "GPU memory used by node (fullest GPU)", unit: "percentunit", targets: [{ expr: `max by (pool, node) (${RECORDED.gpuMemoryUsed})`, legendFormat: "{{pool}} {{node}}" }] },
        {
            title: "GPU memory used by workload (fullest GPU)",
            unit: "percentunit",
            targets: [{ expr: `max by (namespace, label_${APP_LABEL}) (${RECORDED.gpuMemoryUsed} * on (namespace, pod) group_left(label_${APP_LABEL}) ${appOfPod})`, legendFormat: `{{namespace}}/{{label_${APP_LABEL}}}` }],
        },
        { title: "Serving queue depth", unit: "short", targets: [{ expr: `sum by (namespace, ${APP_LABEL}) (${SERVING_QUEUE_SERIES}{namespace="${servingNamespace}"})`, legendFormat: `{{${APP_LABEL}}}` }] },
        {
            title: "Serving replicas against HPA bounds",
            unit: "short",
            targets: [
                { expr: hpa("status_current_replicas"), legendFormat: "{{horizontalpodautoscaler}} current" },
                { expr: hpa("spec_min_replicas"), legendFormat: "{{horizontalpodautoscaler}} min" },
                { expr: hpa("spec_max_replicas"), legendFormat: "{{horizontalpodautoscaler}} max" },
            ],
        },
        { title: "GPU pods pending", unit: "short", targets: [{ expr: `count by (namespace) (${RECORDED.gpuPodsPending})`, legendFormat: "{{namespace}}" }] },
        {
            title: "Nodes per pool against min/max",
            unit: "short",
            targets: [
                { expr: RECORDED.poolNodes, legendFormat: "{{pool}} nodes" },
                { expr: RECORDED.poolMinNodes, legendFormat: "{{pool}} min" },
                { expr: RECORDED.poolMaxNodes, legendFormat: "{{pool}} max" },
            ],
        },
        {
            title: "Cost per hour at the current node count (on-demand, USD)",
            unit: "currencyUSD",
            targets: [
                { expr: RECORDED.clusterCostPerHour, legendFormat: "cluster" },
                { expr: RECORDED.poolCostPerHour, legendFormat: "{{pool}}" },
            ],
        },
    ];
}

/** The dashboard JSON Grafana's sidecar loads: timeseries panels, two per row, on the chart's Prometheus datasource. */
export function dashboardJson(servingNamespace: string): string {
    const panels = dashboardPanels(servingNamespace).map((p, i) => ({
        id: i + 1,
        type: "timeseries",
        title: p.title,
        gridPos: { h: 8, w: 12, x: (i % 2) * 12, y: Math.floor(i / 2) * 8 },
        datasource: { type: "prometheus", uid: "prometheus" },
        fieldConfig: { defaults: { unit: p.unit }, overrides: [] },
        targets: p.targets.map((t, j) => ({ refId: String.fromCharCode(65 + j), expr: t.expr, legendFormat: t.legendFormat })),
    }));
    return JSON.stringify({ uid: DASHBOARD_UID, title: "ml-platform: GPUs, serving and cost", tags: ["ml-platform"], timezone: "utc", schemaVersion: 39, refresh: "1m", time: { from: "now-6h", to: "now" }, panels }, null, 2);
}

/** Labels Prometheus adds to every scraped series (the target's). */
const TARGET_LABELS = ["job", "instance", "service", "endpoint"];

/**
 * What each exporter the platform deploys produces, with the labels the queries may use; keyed by
 * source so a serving runtime's own table (e.g. vLLM's) merges as one more entry.
 * - dcgm-exporter: the counters file the platform configures (facts/dcgmCounters.ts), MIG slices' series
 *   with their instance labels too;
 * - kube-state-metrics v2.19.1 (chart 7.8.1 of kube-prometheus-stack 87.17.0): the series the rules
 *   read, labels per its docs/metrics; *_labels only with the allow-listed labels;
 * - serving runtime "custom": the queue gauge every model server exposes, with the app label the
 *   PodMonitor copies from the pod.
 */
export function exportedSeries(ksmAllowlist: readonly string[] = [...KSM_POD_LABEL_ALLOWLIST, ...KSM_NODE_LABEL_ALLOWLIST]): Record<string, Record<string, readonly string[]>> {
    const dcgmLabels = [...DCGM_SERIES_LABELS, ...DCGM_MIG_SERIES_LABELS, ...DCGM_COUNTERS.filter((c) => c.type === "label").map((c) => c.field), ...TARGET_LABELS];
    const hpaLabels = ["namespace", "horizontalpodautoscaler", ...TARGET_LABELS];
    return {
        "dcgm-exporter": Object.fromEntries(DCGM_COUNTERS.filter((c) => c.type !== "label").map((c) => [c.field, dcgmLabels])),
        "kube-state-metrics": {
            kube_node_labels: ["node", ...allowListedLabels(ksmAllowlist, "nodes"), ...TARGET_LABELS],
            kube_node_created: ["node", ...TARGET_LABELS],
            kube_node_info: ["node", "kernel_version", "os_image", "container_runtime_version", "kubelet_version", "provider_id", "internal_ip", ...TARGET_LABELS],
            kube_pod_labels: ["namespace", "pod", "uid", ...allowListedLabels(ksmAllowlist, "pods"), ...TARGET_LABELS],
            kube_pod_status_phase: ["namespace", "pod", "uid", "phase", ...TARGET_LABELS],
            kube_pod_container_resource_requests: ["namespace", "pod", "uid", "container", "node", "resource", "unit", ...TARGET_LABELS],
            kube_horizontalpodautoscaler_spec_min_replicas: hpaLabels,
            kube_horizontalpodautoscaler_spec_max_replicas: hpaLabels,
            kube_horizontalpodautoscaler_status_current_replicas: hpaLabels,
            kube_horizontalpodautoscaler_status_desired_replicas: hpaLabels,
        },
        // Each runtime's queue gauge (facts/runtimes.ts), with the pod's labels the scrape adds and the runtime's own model label.
        ...Object.fromEntries(
            SERVING_RUNTIMES.map((r) => {
                const f = RUNTIME_FACTS[r];
                return [`servingRuntime:${r}`, { [f.queueSeries]: [APP_LABEL, "namespace", "pod", "container", ...TARGET_LABELS, ...(f.queueModelLabel ? [f.queueModelLabel] : [])] }];
            }),
        ),
    };
}
