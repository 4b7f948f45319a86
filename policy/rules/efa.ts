/**
 * EFA for multi-node training: EFA pools stay in one zone with a cluster placement group, the EFA
 * device plugin reaches every EFA pool, and multi-node GPU training asks for EFA. Facts (the resource,
 * the label, the chart) come from capacity/efa.ts.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { EFA_RESOURCE, efaDevicePluginLoad, LABEL_EFA_PRESENT } from "../../capacity/efa";
import { VERSIONS } from "../../facts/versions";
import { blockingTaints, containersOf, describeTaint, KUBEFLOW_JOB, podTemplates, Props, requestedGpus, selectsNode, tolerates } from "./k8s";
import { describePool, LAUNCH_TEMPLATE, nodePoolOf, NodePoolView, subnetSpread } from "./nodepools";

function isEfaNodePool(pool: NodePoolView): boolean {
    return pool.labels[LABEL_EFA_PRESENT] === "true";
}

function efaInterfaces(props: Props): Props[] {
    return ([...(props.networkInterfaces ?? [])] as Props[]).filter((ni) => ni?.interfaceType === "efa" || ni?.interfaceType === "efa-only");
}

export const efaPoolOneZone: ResourceValidationPolicy = {
    name: "efa-pool-one-zone",
    description:
        "An EFA node pool launches in exactly one availability zone, and a launch template with EFA interfaces places its instances in a cluster placement group: EFA traffic does not cross zones, and a placement group lives in one.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const pool = nodePoolOf(args.type, args.props, args.name);
        if (pool) {
            const spread = subnetSpread(args.props);
            if (isEfaNodePool(pool) && spread !== undefined && spread !== 1) {
                report(
                    `${describePool(pool)} is an EFA pool (${LABEL_EFA_PRESENT}=true) spread over ${spread} subnets: its nodes land in several zones, where EFA cannot reach across ` +
                        `and one cluster placement group cannot hold them. Fix: set ml-platform:nodePools.${pool.pool}.availabilityZones to one zone.`,
                );
            }
            return;
        }
        if (args.type === LAUNCH_TEMPLATE && efaInterfaces(args.props).length > 0 && !args.props.placement?.groupName) {
            report(
                `Launch template "${args.name}" attaches ${efaInterfaces(args.props).length} EFA interface(s) but names no placement group, so its instances may sit far apart. ` +
                    `Fix: placement {groupName} of a cluster placement group (components/nodePool.ts).`,
            );
        }
    },
};

function efaDevicePlugins(resources: PolicyResource[]): PolicyResource[] {
    return resources.filter((r) => efaDevicePluginLoad(r.type, r.props) !== undefined);
}

export const efaDevicePluginReachesEfaPools: StackValidationPolicy = {
    name: "efa-device-plugin-reaches-efa-pools",
    description: `Where EFA node pools exist, the EFA device plugin (${VERSIONS.efaDevicePlugin.chart}) is installed, tolerates every EFA pool's taints and selects every EFA pool, so the nodes advertise ${EFA_RESOURCE}.`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const efaPools = args.resources.map((r) => nodePoolOf(r.type, r.props, r.name)).filter((p): p is NodePoolView => p !== undefined && isEfaNodePool(p));
        if (efaPools.length === 0) {
            return;
        }
        const plugins = efaDevicePlugins(args.resources);
        if (plugins.length === 0) {
            report(
                `EFA pools ${efaPools.map((p) => p.pool).join(", ")} exist but no ${VERSIONS.efaDevicePlugin.chart} release does: their nodes never advertise ${EFA_RESOURCE} and every pod requesting it stays Pending. Fix: install it (components/efa.ts).`,
            );
            return;
        }
        for (const r of plugins) {
            const load = efaDevicePluginLoad(r.type, r.props)!;
            for (const pool of efaPools) {
                const untolerated = blockingTaints(pool.taints).filter((t) => !tolerates(load.tolerations, t));
                if (untolerated.length > 0) {
                    report(`The EFA device plugin "${r.name}" does not tolerate ${untolerated.map(describeTaint).join(", ")} of EFA pool ${pool.pool}: it runs no pod there. Fix: capacity/efa.ts efaDevicePluginValues.`, r.urn);
                }
                if (!selectsNode({ nodeSelector: load.nodeSelector }, pool.labels)) {
                    report(`The EFA device plugin "${r.name}" selects ${JSON.stringify(load.nodeSelector)}, which EFA pool ${pool.pool} does not carry. Fix: select ${LABEL_EFA_PRESENT}=true (capacity/efa.ts).`, r.urn);
                }
            }
        }
    },
};

/** Pods a Kubeflow job runs at once: the sum of its roles' replicas. */
function kubeflowPods(props: Props): number {
    const spec: Props = props.spec ?? {};
    return Object.keys(spec)
        .filter((f) => f.endsWith("ReplicaSpecs") && spec[f])
        .flatMap((f) => Object.values(spec[f] as Record<string, Props>))
        .reduce((n, role) => n + Number(role?.replicas ?? 1), 0);
}

export const multiNodeTrainingUsesEfa: ResourceValidationPolicy = {
    name: "multi-node-training-uses-efa",
    description: `A Kubeflow training job with GPU pods on several nodes requests ${EFA_RESOURCE}; without EFA, NCCL between nodes runs over TCP at a fraction of the speed (advisory: a pool without EFA-capable types has no choice).`,
    enforcementLevel: "advisory",
    severity: "medium",
    validateResource: (args, report) => {
        if (!KUBEFLOW_JOB.test(args.type)) {
            return;
        }
        const templates = podTemplates(args.type, args.props, args.name);
        const pods = kubeflowPods(args.props);
        if (pods < 2 || !templates.some((t) => requestedGpus(t.spec) > 0)) {
            return;
        }
        const withoutEfa = templates.filter((t) => requestedGpus(t.spec) > 0 && !containersOf(t.spec).some((c) => c.container.resources?.limits?.[EFA_RESOURCE] !== undefined));
        if (withoutEfa.length > 0) {
            const w = withoutEfa[0].workload;
            report(
                `${w.kind} ${w.namespace}/${w.name} runs ${pods} GPU pods but ${withoutEfa.map((t) => t.role ?? t.path).join(", ")} request no ${EFA_RESOURCE}: NCCL falls back to TCP between nodes. ` +
                    `Fix: run it on a pool with efa: true (ml-platform:nodePools.<pool>.efa; p4d/p4de/p5), whose PyTorchJobs get EFA (capacity/efa.ts).`,
            );
        }
    },
};

export const efaPolicies = [efaPoolOneZone, efaDevicePluginReachesEfaPools, multiNodeTrainingUsesEfa];
