/**
 * The GPU autoscaling chain as data: which series each exporter produces, how Prometheus scrapes and
 * joins them, and the prometheus-adapter rules that turn them into the External metrics the serving
 * HPAs ask for. Pure, so tests can prove the links fit (shared/reference/autoscaling-chain.md).
 */
import { dcgmEntities, poolDevices, GpuSharing } from "../capacity/sharing";
import { DCGM_EXPORTER_NAME } from "../facts/nvidia";
import { DCGM_MIG_SERIES_LABELS } from "../facts/dcgmCounters";
import { APP_LABEL, SERVING_METRICS_ENDPOINT, SERVING_QUEUE_SERIES } from "../facts/serving";
import { RUNTIME_FACTS, ServingRuntime } from "../facts/runtimes";

export { APP_LABEL, SERVING_METRICS_ENDPOINT, SERVING_QUEUE_SERIES } from "../facts/serving";

/** Series the DCGM exporter publishes that the chain relies on (upper-case, as DCGM names them). */
export const DCGM_SERIES = { gpuUtilization: "DCGM_FI_DEV_GPU_UTIL", engineActive: "DCGM_FI_PROF_GR_ENGINE_ACTIVE" } as const;
/** The exporter labels a MIG slice's series with its GPU instance (GPU_I_ID, GPU_I_PROFILE); whole GPUs carry neither. */
export const DCGM_MIG_INSTANCE_LABEL: (typeof DCGM_MIG_SERIES_LABELS)[number] = "GPU_I_ID";

/**
 * GPU utilisation in percent, as one PromQL expression. DCGM reports DCGM_FI_DEV_GPU_UTIL as 0 for a MIG
 * slice (NVIDIA: not supported on MIG instances); there the graphics-engine-active ratio of the slice is
 * its utilisation. Stacks without MIG pools keep the plain series.
 */
export function gpuUtilExpr(matchers: string[], mig: boolean): string {
    const select = (series: string, extra: string[]) => {
        const all = [...matchers, ...extra];
        return all.length > 0 ? `${series}{${all.join(",")}}` : series;
    };
    if (!mig) {
        return select(DCGM_SERIES.gpuUtilization, []);
    }
    return `(${select(DCGM_SERIES.gpuUtilization, [`${DCGM_MIG_INSTANCE_LABEL}=""`])} or 100 * ${select(DCGM_SERIES.engineActive, [`${DCGM_MIG_INSTANCE_LABEL}!=""`])})`;
}
/** Recorded series: GPU utilisation averaged over each pod's GPUs, with the pod's app label joined on. */
export const GPU_UTIL_BY_POD = "ml_platform:gpu_util:pod";

export const MONITORING_NAMESPACE = "monitoring";
export const PROMETHEUS_RELEASE = "kube-prometheus-stack";
/** The Prometheus service kube-prometheus-stack creates for release PROMETHEUS_RELEASE. */
export const PROMETHEUS_URL = `http://${PROMETHEUS_RELEASE}-prometheus.${MONITORING_NAMESPACE}.svc`;
export const PROMETHEUS_PORT = 9090;

/**
 * kube-state-metrics only exports the pod labels on this allow-list (as label_<name>); the join needs
 * the app label.
 */
export const KSM_POD_LABEL_ALLOWLIST = [`pods=[${APP_LABEL}]`];

/**
 * One value per pod: the average of that pod's GPUs (a multi-GPU pod must not count N times), joined
 * with the pod's app label from kube-state-metrics and renamed to `app` so HPA selectors match it.
 */
export function gpuUtilRecordingRule(mig = false) {
    const perPod = `avg by (namespace, pod) (${gpuUtilExpr(['pod!=""'], mig)})`;
    const appOfPod = `max by (namespace, pod, label_${APP_LABEL}) (kube_pod_labels{label_${APP_LABEL}!=""})`;
    return {
        record: GPU_UTIL_BY_POD,
        expr: `label_replace(${perPod} * on (namespace, pod) group_left(label_${APP_LABEL}) ${appOfPod}, "${APP_LABEL}", "$1", "label_${APP_LABEL}", "(.+)")`,
    };
}

/**
 * DCGM's ServiceMonitor keeps the exporter's own pod/namespace/container labels (honorLabels); without
 * it they become exported_pod/exported_namespace and no HPA query matches (pitfall 4).
 */
export function dcgmServiceMonitor(namespace: string) {
    return {
        name: DCGM_EXPORTER_NAME,
        namespaceSelector: { matchNames: [namespace] },
        selector: { matchLabels: { "app.kubernetes.io/name": DCGM_EXPORTER_NAME } },
        endpoints: [{ port: "metrics", interval: "15s", honorLabels: true }],
    };
}

/** Scrapes every serving pod's /metrics and copies its app label onto the series. */
export function servingPodMonitor(servingNamespace: string) {
    return {
        name: "ml-serving",
        namespaceSelector: { matchNames: [servingNamespace] },
        selector: { matchExpressions: [{ key: APP_LABEL, operator: "Exists" }] },
        podTargetLabels: [APP_LABEL],
        podMetricsEndpoints: [{ ...SERVING_METRICS_ENDPOINT, interval: "15s" }],
    };
}

export interface AdapterExternalRule {
    seriesQuery: string;
    resources: { overrides: { namespace: { resource: "namespace" } } };
    name: { matches: string; as: string };
    metricsQuery: string;
}

/**
 * An external rule publishing `series` as `metricName` (lower-case: client-go lower-cases the name in
 * the request). The query is a total over the selected pods, not an average: an HPA AverageValue target
 * divides what the adapter returns by the replica count itself.
 */
export function externalRule(series: string, metricName: string): AdapterExternalRule {
    return {
        seriesQuery: `{__name__="${series}",namespace!="",${APP_LABEL}!=""}`,
        resources: { overrides: { namespace: { resource: "namespace" } } },
        name: { matches: `^${series.replace(/[.:]/g, (c) => `\\${c}`)}$`, as: metricName },
        metricsQuery: "sum(<<.Series>>{<<.LabelMatchers>>}) by (<<.GroupBy>>)",
    };
}

export interface ExternalMetricNames {
    gpuUtilization: string;
    queueDepth: string;
}

/**
 * GPU utilisation, the contract's queue gauge (custom servers, app teams' own included), and the queue
 * gauge of every other runtime the stack serves, each under the External name its HPAs ask for
 * (facts/runtimes.ts): no rule for a series nothing in the stack exports.
 */
export function adapterRules(names: ExternalMetricNames, runtimes: readonly ServingRuntime[] = []): AdapterExternalRule[] {
    const queueRules = [...new Set(runtimes)]
        .filter((r) => r !== "custom")
        .map((r) => externalRule(RUNTIME_FACTS[r].queueSeries, RUNTIME_FACTS[r].queueExternalMetric));
    return [externalRule(GPU_UTIL_BY_POD, names.gpuUtilization), externalRule(SERVING_QUEUE_SERIES, names.queueDepth), ...queueRules];
}

/** How long Prometheus keeps samples; its volume is sized from it (prometheusVolume). */
export const PROMETHEUS_RETENTION_DAYS = 15;
/** kube-prometheus-stack's default scrape interval; the DCGM monitor above scrapes at 15 s. */
const DEFAULT_SCRAPE_SECONDS = 30;
const DCGM_SCRAPE_SECONDS = 15;
/** Series the stack's own targets produce whatever the cluster size (API server, controllers, operator, rules). */
const BASE_SERIES = 50_000;
/** node-exporter, kubelet/cAdvisor and kube-state-metrics series per node, as a busy node produces them. */
const SERIES_PER_NODE = 3_000;
/** DCGM series per GPU entity (a few dozen fields, each with pod/namespace/container labels). */
const SERIES_PER_GPU = 150;
/** Prometheus' documented upper figure per compressed sample. */
const BYTES_PER_SAMPLE = 2;
/** WAL, head block and compaction need room beside the retained blocks. */
const HEADROOM = 1.5;
const MIN_VOLUME_GIB = 20;

export interface PrometheusVolume {
    sizeGiB: number;
    /** Prometheus deletes old blocks by size before the volume fills (retention by time alone can overrun it). */
    retentionSize: string;
    activeSeries: number;
}

/**
 * Prometheus' own sizing rule, disk = retention seconds x samples per second x bytes per sample, with
 * the samples per second counted from the largest cluster the node pools allow (every pool at maxSize):
 * the volume must hold the retention when the cluster is at its biggest, not as it starts. DCGM's series
 * count per GPU entity (dcgmEntities: a MIG node's GPU instances count beside its GPUs).
 */
export function prometheusVolume(maxNodes: number, maxDcgmEntities: number, retentionDays: number = PROMETHEUS_RETENTION_DAYS): PrometheusVolume {
    const clusterSeries = BASE_SERIES + SERIES_PER_NODE * maxNodes;
    const dcgmSeries = SERIES_PER_GPU * maxDcgmEntities;
    const samplesPerSecond = clusterSeries / DEFAULT_SCRAPE_SECONDS + dcgmSeries / DCGM_SCRAPE_SECONDS;
    const bytes = retentionDays * 86_400 * samplesPerSecond * BYTES_PER_SAMPLE * HEADROOM;
    const sizeGiB = Math.max(MIN_VOLUME_GIB, Math.ceil(bytes / 2 ** 30 / 10) * 10);
    return { sizeGiB, retentionSize: `${Math.floor(sizeGiB * 0.85)}GB`, activeSeries: clusterSeries + dcgmSeries };
}

/** Prometheus' volume for the stack's pools, every pool at maxSize: its nodes, and DCGM's GPU entities on them. */
export function prometheusVolumeOf(pools: readonly { maxSize: number; instanceType: string; sharing?: GpuSharing }[], retentionDays: number = PROMETHEUS_RETENTION_DAYS): PrometheusVolume {
    const nodes = pools.reduce((n, p) => n + p.maxSize, 0);
    const entities = pools.reduce((n, p) => {
        const devices = poolDevices(p);
        return n + (devices ? p.maxSize * dcgmEntities(devices) : 0);
    }, 0);
    return prometheusVolume(nodes, entities, retentionDays);
}
