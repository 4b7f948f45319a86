/**
 * The conformance run: a plan's objects applied to a real control plane, on kwok nodes made from the
 * plan's node pools, with the real controllers and kube-scheduler deciding what runs. Two passes:
 * every pool at maxSize with workloads at maximum scale, then every pool at the node count the plan says
 * it needs at minimum scale with workloads at minimum scale. Each workload's outcome is compared with the
 * plan's verdict at that scale; GPU DaemonSets must run exactly one pod per GPU node and none elsewhere.
 */
import * as fs from "fs";
import * as path from "path";
import { loadAll } from "js-yaml";
import { NVIDIA_DAEMONSETS } from "../facts/nvidia";
import { ControlPlane, controlPlaneBinaries, freePort, startControlPlane } from "./controlPlane";
import {
    checkGpuDaemonSet,
    compareWorkload,
    DaemonSetCheck,
    isBound,
    isRunning,
    ObservedWorkload,
    PlanWorkload,
    Scale,
    schedulingMessage,
    WorkloadVerdict,
} from "./compare";
import { Kube, KubeError, KubeObject, sleep, waitFor, waitForReadyNodes } from "./kube";
import { CONFORMANCE_LABEL, ConformancePool, kwokNodes, poolsOf, RecordedResource } from "./nodes";
import {
    gateForKueue,
    isGatedByKueue,
    KUEUE_POD_STAND_IN_NOTE,
    KUEUE_STAND_IN_NOTE,
    kueueCrds,
    kueueManagerConfigOf,
    kueuePodNamespaces,
    kueueTag,
    pyTorchJobRunningStatus,
    REAL_KUEUE_NOTE,
    realKueueUnavailable,
    standInAdmission,
    startRealKueue,
    ungatePatch,
    unsuspendPatch,
} from "./kueue";
import { stepJobName } from "../capacity/pipelineQueueing";
import { PIPELINE_LABEL, PIPELINE_STEP_LABEL } from "../facts/pipelines";
import { ARGO_STAND_IN_NOTE, argoCrds, argoRelease, dagTasks, standInRunName, WORKFLOW_LABEL, workflowRunPods } from "./argoStandIn";
import { ARGO_EXECUTOR_IMAGE } from "../facts/pipelines";
import { efaDevicePluginLoad } from "../capacity/efa";
import { sharingFromLabels } from "../capacity/sharing";
import { karpenterCrds, karpenterVersion } from "./standIns";
import {
    eksSystemDaemonSets,
    MONITORING_API_GROUP,
    prometheusOperatorCrds,
    prometheusOperatorVersion,
    pyTorchJobPods,
    pyTorchJobPodSelector,
    STAND_IN_NOTES,
    trainingOperatorCrds,
    trainingOperatorTag,
    volumeForClaim,
} from "./standIns";

export interface PlanFiles {
    dir: string;
    resources: RecordedResource[];
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    summary: any;
    objects: KubeObject[];
    patches: KubeObject[];
}

export function readPlan(dir: string): PlanFiles {
    const need = (f: string) => {
        const p = path.join(dir, f);
        if (!fs.existsSync(p)) throw new Error(`${p} is missing: give --plan the folder \`npm run plan\` wrote (out/<stack>)`);
        return p;
    };
    const docs = (f: string) =>
        fs.existsSync(path.join(dir, f)) ? loadAll(fs.readFileSync(path.join(dir, f), "utf8")).filter((d): d is KubeObject => !!d && typeof d === "object") : [];
    const recorded = JSON.parse(fs.readFileSync(need("resources.json"), "utf8"));
    need(path.join("manifests", "all.yaml"));
    return {
        dir,
        resources: recorded.resources,
        summary: JSON.parse(fs.readFileSync(need("summary.json"), "utf8")),
        objects: docs(path.join("manifests", "all.yaml")),
        patches: docs(path.join("manifests", "patches.yaml")),
    };
}

export interface PassResult {
    scale: Scale;
    nodes: Record<string, number>;
    applied: number;
    rejected: { object: string; message: string }[];
    workloads: WorkloadVerdict[];
    daemonSets: DaemonSetCheck[];
    seconds: number;
}

export interface ConformanceResult {
    stack: string;
    versions: Record<string, string>;
    passes: PassResult[];
    standIns: string[];
    notCovered: string[];
    failures: string[];
    ok: boolean;
}

const WORKLOAD_KINDS = new Set(["Deployment", "StatefulSet", "Job", "PyTorchJob", "WorkflowTemplate"]);
const id = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ""}${o.metadata.name}`;

/** Replicas of a Deployment at a scale: its HPA's bound, else its own replicas (1 when unset). */
function desiredReplicas(o: KubeObject, hpas: KubeObject[], scale: Scale): { replicas: number; hpa?: KubeObject } {
    const hpa = hpas.find((h) => h.metadata.namespace === o.metadata.namespace && h.spec?.scaleTargetRef?.kind === o.kind && h.spec?.scaleTargetRef?.name === o.metadata.name);
    if (hpa) return { replicas: scale === "max" ? Number(hpa.spec.maxReplicas) : Number(hpa.spec.minReplicas ?? 1), hpa };
    return { replicas: Number(o.spec?.replicas ?? 1) };
}

function expectedPodsOf(o: KubeObject, hpas: KubeObject[], scale: Scale): number {
    switch (o.kind) {
        case "Deployment":
        case "StatefulSet":
            return desiredReplicas(o, hpas, scale).replicas;
        case "Job": {
            const parallelism = Number(o.spec?.parallelism ?? 1);
            return o.spec?.completions === undefined ? parallelism : Math.min(parallelism, Number(o.spec.completions));
        }
        case "PyTorchJob":
            return Object.values(o.spec?.pytorchReplicaSpecs ?? {}).reduce((n: number, s) => n + Number((s as { replicas?: number }).replicas ?? 1), 0);
        case "WorkflowTemplate":
            // One run of the pipeline: a pod per DAG task.
            return dagTasks(o).length;
        default:
            return 0;
    }
}

function selectorOf(o: KubeObject): string {
    if (o.kind === "PyTorchJob") return pyTorchJobPodSelector(o.metadata.name);
    if (o.kind === "WorkflowTemplate") return `${WORKFLOW_LABEL}=${standInRunName(o)}`;
    if (o.kind === "Job") return `batch.kubernetes.io/job-name=${o.metadata.name}`;
    const labels = o.spec?.selector?.matchLabels ?? {};
    return Object.entries(labels)
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
}

/** Why a controller made fewer pods than asked: its FailedCreate events (Pod Security, quota...). */
async function creationFailures(kube: Kube, namespace: string, names: string[]): Promise<string | undefined> {
    const events = await kube.list("v1", "Event", namespace);
    const hit = events
        .filter((e) => e.reason === "FailedCreate" && names.some((n) => String(e.involvedObject?.name ?? "").startsWith(n)))
        .sort((a, b) => String(b.lastTimestamp ?? "").localeCompare(String(a.lastTimestamp ?? "")))[0];
    return hit?.message;
}

async function observe(kube: Kube, o: KubeObject, expected: number, pods: KubeObject[]): Promise<ObservedWorkload> {
    const bound = pods.filter(isBound).length;
    const running = pods.filter(isRunning).length;
    const pending = pods.find((p) => !isBound(p));
    let message = pending ? schedulingMessage(pending) : undefined;
    if (pods.length < expected) {
        message = (await creationFailures(kube, o.metadata.namespace ?? "default", [o.metadata.name])) ?? message;
    }
    return { kind: o.kind, namespace: o.metadata.namespace ?? "default", name: o.metadata.name, expectedPods: expected, pods: pods.length, bound, running, ...(message ? { message } : {}) };
}

/** Settled: every pod exists and is running, or is marked unschedulable by the scheduler. */
function settled(expected: number, pods: KubeObject[]): boolean {
    if (pods.length < expected) return false;
    return pods.every((p) => isRunning(p) || schedulingMessage(p) !== undefined);
}

async function listPods(kube: Kube, namespace: string, selector: string): Promise<KubeObject[]> {
    const pods = await kube.list("v1", "Pod", namespace, `?labelSelector=${encodeURIComponent(selector)}`);
    return pods.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
}

export interface RunOptions {
    stack: string;
    plan: PlanFiles;
    /** Use this control plane instead of starting one per pass (an existing cluster). */
    controlPlane?: () => Promise<ControlPlane>;
    log?: (line: string) => void;
    settleSeconds?: number;
}

function nodeCounts(pools: ConformancePool[], summary: PlanFiles["summary"], scale: Scale): Record<string, number> {
    const perPool: { pool: string; nodesMin: number }[] = summary.cost?.perPool ?? [];
    return Object.fromEntries(pools.map((p) => [p.name, scale === "max" ? p.maxSize : Math.max(p.minSize, perPool.find((x) => x.pool === p.name)?.nodesMin ?? p.minSize)]));
}

function zonesOf(resources: RecordedResource[]): string[] {
    const vpc = resources.find((r) => r.type === "awsx:ec2:Vpc");
    return (vpc?.inputs.availabilityZoneNames as string[] | undefined) ?? [];
}

async function applyAll(kube: Kube, objects: KubeObject[], rejected: PassResult["rejected"], log: (l: string) => void): Promise<number> {
    let applied = 0;
    for (const o of objects) {
        try {
            await kube.apply(o);
            applied++;
        } catch (e) {
            const message = e instanceof KubeError ? `${e.status} ${e.reason}: ${e.message}` : (e as Error).message;
            rejected.push({ object: id(o), message });
            log(`  rejected ${id(o)}: ${message}`);
        }
    }
    return applied;
}

async function runPass(cp: ControlPlane, opts: RunOptions, scale: Scale): Promise<PassResult> {
    const started = Date.now();
    const { kube } = cp;
    const log = opts.log ?? (() => undefined);
    const { plan } = opts;
    const runId = `${opts.stack}-${scale}`;
    const pools = poolsOf(plan.resources);
    const counts = nodeCounts(pools, plan.summary, scale);
    const zones = zonesOf(plan.resources);
    const region = String(plan.summary.region ?? "");
    const kubeletVersion = cp.versions.apiserver ?? cp.versions.kubernetes;

    // Nodes first, Ready and without the not-ready taint, so nothing is judged against a half-made pool.
    const nodes = pools.flatMap((p) => kwokNodes(p, counts[p.name], zones, region, runId, kubeletVersion));
    for (const n of nodes) await kube.create(n);
    await waitForReadyNodes(kube, `${CONFORMANCE_LABEL}=${runId}`, nodes.length);
    log(`  ${scale}: ${nodes.length} nodes Ready (${Object.entries(counts).map(([p, n]) => `${p} ${n}`).join(", ")})`);

    const rejected: PassResult["rejected"] = [];
    const chartDaemonSets = plan.resources.flatMap((r) => efaDevicePluginLoad(r.type, r.inputs) ?? []);
    let applied = await applyAll(kube, eksSystemDaemonSets(runId, chartDaemonSets), rejected, log);

    // Objects remote components would have installed first: the operator's namespace and CRDs.
    const pyTorchJobs = plan.objects.filter((o) => o.kind === "PyTorchJob");
    const namespaces = new Set(plan.objects.filter((o) => o.kind === "Namespace").map((o) => o.metadata.name));
    const foreignNamespaces = [...new Set(plan.objects.map((o) => o.metadata.namespace).filter((ns): ns is string => !!ns && !namespaces.has(ns)))].filter(
        (ns) => !["default", "kube-system", "kube-public", "kube-node-lease"].includes(ns),
    );
    for (const ns of foreignNamespaces) {
        applied += await applyAll(kube, [{ apiVersion: "v1", kind: "Namespace", metadata: { name: ns, labels: { [CONFORMANCE_LABEL]: runId } } }], rejected, log);
    }
    if (pyTorchJobs.length > 0) {
        const tag = trainingOperatorTag(plan.resources);
        if (!tag) {
            rejected.push({ object: "PyTorchJob CRD", message: "the stack has PyTorchJobs but no training-operator kustomize Directory with a ?ref= tag to take the CRD from" });
        } else {
            applied += await applyAll(kube, trainingOperatorCrds(tag), rejected, log);
            await waitFor("the PyTorchJob CRD to be served", 30_000, async () => {
                try {
                    await kube.resourceFor("kubeflow.org/v1", "PyTorchJob", true);
                    return true;
                } catch {
                    return undefined;
                }
            });
        }
    }

    if (plan.objects.some((o) => o.apiVersion === "karpenter.sh/v1" || o.apiVersion === "karpenter.k8s.aws/v1")) {
        const version = karpenterVersion(plan.resources);
        if (!version) {
            rejected.push({ object: "Karpenter CRDs", message: "the stack has NodePools but no Karpenter Helm release whose chart version names the CRDs" });
        } else {
            applied += await applyAll(kube, karpenterCrds(version), rejected, log);
            for (const [apiVersion, kind] of [["karpenter.sh/v1", "NodePool"], ["karpenter.k8s.aws/v1", "EC2NodeClass"]]) {
                await waitFor(`the ${kind} CRD to be served`, 30_000, async () => {
                    try {
                        await kube.resourceFor(apiVersion, kind, true);
                        return true;
                    } catch {
                        return undefined;
                    }
                });
            }
        }
    }

    // The chart installs the Prometheus operator's CRDs; here they come from the operator's Go module.
    const monitoringObjects = plan.objects.filter((o) => o.apiVersion.startsWith(`${MONITORING_API_GROUP}/`));
    if (monitoringObjects.length > 0) {
        try {
            applied += await applyAll(kube, prometheusOperatorCrds(prometheusOperatorVersion(plan.resources), monitoringObjects.map((o) => o.kind)), rejected, log);
            for (const o of monitoringObjects) {
                await waitFor(`the ${o.kind} CRD to be served`, 30_000, async () => {
                    try {
                        await kube.resourceFor(o.apiVersion, o.kind, true);
                        return true;
                    } catch {
                        return undefined;
                    }
                });
            }
        } catch (e) {
            rejected.push({ object: `${MONITORING_API_GROUP} CRDs`, message: (e as Error).message });
        }
    }

    // Argo's CRDs, which its chart's install Job would apply: the full ones, so strict validation has a schema to check against.
    const argoKinds = plan.objects.some((o) => o.apiVersion === "argoproj.io/v1alpha1");
    const argo = argoRelease(plan.resources);
    if (argoKinds) {
        if (!argo) {
            rejected.push({ object: "Argo CRDs", message: "the stack has Argo objects but no argo-workflows Helm release with an image tag to take the CRDs from" });
        } else {
            applied += await applyAll(kube, argoCrds(argo.tag), rejected, log);
            await waitFor("the Argo CRDs to be served", 30_000, async () => {
                try {
                    await kube.resourceFor("argoproj.io/v1alpha1", "WorkflowTemplate", true);
                    await kube.resourceFor("argoproj.io/v1alpha1", "CronWorkflow", true);
                    return true;
                } catch {
                    return undefined;
                }
            });
        }
    }

    // Kueue's real CRDs, so the plan's queues are validated by them (the chart would install them).
    const kueue = kueueTag(plan.resources);
    const kueueConfig = kueue ? kueueManagerConfigOf(plan.resources) : undefined;
    // Its real manager when it was built and can run here (REAL_KUEUE_NOTE); else the stand-in admission below.
    const realKueue = kueue && kueueConfig && realKueueUnavailable(cp.bin, kueue) === undefined;
    // Kueue's pod webhook, stood in: step pods in these namespaces are created gated (see kueue.ts).
    const podNamespaces = kueue ? kueuePodNamespaces(plan.resources) : undefined;
    if (kueue) {
        applied += await applyAll(kube, kueueCrds(kueue), rejected, log);
        await waitFor("Kueue's CRDs to be served", 30_000, async () => {
            try {
                await kube.resourceFor("kueue.x-k8s.io/v1beta2", "ClusterQueue", true);
                await kube.resourceFor("kueue.x-k8s.io/v1beta2", "WorkloadPriorityClass", true);
                await kube.resourceFor("kueue.x-k8s.io/v1beta2", "Workload", true);
                return true;
            } catch {
                return undefined;
            }
        });
        if (realKueue) {
            await startRealKueue(cp, kueueConfig, await freePort());
            log(`  ${scale}: Kueue ${kueue}'s manager is running`);
        }
    }

    const hpas = plan.objects.filter((o) => o.kind === "HorizontalPodAutoscaler");
    const storageClasses = plan.objects.filter((o) => o.kind === "StorageClass");
    for (const o of plan.objects) {
        if (o.kind === "PersistentVolumeClaim") {
            // The volume first, pre-bound to the claim, as a provisioner's would be once the claim exists.
            const sc = storageClasses.find((s) => s.metadata.name === o.spec?.storageClassName);
            await applyAll(kube, [volumeForClaim(o, sc, runId)], rejected, log);
        }
        const before = rejected.length;
        applied += await applyAll(kube, [o], rejected, log);
        if (rejected.length > before) continue;
        if (o.kind === "PersistentVolumeClaim") {
            {
                // Pods that mount an unbound claim are unschedulable; the PV controller binds within seconds.
                await waitFor(`claim ${o.metadata.namespace}/${o.metadata.name} to be Bound`, 30_000, async () => {
                    const live = await kube.get("v1", "PersistentVolumeClaim", o.metadata.namespace, o.metadata.name);
                    return live?.status?.phase === "Bound" || undefined;
                });
            }
        }
        if (o.kind === "Deployment" && desiredReplicas(o, hpas, scale).hpa) {
            const { replicas } = desiredReplicas(o, hpas, scale);
            await kube.mergePatch("apps/v1", "Deployment", o.metadata.namespace, o.metadata.name, { spec: { replicas } }, "scale");
        }
        if (o.kind === "WorkflowTemplate" && scale === "max" && argo) {
            const image = ARGO_EXECUTOR_IMAGE.replace(/:[^:]+$/, `:${argo.tag}`);
            for (const pod of workflowRunPods(o, { image, ...argo.executor })) {
                try {
                    await kube.create(podNamespaces ? gateForKueue(pod, podNamespaces) : pod);
                } catch (e) {
                    rejected.push({ object: `Pod ${pod.metadata.namespace}/${pod.metadata.name} (of ${id(o)})`, message: (e as Error).message });
                }
            }
        }
        if (o.kind === "PyTorchJob" && !kueue) {
            await createOperatorPods(kube, o, rejected);
        }
    }
    log(`  ${scale}: applied ${applied} objects${rejected.length ? `, ${rejected.length} rejected` : ""}`);

    // Kueue's admission: its real manager unsuspends what it admits (the operator stand-in then makes a
    // PyTorchJob's pods and reports it Running); without it, the stand-in unsuspends the jobs the planner
    // admits at hour 0. Either way the planner's queue order is what the verdicts below hold Kubernetes to.
    const admission = kueue ? standInAdmission(plan.objects, plan.resources) : undefined;
    const queued = new Set<string>();
    if (admission) {
        const jobOf = (name: string) => plan.objects.find((x) => (x.kind === "Job" || x.kind === "PyTorchJob") && x.metadata.name === name);
        const live = (name: string) => {
            const o = jobOf(name);
            return o && !rejected.some((r) => r.object === id(o)) ? o : undefined;
        };
        if (realKueue) {
            const all = [...admission.admitNow, ...admission.waiting].map((s) => s.job).filter((j) => live(j));
            const expectNow = new Set(admission.admitNow.map((s) => s.job).filter((j) => live(j)));
            const admitted = new Set<string>();
            // blockAdmission: Kueue admits the next job once the last one's pods are ready; kwok readies pods in seconds.
            // Done when the planner's hour-0 jobs are all admitted, or when Kueue has admitted nothing more for 20 s.
            const deadline = Date.now() + 120_000;
            let lastChange = Date.now();
            while (Date.now() < deadline && Date.now() - lastChange < 20_000 && [...expectNow].some((j) => !admitted.has(j))) {
                for (const name of all.filter((j) => !admitted.has(j))) {
                    const o = live(name)!;
                    const now = await kube.get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name);
                    const suspended = o.kind === "Job" ? now?.spec?.suspend === true : now?.spec?.runPolicy?.suspend === true;
                    if (now && !suspended) {
                        admitted.add(name);
                        lastChange = Date.now();
                        if (o.kind === "PyTorchJob") {
                            await createOperatorPods(kube, o, rejected);
                            await kube.mergePatch(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name, pyTorchJobRunningStatus(now, new Date().toISOString()), "status");
                        }
                    }
                }
                await sleep(1000);
            }
            log(`  ${scale}: Kueue admitted ${[...admitted].join(", ") || "nothing"}; the planner admits at hour 0: ${[...expectNow].join(", ") || "nothing"}`);
            for (const name of [...expectNow].filter((j) => !admitted.has(j))) {
                // Why not, in Kueue's own words: its Workload's conditions (or that it made none).
                const o = live(name)!;
                const workloads = (await kube.list("kueue.x-k8s.io/v1beta2", "Workload", o.metadata.namespace)).filter((w) => (w.metadata.ownerReferences ?? []).some((r: { name?: string }) => r.name === name));
                const why = workloads.flatMap((w) => (w.status?.conditions ?? []).map((c: { type: string; status: string; message?: string }) => `${c.type}=${c.status}${c.message ? ` (${c.message})` : ""}`));
                log(`  ${scale}: Kueue did not admit ${name}: ${workloads.length === 0 ? "it made no Workload for it" : why.join("; ") || "its Workload has no conditions yet"}`);
            }
        } else {
            for (const step of admission.admitNow) {
                const o = live(step.job);
                if (!o) continue;
                await kube.mergePatch(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name, unsuspendPatch(o.kind));
                if (o.kind === "PyTorchJob") await createOperatorPods(kube, o, rejected);
            }
            log(`  ${scale}: Kueue stand-in admitted ${admission.admitNow.filter((s) => live(s.job)).map((s) => s.job).join(", ") || "nothing"}`);
        }
        const isJob = (name: string) => plan.objects.some((x) => (x.kind === "Job" || x.kind === "PyTorchJob") && x.metadata.name === name);
        for (const w of [...admission.waiting.map((s) => s.job), ...admission.never.map((n) => n.job)].filter(isJob)) queued.add(w);
        if (queued.size) log(`  ${scale}: still queued, as the planner says: ${[...queued].join(", ")}`);
        if (podNamespaces && scale === "max") {
            // Step pods: the scheduler must have left every gated pod alone; then Kueue's admission ungates them.
            const admitted = new Set([...admission.admitNow, ...admission.waiting].map((s) => s.job));
            const gated = (await kube.list("v1", "Pod")).filter(isGatedByKueue);
            const still: string[] = [];
            for (const pod of gated) {
                const name = `Pod ${pod.metadata.namespace}/${pod.metadata.name}`;
                if (pod.spec?.nodeName) {
                    rejected.push({ object: name, message: `bound to ${pod.spec.nodeName} while it still carried Kueue's admission gate` });
                }
                const labels: Record<string, string> = pod.metadata.labels ?? {};
                if (admitted.has(stepJobName(labels[PIPELINE_LABEL] ?? "", labels[PIPELINE_STEP_LABEL] ?? ""))) {
                    await kube.mergePatch("v1", "Pod", pod.metadata.namespace, pod.metadata.name, ungatePatch(pod));
                } else {
                    const never = admission.never.find((n) => n.job === stepJobName(labels[PIPELINE_LABEL] ?? "", labels[PIPELINE_STEP_LABEL] ?? ""));
                    still.push(`${pod.metadata.name}${never ? ` (Kueue would never admit it: it ${never.reason})` : ""}`);
                }
            }
            log(`  ${scale}: Kueue stand-in gated ${gated.length} pipeline step pod(s) and admitted ${gated.length - still.length}${still.length ? `; never admitted, still gated: ${still.join(", ")}` : ""}`);
        }
    }

    const rejectedIds = new Set(rejected.map((r) => r.object));
    // A pipeline runs only on the maximum pass (see argoStandIn.ts); a job still in its queue has no pods by design (checked below).
    const workloads = plan.objects.filter((o) => WORKLOAD_KINDS.has(o.kind) && (o.kind !== "WorkflowTemplate" || scale === "max") && !queued.has(o.metadata.name));
    // A workload the API server refused has nothing to wait for.
    const waitable = workloads.filter((o) => !rejectedIds.has(id(o)));
    const expected = new Map(workloads.map((o) => [id(o), expectedPodsOf(o, hpas, scale)]));
    const gpuDaemonSets = plan.objects.filter((o) => o.kind === "DaemonSet" && NVIDIA_DAEMONSETS.includes(`${o.metadata.namespace}/${o.metadata.name}`));
    const gpuNodes = nodes.filter((n) => Number(n.status.capacity["nvidia.com/gpu"] ?? 0) > 0).map((n) => n.metadata.name);
    const allNodes = nodes.map((n) => n.metadata.name);

    // Let the controllers and the scheduler work until every pod runs or is marked unschedulable.
    const deadline = Date.now() + (opts.settleSeconds ?? 60) * 1000;
    // Settled twice in a row, a second apart: a pod marked unschedulable may still be retried once the
    // objects it waited for (a claim, a freed node) change.
    let calm = 0;
    while (calm < 2 && Date.now() < deadline) {
        let all = true;
        for (const o of waitable) {
            const pods = await listPods(kube, o.metadata.namespace ?? "default", selectorOf(o));
            // Fewer pods than asked is final once the controller reports why it cannot create them.
            all &&= settled(expected.get(id(o))!, pods) || (pods.length < expected.get(id(o))! && (await creationFailures(kube, o.metadata.namespace ?? "default", [o.metadata.name])) !== undefined);
        }
        for (const o of gpuDaemonSets) {
            if (rejectedIds.has(id(o))) continue;
            // The DaemonSet controller's own target: the nodes its tolerations and node selection admit.
            const live = await kube.get("apps/v1", "DaemonSet", o.metadata.namespace, o.metadata.name);
            const desired = live?.status?.observedGeneration ? Number(live.status.desiredNumberScheduled ?? 0) : gpuNodes.length;
            all &&= settled(desired, await listPods(kube, o.metadata.namespace ?? "default", selectorOf(o)));
        }
        calm = all ? calm + 1 : 0;
        await sleep(calm > 0 ? 1000 : 500);
    }

    const planWorkloads: PlanWorkload[] = [
        ...(plan.summary.workloads ?? []),
        ...((plan.summary.pipelines ?? []) as { name: string; namespace: string; schedulable: boolean; reason?: string }[]).map((p) => ({
            kind: "WorkflowTemplate",
            namespace: p.namespace,
            name: p.name,
            schedulable: p.schedulable,
            ...(p.reason ? { reason: p.reason } : {}),
        })),
    ];
    const verdicts: WorkloadVerdict[] = [];
    for (const o of workloads) {
        const pods = await listPods(kube, o.metadata.namespace ?? "default", selectorOf(o));
        const observed = await observe(kube, o, expected.get(id(o))!, pods);
        const planned = planWorkloads.find((w) => w.kind === o.kind && w.namespace === (o.metadata.namespace ?? "default") && w.name === o.metadata.name);
        verdicts.push(
            compareWorkload(planned ?? { kind: o.kind, namespace: o.metadata.namespace ?? "default", name: o.metadata.name, schedulable: false, reason: "not in the plan's summary" }, observed, scale),
        );
    }
    const daemonSets: DaemonSetCheck[] = [];
    for (const ds of gpuDaemonSets) {
        const pods = await listPods(kube, ds.metadata.namespace ?? "default", selectorOf(ds));
        const pending = pods.map(schedulingMessage).find((m) => m !== undefined);
        let why = pending;
        if (!why) {
            const live = await kube.get("apps/v1", "DaemonSet", ds.metadata.namespace, ds.metadata.name);
            const desired = Number(live?.status?.desiredNumberScheduled ?? 0);
            if (desired < gpuNodes.length) why = `the DaemonSet controller wants pods on ${desired} node(s): its tolerations or node selection leave the other GPU nodes out`;
        }
        daemonSets.push(checkGpuDaemonSet(id(ds), pods, gpuNodes, allNodes, why));
    }
    for (const name of queued) {
        const o = plan.objects.find((x) => (x.kind === "Job" || x.kind === "PyTorchJob") && x.metadata.name === name)!;
        const live = await kube.get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name);
        const suspended = o.kind === "Job" ? live?.spec?.suspend === true : live?.spec?.runPolicy?.suspend === true;
        const pods = await listPods(kube, o.metadata.namespace ?? "default", selectorOf(o));
        // A job no queue can ever admit waits forever: that is a failure whatever the plan said.
        const never = admission?.never.find((n) => n.job === name);
        const agrees = !never && suspended && pods.length === 0;
        const detail = `${suspended ? "suspended" : "NOT suspended"}, ${pods.length} pods${never ? `; Kueue would never admit it: it ${never.reason}` : ""}`;
        verdicts.push({ workload: id(o), scale, planned: true, plannedReason: "waits in its Kueue queue", observed: false, observedDetail: detail, agrees, queued: true });
    }
    return { scale, nodes: counts, applied, rejected, workloads: verdicts, daemonSets, seconds: Math.round((Date.now() - started) / 100) / 10 };
}

/** The training operator stands in: the pods it would make for a PyTorchJob (once Kueue admitted it). */
async function createOperatorPods(kube: Kube, o: KubeObject, rejected: PassResult["rejected"]): Promise<void> {
    const live = await kube.get(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name);
    for (const pod of pyTorchJobPods(live ?? o, String(live?.metadata.uid ?? ""))) {
        try {
            await kube.create(pod);
        } catch (e) {
            rejected.push({ object: `Pod ${pod.metadata.namespace}/${pod.metadata.name} (of ${id(o)})`, message: (e as Error).message });
        }
    }
}

const NOT_COVERED = [
    "AWS itself (VPC, EKS control plane, IAM, EFS, node groups): only their Kubernetes side is modelled",
    "Helm releases (kube-prometheus-stack, prometheus-adapter, Cluster Autoscaler, Kueue): recorded with their values, not rendered, so their pods are not created",
    "the training operator's own Deployment (a remote kustomize overlay): its DeploymentPatch in manifests/patches.yaml is not applied",
    "kubelets and containers: kwok marks bound pods Running; images are not pulled, probes do not run",
    "Argo's controller itself (a Helm release): Workflows are not run step by step, gates are not evaluated, CronWorkflow schedules never fire",
];

/** Whether the run used Kueue's real manager (and how) or stood in for it, with the reason. */
function kueueNotes(opts: RunOptions): string[] {
    const tag = kueueTag(opts.plan.resources);
    if (!tag) return [];
    const why = kueueManagerConfigOf(opts.plan.resources) ? realKueueUnavailable(opts.controlPlane ? undefined : controlPlaneBinaries({ quiet: true }), tag) : "the plan's Kueue release carries no managerConfig";
    return [why === undefined ? REAL_KUEUE_NOTE(tag) : `${KUEUE_STAND_IN_NOTE} Here the real manager did not run: ${why}.`, ...(kueuePodNamespaces(opts.plan.resources) ? [KUEUE_POD_STAND_IN_NOTE] : [])];
}

/** Deletes the plan's objects (reverse apply order), the stand-ins and the kwok nodes of a run. */
async function removeWhatTheRunMade(kube: Kube, plan: PlanFiles, runId: string, log: (l: string) => void): Promise<void> {
    const labelled = `?labelSelector=${encodeURIComponent(`${CONFORMANCE_LABEL}=${runId}`)}`;
    for (const o of [...plan.objects].reverse()) {
        try {
            await kube.delete(o.apiVersion, o.kind, o.metadata.namespace, o.metadata.name);
        } catch (e) {
            log(`  cleanup: ${id(o)}: ${(e as Error).message}`);
        }
    }
    for (const [apiVersion, kind] of [["apps/v1", "DaemonSet"], ["v1", "PersistentVolume"], ["v1", "Namespace"], ["v1", "Node"]] as const) {
        for (const o of await kube.list(apiVersion, kind, kind === "DaemonSet" ? "kube-system" : undefined, labelled)) {
            await kube.delete(apiVersion, kind, o.metadata.namespace, o.metadata.name);
        }
    }
}

export async function runConformance(opts: RunOptions): Promise<ConformanceResult> {
    const log = opts.log ?? (() => undefined);
    const passes: PassResult[] = [];
    let versions: Record<string, string> = {};
    // A fresh control plane per pass; an existing cluster gets one pass, then everything the run made goes.
    const scales: Scale[] = opts.controlPlane ? ["max"] : ["max", "min"];
    for (const scale of scales) {
        const cp = await (opts.controlPlane ?? (() => startControlPlane({ log })))();
        try {
            versions = cp.versions;
            passes.push(await runPass(cp, opts, scale));
        } finally {
            if (opts.controlPlane) await removeWhatTheRunMade(cp.kube, opts.plan, `${opts.stack}-${scale}`, log);
            await cp.stop();
        }
    }
    const failures: string[] = [];
    for (const p of passes) {
        for (const r of p.rejected) failures.push(`${p.scale}: the API server rejected ${r.object}: ${r.message}`);
        for (const w of p.workloads) {
            if (!w.agrees) {
                failures.push(
                    `${p.scale}: ${w.workload}: the plan says ${w.planned ? "schedulable" : `unschedulable (${w.plannedReason ?? "no reason"})`}, Kubernetes ${w.observed ? "ran it" : "did not"} (${w.observedDetail})`,
                );
            } else if (!w.observed && !w.queued) {
                failures.push(`${p.scale}: ${w.workload} does not run (as the plan says: ${w.plannedReason ?? "unschedulable"}); Kubernetes: ${w.observedDetail}`);
            }
        }
        for (const d of p.daemonSets) for (const problem of d.problems) failures.push(`${p.scale}: ${d.daemonSet}: ${problem}`);
    }
    return {
        stack: opts.stack,
        versions,
        passes,
        standIns: [STAND_IN_NOTES.eksDaemonSets, STAND_IN_NOTES.efs, STAND_IN_NOTES.hpa, ...(opts.plan.objects.some((o) => o.kind === "PyTorchJob") ? [STAND_IN_NOTES.trainingOperator] : []),
            ...(opts.plan.resources.some((r) => efaDevicePluginLoad(r.type, r.inputs)) ? [STAND_IN_NOTES.efaDevicePlugin] : []),
            ...(opts.plan.objects.some((o) => o.apiVersion.startsWith(`${MONITORING_API_GROUP}/`)) ? [STAND_IN_NOTES.prometheusOperator] : []),
            ...(karpenterVersion(opts.plan.resources) ? [STAND_IN_NOTES.karpenter] : []),
            ...(opts.plan.objects.some((o) => o.kind === "WorkflowTemplate") ? [ARGO_STAND_IN_NOTE] : []),
            ...kueueNotes(opts),
            ...(poolsOf(opts.plan.resources).some((p) => sharingFromLabels(p.labels) !== undefined) ? [STAND_IN_NOTES.gpuSharing] : []),
        ],
        notCovered: NOT_COVERED,
        failures,
        ok: failures.length === 0,
    };
}
