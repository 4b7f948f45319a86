/**
 * Admission as Kueue does it, over what the program registered: the ClusterQueues, LocalQueues and
 * ResourceFlavors (kueue.x-k8s.io CustomResources) and the queued training jobs. Two questions:
 * - could this job ever be admitted? Its whole demand (every pod of a gang at once) within what its
 *   ClusterQueue may use on a flavor its pods can land on: the cohort's nominal quota, since no queue
 *   sets a borrowing limit (a `borrowingLimit` is honoured when set);
 * - at the stack's declared load (every job submitted once, at time 0), in what order are jobs admitted
 *   and how long does each wait? Jobs run their run length (hoursPerRun, else their hours capped by their
 *   deadline) and free their quota when they end; BestEffortFIFO (a job that does not fit does not block
 *   the ones behind it), higher WorkloadPriorityClass first, then declaration order. Preemption is off
 *   (the platform's queues never reclaim), so a borrower keeps its quota until its run ends.
 */
import { GPU_RESOURCE } from "./pools";
import { PodTemplate, Props, podTemplates } from "./podTemplates";
import { parseCpu, parseMemory } from "./quantity";
import { gpusOf, podRequests } from "./resources";
import { KUEUE_PRIORITY_LABEL, KUEUE_QUEUE_LABEL } from "../facts/kueue";
import { EXPECTED_HOURS_ANNOTATION, HOURS_PER_RUN_ANNOTATION } from "../facts/training";

export interface Demand {
    cpuMillis: number;
    memoryBytes: number;
    gpus: number;
}

export interface FlavorQuota extends Demand {
    flavor: string;
    /** Most this queue may borrow from the cohort, per resource; undefined: no limit. */
    borrowingLimit?: Partial<Demand>;
}

export interface QueueView {
    name: string;
    cohort?: string;
    quotas: FlavorQuota[];
    /** The resources its resource groups cover (coveredResources). */
    covered: string[];
}

export interface FlavorView {
    name: string;
    nodeLabels: Record<string, string>;
}

export interface QueuedJob {
    name: string;
    kind: string;
    namespace: string;
    urn?: string;
    /** LocalQueue named by the job's label; undefined when unlabelled. */
    localQueue?: string;
    priorityClass?: string;
    demand: Demand;
    /** The pods' nodeSelector (every pod of a platform job selects the same pool). */
    nodeSelector: Record<string, string>;
    /** Every resource its containers request or limit (cpu, memory, nvidia.com/gpu, vpc.amazonaws.com/efa...). */
    resources: string[];
    /** Hours one run lasts. */
    runHours: number;
    /**
     * Jobs (by name) that must have finished before this one is submitted: a pipeline step's DAG
     * dependencies (Argo creates the step's pod only then). Absent: submitted at hour 0.
     */
    after?: string[];
}

export interface KueueView {
    flavors: FlavorView[];
    queues: QueueView[];
    /** `${namespace}/${name}` -> ClusterQueue name. */
    localQueues: Map<string, string>;
    /** WorkloadPriorityClass name -> value. */
    priorities: Map<string, number>;
    /** Resource-name prefixes Kueue's configuration tells it to ignore (resources.excludeResourcePrefixes). */
    excludedPrefixes: string[];
}

const KUEUE_TYPE = /^kubernetes:kueue\.x-k8s\.io\/v1beta[12]:(\w+)$/;
const KUBEFLOW_JOB = /^kubernetes:kubeflow\.org\/v1:\w+Job$/;

function kueueKind(r: { type: string; props: Props }): string | undefined {
    const m = KUEUE_TYPE.exec(r.type);
    if (m) {
        return m[1];
    }
    // A CustomResource registers as the group/version:kind of its apiVersion and kind.
    if (r.type.startsWith("kubernetes:kueue.x-k8s.io/")) {
        return r.type.split(":").pop();
    }
    return undefined;
}

function resourceQuota(resources: { name: string; nominalQuota?: string | number; borrowingLimit?: string | number }[] = []) {
    const q: Demand = { cpuMillis: 0, memoryBytes: 0, gpus: 0 };
    const limit: Partial<Demand> = {};
    for (const r of resources) {
        const value = String(r.nominalQuota ?? 0);
        if (r.name === "cpu") {
            q.cpuMillis = parseCpu(value);
            if (r.borrowingLimit !== undefined) limit.cpuMillis = parseCpu(String(r.borrowingLimit));
        } else if (r.name === "memory") {
            q.memoryBytes = parseMemory(value);
            if (r.borrowingLimit !== undefined) limit.memoryBytes = parseMemory(String(r.borrowingLimit));
        } else if (r.name === GPU_RESOURCE) {
            q.gpus = Number(value);
            if (r.borrowingLimit !== undefined) limit.gpus = Number(r.borrowingLimit);
        }
    }
    return { ...q, ...(Object.keys(limit).length > 0 ? { borrowingLimit: limit } : {}) };
}

const HELM_RELEASE = "kubernetes:helm.sh/v3:Release";
const KUEUE_CHART = /\/kueue\/charts\/kueue$/;

/** resources.excludeResourcePrefixes of Kueue's controller configuration (the platform renders it as JSON). */
function excludedPrefixesOf(config: unknown): string[] {
    if (typeof config !== "string") return [];
    try {
        const prefixes = JSON.parse(config)?.resources?.excludeResourcePrefixes;
        return Array.isArray(prefixes) ? prefixes.map(String) : [];
    } catch {
        return [];
    }
}

/** Kueue's objects among the registered resources; undefined when the stack has no ClusterQueue. */
export function kueueViewOf(resources: { type: string; props: Props }[]): KueueView | undefined {
    const view: KueueView = { flavors: [], queues: [], localQueues: new Map(), priorities: new Map(), excludedPrefixes: [] };
    for (const r of resources) {
        const kind = kueueKind(r);
        const p = r.props;
        if (r.type === HELM_RELEASE && KUEUE_CHART.test(String(p.chart ?? ""))) {
            view.excludedPrefixes = excludedPrefixesOf(p.values?.managerConfig?.controllerManagerConfigYaml);
        } else if (kind === "ResourceFlavor") {
            view.flavors.push({ name: p.metadata?.name, nodeLabels: p.spec?.nodeLabels ?? {} });
        } else if (kind === "ClusterQueue") {
            const groups: Props[] = p.spec?.resourceGroups ?? [];
            view.queues.push({
                name: p.metadata?.name,
                ...(p.spec?.cohortName ? { cohort: p.spec.cohortName } : {}),
                quotas: groups.flatMap((g) => (g.flavors ?? []).map((f: Props) => ({ flavor: f.name, ...resourceQuota(f.resources) }))),
                covered: [...new Set(groups.flatMap((g) => (g.coveredResources ?? []) as string[]))],
            });
        } else if (kind === "LocalQueue") {
            view.localQueues.set(`${p.metadata?.namespace ?? "default"}/${p.metadata?.name}`, p.spec?.clusterQueue);
        } else if (kind === "WorkloadPriorityClass") {
            view.priorities.set(p.metadata?.name, Number(p.value ?? 0));
        }
    }
    return view.queues.length > 0 ? view : undefined;
}

function resourceNames(templates: PodTemplate[]): string[] {
    const names = new Set<string>();
    for (const t of templates) {
        for (const c of [...(t.spec.containers ?? []), ...(t.spec.initContainers ?? [])]) {
            for (const k of [...Object.keys(c.resources?.requests ?? {}), ...Object.keys(c.resources?.limits ?? {})]) names.add(k);
        }
    }
    return [...names].sort();
}

function sumDemand(templates: PodTemplate[], props: Props): Demand {
    const d: Demand = { cpuMillis: 0, memoryBytes: 0, gpus: 0 };
    for (const t of templates) {
        const [, field, role] = t.path.split(".");
        const count = t.role !== undefined ? Number(props.spec?.[field]?.[role]?.replicas ?? 1) : Number(props.spec?.parallelism ?? 1);
        const r = podRequests(t.spec);
        d.cpuMillis += r.cpuMillis * count;
        d.memoryBytes += r.memoryBytes * count;
        d.gpus += gpusOf(r) * count;
    }
    return d;
}

/** Jobs and Kubeflow jobs whose pods request GPUs: the training Kueue must admit. */
export function trainingJobsOf(resources: { type: string; name: string; props: Props; urn?: string }[]): QueuedJob[] {
    const out: QueuedJob[] = [];
    for (const r of resources) {
        if (r.type !== "kubernetes:batch/v1:Job" && !KUBEFLOW_JOB.test(r.type)) {
            continue;
        }
        const templates = podTemplates(r.type, r.props, r.name);
        const demand = sumDemand(templates, r.props);
        if (templates.length === 0 || demand.gpus === 0) {
            continue;
        }
        const labels: Record<string, string> = r.props.metadata?.labels ?? {};
        const annotations: Record<string, string> = r.props.metadata?.annotations ?? {};
        const deadline = Number((r.type === "kubernetes:batch/v1:Job" ? r.props.spec : r.props.spec?.runPolicy)?.activeDeadlineSeconds);
        const deadlineHours = Number.isFinite(deadline) && deadline > 0 ? deadline / 3600 : Infinity;
        const perRun = Number(annotations[HOURS_PER_RUN_ANNOTATION]);
        const monthly = Number(annotations[EXPECTED_HOURS_ANNOTATION]);
        const runHours = perRun > 0 ? perRun : Math.min(monthly > 0 ? monthly : Infinity, deadlineHours);
        const w = templates[0].workload;
        out.push({
            name: w.name,
            kind: w.kind,
            namespace: w.namespace,
            ...(r.urn !== undefined ? { urn: r.urn } : {}),
            ...(labels[KUEUE_QUEUE_LABEL] !== undefined ? { localQueue: labels[KUEUE_QUEUE_LABEL] } : {}),
            ...(labels[KUEUE_PRIORITY_LABEL] !== undefined ? { priorityClass: labels[KUEUE_PRIORITY_LABEL] } : {}),
            demand,
            nodeSelector: templates[0].spec.nodeSelector ?? {},
            resources: resourceNames(templates),
            runHours: Number.isFinite(runHours) ? runHours : 24,
        });
    }
    return out;
}

/** Kueue's flavor match: every node label the flavor sets that the pods select must agree. */
function flavorMatches(flavor: FlavorView | undefined, nodeSelector: Record<string, string>): boolean {
    if (!flavor) {
        return false;
    }
    return Object.entries(flavor.nodeLabels).every(([k, v]) => nodeSelector[k] === undefined || nodeSelector[k] === v);
}

const RESOURCES: (keyof Demand)[] = ["cpuMillis", "memoryBytes", "gpus"];

function fits(d: Demand, room: Demand): boolean {
    return RESOURCES.every((k) => d[k] <= room[k]);
}

/** The most a queue may ever use on a flavor: its nominal quota plus what it may borrow from its cohort. */
export function admissibleOn(view: KueueView, queue: QueueView, flavor: string): Demand {
    const own = queue.quotas.find((q) => q.flavor === flavor) ?? { flavor, cpuMillis: 0, memoryBytes: 0, gpus: 0 };
    const others = queue.cohort ? view.queues.filter((q) => q !== queue && q.cohort === queue.cohort) : [];
    const out = { ...own } as Demand;
    for (const k of RESOURCES) {
        const lendable = others.reduce((n, q) => n + (q.quotas.find((x) => x.flavor === flavor)?.[k] ?? 0), 0);
        const limit = own.borrowingLimit?.[k];
        out[k] = own[k] + (limit !== undefined ? Math.min(limit, lendable) : lendable);
    }
    return { cpuMillis: out.cpuMillis, memoryBytes: out.memoryBytes, gpus: out.gpus };
}

export interface AdmissionVerdict {
    job: QueuedJob;
    clusterQueue?: string;
    /** Flavors (pools) its pods may use under that queue, in the queue's order. */
    flavors: string[];
    /** Why it can never be admitted; undefined when it can. */
    never?: string;
}

const fmtDemand = (d: Demand) => `${d.gpus} GPU, ${d.cpuMillis / 1000} CPU, ${(d.memoryBytes / 2 ** 30).toFixed(1)} GiB`;

/** Whether each job can ever be admitted, and through which queue and flavors. */
export function admissionVerdicts(view: KueueView, jobs: QueuedJob[]): AdmissionVerdict[] {
    return jobs.map((job) => {
        if (job.localQueue === undefined) {
            return { job, flavors: [], never: `carries no ${KUEUE_QUEUE_LABEL} label, so Kueue never admits it (and it bypasses the quotas)` };
        }
        const cq = view.localQueues.get(`${job.namespace}/${job.localQueue}`);
        const queue = view.queues.find((q) => q.name === cq);
        if (!queue) {
            return { job, flavors: [], never: `names LocalQueue ${job.namespace}/${job.localQueue}, which the stack does not define (or whose ClusterQueue ${cq ?? "-"} is missing)` };
        }
        // Kueue refuses a workload that requests a resource its ClusterQueue does not cover, unless its
        // configuration excludes the resource ("resource ... unavailable in ClusterQueue").
        const uncovered = job.resources.filter((r) => !queue.covered.includes(r) && !view.excludedPrefixes.some((p) => r.startsWith(p)));
        if (uncovered.length > 0) {
            return {
                job,
                clusterQueue: queue.name,
                flavors: [],
                never: `requests ${uncovered.join(", ")}, which ClusterQueue ${queue.name} does not cover and Kueue's configuration does not exclude (resources.excludeResourcePrefixes): Kueue finds the resource unavailable and never admits it`,
            };
        }
        const flavors = queue.quotas.map((q) => q.flavor).filter((f) => flavorMatches(view.flavors.find((x) => x.name === f), job.nodeSelector));
        if (flavors.length === 0) {
            return { job, clusterQueue: queue.name, flavors, never: `selects ${JSON.stringify(job.nodeSelector)}, which no flavor of ClusterQueue ${queue.name} provides` };
        }
        const best = flavors.map((f) => [f, admissibleOn(view, queue, f)] as const).find(([, room]) => fits(job.demand, room));
        if (!best) {
            const [f, room] = [flavors[0], admissibleOn(view, queue, flavors[0])];
            return {
                job,
                clusterQueue: queue.name,
                flavors,
                never: `needs ${fmtDemand(job.demand)} at once; ClusterQueue ${queue.name} can ever use ${fmtDemand(room)} of flavor ${f} (its quota plus what its cohort can lend)`,
            };
        }
        return { job, clusterQueue: queue.name, flavors };
    });
}

export interface AdmissionStep {
    job: string;
    clusterQueue: string;
    flavor: string;
    /** 1-based admission order. */
    order: number;
    /** Hours after submission it is admitted. */
    waitHours: number;
    /** Hours after hour 0 it is submitted, when later (a pipeline step after its dependencies). */
    submittedHours?: number;
    runHours: number;
    /** Admitted beyond its queue's nominal quota, on quota the cohort lent. */
    borrowed: boolean;
}

/**
 * Every admissible job submitted at time 0, or, with `after`, when the last of those jobs ends; each runs
 * runHours then frees its quota. Returns the admission order; jobs that can never be admitted are left
 * out (admissionVerdicts names them), and so are the jobs that wait for one of them. waitHours is the
 * time in the queue, from the job's submission (submittedHours) to its admission.
 */
export function simulateAdmission(view: KueueView, verdicts: AdmissionVerdict[]): AdmissionStep[] {
    const usage = new Map<string, Demand>(); // `${queue}/${flavor}`
    const used = (q: string, f: string) => usage.get(`${q}/${f}`) ?? { cpuMillis: 0, memoryBytes: 0, gpus: 0 };
    const add = (q: string, f: string, d: Demand, sign: number) => {
        const u = used(q, f);
        usage.set(`${q}/${f}`, { cpuMillis: u.cpuMillis + sign * d.cpuMillis, memoryBytes: u.memoryBytes + sign * d.memoryBytes, gpus: u.gpus + sign * d.gpus });
    };
    const priority = (v: AdmissionVerdict) => view.priorities.get(v.job.priorityClass ?? "") ?? 0;
    const pending = verdicts
        .map((v, i) => ({ v, i }))
        .filter(({ v }) => v.never === undefined)
        .sort((a, b) => priority(b.v) - priority(a.v) || a.i - b.i)
        .map(({ v }) => v);
    const running: { v: AdmissionVerdict; flavor: string; ends: number }[] = [];
    const steps: AdmissionStep[] = [];
    const finished = new Map<string, number>();
    const submitted = (v: AdmissionVerdict) => Math.max(0, ...(v.job.after ?? []).map((j) => finished.get(j)!));
    let now = 0;
    while (pending.length > 0) {
        for (let i = 0; i < pending.length; ) {
            const v = pending[i];
            if (!(v.job.after ?? []).every((j) => finished.has(j))) {
                i++;
                continue;
            }
            const queue = view.queues.find((q) => q.name === v.clusterQueue)!;
            const cohort = queue.cohort ? view.queues.filter((q) => q.cohort === queue.cohort) : [queue];
            const flavor = v.flavors.find((f) =>
                RESOURCES.every((k) => {
                    const cohortNominal = cohort.reduce((n, q) => n + (q.quotas.find((x) => x.flavor === f)?.[k] ?? 0), 0);
                    const cohortUsed = cohort.reduce((n, q) => n + used(q.name, f)[k], 0);
                    return cohortUsed + v.job.demand[k] <= cohortNominal && used(queue.name, f)[k] + v.job.demand[k] <= admissibleOn(view, queue, f)[k];
                }),
            );
            if (flavor === undefined) {
                i++;
                continue;
            }
            const nominal = queue.quotas.find((q) => q.flavor === flavor)!;
            const borrowed = RESOURCES.some((k) => used(queue.name, flavor)[k] + v.job.demand[k] > nominal[k]);
            add(queue.name, flavor, v.job.demand, 1);
            running.push({ v, flavor, ends: now + v.job.runHours });
            const at = submitted(v);
            steps.push({ job: v.job.name, clusterQueue: queue.name, flavor, order: steps.length + 1, waitHours: now - at, runHours: v.job.runHours, borrowed, ...(at > 0 ? { submittedHours: at } : {}) });
            pending.splice(i, 1);
        }
        if (pending.length === 0 || running.length === 0) {
            break;
        }
        // Advance to the next run that ends and free its quota.
        running.sort((a, b) => a.ends - b.ends);
        const done = running.shift()!;
        now = done.ends;
        add(done.v.clusterQueue!, done.flavor, done.v.job.demand, -1);
        finished.set(done.v.job.name, now);
        while (running.length > 0 && running[0].ends === now) {
            const also = running.shift()!;
            add(also.v.clusterQueue!, also.flavor, also.v.job.demand, -1);
            finished.set(also.v.job.name, now);
        }
    }
    return steps;
}
