/**
 * The serving runtimes a `serving[]` entry may name, and what each really exports: the one table the
 * HPA's queue-depth metric, the prometheus-adapter rules and the chain tests read. A runtime is listed
 * here only when its health path, metrics path and queue gauge are checked against its own source.
 */
import { EXTERNAL_METRICS, HEALTH_PATH, SERVING_METRICS_ENDPOINT, SERVING_QUEUE_SERIES } from "./serving";

export const SERVING_RUNTIMES = ["custom", "vllm"] as const;
export type ServingRuntime = (typeof SERVING_RUNTIMES)[number];

export interface RuntimeFacts {
    /** The gauge of requests waiting for the engine, as the server exports it on its metrics path. */
    queueSeries: string;
    /** The label on that gauge naming the model (vLLM: the --served-model-name); undefined when the series has none. */
    queueModelLabel?: string;
    /**
     * The External metric name the HPA asks for and the adapter publishes: lower-case (client-go
     * lower-cases it, pitfall 11) and without ':' (a recording-rule separator, not part of the names
     * our HPAs use).
     */
    queueExternalMetric: string;
    /** Liveness/readiness path on the serving HTTP port. */
    healthPath: string;
    /** Prometheus metrics path on the serving HTTP port. */
    metricsPath: string;
    /** Whether the server answers gRPC on the contract's gRPC port. */
    servesGrpc: boolean;
}

/**
 * custom: the platform's own serving contract (facts/serving.ts): /health and /metrics on the HTTP
 * port, the inference_request_queue_depth gauge, gRPC beside HTTP.
 * vllm: the OpenAI-compatible server. Checked in vllm-project/vllm: /health answers 200 once the
 * engine is up and 503 when it died (entrypoints/serve/instrumentator/health.py); /metrics is mounted on
 * the same FastAPI app, so the same port (instrumentator/metrics.py); the waiting-requests gauge is
 * `vllm:num_requests_waiting` with labels model_name (the served model name) and engine
 * (v1/metrics/loggers.py). It serves no gRPC.
 */
export const RUNTIME_FACTS: Record<ServingRuntime, RuntimeFacts> = {
    custom: {
        queueSeries: SERVING_QUEUE_SERIES,
        queueExternalMetric: EXTERNAL_METRICS.queueDepth,
        healthPath: HEALTH_PATH,
        metricsPath: SERVING_METRICS_ENDPOINT.path,
        servesGrpc: true,
    },
    vllm: {
        queueSeries: "vllm:num_requests_waiting",
        queueModelLabel: "model_name",
        queueExternalMetric: "vllm_num_requests_waiting",
        healthPath: "/health",
        metricsPath: "/metrics",
        servesGrpc: false,
    },
};

/** The External metric an HPA of a `runtime` server scales on for queue depth. */
export function queueMetricOf(runtime: ServingRuntime): string {
    return RUNTIME_FACTS[runtime].queueExternalMetric;
}
