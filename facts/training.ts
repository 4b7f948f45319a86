/** The Kubeflow Training Operator's distributed job type (v1 API), as the app-team contract names it. */
export const PYTORCHJOB_TYPE = { apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" } as const;
/**
 * Cluster Autoscaler never evicts a pod carrying this annotation with "false" to scale a node down. A
 * training pod holds hours of un-checkpointed GPU work, and a 1-GPU pod on a 4-GPU node keeps the node
 * under the scale-down utilisation threshold, so without it the autoscaler may drain a running job.
 */
export const SAFE_TO_EVICT_ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict";
/** Karpenter's counterpart: it never disrupts (consolidates, drifts) a node running a pod annotated "true". */
export const DO_NOT_DISRUPT_ANNOTATION = "karpenter.sh/do-not-disrupt";
export const TRAINING_POD_ANNOTATIONS: Readonly<Record<string, string>> = { [SAFE_TO_EVICT_ANNOTATION]: "false", [DO_NOT_DISRUPT_ANNOTATION]: "true" };

/** A data-sync Job's container (the AWS CLI copying S3 into the training-data claim): requests and limits. */
export const DATA_SYNC_RESOURCES = {
    requests: { cpu: "500m", memory: "512Mi" },
    limits: { cpu: "2", memory: "2Gi" },
} as const;
/** Retries and the longest a copy may run (the policy pack's training-jobs-bounded applies to every Job). */
export const DATA_SYNC_BACKOFF_LIMIT = 4;
export const DATA_SYNC_DEADLINE_SECONDS = 12 * 3600;
/** The pod label value that marks data-sync pods (label ml-platform/workload). */
export const DATA_SYNC_WORKLOAD = "data-sync";
