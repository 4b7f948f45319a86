/**
 * Turns raw `ml-platform:*` config values into a StackSpec, or fails with every problem found, each
 * naming the config key, the bad value and what is allowed. Pure: no Pulumi, so it is tested as a table.
 */
import { z } from "zod";
import { instanceType } from "../capacity/catalog";
import { chooseGpuPlacement, formatBytes, perGpuBytesFor, WorkloadShape, ModelArchitecture } from "../capacity/gpu-memory";
import { parseCpu, parseMemory } from "../capacity/quantity";
import { credentialShape } from "./credentials";
import { ClusterConfig, configKeys, REQUIRED_KEYS, SECRET_KEYS, ServingConfig, TrainingConfig } from "./schema";
import { Environment, NAMESPACES, NodePoolSpec, ServingSpec, StackSpec, TrainingSpec } from "./spec";

export const NAMESPACE = "ml-platform";

export class ConfigError extends Error {
    constructor(public readonly problems: string[]) {
        super(`invalid stack configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

export interface RawConfig {
    project: string;
    stack: string;
    /** `aws:region`. */
    region: string | undefined;
    /** Values of `ml-platform:<key>` as Pulumi stores them (objects as JSON text). */
    values: Record<string, string>;
    /** Keys (without namespace) whose values are Pulumi secrets. */
    secretKeys: string[];
}

type Parsed = { [K in keyof typeof configKeys]: z.infer<(typeof configKeys)[K]> };

function keyPath(key: string, path: PropertyKey[]): string {
    let out = `${NAMESPACE}:${key}`;
    for (const p of path) {
        out += typeof p === "number" ? `[${p}]` : `.${String(p)}`;
    }
    return out;
}

function describe(value: unknown): string {
    const text = JSON.stringify(value);
    if (text === undefined) {
        return "nothing";
    }
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function formatIssue(key: string, issue: z.core.$ZodIssue): string {
    const where = keyPath(key, issue.path);
    if (issue.code === "unrecognized_keys") {
        return `${where} has unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(", ")}; check the spelling against the README's config reference`;
    }
    if (issue.code === "invalid_key") {
        return `${where}: the name ${describe(issue.input)} ${issue.issues.map((i) => i.message).join("; ")}`;
    }
    if (issue.code === "invalid_type" && issue.input === undefined) {
        return `${where} is required (${issue.expected})`;
    }
    if (issue.code === "invalid_value") {
        return `${where} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describe(issue.input)}`;
    }
    const expected = issue.code === "invalid_type" ? (issue.expected === "int" ? "whole number" : issue.expected) : "";
    const message = issue.code === "invalid_type" ? `must be a ${expected}` : issue.message;
    return `${where} ${message}, got ${describe(issue.input)}`;
}

function parseValue(text: string): unknown {
    try {
        return JSON.parse(text);
    } catch {
        return text;
    }
}

/** Structural validation of every key; unknown top-level keys are errors. */
function parseKeys(raw: RawConfig, problems: string[]): Partial<Parsed> {
    const known = Object.keys(configKeys);
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(raw.values)) {
        if (!known.includes(key)) {
            problems.push(`${NAMESPACE}:${key} is not a known config key; known keys: ${known.map((k) => `${NAMESPACE}:${k}`).join(", ")}`);
        }
    }
    for (const key of known as (keyof typeof configKeys)[]) {
        const text = raw.values[key];
        if (text === undefined && (REQUIRED_KEYS as readonly string[]).includes(key)) {
            problems.push(`${NAMESPACE}:${key} is required; see the README's config reference`);
            continue;
        }
        if (text === undefined && key === "mlflowTrackingUri") {
            continue;
        }
        const value = key === "mlflowTrackingUri" || text === undefined ? text : parseValue(text);
        const secret = (SECRET_KEYS as readonly string[]).includes(key);
        // A secret's value never reaches a message: the plan's output is public in a pull request.
        const result = configKeys[key].safeParse(value, { reportInput: !secret });
        if (result.success) {
            out[key] = result.data;
        } else if (secret) {
            problems.push(...result.error.issues.map((i) => `${keyPath(key, i.path)} is invalid (${i.message}); the value is a secret and is not shown`));
        } else {
            problems.push(...result.error.issues.map((i) => formatIssue(key, i)));
        }
    }
    for (const [key, text] of Object.entries(raw.values)) {
        const shape = raw.secretKeys.includes(key) ? undefined : credentialShape(text);
        if (shape) {
            problems.push(
                `${NAMESPACE}:${key} holds what looks like ${shape} in plain text; credentials belong in Pulumi secrets ` +
                    `(\`pulumi config set --secret\`) read by a key meant for them, never in plain config`,
            );
        }
    }
    for (const key of SECRET_KEYS) {
        if (raw.values[key] !== undefined && !raw.secretKeys.includes(key)) {
            problems.push(`${NAMESPACE}:${key} must be a secret: set it with \`pulumi config set --secret ${NAMESPACE}:${key} <value>\``);
        }
    }
    return out as Partial<Parsed>;
}

function buildPools(pools: Parsed["nodePools"], problems: string[]): NodePoolSpec[] {
    const specs: NodePoolSpec[] = [];
    for (const [name, p] of Object.entries(pools)) {
        const where = `${NAMESPACE}:nodePools.${name}`;
        if (p.maxSize < p.minSize) {
            problems.push(`${where}.maxSize must be >= minSize (${p.minSize}), got ${p.maxSize}`);
        }
        const desired = p.desiredSize ?? p.minSize;
        if (desired < p.minSize || desired > p.maxSize) {
            problems.push(`${where}.desiredSize must be between minSize (${p.minSize}) and maxSize (${p.maxSize}), got ${desired}`);
        }
        specs.push({
            name,
            instanceType: p.instanceType,
            minSize: p.minSize,
            maxSize: p.maxSize,
            desiredSize: desired,
            capacityType: p.capacityType,
            diskSizeGiB: p.diskSizeGiB,
            gpu: instanceType(p.instanceType).gpu,
        });
    }
    if (specs.length > 0 && !specs.some((p) => !p.gpu && p.minSize >= 1)) {
        problems.push(
            `${NAMESPACE}:nodePools needs a CPU pool with minSize >= 1 for system pods (CoreDNS, controllers); ` +
                `got ${specs.map((p) => `${p.name} (${p.instanceType}, minSize ${p.minSize})`).join(", ")}`,
        );
    }
    return specs;
}

function checkLimits(where: string, w: { cpu: string; memory: string; cpuLimit?: string; memoryLimit?: string }, problems: string[]) {
    if (w.cpuLimit && parseCpu(w.cpuLimit) < parseCpu(w.cpu)) {
        problems.push(`${where}.cpuLimit must be >= cpu (${w.cpu}), got ${w.cpuLimit}`);
    }
    if (w.memoryLimit && parseMemory(w.memoryLimit) < parseMemory(w.memory)) {
        problems.push(`${where}.memoryLimit must be >= memory (${w.memory}), got ${w.memoryLimit}`);
    }
}

interface GpuChoice {
    pool: string;
    gpus: number;
    estimate?: number;
}

function architectureOf(m: ModelArchitecture): ModelArchitecture {
    return {
        parameters: m.parameters,
        layers: m.layers,
        hiddenSize: m.hiddenSize,
        attentionHeads: m.attentionHeads,
        kvHeads: m.kvHeads,
        headDim: m.headDim,
    };
}

/**
 * Resolves pool and GPU count for a workload: explicit values are checked against the pool, a model
 * block sizes them, and `pool: auto` picks the cheapest pool whose usable GPU memory holds the estimate.
 */
function resolveGpus(
    where: string,
    entry: { pool: string; gpus: number | undefined },
    perGpuBytes: ((gpus: number) => number) | undefined,
    pools: NodePoolSpec[],
    problems: string[],
): GpuChoice | undefined {
    const gpuPools = pools.filter((p) => p.gpu);
    const gpuKey = where.includes(":training") ? "gpusPerPod" : "gpus";
    if (entry.pool === "auto") {
        if (!perGpuBytes) {
            problems.push(`${where}.pool is "auto" but no model is given; add ${where}.model or name a pool (${gpuPools.map((p) => p.name).join(", ")})`);
            return undefined;
        }
        const placement = chooseGpuPlacement(perGpuBytes, gpuPools.map((p) => ({ name: p.name, instanceType: p.instanceType })));
        if (!placement) {
            const need = formatBytes(perGpuBytes(1));
            problems.push(`${where}.model needs ${need} of GPU memory on one GPU and no GPU pool can hold it, even across all of a node's GPUs (pools: ${gpuPools.map((p) => `${p.name} ${p.instanceType}`).join(", ") || "none"})`);
            return undefined;
        }
        if (entry.gpus !== undefined && entry.gpus < placement.gpus) {
            problems.push(`${where}.${gpuKey} is ${entry.gpus} but the model needs ${placement.gpus} GPU(s) of ${placement.instanceType}`);
            return undefined;
        }
        const gpus = entry.gpus ?? placement.gpus;
        return { pool: placement.pool, gpus, estimate: perGpuBytes(gpus) };
    }
    const pool = pools.find((p) => p.name === entry.pool);
    if (!pool) {
        problems.push(`${where}.pool names no node pool: got "${entry.pool}"; known pools: ${pools.map((p) => p.name).join(", ")}${perGpuBytes ? ', or "auto"' : ""}`);
        return undefined;
    }
    if (!pool.gpu) {
        problems.push(`${where}.pool "${pool.name}" is a CPU pool (${pool.instanceType}); GPU workloads need one of: ${gpuPools.map((p) => p.name).join(", ") || "(no GPU pools configured)"}`);
        return undefined;
    }
    const capacityBytes = pool.gpu.memoryMiB * 2 ** 20;
    let gpus = entry.gpus;
    if (gpus === undefined) {
        if (!perGpuBytes) {
            problems.push(`${where} needs ${gpuKey} or a model block to size it`);
            return undefined;
        }
        gpus = [1, 2, 4, 8].find((g) => g <= pool.gpu!.count && perGpuBytes(g) <= capacityBytes);
        if (gpus === undefined) {
            problems.push(`${where}.model needs ${formatBytes(perGpuBytes(pool.gpu.count))} per GPU even across all ${pool.gpu.count} GPUs of pool "${pool.name}" (${pool.instanceType}, ${pool.gpu.memoryMiB} MiB usable per GPU)`);
            return undefined;
        }
    }
    if (gpus > pool.gpu.count) {
        problems.push(`${where}.${gpuKey} must be <= ${pool.gpu.count} (GPUs per ${pool.instanceType} node in pool "${pool.name}"), got ${gpus}`);
        return undefined;
    }
    if (perGpuBytes && perGpuBytes(gpus) > capacityBytes) {
        problems.push(`${where}: the model needs ${formatBytes(perGpuBytes(gpus))} per GPU on ${gpus} GPU(s) but pool "${pool.name}" (${pool.instanceType}) has ${pool.gpu.memoryMiB} MiB (${formatBytes(capacityBytes)}) usable per GPU; use more GPUs, a larger pool, or pool "auto"`);
        return undefined;
    }
    return { pool: pool.name, gpus, estimate: perGpuBytes?.(gpus) };
}

function buildServing(entries: ServingConfig[], env: Environment, pools: NodePoolSpec[], problems: string[]): ServingSpec[] {
    const out: ServingSpec[] = [];
    entries.forEach((s, i) => {
        const where = `${NAMESPACE}:serving[${i}]`;
        if (s.replicas.max < s.replicas.min) {
            problems.push(`${where}.replicas.max must be >= replicas.min (${s.replicas.min}), got ${s.replicas.max}`);
        }
        if (env === "prod" && s.replicas.min < 2) {
            problems.push(`${where}.replicas.min must be >= 2 in prod (one pod must survive a node drain), got ${s.replicas.min}`);
        }
        checkLimits(where, s, problems);
        const shape: WorkloadShape | undefined = s.model && {
            mode: "inference",
            precision: s.model.precision,
            batchSize: s.model.batchSize,
            sequenceLength: s.model.sequenceLength,
        };
        const per = s.model && shape ? perGpuBytesFor(architectureOf(s.model), shape) : undefined;
        const choice = resolveGpus(where, { pool: s.pool, gpus: s.gpus }, per, pools, problems);
        if (!choice) {
            return;
        }
        out.push({
            name: s.name,
            namespace: NAMESPACES.serving,
            image: s.image,
            pool: choice.pool,
            gpus: choice.gpus,
            cpu: s.cpu,
            memory: s.memory,
            cpuLimit: s.cpuLimit ?? s.cpu,
            memoryLimit: s.memoryLimit ?? s.memory,
            replicas: s.replicas,
            modelUri: s.modelUri,
            modelLoadSeconds: s.modelLoadSeconds,
            autoscaling: s.autoscaling,
            ...(choice.estimate !== undefined ? { gpuMemoryEstimateBytes: Math.ceil(choice.estimate) } : {}),
        });
    });
    return out;
}

function buildTraining(entries: TrainingConfig[], pools: NodePoolSpec[], problems: string[]): TrainingSpec[] {
    const out: TrainingSpec[] = [];
    entries.forEach((t, i) => {
        const where = `${NAMESPACE}:training[${i}]`;
        if (t.kind === "Job" && t.workers !== undefined) {
            problems.push(`${where}.workers is only for kind PyTorchJob; a Job runs one pod (got workers ${t.workers})`);
        }
        if (t.kind === "PyTorchJob" && t.workers === undefined) {
            problems.push(`${where}.workers is required for kind PyTorchJob (workers beside the master, >= 1)`);
        }
        checkLimits(where, t, problems);
        const pods = 1 + (t.kind === "PyTorchJob" ? (t.workers ?? 0) : 0);
        const per = t.model
            ? (gpus: number) =>
                  perGpuBytesFor(architectureOf(t.model!), {
                      mode: "training",
                      precision: t.model!.precision,
                      optimizer: "adam",
                      zeroStage: t.model!.zeroStage,
                      dataParallel: gpus * pods,
                      microBatchSize: t.model!.microBatchSize,
                      sequenceLength: t.model!.sequenceLength,
                      recompute: t.model!.recompute,
                  })(gpus * pods)
            : undefined;
        const choice = resolveGpus(where, { pool: t.pool, gpus: t.gpusPerPod }, per, pools, problems);
        if (!choice) {
            return;
        }
        out.push({
            name: t.name,
            namespace: NAMESPACES.training,
            kind: t.kind,
            image: t.image,
            args: t.args,
            pool: choice.pool,
            gpusPerPod: choice.gpus,
            workers: t.kind === "PyTorchJob" ? (t.workers ?? 1) : 0,
            cpu: t.cpu,
            memory: t.memory,
            cpuLimit: t.cpuLimit ?? t.cpu,
            memoryLimit: t.memoryLimit ?? t.memory,
            backoffLimit: t.backoffLimit,
            activeDeadlineSeconds: t.activeDeadlineSeconds,
            ...(choice.estimate !== undefined ? { gpuMemoryEstimateBytes: Math.ceil(choice.estimate) } : {}),
        });
    });
    return out;
}

function checkUniqueNames(serving: ServingConfig[], training: TrainingConfig[], problems: string[]) {
    const seen = new Map<string, string>();
    const all = [
        ...serving.map((s, i) => [s.name, `${NAMESPACE}:serving[${i}].name`] as const),
        ...training.map((t, i) => [t.name, `${NAMESPACE}:training[${i}].name`] as const),
    ];
    for (const [name, where] of all) {
        const first = seen.get(name);
        if (first) {
            problems.push(`${where} must be unique across serving and training, got "${name}" (also at ${first})`);
        } else {
            seen.set(name, where);
        }
    }
}

const OPEN_CIDRS = new Set(["0.0.0.0/0"]);

/**
 * The API endpoint: reachable at all, public only to listed ranges (never to everyone in prod), and
 * private access on whenever the public side is closed or narrowed, or nodes could not reach it.
 */
function checkEndpoint(cluster: ClusterConfig, env: Environment, problems: string[]) {
    const where = `${NAMESPACE}:cluster.endpoint`;
    const { publicAccess, privateAccess, publicAccessCidrs } = cluster.endpoint;
    if (!publicAccess && !privateAccess) {
        problems.push(`${where}: publicAccess and privateAccess are both false; nothing could reach the API server. Turn privateAccess on`);
        return;
    }
    if (!publicAccess && publicAccessCidrs.length > 0) {
        problems.push(`${where}.publicAccessCidrs is set but publicAccess is false; remove the CIDRs or turn the public endpoint on`);
    }
    if (publicAccess) {
        const open = publicAccessCidrs.filter((c) => OPEN_CIDRS.has(c));
        if (env === "prod" && publicAccessCidrs.length === 0) {
            problems.push(`${where}.publicAccessCidrs is empty in prod, which EKS opens to 0.0.0.0/0; list the VPN/CI egress ranges or set publicAccess: false`);
        } else if (env === "prod" && open.length > 0) {
            problems.push(`${where}.publicAccessCidrs opens the prod API endpoint to ${open.join(", ")}; list the VPN/CI egress ranges or set publicAccess: false`);
        }
    }
    if (!privateAccess && (!publicAccess || publicAccessCidrs.length > 0 || env === "prod")) {
        problems.push(
            `${where}.privateAccess must be true${env === "prod" ? " in prod" : " when the public endpoint is closed or limited to CIDRs"}: ` +
                "nodes and the EFS/CSI controllers reach the API server from inside the VPC (their NAT addresses are not in publicAccessCidrs)",
        );
    }
}

/** Admins and app teams: one access entry per IAM principal; teams only in the platform's workload namespaces. */
function checkAccess(cluster: ClusterConfig, problems: string[]) {
    const where = `${NAMESPACE}:cluster`;
    const principals = new Map<string, string>();
    const claim = (arn: string, at: string) => {
        const first = principals.get(arn);
        if (first) {
            problems.push(`${at} repeats the IAM principal ${arn} (also at ${first}); EKS allows one access entry per principal`);
        } else {
            principals.set(arn, at);
        }
    };
    cluster.admins.forEach((arn, i) => claim(arn, `${where}.admins[${i}]`));
    const workloadNamespaces: string[] = Object.values(NAMESPACES);
    const names = new Map<string, number>();
    cluster.appTeams.forEach((team, i) => {
        const at = `${where}.appTeams[${i}]`;
        const first = names.get(team.name);
        if (first !== undefined) {
            problems.push(`${at}.name must be unique, got "${team.name}" (also at ${where}.appTeams[${first}])`);
        } else {
            names.set(team.name, i);
        }
        claim(team.principalArn, `${at}.principalArn`);
        team.namespaces.forEach((ns, j) => {
            if (!workloadNamespaces.includes(ns)) {
                problems.push(`${at}.namespaces[${j}] names no workload namespace of the platform: got "${ns}"; known: ${workloadNamespaces.join(", ")}`);
            }
        });
    });
}

/** Validates everything and returns the spec; throws ConfigError listing every problem. */
export function buildStackSpec(raw: RawConfig): StackSpec {
    const problems: string[] = [];
    if (!raw.region) {
        problems.push("aws:region is required (e.g. `pulumi config set aws:region us-east-1`)");
    }
    const parsed = parseKeys(raw, problems);
    const pools = parsed.nodePools ? buildPools(parsed.nodePools, problems) : [];
    if (parsed.nodePools && Object.keys(parsed.nodePools).length === 0) {
        problems.push(`${NAMESPACE}:nodePools must define at least one pool`);
    }
    const env = parsed.environment ?? "dev";
    if (parsed.cluster) {
        checkEndpoint(parsed.cluster, env, problems);
        checkAccess(parsed.cluster, problems);
    }
    const servingCfg = parsed.serving ?? [];
    const trainingCfg = parsed.training ?? [];
    checkUniqueNames(servingCfg, trainingCfg, problems);
    // Workloads are placed on pools: when the pools themselves are invalid, that is the error to show.
    const serving = parsed.nodePools ? buildServing(servingCfg, env, pools, problems) : [];
    const training = parsed.nodePools ? buildTraining(trainingCfg, pools, problems) : [];
    const hasTrackingUri = parsed.mlflowTrackingUri !== undefined;
    if (!hasTrackingUri && servingCfg.length + trainingCfg.length > 0) {
        problems.push(`${NAMESPACE}:mlflowTrackingUri is required when workloads are declared: \`pulumi config set --secret ${NAMESPACE}:mlflowTrackingUri <uri>\``);
    }
    if (problems.length > 0 || !parsed.cluster || !parsed.environment || !parsed.gpuTaint || !parsed.storage) {
        throw new ConfigError(problems.length > 0 ? problems : ["configuration incomplete"]);
    }
    return {
        project: raw.project,
        stack: raw.stack,
        environment: parsed.environment,
        region: raw.region!,
        cluster: parsed.cluster,
        gpuTaint: parsed.gpuTaint,
        nodePools: pools,
        storage: parsed.storage,
        namespaces: { ...NAMESPACES },
        serving,
        training,
        hasTrackingUri,
    };
}
