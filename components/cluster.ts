import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import type { AppTeamConfig } from "../stacks/schema";
import { appTeamAccessEntry } from "./appTeams";

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
    /** App teams: namespace-scoped edit access, plus a group their PyTorchJob RBAC binds to. */
    appTeams: AppTeamConfig[];
    /** Prod: the secrets key survives `pulumi destroy` (without it, etcd's secrets are unreadable). */
    protectKeys: boolean;
    /** How long CloudWatch keeps the control-plane logs. */
    logRetentionDays: number;
    tags: Record<string, string>;
}

/** Every control-plane log type EKS offers (CIS EKS 2.1.1 asks for audit; Checkov CKV_AWS_37 for all). */
export const CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"];

/** The log group EKS writes control-plane logs to; created first so retention is ours, not "never expire". */
export function controlPlaneLogGroupName(clusterName: string): string {
    return `/aws/eks/${clusterName}/cluster`;
}

const NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
];

export const CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/**
 * The EKS control plane with access entries (API authentication, no aws-auth ConfigMap; admins get
 * cluster-admin, app teams edit in their namespaces only), secrets envelope-encrypted with our own KMS
 * key, every control-plane log type on, the VPC CNI enforcing NetworkPolicies, an IRSA OIDC provider
 * (how pods get AWS access: nodes' IMDS is out of their reach), no default node group, the IAM role
 * every managed node group's nodes use, and a Kubernetes provider bound to this cluster.
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
        for (const team of args.appTeams) {
            accessEntries[`team-${team.name}`] = appTeamAccessEntry(team);
        }

        const keyOpts = { parent: this, protect: args.protectKeys, retainOnDelete: args.protectKeys };
        const secretsKey = new aws.kms.Key(
            `${name}-secrets-key`,
            { description: `EKS secrets envelope encryption for ${args.clusterName}`, enableKeyRotation: true, deletionWindowInDays: 30, tags: args.tags },
            keyOpts,
        );
        const logGroup = new aws.cloudwatch.LogGroup(
            `${name}-control-plane-logs`,
            { name: controlPlaneLogGroupName(args.clusterName), retentionInDays: args.logRetentionDays, tags: args.tags },
            { parent: this },
        );

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
                encryptionConfigKeyArn: secretsKey.arn,
                enabledClusterLogTypes: CONTROL_PLANE_LOG_TYPES,
                // Without it the VPC CNI ignores NetworkPolicy objects (components/networkPolicies.ts).
                vpcCniOptions: { enableNetworkPolicy: true },
                skipDefaultNodeGroup: true,
                // Without the default node group pulumi-eks leaves CoreDNS self-managed; the managed add-on
                // is ours (components/addons.ts), created once the node pools exist.
                corednsAddonOptions: { enabled: false },
                createOidcProvider: true,
                tags: args.tags,
            },
            { parent: this, dependsOn: [logGroup] },
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
