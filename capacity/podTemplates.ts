import type { NodeSelectorRequirement, PodToleration, RequiredNodeAffinity } from "./predicates";
import type { Quantity } from "./resources";
import { ARGO_MAIN_CONTAINER, ARGO_WORKFLOW_KIND } from "../facts/pipelines";

/**
 * Pod templates out of whatever registers them: the built-in controllers, CronJobs, bare Pods and Kubeflow
 * jobs, and the HPAs that scale them. Plain functions over a resource's type and properties (the offline
 * plan's recorded inputs or a preview's), shared by the capacity analysis and the policy rules.
 */

/** A resource's properties as the engine hands them over: untyped JSON. */
export type Props = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export interface ObjectMeta {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
}

export type Toleration = PodToleration;

export type { NodeSelectorRequirement, Quantity };

export interface Probe {
    initialDelaySeconds?: number;
    periodSeconds?: number;
    failureThreshold?: number;
}

export interface SeccompProfile {
    type?: string;
    localhostProfile?: string;
}

export interface SecurityContext {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    runAsNonRoot?: boolean;
    runAsUser?: number;
    readOnlyRootFilesystem?: boolean;
    seccompProfile?: SeccompProfile;
    capabilities?: { add?: string[]; drop?: string[] };
}

export interface EnvVar {
    name: string;
    value?: string;
    valueFrom?: { secretKeyRef?: unknown; configMapKeyRef?: unknown; fieldRef?: unknown; resourceFieldRef?: unknown };
}

export interface Container {
    name: string;
    image?: string;
    env?: EnvVar[];
    resources?: { requests?: Record<string, Quantity>; limits?: Record<string, Quantity> };
    securityContext?: SecurityContext;
    volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
    startupProbe?: Probe;
    livenessProbe?: Probe;
    readinessProbe?: Probe;
}

export interface PodSpec {
    containers?: Container[];
    initContainers?: Container[];
    ephemeralContainers?: Container[];
    tolerations?: Toleration[];
    nodeSelector?: Record<string, string>;
    affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: RequiredNodeAffinity } };
    volumes?: { name: string; hostPath?: { path: string }; emptyDir?: { medium?: string; sizeLimit?: Quantity } }[];
    securityContext?: { runAsNonRoot?: boolean; runAsUser?: number; seccompProfile?: SeccompProfile };
    automountServiceAccountToken?: boolean;
    serviceAccountName?: string;
}

export interface WorkloadRef {
    kind: string;
    namespace: string;
    name: string;
}

export interface PodTemplate {
    workload: WorkloadRef;
    /** Where the template sits in the object, e.g. spec.pytorchReplicaSpecs.Worker.template. */
    path: string;
    /** The replica role of a Kubeflow job (Master, Worker), or the Argo template a step pod runs, if any. */
    role?: string;
    metadata: ObjectMeta;
    spec: PodSpec;
}

/** `kubernetes:<group>/<version>:<Kind>` -> Kind. */
export function kindOf(type: string): string {
    return type.slice(type.lastIndexOf(":") + 1);
}

// Patches carry partial objects (a container without image or resources is normal there), so the
// rules judge whole objects only.
const TEMPLATE_AT_SPEC = /^kubernetes:(apps|extensions)\/v1(beta[12])?:(Deployment|DaemonSet|StatefulSet|ReplicaSet)$|^kubernetes:batch\/v1:Job$|^kubernetes:core\/v1:ReplicationController$/;
const CRON_JOB = /^kubernetes:batch\/v1(beta1)?:CronJob$/;
/** Kubeflow training jobs (PyTorchJob, TFJob, ...): pod templates under spec.<x>ReplicaSpecs.<role>. */
export const KUBEFLOW_JOB = /^kubernetes:kubeflow\.org\/v1:[A-Za-z]+Job$/;

/**
 * The pod spec Argo's controller builds for one container template of a workflow spec: the template's
 * container as the main container; the workflow's nodeSelector under the template's keys, the workflow's
 * tolerations and volumes before the template's; the template's securityContext, priority class, service
 * account and token setting over the workflow's (workflow/controller/workflowpod.go at v4.0.5). The
 * executor's own init and wait containers come from the controller's config, not from the template.
 */
function argoPodSpec(wf: Props, t: Props): PodSpec {
    const pick = (field: string, wfField = field) => (t[field] !== undefined ? { [field]: t[field] } : wf[wfField] !== undefined ? { [field]: wf[wfField] } : {});
    const nodeSelector = { ...(wf.nodeSelector ?? {}), ...(t.nodeSelector ?? {}) };
    const tolerations = [...(wf.tolerations ?? []), ...(t.tolerations ?? [])];
    const volumes = [...(wf.volumes ?? []), ...(t.volumes ?? [])];
    return {
        containers: [{ ...t.container, name: ARGO_MAIN_CONTAINER }],
        ...(t.initContainers ? { initContainers: t.initContainers } : {}),
        ...(Object.keys(nodeSelector).length > 0 ? { nodeSelector } : {}),
        ...(tolerations.length > 0 ? { tolerations } : {}),
        ...(volumes.length > 0 ? { volumes } : {}),
        ...pick("affinity"),
        ...pick("securityContext"),
        ...pick("automountServiceAccountToken"),
        ...pick("serviceAccountName"),
        ...pick("priorityClassName", "podPriorityClassName"),
    } as PodSpec;
}

/** Every container template of an Argo workflow spec (Workflow, WorkflowTemplate, or a CronWorkflow's workflowSpec). */
function argoTemplates(props: Props, workload: WorkloadRef): PodTemplate[] {
    const cron = workload.kind === "CronWorkflow";
    const wf: Props = (cron ? props.spec?.workflowSpec : props.spec) ?? {};
    const at = cron ? "spec.workflowSpec" : "spec";
    const templates: Props[] = Array.isArray(wf.templates) ? wf.templates : [];
    return templates.flatMap((t, i) => {
        if (!t?.container) {
            return [];
        }
        const metadata: ObjectMeta = {
            labels: { ...(wf.podMetadata?.labels ?? {}), ...(t.metadata?.labels ?? {}) },
            annotations: { ...(wf.podMetadata?.annotations ?? {}), ...(t.metadata?.annotations ?? {}) },
        };
        return [{ workload, path: `${at}.templates[${i}]`, role: String(t.name ?? i), metadata, spec: argoPodSpec(wf, t) }];
    });
}

export function workloadOf(type: string, props: Props, fallbackName: string): WorkloadRef {
    const meta: ObjectMeta = props.metadata ?? {};
    return { kind: props.kind ?? kindOf(type), namespace: meta.namespace ?? "default", name: meta.name ?? fallbackName };
}

/**
 * Every pod template a resource carries: spec.template of the built-in controllers, the job template
 * of a CronJob, the pod itself, and each role's template of a Kubeflow job (PyTorchJob's
 * pytorchReplicaSpecs, TFJob's tfReplicaSpecs, ...), and each container template of an Argo workflow
 * spec (WorkflowTemplate, CronWorkflow, Workflow) as the pod Argo's controller would make of it. Anything
 * else has none.
 */
export function podTemplates(type: string, props: Props, fallbackName = ""): PodTemplate[] {
    // Decide by type before reading props: in a preview, fields of unrelated resources may be unknown.
    const kubeflow = KUBEFLOW_JOB.test(type);
    const argo = ARGO_WORKFLOW_KIND.test(type);
    if (!props || !(TEMPLATE_AT_SPEC.test(type) || CRON_JOB.test(type) || type === "kubernetes:core/v1:Pod" || kubeflow || argo)) {
        return [];
    }
    const workload = workloadOf(type, props, fallbackName);
    if (argo) {
        return argoTemplates(props, workload);
    }
    const template = (t: { metadata?: ObjectMeta; spec?: PodSpec } | undefined, path: string, role?: string): PodTemplate[] =>
        t?.spec ? [{ workload, path, ...(role ? { role } : {}), metadata: t.metadata ?? {}, spec: t.spec }] : [];

    if (CRON_JOB.test(type)) {
        return template(props.spec?.jobTemplate?.spec?.template, "spec.jobTemplate.spec.template");
    }
    if (type === "kubernetes:core/v1:Pod") {
        return template({ metadata: props.metadata, spec: props.spec }, "");
    }
    if (kubeflow) {
        // Keys first, values only for the replica specs: reading a field fetches (and may trip on) its value.
        const spec: Props = props.spec ?? {};
        return Object.keys(spec)
            .filter((field) => field.endsWith("ReplicaSpecs") && spec[field])
            .flatMap((field) => Object.keys(spec[field]).flatMap((role) => template(spec[field][role]?.template, `spec.${field}.${role}.template`, role)));
    }
    return template(props.spec?.template, "spec.template");
}

/** The key of the workload an HPA scales (spec.scaleTargetRef), in the HPA's namespace. */
export function scaleTargetKey(namespace: string, kind: string, name: string): string {
    return `${namespace}/${kind}/${name}`;
}

/**
 * HorizontalPodAutoscalers by the workload they scale: one lookup per workload instead of a scan of every
 * HPA (quadratic at thousands of workloads). The first HPA registered for a target wins, as a scan would.
 */
export function hpasByTarget<T extends { type: string; props: Props; name: string }>(resources: readonly T[]): Map<string, T> {
    const out = new Map<string, T>();
    for (const r of resources) {
        if (kindOf(r.type) !== "HorizontalPodAutoscaler" || !r.type.startsWith("kubernetes:autoscaling/")) {
            continue;
        }
        const ref = r.props.spec?.scaleTargetRef;
        const key = scaleTargetKey(workloadOf(r.type, r.props, r.name).namespace, String(ref?.kind), String(ref?.name));
        if (!out.has(key)) {
            out.set(key, r);
        }
    }
    return out;
}

