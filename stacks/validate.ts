/**
 * Turns raw `ml-platform:*` config values into a StackSpec, or fails with every problem found, each
 * naming the config key, the bad value and what is allowed. Pure: no Pulumi, so it is tested as a table.
 * The shapes are in schema.ts, rules across keys in crossChecks.ts, GPU sizing in placement.ts.
 */
import { instanceType } from "../capacity/catalog";
import { checkAccess, checkEndpoint, checkPools, checkRegion, checkServing, checkTrackingUri, checkTraining, checkUniqueNames, checkZones } from "./crossChecks";
import { ConfigError, NAMESPACE } from "./errors";
import { checkKarpenterPools, checkPoolCapacity, checkPoolPlacement, checkServingOnSpot, gpuSpotOf } from "./poolChecks";
import { parseConfigKeys, toFileIndices } from "./parseConfig";
import { checkGpuTaint, checkPolicyLimits, PolicyLimits, policyLimitsOf, readPolicyLimits } from "./policyLimits";
import { GpuChoice, placeWorkload, servingMemory, trainingMemory } from "./placement";
import { checkTrainingAccess, dataSyncSpecs, trainingAccessOf } from "./dataSync";
import { NodePoolConfig, ServingConfig, TrainingConfig } from "./schema";
import { NAMESPACES, NodePoolSpec, ServingSpec, StackSpec, TrainingSpec } from "./spec";
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
        ...(p.availabilityZones ? { availabilityZones: p.availabilityZones } : {}),
        ...(p.efa ? { efa: true } : {}),
        ...(p.capacityReservation ? { capacityReservation: p.capacityReservation } : {}),
    }));
}

function estimateOf(choice: GpuChoice) {
    return choice.estimate !== undefined ? { gpuMemoryEstimateBytes: Math.ceil(choice.estimate) } : {};
}

/** Whether to leave a workload's placement unjudged: its pool (or, for auto, any pool) is broken and already reported. */
type SkipPlacement = (pool: string) => boolean;

function servingSpecs(entries: ServingConfig[], pools: NodePoolSpec[], problems: string[], skip: SkipPlacement): ServingSpec[] {
    return entries.flatMap((s, i) => {
        if (skip(s.pool)) {
            return [];
        }
        const choice = placeWorkload(`${NAMESPACE}:serving[${i}]`, "gpus", { pool: s.pool, gpus: s.gpus }, servingMemory(s.model), pools, problems);
        if (!choice) {
            return [];
        }
        return [
            {
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
                ...estimateOf(choice),
            },
        ];
    });
}

function trainingSpecs(entries: TrainingConfig[], pools: NodePoolSpec[], problems: string[], skip: SkipPlacement): TrainingSpec[] {
    return entries.flatMap((t, i) => {
        if (skip(t.pool)) {
            return [];
        }
        const pods = 1 + (t.kind === "PyTorchJob" ? (t.workers ?? 0) : 0);
        const choice = placeWorkload(`${NAMESPACE}:training[${i}]`, "gpusPerPod", { pool: t.pool, gpus: t.gpusPerPod }, trainingMemory(t.model, pods), pools, problems);
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
    if (parsed.nodePools) {
        checkPools(parsed.nodePools, parsed.cluster?.name, problems, brokenPools.length === 0);
        checkPoolPlacement(parsed.nodePools, parsed.cluster?.availabilityZones, problems);
        checkPoolCapacity(parsed.nodePools, gpuSpotOf(parsed.gpuSpot, judgedTier), problems);
    }
    if (parsed.cluster) {
        checkZones(raw.region, parsed.cluster, problems);
        checkEndpoint(parsed.cluster, judgedTier, problems);
        checkAccess(parsed.cluster, problems);
    }
    const servingCfg = parsed.serving ?? [];
    const trainingCfg = parsed.training ?? [];
    checkServing(servingCfg, problems);
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
    checkTrackingUri(hasTrackingUri, servingCfg.length + trainingCfg.length, problems);
    const pools = parsed.nodePools ? poolSpecs(parsed.nodePools) : [];
    // Workloads are placed on pools: when the pools themselves are invalid, that is the error to show.
    const skip: SkipPlacement = (pool) => brokenPools.includes(pool) || (pool === "auto" && brokenPools.length > 0);
    const serving = parsed.nodePools ? servingSpecs(servingCfg, pools, problems, skip) : [];
    const training = parsed.nodePools ? trainingSpecs(trainingCfg, pools, problems, skip) : [];
    checkServingOnSpot(serving, pools, gpuSpotOf(parsed.gpuSpot, judgedTier), problems);
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
        hasTrackingUri,
        nodeProvisioner: parsed.nodeProvisioner ?? "cluster-autoscaler",
    };
}
