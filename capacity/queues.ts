/**
 * Kueue's objects derived from the node pools (issue 17): a ResourceFlavor per GPU pool (its node labels
 * and taints are the pool's, from capacity/pools), ClusterQueues whose nominal quotas split each pool's
 * capacity at maxSize between the app teams' shares and the platform's own queue, all in one cohort so an
 * idle share can be borrowed. Pure: the component renders these, the policy and the planner read them.
 *
 * Quota per node is the node's allocatable for pods: the kubelet's allocatable less the DaemonSets that
 * land on every node of the pool (EKS's own and the NVIDIA device plugin / DCGM exporter), the same figure
 * the capacity planner packs against. A quota from instance capacity would admit a job whose pods then
 * stay Pending; one from kubelet allocatable alone would do so by the DaemonSets' few hundred millicores.
 */
import { DaemonSetLoad, EKS_SYSTEM_DAEMONSETS, nodeAllocatable } from "./allocatable";
import { efaDevicePluginDaemonSet } from "./efa";
import { nvidiaDaemonSetLoads } from "./nvidiaDaemonSets";
import { instanceType } from "./catalog";
import { GPU_RESOURCE, NodePoolShape, Taint, isGpuPool, poolLabels, poolNodeSelector, poolTaints } from "./pools";
import { KUEUE_COHORT, PLATFORM_QUEUE } from "../facts/kueue";

export interface QueuePool extends NodePoolShape {
    maxSize: number;
}

/** One team's share of each GPU pool, a fraction in (0, 1]: `ml-platform:queues.<team>.<pool>`. */
export type QueueShares = Record<string, Record<string, number>>;

export interface ResourceFlavorShape {
    name: string;
    nodeLabels: Record<string, string>;
    nodeTaints: Taint[];
}

/** Quota in whole units: millicores, bytes, GPUs. */
export interface Quota {
    cpuMillis: number;
    memoryBytes: number;
    gpus: number;
}

export interface ClusterQueueShape {
    name: string;
    cohort: string;
    /** Per flavor (= pool), in pool order. */
    quotas: { flavor: string; quota: Quota }[];
}

/** A flavor is its pool: the pool's node-pool label (what workloads select) and its taints. */
export function resourceFlavorFor(pool: NodePoolShape, gpuTaint: Taint): ResourceFlavorShape {
    return { name: pool.name, nodeLabels: poolNodeSelector(pool), nodeTaints: poolTaints(pool, gpuTaint) };
}

/** What one node of the pool gives pods, as Kueue quota. */
export function nodeQuota(pool: NodePoolShape, gpuTaint: Taint, allPools: NodePoolShape[] = [pool]): Quota {
    const a = nodeAllocatable(instanceType(pool.instanceType), poolTaints(pool, gpuTaint), poolLabels(pool), [...EKS_SYSTEM_DAEMONSETS, ...nvidiaDaemonSetLoads(allPools, gpuTaint), ...[efaDevicePluginDaemonSet(allPools, gpuTaint)].filter((d): d is DaemonSetLoad => d !== undefined)]);
    return { cpuMillis: a.cpuMillis, memoryBytes: a.memoryBytes, gpus: a.extended[GPU_RESOURCE] ?? 0 };
}

/** The pool's whole capacity at maxSize. */
export function poolQuota(pool: QueuePool, gpuTaint: Taint, allPools: NodePoolShape[] = [pool]): Quota {
    const n = nodeQuota(pool, gpuTaint, allPools);
    return { cpuMillis: n.cpuMillis * pool.maxSize, memoryBytes: n.memoryBytes * pool.maxSize, gpus: n.gpus * pool.maxSize };
}

/** A share of a quota, rounded down to whole GPUs, millicores and MiB so shares never sum above the pool. */
function shareOf(q: Quota, share: number): Quota {
    const MiB = 2 ** 20;
    return { cpuMillis: Math.floor(q.cpuMillis * share), memoryBytes: Math.floor((q.memoryBytes * share) / MiB) * MiB, gpus: Math.floor(q.gpus * share) };
}

/**
 * One ClusterQueue per team with a share, then the platform's queue with what the shares leave, so each
 * pool's quotas sum to exactly its capacity at maxSize. GPU pools are flavors of every queue: training
 * runs there. `pipelineCpuPools` names the CPU pools pipeline steps run on (capacity/pipelines.ts
 * pipelineCpuPools): their pods are queued too (through the platform's queue, see localQueues), so the
 * platform's queue also gets a flavor per such pool, quota its capacity at maxSize, the same rule.
 */
export function clusterQueues(pools: QueuePool[], gpuTaint: Taint, shares: QueueShares, pipelineCpuPools: readonly string[] = []): ClusterQueueShape[] {
    const gpu = pools.filter(isGpuPool);
    const totals = new Map(gpu.map((p) => [p.name, poolQuota(p, gpuTaint, gpu)]));
    const teams = Object.keys(shares).sort();
    const teamQueues = teams.map<ClusterQueueShape>((team) => ({
        name: team,
        cohort: KUEUE_COHORT,
        quotas: gpu.map((p) => ({ flavor: p.name, quota: shareOf(totals.get(p.name)!, shares[team][p.name] ?? 0) })),
    }));
    const platform: ClusterQueueShape = {
        name: PLATFORM_QUEUE,
        cohort: KUEUE_COHORT,
        quotas: gpu.map((p) => {
            const total = totals.get(p.name)!;
            const taken = teamQueues.map((q) => q.quotas.find((x) => x.flavor === p.name)!.quota);
            return {
                flavor: p.name,
                quota: {
                    cpuMillis: total.cpuMillis - taken.reduce((n, t) => n + t.cpuMillis, 0),
                    memoryBytes: total.memoryBytes - taken.reduce((n, t) => n + t.memoryBytes, 0),
                    gpus: total.gpus - taken.reduce((n, t) => n + t.gpus, 0),
                },
            };
        }),
    };
    const cpu = pools.filter((p) => !isGpuPool(p) && pipelineCpuPools.includes(p.name));
    platform.quotas.push(...cpu.map((p) => ({ flavor: p.name, quota: poolQuota(p, gpuTaint, gpu) })));
    return [platform, ...teamQueues];
}

/** The non-GPU pools some pipeline step runs on: they become flavors of the platform's queue. */
export function pipelineCpuPools(pools: NodePoolShape[], pipelines: readonly { steps: readonly { pool: string }[] }[]): string[] {
    const used = new Set(pipelines.flatMap((p) => p.steps.map((s) => s.pool)));
    return pools.filter((p) => !isGpuPool(p) && used.has(p.name)).map((p) => p.name);
}

export interface LocalQueueShape {
    name: string;
    namespace: string;
    clusterQueue: string;
}

/**
 * The LocalQueues, named after their ClusterQueue: one per ClusterQueue in the training namespace, and,
 * when the stack has pipelines, the platform's in the pipelines namespace too. Pipelines are the
 * platform's (ml-platform:pipelines), so their steps queue where the platform's own training does, and
 * the one label helper (components/training.ts kueueLabels) names the right queue in both namespaces.
 */
export function localQueues(queues: readonly ClusterQueueShape[], trainingNamespace: string, pipelinesNamespace?: string): LocalQueueShape[] {
    const training = queues.map((q) => ({ name: q.name, namespace: trainingNamespace, clusterQueue: q.name }));
    const pipelines = pipelinesNamespace !== undefined ? [{ name: PLATFORM_QUEUE, namespace: pipelinesNamespace, clusterQueue: PLATFORM_QUEUE }] : [];
    return [...training, ...pipelines];
}

/** The namespaces a ClusterQueue admits from: exactly those of the LocalQueues that point at it. */
export function clusterQueueNamespaces(queue: string, lqs: readonly LocalQueueShape[]): string[] {
    return [...new Set(lqs.filter((l) => l.clusterQueue === queue).map((l) => l.namespace))].sort();
}

export interface ShareProblem {
    /** Path below `ml-platform:queues`, e.g. `llm.a100`. */
    path: string;
    wrong: string;
    got: unknown;
    allowed: string;
}

/**
 * Teams must be app teams that may run training (their namespaces include the training namespace), pools
 * must be GPU pools, and a pool's shares may not sum above 1: more than the pool holds.
 */
export function queueShareProblems(shares: QueueShares, pools: NodePoolShape[], teams: { name: string; namespaces: string[] }[], trainingNamespace: string): ShareProblem[] {
    const out: ShareProblem[] = [];
    const gpuNames = pools.filter(isGpuPool).map((p) => p.name);
    const sums = new Map<string, number>();
    for (const [team, byPool] of Object.entries(shares)) {
        const known = teams.find((t) => t.name === team);
        if (!known) {
            out.push({ path: team, wrong: "names no app team", got: team, allowed: `a name from ml-platform:cluster.appTeams (${teams.map((t) => t.name).join(", ") || "none declared"})` });
        } else if (!known.namespaces.includes(trainingNamespace)) {
            out.push({ path: team, wrong: `is an app team without the training namespace ${trainingNamespace}, where its LocalQueue would be`, got: known.namespaces, allowed: `add ${trainingNamespace} to the team's namespaces` });
        }
        if (team === PLATFORM_QUEUE) {
            out.push({ path: team, wrong: "is the platform's own queue name", got: team, allowed: `any app team name but ${PLATFORM_QUEUE}` });
        }
        for (const [pool, share] of Object.entries(byPool)) {
            if (!gpuNames.includes(pool)) {
                out.push({ path: `${team}.${pool}`, wrong: "names no GPU pool", got: pool, allowed: `one of ${gpuNames.join(", ") || "(no GPU pools)"}` });
                continue;
            }
            sums.set(pool, (sums.get(pool) ?? 0) + share);
        }
    }
    for (const [pool, sum] of sums) {
        // Shares are decimals: allow float error, not a real excess.
        if (sum > 1 + 1e-9) {
            const who = Object.entries(shares)
                .filter(([, s]) => s[pool] !== undefined)
                .map(([t, s]) => `${t} ${s[pool]}`)
                .join(" + ");
            out.push({ path: `*.${pool}`, wrong: `shares of pool ${pool} sum to ${Math.round(sum * 1000) / 1000} (${who}), more than the pool holds`, got: sum, allowed: "shares of one pool summing to at most 1; the platform's own queue gets the rest" });
        }
    }
    return out;
}

/** Renders a quota as Kueue's resources list for one flavor. */
export function quotaResources(q: Quota): { name: string; nominalQuota: string }[] {
    return [
        { name: "cpu", nominalQuota: `${q.cpuMillis}m` },
        { name: "memory", nominalQuota: `${Math.floor(q.memoryBytes / 2 ** 20)}Mi` },
        { name: GPU_RESOURCE, nominalQuota: String(q.gpus) },
    ];
}
