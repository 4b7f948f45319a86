/**
 * Facts about ML pipelines on Argo Workflows that components, the planner, the policy pack, the contract
 * and the conformance run share: the namespace, the Argo kinds, the executor sidecar's resources and
 * where a step writes the metrics it publishes.
 */
import { VERSIONS } from "./versions";

/** Pipelines run here, beside (not inside) the training namespace. */
export const PIPELINES_NAMESPACE = "ml-pipelines";
/** The Argo controller's own namespace. */
export const ARGO_NAMESPACE = "argo";
/** Runs every step pod; its only right is the executor's (workflowtaskresults), and only the executor's containers get its token. */
export const PIPELINE_SERVICE_ACCOUNT = "pipeline-runner";

export const WORKFLOW_TEMPLATE_TYPE = { apiVersion: "argoproj.io/v1alpha1", kind: "WorkflowTemplate" } as const;
export const CRON_WORKFLOW_TYPE = { apiVersion: "argoproj.io/v1alpha1", kind: "CronWorkflow" } as const;
export const WORKFLOW_TYPE = { apiVersion: "argoproj.io/v1alpha1", kind: "Workflow" } as const;
/** Argo kinds whose spec (or spec.workflowSpec) carries templates that become pods. */
export const ARGO_WORKFLOW_KIND = /^kubernetes:argoproj\.io\/v1alpha1:(Workflow|WorkflowTemplate|ClusterWorkflowTemplate|CronWorkflow)$/;

/** Argo's main container name in a step pod; the executor adds `wait` (sidecar) and `init`. */
export const ARGO_MAIN_CONTAINER = "main";
export const ARGO_WAIT_CONTAINER = "wait";
export const ARGO_INIT_CONTAINER = "init";

/** The executor image, pinned with the chart's appVersion. */
export const ARGO_EXECUTOR_IMAGE = `quay.io/argoproj/argoexec:${VERSIONS.argoWorkflowsApp}`;
/** The argoexec image runs as this user (its Dockerfile's USER 8737). */
export const ARGO_EXECUTOR_UID = 8737;

/**
 * Requests and limits of the executor's wait sidecar (and init container) in every step pod, set through
 * the chart's executor.resources; the planner adds them to each step's own requests.
 */
export const ARGO_EXECUTOR_RESOURCES = {
    requests: { cpu: "100m", memory: "64Mi" },
    limits: { cpu: "500m", memory: "256Mi" },
} as const;

/** The restricted Pod Security Standard for the executor's containers (the chart's executor.securityContext). */
export const ARGO_EXECUTOR_SECURITY_CONTEXT = {
    runAsNonRoot: true,
    runAsUser: ARGO_EXECUTOR_UID,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
} as const;

/** A step writes each metric it publishes to <dir>/<metric>; the dir is the pod's /tmp emptyDir (the root filesystem is read-only). */
export const PIPELINE_METRICS_DIR = "/tmp/metrics";
export function metricPath(metric: string): string {
    return `${PIPELINE_METRICS_DIR}/${metric}`;
}

/** Step pod annotation the planner reads a step's expected run time from. */
export const EXPECTED_MINUTES_ANNOTATION = "ml-platform/expected-minutes";
/** Label on step pods naming the pipeline (the WorkflowTemplate). */
export const PIPELINE_LABEL = "ml-platform/pipeline";
/** Label on step pods naming the step (the DAG task and its template). */
export const PIPELINE_STEP_LABEL = "ml-platform/pipeline-step";

/** Metrics that are fractions: a gate on one of them must lie in [0, 1]. */
export const FRACTION_METRICS = ["accuracy", "precision", "recall", "f1", "auc", "top1", "top5"] as const;
