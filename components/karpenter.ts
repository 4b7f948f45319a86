import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { ec2NodeClassSpec, KARPENTER_NODECLASS_API, KARPENTER_NODEPOOL_API, KarpenterPool, nodePoolSpec } from "../capacity/karpenter";
import { Taint } from "../capacity/pools";
import { VERSIONS } from "../facts/versions";
import { ROLE_ARN_ANNOTATION } from "../stacks/workloadIdentity";
import type { PolicyDocument } from "./clusterAutoscaler";
import { irsaTrustPolicy, serviceAccountSubject } from "./irsa";

export const KARPENTER_NAMESPACE = "kube-system";
export const KARPENTER_SA = "karpenter";

/** The managed policies of Karpenter's node role (Karpenter v1.14 getting-started CloudFormation, KarpenterNodeRole). */
export const KARPENTER_NODE_POLICIES = ["AmazonEKS_CNI_Policy", "AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonSSMManagedInstanceCore"];

/** The EventBridge events Karpenter's interruption handling consumes (same CloudFormation: the five rules). */
export const INTERRUPTION_EVENTS = [
    { name: "scheduled-change", source: "aws.health", detailType: "AWS Health Event" },
    { name: "spot-interruption", source: "aws.ec2", detailType: "EC2 Spot Instance Interruption Warning" },
    { name: "rebalance", source: "aws.ec2", detailType: "EC2 Instance Rebalance Recommendation" },
    { name: "state-change", source: "aws.ec2", detailType: "EC2 Instance State-change Notification" },
    { name: "capacity-reservation-interruption", source: "aws.ec2", detailType: "EC2 Capacity Reservation Instance Interruption Warning" },
] as const;

/**
 * The controller's least-privilege policy as Karpenter v1.14's CloudFormation reference writes it
 * (NodeLifecycle, IAMIntegration, EKSIntegration, Interruption and ResourceDiscovery policies): launches
 * and deletions only of what carries this cluster's tags, the node role passed only to EC2.
 */
export function karpenterControllerPolicy(clusterName: string, region: string, accountId: string, nodeRoleArn: string, queueArn: string): PolicyDocument {
    const ec2 = (resource: string) => `arn:aws:ec2:${region}:*:${resource}/*`;
    const owned = { [`aws:ResourceTag/kubernetes.io/cluster/${clusterName}`]: "owned" };
    const requestOwned = { [`aws:RequestTag/kubernetes.io/cluster/${clusterName}`]: "owned", "aws:RequestTag/eks:eks-cluster-name": clusterName };
    const tagged = ["fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request"].map(ec2);
    const profile = `arn:aws:iam::${accountId}:instance-profile/*`;
    const regionTag = { "aws:ResourceTag/topology.kubernetes.io/region": region };
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "AllowScopedEC2InstanceAccessActions",
                Effect: "Allow",
                Action: ["ec2:RunInstances", "ec2:CreateFleet"],
                Resource: [`arn:aws:ec2:${region}::image/*`, `arn:aws:ec2:${region}::snapshot/*`, ...["security-group", "subnet", "capacity-reservation", "placement-group"].map(ec2)] as unknown as string,
            },
            {
                Sid: "AllowScopedEC2LaunchTemplateAccessActions",
                Effect: "Allow",
                Action: ["ec2:RunInstances", "ec2:CreateFleet"],
                Resource: ec2("launch-template"),
                Condition: { StringEquals: owned, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } },
            },
            {
                Sid: "AllowScopedEC2InstanceActionsWithTags",
                Effect: "Allow",
                Action: ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
                Resource: tagged as unknown as string,
                Condition: { StringEquals: requestOwned, StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" } },
            },
            {
                Sid: "AllowScopedResourceCreationTagging",
                Effect: "Allow",
                Action: ["ec2:CreateTags"],
                Resource: tagged as unknown as string,
                Condition: {
                    StringEquals: { ...requestOwned, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"] },
                    StringLike: { "aws:RequestTag/karpenter.sh/nodepool": "*" },
                },
            },
            {
                Sid: "AllowScopedResourceTagging",
                Effect: "Allow",
                Action: ["ec2:CreateTags"],
                Resource: ec2("instance"),
                Condition: {
                    StringEquals: owned,
                    StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" },
                    StringEqualsIfExists: { "aws:RequestTag/eks:eks-cluster-name": clusterName },
                    "ForAllValues:StringEquals": { "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"] },
                },
            },
            {
                Sid: "AllowScopedDeletion",
                Effect: "Allow",
                Action: ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
                Resource: [ec2("instance"), ec2("launch-template")] as unknown as string,
                Condition: { StringEquals: owned, StringLike: { "aws:ResourceTag/karpenter.sh/nodepool": "*" } },
            },
            {
                Sid: "AllowPassingInstanceRole",
                Effect: "Allow",
                Action: ["iam:PassRole"],
                Resource: nodeRoleArn,
                Condition: { StringEquals: { "iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"] } },
            },
            {
                Sid: "AllowScopedInstanceProfileCreationActions",
                Effect: "Allow",
                Action: ["iam:CreateInstanceProfile"],
                Resource: profile,
                Condition: {
                    StringEquals: { ...requestOwned, "aws:RequestTag/topology.kubernetes.io/region": region },
                    StringLike: { "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*" },
                },
            },
            {
                Sid: "AllowScopedInstanceProfileTagActions",
                Effect: "Allow",
                Action: ["iam:TagInstanceProfile"],
                Resource: profile,
                Condition: {
                    StringEquals: { ...owned, ...regionTag, ...requestOwned, "aws:RequestTag/topology.kubernetes.io/region": region },
                    StringLike: { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*", "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*" },
                },
            },
            {
                Sid: "AllowScopedInstanceProfileActions",
                Effect: "Allow",
                Action: ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
                Resource: profile,
                Condition: { StringEquals: { ...owned, ...regionTag }, StringLike: { "aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*" } },
            },
            { Sid: "AllowAPIServerEndpointDiscovery", Effect: "Allow", Action: ["eks:DescribeCluster"], Resource: `arn:aws:eks:${region}:${accountId}:cluster/${clusterName}` },
            { Sid: "AllowInterruptionQueueActions", Effect: "Allow", Action: ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"], Resource: queueArn },
            {
                Sid: "AllowZonalShiftStatusReadOnly",
                Effect: "Allow",
                Action: ["arc-zonal-shift:GetManagedResource"],
                Resource: "*",
                Condition: { StringEquals: { "arc-zonal-shift:ResourceIdentifier": `arn:aws:eks:${region}:${accountId}:cluster/${clusterName}` } },
            },
            {
                Sid: "AllowRegionalReadActions",
                Effect: "Allow",
                Action: [
                    "ec2:DescribeCapacityReservations",
                    "ec2:DescribeImages",
                    "ec2:DescribeInstances",
                    "ec2:DescribeInstanceStatus",
                    "ec2:DescribeInstanceTypeOfferings",
                    "ec2:DescribeInstanceTypes",
                    "ec2:DescribeLaunchTemplates",
                    "ec2:DescribePlacementGroups",
                    "ec2:DescribeSecurityGroups",
                    "ec2:DescribeSpotPriceHistory",
                    "ec2:DescribeSubnets",
                ],
                Resource: "*",
                Condition: { StringEquals: { "aws:RequestedRegion": region } },
            },
            { Sid: "AllowSSMReadActions", Effect: "Allow", Action: ["ssm:GetParameter"], Resource: `arn:aws:ssm:${region}::parameter/aws/service/*` },
            { Sid: "AllowPricingReadActions", Effect: "Allow", Action: ["pricing:GetProducts"], Resource: "*" },
            { Sid: "AllowUnscopedInstanceProfileListAction", Effect: "Allow", Action: ["iam:ListInstanceProfiles"], Resource: "*" },
            { Sid: "AllowInstanceProfileReadActions", Effect: "Allow", Action: ["iam:GetInstanceProfile"], Resource: profile },
        ],
    };
}

export interface KarpenterPoolArgs extends KarpenterPool {
    /** Training runs here: the NodePool consolidates only empty nodes. */
    runsTraining: boolean;
    /** The private subnets of the pool's zones. */
    subnetIds: pulumi.Output<string[]>;
}

export interface KarpenterArgs {
    clusterName: string;
    region: string;
    accountId: pulumi.Input<string>;
    oidcProviderArn: pulumi.Input<string>;
    oidcIssuer: pulumi.Input<string>;
    clusterSecurityGroupId: pulumi.Input<string>;
    pools: KarpenterPoolArgs[];
    gpuTaint: Taint;
    /** The controller runs on the system pool (a managed node group), never on nodes it provisions. */
    systemNodeSelector: Record<string, string>;
    tags: Record<string, string>;
}

/**
 * Karpenter (chart pinned in facts/versions.ts) with its IRSA role, its own node role and access entry,
 * the SQS interruption queue with the EventBridge rules that feed it, and per pool an EC2NodeClass and a
 * NodePool derived in capacity/karpenter.ts from the same pool definition a managed node group would use.
 */
export class Karpenter extends pulumi.ComponentResource {
    public readonly nodeRoleArn: pulumi.Output<string>;
    public readonly queueName: pulumi.Output<string>;

    constructor(name: string, args: KarpenterArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:autoscaling:Karpenter", name, {}, opts);

        const nodeRole = new aws.iam.Role(
            `${name}-node-role`,
            {
                assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }),
                tags: args.tags,
            },
            { parent: this },
        );
        for (const policy of KARPENTER_NODE_POLICIES) {
            new aws.iam.RolePolicyAttachment(`${name}-node-${policy}`, { role: nodeRole.name, policyArn: `arn:aws:iam::aws:policy/${policy}` }, { parent: this });
        }
        // Nodes Karpenter launches join the cluster through this access entry.
        new aws.eks.AccessEntry(`${name}-node-access`, { clusterName: args.clusterName, principalArn: nodeRole.arn, type: "EC2_LINUX", tags: args.tags }, { parent: this });

        const queue = new aws.sqs.Queue(`${name}-interruptions`, { messageRetentionSeconds: 300, sqsManagedSseEnabled: true, tags: args.tags }, { parent: this });
        new aws.sqs.QueuePolicy(
            `${name}-interruptions-policy`,
            {
                queueUrl: queue.url,
                policy: queue.arn.apply((arn) =>
                    JSON.stringify({
                        Version: "2012-10-17",
                        Statement: [
                            { Sid: "EventBridgeSends", Effect: "Allow", Principal: { Service: ["events.amazonaws.com", "sqs.amazonaws.com"] }, Action: "sqs:SendMessage", Resource: arn },
                            { Sid: "DenyHTTP", Effect: "Deny", Principal: "*", Action: "sqs:*", Resource: arn, Condition: { Bool: { "aws:SecureTransport": "false" } } },
                        ],
                    }),
                ),
            },
            { parent: this },
        );
        for (const event of INTERRUPTION_EVENTS) {
            const rule = new aws.cloudwatch.EventRule(
                `${name}-${event.name}`,
                { eventPattern: JSON.stringify({ source: [event.source], "detail-type": [event.detailType] }), tags: args.tags },
                { parent: this },
            );
            new aws.cloudwatch.EventTarget(`${name}-${event.name}-target`, { rule: rule.name, arn: queue.arn }, { parent: this });
        }

        const role = new aws.iam.Role(
            `${name}-controller-role`,
            { assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, serviceAccountSubject(KARPENTER_NAMESPACE, KARPENTER_SA)), tags: args.tags },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-controller-policy`,
            {
                role: role.id,
                policy: pulumi
                    .all([args.accountId, nodeRole.arn, queue.arn])
                    .apply(([account, nodeRoleArn, queueArn]) => JSON.stringify(karpenterControllerPolicy(args.clusterName, args.region, account, nodeRoleArn, queueArn))),
            },
            { parent: this },
        );

        const release = new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "karpenter",
                namespace: KARPENTER_NAMESPACE,
                chart: VERSIONS.karpenter.chart,
                version: VERSIONS.karpenter.version,
                values: {
                    settings: { clusterName: args.clusterName, interruptionQueue: queue.name },
                    serviceAccount: { name: KARPENTER_SA, annotations: { [ROLE_ARN_ANNOTATION]: role.arn } },
                    nodeSelector: args.systemNodeSelector,
                    controller: { resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } } },
                },
            },
            { parent: this },
        );

        for (const pool of args.pools) {
            const nodeClass = new k8s.apiextensions.CustomResource(
                `${name}-${pool.name}-nodeclass`,
                {
                    ...KARPENTER_NODECLASS_API,
                    metadata: { name: pool.name },
                    spec: ec2NodeClassSpec(pool, nodeRole.name, pool.subnetIds.apply((ids) => ids.map((id) => ({ id }))), args.clusterSecurityGroupId, args.tags),
                },
                { parent: this, dependsOn: [release] },
            );
            new k8s.apiextensions.CustomResource(
                `${name}-${pool.name}-nodepool`,
                { ...KARPENTER_NODEPOOL_API, metadata: { name: pool.name }, spec: nodePoolSpec(pool, args.gpuTaint, pool.name, pool.runsTraining) },
                { parent: this, dependsOn: [release, nodeClass] },
            );
        }

        this.nodeRoleArn = nodeRole.arn;
        this.queueName = queue.name;
        this.registerOutputs({ nodeRoleArn: this.nodeRoleArn, queueName: this.queueName });
    }
}
