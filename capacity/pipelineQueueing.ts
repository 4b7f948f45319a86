/**
 * Pipeline steps as Kueue sees them (issue 17). Argo creates one pod per DAG step when the step's
 * dependencies have finished; with the step's queue label, Kueue's plain-Pod integration makes that pod
 * its own Workload and admits it alone. So each step is a queued job of one pod: its demand is the pod's
 * (the step's container plus Argo's executor, capacity/pipelines.ts), it is submitted after its
 * dependencies, and it runs its expected minutes. Steps are not a gang: Kueue's pod groups need every
 * member to exist before admission, and a DAG's later steps do not exist until the earlier ones end.
 */
import { QueuedJob } from "./admission";
import { PipelineResource, pipelinesOf } from "./pipelines";
import { KUEUE_PRIORITY_LABEL, KUEUE_QUEUE_LABEL } from "../facts/kueue";

export const PIPELINE_STEP_KIND = "pipeline step";

/** A step's name among the queued jobs: `<pipeline>/<step>`, as the planner names the step's pod group. */
export function stepJobName(pipeline: string, step: string): string {
    return `${pipeline}/${step}`;
}

/** Every step of every pipeline (WorkflowTemplate with a DAG entrypoint) as a queued job of one pod. */
export function pipelineStepJobs(resources: readonly PipelineResource[]): QueuedJob[] {
    return pipelinesOf(resources).flatMap((p) =>
        p.steps.map<QueuedJob>((s) => ({
            name: stepJobName(p.name, s.name),
            kind: PIPELINE_STEP_KIND,
            namespace: p.namespace,
            ...(p.urn !== undefined ? { urn: p.urn } : {}),
            ...(s.labels[KUEUE_QUEUE_LABEL] !== undefined ? { localQueue: s.labels[KUEUE_QUEUE_LABEL] } : {}),
            ...(s.labels[KUEUE_PRIORITY_LABEL] !== undefined ? { priorityClass: s.labels[KUEUE_PRIORITY_LABEL] } : {}),
            demand: { cpuMillis: s.group.requests.cpuMillis, memoryBytes: s.group.requests.memoryBytes, gpus: s.gpus },
            nodeSelector: { ...s.group.nodeSelector },
            resources: ["cpu", "memory", ...Object.entries(s.group.requests.extended ?? {}).filter(([, n]) => n > 0).map(([k]) => k)].sort(),
            runHours: s.expectedMinutes / 60,
            ...(s.dependencies.length > 0 ? { after: s.dependencies.map((d) => stepJobName(p.name, d)) } : {}),
        })),
    );
}
