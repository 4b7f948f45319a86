/** The Kubeflow Training Operator's distributed job type (v1 API), as the app-team contract names it. */
export const PYTORCHJOB_TYPE = { apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" } as const;
/**
 * Cluster Autoscaler never evicts a pod carrying this annotation with "false" to scale a node down. A
 * training pod holds hours of un-checkpointed GPU work, and a 1-GPU pod on a 4-GPU node keeps the node
 * under the scale-down utilisation threshold, so without it the autoscaler may drain a running job.
 */
export const SAFE_TO_EVICT_ANNOTATION = "cluster-autoscaler.kubernetes.io/safe-to-evict";
export const TRAINING_POD_ANNOTATIONS: Readonly<Record<string, string>> = { [SAFE_TO_EVICT_ANNOTATION]: "false" };
/**
 * Hours a month a training entry runs (`expectedHours`, or `runsPerMonth` x `hoursPerRun`), carried on the
 * Job / PyTorchJob so the planner, which reads only what the program registers, can count GPU-hours.
 */
export const EXPECTED_HOURS_ANNOTATION = "ml-platform/expected-hours-per-month";
/** Hours one run lasts (hoursPerRun), when the entry declares runs: Kueue's admission simulation uses it. */
export const HOURS_PER_RUN_ANNOTATION = "ml-platform/hours-per-run";
