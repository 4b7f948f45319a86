/**
 * Kueue in the conformance run. Its real CRDs (from the sigs.k8s.io/kueue Go module at the pinned tag)
 * validate the plan's ResourceFlavors, ClusterQueues, LocalQueues and WorkloadPriorityClasses with strict
 * field validation. Its controller stands in: admission follows the planner's own quota arithmetic
 * (capacity/admission.ts), and the run unsuspends exactly the jobs admitted at hour 0, as Kueue would;
 * the others stay suspended with no pods. Pure builders here; conformance/run.ts applies them.
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
    "Kueue's controller stands in: its real CRDs (sigs.k8s.io/kueue at the chart's tag) validate the flavors, queues and priority classes, and admission follows the planner's quota arithmetic (capacity/admission.ts): the run unsuspends the jobs admitted at hour 0 and leaves the rest suspended. " +
    "Pipeline step pods (Kueue's plain-Pod integration) stand in the same way: the run does what Kueue's pod webhook does (the kueue.x-k8s.io/admission scheduling gate and the managed label, only in the namespaces the plan's managedJobsNamespaceSelector names; no finalizer), checks that the real scheduler leaves the gated pods alone, and removes the gate from every step the planner's admission admits (the Argo stand-in creates all steps at once, so a step admitted after its dependencies is ungated too). " +
    "The real controller is not run, for two reasons: its build (a trial `go install sigs.k8s.io/kueue/cmd/kueue@v0.17.0` here was still compiling after 17 minutes on the shared 2-core machine, beyond the cold build's ~15-minute budget), and its TLS: v0.17.0 either bootstraps certificates into its webhook configurations and Service (internalCertManagement) or reads metrics certificates from the fixed path /etc/kueue/metrics/certs (cmd/kueue/main.go), which an out-of-cluster process on loopback would have to be given. Not exercised here: Kueue's own admission, waitForPodsReady eviction and requeueing.";

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

export function standInAdmission(objects: KubeObject[]): StandInAdmission | undefined {
    const resources = asResources(objects);
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
