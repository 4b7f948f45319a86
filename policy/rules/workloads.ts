/**
 * Workloads: pinned images and charts, sized containers, model servers that survive their own model
 * load and node drains, bounded training runs, and no public load balancers.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { DEFAULT_PROD_MIN_REPLICAS, replicaBoundProblems } from "../../capacity/limits";
import { LOAD_HEADROOM, MODEL_LOAD_ANNOTATION } from "../../facts/serving";
import { SAFE_TO_EVICT_ANNOTATION } from "../../facts/training";
import { ARGO_WORKFLOW_KIND } from "../../facts/pipelines";
import { configOf, Environment, environmentProperty, servingNamespacesProperty } from "./config";
import { containersOf, describeContainer, hpasByTarget, KUBEFLOW_JOB, kindOf, ObjectMeta, PodTemplate, podTemplates, Probe, Props, scaleTargetKey, SelectorIndex, workloadOf } from "./k8s";

const DIGEST = /@sha256:[a-f0-9]{64}$/;

/** What is wrong with an image reference, or undefined when it names a fixed tag or digest. */
export function imageProblem(image: string | undefined): string | undefined {
    if (!image) {
        return "has no image";
    }
    if (DIGEST.test(image)) {
        return undefined;
    }
    // A registry port (host:5000/name) is not a tag: only the last path segment can carry one.
    const last = image.slice(image.lastIndexOf("/") + 1);
    const colon = last.lastIndexOf(":");
    if (colon === -1 || colon === last.length - 1) {
        return `uses image ${image} with no tag, which pulls :latest`;
    }
    if (last.slice(colon + 1) === "latest") {
        return `uses image ${image} with the mutable tag :latest`;
    }
    return undefined;
}

const EXACT_VERSION = /^v?\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/;
const HELM_TYPES = new Set(["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"]);
const REMOTE_KUSTOMIZE = /^(https?:\/\/|git@|github\.com\/)/;
const FLOATING_REFS = new Set(["main", "master", "HEAD", "latest"]);

export const imagesPinned: ResourceValidationPolicy = {
    name: "images-pinned",
    description: "Every container image names a tag other than latest, or a digest; Helm charts pin an exact version; remote kustomizations pin a ref.",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: (args, report) => {
        for (const t of podTemplates(args.type, args.props, args.name)) {
            for (const c of containersOf(t.spec)) {
                const problem = imageProblem(c.container.image);
                if (problem) {
                    report(`${describeContainer(t, c)} ${problem}. Fix: pin a version tag or a digest (components/versions.ts).`);
                }
            }
        }
        if (HELM_TYPES.has(args.type)) {
            const chart = String(args.props.chart ?? "");
            const version = args.props.version === undefined ? undefined : String(args.props.version);
            const local = chart.startsWith(".") || chart.startsWith("/");
            if (!local && (!version || !EXACT_VERSION.test(version))) {
                report(`Helm chart ${chart} ("${args.name}") has version ${version ?? "(unset: the newest is installed)"}, not an exact version. Fix: pin version: "x.y.z" (components/versions.ts).`);
            }
        }
        if (args.type === "kubernetes:kustomize/v2:Directory") {
            const directory = String(args.props.directory ?? "");
            const ref = /[?&]ref=([^&]+)/.exec(directory)?.[1];
            if (REMOTE_KUSTOMIZE.test(directory) && (!ref || FLOATING_REFS.has(ref))) {
                report(`Kustomization "${args.name}" loads ${directory} at ${ref ? `the moving ref ${ref}` : "no ref (the default branch)"}. Fix: append ?ref=<release tag>.`);
            }
        }
    },
};

export const containerResourcesSet: ResourceValidationPolicy = {
    name: "container-resources-set",
    description: "Every container and init container sets CPU and memory requests and limits, so scheduling, bin-packing and the cost report hold.",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: (args, report) => {
        for (const t of podTemplates(args.type, args.props, args.name)) {
            // Ephemeral (debug) containers may not set resources.
            for (const c of containersOf(t.spec).filter((x) => x.kind !== "ephemeral container")) {
                const r = c.container.resources ?? {};
                const missing = [
                    ...["cpu", "memory"].filter((k) => r.requests?.[k] === undefined).map((k) => `requests.${k}`),
                    ...["cpu", "memory"].filter((k) => r.limits?.[k] === undefined).map((k) => `limits.${k}`),
                ];
                if (missing.length > 0) {
                    report(`${describeContainer(t, c)} has no ${missing.join(", ")}. Fix: set CPU and memory requests and limits (serving/training config cpu, memory, cpuLimit, memoryLimit).`);
                }
            }
        }
    },
};

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";

function isServing(type: string, props: Props, name: string, namespaces: string[]): boolean {
    return type === DEPLOYMENT && namespaces.includes(workloadOf(type, props, name).namespace);
}

export { MODEL_LOAD_ANNOTATION };

const probesSchema = {
    properties: {
        servingNamespaces: servingNamespacesProperty,
        loadSecondsAnnotation: {
            type: "string" as const,
            description: "Annotation (on the Deployment or its pod template) that declares how long the model takes to load, in seconds.",
            default: MODEL_LOAD_ANNOTATION,
        },
        headroom: { type: "number" as const, minimum: 1, description: "Startup budget over load time.", default: LOAD_HEADROOM },
    },
};

/** Seconds a probe tolerates failing: initialDelay + failureThreshold x period (Kubernetes defaults 0, 3, 10). */
function probeBudget(p: Probe): number {
    return (p.initialDelaySeconds ?? 0) + (p.failureThreshold ?? 3) * (p.periodSeconds ?? 10);
}

function declaredLoadSeconds(meta: ObjectMeta | undefined, template: PodTemplate, key: string): number | undefined {
    const raw = meta?.annotations?.[key] ?? template.metadata.annotations?.[key];
    const n = raw === undefined ? NaN : Number(raw);
    return Number.isFinite(n) && n > 0 ? n : undefined;
}

export const servingProbesCoverModelLoad: ResourceValidationPolicy = {
    name: "serving-probes-cover-model-load",
    description:
        "Model servers are not restarted while their model loads: a startup probe gates liveness, and its budget (initialDelay + failureThreshold x period) " +
        `is at least ${LOAD_HEADROOM}x the load time declared in the ${MODEL_LOAD_ANNOTATION} annotation; without a startup probe, liveness waits that long.`,
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: probesSchema,
    validateResource: (args, report) => {
        const cfg = configOf<{ servingNamespaces: string[]; loadSecondsAnnotation: string; headroom: number }>(args, probesSchema);
        if (!isServing(args.type, args.props, args.name, cfg.servingNamespaces)) {
            return;
        }
        for (const t of podTemplates(args.type, args.props, args.name)) {
            const load = declaredLoadSeconds(args.props.metadata, t, cfg.loadSecondsAnnotation);
            const required = load === undefined ? undefined : Math.ceil(cfg.headroom * load);
            for (const c of containersOf(t.spec).filter((x) => x.kind === "container")) {
                const { startupProbe, livenessProbe } = c.container;
                const where = describeContainer(t, c);
                if (startupProbe) {
                    if (required !== undefined && probeBudget(startupProbe) < required) {
                        report(
                            `${where} has a startup budget of ${probeBudget(startupProbe)}s for a ${load}s model load; it is killed before ${cfg.headroom}x the load (${required}s). ` +
                                `Fix: raise startupProbe.failureThreshold x periodSeconds to at least ${required}s (components/probes.ts probesFor).`,
                        );
                    }
                } else if (livenessProbe) {
                    const delay = livenessProbe.initialDelaySeconds ?? 0;
                    if (required === undefined || delay < required) {
                        const after = load === undefined ? "while the model may still be loading" : `before ${cfg.headroom}x the ${load}s load (${required}s)`;
                        report(
                            `${where} has a liveness probe from ${delay}s and no startup probe, so it restarts the server ${after}. ` +
                                `Fix: add a startupProbe sized to the load time (components/probes.ts probesFor)${required === undefined ? "" : ` or delay liveness to ${required}s`}.`,
                        );
                    }
                }
            }
        }
    },
};

type IntOrPercent = number | string;

function scaled(v: IntOrPercent, replicas: number): number {
    const pct = /^(\d+)%$/.exec(String(v));
    // The disruption controller rounds percentages up for both fields.
    return pct ? Math.ceil((Number(pct[1]) * replicas) / 100) : Number(v);
}

/** Evictions a budget allows with `replicas` healthy pods, as the disruption controller computes them. */
export function allowedDisruptions(spec: { minAvailable?: IntOrPercent; maxUnavailable?: IntOrPercent }, replicas: number): number {
    const desiredHealthy = spec.minAvailable !== undefined ? scaled(spec.minAvailable, replicas) : replicas - scaled(spec.maxUnavailable ?? 0, replicas);
    return Math.max(0, replicas - Math.max(0, desiredHealthy));
}

const servingNsSchema = { properties: { servingNamespaces: servingNamespacesProperty } };

export const servingPdbAllowsDisruption: StackValidationPolicy = {
    name: "serving-pdb-allows-disruption",
    description: "Every serving Deployment has a PodDisruptionBudget that still allows one eviction at its minimum replicas (HPA minReplicas), so node drains proceed.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: servingNsSchema,
    validateStack: (args, report) => {
        const { servingNamespaces } = configOf<{ servingNamespaces: string[] }>(args, servingNsSchema);
        const pdbs = new SelectorIndex<PolicyResource>();
        for (const p of args.resources.filter((r) => kindOf(r.type) === "PodDisruptionBudget" && r.type.startsWith("kubernetes:policy/"))) {
            pdbs.add(workloadOf(p.type, p.props, p.name).namespace, p.props.spec?.selector, p);
        }
        const hpas = hpasByTarget(args.resources);
        for (const d of args.resources.filter((r) => isServing(r.type, r.props, r.name, servingNamespaces))) {
            const w = workloadOf(d.type, d.props, d.name);
            const labels: Record<string, string> = d.props.spec?.template?.metadata?.labels ?? {};
            const hpa = hpas.get(scaleTargetKey(w.namespace, "Deployment", w.name));
            const minReplicas: number = hpa?.props.spec?.minReplicas ?? d.props.spec?.replicas ?? 1;
            const budgets = pdbs.matching(w.namespace, labels);
            if (budgets.length === 0) {
                report(`Deployment ${w.namespace}/${w.name} has no PodDisruptionBudget selecting its pods. Fix: add one with maxUnavailable: 1 (components/disruption.ts pdbFor).`, d.urn);
                continue;
            }
            for (const p of budgets) {
                const spec = p.props.spec ?? {};
                const pdb = workloadOf(p.type, p.props, p.name);
                const setting = spec.minAvailable !== undefined ? `minAvailable ${spec.minAvailable}` : `maxUnavailable ${spec.maxUnavailable ?? "(unset)"}`;
                if (spec.minAvailable === undefined && spec.maxUnavailable === undefined) {
                    report(`PodDisruptionBudget ${pdb.namespace}/${pdb.name} sets neither minAvailable nor maxUnavailable. Fix: set maxUnavailable: 1.`, p.urn);
                } else if (allowedDisruptions(spec, minReplicas) < 1) {
                    report(
                        `PodDisruptionBudget ${pdb.namespace}/${pdb.name} (${setting}) allows no eviction of Deployment ${w.name} at its minimum of ${minReplicas} replica(s), ` +
                            `so every node drain blocks. Fix: use maxUnavailable: 1 (or minAvailable below ${minReplicas}).`,
                        p.urn,
                    );
                }
            }
        }
    },
};

const hpaSchema = {
    properties: {
        servingNamespaces: servingNamespacesProperty,
        environment: environmentProperty,
        prodMinReplicas: { type: "integer" as const, minimum: 1, description: "Lowest minReplicas a serving HPA may have in prod.", default: DEFAULT_PROD_MIN_REPLICAS },
    },
};

export const servingHpaBounds: ResourceValidationPolicy = {
    name: "serving-hpa-bounds",
    description: "Serving HorizontalPodAutoscalers keep at least 2 replicas in prod (prodMinReplicas) and can scale: maxReplicas > minReplicas.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: hpaSchema,
    validateResource: (args, report) => {
        if (kindOf(args.type) !== "HorizontalPodAutoscaler" || !args.type.startsWith("kubernetes:autoscaling/")) {
            return;
        }
        const cfg = configOf<{ servingNamespaces: string[]; environment: Environment; prodMinReplicas: number }>(args, hpaSchema);
        const w = workloadOf(args.type, args.props, args.name);
        if (!cfg.servingNamespaces.includes(w.namespace)) {
            return;
        }
        const min: number = args.props.spec?.minReplicas ?? 1;
        const max: number | undefined = args.props.spec?.maxReplicas;
        // The same judgement validation makes of ml-platform:serving[].replicas (capacity/limits.ts).
        for (const p of replicaBoundProblems(min, max, cfg.environment, cfg.prodMinReplicas)) {
            if (p.field === "min") {
                report(`HorizontalPodAutoscaler ${w.namespace}/${w.name} has minReplicas ${min} in ${cfg.environment}; one pod is an outage on every node drain or rollout. Fix: set replicas.min to at least ${cfg.environment === "prod" ? cfg.prodMinReplicas : 1}.`);
            } else {
                report(`HorizontalPodAutoscaler ${w.namespace}/${w.name} has maxReplicas ${max ?? "(unset)"} with minReplicas ${min}: it can never scale out. Fix: set replicas.max above ${min}.`);
            }
        }
    },
};

const jobsSchema = {
    properties: {
        maxBackoffLimit: { type: "integer" as const, minimum: 0, description: "Most retries a training run may have.", default: 10 },
        maxActiveDeadlineSeconds: { type: "integer" as const, minimum: 60, description: "Longest a training run may last (default 30 days).", default: 30 * 86400 },
    },
};

export const trainingJobsBounded: ResourceValidationPolicy = {
    name: "training-jobs-bounded",
    description: "Jobs and Kubeflow training jobs (PyTorchJob) set backoffLimit and activeDeadlineSeconds within the configured maxima, so a failing run cannot burn GPUs forever.",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: jobsSchema,
    validateResource: (args, report) => {
        const kubeflow = KUBEFLOW_JOB.test(args.type);
        if (args.type !== "kubernetes:batch/v1:Job" && !kubeflow) {
            return;
        }
        const cfg = configOf<{ maxBackoffLimit: number; maxActiveDeadlineSeconds: number }>(args, jobsSchema);
        const w = workloadOf(args.type, args.props, args.name);
        const [bounds, at] = kubeflow ? [args.props.spec?.runPolicy ?? {}, "spec.runPolicy"] : [args.props.spec ?? {}, "spec"];
        const backoff = bounds.backoffLimit;
        const deadline = bounds.activeDeadlineSeconds;
        if (!Number.isInteger(backoff) || backoff < 0 || backoff > cfg.maxBackoffLimit) {
            report(`${w.kind} ${w.namespace}/${w.name} has ${at}.backoffLimit ${backoff ?? "(unset)"}. Fix: set it between 0 and ${cfg.maxBackoffLimit} (training config backoffLimit).`);
        }
        if (!Number.isInteger(deadline) || deadline <= 0 || deadline > cfg.maxActiveDeadlineSeconds) {
            report(`${w.kind} ${w.namespace}/${w.name} has ${at}.activeDeadlineSeconds ${deadline ?? "(unset: it may run forever)"}. Fix: set it between 1 and ${cfg.maxActiveDeadlineSeconds} (training config activeDeadlineSeconds).`);
        }
    },
};

export const trainingPodsNotEvictable: ResourceValidationPolicy = {
    name: "training-pods-not-evictable",
    description: `Every pod template of a Job, Kubeflow training job (PyTorchJob) or Argo pipeline step (WorkflowTemplate, CronWorkflow, Workflow) carries ${SAFE_TO_EVICT_ANNOTATION}: "false", so Cluster Autoscaler never drains a node under a running training pod to scale it down.`,
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: (args, report) => {
        if (args.type !== "kubernetes:batch/v1:Job" && !KUBEFLOW_JOB.test(args.type) && !ARGO_WORKFLOW_KIND.test(args.type)) {
            return;
        }
        for (const t of podTemplates(args.type, args.props, args.name)) {
            const value = t.metadata?.annotations?.[SAFE_TO_EVICT_ANNOTATION];
            if (value !== "false") {
                const where = t.role ? ` (${t.role})` : "";
                report(
                    `${t.workload.kind} ${t.workload.namespace}/${t.workload.name}${where} has ${t.path}.metadata.annotations["${SAFE_TO_EVICT_ANNOTATION}"] ${value === undefined ? "(unset)" : JSON.stringify(value)}: ` +
                        `Cluster Autoscaler may evict the running pod to remove an under-used node. Fix: annotate the pod template with "false" (components/training.ts).`,
                );
            }
        }
    },
};

const INTERNAL_ANNOTATIONS: Record<string, string[]> = {
    "service.beta.kubernetes.io/aws-load-balancer-scheme": ["internal"],
    "service.beta.kubernetes.io/aws-load-balancer-internal": ["true", "0.0.0.0/0"],
};

export const noPublicLoadBalancer: ResourceValidationPolicy = {
    name: "no-public-load-balancer",
    description: "No Service of type LoadBalancer (and no ALB Ingress) is internet-facing; model endpoints stay inside the VPC.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const w = workloadOf(args.type, args.props, args.name);
        const annotations: Record<string, string> = args.props.metadata?.annotations ?? {};
        if (args.type === "kubernetes:core/v1:Service" && args.props.spec?.type === "LoadBalancer") {
            const internal = Object.entries(INTERNAL_ANNOTATIONS).some(([k, values]) => values.includes(String(annotations[k])));
            if (!internal) {
                report(
                    `Service ${w.namespace}/${w.name} is type LoadBalancer without an internal scheme, so AWS gives it a public address. ` +
                        `Fix: use type ClusterIP, or annotate service.beta.kubernetes.io/aws-load-balancer-scheme: internal.`,
                );
            }
        }
        if (kindOf(args.type) === "Ingress" && annotations["alb.ingress.kubernetes.io/scheme"] === "internet-facing") {
            report(`Ingress ${w.namespace}/${w.name} has alb.ingress.kubernetes.io/scheme: internet-facing. Fix: set it to internal.`);
        }
    },
};

export const workloadPolicies = [
    imagesPinned,
    containerResourcesSet,
    servingProbesCoverModelLoad,
    servingPdbAllowsDisruption,
    servingHpaBounds,
    trainingJobsBounded,
    trainingPodsNotEvictable,
    noPublicLoadBalancer,
];
