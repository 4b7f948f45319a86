/**
 * What Kubernetes did, against what the plan said: pure functions over observed pods and the plan's
 * verdicts, so the comparison is tested without a cluster.
 */
import type { KubeObject } from "./kube";

export type Scale = "min" | "max";

export interface PlanWorkload {
    name: string;
    kind: string;
    namespace: string;
    schedulable: boolean;
    reason?: string;
    scales?: Partial<Record<Scale, { schedulable: boolean; reason?: string; pods?: number }>>;
}

export interface ObservedWorkload {
    kind: string;
    namespace: string;
    name: string;
    /** Pods the controller (or stand-in) should have made at this scale. */
    expectedPods: number;
    pods: number;
    bound: number;
    running: number;
    /** The scheduler's FailedScheduling message of the first pending pod, or why pods are missing. */
    message?: string;
}

export interface WorkloadVerdict {
    workload: string;
    scale: Scale;
    planned: boolean;
    plannedReason?: string;
    observed: boolean;
    observedDetail: string;
    agrees: boolean;
    /** A job still waiting in its Kueue queue: no pods is what the plan expects. */
    queued?: boolean;
}

/** True when every pod of the workload exists, is bound to a node, and runs. */
export function ranFully(o: ObservedWorkload): boolean {
    return o.expectedPods > 0 && o.pods === o.expectedPods && o.bound === o.expectedPods && o.running === o.expectedPods;
}

export function describeObserved(o: ObservedWorkload): string {
    const counts = `${o.bound}/${o.expectedPods} pods bound, ${o.running} running`;
    if (ranFully(o)) return counts;
    if (o.pods < o.expectedPods) return `${counts}; only ${o.pods} of ${o.expectedPods} pods were created${o.message ? `: ${o.message}` : ""}`;
    return `${counts}${o.message ? `; ${o.message}` : ""}`;
}

/** The plan's verdict for a workload at a scale: the per-scale one when the plan has it. */
export function plannedAt(w: PlanWorkload, scale: Scale): { schedulable: boolean; reason?: string } {
    const s = w.scales?.[scale];
    if (s) return { schedulable: s.schedulable, ...(s.reason ? { reason: s.reason } : {}) };
    // A plan without per-scale verdicts: a failure names its scale in the reason ("at maximum scale: ...").
    if (!w.schedulable && w.reason) {
        const at = w.reason.startsWith("at minimum scale") ? "min" : w.reason.startsWith("at maximum scale") ? "max" : undefined;
        if (at && at !== scale) return { schedulable: true };
    }
    return { schedulable: w.schedulable, ...(w.reason ? { reason: w.reason } : {}) };
}

export function compareWorkload(w: PlanWorkload, o: ObservedWorkload | undefined, scale: Scale): WorkloadVerdict {
    const planned = plannedAt(w, scale);
    const observed = o ? ranFully(o) : false;
    return {
        workload: `${w.kind} ${w.namespace}/${w.name}`,
        scale,
        planned: planned.schedulable,
        ...(planned.reason ? { plannedReason: planned.reason } : {}),
        observed,
        observedDetail: o ? describeObserved(o) : "not found in the cluster",
        agrees: planned.schedulable === observed,
    };
}

export interface DaemonSetCheck {
    daemonSet: string;
    /** Nodes that must run exactly one pod of it (GPU nodes), and those that must run none. */
    expectedNodes: string[];
    podsPerNode: Record<string, number>;
    problems: string[];
}

/** A GPU DaemonSet runs exactly one pod on every GPU node and none elsewhere. */
export function checkGpuDaemonSet(name: string, pods: KubeObject[], gpuNodes: string[], allNodes: string[], pendingMessage?: string): DaemonSetCheck {
    const podsPerNode: Record<string, number> = {};
    let unbound = 0;
    for (const p of pods) {
        const node = p.spec?.nodeName as string | undefined;
        if (node) podsPerNode[node] = (podsPerNode[node] ?? 0) + 1;
        else unbound++;
    }
    const problems: string[] = [];
    const missing = gpuNodes.filter((n) => (podsPerNode[n] ?? 0) === 0);
    const doubled = gpuNodes.filter((n) => (podsPerNode[n] ?? 0) > 1);
    const onCpu = allNodes.filter((n) => !gpuNodes.includes(n) && (podsPerNode[n] ?? 0) > 0);
    if (gpuNodes.length === 0) problems.push("the stack has no GPU nodes to check it on");
    if (missing.length > 0) problems.push(`no pod on GPU node(s) ${missing.join(", ")}${pendingMessage ? ` (${pendingMessage})` : ""}`);
    if (doubled.length > 0) problems.push(`more than one pod on ${doubled.join(", ")}`);
    if (onCpu.length > 0) problems.push(`pods on CPU node(s) ${onCpu.join(", ")}`);
    if (unbound > 0) problems.push(`${unbound} pod(s) not bound${pendingMessage ? `: ${pendingMessage}` : ""}`);
    return { daemonSet: name, expectedNodes: gpuNodes, podsPerNode, problems };
}

/** The PodScheduled=False message the scheduler wrote, if any. */
export function schedulingMessage(pod: KubeObject): string | undefined {
    const c = (pod.status?.conditions ?? []).find((x: { type: string }) => x.type === "PodScheduled");
    return c && c.status === "False" ? `${c.reason ?? "Unschedulable"}: ${c.message ?? ""}`.trim() : undefined;
}

export function isBound(pod: KubeObject): boolean {
    return Boolean(pod.spec?.nodeName);
}

export function isRunning(pod: KubeObject): boolean {
    return pod.status?.phase === "Running";
}
