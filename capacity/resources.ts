/**
 * Resources as kube-scheduler counts them: CPU, memory and every extended resource (nvidia.com/gpu,
 * vpc.amazonaws.com/efa, ...) a pod requests, and what a node has free, pod slots included.
 */
import { GPU_RESOURCE } from "./pools";
import { parseCpu, parseMemory } from "./quantity";

export interface PodResources {
    cpuMillis: number;
    memoryBytes: number;
    /** Extended resources by name, whole counts; an absent name is zero. */
    extended: Record<string, number>;
}

/** What is free on a node: allocatable for an empty node, less for a node with pods on it. */
export interface NodeResources extends PodResources {
    pods: number;
}

export type Quantity = string | number;

export interface ContainerResources {
    resources?: { requests?: Record<string, Quantity>; limits?: Record<string, Quantity> };
}

export const NO_RESOURCES: PodResources = Object.freeze({ cpuMillis: 0, memoryBytes: 0, extended: Object.freeze({}) as Record<string, number> });

export function gpusOf(r: PodResources): number {
    return r.extended[GPU_RESOURCE] ?? 0;
}

/** Names the scheduler does not check against node allocatable here (storage has no modelled allocatable). */
const UNCOUNTED = new Set(["cpu", "memory", "pods", "ephemeral-storage", "storage"]);

const quantity = (q: Quantity | undefined, parse: (s: string) => number) => (q === undefined || q === null ? 0 : parse(String(q)));

/** A container's requests; a resource with only a limit requests the limit, as the API server defaults it. */
export function containerRequests(c: ContainerResources): PodResources {
    const requests = c.resources?.requests ?? {};
    const limits = c.resources?.limits ?? {};
    const value = (name: string) => requests[name] ?? limits[name];
    const extended: Record<string, number> = {};
    for (const name of new Set([...Object.keys(requests), ...Object.keys(limits)])) {
        if (!UNCOUNTED.has(name)) {
            // Extended resources are whole counts in quantity syntax ("1", 2, "1k").
            const n = quantity(value(name), parseMemory);
            if (n !== 0) extended[name] = n;
        }
    }
    return { cpuMillis: quantity(value("cpu"), parseCpu), memoryBytes: quantity(value("memory"), parseMemory), extended };
}

export function addResources(a: PodResources, b: PodResources): PodResources {
    const extended = { ...a.extended };
    for (const [name, n] of Object.entries(b.extended)) extended[name] = (extended[name] ?? 0) + n;
    return { cpuMillis: a.cpuMillis + b.cpuMillis, memoryBytes: a.memoryBytes + b.memoryBytes, extended };
}

export function maxResources(a: PodResources, b: PodResources): PodResources {
    const extended = { ...a.extended };
    for (const [name, n] of Object.entries(b.extended)) extended[name] = Math.max(extended[name] ?? 0, n);
    return { cpuMillis: Math.max(a.cpuMillis, b.cpuMillis), memoryBytes: Math.max(a.memoryBytes, b.memoryBytes), extended };
}

/** The pod's effective request per resource: the larger of its containers' sum and its largest init container. */
export function podRequests(spec: { containers?: ContainerResources[]; initContainers?: ContainerResources[] }): PodResources {
    const sum = (spec.containers ?? []).map(containerRequests).reduce(addResources, NO_RESOURCES);
    return (spec.initContainers ?? []).map(containerRequests).reduce(maxResources, sum);
}

/** What is left on a node after a pod takes its requests. */
export function subtractPod(node: NodeResources, pod: PodResources): NodeResources {
    const extended = { ...node.extended };
    for (const [name, n] of Object.entries(pod.extended)) extended[name] = (extended[name] ?? 0) - n;
    return { cpuMillis: node.cpuMillis - pod.cpuMillis, memoryBytes: node.memoryBytes - pod.memoryBytes, extended, pods: node.pods - 1 };
}
