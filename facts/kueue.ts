/**
 * Kueue's API as the platform uses it (kubernetes-sigs/kueue v0.17.0, read from the module's
 * apis/kueue/v1beta2 and pkg/controller/constants): the storage version of its CRDs, and the labels a
 * job carries to be queued and ranked.
 */
export const KUEUE_API_VERSION = "kueue.x-k8s.io/v1beta2";
/** The LocalQueue a job is submitted to (constants.QueueLabel). */
export const KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name";
/** The WorkloadPriorityClass of a job (constants.WorkloadPriorityClassLabel). */
export const KUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class";
export const KUEUE_NAMESPACE = "kueue-system";
/** The cohort every ClusterQueue joins, so unused quota can be borrowed. */
export const KUEUE_COHORT = "ml-platform";
/** The platform's own ClusterQueue and the LocalQueue its training jobs are submitted to. */
export const PLATFORM_QUEUE = "training";
/**
 * Kueue's plain-Pod integration (pkg/controller/jobs/pod at v0.17.0): the framework name in
 * integrations.frameworks, the scheduling gate its webhook (mpod.kb.io) puts on every pod it manages and
 * removes on admission (pod/constants SchedulingGateName), and the label it marks such pods with
 * (constants.ManagedByKueueLabelKey). Argo's step pods are queued this way: one Workload per pod.
 */
export const KUEUE_POD_FRAMEWORK = "pod";
export const KUEUE_ADMISSION_GATE = "kueue.x-k8s.io/admission";
export const KUEUE_MANAGED_LABEL = "kueue.x-k8s.io/managed";
