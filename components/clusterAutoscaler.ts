import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { instanceType } from "../capacity/catalog";
import { ROLE_ARN_ANNOTATION } from "../stacks/workloadIdentity";
import { irsaTrustPolicy, serviceAccountSubject } from "./irsa";
import { CLUSTER_AUTOSCALER_IMAGE_TAGS, VERSIONS } from "../facts/versions";

export const CLUSTER_AUTOSCALER_SA = "cluster-autoscaler";
export const CLUSTER_AUTOSCALER_NAMESPACE = "kube-system";

/** What auto-discovery and scale-from-zero read; nothing here can change a resource. */
export const CA_READ_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "autoscaling:DescribeTags",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
];
/** The only writes, and only on this cluster's ASGs (EKS tags them k8s.io/cluster-autoscaler/<cluster>=owned). */
export const CA_WRITE_ACTIONS = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"];

export interface PoolPriority {
    /** EKS managed node group name (its ASG is named eks-<nodegroup>-<uuid>). */
    nodeGroupName: string;
    /** Higher wins when several pools could take a pending pod. */
    priority: number;
}

export interface ClusterAutoscalerArgs {
    clusterName: string;
    kubernetesVersion: string;
    region: string;
    accountId: pulumi.Input<string>;
    oidcProviderArn: pulumi.Input<string>;
    oidcIssuer: pulumi.Input<string>;
    poolPriorities: PoolPriority[];
    systemNodeSelector: Record<string, string>;
    tags: Record<string, string>;
}

/** The IAM policy document: read what discovery needs, write only to this cluster's groups. */
export interface PolicyDocument {
    Version: string;
    Statement: { Sid: string; Effect: "Allow"; Action: string[]; Resource: string; Condition?: object }[];
}

export function clusterAutoscalerPolicy(clusterName: string, region: string, accountId: string): PolicyDocument {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "Discover", Effect: "Allow", Action: CA_READ_ACTIONS, Resource: "*" },
            {
                Sid: "ReadNodegroupsForScaleFromZero",
                Effect: "Allow",
                Action: ["eks:DescribeNodegroup"],
                Resource: `arn:aws:eks:${region}:${accountId}:nodegroup/${clusterName}/*/*`,
            },
            {
                Sid: "ScaleOwnGroupsOnly",
                Effect: "Allow",
                Action: CA_WRITE_ACTIONS,
                Resource: "*",
                Condition: { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${clusterName}`]: "owned" } },
            },
        ],
    };
}

/**
 * Expander priorities from the catalog: when a pending pod fits several GPU pools, the cheaper GPU-hour
 * wins (A10G before A100); CPU pools rank below GPU pools, which CPU pods cannot use anyway (taint).
 */
export function poolPriorities(pools: { nodeGroupName: string; instanceType: string }[]): PoolPriority[] {
    const perGpuHour = (t: string) => {
        const it = instanceType(t);
        return it.gpu ? it.onDemandHourlyUsd / it.gpu.count : undefined;
    };
    const gpu = pools.filter((p) => perGpuHour(p.instanceType) !== undefined).sort((a, b) => perGpuHour(b.instanceType)! - perGpuHour(a.instanceType)!);
    return [
        ...pools.filter((p) => perGpuHour(p.instanceType) === undefined).map((p) => ({ nodeGroupName: p.nodeGroupName, priority: 10 })),
        ...gpu.map((p, i) => ({ nodeGroupName: p.nodeGroupName, priority: 20 + 10 * i })),
    ];
}

/** The priority expander's ConfigMap content: priority -> regexes of ASG names. */
export function expanderPriorities(pools: PoolPriority[]): Record<string, string[]> {
    const out: Record<string, string[]> = { "0": [".*"] };
    for (const p of pools) {
        (out[String(p.priority)] ??= []).push(`^eks-${p.nodeGroupName}-.*`);
    }
    return out;
}

/**
 * Link 5 of the chain: Cluster Autoscaler (image pinned to the cluster's minor) discovering this
 * cluster's managed node groups by their ASG tags, with a least-privilege IRSA role. Chosen over
 * Karpenter because the pools are managed node groups whose labels, taints and launch templates the
 * platform already owns; CA scales them (from zero too) without a second node-provisioning model.
 */
export class ClusterAutoscaler extends pulumi.ComponentResource {
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: ClusterAutoscalerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:autoscaling:ClusterAutoscaler", name, {}, opts);
        const imageTag = CLUSTER_AUTOSCALER_IMAGE_TAGS[args.kubernetesVersion];
        if (!imageTag) {
            throw new Error(`no Cluster Autoscaler build pinned for Kubernetes ${args.kubernetesVersion}`);
        }

        const role = new aws.iam.Role(
            `${name}-role`,
            {
                assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, serviceAccountSubject(CLUSTER_AUTOSCALER_NAMESPACE, CLUSTER_AUTOSCALER_SA)),
                tags: args.tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(
            `${name}-policy`,
            {
                role: role.id,
                policy: pulumi.output(args.accountId).apply((account) => JSON.stringify(clusterAutoscalerPolicy(args.clusterName, args.region, account))),
            },
            { parent: this },
        );
        this.roleArn = role.arn;

        new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: "cluster-autoscaler",
                namespace: CLUSTER_AUTOSCALER_NAMESPACE,
                chart: VERSIONS.clusterAutoscaler.chart,
                version: VERSIONS.clusterAutoscaler.version,
                repositoryOpts: { repo: VERSIONS.clusterAutoscaler.repo },
                values: {
                    cloudProvider: "aws",
                    awsRegion: args.region,
                    autoDiscovery: { clusterName: args.clusterName },
                    image: { tag: imageTag },
                    rbac: {
                        serviceAccount: { create: true, name: CLUSTER_AUTOSCALER_SA, annotations: { [ROLE_ARN_ANNOTATION]: role.arn } },
                    },
                    priorityClassName: "system-cluster-critical",
                    nodeSelector: args.systemNodeSelector,
                    expanderPriorities: expanderPriorities(args.poolPriorities),
                    extraArgs: {
                        expander: "priority,least-waste",
                        "balance-similar-node-groups": true,
                        "skip-nodes-with-system-pods": false,
                        "skip-nodes-with-local-storage": false,
                        // Idle GPU nodes go after 10 minutes; CA ignores DaemonSet pods when deciding.
                        "scale-down-unneeded-time": "10m",
                        "scale-down-delay-after-add": "10m",
                    },
                },
            },
            { parent: this },
        );

        this.registerOutputs({ roleArn: this.roleArn });
    }
}
