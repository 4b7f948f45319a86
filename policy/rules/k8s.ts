/**
 * What the rules read from Kubernetes objects: pod templates out of any workload kind (built-in or a
 * Kubeflow job), containers, tolerations and node selection. Pure functions over the objects' inputs;
 * the same code runs on the offline plan's recorded inputs and on `pulumi preview`'s.
 */
import type { ResourceValidationArgs } from "@pulumi/policy";
import { GPU_RESOURCE } from "../../capacity/pools";

/** A resource's properties as the engine hands them over: untyped JSON. */
export type Props = ResourceValidationArgs["props"];

export interface ObjectMeta {
    name?: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
}

export interface Toleration {
    key?: string;
    operator?: string;
    value?: string;
    effect?: string;
}

export interface NodeTaint {
    key: string;
    value: string;
    effect: string;
}

export type Quantity = string | number;

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
    startupProbe?: Probe;
    livenessProbe?: Probe;
    readinessProbe?: Probe;
}

export interface NodeSelectorRequirement {
    key: string;
    operator: string;
    values?: string[];
}

export interface PodSpec {
    containers?: Container[];
    initContainers?: Container[];
    ephemeralContainers?: Container[];
    tolerations?: Toleration[];
    nodeSelector?: Record<string, string>;
    affinity?: {
        nodeAffinity?: {
            requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: { matchExpressions?: NodeSelectorRequirement[] }[] };
        };
    };
    volumes?: { name: string; hostPath?: { path: string } }[];
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
    /** The replica role of a Kubeflow job (Master, Worker), if any. */
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

export function workloadOf(type: string, props: Props, fallbackName: string): WorkloadRef {
    const meta: ObjectMeta = props.metadata ?? {};
    return { kind: props.kind ?? kindOf(type), namespace: meta.namespace ?? "default", name: meta.name ?? fallbackName };
}

/**
 * Every pod template a resource carries: spec.template of the built-in controllers, the job template
 * of a CronJob, the pod itself, and each role's template of a Kubeflow job (PyTorchJob's
 * pytorchReplicaSpecs, TFJob's tfReplicaSpecs, ...). Anything else has none.
 */
export function podTemplates(type: string, props: Props, fallbackName = ""): PodTemplate[] {
    // Decide by type before reading props: in a preview, fields of unrelated resources may be unknown.
    const kubeflow = KUBEFLOW_JOB.test(type);
    if (!props || !(TEMPLATE_AT_SPEC.test(type) || CRON_JOB.test(type) || type === "kubernetes:core/v1:Pod" || kubeflow)) {
        return [];
    }
    const workload = workloadOf(type, props, fallbackName);
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

export interface ContainerRef {
    container: Container;
    kind: "container" | "init container" | "ephemeral container";
}

export function containersOf(spec: PodSpec): ContainerRef[] {
    return [
        ...(spec.initContainers ?? []).map((container) => ({ container, kind: "init container" as const })),
        ...(spec.containers ?? []).map((container) => ({ container, kind: "container" as const })),
        ...(spec.ephemeralContainers ?? []).map((container) => ({ container, kind: "ephemeral container" as const })),
    ];
}

/** `DaemonSet kube-system/dcgm-exporter`, plus the role of a Kubeflow replica. */
export function describeTemplate(t: PodTemplate): string {
    const base = `${t.workload.kind} ${t.workload.namespace}/${t.workload.name}`;
    return t.role ? `${base} (${t.role})` : base;
}

export function describeContainer(t: PodTemplate, c: ContainerRef): string {
    return `${describeTemplate(t)} ${c.kind} "${c.container.name}"`;
}

/** "namespace/name" when the template belongs to a DaemonSet on the list; allow-lists name DaemonSets only. */
export function listedDaemonSet(t: PodTemplate, list: readonly string[]): string | undefined {
    const id = `${t.workload.namespace}/${t.workload.name}`;
    return t.workload.kind === "DaemonSet" && list.includes(id) ? id : undefined;
}

/** A GPU count as a number (NaN when it is not a whole number: GPUs are not divisible). */
export function gpuCount(q: Quantity | undefined): number | undefined {
    if (q === undefined) {
        return undefined;
    }
    const s = String(q).trim();
    return /^\d+$/.test(s) ? Number(s) : NaN;
}

/** GPUs the main containers ask for (requests, or limits when only a limit is set). */
export function requestedGpus(spec: PodSpec): number {
    let total = 0;
    for (const c of spec.containers ?? []) {
        const n = gpuCount(c.resources?.requests?.[GPU_RESOURCE] ?? c.resources?.limits?.[GPU_RESOURCE]);
        total += n !== undefined && Number.isFinite(n) ? n : 0;
    }
    return total;
}

/** Kubernetes' toleration semantics (ToleratesTaint). */
export function tolerates(tolerations: Toleration[] | undefined, taint: NodeTaint): boolean {
    return (tolerations ?? []).some((t) => {
        if (t.effect && t.effect !== taint.effect) {
            return false;
        }
        const operator = t.operator ?? "Equal";
        if (!t.key) {
            return operator === "Exists";
        }
        if (t.key !== taint.key) {
            return false;
        }
        return operator === "Exists" || (t.value ?? "") === taint.value;
    });
}

/** Taints that keep pods off a node (PreferNoSchedule only discourages). */
export function blockingTaints(taints: NodeTaint[]): NodeTaint[] {
    return taints.filter((t) => t.effect === "NoSchedule" || t.effect === "NoExecute");
}

export function describeTaint(t: NodeTaint): string {
    return `${t.key}=${t.value}:${t.effect}`;
}

function matchesRequirement(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
    const has = Object.prototype.hasOwnProperty.call(labels, req.key);
    const value = labels[req.key];
    const values = req.values ?? [];
    switch (req.operator) {
        case "In":
            return has && values.includes(value);
        case "NotIn":
            return !has || !values.includes(value);
        case "Exists":
            return has;
        case "DoesNotExist":
            return !has;
        case "Gt":
            return has && Number(value) > Number(values[0]);
        case "Lt":
            return has && Number(value) < Number(values[0]);
        default:
            return false;
    }
}

/** True when the pod spec constrains nodes at all (nodeSelector or required node affinity). */
export function hasNodeSelection(spec: PodSpec): boolean {
    const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    return Object.keys(spec.nodeSelector ?? {}).length > 0 || terms.length > 0;
}

/** Whether a node with these labels satisfies the pod's nodeSelector and required node affinity. */
export function selectsNode(spec: PodSpec, labels: Record<string, string>): boolean {
    for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) {
        if (labels[k] !== v) {
            return false;
        }
    }
    const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    return terms.length === 0 || terms.some((term) => (term.matchExpressions ?? []).every((req) => matchesRequirement(req, labels)));
}

export function describeSelection(spec: PodSpec): string {
    const parts = Object.entries(spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`);
    const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
    if (terms.length > 0) {
        parts.push(`${terms.length} required node affinity term(s)`);
    }
    return parts.length > 0 ? `nodeSelector {${parts.join(", ")}}` : "no nodeSelector or node affinity";
}

/** A label selector (matchLabels + matchExpressions) against a set of labels. */
export function selectorMatches(
    selector: { matchLabels?: Record<string, string>; matchExpressions?: NodeSelectorRequirement[] } | undefined,
    labels: Record<string, string>,
): boolean {
    if (!selector) {
        return false;
    }
    const matchLabels = Object.entries(selector.matchLabels ?? {});
    const expressions = selector.matchExpressions ?? [];
    if (matchLabels.length === 0 && expressions.length === 0) {
        // An empty selector selects every pod in the namespace.
        return true;
    }
    return matchLabels.every(([k, v]) => labels[k] === v) && expressions.every((req) => matchesRequirement(req, labels));
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

type LabelSelector = Parameters<typeof selectorMatches>[0];

/**
 * Objects with label selectors (PodDisruptionBudgets, Services...) indexed so that the ones selecting a
 * set of labels are found without matching every selector against it. Each selector is filed under one
 * of its matchLabels pairs (a pod must carry that pair to match); selectors without matchLabels are
 * always tried. `matching` gives the same objects, in the same order, as testing each in turn.
 */
export class SelectorIndex<T> {
    private readonly byPair = new Map<string, { at: number; selector: LabelSelector; item: T }[]>();
    private readonly unkeyed = new Map<string, { at: number; selector: LabelSelector; item: T }[]>();
    private count = 0;

    add(namespace: string, selector: LabelSelector, item: T): void {
        const entry = { at: this.count++, selector, item };
        const first = Object.entries(selector?.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))[0];
        const [map, key] = first ? [this.byPair, JSON.stringify([namespace, ...first])] : [this.unkeyed, namespace];
        const bucket = map.get(key);
        if (bucket) {
            bucket.push(entry);
        } else {
            map.set(key, [entry]);
        }
    }

    matching(namespace: string, labels: Record<string, string>): T[] {
        const candidates = [...(this.unkeyed.get(namespace) ?? [])];
        for (const pair of Object.entries(labels)) {
            candidates.push(...(this.byPair.get(JSON.stringify([namespace, ...pair])) ?? []));
        }
        return candidates
            .filter((c) => selectorMatches(c.selector, labels))
            .sort((a, b) => a.at - b.at)
            .map((c) => c.item);
    }
}
