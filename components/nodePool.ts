import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as eks from "@pulumi/eks";
import { reservationLaunchTemplateFields } from "../capacity/capacityTypes";
import { efaNetworkInterfaces, poolEfa } from "../capacity/efa";
import { GPU_RESOURCE, LABEL_NODE_POOL, poolLabels, poolTaints, Taint } from "../capacity/pools";
import { poolDevices } from "../capacity/sharing";
import { NodePoolSpec } from "../stacks/spec";

export interface NodePoolArgs {
    pool: NodePoolSpec;
    /** The EKS node group's name; its ASG is eks-<name>-<uuid>, which the autoscaler's expander matches. */
    nodeGroupName: string;
    gpuTaint: Taint;
    cluster: eks.Cluster;
    nodeRole: aws.iam.Role;
    subnetIds: pulumi.Input<string[]>;
    tags: Record<string, string>;
    /** Needed by EFA pools: their interfaces name their security groups (the cluster's plus an EFA one). */
    vpcId?: pulumi.Input<string>;
    clusterSecurityGroupId?: pulumi.Input<string>;
}

/** AL2023 with the NVIDIA driver and container toolkit for GPU pools (pitfall 2: no driver, no GPUs). */
export const GPU_AMI_TYPE = "AL2023_x86_64_NVIDIA";
export const CPU_AMI_TYPE = "AL2023_x86_64_STANDARD";

const CA_TEMPLATE = "k8s.io/cluster-autoscaler/node-template";

/**
 * The ASG tags Cluster Autoscaler reads to build a node from nothing when a pool sits at zero: every
 * label, every taint and the GPU count, all derived from the pool (pitfall 3).
 */
export function scaleFromZeroTags(pool: NodePoolSpec, gpuTaint: Taint): Record<string, string> {
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(poolLabels(pool))) {
        tags[`${CA_TEMPLATE}/label/${k}`] = v;
    }
    for (const t of poolTaints(pool, gpuTaint)) {
        tags[`${CA_TEMPLATE}/taint/${t.key}`] = `${t.value}:${t.effect}`;
    }
    const devices = poolDevices(pool);
    if (devices) {
        // What a node will advertise: slices or replicas on a sharing pool, so scale-from-zero sizes by them.
        tags[`${CA_TEMPLATE}/resources/${GPU_RESOURCE}`] = String(devices.perNode);
    }
    return tags;
}

/**
 * One EKS managed node group. Labels, taints and AMI type come from the catalog via capacity/pools;
 * a launch template (without an image, so amiType still applies) enforces IMDSv2 with hop limit 1 and
 * an encrypted gp3 root volume, and carries no SSH key or network interfaces: nodes get no public IP
 * because they launch only in the private subnets.
 */
export class NodePool extends pulumi.ComponentResource {
    public readonly nodeGroupName: pulumi.Output<string>;
    public readonly asgName: pulumi.Output<string>;

    constructor(name: string, args: NodePoolArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:nodes:NodePool", name, {}, opts);
        const { pool } = args;
        const efa = this.efaNetworking(name, args);

        const launchTemplate = new aws.ec2.LaunchTemplate(
            `${name}-lt`,
            {
                description: `ml-platform node pool ${pool.name}`,
                metadataOptions: {
                    httpEndpoint: "enabled",
                    httpTokens: "required",
                    // 1 keeps pods (not on the host network) away from the node role's credentials: pods
                    // get AWS access through IRSA (components/irsa.ts), never through the node.
                    httpPutResponseHopLimit: 1,
                },
                blockDeviceMappings: [
                    {
                        deviceName: "/dev/xvda",
                        ebs: { volumeSize: pool.diskSizeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" },
                    },
                ],
                tagSpecifications: [{ resourceType: "instance", tags: { ...args.tags, [LABEL_NODE_POOL]: pool.name } }],
                ...(efa ?? {}),
                // An ODCR or Capacity Block: target it (and, for a block, the capacity-block market).
                ...reservationLaunchTemplateFields(pool),
                tags: args.tags,
            },
            { parent: this },
        );

        const nodeGroup = new eks.ManagedNodeGroup(
            `${name}-mng`,
            {
                cluster: args.cluster,
                nodeGroupName: args.nodeGroupName,
                nodeRole: args.nodeRole,
                subnetIds: args.subnetIds,
                instanceTypes: [pool.instanceType],
                amiType: pool.gpu ? GPU_AMI_TYPE : CPU_AMI_TYPE,
                capacityType: pool.capacityType,
                scalingConfig: { minSize: pool.minSize, maxSize: pool.maxSize, desiredSize: pool.desiredSize },
                // The autoscaler owns desiredSize once the pool exists.
                ignoreScalingChanges: true,
                labels: poolLabels(pool),
                taints: poolTaints(pool, args.gpuTaint).map((t) => ({ key: t.key, value: t.value, effect: toEksEffect(t.effect) })),
                launchTemplate: { id: launchTemplate.id, version: pulumi.interpolate`${launchTemplate.latestVersion}` },
                // pulumi-eks defaults the version to the cluster's only without a launch template; say it.
                version: args.cluster.eksCluster.version,
                tags: args.tags,
            },
            { parent: this },
        );

        this.nodeGroupName = nodeGroup.nodeGroup.nodeGroupName;
        this.asgName = nodeGroup.nodeGroup.resources.apply((r) => r[0]?.autoscalingGroups?.[0]?.name ?? "");

        // EKS does not copy node group tags to the ASG; tag it ourselves for scale-from-zero.
        for (const [key, value] of Object.entries(scaleFromZeroTags(pool, args.gpuTaint))) {
            const slug = key.replace(/[^a-zA-Z0-9]+/g, "-").replace(/^k8s-io-cluster-autoscaler-node-template-/, "");
            new aws.autoscaling.Tag(
                `${name}-ca-${slug}`,
                { autoscalingGroupName: this.asgName, tag: { key, value, propagateAtLaunch: false } },
                { parent: this },
            );
        }

        this.registerOutputs({ nodeGroupName: this.nodeGroupName, asgName: this.asgName });
    }

    /**
     * An EFA pool's launch template fields: one EFA interface per network card (capacity/efa.ts), each in
     * the cluster security group (which EKS would otherwise add itself) and a security group that lets
     * EFA traffic flow between its members (AWS requires all traffic to and from itself), and a cluster
     * placement group so the nodes sit close together in their one zone.
     */
    private efaNetworking(name: string, args: NodePoolArgs) {
        const efa = poolEfa(args.pool);
        if (!efa) {
            return undefined;
        }
        if (args.vpcId === undefined || args.clusterSecurityGroupId === undefined) {
            throw new Error(`node pool "${args.pool.name}" has EFA: it needs vpcId and clusterSecurityGroupId`);
        }
        const all = { protocol: "-1", fromPort: 0, toPort: 0, self: true };
        const securityGroup = new aws.ec2.SecurityGroup(
            `${name}-efa-sg`,
            {
                description: `EFA traffic between nodes of pool ${args.pool.name}`,
                vpcId: args.vpcId,
                ingress: [{ ...all, description: "all traffic from members (EFA)" }],
                egress: [{ ...all, description: "all traffic to members (EFA)" }],
                tags: args.tags,
            },
            { parent: this },
        );
        // Named after the node group (unique per cluster and pool), so the launch template can name it.
        const placementGroup = new aws.ec2.PlacementGroup(`${name}-pg`, { name: args.nodeGroupName, strategy: "cluster", tags: args.tags }, { parent: this });
        return {
            placement: { groupName: placementGroup.name },
            networkInterfaces: efaNetworkInterfaces(efa).map((ni) => ({ ...ni, securityGroups: [args.clusterSecurityGroupId!, securityGroup.id] })),
        };
    }
}

function toEksEffect(effect: Taint["effect"]): string {
    return { NoSchedule: "NO_SCHEDULE", NoExecute: "NO_EXECUTE", PreferNoSchedule: "PREFER_NO_SCHEDULE" }[effect];
}
