/**
 * Health probes for model servers, sized from how long the model takes to load (pitfall 7). Pure: no
 * Pulumi, so the arithmetic is tested directly.
 */

import { HEALTH_PATH, HTTP_PORT, LOAD_HEADROOM } from "../facts/serving";

export { HEALTH_PATH, HTTP_PORT, LOAD_HEADROOM, MODEL_LOAD_ANNOTATION } from "../facts/serving";

export interface HttpProbe {
    httpGet: { path: string; port: number };
    initialDelaySeconds: number;
    periodSeconds: number;
    timeoutSeconds: number;
    failureThreshold: number;
    successThreshold: number;
}

export interface ServingProbes {
    startupProbe: HttpProbe;
    readinessProbe: HttpProbe;
    livenessProbe: HttpProbe;
}

const STARTUP_PERIOD_SECONDS = 10;
const MIN_FAILURE_THRESHOLD = 3;

function httpProbe(path: string, periodSeconds: number, failureThreshold: number, initialDelaySeconds = 0): HttpProbe {
    return {
        httpGet: { path, port: HTTP_PORT },
        initialDelaySeconds,
        periodSeconds,
        timeoutSeconds: 5,
        failureThreshold,
        successThreshold: 1,
    };
}

/** The seconds a load must fit in: ceil(1.2 x load). */
export function requiredStartupSeconds(modelLoadSeconds: number): number {
    return Math.ceil(LOAD_HEADROOM * modelLoadSeconds);
}

/** failureThreshold x periodSeconds + initialDelaySeconds: how long a probe tolerates failing. */
export function startupBudgetSeconds(probe: Pick<HttpProbe, "failureThreshold" | "periodSeconds" | "initialDelaySeconds">): number {
    return probe.failureThreshold * probe.periodSeconds + probe.initialDelaySeconds;
}

/**
 * The moment the kubelet kills a container that never passes: the failureThreshold-th failed probe,
 * fired at initialDelay + (failureThreshold - 1) x period. Stricter than the budget by one period.
 */
export function startupKillAfterSeconds(probe: Pick<HttpProbe, "failureThreshold" | "periodSeconds" | "initialDelaySeconds">): number {
    return probe.initialDelaySeconds + (probe.failureThreshold - 1) * probe.periodSeconds;
}

/**
 * A startup probe that outlasts the load even by the kubelet's stricter clock, so a loading pod is
 * never restarted; readiness and liveness are disabled by Kubernetes until it succeeds, so neither
 * needs an initial delay guessed from the load time.
 */
export function probesFor(modelLoadSeconds: number, path: string = HEALTH_PATH): ServingProbes {
    if (!Number.isFinite(modelLoadSeconds) || modelLoadSeconds <= 0) {
        throw new Error(`modelLoadSeconds must be a positive number, got ${modelLoadSeconds}`);
    }
    const required = requiredStartupSeconds(modelLoadSeconds);
    const failureThreshold = Math.max(MIN_FAILURE_THRESHOLD, Math.ceil(required / STARTUP_PERIOD_SECONDS) + 1);
    return {
        startupProbe: httpProbe(path, STARTUP_PERIOD_SECONDS, failureThreshold),
        readinessProbe: httpProbe(path, 10, 3),
        // Restarts only after a minute of a loaded server not answering.
        livenessProbe: httpProbe(path, 20, 3),
    };
}
