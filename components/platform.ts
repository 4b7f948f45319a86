import * as pulumi from "@pulumi/pulumi";
import { CLAIMS, findPool, gpuPools, systemPoolOf, nodeGroupNameFor, PIPELINE_CHECKPOINTS, StackSpec, storageClaims, STORAGE_CLASS_NAME } from "../stacks/spec";
import { tierProtections } from "../stacks/tiers";
import * as aws from "@pulumi/aws";
import { isEfaPool } from "../capacity/efa";
import { poolNodeSelector } from "../capacity/pools";
import { anyMig } from "../capacity/nvidiaDaemonSets";
import { NVIDIA_NAMESPACE } from "../facts/nvidia";
import { ClusterAddons } from "./addons";
import { AppTeamAccess } from "./appTeams";
import { Cluster } from "./cluster";
import { ClusterAutoscaler, poolPriorities } from "./clusterAutoscaler";
import { EfaDevicePlugin } from "./efa";
import { Karpenter } from "./karpenter";
import { prometheusVolumeOf } from "./metricsChain";
import { Monitoring } from "./monitoring";
import { Kueue } from "./kueue";
import { Namespaces } from "./namespaces";
import { NetworkPolicies } from "./networkPolicies";
import { Network, subnetsInZones } from "./network";
import { NodePool } from "./nodePool";
import { NvidiaStack } from "./nvidia";
import { PriorityClasses } from "./priority";
import { EXTERNAL_METRICS, ModelServing } from "./serving";
import { Storage } from "./storage";
import { TrackingSecrets } from "./tracking";
import { DistributedTraining, TrainingJob, TrainingOperator, trainingLabels } from "./training";
import { DataSync } from "./dataSync";
import { WorkloadIdentity } from "./s3Identity";
import { trainingS3Access } from "../stacks/dataSync";
import { ArgoWorkflows, Pipelines } from "./pipelines";
import { poolTolerations } from "../capacity/pools";
import { PIPELINES_NAMESPACE } from "../facts/pipelines";
import { pipelineCpuPools } from "../capacity/queues";

export interface MlPlatformArgs {
    spec: StackSpec;
    /** MLflow tracking URI, a Pulumi secret; workloads read it from a Kubernetes Secret. */
    trackingUri?: pulumi.Output<string>;
}

/** Composes one stack's platform from its validated spec. */
export class MlPlatform extends pulumi.ComponentResource {
    public readonly network: Network;
    public readonly cluster: Cluster;
    public readonly nodePools: Record<string, NodePool> = {};
    public readonly storage: Storage;
    public readonly priorityClasses: PriorityClasses;
    public readonly trackingSecrets?: TrackingSecrets;
    /** Present only when some training entry is a PyTorchJob. */
    public readonly trainingOperator?: TrainingOperator;
    public readonly serving: Record<string, ModelServing> = {};
    public readonly monitoring: Monitoring;
    public readonly clusterAutoscaler: ClusterAutoscaler;
    /** Present with ml-platform:nodeProvisioner karpenter: the GPU pools' NodePools. */
    public readonly karpenter?: Karpenter;
    public readonly training: Record<string, TrainingJob | DistributedTraining> = {};
    /** Each training run's own service account and IAM role (S3 read on data, write on output). */
    public readonly trainingIdentities: Record<string, WorkloadIdentity> = {};
    public readonly dataSync: Record<string, DataSync> = {};
    /** Present only when the stack declares pipelines. */
    public readonly argoWorkflows?: ArgoWorkflows;
    public readonly pipelines?: Pipelines;
    /** Present when the stack has GPU pools: training is queued through it. */
    public readonly kueue?: Kueue;

    constructor(name: string, args: MlPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:index:MlPlatform", name, {}, opts);
        const { spec } = args;
        const tags = { "ml-platform:stack": spec.stack, "ml-platform:environment": spec.environment, "ml-platform:tier": spec.tier, "managed-by": "pulumi" };
        // Every prod-ness (protected data and keys, backups, log retention) follows the stack's tier.
        const protections = tierProtections(spec.tier);
        const clusterName = spec.cluster.name;

        this.network = new Network(
            `${name}-network`,
            {
                clusterName,
                cidrBlock: spec.cluster.vpcCidr,
                availabilityZones: spec.cluster.availabilityZones,
                natGateways: spec.cluster.natGateways,
                tags,
            },
            { parent: this },
        );

        this.cluster = new Cluster(
            `${name}-cluster`,
            {
                clusterName,
                kubernetesVersion: spec.cluster.kubernetesVersion,
                vpcId: this.network.vpcId,
                privateSubnetIds: this.network.privateSubnetIds,
                publicSubnetIds: this.network.publicSubnetIds,
                endpointPublicAccess: spec.cluster.endpoint.publicAccess,
                endpointPrivateAccess: spec.cluster.endpoint.privateAccess,
                publicAccessCidrs: spec.cluster.endpoint.publicAccessCidrs,
                adminPrincipalArns: spec.cluster.admins,
                appTeams: spec.cluster.appTeams,
                protectKeys: protections.protectKeys,
                logRetentionDays: protections.logRetentionDays,
                tags,
            },
            { parent: this },
        );

        // With Karpenter, GPU pools are NodePools (below); the system pool stays a managed node group.
        const karpenterPools = spec.nodeProvisioner === "karpenter" ? gpuPools(spec) : [];
        for (const pool of spec.nodePools.filter((p) => !karpenterPools.includes(p))) {
            this.nodePools[pool.name] = new NodePool(
                `${name}-pool-${pool.name}`,
                {
                    pool,
                    nodeGroupName: nodeGroupNameFor(clusterName, pool.name),
                    gpuTaint: spec.gpuTaint,
                    cluster: this.cluster.eksCluster,
                    nodeRole: this.cluster.nodeRole,
                    subnetIds: subnetsInZones(this.network.privateSubnetIds, spec.cluster.availabilityZones, pool.availabilityZones),
                    tags,
                    ...(isEfaPool(pool) ? { vpcId: this.network.vpcId, clusterSecurityGroupId: this.cluster.clusterSecurityGroupId } : {}),
                },
                { parent: this },
            );
        }

        const k8sOpts = { parent: this, providers: [this.cluster.provider] };
        const addons = new ClusterAddons(
            `${name}-addons`,
            {
                clusterName: this.cluster.name,
                oidcProviderArn: this.cluster.oidcProviderArn,
                oidcIssuer: this.cluster.oidcIssuer,
                protectData: protections.protectData,
                tags,
            },
            { ...k8sOpts, dependsOn: Object.values(this.nodePools) },
        );
        const pipelineSpecs = spec.pipelines ?? [];
        const pipelinesNamespace = pipelineSpecs.length > 0 ? PIPELINES_NAMESPACE : undefined;
        const workloadNamespaces = [spec.namespaces.serving, spec.namespaces.training, ...(pipelinesNamespace ? [pipelinesNamespace] : [])];
        const namespaces = new Namespaces(`${name}-ns`, { names: workloadNamespaces }, k8sOpts);
        new NetworkPolicies(
            `${name}-netpol`,
            {
                servingNamespace: spec.namespaces.serving,
                trainingNamespace: spec.namespaces.training,
                vpcCidr: spec.cluster.vpcCidr,
                distributedJobs: spec.training.filter((t) => t.kind === "PyTorchJob").map((t) => t.name),
                ...(pipelinesNamespace ? { pipelinesNamespace } : {}),
            },
            { ...k8sOpts, dependsOn: namespaces.resources },
        );
        if (spec.cluster.appTeams.length > 0) {
            new AppTeamAccess(`${name}-app-teams`, { teams: spec.cluster.appTeams, ...(pipelinesNamespace ? { pipelinesNamespace } : {}) }, { ...k8sOpts, dependsOn: namespaces.resources });
        }

        new NvidiaStack(`${name}-nvidia`, { gpuPools: gpuPools(spec), gpuTaint: spec.gpuTaint, namespace: NVIDIA_NAMESPACE }, k8sOpts);
        const efaPools = spec.nodePools.filter(isEfaPool);
        if (efaPools.length > 0) {
            new EfaDevicePlugin(`${name}-efa`, { efaPools, gpuTaint: spec.gpuTaint, namespace: NVIDIA_NAMESPACE }, k8sOpts);
        }

        this.storage = new Storage(
            `${name}-storage`,
            {
                clusterName: this.cluster.name,
                vpcId: this.network.vpcId,
                privateSubnetIds: this.network.privateSubnetIds,
                subnetCount: spec.cluster.availabilityZones.length,
                nodeSecurityGroupId: this.cluster.clusterSecurityGroupId,
                oidcProviderArn: this.cluster.oidcProviderArn,
                oidcIssuer: this.cluster.oidcIssuer,
                storageClassName: STORAGE_CLASS_NAME,
                claims: storageClaims(spec),
                uid: spec.storage.uid,
                gid: spec.storage.gid,
                throughputMode: spec.storage.throughputMode,
                protectData: protections.protectData,
                backups: protections.backups,
                tags,
            },
            { ...k8sOpts, dependsOn: namespaces.resources },
        );

        this.priorityClasses = new PriorityClasses(`${name}-priority`, {}, k8sOpts);

        const workloadCount = spec.serving.length + spec.training.length + pipelineSpecs.length;
        if (workloadCount > 0 && !args.trackingUri) {
            // Validation requires ml-platform:mlflowTrackingUri with workloads; this guards other callers.
            throw new Error("workloads are declared but no MLflow tracking URI was given (ml-platform:mlflowTrackingUri)");
        }
        if (args.trackingUri) {
            this.trackingSecrets = new TrackingSecrets(
                `${name}-tracking`,
                { namespaces: workloadNamespaces, trackingUri: args.trackingUri },
                { ...k8sOpts, dependsOn: namespaces.resources },
            );
        }
        const trackingSecretName = this.trackingSecrets?.secretName ?? "";
        const workloadDeps: pulumi.Resource[] = [...namespaces.resources, this.storage, this.priorityClasses];
        if (this.trackingSecrets) {
            workloadDeps.push(this.trackingSecrets);
        }

        for (const serving of spec.serving) {
            this.serving[serving.name] = new ModelServing(
                `${name}-serving-${serving.name}`,
                {
                    serving,
                    pool: findPool(spec, serving.pool),
                    gpuTaint: spec.gpuTaint,
                    trackingSecretName,
                    modelCacheClaim: CLAIMS.modelCache.name,
                    oidcProviderArn: this.cluster.oidcProviderArn,
                    oidcIssuer: this.cluster.oidcIssuer,
                    environment: spec.environment,
                    tags,
                },
                { ...k8sOpts, dependsOn: workloadDeps },
            );
        }

        // Training is queued: Kueue admits each job when its queue has quota for all of it.
        const systemPool = systemPoolOf(spec.nodePools)!;
        if (gpuPools(spec).length > 0) {
            this.kueue = new Kueue(
                `${name}-kueue`,
                {
                    pools: spec.nodePools,
                    gpuTaint: spec.gpuTaint,
                    shares: spec.queues ?? {},
                    trainingNamespace: spec.namespaces.training,
                    systemNodeSelector: poolNodeSelector(systemPool),
                    ...(pipelinesNamespace ? { pipelines: { namespace: pipelinesNamespace, cpuPools: pipelineCpuPools(spec.nodePools, pipelineSpecs) } } : {}),
                },
                { ...k8sOpts, dependsOn: [...namespaces.resources, this.priorityClasses] },
            );
        }
        const trainingDeps: pulumi.Resource[] = this.kueue ? [...workloadDeps, this.kueue] : workloadDeps;
        if (spec.training.some((t) => t.kind === "PyTorchJob")) {
            this.trainingOperator = new TrainingOperator(`${name}-training-operator`, {}, k8sOpts);
        }
        for (const training of spec.training) {
            const identity = new WorkloadIdentity(
                `${name}-training-${training.name}-identity`,
                {
                    namespace: training.namespace,
                    serviceAccountName: training.name,
                    access: trainingS3Access(training),
                    oidcProviderArn: this.cluster.oidcProviderArn,
                    oidcIssuer: this.cluster.oidcIssuer,
                    purpose: "training run",
                    labels: trainingLabels(training),
                    tags: { ...tags, "ml-platform:workload": training.name },
                },
                { ...k8sOpts, dependsOn: namespaces.resources },
            );
            this.trainingIdentities[training.name] = identity;
            const common = {
                serviceAccountName: identity.serviceAccountName,
                training,
                pool: findPool(spec, training.pool),
                gpuTaint: spec.gpuTaint,
                trackingSecretName,
                trainingDataClaim: CLAIMS.trainingData.name,
                checkpointsClaim: CLAIMS.checkpoints.name,
            };
            const resourceName = `${name}-training-${training.name}`;
            this.training[training.name] =
                training.kind === "PyTorchJob"
                    ? new DistributedTraining(resourceName, { ...common, operator: this.trainingOperator! }, { ...k8sOpts, dependsOn: [...trainingDeps, identity, this.trainingOperator!] })
                    : new TrainingJob(resourceName, common, { ...k8sOpts, dependsOn: [...trainingDeps, identity] });
        }
        for (const sync of spec.dataSync) {
            this.dataSync[sync.name] = new DataSync(
                `${name}-data-sync-${sync.name}`,
                {
                    sync,
                    pool: findPool(spec, sync.pool),
                    gpuTaint: spec.gpuTaint,
                    trainingDataClaim: CLAIMS.trainingData.name,
                    oidcProviderArn: this.cluster.oidcProviderArn,
                    oidcIssuer: this.cluster.oidcIssuer,
                    tags,
                },
                { ...k8sOpts, dependsOn: [...namespaces.resources, this.storage, this.priorityClasses] },
            );
        }

        if (pipelinesNamespace) {
            this.argoWorkflows = new ArgoWorkflows(
                `${name}-argo-workflows`,
                { workflowNamespaces: [pipelinesNamespace], systemNodeSelector: poolNodeSelector(systemPool), systemTolerations: poolTolerations(systemPool, spec.gpuTaint) },
                { ...k8sOpts, dependsOn: namespaces.resources },
            );
            this.pipelines = new Pipelines(
                `${name}-pipelines`,
                {
                    namespace: pipelinesNamespace,
                    pipelines: pipelineSpecs,
                    pools: Object.fromEntries(spec.nodePools.map((p) => [p.name, p])),
                    gpuTaint: spec.gpuTaint,
                    trackingSecretName,
                    checkpointsClaim: PIPELINE_CHECKPOINTS.name,
                    argo: this.argoWorkflows,
                    ...(this.kueue?.pipelinesQueue !== undefined ? { queue: this.kueue.pipelinesQueue } : {}),
                },
                // A step's pod is gated by Kueue's webhook and admitted through its LocalQueue: both first.
                { ...k8sOpts, dependsOn: [...workloadDeps, this.argoWorkflows, ...(this.kueue ? [this.kueue] : [])] },
            );
        }

        // The autoscaling chain: metrics -> external metrics -> HPAs (above) -> node autoscaler.
        this.monitoring = new Monitoring(
            `${name}-monitoring`,
            {
                dcgmNamespace: "kube-system",
                servingNamespace: spec.namespaces.serving,
                externalMetrics: EXTERNAL_METRICS,
                servingRuntimes: spec.serving.map((s) => s.runtime),
                systemNodeSelector: poolNodeSelector(systemPool),
                prometheusStorageClassName: addons.gp3StorageClassName,
                prometheusVolume: prometheusVolumeOf(spec.nodePools),
                pools: spec.nodePools.map((p) => ({ name: p.name, instanceType: p.instanceType, minSize: p.minSize, maxSize: p.maxSize })),
                alertThresholds: spec.alerts,
                mig: anyMig(spec.nodePools),
            },
            { ...k8sOpts, dependsOn: [addons] },
        );
        this.clusterAutoscaler = new ClusterAutoscaler(
            `${name}-cluster-autoscaler`,
            {
                clusterName,
                kubernetesVersion: spec.cluster.kubernetesVersion,
                region: spec.region,
                accountId: aws.getCallerIdentityOutput({}, { parent: this }).accountId,
                oidcProviderArn: this.cluster.oidcProviderArn,
                oidcIssuer: this.cluster.oidcIssuer,
                poolPriorities: poolPriorities(spec.nodePools.filter((p) => !karpenterPools.includes(p)).map((p) => ({ nodeGroupName: nodeGroupNameFor(clusterName, p.name), instanceType: p.instanceType }))),
                systemNodeSelector: poolNodeSelector(systemPool),
                tags,
            },
            { ...k8sOpts, dependsOn: Object.values(this.nodePools) },
        );

        if (karpenterPools.length > 0) {
            this.karpenter = new Karpenter(
                `${name}-karpenter`,
                {
                    clusterName,
                    region: spec.region,
                    accountId: aws.getCallerIdentityOutput({}, { parent: this }).accountId,
                    oidcProviderArn: this.cluster.oidcProviderArn,
                    oidcIssuer: this.cluster.oidcIssuer,
                    clusterSecurityGroupId: this.cluster.clusterSecurityGroupId,
                    pools: karpenterPools.map((pool) => ({
                        ...pool,
                        runsTraining: spec.training.some((t) => t.pool === pool.name),
                        subnetIds: subnetsInZones(this.network.privateSubnetIds, spec.cluster.availabilityZones, pool.availabilityZones),
                    })),
                    gpuTaint: spec.gpuTaint,
                    systemNodeSelector: poolNodeSelector(systemPool),
                    tags,
                },
                { ...k8sOpts, dependsOn: Object.values(this.nodePools) },
            );
        }

        this.registerOutputs({});
    }
}
