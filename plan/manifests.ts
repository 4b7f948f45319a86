/**
 * Renders the Kubernetes objects the program registered as YAML, in apply order, and validates each
 * against the Kubernetes OpenAPI schemas (kubernetes-models). Custom resources get a structural check.
 */
import { dump } from "js-yaml";
import { fieldSchemas, unknownFields } from "./fieldSchemas";
import { RecordedResource } from "./recorder";

export interface Manifest {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; [k: string]: unknown };
    [k: string]: unknown;
}

export interface RenderedManifest {
    file: string;
    object: Manifest;
    /** A server-side-apply patch (type ...Patch): a partial object, applied over an existing one. */
    patch: boolean;
    errors: string[];
}

/** Types that install other objects rather than being one (their content is rendered by the engine). */
export const INSTALLER_TYPES = new Set([
    "kubernetes:helm.sh/v3:Release",
    "kubernetes:helm.sh/v4:Chart",
    "kubernetes:kustomize/v2:Directory",
    "kubernetes:yaml/v2:ConfigFile",
    "kubernetes:yaml/v2:ConfigGroup",
]);

const APPLY_ORDER = [
    "Namespace",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "ServiceAccount",
    "Secret",
    "ConfigMap",
    "ClusterRole",
    "ClusterRoleBinding",
    "Role",
    "RoleBinding",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "NetworkPolicy",
    "ResourceQuota",
    "Service",
    "DaemonSet",
    "Deployment",
    "StatefulSet",
    "Job",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
];

function orderOf(kind: string): number {
    const i = APPLY_ORDER.indexOf(kind);
    // Custom resources go after everything built in: their CRDs and controllers must exist first.
    return i === -1 ? APPLY_ORDER.length : i;
}

export function isManifestResource(r: RecordedResource): boolean {
    return r.custom && r.type.startsWith("kubernetes:") && !INSTALLER_TYPES.has(r.type);
}

function stripInternal(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(stripInternal);
    }
    if (value && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            if (!k.startsWith("__")) {
                out[k] = stripInternal(v);
            }
        }
        return out;
    }
    return value;
}

type ModelCtor = new (data: unknown) => { validate(): void };

function modelFor(apiVersion: string, kind: string): ModelCtor | undefined {
    const modulePath = `kubernetes-models/${apiVersion}`;
    try {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const mod = require(modulePath) as Record<string, ModelCtor>;
        return mod[kind];
    } catch {
        return undefined;
    }
}

/** group/kind of custom resources without a spec (their CRDs put the fields at the top level). */
const SPECLESS_CUSTOM_KINDS = new Set(["kueue.x-k8s.io/WorkloadPriorityClass"]);

function validate(object: Manifest, patch: boolean): string[] {
    const errors: string[] = [];
    if (!object.metadata?.name) {
        errors.push("metadata.name is missing");
    }
    if (patch) {
        // Patches are partial by design; only their identity can be checked.
        return errors;
    }
    const Model = modelFor(object.apiVersion, object.kind);
    if (!Model) {
        // A custom resource: only what every object must have can be checked without its CRD. A few CRDs
        // keep their data at the top level, as PriorityClass does (Kueue's WorkloadPriorityClass: value).
        if (SPECLESS_CUSTOM_KINDS.has(`${object.apiVersion.split("/")[0]}/${object.kind}`)) {
            return errors;
        }
        if (!object.spec || typeof object.spec !== "object") {
            errors.push(`${object.apiVersion} ${object.kind} has no spec`);
        }
        return errors;
    }
    for (const field of unknownFields(object) ?? []) {
        errors.push(`${field}: unknown field (not in ${object.apiVersion} ${object.kind} of Kubernetes ${fieldSchemas().version})`);
    }
    try {
        new Model(object).validate();
    } catch (e) {
        const details = (e as { errors?: { instancePath: string; message: string }[] }).errors;
        if (details) {
            errors.push(...details.map((d) => `${d.instancePath || "/"} ${d.message}`));
        } else {
            errors.push((e as Error).message);
        }
    }
    return errors;
}

function identity(o: Manifest): string {
    return `${o.kind}/${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
}

function fileName(o: Manifest, index: number, patch: boolean): string {
    const ns = o.metadata.namespace ? `${o.metadata.namespace}.` : "";
    return `${String(index).padStart(3, "0")}-${o.kind.toLowerCase()}${patch ? "patch" : ""}-${ns}${o.metadata.name}.yaml`;
}

/** Every Kubernetes object, in apply order (stable within a kind), each validated. */
export function renderManifests(resources: RecordedResource[]): RenderedManifest[] {
    const objects = resources.filter(isManifestResource).map((r) => ({ o: stripInternal(r.inputs) as Manifest, patch: r.type.endsWith("Patch") }));
    const sorted = objects
        .map((x, i) => ({ ...x, i }))
        // A patch applies after the object it patches.
        // Registration order depends on promise timing; identity makes the files the same on every run.
        .sort((a, b) => Number(a.patch) - Number(b.patch) || orderOf(a.o.kind) - orderOf(b.o.kind) || identity(a.o).localeCompare(identity(b.o)) || a.i - b.i);
    return sorted.map(({ o, patch }, i) => ({ file: fileName(o, i + 1, patch), object: o, patch, errors: validate(o, patch) }));
}

/** js-yaml's dump: about five times faster than `yaml`'s stringify, which mattered at thousands of objects. */
export function toYaml(object: unknown): string {
    return dump(object, { lineWidth: -1, noRefs: true });
}

/** What separates the documents of one YAML stream (all.yaml). */
export const YAML_DOCUMENT_SEPARATOR = "---\n";
