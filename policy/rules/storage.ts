/** Storage and cluster: EFS encrypted and reachable only by the cluster on NFS; a closed API endpoint. */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import type { Props } from "./k8s";

const NFS_PORT = 2049;
const FILE_SYSTEM = "aws:efs/fileSystem:FileSystem";
const MOUNT_TARGET = "aws:efs/mountTarget:MountTarget";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

export const efsEncrypted: ResourceValidationPolicy = {
    name: "efs-encrypted",
    description: "EFS file systems (training data, checkpoints, model cache) are encrypted at rest.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type === FILE_SYSTEM && args.props.encrypted !== true) {
            report(`EFS file system "${args.name}" has encrypted ${args.props.encrypted ?? "(unset, i.e. false)"}; encryption cannot be turned on later without a new file system. Fix: set encrypted: true (and kmsKeyId).`);
        }
    },
};

/** One ingress permission in the provider-neutral shape the rule judges. */
interface Ingress {
    protocol: string;
    fromPort: number;
    toPort: number;
    cidrs: string[];
    prefixLists: string[];
    fromGroups: boolean;
}

function ingressOf(r: PolicyResource): Ingress[] {
    const p = r.props;
    const list = (v: unknown) => (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)]);
    if (r.type === SECURITY_GROUP) {
        return (p.ingress ?? []).map((i: Props) => ({
            protocol: String(i.protocol),
            fromPort: Number(i.fromPort),
            toPort: Number(i.toPort),
            cidrs: [...list(i.cidrBlocks), ...list(i.ipv6CidrBlocks)],
            prefixLists: list(i.prefixListIds),
            fromGroups: list(i.securityGroups).length > 0 || i.self === true,
        }));
    }
    if (r.type === SG_RULE && p.type === "ingress") {
        return [
            {
                protocol: String(p.protocol),
                fromPort: Number(p.fromPort),
                toPort: Number(p.toPort),
                cidrs: [...list(p.cidrBlocks), ...list(p.ipv6CidrBlocks)],
                prefixLists: list(p.prefixListIds),
                fromGroups: p.sourceSecurityGroupId !== undefined || p.self === true,
            },
        ];
    }
    if (r.type === SG_INGRESS_RULE) {
        return [
            {
                protocol: String(p.ipProtocol),
                fromPort: Number(p.fromPort),
                toPort: Number(p.toPort),
                cidrs: [...list(p.cidrIpv4), ...list(p.cidrIpv6)],
                prefixLists: list(p.prefixListId),
                fromGroups: p.referencedSecurityGroupId !== undefined,
            },
        ];
    }
    return [];
}

function describeIngress(i: Ingress): string {
    const source = [...i.cidrs, ...i.prefixLists].join(", ") || (i.fromGroups ? "security groups" : "nowhere");
    return `${i.protocol} ${i.fromPort}-${i.toPort} from ${source}`;
}

export const efsSecurityGroupNfsFromClusterOnly: StackValidationPolicy = {
    name: "efs-sg-nfs-from-cluster-only",
    description: "Security groups on EFS mount targets admit only TCP 2049 and only from security groups (the cluster's nodes), never from CIDR ranges or prefix lists.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        // The mount targets say which groups guard EFS: the groups they depend on.
        const efsGroups = new Set<string>();
        for (const mt of args.resources.filter((r) => r.type === MOUNT_TARGET)) {
            for (const dep of mt.dependencies.filter((d) => d.type === SECURITY_GROUP)) {
                efsGroups.add(dep.urn);
            }
        }
        for (const r of args.resources) {
            const guardsEfs = r.type === SECURITY_GROUP ? efsGroups.has(r.urn) : [SG_RULE, SG_INGRESS_RULE].includes(r.type) && r.dependencies.some((d) => efsGroups.has(d.urn));
            if (!guardsEfs) {
                continue;
            }
            for (const i of ingressOf(r)) {
                const nfsOnly = ["tcp", "6"].includes(i.protocol.toLowerCase()) && i.fromPort === NFS_PORT && i.toPort === NFS_PORT;
                const clusterOnly = i.cidrs.length === 0 && i.prefixLists.length === 0 && i.fromGroups;
                if (!nfsOnly || !clusterOnly) {
                    report(
                        `EFS security group rule in "${r.name}" admits ${describeIngress(i)}. ` +
                            `Fix: admit only tcp ${NFS_PORT}-${NFS_PORT} from the cluster's security group (components/storage.ts).`,
                        r.urn,
                    );
                }
            }
        }
    },
};

const OPEN = new Set(["0.0.0.0/0", "::/0"]);

export const eksEndpointNotPublic: ResourceValidationPolicy = {
    name: "eks-endpoint-not-public",
    description: "The EKS API endpoint is private, or public only to listed CIDRs, never to 0.0.0.0/0 (the EKS default when no CIDRs are given).",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: (args, report) => {
        let vpc: Props | undefined;
        if (args.type === "eks:index:Cluster") {
            vpc = args.props;
        } else if (args.type === "aws:eks/cluster:Cluster") {
            vpc = args.props.vpcConfig ?? {};
        }
        if (!vpc || vpc.endpointPublicAccess === false) {
            return;
        }
        const cidrs: string[] = vpc.publicAccessCidrs ?? [];
        const open = cidrs.length === 0 ? ["0.0.0.0/0 (the default)"] : cidrs.filter((c) => OPEN.has(c));
        if (open.length > 0) {
            report(
                `EKS cluster "${args.name}" has a public API endpoint open to ${open.join(", ")}. ` +
                    `Fix: set cluster.endpoint.publicAccessCidrs to your office/VPN ranges, or publicAccess: false.`,
            );
        }
    },
};

export const storagePolicies = [efsEncrypted, efsSecurityGroupNfsFromClusterOnly, eksEndpointNotPublic];
