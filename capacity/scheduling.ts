/**
 * A small scheduling simulation in the shape of kube-scheduler's filter plugins (NodeResourcesFit,
 * TaintToleration, NodeAffinity) plus a first-fit-decreasing bin packer that tells whether every
 * workload fits the node pools at maximum scale, and how many nodes each pool needs for that.
 */
import type { NodeAllocatable, PodResources } from "./allocatable";
import { GPU_RESOURCE, Taint } from "./pools";
import { GiB, formatCpu, formatMemory } from "./quantity";

/** Wider than pools.Toleration: a toleration with operator Exists and no key tolerates every taint. */
export interface PodToleration {
    key?: string;
    operator: "Equal" | "Exists";
    value?: string;
    /** Empty or absent matches every effect. */
    effect?: string;
}

export interface NodeSelectorRequirement {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist";
    values?: string[];
}

export type PredicateResult = { fits: true } | { fits: false; constraint: string; reason: string };

/** What is free on a node: allocatable for an empty node, less for a node with pods on it. */
export interface NodeResources {
    cpuMillis: number;
    memoryBytes: number;
    gpus: number;
    pods: number;
}

export interface PodGroup {
    workload: string;
    /** e.g. "server", "master", "worker". */
    role: string;
    /** Requests of one pod. */
    requests: PodResources;
    /** Pods at maximum scale (HPA max, replicas, PyTorchJob replicas). */
    count: number;
    tolerations: PodToleration[];
    nodeSelector: Record<string, string>;
    /** Required node affinity: one nodeSelectorTerm, its expressions ANDed. */
    affinity?: NodeSelectorRequirement[];
    /** Gang-scheduled (PyTorchJob master + workers): every pod of the workload is placed, or none. */
    gang: boolean;
}

export interface PoolCapacity {
    name: string;
    instanceType: string;
    minSize: number;
    maxSize: number;
    taints: Taint[];
    labels: Record<string, string>;
    allocatable: NodeAllocatable;
}

export interface WorkloadPlacement {
    workload: string;
    pool?: string;
    /** Distinct nodes the workload's pods occupy (at maximum scale when it does not fit). */
    nodesNeeded?: number;
    schedulable: boolean;
    reason?: string;
}

export interface PlacementResult {
    placements: WorkloadPlacement[];
    /** Nodes each pool scales to for the placed pods, at least minSize and at most maxSize. */
    nodesPerPool: Record<string, number>;
    fits: boolean;
}

const FITS: PredicateResult = { fits: true };

function fail(constraint: string, reason: string): PredicateResult {
    return { fits: false, constraint, reason };
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

/** Resources that fall short, most decisive first: GPUs, then memory, CPU, pod slots. */
/** Whether the pod fits what the node has free: shortfalls() without building the list, for packing. */
function fitsOn(pod: PodResources, node: NodeResources): boolean {
    return pod.gpus <= node.gpus && pod.memoryBytes <= node.memoryBytes && pod.cpuMillis <= node.cpuMillis && node.pods >= 1;
}

function shortfalls(pod: PodResources, node: NodeResources): string[] {
    const short: string[] = [];
    if (pod.gpus > node.gpus) short.push(GPU_RESOURCE);
    if (pod.memoryBytes > node.memoryBytes) short.push("memory");
    if (pod.cpuMillis > node.cpuMillis) short.push("cpu");
    if (node.pods < 1) short.push("pods");
    return short;
}

/**
 * NodeResourcesFit: requests against what the node has free. Names the binding constraint first
 * (GPUs, memory, CPU, pod slots) and lists any others that are short too.
 */
export function resourcesFit(
    pod: PodResources,
    node: NodeResources,
    names: { pod?: string; node?: string } = {},
): PredicateResult {
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
            reason = `${podName} needs ${plural(pod.gpus, "GPU")}; ${nodeName} has ${node.gpus}`;
            break;
        case "memory":
            reason = `${podName} needs ${formatGi(pod.memoryBytes, "up")} memory; ${nodeName} allocates ${formatGi(node.memoryBytes, "down")}`;
            break;
        case "cpu":
            reason = `${podName} needs ${formatCpu(pod.cpuMillis)} CPU; ${nodeName} allocates ${formatCpu(node.cpuMillis)}`;
            break;
        default:
            reason = `${nodeName} has no pod slots left for ${podName}`;
    }
    if (short.length > 1) {
        reason += ` (also short of ${short.slice(1).join(", ")})`;
    }
    return fail(binding, reason);
}

export function formatTaint(taint: Taint): string {
    return `${taint.key}${taint.value ? `=${taint.value}` : ""}:${taint.effect}`;
}

/** Kubernetes' Toleration.ToleratesTaint: effect and key must match when set; Exists ignores the value. */
export function toleratesTaint(toleration: PodToleration, taint: Taint): boolean {
    if (toleration.effect && toleration.effect !== taint.effect) {
        return false;
    }
    if (toleration.key && toleration.key !== taint.key) {
        return false;
    }
    if (toleration.operator === "Exists") {
        return true;
    }
    return (toleration.value ?? "") === taint.value;
}

/** TaintToleration filter: every NoSchedule/NoExecute taint must be tolerated; PreferNoSchedule only scores. */
export function taintsTolerated(podTolerations: PodToleration[], nodeTaints: Taint[]): PredicateResult {
    const untolerated = nodeTaints.filter(
        (taint) => taint.effect !== "PreferNoSchedule" && !podTolerations.some((t) => toleratesTaint(t, taint)),
    );
    if (untolerated.length === 0) {
        return FITS;
    }
    const list = untolerated.map(formatTaint).join(", ");
    return fail("taint", `${untolerated.length === 1 ? "taint" : "taints"} ${list} not tolerated`);
}

export function formatSelector(selector: Record<string, string>): string {
    return Object.entries(selector)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
}

/** nodeSelector: every key must be present with exactly that value. */
export function nodeSelectorMatches(podSelector: Record<string, string>, nodeLabels: Record<string, string>): PredicateResult {
    for (const [key, value] of Object.entries(podSelector)) {
        if (nodeLabels[key] !== value) {
            const has = key in nodeLabels ? `node has ${key}=${nodeLabels[key]}` : `node has no ${key} label`;
            return fail("nodeSelector", `nodeSelector ${key}=${value} does not match (${has})`);
        }
    }
    return FITS;
}

export function formatRequirement(req: NodeSelectorRequirement): string {
    const values = req.values ?? [];
    switch (req.operator) {
        case "In":
        case "NotIn":
            return `${req.key} ${req.operator} [${values.join(", ")}]`;
        default:
            return `${req.key} ${req.operator}`;
    }
}

function requirementMatches(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
    const present = Object.prototype.hasOwnProperty.call(labels, req.key);
    const values = req.values ?? [];
    switch (req.operator) {
        case "In":
            return present && values.includes(labels[req.key]);
        case "NotIn":
            // As in Kubernetes, a node without the label satisfies NotIn.
            return !present || !values.includes(labels[req.key]);
        case "Exists":
            return present;
        case "DoesNotExist":
            return !present;
    }
}

/** requiredDuringSchedulingIgnoredDuringExecution with one term: all expressions must hold. */
export function nodeAffinityMatches(
    requirements: NodeSelectorRequirement[] | undefined,
    nodeLabels: Record<string, string>,
): PredicateResult {
    for (const req of requirements ?? []) {
        if (!requirementMatches(req, nodeLabels)) {
            return fail("nodeAffinity", `required node affinity ${formatRequirement(req)} not satisfied`);
        }
    }
    return FITS;
}

/** Where in the filter chain a pool failed; a later stage means the pool came closer to fitting. */
interface Evaluation {
    stage: number;
    result: PredicateResult;
}

const PASSED_ALL = 4;

function podName(group: PodGroup): string {
    return `${group.workload} ${group.role}`;
}

/**
 * Filters in the order that best reveals intent: a pool the pod selects but whose taint it does not
 * tolerate is a better explanation than a pool it never selected.
 */
function evaluate(group: PodGroup, pool: PoolCapacity): Evaluation {
    const chain: (() => PredicateResult)[] = [
        () => nodeSelectorMatches(group.nodeSelector, pool.labels),
        () => nodeAffinityMatches(group.affinity, pool.labels),
        () => taintsTolerated(group.tolerations, pool.taints),
        () => resourcesFit(group.requests, pool.allocatable, { pod: podName(group), node: pool.instanceType }),
    ];
    for (let stage = 0; stage < chain.length; stage++) {
        const result = chain[stage]();
        if (!result.fits) {
            return { stage, result };
        }
    }
    return { stage: PASSED_ALL, result: FITS };
}

/** Why no pool takes this group, told from the pool that came closest (first in config order on ties). */
function explainNoPool(group: PodGroup, pools: PoolCapacity[]): string {
    if (pools.length === 0) {
        return `${podName(group)}: there are no node pools`;
    }
    let best: { pool: PoolCapacity; evaluation: Evaluation } | undefined;
    for (const pool of pools) {
        const evaluation = evaluate(group, pool);
        if (!best || evaluation.stage > best.evaluation.stage) {
            best = { pool, evaluation };
        }
    }
    const { pool, evaluation } = best!;
    const result = evaluation.result as Extract<PredicateResult, { fits: false }>;
    switch (result.constraint) {
        case "nodeSelector":
            return `${podName(group)}: nodeSelector ${formatSelector(group.nodeSelector)} matches no pool`;
        case "nodeAffinity":
            return `${podName(group)}: required node affinity ${(group.affinity ?? []).map(formatRequirement).join(", ")} matches no pool`;
        case "taint":
            return `${podName(group)}: ${result.reason} on pool ${pool.name}`;
        default:
            return `${result.reason} (pool ${pool.name})`;
    }
}

/** How many names a message lists before it counts the rest: a reason stays readable at any scale. */
export const NAMES_LISTED = 5;

/** "a, b, c" or "a, b, c, d, e and 995 more". */
export function nameSome(names: string[], limit = NAMES_LISTED): string {
    return names.length <= limit ? names.join(", ") : `${names.slice(0, limit).join(", ")} and ${names.length - limit} more`;
}

interface PodSlot {
    workload: string;
    requests: PodResources;
    order: number;
}

interface PackResult {
    nodes: NodeResources[];
    /** Node indexes each workload's pods landed on. */
    nodesOf: Map<string, Set<number>>;
    unplaced: PodSlot[];
}

/** Biggest first: GPUs, then memory, then CPU; input order breaks ties so results are stable. */
function decreasing(a: PodSlot, b: PodSlot): number {
    return (
        b.requests.gpus - a.requests.gpus ||
        b.requests.memoryBytes - a.requests.memoryBytes ||
        b.requests.cpuMillis - a.requests.cpuMillis ||
        a.order - b.order
    );
}

/** First-fit decreasing onto nodes of one pool, opening a node only when no open node has room. */
function pack(pods: PodSlot[], allocatable: NodeAllocatable, maxNodes: number): PackResult {
    const nodes: NodeResources[] = [];
    const nodesOf = new Map<string, Set<number>>();
    const unplaced: PodSlot[] = [];
    for (const pod of [...pods].sort(decreasing)) {
        let index = nodes.findIndex((node) => fitsOn(pod.requests, node));
        if (index < 0) {
            if (nodes.length >= maxNodes) {
                unplaced.push(pod);
                continue;
            }
            const { cpuMillis, memoryBytes, gpus, pods: slots } = allocatable;
            nodes.push({ cpuMillis, memoryBytes, gpus, pods: slots });
            index = nodes.length - 1;
        }
        const node = nodes[index];
        node.cpuMillis -= pod.requests.cpuMillis;
        node.memoryBytes -= pod.requests.memoryBytes;
        node.gpus -= pod.requests.gpus;
        node.pods -= 1;
        const used = nodesOf.get(pod.workload) ?? new Set<number>();
        used.add(index);
        nodesOf.set(pod.workload, used);
    }
    return { nodes, nodesOf, unplaced };
}

/**
 * Places every workload's pods at maximum scale onto the pools. Each workload goes to the first pool,
 * in config order, that passes every predicate for all of its roles; pods of different workloads in the
 * same pool share nodes. Pods are packed first-fit-decreasing (GPUs, then memory) opening nodes up to
 * maxSize. A gang workload that cannot be placed whole is dropped entirely, freeing its capacity for
 * the others; a non-gang workload keeps the pods that fit but is reported unschedulable.
 */
export function placeWorkloads(groups: PodGroup[], pools: PoolCapacity[]): PlacementResult {
    const byWorkload = new Map<string, PodGroup[]>();
    for (const group of groups) {
        byWorkload.set(group.workload, [...(byWorkload.get(group.workload) ?? []), group]);
    }

    const placements = new Map<string, WorkloadPlacement>();
    const workloadsInPool = new Map<string, string[]>(pools.map((p) => [p.name, []]));
    for (const [workload, roles] of byWorkload) {
        const pool = pools.find((p) => roles.every((g) => evaluate(g, p).stage === PASSED_ALL));
        if (pool) {
            placements.set(workload, { workload, pool: pool.name, schedulable: true });
            workloadsInPool.get(pool.name)!.push(workload);
            continue;
        }
        const hopeless = roles.find((g) => !pools.some((p) => evaluate(g, p).stage === PASSED_ALL));
        const reason = hopeless
            ? explainNoPool(hopeless, pools)
            : `${workload}: no single pool fits every role (${roles
                  .map((g) => `${g.role}: ${pools.filter((p) => evaluate(g, p).stage === PASSED_ALL).map((p) => p.name).join(", ")}`)
                  .join("; ")})`;
        placements.set(workload, { workload, schedulable: false, reason });
    }

    const nodesPerPool: Record<string, number> = {};
    let order = 0;
    for (const pool of pools) {
        const workloads = workloadsInPool.get(pool.name) ?? [];
        const pods: PodSlot[] = [];
        for (const workload of workloads) {
            for (const group of byWorkload.get(workload)!) {
                for (let i = 0; i < group.count; i++) {
                    pods.push({ workload, requests: group.requests, order: order++ });
                }
            }
        }
        const isGang = (w: string) => byWorkload.get(w)!.some((g) => g.gang);

        // What the pool would need with no ceiling: the "N" of "needs N nodes at maximum scale".
        const unbounded = pack(pods, pool.allocatable, Infinity);

        // Drop the partially placed gang whose pod failed first (the biggest), then re-pack, until no
        // gang is split; freeing one gang can let another fit.
        const dropped = new Set<string>();
        let bounded = pack(pods, pool.allocatable, pool.maxSize);
        for (;;) {
            const split = bounded.unplaced.find((p) => isGang(p.workload));
            if (!split) break;
            dropped.add(split.workload);
            bounded = pack(
                pods.filter((p) => !dropped.has(p.workload)),
                pool.allocatable,
                pool.maxSize,
            );
        }
        const short = new Set([...dropped, ...bounded.unplaced.map((p) => p.workload)]);

        for (const workload of workloads) {
            const placement = placements.get(workload)!;
            if (short.has(workload)) {
                const sharedWith = workloads.filter((w) => w !== workload);
                placement.schedulable = false;
                placement.nodesNeeded = unbounded.nodesOf.get(workload)?.size ?? 0;
                placement.reason =
                    `${workload} ${byWorkload.get(workload)!.map((g) => g.role).join("+")}: ` +
                    `needs ${unbounded.nodes.length} nodes of pool ${pool.name} at maximum scale; maxSize is ${pool.maxSize}` +
                    (isGang(workload) ? " (gang: all pods must be placed together)" : "") +
                    (sharedWith.length > 0 ? ` (pool shared with ${nameSome(sharedWith)})` : "");
            } else {
                placement.nodesNeeded = bounded.nodesOf.get(workload)?.size ?? 0;
            }
        }
        nodesPerPool[pool.name] = Math.max(pool.minSize, bounded.nodes.length);
    }

    const ordered = [...byWorkload.keys()].map((w) => placements.get(w)!);
    return { placements: ordered, nodesPerPool, fits: ordered.every((p) => p.schedulable) };
}
