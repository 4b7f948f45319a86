import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { Taint, Toleration } from "../capacity/pools";
import { pipelineGpuQuota } from "../capacity/pipelines";
import {
    ARGO_EXECUTOR_RESOURCES,
    ARGO_EXECUTOR_SECURITY_CONTEXT,
    ARGO_NAMESPACE,
    CRON_WORKFLOW_TYPE,
    EXPECTED_MINUTES_ANNOTATION,
    metricPath,
    PIPELINE_LABEL,
    PIPELINE_METRICS_DIR,
    PIPELINE_SERVICE_ACCOUNT,
    PIPELINE_STEP_LABEL,
    WORKFLOW_TEMPLATE_TYPE,
} from "../facts/pipelines";
import { TRAINING_POD_ANNOTATIONS } from "../facts/training";
import { VERSIONS } from "../facts/versions";
import { CLAIMS, NodePoolSpec, PipelineSpec, PipelineStepSpec } from "../stacks/spec";
import { TRAINING_PRIORITY_CLASS } from "./priority";
import { kueueLabels } from "./training";
import { claimMount, claimVolume, containerResources, containerSecurityContext, podSecurityContext, poolPlacement, TMP_MOUNT, TMP_VOLUME, trackingUriEnv } from "./workload";

/** The DAG template every pipeline's WorkflowTemplate starts at; step templates are step-<name>, so no step can clash with it. */
export const PIPELINE_ENTRYPOINT = "pipeline";
export const ARGO_RELEASE = "argo-workflows";

export function stepTemplateName(step: string): string {
    return `step-${step}`;
}

/**
 * The executor's rights, and nothing else: the wait sidecar reports a step's outputs as a
 * WorkflowTaskResult (Argo >= 3.4, docs/workflow-rbac.md).
 */
export const EXECUTOR_RULES = [{ apiGroups: ["argoproj.io"], resources: ["workflowtaskresults"], verbs: ["create", "patch"] }];

/**
 * A quality gate as Argo's `when`: the earlier step's published metric against the threshold, e.g.
 * `{{tasks.validate.outputs.parameters.accuracy}} >= 0.8`. Built from config, never typed.
 */
export function gateCondition(gate: { step: string; metric: string; min: number }): string {
    return `{{tasks.${gate.step}.outputs.parameters.${gate.metric}}} >= ${gate.min}`;
}

export function pipelineLabels(pipeline: string): Record<string, string> {
    return { "app.kubernetes.io/part-of": "ml-platform", "ml-platform/workload": "pipeline", [PIPELINE_LABEL]: pipeline };
}

export interface WorkflowTemplateArgs {
    pipeline: PipelineSpec;
    /** The pools of the pipeline's steps, by name. */
    pools: Record<string, NodePoolSpec>;
    gpuTaint: Taint;
    trackingSecretName: string;
    /** RWX claim in the pipelines namespace, mounted read-write at /checkpoints: artifacts pass between steps here. */
    checkpointsClaim: string;
    /**
     * The Kueue LocalQueue of the pipelines namespace (components/kueue.ts pipelinesQueue), when the stack
     * queues: every step's pod carries it, so Kueue's pod webhook gates the pod until its queue admits it.
     */
    queue?: string;
}

/** One step's template: the pool's placement, the training pods' priority and security, GPU requests equal to limits. */
function stepTemplate(args: WorkflowTemplateArgs, step: PipelineStepSpec) {
    const pool = args.pools[step.pool];
    if (!pool) {
        throw new Error(`pipeline "${args.pipeline.name}" step "${step.name}" runs on pool "${step.pool}", which was not given`);
    }
    const placement: { tolerations: Toleration[]; nodeSelector: Record<string, string> } = poolPlacement(pool, args.gpuTaint);
    return {
        name: stepTemplateName(step.name),
        metadata: {
            // Argo copies a template's metadata onto its pod (workflowpod.go addMetadata): the queue label
            // reaches the pod, where Kueue's plain-Pod integration reads it.
            labels: { ...pipelineLabels(args.pipeline.name), [PIPELINE_STEP_LABEL]: step.name, ...(args.queue !== undefined ? kueueLabels(args.queue) : {}) },
            // A step holds un-checkpointed work like a training pod: Cluster Autoscaler must not drain its node.
            annotations: { ...TRAINING_POD_ANNOTATIONS, [EXPECTED_MINUTES_ANNOTATION]: String(step.expectedMinutes) },
        },
        nodeSelector: placement.nodeSelector,
        ...(placement.tolerations.length > 0 ? { tolerations: placement.tolerations } : {}),
        priorityClassName: TRAINING_PRIORITY_CLASS,
        container: {
            image: step.image,
            command: step.command,
            args: step.args,
            env: [
                trackingUriEnv(args.trackingSecretName),
                { name: "CHECKPOINT_DIR", value: CLAIMS.checkpoints.mountPath },
                { name: "METRICS_DIR", value: PIPELINE_METRICS_DIR },
            ],
            resources: containerResources(step, step.gpus),
            securityContext: containerSecurityContext(),
            volumeMounts: [claimMount({ name: args.checkpointsClaim, mountPath: CLAIMS.checkpoints.mountPath, mountReadOnly: false }), TMP_MOUNT],
        },
        ...(step.publishes.length > 0
            ? { outputs: { parameters: step.publishes.map((m) => ({ name: m, valueFrom: { path: metricPath(m) } })) } }
            : {}),
    };
}

/** The WorkflowTemplate spec of a pipeline: a DAG whose gated tasks carry their condition. */
export function workflowTemplateSpec(args: WorkflowTemplateArgs) {
    const p = args.pipeline;
    return {
        entrypoint: PIPELINE_ENTRYPOINT,
        serviceAccountName: PIPELINE_SERVICE_ACCOUNT,
        // Step containers get no API token; the executor's containers mount its token (Argo's executor.serviceAccountName).
        automountServiceAccountToken: false,
        executor: { serviceAccountName: PIPELINE_SERVICE_ACCOUNT },
        activeDeadlineSeconds: p.activeDeadlineSeconds,
        securityContext: podSecurityContext(),
        // Finished Workflows are Argo's, not Pulumi's: the TTL removes them; succeeded pods go at once.
        podGC: { strategy: "OnPodSuccess" },
        ttlStrategy: { secondsAfterCompletion: 7 * 86400 },
        volumes: [claimVolume({ name: args.checkpointsClaim, mountPath: CLAIMS.checkpoints.mountPath, mountReadOnly: false }), TMP_VOLUME],
        templates: [
            {
                name: PIPELINE_ENTRYPOINT,
                dag: {
                    tasks: p.steps.map((s) => ({
                        name: s.name,
                        template: stepTemplateName(s.name),
                        ...(s.dependencies.length > 0 ? { dependencies: s.dependencies } : {}),
                        ...(s.gate ? { when: gateCondition(s.gate) } : {}),
                    })),
                },
            },
            ...p.steps.map((s) => stepTemplate(args, s)),
        ],
    };
}

/** Argo Workflows' controller from its Helm chart: on the system pool, no server, emissary executor restricted. */
export interface ArgoWorkflowsArgs {
    /** The namespaces whose Workflows the controller runs. */
    workflowNamespaces: string[];
    systemNodeSelector: Record<string, string>;
    systemTolerations: Toleration[];
}

export class ArgoWorkflows extends pulumi.ComponentResource {
    public readonly namespace: string = ARGO_NAMESPACE;
    public readonly release: k8s.helm.v3.Release;

    constructor(name: string, args: ArgoWorkflowsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:pipelines:ArgoWorkflows", name, {}, opts);
        const ns = new k8s.core.v1.Namespace(
            `${name}-ns`,
            {
                metadata: {
                    name: ARGO_NAMESPACE,
                    labels: {
                        "app.kubernetes.io/part-of": "ml-platform",
                        // The chart's CRD install Job sets no securityContext in 1.0.14: baseline enforced, restricted reported.
                        "pod-security.kubernetes.io/enforce": "baseline",
                        "pod-security.kubernetes.io/warn": "restricted",
                        "pod-security.kubernetes.io/audit": "restricted",
                    },
                },
            },
            { parent: this },
        );
        const onSystemPool = { nodeSelector: args.systemNodeSelector, tolerations: args.systemTolerations };
        this.release = new k8s.helm.v3.Release(
            `${name}-chart`,
            {
                name: ARGO_RELEASE,
                namespace: ARGO_NAMESPACE,
                chart: VERSIONS.argoWorkflows.chart,
                version: VERSIONS.argoWorkflows.version,
                repositoryOpts: { repo: VERSIONS.argoWorkflows.repo },
                values: {
                    images: { tag: VERSIONS.argoWorkflowsApp, pullPolicy: "IfNotPresent" },
                    // Full CRDs: the API server validates every WorkflowTemplate against Argo's schema.
                    crds: { install: true, keep: true, full: true, upgradeJob: onSystemPool },
                    controller: {
                        ...onSystemPool,
                        workflowNamespaces: args.workflowNamespaces,
                        // Only Workflows that run a WorkflowTemplate: what app teams submit is a platform pipeline.
                        workflowRestrictions: { templateReferencing: "Strict" },
                        podSecurityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
                        resources: { requests: { cpu: "100m", memory: "256Mi" }, limits: { memory: "1Gi" } },
                    },
                    // The UI/API server is off: nothing listens outside the cluster.
                    server: { enabled: false },
                    // The platform makes the workflow service account and its Role itself (components/pipelines.ts).
                    workflow: { serviceAccount: { create: false }, rbac: { create: false } },
                    executor: { resources: ARGO_EXECUTOR_RESOURCES, securityContext: ARGO_EXECUTOR_SECURITY_CONTEXT },
                },
            },
            { parent: this, dependsOn: [ns] },
        );
        this.registerOutputs({ namespace: this.namespace });
    }
}

export interface PipelinesArgs {
    namespace: string;
    pipelines: PipelineSpec[];
    pools: Record<string, NodePoolSpec>;
    gpuTaint: Taint;
    trackingSecretName: string;
    /** The checkpoints claim of the pipelines namespace (stacks/spec.ts PIPELINE_CHECKPOINTS, made by Storage). */
    checkpointsClaim: string;
    /** The installed controller: templates wait for its CRDs. */
    argo: ArgoWorkflows;
    /** The LocalQueue the steps' pods are submitted to (see WorkflowTemplateArgs.queue). */
    queue?: string;
}

/** The pipelines namespace's objects: the run service account and its Role, the GPU quota, and each pipeline's templates. */
export class Pipelines extends pulumi.ComponentResource {
    public readonly namespace: string;
    public readonly serviceAccountName: string = PIPELINE_SERVICE_ACCOUNT;
    public readonly templateNames: string[];

    constructor(name: string, args: PipelinesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:pipelines:Pipelines", name, {}, opts);
        const ns = args.namespace;
        const labels = { "app.kubernetes.io/part-of": "ml-platform" };
        const sa = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            { metadata: { name: PIPELINE_SERVICE_ACCOUNT, namespace: ns, labels }, automountServiceAccountToken: false },
            { parent: this },
        );
        // Argo mounts the executor's token from this Secret into its own containers only.
        const token = new k8s.core.v1.Secret(
            `${name}-sa-token`,
            {
                metadata: { name: `${PIPELINE_SERVICE_ACCOUNT}.service-account-token`, namespace: ns, labels, annotations: { "kubernetes.io/service-account.name": PIPELINE_SERVICE_ACCOUNT } },
                type: "kubernetes.io/service-account-token",
            },
            { parent: this, dependsOn: [sa] },
        );
        const role = new k8s.rbac.v1.Role(`${name}-executor-role`, { metadata: { name: "pipeline-executor", namespace: ns, labels }, rules: EXECUTOR_RULES }, { parent: this });
        const binding = new k8s.rbac.v1.RoleBinding(
            `${name}-executor-binding`,
            {
                metadata: { name: "pipeline-executor", namespace: ns, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "pipeline-executor" },
                subjects: [{ kind: "ServiceAccount", name: PIPELINE_SERVICE_ACCOUNT, namespace: ns }],
            },
            { parent: this, dependsOn: [role, sa] },
        );
        const gpus = pipelineGpuQuota(args.pipelines);
        new k8s.core.v1.ResourceQuota(
            `${name}-gpu-quota`,
            { metadata: { name: "pipeline-gpus", namespace: ns, labels }, spec: { hard: { "requests.nvidia.com/gpu": String(gpus) } } },
            { parent: this },
        );
        const deps = [args.argo, sa, token, binding];
        this.templateNames = args.pipelines.map((p) => p.name);
        for (const p of args.pipelines) {
            const template = new k8s.apiextensions.CustomResource(
                `${name}-${p.name}-template`,
                {
                    ...WORKFLOW_TEMPLATE_TYPE,
                    metadata: { name: p.name, namespace: ns, labels: pipelineLabels(p.name) },
                    spec: workflowTemplateSpec({ pipeline: p, pools: args.pools, gpuTaint: args.gpuTaint, trackingSecretName: args.trackingSecretName, checkpointsClaim: args.checkpointsClaim, queue: args.queue }),
                },
                { parent: this, dependsOn: deps },
            );
            if (p.schedule !== undefined) {
                new k8s.apiextensions.CustomResource(
                    `${name}-${p.name}-cron`,
                    {
                        ...CRON_WORKFLOW_TYPE,
                        metadata: { name: p.name, namespace: ns, labels: pipelineLabels(p.name) },
                        spec: {
                            schedules: [p.schedule],
                            concurrencyPolicy: p.concurrencyPolicy,
                            startingDeadlineSeconds: 600,
                            successfulJobsHistoryLimit: 3,
                            failedJobsHistoryLimit: 3,
                            workflowMetadata: { labels: pipelineLabels(p.name) },
                            workflowSpec: { workflowTemplateRef: { name: p.name } },
                        },
                    },
                    { parent: this, dependsOn: [template] },
                );
            }
        }
        this.namespace = ns;
        this.registerOutputs({ namespace: this.namespace, serviceAccountName: this.serviceAccountName, templateNames: this.templateNames });
    }
}
