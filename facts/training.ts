/** The Kubeflow Training Operator's distributed job type (v1 API), as the app-team contract names it. */
export const PYTORCHJOB_TYPE = { apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" } as const;

/**
 * Cluster Autoscaler's per-pod opt-out of scale-down. A training pod holding 1 of a g5.12xlarge's 4 GPUs
 * leaves the node under the GPU utilisation threshold, so without it the autoscaler may evict a run.
 */
export const SAFE_TO_EVICT_ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict";
