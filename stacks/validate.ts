/**
 * Turns raw `ml-platform:*` config values into a StackSpec, or fails with every problem found, each
 * naming the config key, the bad value and what is allowed. Pure: no Pulumi, so it is tested as a table.
 * The shapes are in schema.ts, rules across keys in crossChecks.ts, GPU sizing in placement.ts.
 */
import { z } from "zod";
import { instanceType } from "../capacity/catalog";
import { credentialShape } from "./credentials";
import { checkAccess, checkEndpoint, checkPools, checkRegion, checkServing, checkTrackingUri, checkTraining, checkUniqueNames, checkZones } from "./crossChecks";
import { ConfigError, formatIssue, keyPath, NAMESPACE } from "./errors";
import { checkPolicyLimits, PolicyLimits, policyLimitsOf, readPolicyLimits } from "./policyLimits";
import { AutoPlacementContext, GpuChoice, placeAuto, placeWorkload, servingMemory, trainingMemory } from "./placement";
import { configKeys, NodePoolConfig, REQUIRED_KEYS, SECRET_KEYS, ServingConfig, TrainingConfig } from "./schema";
import { NAMESPACES, NodePoolSpec, ServingSpec, StackSpec, TrainingSpec, VllmServer } from "./spec";
import { DEFAULT_GPU_MEMORY_HEADROOM } from "../capacity/gpuHeadroom";
import { DEFAULT_GPU_TAINT, Taint } from "../capacity/pools";
import { gpuMemoryUtilization, shmBytesFor } from "../capacity/runtimes";
import { PodGroup } from "../capacity/scheduling";
import { poolCapacities, servingPodGroups, trainingPodGroups } from "./podDemand";
import { checkRuntimes } from "./runtimeChecks";
import { VERSIONS } from "../facts/versions";

export interface RawConfig {
    project: string;
    stack: string;
    /** `aws:region`. */
    region: string | undefined;
    /** Values of `ml-platform:<key>` as Pulumi stores them (objects as JSON text). */
    values: Record<string, string>;
    /** Keys (without namespace) whose values are Pulumi secrets. */
    secretKeys: string[];
    /** What the stack's policy config forbids; default: read from policy/config/<environment>.json. */
    policyLimits?: PolicyLimits;
}

type Parsed = { [K in keyof typeof configKeys]: z.infer<(typeof configKeys)[K]> };

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

function poolSpecs(pools: Record<string, NodePoolConfig>): NodePoolSpec[] {
    return Object.entries(pools).map(([name, p]) => ({
        name,
        instanceType: p.instanceType,
        minSize: p.minSize,
        maxSize: p.maxSize,
        desiredSize: p.desiredSize ?? p.minSize,
        capacityType: p.capacityType,
        diskSizeGiB: p.diskSizeGiB,
        gpu: instanceType(p.instanceType).gpu,
    }));
}

function estimateOf(choice: GpuChoice) {
    return {
        ...(choice.estimate !== undefined ? { gpuMemoryEstimateBytes: Math.ceil(choice.estimate) } : {}),
        placement: choice.decision ?? { how: "config" as const, summary: `named in config: pool ${choice.pool}, ${choice.gpus} GPU(s) per pod`, candidates: [] },
    };
}

interface Choices {
    serving: (GpuChoice | undefined)[];
    training: (GpuChoice | undefined)[];
}

const servingSizing = (s: ServingConfig, gpus: number) => ({ cpu: s.cpu, memory: s.memory, cpuLimit: s.cpuLimit ?? s.cpu, memoryLimit: s.memoryLimit ?? s.memory, shmBytes: shmBytesFor(gpus) });
const trainingSizing = (t: TrainingConfig) => ({ cpu: t.cpu, memory: t.memory, cpuLimit: t.cpuLimit ?? t.cpu, memoryLimit: t.memoryLimit ?? t.memory });
const podsOf = (t: TrainingConfig) => 1 + (t.kind === "PyTorchJob" ? (t.workers ?? 0) : 0);

/**
 * Pools for every entry: named pools first (they are where the config says, whatever else happens),
 * then the `pool: auto` entries in config order (serving, then training), each packed beside
 * everything placed before it so it never takes capacity a named workload needs.
 */
function placeAll(servingCfg: ServingConfig[], trainingCfg: TrainingConfig[], pools: NodePoolSpec[], gpuTaint: Taint, headroom: number, problems: string[]): Choices {
    const ctx: AutoPlacementContext = { pools, capacities: poolCapacities(pools, gpuTaint), headroom, others: [] };
    const poolNamed = (name: string) => pools.find((p) => p.name === name)!;
    const servingGroups = (s: ServingConfig) => (pool: NodePoolSpec, gpus: number): PodGroup[] => servingPodGroups(s.name, servingSizing(s, gpus), gpus, s.replicas.max, pool, gpuTaint);
    const trainingGroups = (t: TrainingConfig) => (pool: NodePoolSpec, gpus: number): PodGroup[] =>
        trainingPodGroups(t.name, t.kind, trainingSizing(t), gpus, t.kind === "PyTorchJob" ? (t.workers ?? 1) : 0, pool, gpuTaint);
    const choices: Choices = { serving: [], training: [] };
    const keep = (choice: GpuChoice | undefined, groups: (pool: NodePoolSpec, gpus: number) => PodGroup[]) => {
        if (choice) {
            ctx.others.push(...groups(poolNamed(choice.pool), choice.gpus));
        }
        return choice;
    };
    servingCfg.forEach((s, i) => {
        if (s.pool !== "auto") {
            choices.serving[i] = keep(placeWorkload(`${NAMESPACE}:serving[${i}]`, "gpus", { pool: s.pool, gpus: s.gpus }, servingMemory(s.model), pools, problems), servingGroups(s));
        }
    });
    trainingCfg.forEach((t, i) => {
        if (t.pool !== "auto") {
            const choice = placeWorkload(`${NAMESPACE}:training[${i}]`, "gpusPerPod", { pool: t.pool, gpus: t.gpusPerPod }, trainingMemory(t.model, podsOf(t)), pools, problems);
            choices.training[i] = keep(choice, trainingGroups(t));
        }
    });
    servingCfg.forEach((s, i) => {
        if (s.pool === "auto") {
            const choice = placeAuto(`${NAMESPACE}:serving[${i}]`, "gpus", s.name, s.gpus, servingMemory(s.model), servingGroups(s), ctx, problems);
            choices.serving[i] = keep(choice, servingGroups(s));
        }
    });
    trainingCfg.forEach((t, i) => {
        if (t.pool === "auto") {
            const choice = placeAuto(`${NAMESPACE}:training[${i}]`, "gpusPerPod", t.name, t.gpusPerPod, trainingMemory(t.model, podsOf(t)), trainingGroups(t), ctx, problems);
            choices.training[i] = keep(choice, trainingGroups(t));
        }
    });
    return choices;
}

/** vLLM's derived settings: tensor parallel over the pod's GPUs, the sized sequence length, the estimate's share of each GPU. */
function vllmServer(s: ServingConfig, choice: GpuChoice, pools: NodePoolSpec[]): VllmServer | undefined {
    const pool = pools.find((p) => p.name === choice.pool);
    if (!s.model || choice.estimate === undefined || !pool?.gpu) {
        return undefined;
    }
    return {
        tensorParallelSize: choice.gpus,
        maxModelLen: s.model.sequenceLength,
        gpuMemoryUtilization: gpuMemoryUtilization(choice.estimate, pool.gpu.memoryMiB * 2 ** 20),
        precision: s.model.precision,
    };
}

function servingSpecs(entries: ServingConfig[], choices: (GpuChoice | undefined)[], pools: NodePoolSpec[]): ServingSpec[] {
    return entries.flatMap((s, i) => {
        const choice = choices[i];
        if (!choice) {
            return [];
        }
        const vllm = s.runtime === "vllm" ? vllmServer(s, choice, pools) : undefined;
        return [
            {
                name: s.name,
                namespace: NAMESPACES.serving,
                image: s.image ?? VERSIONS.vllm,
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
                runtime: s.runtime,
                args: s.args,
                env: s.env,
                secretEnv: s.secretEnv,
                shmBytes: shmBytesFor(choice.gpus),
                ...(vllm ? { vllm } : {}),
                ...estimateOf(choice),
            },
        ];
    });
}

function trainingSpecs(entries: TrainingConfig[], choices: (GpuChoice | undefined)[]): TrainingSpec[] {
    return entries.flatMap((t, i) => {
        const choice = choices[i];
        if (!choice) {
            return [];
        }
        return [
            {
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
                ...estimateOf(choice),
            },
        ];
    });
}

/** Validates everything and returns the spec; throws ConfigError listing every problem. */
export function buildStackSpec(raw: RawConfig): StackSpec {
    const problems: string[] = [];
    checkRegion(raw.region, problems);
    const parsed = parseKeys(raw, problems);
    const env = parsed.environment ?? "dev";
    if (parsed.nodePools) {
        checkPools(parsed.nodePools, parsed.cluster?.name, problems);
    }
    if (parsed.cluster) {
        checkZones(raw.region, parsed.cluster, problems);
        checkEndpoint(parsed.cluster, env, problems);
        checkAccess(parsed.cluster, problems);
    }
    const servingCfg = parsed.serving ?? [];
    const trainingCfg = parsed.training ?? [];
    checkServing(servingCfg, problems);
    checkRuntimes(servingCfg, problems);
    checkPolicyLimits(raw.policyLimits ?? readPolicyLimits(env) ?? policyLimitsOf({}, "the policy pack's defaults"), parsed.nodePools, servingCfg, problems);
    checkTraining(trainingCfg, problems);
    checkUniqueNames(servingCfg, trainingCfg, problems);
    const hasTrackingUri = parsed.mlflowTrackingUri !== undefined;
    checkTrackingUri(hasTrackingUri, servingCfg.length + trainingCfg.length, problems);
    const pools = parsed.nodePools ? poolSpecs(parsed.nodePools) : [];
    // Workloads are placed on pools: when the pools themselves are invalid, that is the error to show.
    const headroom = parsed.placement?.gpuMemoryHeadroom ?? DEFAULT_GPU_MEMORY_HEADROOM;
    const choices = parsed.nodePools ? placeAll(servingCfg, trainingCfg, pools, parsed.gpuTaint ?? DEFAULT_GPU_TAINT, headroom, problems) : { serving: [], training: [] };
    const serving = servingSpecs(servingCfg, choices.serving, pools);
    const training = trainingSpecs(trainingCfg, choices.training);
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
        gpuMemoryHeadroom: headroom,
    };
}
