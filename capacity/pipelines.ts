/**
 * ML pipelines as DAGs of steps: the graph rules config validation needs (unknown dependencies, cycles,
 * ancestry), the steps that can run at once (maximal antichains), and the planner's view of one run of
 * each pipeline read back from the registered Argo objects: does every step fit its pool, do the steps
 * that can run at the same time fit together beside everything else at maximum scale, and what one run
 * costs in GPU-hours and dollars. Pure: plain data in, plain data out.
 */
import { ARGO_EXECUTOR_RESOURCES, ARGO_INIT_CONTAINER, ARGO_WAIT_CONTAINER, CRON_WORKFLOW_TYPE, EXPECTED_MINUTES_ANNOTATION, WORKFLOW_TEMPLATE_TYPE } from "../facts/pipelines";
import { instanceType } from "./catalog";
import { roundCents } from "./cost";
import { Container, podTemplates, PodTemplate, Props } from "./podTemplates";
import { gpusOf, podRequests, PodResources } from "./resources";
import { PodGroup, PoolCapacity, placeWorkloads } from "./scheduling";

export interface DagStep {
    name: string;
    dependencies: readonly string[];
}

/** Every dependency that names no step: where it is (step index, dependency index) and what it says. */
export function unknownDependencies(steps: readonly DagStep[]): { step: number; at: number; name: string }[] {
    const names = new Set(steps.map((s) => s.name));
    return steps.flatMap((s, step) => s.dependencies.flatMap((name, at) => (names.has(name) ? [] : [{ step, at, name }])));
}

/**
 * A cycle through the known dependencies, as the list of step names walked (first name repeated at the
 * end: a -> b -> a), or undefined for a DAG. Unknown dependencies are ignored here.
 */
export function findCycle(steps: readonly DagStep[]): string[] | undefined {
    const byName = new Map(steps.map((s) => [s.name, s]));
    const state = new Map<string, "open" | "done">();
    const stack: string[] = [];
    const visit = (name: string): string[] | undefined => {
        state.set(name, "open");
        stack.push(name);
        for (const dep of byName.get(name)?.dependencies ?? []) {
            if (!byName.has(dep)) continue;
            if (state.get(dep) === "open") {
                return [...stack.slice(stack.indexOf(dep)), dep];
            }
            if (!state.has(dep)) {
                const found = visit(dep);
                if (found) return found;
            }
        }
        stack.pop();
        state.set(name, "done");
        return undefined;
    };
    for (const s of steps) {
        if (!state.has(s.name)) {
            const found = visit(s.name);
            // Walked along dependencies (step -> what it waits for); read in run order it is reversed.
            if (found) return found.reverse();
        }
    }
    return undefined;
}

/** The steps `name` waits for, directly or through others (the DAG must be acyclic). */
export function ancestorsOf(steps: readonly DagStep[], name: string): Set<string> {
    const byName = new Map(steps.map((s) => [s.name, s]));
    const out = new Set<string>();
    const todo = [...(byName.get(name)?.dependencies ?? [])];
    while (todo.length > 0) {
        const next = todo.pop()!;
        if (out.has(next) || !byName.has(next)) continue;
        out.add(next);
        todo.push(...byName.get(next)!.dependencies);
    }
    return out;
}

/**
 * Every maximal set of steps no two of which depend on each other (directly or transitively): the sets
 * of steps that can be running at the same moment. Bron–Kerbosch with pivoting over the
 * "neither waits for the other" graph; its maximal cliques are the maximal antichains. Each set in
 * config order, the sets sorted for a stable answer.
 */
export function maximalAntichains(steps: readonly DagStep[]): string[][] {
    const names = steps.map((s) => s.name);
    const ancestors = new Map(names.map((n) => [n, ancestorsOf(steps, n)]));
    const concurrent = (a: string, b: string) => a !== b && !ancestors.get(a)!.has(b) && !ancestors.get(b)!.has(a);
    const neighbours = new Map(names.map((n) => [n, new Set(names.filter((m) => concurrent(n, m)))]));
    const out: string[][] = [];
    const expand = (r: string[], p: Set<string>, x: Set<string>) => {
        if (p.size === 0 && x.size === 0) {
            out.push(names.filter((n) => r.includes(n)));
            return;
        }
        const pivot = [...p, ...x].reduce((best, n) => ([...p].filter((m) => neighbours.get(n)!.has(m)).length > [...p].filter((m) => neighbours.get(best)!.has(m)).length ? n : best));
        for (const v of [...p].filter((n) => !neighbours.get(pivot)!.has(n))) {
            const nv = neighbours.get(v)!;
            expand([...r, v], new Set([...p].filter((n) => nv.has(n))), new Set([...x].filter((n) => nv.has(n))));
            p.delete(v);
            x.add(v);
        }
    };
    expand([], new Set(names), new Set());
    return out.sort((a, b) => a.join("\u0000").localeCompare(b.join("\u0000")));
}

/** The longest chain of expected minutes through the DAG: one run's wall-clock time when nothing waits for capacity. */
export function criticalPathMinutes(steps: readonly (DagStep & { expectedMinutes: number })[]): number {
    const byName = new Map(steps.map((s) => [s.name, s]));
    const memo = new Map<string, number>();
    const finish = (name: string): number => {
        if (memo.has(name)) return memo.get(name)!;
        const s = byName.get(name)!;
        const start = Math.max(0, ...s.dependencies.filter((d) => byName.has(d)).map(finish));
        memo.set(name, start + s.expectedMinutes);
        return memo.get(name)!;
    };
    return Math.max(0, ...steps.map((s) => finish(s.name)));
}

// ---- The planner's view of the registered Argo objects ----

export interface PipelineResource {
    type: string;
    name: string;
    props: Props;
    urn?: string;
}

export interface PipelineStepShape extends DagStep {
    /** The Argo template the DAG task runs. */
    template: string;
    /** The pod as Argo makes it: the step's container plus the executor's wait sidecar and init container. */
    group: PodGroup;
    gpus: number;
    expectedMinutes: number;
    /** The task's `when`, if any (a quality gate). */
    when?: string;
    /** The step pod's labels (the template's metadata, which Argo copies onto the pod). */
    labels: Record<string, string>;
}

export interface PipelineShape {
    name: string;
    namespace: string;
    steps: PipelineStepShape[];
    /** Cron schedules of the CronWorkflows that run this template. */
    schedules: string[];
    /** The WorkflowTemplate's URN, when the caller knows it. */
    urn?: string;
}

const WORKFLOW_TEMPLATE = `kubernetes:${WORKFLOW_TEMPLATE_TYPE.apiVersion}:${WORKFLOW_TEMPLATE_TYPE.kind}`;
const CRON_WORKFLOW = `kubernetes:${CRON_WORKFLOW_TYPE.apiVersion}:${CRON_WORKFLOW_TYPE.kind}`;

/** The executor's containers, as Argo's controller adds them to every step pod. */
function withExecutor(t: PodTemplate): PodResources {
    const executor = (name: string): Container => ({ name, resources: { requests: { ...ARGO_EXECUTOR_RESOURCES.requests }, limits: { ...ARGO_EXECUTOR_RESOURCES.limits } } });
    return podRequests({
        containers: [...(t.spec.containers ?? []), executor(ARGO_WAIT_CONTAINER)],
        initContainers: [...(t.spec.initContainers ?? []), executor(ARGO_INIT_CONTAINER)],
    });
}

/** Each WorkflowTemplate whose entrypoint is a DAG, with its steps' pods as Argo would create them. */
export function pipelinesOf(resources: readonly PipelineResource[]): PipelineShape[] {
    const schedules = new Map<string, string[]>();
    for (const r of resources) {
        if (r.type !== CRON_WORKFLOW) continue;
        const ref = r.props.spec?.workflowSpec?.workflowTemplateRef?.name;
        const key = `${r.props.metadata?.namespace ?? "default"}/${ref}`;
        schedules.set(key, [...(schedules.get(key) ?? []), ...((r.props.spec?.schedules as string[] | undefined) ?? [])]);
    }
    const out: PipelineShape[] = [];
    for (const r of resources) {
        if (r.type !== WORKFLOW_TEMPLATE) continue;
        const spec: Props = r.props.spec ?? {};
        const entry = ((spec.templates as Props[] | undefined) ?? []).find((t) => t.name === spec.entrypoint);
        const tasks: Props[] = entry?.dag?.tasks ?? [];
        if (tasks.length === 0) continue;
        const pods = new Map(podTemplates(r.type, r.props, r.name).map((t) => [t.role, t]));
        const name = String(r.props.metadata?.name ?? r.name);
        const namespace = String(r.props.metadata?.namespace ?? "default");
        const steps = tasks.flatMap<PipelineStepShape>((task) => {
            const pod = pods.get(String(task.template));
            if (!pod) return [];
            const requests = withExecutor(pod);
            return [
                {
                    name: String(task.name),
                    dependencies: ((task.dependencies as string[] | undefined) ?? []).map(String),
                    template: String(task.template),
                    group: {
                        workload: `${name}/${task.name}`,
                        role: "step",
                        requests,
                        count: 1,
                        tolerations: pod.spec.tolerations ?? [],
                        nodeSelector: pod.spec.nodeSelector ?? {},
                        ...(pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution
                            ? { affinity: pod.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution }
                            : {}),
                        gang: false,
                    },
                    gpus: gpusOf(requests),
                    expectedMinutes: Number(pod.metadata.annotations?.[EXPECTED_MINUTES_ANNOTATION] ?? 0),
                    ...(task.when ? { when: String(task.when) } : {}),
                    labels: { ...(pod.metadata.labels ?? {}) },
                },
            ];
        });
        out.push({ name, namespace, steps, schedules: schedules.get(`${namespace}/${name}`) ?? [], ...(r.urn !== undefined ? { urn: r.urn } : {}) });
    }
    return out;
}

export interface PipelineStepCapacity {
    name: string;
    dependencies: string[];
    /** The pool the scheduler would put the step's pod on (alone on the pools). */
    pool?: string;
    gpus: number;
    cpuMillis: number;
    memoryBytes: number;
    expectedMinutes: number;
    when?: string;
    fits: boolean;
    reason?: string;
    gpuHours: number;
    /** The step's share of its node (the largest of its CPU, memory and GPU fractions) for its minutes. */
    costShared: number;
    /** A whole node of its pool for its minutes: what a pool scaled up only for this step bills. */
    costWholeNode: number;
}

export interface PipelineCapacity {
    name: string;
    namespace: string;
    schedules: string[];
    steps: PipelineStepCapacity[];
    /** Every maximal set of steps that can run at once. */
    concurrentSets: string[][];
    /** The set with the most GPUs (then CPU), and what it asks for. */
    peak: { steps: string[]; gpus: number; cpuMillis: number; memoryBytes: number };
    /** Every step fits alone, and every concurrent set fits beside the stack's other workloads at maximum scale. */
    schedulable: boolean;
    reason?: string;
    criticalPathMinutes: number;
    run: { gpuHours: number; costShared: number; costWholeNodes: number };
}

type Pool = PoolCapacity & { gpusPerNode: number };

function shareOfNode(requests: PodResources, pool: Pool): number {
    const a = pool.allocatable;
    const fractions = [requests.cpuMillis / a.cpuMillis, requests.memoryBytes / a.memoryBytes, pool.gpusPerNode > 0 ? gpusOf(requests) / pool.gpusPerNode : 0];
    return Math.min(1, Math.max(...fractions.filter(Number.isFinite)));
}

/**
 * One run of each pipeline against the pools. `background` is every other workload's pods at maximum
 * scale: a run's concurrent steps must fit beside them, as they would have to in the cluster.
 */
export function analyzePipelines(pipelines: readonly PipelineShape[], pools: readonly Pool[], background: readonly PodGroup[]): PipelineCapacity[] {
    return pipelines.map((p) => {
        const steps = p.steps.map<PipelineStepCapacity>((s) => {
            const alone = placeWorkloads([s.group], [...pools]).placements[0];
            const pool = pools.find((x) => x.name === alone.pool);
            const hours = s.expectedMinutes / 60;
            const hourly = pool ? instanceType(pool.instanceType).onDemandHourlyUsd : 0;
            return {
                name: s.name,
                dependencies: [...s.dependencies],
                ...(alone.pool ? { pool: alone.pool } : {}),
                gpus: s.gpus,
                cpuMillis: s.group.requests.cpuMillis,
                memoryBytes: s.group.requests.memoryBytes,
                expectedMinutes: s.expectedMinutes,
                ...(s.when ? { when: s.when } : {}),
                fits: alone.schedulable,
                ...(alone.schedulable ? {} : { reason: alone.reason }),
                gpuHours: s.gpus * hours,
                costShared: pool && alone.schedulable ? hourly * hours * shareOfNode(s.group.requests, pool) : 0,
                costWholeNode: pool && alone.schedulable ? hourly * hours : 0,
            };
        });
        const sets = maximalAntichains(p.steps);
        const byName = new Map(p.steps.map((s) => [s.name, s]));
        const demand = (set: string[]) => ({
            gpus: set.reduce((n, s) => n + byName.get(s)!.gpus, 0),
            cpuMillis: set.reduce((n, s) => n + byName.get(s)!.group.requests.cpuMillis, 0),
            memoryBytes: set.reduce((n, s) => n + byName.get(s)!.group.requests.memoryBytes, 0),
        });
        const peakSet = sets.reduce<string[]>((best, set) => {
            const [a, b] = [demand(set), demand(best)];
            return a.gpus > b.gpus || (a.gpus === b.gpus && a.cpuMillis > b.cpuMillis) ? set : best;
        }, sets[0] ?? []);
        let reason = steps.find((s) => !s.fits) ? `step ${steps.find((s) => !s.fits)!.name} fits no pool: ${steps.find((s) => !s.fits)!.reason}` : undefined;
        if (!reason) {
            for (const set of sets) {
                const placed = placeWorkloads([...background, ...set.map((s) => byName.get(s)!.group)], [...pools]);
                const failed = placed.placements.find((x) => !x.schedulable && set.some((s) => x.workload === `${p.name}/${s}`));
                if (failed) {
                    reason = `steps ${set.join(" + ")} can run at once but do not fit beside the other workloads at maximum scale: ${failed.reason}`;
                    break;
                }
            }
        }
        const sum = (f: (s: PipelineStepCapacity) => number) => steps.reduce((n, s) => n + f(s), 0);
        return {
            name: p.name,
            namespace: p.namespace,
            schedules: [...p.schedules],
            steps,
            concurrentSets: sets,
            peak: { steps: peakSet, ...demand(peakSet) },
            schedulable: reason === undefined,
            ...(reason ? { reason } : {}),
            criticalPathMinutes: criticalPathMinutes(p.steps),
            run: { gpuHours: Math.round(sum((s) => s.gpuHours) * 1000) / 1000, costShared: roundCents(sum((s) => s.costShared)), costWholeNodes: roundCents(sum((s) => s.costWholeNode)) },
        };
    });
}

/** The most GPUs one run of the pipeline holds at once: the concurrent set of steps with the most GPUs. */
export function peakGpus(steps: readonly (DagStep & { gpus: number })[]): number {
    const gpus = new Map(steps.map((s) => [s.name, s.gpus]));
    return Math.max(0, ...maximalAntichains(steps).map((set) => set.reduce((n, s) => n + gpus.get(s)!, 0)));
}

/** The pipelines namespace's GPU quota: one run of every pipeline at its peak, at the same time. */
export function pipelineGpuQuota(pipelines: readonly { steps: readonly (DagStep & { gpus: number })[] }[]): number {
    return pipelines.reduce((n, p) => n + peakGpus(p.steps), 0);
}
