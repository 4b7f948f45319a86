/**
 * What the rules read from Kubernetes objects: pod templates out of any workload kind (built-in or a
 * Kubeflow job), containers, tolerations and node selection. Pure functions over the objects' inputs;
 * the same code runs on the offline plan's recorded inputs and on `pulumi preview`'s.
 */
import type { ResourceValidationArgs } from "@pulumi/policy";
import { GPU_RESOURCE } from "../../capacity/pools";
import type { Container, PodSpec, PodTemplate, Quantity } from "../../capacity/podTemplates";
import { NodeSelectorRequirement, NodeTaint, PodToleration, isBlockingTaint, nodeAffinity, requirementMatches, toleratesTaint } from "../../capacity/predicates";

export { hpasByTarget, kindOf, KUBEFLOW_JOB, podTemplates, scaleTargetKey, workloadOf } from "../../capacity/podTemplates";
export type {
    Container,
    EnvVar,
    NodeSelectorRequirement,
    ObjectMeta,
    PodSpec,
    PodTemplate,
    Probe,
    Quantity,
    SeccompProfile,
    SecurityContext,
    Toleration,
    WorkloadRef,
} from "../../capacity/podTemplates";
export type { NodeTaint };

/** A resource's properties as the engine hands them over: untyped JSON. */
export type Props = ResourceValidationArgs["props"];

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

/** Whether some toleration tolerates the taint, by the scheduler's TaintToleration (capacity/predicates). */
export function tolerates(tolerations: PodToleration[] | undefined, taint: NodeTaint): boolean {
    return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

/** Taints that keep pods off a node (PreferNoSchedule only discourages). */
export function blockingTaints(taints: NodeTaint[]): NodeTaint[] {
    return taints.filter(isBlockingTaint);
}

export function describeTaint(t: NodeTaint): string {
    return `${t.key}=${t.value ?? ""}:${t.effect}`;
}

function requiredAffinity(spec: PodSpec) {
    return spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
}

/** True when the pod spec constrains nodes at all (nodeSelector or required node affinity). */
export function hasNodeSelection(spec: PodSpec): boolean {
    return Object.keys(spec.nodeSelector ?? {}).length > 0 || (requiredAffinity(spec)?.nodeSelectorTerms ?? []).length > 0;
}

/** Whether a node with these labels passes the pod's nodeSelector and required node affinity (NodeAffinity). */
export function selectsNode(spec: PodSpec, labels: Record<string, string>): boolean {
    return nodeAffinity({ nodeSelector: spec.nodeSelector, affinity: requiredAffinity(spec) }, { labels }).fits;
}

export function describeSelection(spec: PodSpec): string {
    const parts = Object.entries(spec.nodeSelector ?? {}).map(([k, v]) => `${k}=${v}`);
    const terms = requiredAffinity(spec)?.nodeSelectorTerms ?? [];
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
    return matchLabels.every(([k, v]) => labels[k] === v) && expressions.every((req) => requirementMatches(req, labels));
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
