/**
 * Placement in the shape of kube-scheduler: the filter plugins of capacity/predicates decide which pools a
 * pod may land on, and a first-fit-decreasing bin packer over the nodes of every feasible pool tells
 * whether every workload fits the node pools, and how many nodes each pool needs for that.
 */
import type { NodeAllocatable } from "./allocatable";
import {
    FITS,
    FilterResult,
    NodeTaint,
    PodToleration,
    RequiredNodeAffinity,
    fitsResources,
    formatAffinity,
    formatSelector,
    nodeAffinity,
    nodeResourcesFit,
    taintToleration,
} from "./predicates";
import { NodeResources, PodResources, gpusOf } from "./resources";

export interface PodGroup {
    workload: string;
    /** e.g. "server", "master", "worker". */
    role: string;
    /** Requests of one pod. */
    requests: PodResources;
    /** Pods at this scale (HPA min or max, replicas, PyTorchJob replicas). */
    count: number;
    tolerations: PodToleration[];
    nodeSelector: Record<string, string>;
    /** Required node affinity, every term (the terms are ORed). */
    affinity?: RequiredNodeAffinity;
    /** Gang-scheduled (PyTorchJob master + workers): every pod of the workload is placed, or none. */
    gang: boolean;
}

export interface PoolCapacity {
    name: string;
    instanceType: string;
    minSize: number;
    maxSize: number;
    taints: NodeTaint[];
    labels: Record<string, string>;
    allocatable: NodeAllocatable;
}

export interface WorkloadPlacement {
    workload: string;
    /** The first pool (config order) its pods landed on; where they would go when none could land. */
    pool?: string;
    /** Every pool its pods landed on, in config order. */
    pools: string[];
    /** Pods at this scale. */
    pods: number;
    /** Distinct nodes the workload's pods occupy (with no maxSize ceiling when it does not fit). */
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

/** Where in the filter chain a pool failed; a later stage means the pool came closer to fitting. */
/** Where in the filter chain a pool failed; a later stage means the pool came closer to fitting. */
interface Evaluation {
    stage: number;
    result: FilterResult;
}

const STAGES = ["nodeSelector", "nodeAffinity", "taint"];
const PASSED_ALL = STAGES.length + 1;

function podName(group: PodGroup): string {
    return `${group.workload} ${group.role}`;
}

/**
 * The filters on an empty node of the pool, in the order that best reveals intent: a pool the pod selects
 * but whose taint it does not tolerate is a better explanation than a pool it never selected.
 */
function evaluate(group: PodGroup, pool: PoolCapacity): Evaluation {
    const chain: (() => FilterResult)[] = [
        () => nodeAffinity(group, { labels: pool.labels }),
        () => taintToleration(group.tolerations, pool.taints),
        () => nodeResourcesFit(group.requests, pool.allocatable, { pod: podName(group), node: pool.instanceType }),
    ];
    for (const filter of chain) {
        const result = filter();
        if (!result.fits) {
            const stage = STAGES.indexOf(result.constraint);
            return { stage: stage < 0 ? STAGES.length : stage, result };
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
    const result = evaluation.result as Extract<FilterResult, { fits: false }>;
    switch (result.constraint) {
        case "nodeSelector":
            return `${podName(group)}: nodeSelector ${formatSelector(group.nodeSelector)} matches no pool`;
        case "nodeAffinity":
            return `${podName(group)}: required node affinity ${formatAffinity(group.affinity!)} matches no pool`;
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
    /** Indexes of the pools whose nodes pass every filter for this pod, in config order. */
    pools: number[];
}

interface PackResult {
    /** Nodes open in each pool (by pool index), with what each has left. */
    nodes: NodeResources[][];
    /** "pool/node" keys of the nodes each workload's pods landed on. */
    nodesOf: Map<string, Set<string>>;
    /** Pool indexes each workload's pods landed on. */
    poolsOf: Map<string, Set<number>>;
    unplaced: PodSlot[];
}

/** Biggest first: GPUs, then memory, then CPU; input order breaks ties so results are stable. */
function decreasing(a: PodSlot, b: PodSlot): number {
    return (
        gpusOf(b.requests) - gpusOf(a.requests) ||
        b.requests.memoryBytes - a.requests.memoryBytes ||
        b.requests.cpuMillis - a.requests.cpuMillis ||
        a.order - b.order
    );
}

function emptyNode(allocatable: NodeAllocatable): NodeResources {
    const { cpuMillis, memoryBytes, extended, pods } = allocatable;
    return { cpuMillis, memoryBytes, extended: { ...extended }, pods };
}

function take(node: NodeResources, pod: PodResources): void {
    node.cpuMillis -= pod.cpuMillis;
    node.memoryBytes -= pod.memoryBytes;
    for (const name in pod.extended) {
        node.extended[name] = (node.extended[name] ?? 0) - pod.extended[name];
    }
    node.pods -= 1;
}

function addTo<K, V>(map: Map<K, Set<V>>, key: K, value: V): void {
    const set = map.get(key);
    if (set) set.add(value);
    else map.set(key, new Set([value]));
}

/**
 * First-fit decreasing over the nodes of every pool a pod may land on, pools in config order. Each pool
 * starts with its minSize nodes (they exist before any pod); when no open node has room, a node opens in
 * the first feasible pool still below its ceiling.
 */
function pack(pods: PodSlot[], pools: PoolCapacity[], ceiling: (pool: PoolCapacity) => number): PackResult {
    const nodes = pools.map((p) => Array.from({ length: Math.min(p.minSize, ceiling(p)) }, () => emptyNode(p.allocatable)));
    const nodesOf = new Map<string, Set<string>>();
    const poolsOf = new Map<string, Set<number>>();
    const unplaced: PodSlot[] = [];
    for (const pod of [...pods].sort(decreasing)) {
        let at: [number, number] | undefined;
        for (const p of pod.pools) {
            const n = nodes[p].findIndex((node) => fitsResources(pod.requests, node));
            if (n >= 0) {
                at = [p, n];
                break;
            }
        }
        if (!at) {
            const p = pod.pools.find((i) => nodes[i].length < ceiling(pools[i]));
            if (p === undefined) {
                unplaced.push(pod);
                continue;
            }
            nodes[p].push(emptyNode(pools[p].allocatable));
            at = [p, nodes[p].length - 1];
        }
        const [p, n] = at;
        take(nodes[p][n], pod.requests);
        addTo(nodesOf, pod.workload, `${p}/${n}`);
        addTo(poolsOf, pod.workload, p);
    }
    return { nodes, nodesOf, poolsOf, unplaced };
}

function shortReason(workload: string, roles: PodGroup[], feasible: PoolCapacity[], unboundedNodes: number, sharedWith: string[]): string {
    const head = `${workload} ${roles.map((g) => g.role).join("+")}: `;
    const need =
        feasible.length === 1
            ? `needs ${unboundedNodes} nodes of pool ${feasible[0].name} at maximum scale; maxSize is ${feasible[0].maxSize}`
            : `needs more nodes than pools ${feasible.map((p) => `${p.name} (maxSize ${p.maxSize})`).join(", ")} may have at maximum scale`;
    return (
        head +
        need +
        (roles.some((g) => g.gang) ? " (gang: all pods must be placed together)" : "") +
        (sharedWith.length > 0 ? ` (pool shared with ${nameSome(sharedWith)})` : "")
    );
}

/**
 * Places every workload's pods onto the pools as the scheduler would: a pod may land on any node of any
 * pool that passes the filters for it, so pods of one workload (and of different roles) may spread over
 * pools, and pods of different workloads share nodes. Pods are packed first-fit-decreasing (GPUs, then
 * memory) opening nodes up to maxSize. A gang workload that cannot be placed whole is dropped entirely,
 * freeing its capacity for the others; a non-gang workload keeps the pods that fit but is reported
 * unschedulable.
 */
export function placeWorkloads(groups: PodGroup[], pools: PoolCapacity[]): PlacementResult {
    const byWorkload = new Map<string, PodGroup[]>();
    for (const group of groups) {
        byWorkload.set(group.workload, [...(byWorkload.get(group.workload) ?? []), group]);
    }
    const feasibleOf = new Map<PodGroup, number[]>(
        groups.map((g) => [g, pools.flatMap((p, i) => (evaluate(g, p).stage === PASSED_ALL ? [i] : []))]),
    );
    const podCount = (roles: PodGroup[]) => roles.reduce((n, g) => n + g.count, 0);

    const placements = new Map<string, WorkloadPlacement>();
    const packed: string[] = [];
    const pods: PodSlot[] = [];
    let order = 0;
    for (const [workload, roles] of byWorkload) {
        const hopeless = roles.find((g) => feasibleOf.get(g)!.length === 0);
        if (hopeless) {
            placements.set(workload, { workload, pools: [], pods: podCount(roles), schedulable: false, reason: explainNoPool(hopeless, pools) });
            continue;
        }
        packed.push(workload);
        for (const group of roles) {
            for (let i = 0; i < group.count; i++) {
                pods.push({ workload, requests: group.requests, order: order++, pools: feasibleOf.get(group)! });
            }
        }
    }
    const isGang = (w: string) => byWorkload.get(w)!.some((g) => g.gang);
    const feasiblePools = new Map(packed.map((w) => [w, [...new Set(byWorkload.get(w)!.flatMap((g) => feasibleOf.get(g)!))].sort((a, b) => a - b)]));
    // Workloads that may land on each pool, for "pool shared with".
    const mayLandOn = pools.map((_, i) => packed.filter((w) => feasiblePools.get(w)!.includes(i)));

    // What the pools would need with no ceiling: the "N" of "needs N nodes at maximum scale".
    const unbounded = pack(pods, pools, () => Infinity);

    // Drop the partially placed gang whose pod failed first (the biggest), then re-pack, until no gang
    // is split; freeing one gang can let another fit.
    const dropped = new Set<string>();
    let bounded = pack(pods, pools, (p) => p.maxSize);
    for (;;) {
        const split = bounded.unplaced.find((p) => isGang(p.workload));
        if (!split) break;
        dropped.add(split.workload);
        bounded = pack(
            pods.filter((p) => !dropped.has(p.workload)),
            pools,
            (p) => p.maxSize,
        );
    }
    const short = new Set([...dropped, ...bounded.unplaced.map((p) => p.workload)]);

    for (const workload of packed) {
        const roles = byWorkload.get(workload)!;
        const feasible = feasiblePools.get(workload)!;
        const landed = [...(bounded.poolsOf.get(workload) ?? [])].sort((a, b) => a - b);
        const placement: WorkloadPlacement = {
            workload,
            pool: pools[landed[0] ?? feasible[0]].name,
            pools: landed.map((i) => pools[i].name),
            pods: podCount(roles),
            schedulable: !short.has(workload),
        };
        if (short.has(workload)) {
            const sharing = new Set(feasible.flatMap((i) => mayLandOn[i]));
            const sharedWith = packed.filter((w) => w !== workload && sharing.has(w));
            const unboundedNodes = feasible.length === 1 ? unbounded.nodes[feasible[0]].length : 0;
            placement.nodesNeeded = unbounded.nodesOf.get(workload)?.size ?? 0;
            placement.reason = shortReason(workload, roles, feasible.map((i) => pools[i]), unboundedNodes, sharedWith);
        } else {
            placement.nodesNeeded = bounded.nodesOf.get(workload)?.size ?? 0;
        }
        placements.set(workload, placement);
    }

    const nodesPerPool: Record<string, number> = {};
    pools.forEach((pool, i) => {
        nodesPerPool[pool.name] = Math.max(pool.minSize, bounded.nodes[i].length);
    });
    const ordered = [...byWorkload.keys()].map((w) => placements.get(w)!);
    return { placements: ordered, nodesPerPool, fits: ordered.every((p) => p.schedulable) };
}
