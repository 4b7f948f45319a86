/**
 * The planner against the real kube-scheduler: seeded scenarios of node pools (labels, taints, capacity
 * with extended resources) and workloads (requests, tolerations, nodeSelector, node affinity with several
 * terms and every operator, gangs), answered by capacity/ and by a real control plane.
 *
 * The planner answers "can these pods all be placed", the scheduler places pods one by one in its own
 * order; the two can only be held to the same answer where that answer does not depend on order. So the
 * generator keeps each scenario order-free: workloads whose feasible pools overlap have the same feasible
 * pools, and when such a group does not fit whole it holds one workload only; workloads that share a
 * group share a pod shape. Within that, every predicate and the capacity arithmetic are free to vary.
 */
import { nodeAffinity, nodeResourcesFit, taintToleration } from "../capacity/predicates";
import { PodGroup, PoolCapacity } from "../capacity/scheduling";
import type { KubeObject } from "./kube";

export interface Rng {
    next(): number;
    int(lo: number, hi: number): number;
    pick<T>(xs: readonly T[]): T;
    chance(p: number): boolean;
}

/** mulberry32: small, fast, and the same sequence for a seed on every machine. */
export function rngFrom(seed: number): Rng {
    let a = seed >>> 0;
    const next = () => {
        a = (a + 0x6d2b79f5) >>> 0;
        let t = a;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1));
    return { next, int, pick: (xs) => xs[int(0, xs.length - 1)], chance: (p) => next() < p };
}

export const EXTENDED = ["nvidia.com/gpu", "vpc.amazonaws.com/efa"] as const;
type Extended = (typeof EXTENDED)[number];

export interface Requests {
    cpuMillis: number;
    memoryMiB: number;
    extended: Partial<Record<Extended, number>>;
}

export interface ScenarioPool {
    name: string;
    nodes: number;
    labels: Record<string, string>;
    taints: { key: string; value?: string; effect: "NoSchedule" | "NoExecute" | "PreferNoSchedule" }[];
    allocatable: Requests & { pods: number };
}

export interface Toleration {
    key?: string;
    operator: "Equal" | "Exists";
    value?: string;
    effect?: "NoSchedule" | "NoExecute" | "PreferNoSchedule";
}

export interface Requirement {
    key: string;
    operator: "In" | "NotIn" | "Exists" | "DoesNotExist" | "Gt" | "Lt";
    values?: string[];
}

export interface ScenarioWorkload {
    name: string;
    pods: number;
    gang: boolean;
    requests: Requests;
    tolerations: Toleration[];
    nodeSelector: Record<string, string>;
    /** nodeSelectorTerms: ORed; each term's expressions ANDed. Undefined: no required affinity. */
    affinity?: Requirement[][];
}

export interface Scenario {
    index: number;
    pools: ScenarioPool[];
    workloads: ScenarioWorkload[];
}

const LABELS: Record<string, readonly string[]> = {
    tier: ["gold", "silver", "bronze"],
    zone: ["a", "b", "c"],
    gen: ["1", "2", "3", "4", "5"],
    accel: ["a100", "a10g"],
};
const TAINT_KEYS = ["dedicated", "gpu", "spot"] as const;
const TAINT_VALUES = ["ml", "batch", "true"] as const;
const EFFECTS = ["NoSchedule", "NoExecute", "PreferNoSchedule"] as const;

function genLabels(rng: Rng): Record<string, string> {
    const labels: Record<string, string> = {};
    for (const [k, vs] of Object.entries(LABELS)) if (rng.chance(0.6)) labels[k] = rng.pick(vs);
    return labels;
}

function genPool(rng: Rng, i: number): ScenarioPool {
    const taints: ScenarioPool["taints"] = [];
    const used = new Set<string>();
    for (let t = rng.chance(0.5) ? 0 : rng.int(1, 2); t > 0; t--) {
        const key = rng.pick(TAINT_KEYS);
        const effect = rng.pick(EFFECTS);
        if (used.has(`${key}:${effect}`)) continue;
        used.add(`${key}:${effect}`);
        taints.push({ key, ...(rng.chance(0.8) ? { value: rng.pick(TAINT_VALUES) } : {}), effect });
    }
    const gpus = rng.pick([0, 1, 4, 8]);
    return {
        name: `p${i}`,
        nodes: rng.int(1, 3),
        labels: genLabels(rng),
        taints,
        allocatable: {
            cpuMillis: rng.pick([1000, 2000, 4000, 8000]),
            memoryMiB: rng.pick([2048, 8192, 16384]),
            pods: rng.int(2, 6),
            extended: { ...(gpus > 0 ? { "nvidia.com/gpu": gpus } : {}), ...(rng.chance(0.4) ? { "vpc.amazonaws.com/efa": rng.pick([1, 4]) } : {}) },
        },
    };
}

function genToleration(rng: Rng, pools: ScenarioPool[]): Toleration {
    // Often exactly a taint some pool has, as a workload meant for that pool would carry.
    const taints = pools.flatMap((p) => p.taints);
    if (taints.length > 0 && rng.chance(0.5)) {
        const t = rng.pick(taints);
        return t.value !== undefined && rng.chance(0.7) ? { key: t.key, operator: "Equal", value: t.value, effect: t.effect } : { key: t.key, operator: "Exists" };
    }
    const roll = rng.next();
    if (roll < 0.15) return { operator: "Exists" }; // no key: tolerates every taint
    if (roll < 0.25) return { operator: "Exists", effect: rng.pick(EFFECTS) }; // no key, one effect
    const key = rng.pick(TAINT_KEYS);
    const effect = rng.chance(0.4) ? undefined : rng.pick(EFFECTS);
    if (rng.chance(0.4)) return { key, operator: "Exists", ...(effect ? { effect } : {}) };
    return { key, operator: "Equal", value: rng.pick(TAINT_VALUES), ...(effect ? { effect } : {}) };
}

function genRequirement(rng: Rng, pools: ScenarioPool[]): Requirement {
    const labelled = pools.filter((p) => Object.keys(p.labels).length > 0);
    if (labelled.length > 0 && rng.chance(0.4)) {
        // A requirement some pool satisfies: In on one of its labels.
        const labels = rng.pick(labelled).labels;
        const key = rng.pick(Object.keys(labels));
        return { key, operator: "In", values: [labels[key]] };
    }
    const key = rng.pick(Object.keys(LABELS));
    const op = rng.pick(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"] as const);
    switch (op) {
        case "In":
        case "NotIn": {
            const vs = LABELS[key];
            return { key, operator: op, values: [...new Set([rng.pick(vs), rng.pick(vs)])] };
        }
        case "Gt":
        case "Lt":
            // Kubernetes requires one integer value; a non-numeric label value then never matches.
            return { key, operator: op, values: [String(rng.int(0, 5))] };
        default:
            return { key, operator: op };
    }
}

function genRequests(rng: Rng): Requests {
    const extended: Requests["extended"] = {};
    if (rng.chance(0.35)) extended["nvidia.com/gpu"] = rng.pick([1, 1, 2, 4, 8]);
    if (rng.chance(0.1)) extended["vpc.amazonaws.com/efa"] = rng.pick([1, 4]);
    return { cpuMillis: rng.pick([100, 250, 500, 1000, 1500, 3000]), memoryMiB: rng.pick([128, 512, 1024, 2048, 6144]), extended };
}

function genWorkload(rng: Rng, i: number, pools: ScenarioPool[]): ScenarioWorkload {
    const nodeSelector: Record<string, string> = {};
    if (rng.chance(0.35)) {
        // Often a label some pool has, sometimes one none has.
        const source = rng.chance(0.8) ? rng.pick(pools).labels : genLabels(rng);
        const keys = Object.keys(source);
        if (keys.length > 0) {
            const k = rng.pick(keys);
            nodeSelector[k] = source[k];
        }
    }
    let affinity: Requirement[][] | undefined;
    if (rng.chance(0.4)) {
        affinity = [];
        for (let t = rng.int(1, 3); t > 0; t--) {
            const term: Requirement[] = [];
            for (let e = rng.int(1, 2); e > 0; e--) term.push(genRequirement(rng, pools));
            affinity.push(term);
        }
    }
    const tolerations: Toleration[] = [];
    for (let t = rng.int(0, 2); t > 0; t--) tolerations.push(genToleration(rng, pools));
    return { name: `w${i}`, pods: rng.int(1, 4), gang: rng.chance(0.4), requests: genRequests(rng), tolerations, nodeSelector, ...(affinity ? { affinity } : {}) };
}

/** How many pods of one shape a node holds: the tightest of its resources and its pod slots. */
export function podsPerNode(alloc: ScenarioPool["allocatable"], req: Requests): number {
    let n = alloc.pods;
    if (req.cpuMillis > 0) n = Math.min(n, Math.floor(alloc.cpuMillis / req.cpuMillis));
    if (req.memoryMiB > 0) n = Math.min(n, Math.floor(alloc.memoryMiB / req.memoryMiB));
    for (const r of EXTENDED) {
        const want = req.extended[r] ?? 0;
        if (want > 0) n = Math.min(n, Math.floor((alloc.extended[r] ?? 0) / want));
    }
    return Math.max(0, n);
}

const sameShape = (a: Requests, b: Requests) => JSON.stringify(a) === JSON.stringify(b);

/**
 * A seeded scenario that is order-free (see the file comment). `feasible(workload, pool)` is the
 * planner's own predicate chain; a predicate bug then shows as a disagreement, never as a skipped case.
 */
export function generateScenario(seed: number, index: number, feasible: (w: ScenarioWorkload, p: ScenarioPool) => boolean): Scenario {
    const rng = rngFrom((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
    for (;;) {
        const pools = Array.from({ length: rng.int(1, 3) }, (_, i) => genPool(rng, i));
        const workloads = Array.from({ length: rng.int(1, 3) }, (_, i) => genWorkload(rng, i, pools));
        if (orderFree(workloads, pools, feasible)) return { index, pools, workloads };
    }
}

export function orderFree(workloads: ScenarioWorkload[], pools: ScenarioPool[], feasible: (w: ScenarioWorkload, p: ScenarioPool) => boolean): boolean {
    const sets = workloads.map((w) => pools.filter((p) => feasible(w, p)).map((p) => p.name).join(","));
    for (let i = 0; i < workloads.length; i++) {
        for (let j = i + 1; j < workloads.length; j++) {
            const a = sets[i].split(",").filter(Boolean);
            const b = sets[j].split(",").filter(Boolean);
            const overlap = a.some((x) => b.includes(x));
            if (!overlap) continue;
            if (sets[i] !== sets[j] || !sameShape(workloads[i].requests, workloads[j].requests)) return false;
        }
    }
    // A shared group that does not fit whole: which workload loses depends on order.
    const groups = new Map<string, ScenarioWorkload[]>();
    workloads.forEach((w, i) => sets[i] && groups.set(sets[i], [...(groups.get(sets[i]) ?? []), w]));
    for (const [set, members] of groups) {
        if (members.length < 2) continue;
        const capacity = pools.filter((p) => set.split(",").includes(p.name)).reduce((n, p) => n + p.nodes * podsPerNode(p.allocatable, members[0].requests), 0);
        if (members.reduce((n, w) => n + w.pods, 0) > capacity) return false;
    }
    return true;
}

const MiB = 1024 * 1024;

/** The scenario as the planner sees it. */
export function plannerInput(s: Scenario): { groups: PodGroup[]; pools: PoolCapacity[] } {
    const pools: PoolCapacity[] = s.pools.map((p) => ({
        name: p.name,
        instanceType: `scenario-${p.name}`,
        minSize: 0,
        maxSize: p.nodes,
        taints: p.taints,
        labels: p.labels,
        allocatable: { ...podResources(p.allocatable), pods: p.allocatable.pods, daemonSets: [] },
    }));
    const groups: PodGroup[] = s.workloads.map((w) => ({
        workload: w.name,
        role: "pod",
        requests: podResources(w.requests),
        count: w.pods,
        tolerations: w.tolerations,
        nodeSelector: w.nodeSelector,
        ...(w.affinity ? { affinity: affinityOf(w.affinity) } : {}),
        gang: w.gang,
    }));
    return { groups, pools };
}

function podResources(r: Requests): { cpuMillis: number; memoryBytes: number; extended: Record<string, number> } {
    return { cpuMillis: r.cpuMillis, memoryBytes: r.memoryMiB * MiB, extended: Object.fromEntries(Object.entries(r.extended).filter(([, n]) => (n ?? 0) > 0)) as Record<string, number> };
}

function affinityOf(terms: Requirement[][]) {
    return { nodeSelectorTerms: terms.map((t) => ({ matchExpressions: t })) };
}

/** The planner's filter chain for one pod of `w` on an empty node of `p` (capacity/predicates.ts). */
export function plannerFeasible(w: ScenarioWorkload, p: ScenarioPool): boolean {
    const node = { labels: p.labels, taints: p.taints };
    return (
        taintToleration(w.tolerations, p.taints).fits &&
        nodeAffinity({ nodeSelector: w.nodeSelector, ...(w.affinity ? { affinity: affinityOf(w.affinity) } : {}) }, node).fits &&
        nodeResourcesFit(podResources(w.requests), { ...podResources(p.allocatable), pods: p.allocatable.pods }).fits
    );
}

export const DIFFERENTIAL_LABEL = "ml-platform.conformance/scenario";

function quantities(r: Requests): Record<string, string> {
    const out: Record<string, string> = { cpu: `${r.cpuMillis}m`, memory: `${r.memoryMiB}Mi` };
    for (const [k, v] of Object.entries(r.extended)) if (v && v > 0) out[k] = String(v);
    return out;
}

/** The scenario as Kubernetes objects: kwok Nodes and bare Pods in `namespace`. */
export function scenarioObjects(s: Scenario, namespace: string, nodeAnnotation: { key: string; value: string }): { nodes: KubeObject[]; pods: KubeObject[] } {
    const tag = String(s.index);
    const nodes: KubeObject[] = s.pools.flatMap((p) =>
        Array.from({ length: p.nodes }, (_, i) => {
            const alloc: Record<string, string> = { ...quantities(p.allocatable), pods: String(p.allocatable.pods) };
            return {
                apiVersion: "v1",
                kind: "Node",
                metadata: {
                    name: `s${tag}-${p.name}-${i}`,
                    annotations: { [nodeAnnotation.key]: nodeAnnotation.value },
                    labels: { ...p.labels, [DIFFERENTIAL_LABEL]: tag, "kubernetes.io/hostname": `s${tag}-${p.name}-${i}` },
                },
                spec: p.taints.length > 0 ? { taints: p.taints } : {},
                status: { capacity: alloc, allocatable: alloc },
            };
        }),
    );
    const pods: KubeObject[] = s.workloads.flatMap((w) =>
        Array.from({ length: w.pods }, (_, i) => ({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: `s${tag}-${w.name}-${i}`, namespace, labels: { [DIFFERENTIAL_LABEL]: tag, workload: w.name } },
            spec: {
                containers: [{ name: "main", image: "registry.k8s.io/pause:3.10", resources: { requests: quantities(w.requests), limits: quantities(w.requests) } }],
                ...(w.tolerations.length > 0 ? { tolerations: w.tolerations } : {}),
                ...(Object.keys(w.nodeSelector).length > 0 ? { nodeSelector: w.nodeSelector } : {}),
                ...(w.affinity ? { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: w.affinity.map((t) => ({ matchExpressions: t })) } } } } : {}),
                terminationGracePeriodSeconds: 0,
            },
        })),
    );
    return { nodes, pods };
}

export interface ScenarioOutcome {
    index: number;
    workload: string;
    planner: boolean;
    plannerReason?: string;
    scheduler: boolean;
    schedulerDetail: string;
}
