import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";

export interface ClusterArgs {
    clusterName: string;
    kubernetesVersion: string;
    vpcId: pulumi.Input<string>;
    privateSubnetIds: pulumi.Input<string[]>;
    publicSubnetIds: pulumi.Input<string[]>;
    endpointPublicAccess: boolean;
    endpointPrivateAccess: boolean;
    publicAccessCidrs: string[];
    /** IAM principals granted cluster admin through access entries. */
    adminPrincipalArns: string[];
    tags: Record<string, string>;
}

const NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
];

export const CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/**
 * The EKS control plane with access entries (API authentication, no aws-auth ConfigMap), an IRSA OIDC
 * provider, no default node group, the IAM role every managed node group's nodes use, and a Kubernetes
 * provider bound to this cluster for everything deployed into it.
 */
export class Cluster extends pulumi.ComponentResource {
    public readonly name: pulumi.Output<string>;
    public readonly endpoint: pulumi.Output<string>;
    public readonly kubeconfig: pulumi.Output<string>;
    public readonly oidcProviderArn: pulumi.Output<string>;
    public readonly oidcIssuerUrl: pulumi.Output<string>;
    /** Issuer without the scheme, as IRSA trust conditions spell it. */
    public readonly oidcIssuer: pulumi.Output<string>;
    public readonly clusterSecurityGroupId: pulumi.Output<string>;
    public readonly nodeRole: aws.iam.Role;
    public readonly eksCluster: eks.Cluster;
    public readonly provider: k8s.Provider;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:cluster:Cluster", name, {}, opts);

        this.nodeRole = new aws.iam.Role(
            `${name}-node-role`,
            {
                assumeRolePolicy: JSON.stringify({
                    Version: "2012-10-17",
                    Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
                }),
                tags: args.tags,
            },
            { parent: this },
        );
        NODE_POLICIES.forEach((policyArn, i) => {
            new aws.iam.RolePolicyAttachment(`${name}-node-policy-${i}`, { role: this.nodeRole.name, policyArn }, { parent: this });
        });

        const accessEntries: Record<string, eks.types.input.AccessEntryArgs> = {};
        args.adminPrincipalArns.forEach((principalArn, i) => {
            accessEntries[`admin-${i}`] = {
                principalArn,
                accessPolicies: {
                    clusterAdmin: { policyArn: CLUSTER_ADMIN_POLICY, accessScope: { type: "cluster" } },
                },
            };
        });

        this.eksCluster = new eks.Cluster(
            `${name}-eks`,
            {
                name: args.clusterName,
                version: args.kubernetesVersion,
                vpcId: args.vpcId,
                privateSubnetIds: args.privateSubnetIds,
                publicSubnetIds: args.publicSubnetIds,
                nodeAssociatePublicIpAddress: false,
                endpointPublicAccess: args.endpointPublicAccess,
                endpointPrivateAccess: args.endpointPrivateAccess,
                ...(args.endpointPublicAccess && args.publicAccessCidrs.length > 0 ? { publicAccessCidrs: args.publicAccessCidrs } : {}),
                authenticationMode: eks.AuthenticationMode.Api,
                accessEntries,
                skipDefaultNodeGroup: true,
                createOidcProvider: true,
                tags: args.tags,
            },
            { parent: this },
        );

        this.name = this.eksCluster.eksCluster.name;
        this.endpoint = this.eksCluster.eksCluster.endpoint;
        this.kubeconfig = pulumi.secret(this.eksCluster.kubeconfigJson);
        this.oidcProviderArn = this.eksCluster.oidcProviderArn;
        this.oidcIssuerUrl = this.eksCluster.oidcProviderUrl;
        this.oidcIssuer = this.eksCluster.oidcIssuer;
        this.clusterSecurityGroupId = this.eksCluster.eksCluster.vpcConfig.clusterSecurityGroupId;
        this.provider = new k8s.Provider(
            `${name}-k8s`,
            { kubeconfig: this.eksCluster.kubeconfigJson, enableServerSideApply: true },
            { parent: this },
        );

        this.registerOutputs({
            name: this.name,
            endpoint: this.endpoint,
            kubeconfig: this.kubeconfig,
            oidcProviderArn: this.oidcProviderArn,
            oidcIssuerUrl: this.oidcIssuerUrl,
        });
    }
}
