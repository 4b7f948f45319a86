/**
 * The environment the platform gives every model server, whatever its runtime, and so the names an
 * entry's own `env`/`secretEnv` may not take. The root filesystem is read-only: HOME and the caches
 * point into a writable emptyDir (HOME_VOLUME), scratch goes to the /tmp emptyDir.
 */
import type { ServingRuntime } from "../facts/runtimes";

/** Where the writable home emptyDir is mounted in a model server. */
export const SERVING_HOME = "/home/model-server";
export const HOME_VOLUME = { name: "home", emptyDir: {} };
export const HOME_MOUNT = { name: "home", mountPath: SERVING_HOME };

/** The env var the tracking URI Secret is read into (components/workload.ts trackingUriEnv). */
export const TRACKING_URI_ENV = "MLFLOW_TRACKING_URI";

export interface PlainEnvVar {
    name: string;
    value: string;
}

/**
 * Literal env the platform sets: the model path, a writable HOME with the XDG and Hugging Face caches
 * under it (torch/triton/vLLM compile caches land there), and for vLLM no calls home: the model is a
 * local directory (HF_HUB_OFFLINE) and usage statistics stay off (VLLM_NO_USAGE_STATS, DO_NOT_TRACK);
 * the serving namespace has no egress for them anyway.
 */
export function platformServingEnv(runtime: ServingRuntime, modelPath: string): PlainEnvVar[] {
    const env: PlainEnvVar[] = [
        { name: "MODEL_PATH", value: modelPath },
        { name: "HOME", value: SERVING_HOME },
        { name: "XDG_CACHE_HOME", value: `${SERVING_HOME}/.cache` },
        { name: "HF_HOME", value: `${SERVING_HOME}/.cache/huggingface` },
    ];
    if (runtime === "vllm") {
        env.push({ name: "HF_HUB_OFFLINE", value: "1" }, { name: "VLLM_NO_USAGE_STATS", value: "1" }, { name: "DO_NOT_TRACK", value: "1" });
    }
    return env;
}

/** Names an entry may not set: every runtime's platform env and the tracking URI. */
export const RESERVED_ENV_NAMES: readonly string[] = [
    ...new Set([...platformServingEnv("custom", "").map((e) => e.name), ...platformServingEnv("vllm", "").map((e) => e.name), TRACKING_URI_ENV]),
];
