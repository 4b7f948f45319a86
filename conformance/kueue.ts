/**
 * Kueue in the conformance run. Its real CRDs (from the sigs.k8s.io/kueue Go module at the pinned tag)
 * validate the plan's ResourceFlavors, ClusterQueues, LocalQueues and WorkloadPriorityClasses with strict
 * field validation, and its real manager (built by build-control-plane.sh) admits the jobs; the run holds
 * it to the planner's own admission order (capacity/admission.ts: admitted at hour 0, or waiting, with no
 * pods). Where the manager cannot run, admission stands in: the run unsuspends exactly the jobs the
 * planner admits at hour 0. Builders here; conformance/run.ts applies them.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadAll } from "js-yaml";
import { admissionVerdicts, AdmissionStep, kueueViewOf, simulateAdmission, trainingJobsOf } from "../capacity/admission";
import { pipelineStepJobs } from "../capacity/pipelineQueueing";
import { KUEUE_ADMISSION_GATE, KUEUE_MANAGED_LABEL, KUEUE_POD_FRAMEWORK, KUEUE_QUEUE_LABEL } from "../facts/kueue";
import type { KubeObject } from "./kube";
import type { RecordedResource } from "./nodes";

const KUEUE_MODULE = "sigs.k8s.io/kueue";
const KUEUE_CHART = /\/kueue\/charts\/kueue$/;

export const KUEUE_STAND_IN_NOTE =
    "Kueue's controller stands in: its real CRDs (sigs.k8s.io/kueue at the chart's tag) validate the flavors, queues and priority classes, and admission follows the planner's quota arithmetic (capacity/admission.ts): the run unsuspends the jobs admitted at hour 0 and leaves the rest suspended. Not exercised then: Kueue's own admission, waitForPodsReady eviction and requeueing.";

/**
 * Pipeline step pods go through Kueue's plain-Pod integration, which starts at its pod webhook; the
 * webhook is not registered here (see REAL_KUEUE_NOTE), so this part stands in even beside the real manager.
 */
export const KUEUE_POD_STAND_IN_NOTE =
    "Pipeline step pods (Kueue's plain-Pod integration) stand in: the run does what Kueue's pod webhook does (the kueue.x-k8s.io/admission scheduling gate and the managed label, only in the namespaces the plan's managedJobsNamespaceSelector names; no finalizer), checks that the real scheduler leaves the gated pods alone, and removes the gate from every step the planner's admission admits (the Argo stand-in creates all steps at once, so a step admitted after its dependencies is ungated too). The real Kueue manager, when it runs, is given no pod integration for this reason.";

/** The Kueue tag of the plan's Helm release (chart version 0.17.0 -> v0.17.0), if the stack installs Kueue. */
export function kueueTag(resources: { type: string; inputs: Record<string, unknown> }[]): string | undefined {
    const release = resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && KUEUE_CHART.test(String(r.inputs.chart ?? "")));
    return release ? `v${String(release.inputs.version)}` : undefined;
}

/** Kueue's own CRDs at that tag, from its Go module (config/components/crd/bases). */
export function kueueCrds(tag: string): KubeObject[] {
    const out = spawnSync("go", ["mod", "download", "-json", `${KUEUE_MODULE}@${tag}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (out.status !== 0) {
        throw new Error(`could not fetch ${KUEUE_MODULE}@${tag} from the Go module proxy for its CRDs:\n${out.stderr || out.stdout}`);
    }
    const dir = path.join(JSON.parse(out.stdout).Dir as string, "config", "components", "crd", "bases");
    return fs
        .readdirSync(dir)
        .filter((f) => f.endsWith(".yaml"))
        .sort()
        .flatMap((f) => loadAll(fs.readFileSync(path.join(dir, f), "utf8")))
        .filter((d): d is KubeObject => !!d && typeof d === "object");
}

/** The plan's objects as the admission functions read them (a registered type per object). */
function asResources(objects: KubeObject[]): { type: string; name: string; props: Record<string, unknown> }[] {
    return objects.map((o) => ({ type: `kubernetes:${o.apiVersion}:${o.kind}`, name: o.metadata.name, props: o as unknown as Record<string, unknown> }));
}

export interface StandInAdmission {
    /** Jobs Kueue would admit now (hour 0): the run unsuspends them. */
    admitNow: AdmissionStep[];
    /** Jobs that wait their turn: they stay suspended, with no pods. */
    waiting: AdmissionStep[];
    /** Jobs no queue could ever admit, with why. */
    never: { job: string; reason: string }[];
}

/**
 * The planner's admission over the plan's objects, with the Kueue Helm release among `registered` (its
 * controller configuration says which resources Kueue ignores, capacity/admission.ts).
 */
export function standInAdmission(objects: KubeObject[], registered: { type: string; name: string; inputs: Record<string, unknown> }[] = []): StandInAdmission | undefined {
    const release = registered.filter((r) => r.type === "kubernetes:helm.sh/v3:Release" && KUEUE_CHART.test(String(r.inputs.chart ?? ""))).map((r) => ({ type: r.type, name: r.name, props: r.inputs }));
    const resources = [...asResources(objects), ...release];
    const view = kueueViewOf(resources);
    if (!view) {
        return undefined;
    }
    const verdicts = admissionVerdicts(view, [...trainingJobsOf(resources), ...pipelineStepJobs(resources)].filter((j) => j.localQueue !== undefined));
    const steps = simulateAdmission(view, verdicts);
    return {
        admitNow: steps.filter((s) => s.waitHours === 0),
        waiting: steps.filter((s) => s.waitHours > 0),
        never: verdicts.filter((v) => v.never !== undefined).map((v) => ({ job: v.job.name, reason: v.never! })),
    };
}

/**
 * The namespaces whose pods Kueue's plain-Pod integration manages, from the plan's Kueue release: its
 * managerConfig enables the "pod" framework and names the namespaces in managedJobsNamespaceSelector
 * (`kubernetes.io/metadata.name In [...]`, what components/kueue.ts renders). Undefined: no pod integration.
 */
export function kueuePodNamespaces(resources: { type: string; inputs: Record<string, unknown> }[]): string[] | undefined {
    const release = resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && KUEUE_CHART.test(String(r.inputs.chart ?? "")));
    const yaml = (release?.inputs.values as { managerConfig?: { controllerManagerConfigYaml?: string } } | undefined)?.managerConfig?.controllerManagerConfigYaml;
    if (!yaml) return undefined;
    const config = loadAll(yaml)[0] as { integrations?: { frameworks?: string[] }; managedJobsNamespaceSelector?: { matchExpressions?: { key: string; operator: string; values?: string[] }[] } };
    if (!(config.integrations?.frameworks ?? []).includes(KUEUE_POD_FRAMEWORK)) return undefined;
    const names = (config.managedJobsNamespaceSelector?.matchExpressions ?? []).find((e) => e.key === "kubernetes.io/metadata.name" && e.operator === "In");
    // Without that selector the pod integration would reach every namespace but kube-system and kueue-system:
    // the platform never renders that, and the stand-in refuses to guess.
    if (!names) throw new Error("Kueue's pod integration is enabled without a managedJobsNamespaceSelector naming its namespaces");
    return [...(names.values ?? [])];
}

/**
 * What Kueue's pod webhook (mpod.kb.io) does to a new pod: in a managed namespace, a pod with a queue label
 * gets the admission scheduling gate and the managed label. Pods elsewhere, or unlabelled, pass unchanged.
 */
export function gateForKueue(pod: KubeObject, podNamespaces: readonly string[]): KubeObject {
    const labels: Record<string, string> = pod.metadata.labels ?? {};
    if (!podNamespaces.includes(pod.metadata.namespace ?? "default") || labels[KUEUE_QUEUE_LABEL] === undefined) {
        return pod;
    }
    return {
        ...pod,
        metadata: { ...pod.metadata, labels: { ...labels, [KUEUE_MANAGED_LABEL]: "true" } },
        spec: { ...pod.spec, schedulingGates: [...(pod.spec?.schedulingGates ?? []), { name: KUEUE_ADMISSION_GATE }] },
    };
}

export function isGatedByKueue(pod: KubeObject): boolean {
    return ((pod.spec?.schedulingGates ?? []) as { name: string }[]).some((g) => g.name === KUEUE_ADMISSION_GATE);
}

/** The merge patch that admits a gated pod: its gates without Kueue's (Kueue removes only its own). */
export function ungatePatch(pod: KubeObject): Record<string, unknown> {
    return { spec: { schedulingGates: ((pod.spec?.schedulingGates ?? []) as { name: string }[]).filter((g) => g.name !== KUEUE_ADMISSION_GATE) } };
}

/** The merge patch that unsuspends a job, as Kueue's job reconciler does on admission. */
export function unsuspendPatch(kind: string): Record<string, unknown> {
    return kind === "Job" ? { spec: { suspend: false } } : { spec: { runPolicy: { suspend: false } } };
}

export type { RecordedResource };

/**
 * Kueue's own manager, run for real beside the control plane: the binary build-control-plane.sh built
 * from sigs.k8s.io/kueue at the pinned tag, with the plan's controller configuration (the Helm release's
 * managerConfig). Only what needs in-cluster plumbing changes (outOfClusterKueueConfig).
 */
export const REAL_KUEUE_NOTE = (tag: string) =>
    `Kueue runs for real: its manager ${tag}, built from sigs.k8s.io/kueue on the Go module proxy, runs on loopback with the plan's own controller configuration ` +
    "(the Helm release's managerConfig: its integrations, waitForPodsReady with blockAdmission, manageJobsWithoutQueueName), and admits, orders and unsuspends the jobs itself; " +
    "the run checks that it admits at once exactly the jobs the planner admits at hour 0 and leaves the rest suspended. " +
    "Out of a cluster it differs only where in-cluster plumbing is needed: no leader election; its metrics, health and on-demand visibility servers are off; " +
    "its webhooks are not registered with the API server (the jobs are created suspended, as the training-queued rule requires, so what its mutating webhook would do is already done, and no validating webhook judges the queues); " +
    "its webhook server serves the API server's throwaway certificate, and the metrics certificate it insists on reading from /etc/kueue/metrics/certs is given in a private mount namespace (unshare, with an overlay over /etc), never written to the host. " +
    "The training operator still stands in for PyTorchJobs: once Kueue unsuspends one, the run creates its pods and marks it Running, which Kueue's waitForPodsReady reads.";

/** A document of Kueue's own schema (its controller configuration, a Helm release's inputs) as plain data. */
type ConfigDoc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The controller configuration the plan's Kueue Helm release carries (values.managerConfig.controllerManagerConfigYaml). */
export function kueueManagerConfigOf(resources: { type: string; inputs: ConfigDoc }[]): ConfigDoc | undefined {
    const release = resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && KUEUE_CHART.test(String(r.inputs.chart ?? "")));
    const text = release?.inputs.values?.managerConfig?.controllerManagerConfigYaml;
    if (typeof text !== "string") return undefined;
    const [doc] = loadAll(text) as ConfigDoc[];
    return doc;
}

/** The plan's configuration, changed only where a manager outside any cluster must differ (see REAL_KUEUE_NOTE). */
export function outOfClusterKueueConfig(rendered: ConfigDoc, opts: { certDir: string; webhookPort: number }): ConfigDoc {
    const frameworks: string[] = rendered.integrations?.frameworks ?? [];
    return {
        ...rendered,
        // Its pod integration starts at the pod webhook, which is not registered here: pipeline pods stand in (KUEUE_POD_STAND_IN_NOTE).
        ...(rendered.integrations ? { integrations: { ...rendered.integrations, frameworks: frameworks.filter((f) => f !== KUEUE_POD_FRAMEWORK) } } : {}),
        leaderElection: { leaderElect: false },
        internalCertManagement: { enable: false },
        webhook: { ...(rendered.webhook ?? {}), port: opts.webhookPort, certDir: opts.certDir },
        metrics: { ...(rendered.metrics ?? {}), bindAddress: "0" },
        health: { ...(rendered.health ?? {}), healthProbeBindAddress: "0" },
        featureGates: { ...(rendered.featureGates ?? {}), VisibilityOnDemand: false },
    };
}

/** Why the real manager cannot run here (undefined: it can): no binary of the plan's tag, or no private mount namespace. */
export function realKueueUnavailable(bin: string | undefined, tag: string): string | undefined {
    if (!bin) return "the run is against an existing cluster (--kubeconfig), whose Kueue, if any, is its own";
    const built = fs.existsSync(path.join(bin, "kueue.ok")) ? fs.readFileSync(path.join(bin, "kueue.ok"), "utf8").trim() : undefined;
    if (!fs.existsSync(path.join(bin, "kueue")) || built !== tag) {
        return `no Kueue manager ${tag} in ${bin} (built: ${built ?? "none"}); run conformance/build-control-plane.sh`;
    }
    const probe = spawnSync("unshare", [...unshareFlags(), "true"], { encoding: "utf8" });
    if (probe.status !== 0) {
        return `no private mount namespace for its metrics certificate (unshare ${unshareFlags().join(" ")}: ${(probe.stderr || probe.error?.message || "").trim()})`;
    }
    return undefined;
}

/** A mount namespace of its own: as root directly, otherwise inside a user namespace. */
function unshareFlags(): string[] {
    return process.getuid?.() === 0 ? ["-m"] : ["-U", "-r", "-m"];
}

/**
 * Starts the manager and resolves once it runs its controllers (its "Starting manager" line), or throws
 * with its last log lines. The webhook port is free on loopback; the certificate is the API server's.
 */
export async function startRealKueue(
    cp: { dir: string; kubeconfig: string; bin?: string; spawn?: (name: string, command: string, args: string[], env?: NodeJS.ProcessEnv) => import("child_process").ChildProcess; tail(c: string, n?: number): string },
    rendered: ConfigDoc,
    webhookPort: number,
): Promise<void> {
    if (!cp.bin || !cp.spawn) throw new Error("the real Kueue manager needs the run's own control plane");
    const dir = path.join(cp.dir, "kueue");
    for (const d of ["certs", "upper", "work"]) fs.mkdirSync(path.join(dir, d), { recursive: true });
    fs.copyFileSync(path.join(cp.dir, "certs", "apiserver.crt"), path.join(dir, "certs", "tls.crt"));
    fs.copyFileSync(path.join(cp.dir, "certs", "apiserver.key"), path.join(dir, "certs", "tls.key"));
    const config = path.join(dir, "config.yaml");
    fs.writeFileSync(config, JSON.stringify(outOfClusterKueueConfig(rendered, { certDir: path.join(dir, "certs"), webhookPort }), null, 2));
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const script = [
        `mount -t overlay overlay -o ${q(`lowerdir=/etc,upperdir=${dir}/upper,workdir=${dir}/work`)} /etc`,
        "mkdir -p /etc/kueue/metrics/certs",
        `cp ${q(path.join(dir, "certs", "tls.crt"))} ${q(path.join(dir, "certs", "tls.key"))} /etc/kueue/metrics/certs/`,
        `exec ${q(path.join(cp.bin, "kueue"))} --config=${q(config)}`,
    ].join(" && ");
    const child = cp.spawn("kueue", "unshare", [...unshareFlags(), "bash", "-c", script], { ...process.env, KUBECONFIG: cp.kubeconfig });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
        if (child.exitCode !== null || child.signalCode !== null) {
            throw new Error(`Kueue's manager exited (${child.exitCode ?? child.signalCode}):\n${cp.tail("kueue", 15)}`);
        }
        if (cp.tail("kueue", 200).includes('"msg":"Starting manager"')) return;
        await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`Kueue's manager did not start within 60 s:\n${cp.tail("kueue", 15)}`);
}

/** What the training operator would write once a PyTorchJob's pods run: Kueue's waitForPodsReady reads it. */
export function pyTorchJobRunningStatus(o: KubeObject, now: string): Record<string, unknown> {
    const replicas = Object.fromEntries(Object.entries((o.spec?.pytorchReplicaSpecs ?? {}) as Record<string, { replicas?: number }>).map(([role, r]) => [role, { active: r.replicas ?? 1 }]));
    return { status: { conditions: [{ type: "Running", status: "True", reason: "PyTorchJobRunning", message: "the conformance run's stand-in operator created the pods", lastUpdateTime: now, lastTransitionTime: now }], replicaStatuses: replicas } };
}
