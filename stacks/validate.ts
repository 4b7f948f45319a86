/**
 * Turns raw `ml-platform:*` config values into a StackSpec, or fails with every problem found, each
 * naming the config key, the bad value and what is allowed. Pure: no Pulumi, so it is tested as a table.
 * The shapes are in schema.ts, rules across keys in crossChecks.ts, GPU sizing in placement.ts.
 */
import { instanceType } from "../capacity/catalog";
import { poolDevices } from "../capacity/sharing";
import { declaredMonthlyHours } from "../capacity/trainingTime";
import { queueShareProblems } from "../capacity/queues";
import { checkAccess, checkEndpoint, checkPools, checkRegion, checkServing, checkTrackingUri, checkTraining, checkUniqueNames, checkZones } from "./crossChecks";
import { ConfigError, NAMESPACE, problemLine } from "./errors";
import { checkKarpenterPools, checkPoolCapacity, checkPoolPlacement, checkPoolSharing, checkServingOnSpot, gpuSpotOf, sharingOf } from "./poolChecks";
import { parseConfigKeys, toFileIndices } from "./parseConfig";
import { checkGpuTaint, checkPolicyLimits, PolicyLimits, policyLimitsOf, readPolicyLimits } from "./policyLimits";
import { AutoPlacementContext, GpuChoice, placeAuto, placeWorkload, servingMemory, trainingMemory } from "./placement";
import { checkTrainingAccess, dataSyncSpecs, trainingAccessOf } from "./dataSync";
import { ALERT_DEFAULTS, NodePoolConfig, ServingConfig, TrainingConfig } from "./schema";
import { pipelineSpecs } from "./pipelines";
import { NAMESPACES, NodePoolSpec, ServingSpec, StackSpec, TrainingSpec, VllmServer } from "./spec";
import { DEFAULT_GPU_MEMORY_HEADROOM } from "../capacity/gpuHeadroom";
import { DEFAULT_GPU_TAINT, Taint } from "../capacity/pools";
import { gpuMemoryUtilization, shmBytesFor } from "../capacity/runtimes";
import { PodGroup } from "../capacity/scheduling";
import { poolCapacities, servingPodGroups, trainingPodGroups } from "./podDemand";
import { checkRuntimes } from "./runtimeChecks";
import { checkTimeSlicedMemory } from "./sharingChecks";
import { VERSIONS } from "../facts/versions";
import { resolveTier } from "./tiers";

export interface RawConfig {
    project: string;
    stack: string;
    /** `aws:region`. */
    region: string | undefined;
    /** Values of `ml-platform:<key>` as Pulumi stores them (objects as JSON text). */
    values: Record<string, string>;
    /** Keys (without namespace) whose values are Pulumi secrets. */
    secretKeys: string[];
    /** What the stack's policy config forbids; default: read from policy/config/<tier>.json. */
    policyLimits?: PolicyLimits;
}

/** `badSharing`: pools whose sharing block is invalid (reported); their specs carry none, their workloads are not placed. */
function poolSpecs(pools: Record<string, NodePoolConfig>, badSharing: string[] = []): NodePoolSpec[] {
    return Object.entries(pools).map(([name, p]) => {
        const gpu = instanceType(p.instanceType).gpu;
        const sharing = badSharing.includes(name) ? undefined : sharingOf(p);
        return {
            name,
            instanceType: p.instanceType,
            minSize: p.minSize,
            maxSize: p.maxSize,
            desiredSize: p.desiredSize ?? p.minSize,
            capacityType: p.capacityType,
            diskSizeGiB: p.diskSizeGiB,
            gpu,
            ...(p.availabilityZones ? { availabilityZones: p.availabilityZones } : {}),
            ...(p.efa ? { efa: true } : {}),
            ...(p.capacityReservation ? { capacityReservation: p.capacityReservation } : {}),
            ...(sharing ? { sharing } : {}),
        };
    });
}

function estimateOf(choice: GpuChoice) {
    return {
        ...(choice.estimate !== undefined ? { gpuMemoryEstimateBytes: Math.ceil(choice.estimate) } : {}),
        placement: choice.decision ?? { how: "config" as const, summary: `named in config: pool ${choice.pool}, ${choice.gpus} GPU(s) per pod`, candidates: [] },
    };
}

/** Whether to leave a workload's placement unjudged: its pool (or, for auto, any pool) is broken and already reported. */
type SkipPlacement = (pool: string) => boolean;

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
function placeAll(servingCfg: ServingConfig[], trainingCfg: TrainingConfig[], pools: NodePoolSpec[], gpuTaint: Taint, headroom: number, problems: string[], skip: SkipPlacement): Choices {
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
        if (s.pool !== "auto" && !skip(s.pool)) {
            choices.serving[i] = keep(placeWorkload(`${NAMESPACE}:serving[${i}]`, "gpus", { pool: s.pool, gpus: s.gpus }, servingMemory(s.model), pools, problems), servingGroups(s));
        }
    });
    trainingCfg.forEach((t, i) => {
        if (t.pool !== "auto" && !skip(t.pool)) {
            const choice = placeWorkload(`${NAMESPACE}:training[${i}]`, "gpusPerPod", { pool: t.pool, gpus: t.gpusPerPod }, trainingMemory(t.model, podsOf(t)), pools, problems);
            choices.training[i] = keep(choice, trainingGroups(t));
        }
    });
    servingCfg.forEach((s, i) => {
        if (s.pool === "auto" && !skip(s.pool)) {
            const choice = placeAuto(`${NAMESPACE}:serving[${i}]`, "gpus", s.name, s.gpus, servingMemory(s.model), servingGroups(s), ctx, problems);
            choices.serving[i] = keep(choice, servingGroups(s));
        }
    });
    trainingCfg.forEach((t, i) => {
        if (t.pool === "auto" && !skip(t.pool)) {
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
        // Of the memory one device holds: a whole GPU, a MIG slice, or a time-sliced GPU's (shared) memory.
        gpuMemoryUtilization: gpuMemoryUtilization(choice.estimate, poolDevices(pool)!.memoryMiB * 2 ** 20),
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

function hoursOf(t: TrainingConfig): { expectedHoursPerMonth?: number; hoursPerRun?: number } {
    const hours = declaredMonthlyHours(t);
    return { ...(hours !== undefined ? { expectedHoursPerMonth: hours } : {}), ...(t.hoursPerRun !== undefined ? { hoursPerRun: t.hoursPerRun } : {}) };
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
                ...trainingAccessOf(t),
                ...hoursOf(t),
                ...estimateOf(choice),
            },
        ];
    });
}

/** Validates everything and returns the spec; throws ConfigError listing every problem. */
export function buildStackSpec(raw: RawConfig): StackSpec {
    const problems: string[] = [];
    checkRegion(raw.region, problems);
    const { values: parsed, indices, brokenPools } = parseConfigKeys(raw.values, raw.secretKeys, problems);
    // Problems from here on are about the entries that parsed, named by their place among those kept.
    const structural = problems.length;
    const tier = resolveTier(parsed.tier, parsed.environment, problems);
    // Checks that depend on the tier are judged as dev (the lenient side) while the tier is unknown.
    const judgedTier = tier ?? "dev";
    let badSharing: string[] = [];
    if (parsed.nodePools) {
        checkPools(parsed.nodePools, parsed.cluster?.name, problems, brokenPools.length === 0);
        checkPoolPlacement(parsed.nodePools, parsed.cluster?.availabilityZones, problems);
        checkPoolCapacity(parsed.nodePools, gpuSpotOf(parsed.gpuSpot, judgedTier), problems);
        badSharing = checkPoolSharing(parsed.nodePools, problems);
    }
    if (parsed.cluster) {
        checkZones(raw.region, parsed.cluster, problems);
        checkEndpoint(parsed.cluster, judgedTier, problems);
        checkAccess(parsed.cluster, problems);
    }
    const servingCfg = parsed.serving ?? [];
    const trainingCfg = parsed.training ?? [];
    checkServing(servingCfg, problems);
    checkRuntimes(servingCfg, problems);
    // Which policy config applies depends on the tier: unknown tier, no judgement (the tier's problem is shown).
    if (tier) {
        const limits = raw.policyLimits ?? readPolicyLimits(tier) ?? policyLimitsOf({}, "the policy pack's defaults");
        checkPolicyLimits(limits, parsed.nodePools, servingCfg, problems);
        checkGpuTaint(limits, parsed.gpuTaint, parsed.nodePools, problems);
    }
    checkTraining(trainingCfg, problems);
    checkUniqueNames(servingCfg, trainingCfg, problems);
    checkTrainingAccess(trainingCfg, parsed.dataSync ?? [], problems);
    const hasTrackingUri = parsed.mlflowTrackingUri !== undefined;
    const pipelinesCfg = parsed.pipelines ?? [];
    checkTrackingUri(hasTrackingUri, servingCfg.length + trainingCfg.length + pipelinesCfg.length, problems);
    const pools = parsed.nodePools ? poolSpecs(parsed.nodePools, badSharing) : [];
    const queues = parsed.queues ?? {};
    // Shares are judged against the pools only when every pool parsed: a broken pool is already the problem to show.
    if (parsed.nodePools && brokenPools.length === 0) {
        for (const p of queueShareProblems(queues, pools, parsed.cluster?.appTeams ?? [], NAMESPACES.training)) {
            problems.push(problemLine(`${NAMESPACE}:queues.${p.path}`, p.wrong, p.got, p.allowed));
        }
    }
    // Workloads are placed on pools: when the pools themselves are invalid, that is the error to show.
    const unplaceable = [...brokenPools, ...badSharing];
    const skip: SkipPlacement = (pool) => unplaceable.includes(pool) || (pool === "auto" && unplaceable.length > 0);
    const headroom = parsed.placement?.gpuMemoryHeadroom ?? DEFAULT_GPU_MEMORY_HEADROOM;
    const choices = parsed.nodePools ? placeAll(servingCfg, trainingCfg, pools, parsed.gpuTaint ?? DEFAULT_GPU_TAINT, headroom, problems, skip) : { serving: [], training: [] };
    const serving = servingSpecs(servingCfg, choices.serving, pools);
    const training = trainingSpecs(trainingCfg, choices.training);
    const pipelines = parsed.nodePools && parsed.gpuTaint ? pipelineSpecs(pipelinesCfg, pools, parsed.gpuTaint, problems) : [];
    checkServingOnSpot(serving, pools, gpuSpotOf(parsed.gpuSpot, judgedTier), problems);
    checkTimeSlicedMemory(pools, serving, training, headroom, problems);
    if (parsed.nodePools && parsed.nodeProvisioner === "karpenter") {
        checkKarpenterPools(parsed.nodePools, problems);
    }
    problems.splice(structural, problems.length - structural, ...toFileIndices(problems.slice(structural), indices));
    if (problems.length > 0 || !parsed.cluster || !tier || !parsed.gpuTaint || !parsed.storage) {
        throw new ConfigError(problems.length > 0 ? problems : ["configuration incomplete"]);
    }
    return {
        project: raw.project,
        stack: raw.stack,
        environment: parsed.environment ?? raw.stack,
        tier,
        region: raw.region!,
        cluster: parsed.cluster,
        gpuTaint: parsed.gpuTaint,
        nodePools: pools,
        storage: parsed.storage,
        namespaces: { ...NAMESPACES },
        serving,
        training,
        dataSync: dataSyncSpecs(parsed.dataSync ?? [], pools),
        alerts: parsed.alerts ?? ALERT_DEFAULTS,
        pipelines,
        hasTrackingUri,
        nodeProvisioner: parsed.nodeProvisioner ?? "cluster-autoscaler",
        queues,
        gpuMemoryHeadroom: headroom,
    };
}
