/**
 * Rules that relate config values to each other (or to aws:region), run once each key has its shape.
 * Each check appends problem lines and never throws, so a stack's problems are reported together.
 */
import { instanceType } from "../capacity/catalog";
import { parseCpu, parseMemory } from "../capacity/quantity";
import { describe, NAMESPACE, problemLine } from "./errors";
import { AWS_REGION, ClusterConfig, NodePoolConfig, ServingConfig, TrainingConfig } from "./schema";
import { NAMESPACES, NODE_GROUP_NAME_MAX_LENGTH, nodeGroupNameFor } from "./spec";
import { Tier, tierProtections } from "./tiers";

export function checkRegion(region: string | undefined, problems: string[]) {
    if (!region) {
        problems.push("aws:region is required (e.g. `pulumi config set aws:region us-east-1`)");
    } else if (!AWS_REGION.test(region)) {
        problems.push(problemLine("aws:region", "must be an AWS region name such as us-east-1", region, "<area>-<direction>-<number>, e.g. us-east-1, eu-central-1, us-gov-west-1"));
    }
}

/** Subnets go into these zones, so each must be a zone of the stack's region. */
export function checkZones(region: string | undefined, cluster: ClusterConfig, problems: string[]) {
    if (!region || !AWS_REGION.test(region)) {
        return;
    }
    cluster.availabilityZones.forEach((zone, i) => {
        if (zone.length !== region.length + 1 || !zone.startsWith(region)) {
            problems.push(problemLine(`${NAMESPACE}:cluster.availabilityZones[${i}]`, `is not a zone of aws:region ${region}`, zone, `${region}a, ${region}b, ... (the region and one zone letter)`));
        }
    });
}

/**
 * Sizes within each pool, a CPU pool for system pods, and node group names EKS accepts. `complete` is
 * false when some pools are broken (already reported): the rules over all pools are then not judged.
 */
export function checkPools(pools: Record<string, NodePoolConfig>, clusterName: string | undefined, problems: string[], complete = true) {
    const entries = Object.entries(pools);
    if (entries.length === 0 && complete) {
        problems.push(`${NAMESPACE}:nodePools must define at least one pool`);
        return;
    }
    for (const [name, p] of entries) {
        const where = `${NAMESPACE}:nodePools.${name}`;
        if (p.maxSize < p.minSize) {
            problems.push(`${where}.maxSize must be >= minSize (${p.minSize}), got ${p.maxSize}`);
        }
        const desired = p.desiredSize ?? p.minSize;
        if (desired < p.minSize || desired > p.maxSize) {
            problems.push(`${where}.desiredSize must be between minSize (${p.minSize}) and maxSize (${p.maxSize}), got ${desired}`);
        }
        if (clusterName !== undefined) {
            checkNodeGroupName(where, clusterName, name, problems);
        }
    }
    const systemPool = entries.some(([, p]) => !instanceType(p.instanceType).gpu && p.minSize >= 1);
    if (!systemPool && complete) {
        problems.push(
            `${NAMESPACE}:nodePools needs a CPU pool with minSize >= 1 for system pods (CoreDNS, controllers); ` +
                `got ${entries.map(([name, p]) => `${name} (${p.instanceType}, minSize ${p.minSize})`).join(", ")}`,
        );
    }
}

/** Both names fit their own limits (40 and 30) yet their join may not fit EKS's. */
function checkNodeGroupName(where: string, clusterName: string, poolName: string, problems: string[]) {
    const group = nodeGroupNameFor(clusterName, poolName);
    if (group.length > NODE_GROUP_NAME_MAX_LENGTH) {
        problems.push(
            problemLine(
                where,
                `makes the EKS node group name <cluster.name>-<pool> ${group.length} characters long`,
                group,
                `at most ${NODE_GROUP_NAME_MAX_LENGTH} characters: shorten ${NAMESPACE}:cluster.name (${clusterName.length}) or the pool name (${poolName.length})`,
            ),
        );
    }
}

function checkLimits(where: string, w: { cpu: string; memory: string; cpuLimit?: string; memoryLimit?: string }, problems: string[]) {
    if (w.cpuLimit && parseCpu(w.cpuLimit) < parseCpu(w.cpu)) {
        problems.push(`${where}.cpuLimit must be >= cpu (${w.cpu}), got ${w.cpuLimit}`);
    }
    if (w.memoryLimit && parseMemory(w.memoryLimit) < parseMemory(w.memory)) {
        problems.push(`${where}.memoryLimit must be >= memory (${w.memory}), got ${w.memoryLimit}`);
    }
}

/** Replica bounds are judged with the policy pack's own rule (stacks/policyLimits.ts). */
export function checkServing(entries: ServingConfig[], problems: string[]) {
    entries.forEach((s, i) => {
        const where = `${NAMESPACE}:serving[${i}]`;
        checkLimits(where, s, problems);
    });
}

export function checkTraining(entries: TrainingConfig[], problems: string[]) {
    entries.forEach((t, i) => {
        const where = `${NAMESPACE}:training[${i}]`;
        if (t.kind === "Job" && t.workers !== undefined) {
            problems.push(`${where}.workers is only for kind PyTorchJob; a Job runs one pod (got workers ${t.workers})`);
        }
        if (t.kind === "PyTorchJob" && t.workers === undefined) {
            problems.push(`${where}.workers is required for kind PyTorchJob (workers beside the master, >= 1)`);
        }
        checkLimits(where, t, problems);
    });
}

export function checkUniqueNames(serving: ServingConfig[], training: TrainingConfig[], problems: string[]) {
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
export function checkEndpoint(cluster: ClusterConfig, tier: Tier, problems: string[]) {
    const where = `${NAMESPACE}:cluster.endpoint`;
    const strict = tierProtections(tier).strictEndpoint;
    const { publicAccess, privateAccess, publicAccessCidrs } = cluster.endpoint;
    if (!publicAccess && !privateAccess) {
        problems.push(`${where}: publicAccess and privateAccess are both false; nothing could reach the API server, got publicAccess false, privateAccess false; allowed: privateAccess true`);
        return;
    }
    if (!publicAccess && publicAccessCidrs.length > 0) {
        problems.push(`${where}.publicAccessCidrs is set but publicAccess is false, got ${describe(publicAccessCidrs)}; allowed: no CIDRs, or publicAccess true`);
    }
    if (publicAccess) {
        const open = publicAccessCidrs.filter((c) => OPEN_CIDRS.has(c));
        if (strict && publicAccessCidrs.length === 0) {
            problems.push(`${where}.publicAccessCidrs is empty in tier ${tier}, which EKS opens to 0.0.0.0/0, got []; allowed: the VPN/CI egress ranges, or publicAccess: false`);
        } else if (strict && open.length > 0) {
            problems.push(`${where}.publicAccessCidrs opens the tier-${tier} API endpoint to ${open.join(", ")}, got ${describe(publicAccessCidrs)}; allowed: the VPN/CI egress ranges, or publicAccess: false`);
        }
    }
    if (!privateAccess && (!publicAccess || publicAccessCidrs.length > 0 || strict)) {
        problems.push(
            `${where}.privateAccess must be true${strict ? ` in tier ${tier}` : " when the public endpoint is closed or limited to CIDRs"}: ` +
                "nodes and the EFS/CSI controllers reach the API server from inside the VPC (their NAT addresses are not in publicAccessCidrs), got false; allowed: true",
        );
    }
}

/** Admins and app teams: one access entry per IAM principal; teams only in the platform's workload namespaces. */
export function checkAccess(cluster: ClusterConfig, problems: string[]) {
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

/** Workloads read the tracking URI from a Secret the platform creates only when the URI is given. */
export function checkTrackingUri(hasTrackingUri: boolean, workloads: number, problems: string[]) {
    if (!hasTrackingUri && workloads > 0) {
        problems.push(`${NAMESPACE}:mlflowTrackingUri is required when workloads are declared: \`pulumi config set --secret ${NAMESPACE}:mlflowTrackingUri <uri>\``);
    }
}
