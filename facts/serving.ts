/**
 * The serving contract every model server, the policies and the app-team contract agree on: ports,
 * probe path, the load-time annotation and the metric names of the autoscaling chain.
 */

/** Declares on a serving Deployment how long its model takes to load; policies check probes against it. */
export const MODEL_LOAD_ANNOTATION = "ml-platform/model-load-seconds";
/** Load time plus 20%: the headroom the lesson asks for. */
export const LOAD_HEADROOM = 1.2;

export const HEALTH_PATH = "/health";
export const HTTP_PORT = 8080;
export const GRPC_PORT = 9090;

/** The pod label that names a model's pods; HPA selectors, PDBs and the join all use it. */
export const APP_LABEL = "app";
/** Label an app team puts on its own namespace so its pods may call the model servers. */
export const SERVING_CLIENT_LABEL = { "ml-platform/serving-client": "true" } as const;

/** The gauge every model server exposes on /metrics (port http). */
export const SERVING_QUEUE_SERIES = "inference_request_queue_depth";
/** Where every serving pod exposes its metrics (the queue gauge among them): the named container port and path. */
export const SERVING_METRICS_ENDPOINT = { port: "http", path: "/metrics" } as const;
/**
 * External metric names as the HPA asks for them. client-go lower-cases metric names, so the adapter
 * must publish these lower-case spellings (pitfall 11); the autoscaling chain imports them from here.
 */
export const EXTERNAL_METRICS = {
    gpuUtilization: "dcgm_fi_dev_gpu_util",
    queueDepth: "inference_request_queue_depth",
} as const;

/** The model-downloader init container's own budget; a pod's effective request is the larger of it and the server's. */
export const MODEL_DOWNLOADER_RESOURCES = {
    requests: { cpu: "500m", memory: "512Mi" },
    limits: { cpu: "2", memory: "2Gi" },
};
