import * as pulumi from "@pulumi/pulumi";
import { gpuPools, StackSpec, storageClaims, STORAGE_CLASS_NAME } from "../stacks/spec";
import { Cluster } from "./cluster";
import { Namespaces } from "./namespaces";
import { Network } from "./network";
import { NodePool } from "./nodePool";
import { NvidiaStack } from "./nvidia";
import { Storage } from "./storage";

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

    constructor(name: string, args: MlPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:index:MlPlatform", name, {}, opts);
        const { spec } = args;
        const tags = { "ml-platform:stack": spec.stack, "ml-platform:environment": spec.environment, "managed-by": "pulumi" };
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
                tags,
            },
            { parent: this },
        );

        for (const pool of spec.nodePools) {
            this.nodePools[pool.name] = new NodePool(
                `${name}-pool-${pool.name}`,
                {
                    pool,
                    gpuTaint: spec.gpuTaint,
                    cluster: this.cluster.eksCluster,
                    nodeRole: this.cluster.nodeRole,
                    subnetIds: this.network.privateSubnetIds,
                    tags,
                },
                { parent: this },
            );
        }

        const k8sOpts = { parent: this, providers: [this.cluster.provider] };
        const namespaces = new Namespaces(`${name}-ns`, { names: [spec.namespaces.serving, spec.namespaces.training] }, k8sOpts);

        new NvidiaStack(`${name}-nvidia`, { gpuPools: gpuPools(spec), gpuTaint: spec.gpuTaint, namespace: "kube-system" }, k8sOpts);

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
                protectData: spec.environment === "prod",
                backups: spec.environment === "prod",
                tags,
            },
            { ...k8sOpts, dependsOn: namespaces.resources },
        );

        this.registerOutputs({});
    }
}
