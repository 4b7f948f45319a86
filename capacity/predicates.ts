/**
 * kube-scheduler's filter plugins, each written once: TaintToleration, NodeAffinity (nodeSelector and
 * required node affinity) and NodeResourcesFit. The packer, the DaemonSet placement, the policy rules and
 * the tests all call these. Semantics follow k8s.io/api core/v1 toleration.go, component-helpers
 * nodeaffinity.go, apimachinery labels.Requirement and the scheduler's noderesources/fit.go.
 */
import { GPU_RESOURCE } from "./pools";
import { NodeResources, PodResources } from "./resources";
import { GiB, formatCpu, formatMemory } from "./quantity";

/** A toleration as the API carries it: every field optional, operator "" meaning Equal. */
export interface PodToleration {
    key?: string;
    operator?: string;
    value?: string;
    effect?: string;
    tolerationSeconds?: number;
}

export interface NodeTaint {
    key: string;
    value?: string;
    effect: string;
}

export interface NodeSelectorRequirement {
    key: string;
    operator: string;
    values?: string[];
}

export interface NodeSelectorTerm {
    matchExpressions?: NodeSelectorRequirement[];
    matchFields?: NodeSelectorRequirement[];
}

/** requiredDuringSchedulingIgnoredDuringExecution: a v1.NodeSelector. */
export interface RequiredNodeAffinity {
    nodeSelectorTerms?: NodeSelectorTerm[];
}

/** What the filters read of a node. `name` is unknown for nodes a pool has yet to launch. */
export interface NodeFacts {
    name?: string;
    labels: Record<string, string>;
    taints: NodeTaint[];
}

/** What the filters read of a pod. */
export interface PodPlacement {
    tolerations?: PodToleration[];
    nodeSelector?: Record<string, string>;
    affinity?: RequiredNodeAffinity;
}

export type FilterPlugin = "TaintToleration" | "NodeAffinity" | "NodeResourcesFit";

export type FilterResult =
    | { fits: true }
    | {
          fits: false;
          plugin: FilterPlugin;
          /** The binding constraint: "taint", "nodeSelector", "nodeAffinity" or a resource name. */
          constraint: string;
          /** Ours, for people: names the values that do not match. */
          reason: string;
          /** kube-scheduler's own status reasons, for comparison with a real scheduler's events. */
          schedulerReasons: string[];
      };

export const FITS: FilterResult = Object.freeze({ fits: true });

function unfit(plugin: FilterPlugin, constraint: string, reason: string, schedulerReasons: string[]): FilterResult {
    return { fits: false, plugin, constraint, reason, schedulerReasons };
}

/**
 * Toleration.ToleratesTaint: effect and key must match when the toleration sets them; "" or Equal compares
 * values, Exists matches any value, any other operator tolerates nothing. (Kubernetes 1.35 adds Gt/Lt
 * behind an alpha gate that is off by default; 1.34 has neither.)
 */
export function toleratesTaint(toleration: PodToleration, taint: NodeTaint): boolean {
    if (toleration.effect && toleration.effect !== taint.effect) {
        return false;
    }
    if (toleration.key && toleration.key !== taint.key) {
        return false;
    }
    switch (toleration.operator ?? "") {
        case "":
        case "Equal":
            return (toleration.value ?? "") === (taint.value ?? "");
        case "Exists":
            return true;
        default:
            return false;
    }
}

/** Only these effects filter; PreferNoSchedule only scores. */
export function isBlockingTaint(taint: NodeTaint): boolean {
    return taint.effect === "NoSchedule" || taint.effect === "NoExecute";
}

export function untoleratedTaints(tolerations: PodToleration[] | undefined, taints: NodeTaint[]): NodeTaint[] {
    return taints.filter((taint) => isBlockingTaint(taint) && !(tolerations ?? []).some((t) => toleratesTaint(t, taint)));
}

export function formatTaint(taint: NodeTaint): string {
    return `${taint.key}${taint.value ? `=${taint.value}` : ""}:${taint.effect}`;
}

/** TaintToleration filter: every NoSchedule/NoExecute taint of the node is tolerated. */
export function taintToleration(tolerations: PodToleration[] | undefined, taints: NodeTaint[]): FilterResult {
    const untolerated = untoleratedTaints(tolerations, taints);
    if (untolerated.length === 0) {
        return FITS;
    }
    const list = untolerated.map(formatTaint).join(", ");
    const first = untolerated[0];
    return unfit("TaintToleration", "taint", `${untolerated.length === 1 ? "taint" : "taints"} ${list} not tolerated`, [
        `node(s) had untolerated taint {${first.key}: ${first.value ?? ""}}`,
    ]);
}

export function formatSelector(selector: Record<string, string>): string {
    return Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
}

const AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector";

/** spec.nodeSelector: every pair must be a label of the node. */
export function nodeSelectorMatches(selector: Record<string, string> | undefined, labels: Record<string, string>): FilterResult {
    for (const [key, value] of Object.entries(selector ?? {})) {
        if (labels[key] !== value) {
            const has = hasLabel(labels, key) ? `node has ${key}=${labels[key]}` : `node has no ${key} label`;
            return unfit("NodeAffinity", "nodeSelector", `nodeSelector ${key}=${value} does not match (${has})`, [AFFINITY_MISMATCH]);
        }
    }
    return FITS;
}

function hasLabel(labels: Record<string, string>, key: string): boolean {
    return Object.prototype.hasOwnProperty.call(labels, key);
}

/** strconv.ParseInt(s, 10, 64): optional sign, decimal digits, within int64; anything else is no number. */
export function parseInt64(s: string): bigint | undefined {
    if (!/^[+-]?[0-9]+$/.test(s)) {
        return undefined;
    }
    const n = BigInt(s);
    return n >= -(2n ** 63n) && n < 2n ** 63n ? n : undefined;
}

/**
 * Whether a requirement is one labels.NewRequirement accepts: In/NotIn need values, Exists/DoesNotExist
 * none, Gt/Lt exactly one integer; any other operator is an error. A term with an invalid requirement
 * matches nothing. (Label key and value syntax is left to the API server.)
 */
export function requirementValid(req: NodeSelectorRequirement): boolean {
    const values = req.values ?? [];
    switch (req.operator) {
        case "In":
        case "NotIn":
            return values.length > 0;
        case "Exists":
        case "DoesNotExist":
            return values.length === 0;
        case "Gt":
        case "Lt":
            return values.length === 1 && parseInt64(values[0]) !== undefined;
        default:
            return false;
    }
}

/** labels.Requirement.Matches for a valid requirement. NotIn and DoesNotExist hold on a node without the label. */
export function requirementMatches(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
    const present = hasLabel(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
        case "In":
            return present && values.includes(labels[req.key]);
        case "NotIn":
            return !present || !values.includes(labels[req.key]);
        case "Exists":
            return present;
        case "DoesNotExist":
            return !present;
        case "Gt":
        case "Lt": {
            const have = present ? parseInt64(labels[req.key]) : undefined;
            const bound = values.length === 1 ? parseInt64(values[0]) : undefined;
            if (have === undefined || bound === undefined) {
                return false;
            }
            return req.operator === "Gt" ? have > bound : have < bound;
        }
        default:
            return false;
    }
}

/** matchFields support In and NotIn with exactly one value; the only node field is metadata.name. */
function fieldRequirementValid(req: NodeSelectorRequirement): boolean {
    return (req.operator === "In" || req.operator === "NotIn") && (req.values ?? []).length === 1;
}

function fieldRequirementMatches(req: NodeSelectorRequirement, fields: Record<string, string>): boolean {
    const value = fields[req.key] ?? "";
    return req.operator === "In" ? value === req.values![0] : value !== req.values![0];
}

export function isEmptyTerm(term: NodeSelectorTerm): boolean {
    return (term.matchExpressions ?? []).length === 0 && (term.matchFields ?? []).length === 0;
}

/**
 * One nodeSelectorTerm: its expressions and fields ANDed. An empty term matches nothing; so does a term
 * with an invalid requirement. matchFields are skipped for a node without a name, as Kubernetes skips
 * them when the node's field set is empty.
 */
export function termMatches(term: NodeSelectorTerm, node: Pick<NodeFacts, "name" | "labels">): boolean {
    const expressions = term.matchExpressions ?? [];
    const fieldReqs = term.matchFields ?? [];
    if (isEmptyTerm(term) || !expressions.every(requirementValid) || !fieldReqs.every(fieldRequirementValid)) {
        return false;
    }
    if (!expressions.every((req) => requirementMatches(req, node.labels))) {
        return false;
    }
    const fields: Record<string, string> = node.name ? { "metadata.name": node.name } : {};
    return Object.keys(fields).length === 0 || fieldReqs.every((req) => fieldRequirementMatches(req, fields));
}

/** Required node affinity: the terms ORed. Absent affinity matches every node; present with no terms, none. */
export function requiredAffinityMatches(affinity: RequiredNodeAffinity | undefined, node: Pick<NodeFacts, "name" | "labels">): boolean {
    if (!affinity) {
        return true;
    }
    return (affinity.nodeSelectorTerms ?? []).some((term) => termMatches(term, node));
}

export function formatRequirement(req: NodeSelectorRequirement): string {
    switch (req.operator) {
        case "In":
        case "NotIn":
            return `${req.key} ${req.operator} [${(req.values ?? []).join(", ")}]`;
        case "Gt":
        case "Lt":
            return `${req.key} ${req.operator} ${(req.values ?? []).join(", ")}`;
        default:
            return `${req.key} ${req.operator}`;
    }
}

function formatTerm(term: NodeSelectorTerm): string {
    if (isEmptyTerm(term)) {
        return "(empty term)";
    }
    const fields = (term.matchFields ?? []).map((req) => `field ${formatRequirement(req)}`);
    return [...(term.matchExpressions ?? []).map(formatRequirement), ...fields].join(", ");
}

/** "a In [x], b Exists" for one term; terms are joined by " or ". */
export function formatAffinity(affinity: RequiredNodeAffinity): string {
    const terms = affinity.nodeSelectorTerms ?? [];
    return terms.length === 0 ? "(no terms)" : terms.map(formatTerm).join(" or ");
}

/** NodeAffinity filter: spec.nodeSelector and then required node affinity. */
export function nodeAffinity(pod: PodPlacement, node: Pick<NodeFacts, "name" | "labels">): FilterResult {
    const selector = nodeSelectorMatches(pod.nodeSelector, node.labels);
    if (!selector.fits) {
        return selector;
    }
    if (!requiredAffinityMatches(pod.affinity, node)) {
        return unfit("NodeAffinity", "nodeAffinity", `required node affinity ${formatAffinity(pod.affinity!)} not satisfied`, [AFFINITY_MISMATCH]);
    }
    return FITS;
}

/** Extended resource names a pod asks for, GPUs first, then by name: the order shortfalls are told in. */
function extendedNames(pod: PodResources): string[] {
    return Object.keys(pod.extended)
        .filter((name) => pod.extended[name] > 0)
        .sort((a, b) => (a === GPU_RESOURCE ? -1 : b === GPU_RESOURCE ? 1 : a < b ? -1 : a > b ? 1 : 0));
}

function requestsNothing(pod: PodResources): boolean {
    return pod.cpuMillis === 0 && pod.memoryBytes === 0 && extendedNames(pod).length === 0;
}

/**
 * Whether the pod fits what the node has free: NodeResourcesFit's verdict without building reasons, for
 * the packer's inner loop. Agrees with shortfalls() (a property test holds them together).
 */
export function fitsResources(pod: PodResources, node: NodeResources): boolean {
    if (node.pods < 1) {
        return false;
    }
    // No allocation here: this runs for every pod against every open node.
    let requestsSomething = pod.cpuMillis !== 0 || pod.memoryBytes !== 0;
    for (const name in pod.extended) {
        const n = pod.extended[name];
        if (n > 0) {
            if (n > (node.extended[name] ?? 0)) {
                return false;
            }
            requestsSomething = true;
        }
    }
    return !requestsSomething || (pod.cpuMillis <= node.cpuMillis && pod.memoryBytes <= node.memoryBytes);
}

/** Resources that fall short, most decisive first: GPUs, other extended resources, memory, CPU, pod slots. */
export function shortfalls(pod: PodResources, node: NodeResources): string[] {
    const short: string[] = [];
    if (!requestsNothing(pod)) {
        short.push(...extendedNames(pod).filter((name) => pod.extended[name] > (node.extended[name] ?? 0)));
        if (pod.memoryBytes > node.memoryBytes) short.push("memory");
        if (pod.cpuMillis > node.cpuMillis) short.push("cpu");
    }
    if (node.pods < 1) short.push("pods");
    return short;
}

/** Whole GiB as "256Gi"; otherwise GiB to one decimal, rounded the way that never flatters the fit. */
function formatGi(bytes: number, round: "up" | "down"): string {
    if (bytes % GiB === 0 || Math.abs(bytes) < GiB) {
        return formatMemory(bytes);
    }
    const tenths = round === "up" ? Math.ceil((bytes / GiB) * 10) : Math.floor((bytes / GiB) * 10);
    return `${tenths / 10}Gi`;
}

function plural(n: number, word: string): string {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** The scheduler's reasons in its own order: pods, cpu, memory, then extended resources. */
function schedulerReasonsOf(short: string[]): string[] {
    const rank = (r: string) => (r === "pods" ? 0 : r === "cpu" ? 1 : r === "memory" ? 2 : 3);
    return [...short]
        .sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0))
        .map((r) => (r === "pods" ? "Too many pods" : `Insufficient ${r}`));
}

/**
 * NodeResourcesFit: requests against what the node has free. Names the binding constraint first and
 * lists any others that are short too.
 */
export function nodeResourcesFit(pod: PodResources, node: NodeResources, names: { pod?: string; node?: string } = {}): FilterResult {
    const short = shortfalls(pod, node);
    if (short.length === 0) {
        return FITS;
    }
    const podName = names.pod ?? "pod";
    const nodeName = names.node ?? "node";
    const binding = short[0];
    let reason: string;
    switch (binding) {
        case GPU_RESOURCE:
            reason = `${podName} needs ${plural(pod.extended[GPU_RESOURCE], "GPU")}; ${nodeName} has ${node.extended[GPU_RESOURCE] ?? 0}`;
            break;
        case "memory":
            reason = `${podName} needs ${formatGi(pod.memoryBytes, "up")} memory; ${nodeName} allocates ${formatGi(node.memoryBytes, "down")}`;
            break;
        case "cpu":
            reason = `${podName} needs ${formatCpu(pod.cpuMillis)} CPU; ${nodeName} allocates ${formatCpu(node.cpuMillis)}`;
            break;
        case "pods":
            reason = `${nodeName} has no pod slots left for ${podName}`;
            break;
        default:
            reason = `${podName} needs ${pod.extended[binding]} ${binding}; ${nodeName} has ${node.extended[binding] ?? 0}`;
    }
    if (short.length > 1) {
        reason += ` (also short of ${short.slice(1).join(", ")})`;
    }
    return unfit("NodeResourcesFit", binding, reason, schedulerReasonsOf(short));
}
