/**
 * The plan diff: what a change does, from two plans' own files (plain data in, plain data out). Resources
 * added, removed and changed by URN with the input paths that differ; Kubernetes objects by identity;
 * replacements (the program's replaceOnChanges, Kubernetes immutable fields, provider ForceNew properties:
 * plan/replacements.ts); what a replacement drains or restarts; the risks a reviewer must see first; and
 * the deltas in cost, GPUs, schedulability and policy.
 */
import { KUBERNETES_IDENTITY, KUBERNETES_IMMUTABLE, NODE_GROUP_ROLLING, PROVIDER_FORCE_NEW, ForceNewRule } from "./replacements";

export const SECRET_VALUE = "[secret]";

/** A resource as resources.json records it (the fields the diff reads). */
export interface DiffResource {
    urn: string;
    type: string;
    name: string;
    custom: boolean;
    inputs: Record<string, unknown>;
    options: { protect: boolean; retainOnDelete: boolean; replaceOnChanges: string[]; deleteBeforeReplace: boolean };
    hasSecretInputs?: boolean;
}

/** What the diff reads of summary.json. */
export interface DiffSummary {
    stack: string;
    cost: { monthlyMin: number; monthlyMax: number };
    gpus: { provisioned: { min: number; max: number } };
    workloads: { name: string; kind: string; pool: string; schedulable: boolean; reason?: string }[];
}

export interface DiffViolation {
    policy: string;
    enforcementLevel: string;
    resource: { type: string; name: string };
    message: string;
}

/** One side of the diff: a plan's resources.json, summary.json and policy.json. */
export interface PlanSnapshot {
    resources: DiffResource[];
    summary: DiffSummary;
    violations: DiffViolation[];
}

export interface PathChange {
    path: string;
    /** Absent for a secret, and for a value that is not a scalar. */
    before?: unknown;
    after?: unknown;
    secret?: true;
}

export interface Replacement {
    path: string;
    source: string;
}

export interface ResourceChange {
    urn: string;
    type: string;
    /** Kubernetes objects: `<apiVersion> <Kind> <namespace>/<name>`. */
    object?: string;
    changes: PathChange[];
    /** Why it is replaced, one per changed path that forces it; empty for an update in place. */
    replacedBecause: Replacement[];
    deleteBeforeReplace: boolean;
    /** What the change does to running nodes and pods. */
    effects: string[];
}

export interface AddedOrRemoved {
    urn: string;
    type: string;
    object?: string;
    effects: string[];
}

export interface Risk {
    kind: "data-loss" | "network-policy" | "access-entry" | "policy-enforcement" | "kubernetes-version";
    urn?: string;
    message: string;
}

export interface Delta {
    base: number;
    head: number;
    delta: number;
}

export interface PlanDiff {
    stack: string;
    risks: Risk[];
    resources: { added: AddedOrRemoved[]; removed: AddedOrRemoved[]; changed: ResourceChange[] };
    kubernetes: { added: AddedOrRemoved[]; removed: AddedOrRemoved[]; changed: ResourceChange[] };
    deltas: {
        monthlyCostMin: Delta;
        monthlyCostMax: Delta;
        gpusProvisionedMin: Delta;
        gpusProvisionedMax: Delta;
        newlyUnschedulable: { name: string; reason?: string }[];
        newlySchedulable: string[];
        policyViolationsAdded: DiffViolation[];
        policyViolationsFixed: DiffViolation[];
    };
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isScalar = (v: unknown) => v === null || ["string", "number", "boolean"].includes(typeof v);
const containsSecret = (v: unknown): boolean => (v === SECRET_VALUE ? true : Array.isArray(v) ? v.some(containsSecret) : isObject(v) ? Object.values(v).some(containsSecret) : false);

/** Kinds whose whole data is secret whatever the recorder saw (a Secret's data and stringData). */
const SECRET_DATA = /^(data|stringData)(\.|$)/;

/** Leaf-level differences between two input trees; arrays compare by index. */
export function inputChanges(before: unknown, after: unknown, secretData = false, at = ""): PathChange[] {
    if (isObject(before) && isObject(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
        return keys.flatMap((k) => inputChanges(before[k], after[k], secretData, at ? `${at}.${k}` : k));
    }
    if (Array.isArray(before) && Array.isArray(after)) {
        const n = Math.max(before.length, after.length);
        return Array.from({ length: n }, (_, i) => inputChanges(before[i], after[i], secretData, `${at}[${i}]`)).flat();
    }
    if (JSON.stringify(before) === JSON.stringify(after)) {
        return [];
    }
    if ((secretData && SECRET_DATA.test(at)) || containsSecret(before) || containsSecret(after)) {
        return [{ path: at, secret: true }];
    }
    return [{ path: at, ...(isScalar(before) ? { before } : {}), ...(isScalar(after) ? { after } : {}) }];
}

/** Splits `a.b[0].c` into ["a", "b", "[0]", "c"]. */
const segments = (p: string) => p.match(/[^.[\]]+|\[[^\]]*\]/g) ?? [];

/** A pattern matches a path it is a prefix of; `*` is any key, `[*]` any index. */
export function pathMatches(pattern: string, path: string): boolean {
    const want = segments(pattern);
    const have = segments(path);
    if (want.length > have.length) {
        return false;
    }
    return want.every((w, i) => w === have[i] || (w === "*" && !have[i].startsWith("[")) || (w === "[*]" && have[i].startsWith("[")));
}

/** Kubernetes quantities as bytes (Ki, Mi, Gi, Ti and decimal k, M, G, T); NaN when unreadable. */
export function quantityBytes(q: unknown): number {
    const m = /^(\d+(?:\.\d+)?)([KMGTPE]i?|k)?$/.exec(String(q));
    if (!m) {
        return NaN;
    }
    const unit = m[2] ?? "";
    const pow = { "": 0, k: 1, K: 1, M: 2, G: 3, T: 4, P: 5, E: 6 }[unit.replace("i", "")] ?? 0;
    return Number(m[1]) * (unit.endsWith("i") ? 1024 : 1000) ** pow;
}

/** The replacement rules that apply to a resource type (the program's own are added per resource). */
function forceNewRules(type: string): ForceNewRule[] {
    if (type.startsWith("kubernetes:") && type !== "kubernetes:helm.sh/v3:Release" && !type.startsWith("kubernetes:pulumi")) {
        return [KUBERNETES_IDENTITY, ...(KUBERNETES_IMMUTABLE[type] ?? [])];
    }
    return PROVIDER_FORCE_NEW[type] ?? [];
}

export function replacementsOf(r: DiffResource, changes: PathChange[]): Replacement[] {
    const out: Replacement[] = [];
    for (const c of changes) {
        const own = r.options.replaceOnChanges.find((p) => pathMatches(p, c.path));
        if (own) {
            out.push({ path: c.path, source: `the program's replaceOnChanges "${own}"` });
            continue;
        }
        const rule = forceNewRules(r.type).find((rl) => rl.paths.some((p) => pathMatches(p, c.path)));
        if (!rule) {
            continue;
        }
        if (rule.when === "shrink" && !(quantityBytes(c.after) < quantityBytes(c.before))) {
            continue;
        }
        out.push({ path: c.path, source: rule.source });
    }
    return out;
}

const isKubernetesObject = (r: DiffResource) => r.custom && r.type.startsWith("kubernetes:") && !r.type.startsWith("kubernetes:helm.sh/") && !r.type.startsWith("pulumi:");

function objectName(r: DiffResource): string {
    const meta = (r.inputs.metadata ?? {}) as { name?: string; namespace?: string };
    return `${r.inputs.apiVersion ?? "?"} ${r.inputs.kind ?? "?"} ${meta.namespace ? `${meta.namespace}/` : ""}${meta.name ?? r.name}`;
}

const NODE_GROUP = "eks:index:ManagedNodeGroup";
const TRAINING_KINDS = new Set(["kubernetes:batch/v1:Job", "kubernetes:kubeflow.org/v1:PyTorchJob"]);

function poolOf(r: DiffResource): { pool: string; gpu: boolean } {
    const labels = (r.inputs.labels ?? {}) as Record<string, string>;
    return { pool: labels["node-pool"] ?? r.name, gpu: labels["nvidia.com/gpu.present"] === "true" };
}

/** What replacing (or rolling) a node group does: its nodes drain, and the workloads on its pool move or restart. */
function drainEffects(r: DiffResource, summary: DiffSummary, how: "replaced" | "rolled" | "removed"): string[] {
    const { pool, gpu } = poolOf(r);
    const on = summary.workloads.filter((w) => w.pool === pool);
    const serving = on.filter((w) => w.kind === "Deployment").map((w) => w.name);
    const training = on.filter((w) => w.kind !== "Deployment").map((w) => w.name);
    const verb = how === "rolled" ? "rolls (drains and replaces) every node of" : how === "removed" ? "removes and drains" : "replaces and drains";
    const out = [`${verb} ${gpu ? "GPU " : ""}node pool ${pool}`];
    if (serving.length > 0) out.push(`evicts serving ${serving.join(", ")} (rescheduled; capacity drops while nodes come up)`);
    if (training.length > 0) out.push(`restarts training ${training.join(", ")} (pods evicted; progress since the last checkpoint is lost)`);
    return out;
}

function changeEffects(r: DiffResource, changes: PathChange[], replaced: boolean, head: DiffSummary): string[] {
    if (r.type === NODE_GROUP) {
        if (replaced) return drainEffects(r, head, "replaced");
        if (changes.some((c) => NODE_GROUP_ROLLING.some((p) => pathMatches(p, c.path)))) return drainEffects(r, head, "rolled");
        return [];
    }
    if (r.type === "eks:index:Cluster" && replaced) {
        return ["replaces the cluster: every node drains, every workload restarts, training included"];
    }
    if (TRAINING_KINDS.has(r.type)) {
        return replaced ? [`restarts training ${objectName(r)} (the Job is deleted and created again)`] : [];
    }
    return replaced ? [`replaces ${objectName(r)}`] : [];
}

const isProtected = (r: DiffResource) => r.options.protect || r.options.retainOnDelete;
/** Types that hold data: deleting or replacing one loses it (or, retained, orphans it). */
const DATA_TYPES = new Set(["aws:efs/fileSystem:FileSystem", "kubernetes:core/v1:PersistentVolumeClaim", "aws:kms/key:Key"]);

function dataRisk(r: DiffResource, what: "deletes" | "replaces"): Risk | undefined {
    if (!isProtected(r) && !DATA_TYPES.has(r.type)) {
        return undefined;
    }
    const guard = [r.options.protect ? "protected (pulumi up refuses until unprotected)" : "", r.options.retainOnDelete ? "retainOnDelete (the old one is orphaned, its data no longer in use)" : ""].filter(Boolean);
    return { kind: "data-loss", urn: r.urn, message: `${what} ${r.type} ${r.name}${guard.length ? `, which is ${guard.join(" and ")}` : ", which holds data"}` };
}

const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const ACCESS_TYPES = new Set(["aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"]);

const delta = (base: number, head: number): Delta => ({ base, head, delta: Math.round((head - base) * 100) / 100 });
const violationKey = (v: DiffViolation) => `${v.policy}\u0000${v.resource.type}\u0000${v.resource.name}`;

export function diffPlans(baseIn: PlanSnapshot, headIn: PlanSnapshot): PlanDiff {
    // By URN, as resources.json is: registration order varies with promise timing, and diff.json must not.
    const byUrn = (s: PlanSnapshot): PlanSnapshot => ({ ...s, resources: [...s.resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0)) });
    const base = byUrn(baseIn);
    const head = byUrn(headIn);
    const before = new Map(base.resources.map((r) => [r.urn, r]));
    const after = new Map(head.resources.map((r) => [r.urn, r]));
    const risks: Risk[] = [];
    const out: PlanDiff["resources"] = { added: [], removed: [], changed: [] };
    const k8s: PlanDiff["kubernetes"] = { added: [], removed: [], changed: [] };
    const bucket = (r: DiffResource) => (isKubernetesObject(r) ? k8s : out);
    const obj = (r: DiffResource) => (isKubernetesObject(r) ? { object: objectName(r) } : {});

    for (const r of head.resources) {
        if (!before.has(r.urn)) {
            bucket(r).added.push({ urn: r.urn, type: r.type, ...obj(r), effects: [] });
            if (r.type === NETWORK_POLICY) risks.push({ kind: "network-policy", urn: r.urn, message: `adds NetworkPolicy ${objectName(r)}` });
            if (ACCESS_TYPES.has(r.type)) risks.push({ kind: "access-entry", urn: r.urn, message: `adds access ${r.type} ${r.name}` });
        }
    }
    for (const r of base.resources) {
        if (after.has(r.urn)) continue;
        const effects = r.type === NODE_GROUP ? drainEffects(r, base.summary, "removed") : TRAINING_KINDS.has(r.type) ? [`stops training ${objectName(r)}`] : [];
        bucket(r).removed.push({ urn: r.urn, type: r.type, ...obj(r), effects });
        const risk = dataRisk(r, "deletes");
        if (risk) risks.push(risk);
        if (r.type === NETWORK_POLICY) risks.push({ kind: "network-policy", urn: r.urn, message: `removes NetworkPolicy ${objectName(r)}` });
        if (ACCESS_TYPES.has(r.type)) risks.push({ kind: "access-entry", urn: r.urn, message: `removes access ${r.type} ${r.name}` });
    }
    for (const r of head.resources) {
        const old = before.get(r.urn);
        if (!old) continue;
        const changes = inputChanges(old.inputs, r.inputs, r.type === "kubernetes:core/v1:Secret");
        if (changes.length === 0) continue;
        // The options in force are the new program's; the guards that protect the old resource are the base's.
        const replacedBecause = replacementsOf(r, changes);
        const replaced = replacedBecause.length > 0;
        bucket(r).changed.push({
            urn: r.urn,
            type: r.type,
            ...obj(r),
            changes,
            replacedBecause,
            deleteBeforeReplace: replaced && r.options.deleteBeforeReplace,
            effects: changeEffects(r, changes, replaced, head.summary),
        });
        if (replaced) {
            const risk = dataRisk(old, "replaces");
            if (risk) risks.push(risk);
        }
        if (r.type === NETWORK_POLICY) {
            risks.push({ kind: "network-policy", urn: r.urn, message: `changes NetworkPolicy ${objectName(r)}: ${changes.map((c) => c.path).join(", ")}` });
        }
        const access = ACCESS_TYPES.has(r.type) ? changes : changes.filter((c) => r.type === "eks:index:Cluster" && pathMatches("accessEntries", c.path));
        if (access.length > 0) {
            risks.push({ kind: "access-entry", urn: r.urn, message: `changes cluster access: ${access.map((c) => c.path).join(", ")}` });
        }
        for (const c of changes.filter((x) => x.path === "version" && (r.type === "eks:index:Cluster" || r.type === NODE_GROUP))) {
            risks.push({ kind: "kubernetes-version", urn: r.urn, message: `Kubernetes version of ${r.name} ${String(c.before ?? "unset")} -> ${String(c.after ?? "unset")}` });
        }
    }

    // Enforcement levels as the violations carry them: a rule with no violation on either side shows no level.
    const baseLevels = new Map(base.violations.map((v) => [v.policy, v.enforcementLevel]));
    const headLevels = new Map(head.violations.map((v) => [v.policy, v.enforcementLevel]));
    for (const [policy, level] of [...headLevels].sort()) {
        const was = baseLevels.get(policy);
        if (was && was !== level) risks.push({ kind: "policy-enforcement", message: `policy ${policy}: enforcement ${was} -> ${level}` });
    }

    const baseViolations = new Set(base.violations.map(violationKey));
    const headViolations = new Set(head.violations.map(violationKey));
    const wasSchedulable = new Map(base.summary.workloads.map((w) => [w.name, w.schedulable]));
    const order: Record<Risk["kind"], number> = { "data-loss": 0, "kubernetes-version": 1, "access-entry": 2, "network-policy": 3, "policy-enforcement": 4 };
    return {
        stack: head.summary.stack,
        risks: risks.map((r, i) => ({ r, i })).sort((a, b) => order[a.r.kind] - order[b.r.kind] || a.i - b.i).map(({ r }) => r),
        resources: out,
        kubernetes: k8s,
        deltas: {
            monthlyCostMin: delta(base.summary.cost.monthlyMin, head.summary.cost.monthlyMin),
            monthlyCostMax: delta(base.summary.cost.monthlyMax, head.summary.cost.monthlyMax),
            gpusProvisionedMin: delta(base.summary.gpus.provisioned.min, head.summary.gpus.provisioned.min),
            gpusProvisionedMax: delta(base.summary.gpus.provisioned.max, head.summary.gpus.provisioned.max),
            newlyUnschedulable: head.summary.workloads.filter((w) => !w.schedulable && wasSchedulable.get(w.name) !== false).map((w) => ({ name: w.name, ...(w.reason ? { reason: w.reason } : {}) })),
            newlySchedulable: head.summary.workloads.filter((w) => w.schedulable && wasSchedulable.get(w.name) === false).map((w) => w.name),
            policyViolationsAdded: head.violations.filter((v) => !baseViolations.has(violationKey(v))),
            policyViolationsFixed: base.violations.filter((v) => !headViolations.has(violationKey(v))),
        },
    };
}

export const isEmptyDiff = (d: PlanDiff) =>
    [d.resources, d.kubernetes].every((s) => s.added.length + s.removed.length + s.changed.length === 0) && d.risks.length === 0;
