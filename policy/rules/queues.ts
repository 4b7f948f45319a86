/**
 * Queued training (issue 17): every GPU training job is Kueue's to admit, and none asks for more than
 * its queue could ever admit. Thin wrappers over capacity/admission.ts, which the planner also uses.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { admissionVerdicts, kueueViewOf, trainingJobsOf } from "../../capacity/admission";
import { pipelineStepJobs } from "../../capacity/pipelineQueueing";
import { KUEUE_QUEUE_LABEL } from "../../facts/kueue";

const STEP_FIX = "Fix: label the step's template metadata with its LocalQueue (components/pipelines.ts, from components/training.ts kueueLabels); Argo copies it onto the step's pod, where Kueue's pod webhook gates the pod until admission.";

export const trainingQueued: ResourceValidationPolicy = {
    name: "training-queued",
    description: `Every Job and Kubeflow training job whose pods request GPUs names its Kueue LocalQueue (label ${KUEUE_QUEUE_LABEL}) and is created suspended (Job spec.suspend, PyTorchJob spec.runPolicy.suspend), so Kueue admits it against the team's quota, a gang whole or not at all. Every pipeline step (an Argo WorkflowTemplate's DAG task) that requests GPUs carries the label on its pod template, so Kueue's plain-Pod integration gates its pod until admission.`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        for (const step of pipelineStepJobs([{ type: args.type, name: args.name, props: args.props }])) {
            if (step.demand.gpus > 0 && step.localQueue === undefined) {
                report(`${step.kind} ${step.namespace}/${step.name} requests ${step.demand.gpus} GPUs but its pod template has no ${KUEUE_QUEUE_LABEL} label: its pod bypasses the queues and their quotas. ${STEP_FIX}`);
            }
        }
        const [job] = trainingJobsOf([{ type: args.type, name: args.name, props: args.props }]);
        if (!job) {
            return;
        }
        const what = `${job.kind} ${job.namespace}/${job.name}`;
        if (job.localQueue === undefined) {
            report(`${what} requests ${job.demand.gpus} GPUs but has no ${KUEUE_QUEUE_LABEL} label: it bypasses the queues and their quotas. Fix: label it with its LocalQueue (components/training.ts kueueLabels).`);
        }
        const kubeflow = args.type !== "kubernetes:batch/v1:Job";
        const suspend = kubeflow ? args.props.spec?.runPolicy?.suspend : args.props.spec?.suspend;
        if (suspend !== true) {
            report(`${what} is not created suspended (${kubeflow ? "spec.runPolicy.suspend" : "spec.suspend"} ${suspend ?? "unset"}): its pods could start before Kueue admits it. Fix: create it with suspend: true; Kueue unsuspends it on admission.`);
        }
    },
};

export const trainingFitsQueue: StackValidationPolicy = {
    name: "training-fits-queue",
    description:
        "Every queued GPU training job and every pipeline step could be admitted by its ClusterQueue: its LocalQueue exists, a flavor of the queue matches its pods' node selector, and its whole demand (every pod of a gang at once; a step's one pod, Argo's executor included) fits the queue's nominal quota plus what its cohort can lend. Otherwise it waits forever. In a stack with Kueue every pipeline step, CPU steps too, names a LocalQueue.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const view = kueueViewOf(args.resources);
        if (!view) {
            // No ClusterQueue in this stack: the queues are another stack's (an app team's project).
            return;
        }
        const steps = pipelineStepJobs(args.resources);
        // An unlabelled GPU step is training-queued's to report; the CPU ones are only wrong where Kueue queues.
        for (const s of steps.filter((j) => j.localQueue === undefined && j.demand.gpus === 0)) {
            report(`${s.kind} ${s.namespace}/${s.name} has no ${KUEUE_QUEUE_LABEL} label in a stack that queues through Kueue: its pod bypasses the queues and their quotas. ${STEP_FIX}`, s.urn);
        }
        const jobs = [...trainingJobsOf(args.resources), ...steps].filter((j) => j.localQueue !== undefined);
        for (const v of admissionVerdicts(view, jobs)) {
            if (v.never) {
                report(`${v.job.kind} ${v.job.namespace}/${v.job.name} can never be admitted: it ${v.never}. Fix: lower its GPUs or workers, raise the pool's maxSize, or give its team a larger share (ml-platform:queues).`, v.job.urn);
            }
        }
    },
};

export const queuePolicies = [trainingQueued, trainingFitsQueue];
