import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { NodePoolShape, Taint } from "../capacity/pools";
import { clusterQueueNamespaces, clusterQueues, localQueues, QueuePool, QueueShares, quotaResources, resourceFlavorFor } from "../capacity/queues";
import { EFA_RESOURCE, GPU_RESOURCE, isGpuPool } from "../capacity/pools";
import { KUEUE_API_VERSION, KUEUE_NAMESPACE, KUEUE_POD_FRAMEWORK, PLATFORM_QUEUE } from "../facts/kueue";
import { VERSIONS } from "../facts/versions";
import { PRIORITY_CLASSES } from "./priority";

/**
 * Kueue's controller configuration (config.kueue.x-k8s.io/v1beta2, the chart's managerConfig): the
 * chart's own defaults for health, metrics, webhook and leader election, plus
 * - waitForPodsReady: a gang (a PyTorchJob's master and workers) is admitted whole or not at all; with
 *   blockAdmission the next workload waits until the admitted one's pods are all ready, so two half-
 *   placed gangs can never deadlock each other; after the timeout the workload is evicted and requeued.
 *   The quotas reach maxSize, so an admitted job often waits for Cluster Autoscaler to bring GPU nodes up
 *   from zero (a p4d boots, loads the driver and pulls a multi-GB image): Kueue's 5-minute example
 *   timeout would evict such jobs in a loop, hence 30 minutes;
 * - only jobs that name a queue are managed (manageJobsWithoutQueueName false): system Jobs run as before;
 * - the integrations the platform uses: batch/v1 Jobs and Kubeflow PyTorchJobs, and, with pipelines,
 *   plain Pods for Argo's step pods (Argo has no suspendable object Kueue could manage).
 * With pipelines, managedJobsNamespaceSelector names exactly the queued namespaces (training and
 * pipelines). For pod-based integrations it is a hard boundary: pods in any other namespace, kube-system
 * and kueue-system included, are never managed whatever their labels. The v0.17.0 chart also renders it
 * as the namespaceSelector of every job and pod webhook (the pod webhooks fail closed), so no pod outside
 * these two namespaces ever waits on Kueue's webhook; it cannot be the pipelines namespace alone, since
 * the Job and PyTorchJob webhooks would then skip the training namespace (config v1beta2 has no separate
 * pod selector: podOptions is gone). In the training namespace the pod webhook leaves pods alone: their
 * Job or PyTorchJob is Kueue's already, and unlabelled pods are not managed (manageJobsWithoutQueueName).
 */
export function kueueManagerConfig(queued?: { trainingNamespace: string; pipelinesNamespace: string }) {
    return {
        apiVersion: "config.kueue.x-k8s.io/v1beta2",
        kind: "Configuration",
        health: { healthProbeBindAddress: ":8081" },
        metrics: { bindAddress: ":8443" },
        webhook: { port: 9443 },
        leaderElection: { leaderElect: true, resourceName: "c1f6bfd2.kueue.x-k8s.io" },
        manageJobsWithoutQueueName: false,
        waitForPodsReady: {
            timeout: "30m",
            blockAdmission: true,
            requeuingStrategy: { timestamp: "Eviction", backoffBaseSeconds: 60, backoffMaxSeconds: 3600 },
        },
        ...(queued !== undefined
            ? { managedJobsNamespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: [queued.trainingNamespace, queued.pipelinesNamespace].sort() }] } }
            : {}),
        integrations: { frameworks: ["batch/job", "kubeflow.org/pytorchjob", ...(queued !== undefined ? [KUEUE_POD_FRAMEWORK] : [])] },
        // EFA interfaces are a node's devices, not a team's quota: a gang requesting them would otherwise
        // be refused ("resource vpc.amazonaws.com/efa unavailable in ClusterQueue"; the real Kueue said so
        // in the conformance run). capacity/admission.ts reads this list back.
        resources: { excludeResourcePrefixes: [EFA_RESOURCE] },
    };
}

export interface KueueArgs {
    pools: (NodePoolShape & { maxSize: number })[];
    gpuTaint: Taint;
    shares: QueueShares;
    /** Namespace the training jobs (and the teams' LocalQueues) live in. */
    trainingNamespace: string;
    /** Kueue's controller runs on the system pool. */
    systemNodeSelector: Record<string, string>;
    /**
     * With pipelines: their namespace (its pods are queued, and it gets the platform's LocalQueue) and
     * the CPU pools their steps run on (flavors of the platform's queue; capacity/queues pipelineCpuPools).
     */
    pipelines?: { namespace: string; cpuPools: string[] };
}

/** The objects Kueue's CRDs carry, as plain data; the component registers them, the tests read them. */
export function kueueObjects(args: Omit<KueueArgs, "systemNodeSelector">) {
    const gpu = args.pools.filter(isGpuPool) as QueuePool[];
    const cpuPools = args.pipelines?.cpuPools ?? [];
    const flavorPools = [...gpu, ...args.pools.filter((p) => !isGpuPool(p) && cpuPools.includes(p.name))];
    const flavors = flavorPools.map((p) => {
        const f = resourceFlavorFor(p, args.gpuTaint);
        return { apiVersion: KUEUE_API_VERSION, kind: "ResourceFlavor", metadata: { name: f.name }, spec: { nodeLabels: f.nodeLabels, nodeTaints: f.nodeTaints } };
    });
    const shapes = clusterQueues(args.pools, args.gpuTaint, args.shares, cpuPools);
    const lqs = localQueues(shapes, args.trainingNamespace, args.pipelines?.namespace);
    const queues = shapes.map((q) => ({
        apiVersion: KUEUE_API_VERSION,
        kind: "ClusterQueue",
        metadata: { name: q.name },
        spec: {
            cohortName: q.cohort,
            // Only the namespaces of its LocalQueues submit work (the training namespace; the platform's
            // queue also the pipelines namespace).
            namespaceSelector: { matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: clusterQueueNamespaces(q.name, lqs) }] },
            queueingStrategy: "BestEffortFIFO",
            // Like the training PriorityClass (preemptionPolicy Never): a running job is never evicted
            // to reclaim lent quota; the lender waits for the borrower's run to end.
            preemption: { reclaimWithinCohort: "Never", withinClusterQueue: "Never" },
            resourceGroups: [{ coveredResources: ["cpu", "memory", GPU_RESOURCE], flavors: q.quotas.map((x) => ({ name: x.flavor, resources: quotaResources(x.quota) })) }],
        },
    }));
    const localQueueObjects = lqs.map((l) => ({
        apiVersion: KUEUE_API_VERSION,
        kind: "LocalQueue",
        metadata: { name: l.name, namespace: l.namespace },
        spec: { clusterQueue: l.clusterQueue },
    }));
    // The platform's PriorityClasses, mirrored: Kueue orders admission by these values.
    const priorities = Object.entries(PRIORITY_CLASSES).map(([name, c]) => ({
        apiVersion: KUEUE_API_VERSION,
        kind: "WorkloadPriorityClass",
        metadata: { name },
        value: c.value,
        description: c.description,
    }));
    return { flavors, queues, localQueues: localQueueObjects, priorities };
}

/**
 * Kueue (kubernetes-sigs/kueue, pinned chart and image) on the system pool, and the platform's queues:
 * a ResourceFlavor per GPU pool, ClusterQueues in one cohort with quotas from the pools at maxSize, a
 * LocalQueue per ClusterQueue in the training namespace, and WorkloadPriorityClasses. With pipelines, the
 * pipelines namespace's pods are queued too: the pod integration, the platform's LocalQueue there, and a
 * flavor per CPU pool the steps run on.
 */
export class Kueue extends pulumi.ComponentResource {
    public readonly namespace: string = KUEUE_NAMESPACE;
    /** LocalQueue the platform's own training is submitted to. */
    public readonly platformQueue: string = PLATFORM_QUEUE;
    public readonly localQueues: string[];
    /** With pipelines: the LocalQueue of the pipelines namespace their steps' pods name. */
    public readonly pipelinesQueue?: string;

    constructor(name: string, args: KueueArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:kueue:Kueue", name, {}, opts);
        const release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "kueue",
                namespace: KUEUE_NAMESPACE,
                createNamespace: true,
                chart: VERSIONS.kueue.chart,
                version: VERSIONS.kueue.version,
                values: {
                    controllerManager: {
                        manager: {
                            image: { repository: VERSIONS.kueue.image, tag: VERSIONS.kueue.tag, pullPolicy: "IfNotPresent" },
                            priorityClassName: "system-cluster-critical",
                        },
                        nodeSelector: args.systemNodeSelector,
                    },
                    managerConfig: { controllerManagerConfigYaml: JSON.stringify(kueueManagerConfig(args.pipelines ? { trainingNamespace: args.trainingNamespace, pipelinesNamespace: args.pipelines.namespace } : undefined), null, 2) },
                },
            },
            { parent: this },
        );
        const objects = kueueObjects(args);
        const after = { parent: this, dependsOn: [release] };
        const flavors = objects.flavors.map((o) => new k8s.apiextensions.CustomResource(`${name}-flavor-${o.metadata.name}`, o, after));
        for (const o of objects.priorities) {
            new k8s.apiextensions.CustomResource(`${name}-priority-${o.metadata.name}`, o, after);
        }
        const queues = objects.queues.map((o) => new k8s.apiextensions.CustomResource(`${name}-cq-${o.metadata.name}`, o, { parent: this, dependsOn: [release, ...flavors] }));
        for (const o of objects.localQueues) {
            // The training namespace's keep their released names; another namespace's carry it.
            const lq = o.metadata.namespace === args.trainingNamespace ? o.metadata.name : `${o.metadata.namespace}-${o.metadata.name}`;
            new k8s.apiextensions.CustomResource(`${name}-lq-${lq}`, o, { parent: this, dependsOn: [release, ...queues] });
        }
        this.localQueues = objects.localQueues.filter((q) => q.metadata.namespace === args.trainingNamespace).map((q) => q.metadata.name);
        this.pipelinesQueue = objects.localQueues.find((q) => q.metadata.namespace === args.pipelines?.namespace)?.metadata.name;
        this.registerOutputs({ namespace: this.namespace, platformQueue: this.platformQueue, localQueues: this.localQueues, pipelinesQueue: this.pipelinesQueue });
    }
}
