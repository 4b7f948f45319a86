import * as pulumi from "@pulumi/pulumi";
import * as awsx from "@pulumi/awsx";

export interface NetworkArgs {
    clusterName: string;
    cidrBlock: string;
    availabilityZones: string[];
    natGateways: "single" | "onePerAz";
    tags: Record<string, string>;
}

/**
 * A VPC across the configured AZs: nodes live in private subnets, load balancers in public ones, with
 * the subnet role tags EKS and the AWS Load Balancer Controller look for.
 */
export class Network extends pulumi.ComponentResource {
    public readonly vpcId: pulumi.Output<string>;
    public readonly privateSubnetIds: pulumi.Output<string[]>;
    public readonly publicSubnetIds: pulumi.Output<string[]>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:network:Network", name, {}, opts);
        const clusterTag = `kubernetes.io/cluster/${args.clusterName}`;
        const vpc = new awsx.ec2.Vpc(
            `${name}-vpc`,
            {
                cidrBlock: args.cidrBlock,
                availabilityZoneNames: args.availabilityZones,
                enableDnsHostnames: true,
                enableDnsSupport: true,
                natGateways: { strategy: args.natGateways === "onePerAz" ? "OnePerAz" : "Single" },
                subnetStrategy: "Auto",
                subnetSpecs: [
                    { type: "Private", tags: { ...args.tags, [clusterTag]: "shared", "kubernetes.io/role/internal-elb": "1" } },
                    { type: "Public", tags: { ...args.tags, [clusterTag]: "shared", "kubernetes.io/role/elb": "1" } },
                ],
                tags: { ...args.tags, Name: `${args.clusterName}-vpc` },
            },
            { parent: this },
        );
        this.vpcId = vpc.vpcId;
        this.privateSubnetIds = vpc.privateSubnetIds;
        this.publicSubnetIds = vpc.publicSubnetIds;
        this.registerOutputs({ vpcId: this.vpcId, privateSubnetIds: this.privateSubnetIds, publicSubnetIds: this.publicSubnetIds });
    }
}

/**
 * The private subnets of some zones: awsx makes one private subnet per zone, in the order of
 * availabilityZoneNames. `wanted` undefined means every zone.
 */
export function subnetsInZones(subnetIds: pulumi.Output<string[]>, zones: string[], wanted: string[] | undefined): pulumi.Output<string[]> {
    if (!wanted) {
        return subnetIds;
    }
    const indexes = wanted.map((z) => {
        const i = zones.indexOf(z);
        if (i < 0) {
            throw new Error(`zone ${z} is not one of the VPC's zones ${zones.join(", ")}`);
        }
        return i;
    });
    return subnetIds.apply((ids) => indexes.map((i) => ids[i]));
}
