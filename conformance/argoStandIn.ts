/**
 * Standing in for Argo Workflows' controller, which cannot run here: Argo's real CRDs (the full ones,
 * with the complete schema, from the argo-workflows Go module at the chart's appVersion) validate every
 * WorkflowTemplate and CronWorkflow under strict field validation, and for each WorkflowTemplate the run
 * creates the pods of one run as the controller builds them (workflow/controller/workflowpod.go at
 * v4.0.5): the step's container as `main` behind the emissary, the executor's `init` and `wait`
 * containers with the chart's executor resources and securityContext, the executor's token volume. All
 * steps are created at once, not in DAG order: what is tested is admission and scheduling, not order.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadAll } from "js-yaml";
import { podTemplates } from "../capacity/podTemplates";
import { ARGO_INIT_CONTAINER, ARGO_MAIN_CONTAINER, ARGO_WAIT_CONTAINER } from "../facts/pipelines";
import type { KubeObject } from "./kube";

const ARGO_MODULE = "github.com/argoproj/argo-workflows";
/** The CRDs a pipeline's objects need: the kinds the plan renders and the one the executor writes. */
const CRD_FILES = ["argoproj.io_workflowtemplates.yaml", "argoproj.io_cronworkflows.yaml", "argoproj.io_workflows.yaml", "argoproj.io_workflowtaskresults.yaml"];
export const WORKFLOW_LABEL = "workflows.argoproj.io/workflow";
const EXECUTOR_MOUNT = "/var/run/argo";
const EXECUTOR_VOLUME = "var-run-argo";
const TOKEN_VOLUME = "exec-sa-token";

export const ARGO_STAND_IN_NOTE =
    "Argo Workflows' controller stands in: Argo's full CRDs (from the argo-workflows Go module at the chart's appVersion) validate the WorkflowTemplates and CronWorkflows, and for each WorkflowTemplate the run creates the pods of one run as the controller would build them (main container behind the emissary, the executor's init and wait containers, its token volume), every step at once, on the maximum-scale pass only (a run scales pools up; the minimum pass has no run)";

interface RecordedInputs {
    type: string;
    inputs: Record<string, unknown>;
}

/** The Argo Workflows Helm release as the program registered it: its image tag and executor settings. */
export function argoRelease(resources: RecordedInputs[]): { tag: string; executor: { resources?: unknown; securityContext?: Record<string, unknown> } } | undefined {
    for (const r of resources) {
        if (r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === "argo-workflows") {
            const values = (r.inputs.values ?? {}) as { images?: { tag?: string }; executor?: { resources?: unknown; securityContext?: Record<string, unknown> } };
            if (values.images?.tag) return { tag: values.images.tag, executor: values.executor ?? {} };
        }
    }
    return undefined;
}

/** The module path of a tag: v4.0.5 -> github.com/argoproj/argo-workflows/v4. */
export function argoModuleOf(tag: string): string {
    const major = Number(/^v(\d+)\./.exec(tag)?.[1] ?? 0);
    return major >= 2 ? `${ARGO_MODULE}/v${major}` : ARGO_MODULE;
}

/** Argo's full CRDs at that tag, from its Go module (the Go module proxy serves the repository). */
export function argoCrds(tag: string): KubeObject[] {
    const module = argoModuleOf(tag);
    const out = spawnSync("go", ["mod", "download", "-json", `${module}@${tag}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (out.status !== 0) {
        throw new Error(`could not fetch ${module}@${tag} from the Go module proxy for its CRDs:\n${out.stderr || out.stdout}`);
    }
    const dir = path.join(JSON.parse(out.stdout).Dir as string, "manifests", "base", "crds", "full");
    return CRD_FILES.flatMap((f) => loadAll(fs.readFileSync(path.join(dir, f), "utf8")).filter((d): d is KubeObject => !!d && typeof d === "object"));
}

/** The DAG tasks of a WorkflowTemplate's entrypoint: task name and the template it runs. */
export function dagTasks(template: KubeObject): { name: string; template: string }[] {
    const spec = template.spec ?? {};
    const entry = (spec.templates ?? []).find((t: { name?: string }) => t.name === spec.entrypoint);
    return (entry?.dag?.tasks ?? []).map((t: { name: string; template: string }) => ({ name: String(t.name), template: String(t.template) }));
}

export function standInRunName(template: KubeObject): string {
    return `${template.metadata.name}-stand-in`;
}

/** The pods of one run of the WorkflowTemplate, one per DAG task. */
export function workflowRunPods(template: KubeObject, executor: { image: string; resources?: unknown; securityContext?: Record<string, unknown> }): KubeObject[] {
    const run = standInRunName(template);
    const pods = new Map(podTemplates(`kubernetes:${template.apiVersion}:${template.kind}`, template, template.metadata.name).map((t) => [t.role, t]));
    const spec = template.spec ?? {};
    const sa = spec.executor?.serviceAccountName ?? spec.serviceAccountName ?? "default";
    const executorContainer = (name: string, command: string[], mounts: { name: string; mountPath: string; readOnly?: boolean }[]) => ({
        name,
        image: executor.image,
        command,
        ...(executor.resources ? { resources: executor.resources } : {}),
        ...(executor.securityContext ? { securityContext: executor.securityContext } : {}),
        volumeMounts: mounts,
    });
    const argoMount = { name: EXECUTOR_VOLUME, mountPath: EXECUTOR_MOUNT };
    const tokenMount = { name: TOKEN_VOLUME, mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true };
    return dagTasks(template).flatMap((task) => {
        const t = pods.get(task.template);
        if (!t) return [];
        const main = (t.spec.containers ?? [])[0] as unknown as Record<string, unknown> & { command?: string[]; args?: string[]; volumeMounts?: unknown[] };
        const podSpec: Record<string, unknown> = { ...t.spec };
        delete podSpec.containers;
        return [
            {
                apiVersion: "v1",
                kind: "Pod",
                metadata: {
                    name: `${run}-${task.name}`,
                    namespace: template.metadata.namespace,
                    labels: { ...(t.metadata.labels ?? {}), [WORKFLOW_LABEL]: run, "workflows.argoproj.io/completed": "false" },
                    annotations: { ...(t.metadata.annotations ?? {}), "workflows.argoproj.io/node-name": `${run}.${task.name}` },
                },
                spec: {
                    ...podSpec,
                    restartPolicy: "Never",
                    serviceAccountName: t.spec.serviceAccountName ?? sa,
                    initContainers: [executorContainer(ARGO_INIT_CONTAINER, ["argoexec", "init"], [argoMount, tokenMount])],
                    containers: [
                        {
                            ...main,
                            name: ARGO_MAIN_CONTAINER,
                            command: [`${EXECUTOR_MOUNT}/argoexec`, "emissary", "--", ...(main.command ?? [])],
                            volumeMounts: [...(main.volumeMounts ?? []), argoMount],
                        },
                        executorContainer(ARGO_WAIT_CONTAINER, ["argoexec", "wait"], [argoMount, tokenMount]),
                    ],
                    volumes: [...((t.spec.volumes as unknown[]) ?? []), { name: EXECUTOR_VOLUME, emptyDir: {} }, { name: TOKEN_VOLUME, secret: { secretName: `${sa}.service-account-token` } }],
                },
            },
        ];
    });
}
