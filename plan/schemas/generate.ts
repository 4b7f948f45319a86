/**
 * Writes plan/schemas/kubernetes-fields.json: which fields each built-in kind the plan renders may have,
 * taken from the Kubernetes OpenAPI v3 spec of the pinned release (api/openapi-spec/v3 in the
 * k8s.io/kubernetes module, from the Go module proxy). Only the field structure is kept (no descriptions,
 * no types of scalars), so the offline plan can reject unknown fields as the API server's strict field
 * validation does. Run with Go: `node -r sucrase/register/ts plan/schemas/generate.ts`.
 * `npm run test:cluster` regenerates it and fails when the committed file differs.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { FieldSchemas, Shape } from "../fieldSchemas";

export const FIELD_SCHEMAS_FILE = path.join(__dirname, "kubernetes-fields.json");

/** The built-in kinds the plan renders (plan/manifests.ts APPLY_ORDER's built-ins, by group/version). */
export const RENDERED_KINDS = [
    "v1/Namespace",
    "v1/ServiceAccount",
    "v1/Secret",
    "v1/ConfigMap",
    "v1/PersistentVolume",
    "v1/PersistentVolumeClaim",
    "v1/Service",
    "v1/Pod",
    "v1/ResourceQuota",
    "apiextensions.k8s.io/v1/CustomResourceDefinition",
    "scheduling.k8s.io/v1/PriorityClass",
    "storage.k8s.io/v1/StorageClass",
    "rbac.authorization.k8s.io/v1/ClusterRole",
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding",
    "rbac.authorization.k8s.io/v1/Role",
    "rbac.authorization.k8s.io/v1/RoleBinding",
    "networking.k8s.io/v1/NetworkPolicy",
    "apps/v1/DaemonSet",
    "apps/v1/Deployment",
    "apps/v1/StatefulSet",
    "batch/v1/Job",
    "batch/v1/CronJob",
    "autoscaling/v2/HorizontalPodAutoscaler",
    "policy/v1/PodDisruptionBudget",
] as const;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function specDir(version: string): string {
    const out = spawnSync("go", ["mod", "download", "-json", `k8s.io/kubernetes@${version}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (out.status !== 0) throw new Error(`go mod download k8s.io/kubernetes@${version} failed:\n${out.stderr}${out.stdout}`);
    return path.join(JSON.parse(out.stdout).Dir, "api", "openapi-spec", "v3");
}

const refName = (ref: string) => ref.replace("#/components/schemas/", "");

export function buildFieldSchemas(version: string, dir = specDir(version)): FieldSchemas {
    const schemas: Record<string, Json> = {};
    const gvk = new Map<string, string>();
    for (const file of fs.readdirSync(dir).sort()) {
        const doc = JSON.parse(fs.readFileSync(path.join(dir, file), "utf8"));
        for (const [name, schema] of Object.entries<Json>(doc.components?.schemas ?? {})) {
            schemas[name] ??= schema;
            for (const k of schema["x-kubernetes-group-version-kind"] ?? []) {
                gvk.set(`${k.group ? `${k.group}/` : ""}${k.version}/${k.kind}`, name);
            }
        }
    }
    const types: FieldSchemas["types"] = {};
    const shapeOf = (s: Json): Shape => {
        if (!s) return 0;
        if (s["x-kubernetes-preserve-unknown-fields"]) return 0;
        const ref = s.$ref ?? s.allOf?.[0]?.$ref;
        if (ref) return named(refName(ref));
        if (s.type === "array") return ["a", shapeOf(s.items)];
        if (s.type === "object" && s.additionalProperties && typeof s.additionalProperties === "object") return ["m", shapeOf(s.additionalProperties)];
        if (s.properties) return inline(s);
        return 0;
    };
    const inline = (s: Json): Shape => ({ f: Object.fromEntries(Object.entries<Json>(s.properties).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, shapeOf(v)])) });
    const named = (name: string): Shape => {
        const s = schemas[name];
        // Scalars by name (Quantity, IntOrString, Time) and free-form JSON are leaves.
        if (!s || !s.properties || s["x-kubernetes-preserve-unknown-fields"]) return s?.type === "object" && s.additionalProperties ? shapeOf(s) : 0;
        if (!(name in types)) {
            types[name] = { f: {} };
            types[name] = inline(s) as { f: Record<string, Shape> };
        }
        return name;
    };
    const kinds: Record<string, string> = {};
    for (const k of RENDERED_KINDS) {
        const name = gvk.get(k);
        if (!name) throw new Error(`the ${version} OpenAPI spec has no ${k}`);
        kinds[k] = name;
        named(name);
    }
    const sortedTypes = Object.fromEntries(Object.entries(types).sort(([a], [b]) => a.localeCompare(b)));
    return { version, source: `k8s.io/kubernetes@${version} api/openapi-spec/v3 (Go module proxy)`, kinds, types: sortedTypes };
}

export function fieldSchemasText(f: FieldSchemas): string {
    return JSON.stringify(f) + "\n";
}

if (require.main === module) {
    const versions = spawnSync("bash", [path.join(__dirname, "..", "..", "conformance", "build-control-plane.sh"), "--versions"], { encoding: "utf8" }).stdout;
    const version = /kubernetes=(\S+)/.exec(versions)![1];
    fs.writeFileSync(FIELD_SCHEMAS_FILE, fieldSchemasText(buildFieldSchemas(version)));
    console.log(`wrote ${FIELD_SCHEMAS_FILE} from k8s.io/kubernetes@${version}`);
}
