/**
 * Places each pipeline step on a pool: a named pool is checked (a GPU step on a GPU pool with enough
 * GPUs per node, a CPU step on a CPU pool, and the step's pod fits an empty node), `auto` takes the
 * cheapest pool whose nodes hold the step. The node is judged after the kubelet's reservation and EKS's
 * own DaemonSets; the plan's capacity simulation then adds every DaemonSet the platform deploys.
 */
import { EKS_SYSTEM_DAEMONSETS, nodeAllocatable } from "../capacity/allocatable";
import { instanceType } from "../capacity/catalog";
import { poolLabels, poolTaints, Taint } from "../capacity/pools";
import { poolDevices } from "../capacity/sharing";
import { parseCpu, parseMemory } from "../capacity/quantity";
import { ARGO_EXECUTOR_RESOURCES, PIPELINES_NAMESPACE } from "../facts/pipelines";
import { NAMESPACE, problemLine } from "./errors";
import { PipelineConfig } from "./schema";
import { NodePoolSpec, PipelineSpec, PipelineStepSpec } from "./spec";

type StepConfig = PipelineConfig["steps"][number];

/** What the step's pod asks of a node: its container plus the executor's wait sidecar. */
function stepDemand(s: StepConfig) {
    return {
        cpuMillis: parseCpu(s.cpu) + parseCpu(ARGO_EXECUTOR_RESOURCES.requests.cpu),
        memoryBytes: parseMemory(s.memory) + parseMemory(ARGO_EXECUTOR_RESOURCES.requests.memory),
    };
}

/** Why the pool cannot take the step, or undefined when it can. */
function misfit(s: StepConfig, pool: NodePoolSpec, gpuTaint: Taint): string | undefined {
    const gpusPerNode = pool.gpu?.count ?? 0;
    if (s.gpus > 0 && gpusPerNode === 0) return `is a CPU pool (${pool.instanceType}) and the step asks for ${s.gpus} GPU(s)`;
    if (s.gpus === 0 && gpusPerNode > 0) return `is a GPU pool (${pool.instanceType}); a step without GPUs runs on a CPU pool and leaves the GPU nodes to GPU work`;
    const devices = poolDevices(pool);
    if (s.gpus > 0 && devices?.mode === "time-slicing") return `time-slices its GPUs (no memory isolation) and a step declares no model to bound what it holds on a shared GPU`;
    if (s.gpus > 0 && devices?.mode === "mig" && s.gpus > devices.maxPerPod) return `cuts its GPUs into MIG ${devices.profile} slices; a step gets one (a CUDA process uses one MIG device) and asks for ${s.gpus}`;
    if (s.gpus > gpusPerNode) return `has ${gpusPerNode} GPU(s) per ${pool.instanceType} node and the step asks for ${s.gpus}`;
    const free = nodeAllocatable(instanceType(pool.instanceType), poolTaints(pool, gpuTaint), poolLabels(pool), EKS_SYSTEM_DAEMONSETS);
    const need = stepDemand(s);
    if (need.cpuMillis > free.cpuMillis || need.memoryBytes > free.memoryBytes) {
        return (
            `${pool.instanceType} nodes offer ${free.cpuMillis}m CPU and ${Math.floor(free.memoryBytes / 2 ** 20)}Mi memory to pods, ` +
            `and the step needs ${need.cpuMillis}m and ${Math.ceil(need.memoryBytes / 2 ** 20)}Mi (its requests plus Argo's wait sidecar)`
        );
    }
    return undefined;
}

function placeStep(where: string, s: StepConfig, pools: NodePoolSpec[], gpuTaint: Taint, problems: string[]): { pool: string; placedBy?: string } | undefined {
    if (s.pool === "auto") {
        const fitting = pools.filter((p) => misfit(s, p, gpuTaint) === undefined).sort((a, b) => instanceType(a.instanceType).onDemandHourlyUsd - instanceType(b.instanceType).onDemandHourlyUsd);
        if (fitting.length === 0) {
            problems.push(
                problemLine(`${where}.pool`, "is \"auto\" but no pool's nodes hold the step", "auto", `lower cpu/memory/gpus, or add a pool that fits; the pools: ${pools.map((p) => `${p.name} ${misfit(s, p, gpuTaint)}`).join("; ")}`),
            );
            return undefined;
        }
        const chosen = fitting[0];
        // Pools of the other kind (CPU for a GPU step and vice versa) go without saying.
        const kind = (p: NodePoolSpec) => (p.gpu ? 1 : 0) === (s.gpus > 0 ? 1 : 0);
        const passed = pools.filter((p) => kind(p) && p !== chosen).map((p) => `${p.name}: ${misfit(s, p, gpuTaint) ?? `dearer ($${instanceType(p.instanceType).onDemandHourlyUsd}/h)`}`);
        return {
            pool: chosen.name,
            placedBy: `auto: the cheapest ${s.gpus > 0 ? "GPU" : "CPU"} pool whose nodes hold it (${chosen.instanceType}, $${instanceType(chosen.instanceType).onDemandHourlyUsd}/h)${passed.length > 0 ? `; not ${passed.join("; ")}` : ""}`,
        };
    }
    const pool = pools.find((p) => p.name === s.pool);
    if (!pool) {
        problems.push(problemLine(`${where}.pool`, "names no node pool", s.pool, `${pools.map((p) => p.name).join(", ")}, or "auto"`));
        return undefined;
    }
    const why = misfit(s, pool, gpuTaint);
    if (why) {
        const fitting = pools.filter((p) => misfit(s, p, gpuTaint) === undefined).map((p) => p.name);
        problems.push(problemLine(`${where}.pool`, `cannot take the step: pool "${pool.name}" ${why}`, s.pool, fitting.length > 0 ? `${fitting.join(", ")}, or "auto"` : "no pool holds this step: lower cpu/memory/gpus or add a pool"));
        return undefined;
    }
    return { pool: pool.name };
}

function checkStepLimits(where: string, s: StepConfig, problems: string[]) {
    if (s.cpuLimit && parseCpu(s.cpuLimit) < parseCpu(s.cpu)) problems.push(`${where}.cpuLimit must be >= cpu (${s.cpu}), got ${s.cpuLimit}`);
    if (s.memoryLimit && parseMemory(s.memoryLimit) < parseMemory(s.memory)) problems.push(`${where}.memoryLimit must be >= memory (${s.memory}), got ${s.memoryLimit}`);
}

/** Resolved pipelines; problems get one line per step that cannot be placed. */
export function pipelineSpecs(entries: PipelineConfig[], pools: NodePoolSpec[], gpuTaint: Taint, problems: string[]): PipelineSpec[] {
    return entries.flatMap((pl, i) => {
        const before = problems.length;
        const steps = pl.steps.flatMap<PipelineStepSpec>((s, j) => {
            const where = `${NAMESPACE}:pipelines[${i}].steps[${j}]`;
            checkStepLimits(where, s, problems);
            const placed = placeStep(where, s, pools, gpuTaint, problems);
            if (!placed) return [];
            return [
                {
                    name: s.name,
                    image: s.image,
                    command: s.command,
                    args: s.args,
                    pool: placed.pool,
                    gpus: s.gpus,
                    cpu: s.cpu,
                    memory: s.memory,
                    cpuLimit: s.cpuLimit ?? s.cpu,
                    memoryLimit: s.memoryLimit ?? s.memory,
                    dependencies: s.dependencies,
                    expectedMinutes: s.expectedMinutes,
                    publishes: s.publishes,
                    ...(s.gate ? { gate: s.gate } : {}),
                    ...(placed.placedBy ? { placedBy: placed.placedBy } : {}),
                },
            ];
        });
        if (problems.length > before) return [];
        return [
            {
                name: pl.name,
                namespace: PIPELINES_NAMESPACE,
                ...(pl.schedule !== undefined ? { schedule: pl.schedule } : {}),
                concurrencyPolicy: pl.concurrencyPolicy,
                activeDeadlineSeconds: pl.activeDeadlineSeconds,
                steps,
            },
        ];
    });
}
