/**
 * Storage, keys and the API endpoint: EFS encrypted with our key, TLS-only, backed up, tiered to
 * infrequent access and reachable only by the cluster on NFS; KMS keys rotated; prod data protected
 * from `pulumi destroy`; a closed API endpoint.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { EKS_COMPONENT } from "./cluster";
import { configOf, Environment, environmentProperty } from "./config";
import type { Props } from "./k8s";

const NFS_PORT = 2049;
const FILE_SYSTEM = "aws:efs/fileSystem:FileSystem";
const MOUNT_TARGET = "aws:efs/mountTarget:MountTarget";
const SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup";
const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const SG_INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";

const FILE_SYSTEM_POLICY = "aws:efs/fileSystemPolicy:FileSystemPolicy";
const BACKUP_POLICY = "aws:efs/backupPolicy:BackupPolicy";
const KMS_KEY = "aws:kms/key:Key";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const PV = "kubernetes:core/v1:PersistentVolume";
const STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass";
const EFS_CSI = "efs.csi.aws.com";

export const efsEncrypted: ResourceValidationPolicy = {
    name: "efs-encrypted",
    description: "EFS file systems (training data, checkpoints, model cache) are encrypted at rest with a customer-managed KMS key (Checkov CKV_AWS_42, CKV_AWS_184).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type !== FILE_SYSTEM) {
            return;
        }
        if (args.props.encrypted !== true) {
            report(`EFS file system "${args.name}" has encrypted ${args.props.encrypted ?? "(unset, i.e. false)"}; encryption cannot be turned on later without a new file system. Fix: set encrypted: true and kmsKeyId.`);
        } else if (!("kmsKeyId" in args.props)) {
            report(`EFS file system "${args.name}" is encrypted with the AWS-managed key (no kmsKeyId): no key policy or rotation of ours, no way to revoke access. Fix: set kmsKeyId to our key (components/storage.ts).`);
        }
    },
};

/** Resources that depend on `target` (mount targets on their groups, policies on their file system). */
function dependents(resources: PolicyResource[], target: PolicyResource, type: string): PolicyResource[] {
    return resources.filter((r) => r.type === type && r.dependencies.some((d) => d.urn === target.urn));
}

const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);

/** A statement that denies every action when the request is not over TLS. */
function deniesInsecureTransport(policyText: unknown): boolean {
    let doc: Props;
    try {
        doc = typeof policyText === "string" ? JSON.parse(policyText) : policyText;
    } catch {
        return false;
    }
    return list(doc?.Statement).some((st) => {
        const s = st as Props;
        const actions = list(s.Action).map(String);
        const secure = s.Condition?.Bool?.["aws:SecureTransport"];
        return s.Effect === "Deny" && (actions.includes("*") || actions.includes("elasticfilesystem:*")) && String(secure) === "false";
    });
}

export const efsTlsOnly: StackValidationPolicy = {
    name: "efs-tls-only",
    description:
        "EFS is reached over TLS only: each file system has a file system policy denying every request without aws:SecureTransport, and no EFS CSI volume or StorageClass turns the driver's TLS mounts off (encryptInTransit \"false\").",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        for (const fs of args.resources.filter((r) => r.type === FILE_SYSTEM)) {
            const policies = dependents(args.resources, fs, FILE_SYSTEM_POLICY);
            if (!policies.some((p) => deniesInsecureTransport(p.props.policy))) {
                report(
                    `EFS file system "${fs.name}" has ${policies.length === 0 ? "no file system policy" : "a file system policy without a Deny on aws:SecureTransport=false"}, so plain NFS is accepted. ` +
                        `Fix: add a FileSystemPolicy denying "*" when aws:SecureTransport is false (and allowing ClientMount via mount targets), as components/storage.ts does.`,
                    fs.urn,
                );
            }
        }
        for (const r of args.resources) {
            const attrs: Props | undefined =
                r.type === PV && r.props.spec?.csi?.driver === EFS_CSI ? r.props.spec.csi.volumeAttributes : r.type === STORAGE_CLASS && r.props.provisioner === EFS_CSI ? r.props.parameters : undefined;
            if (attrs && String(attrs.encryptInTransit) === "false") {
                report(`${r.type.slice(r.type.lastIndexOf(":") + 1)} "${r.name}" sets encryptInTransit "false": its EFS mounts would be plain NFS. Fix: remove it; the EFS CSI driver mounts with TLS by default.`, r.urn);
            }
        }
    },
};

const envSchema = { properties: { environment: environmentProperty } };

export const efsBackupsEnabled: StackValidationPolicy = {
    name: "efs-backups-enabled",
    description: "Prod EFS file systems have automatic AWS Backup enabled (Checkov CKV2_AWS_18). Prod only: environment selects it.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: envSchema,
    validateStack: (args, report) => {
        const { environment } = configOf<{ environment: Environment }>(args, envSchema);
        if (environment !== "prod") {
            return;
        }
        for (const fs of args.resources.filter((r) => r.type === FILE_SYSTEM)) {
            const statuses = dependents(args.resources, fs, BACKUP_POLICY).map((b) => String(b.props.backupPolicy?.status));
            if (!statuses.includes("ENABLED")) {
                report(
                    `EFS file system "${fs.name}" has backups ${statuses.join(", ") || "(no backup policy)"} in prod: a deleted checkpoint directory is gone for good. Fix: a BackupPolicy with status ENABLED (components/storage.ts backups).`,
                    fs.urn,
                );
            }
        }
    },
};

export const efsLifecycleToIa: ResourceValidationPolicy = {
    name: "efs-lifecycle-to-ia",
    description: "EFS file systems move files not read for a while to Infrequent Access (old checkpoints and datasets cost a fraction), and back on first access.",
    enforcementLevel: "mandatory",
    severity: "low",
    validateResource: (args, report) => {
        if (args.type !== FILE_SYSTEM) {
            return;
        }
        const policies: Props[] = [...(args.props.lifecyclePolicies ?? [])];
        if (!policies.some((p) => p.transitionToIa)) {
            report(`EFS file system "${args.name}" has no transitionToIa lifecycle policy: cold data stays on Standard storage. Fix: lifecyclePolicies [{transitionToIa: AFTER_30_DAYS}, {transitionToPrimaryStorageClass: AFTER_1_ACCESS}].`);
        }
    },
};

export const kmsKeyRotation: ResourceValidationPolicy = {
    name: "kms-key-rotation",
    description: "Customer-managed symmetric KMS keys (EKS secrets, EFS) rotate their key material yearly (Checkov CKV_AWS_7).",
    enforcementLevel: "mandatory",
    severity: "medium",
    validateResource: (args, report) => {
        if (args.type !== KMS_KEY) {
            return;
        }
        const spec = args.props.customerMasterKeySpec ?? args.props.keySpec ?? "SYMMETRIC_DEFAULT";
        if (spec === "SYMMETRIC_DEFAULT" && args.props.enableKeyRotation !== true) {
            report(`KMS key "${args.name}" has enableKeyRotation ${args.props.enableKeyRotation ?? "(unset, i.e. false)"}. Fix: set enableKeyRotation: true.`);
        }
    },
};

export const dataProtected: ResourceValidationPolicy = {
    name: "data-protected",
    description:
        "In prod, data outlives mistakes: EFS file systems, KMS keys and PersistentVolumeClaims are protected (opts.protect, so `pulumi destroy` stops), and EFS volumes are reclaimed Retain. Prod only: environment selects it.",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: envSchema,
    validateResource: (args, report) => {
        const { environment } = configOf<{ environment: Environment }>(args, envSchema);
        if (environment !== "prod") {
            return;
        }
        const what = { [FILE_SYSTEM]: "EFS file system", [KMS_KEY]: "KMS key", [PVC]: "PersistentVolumeClaim" }[args.type];
        if (what && args.opts.protect !== true) {
            report(`${what} "${args.name}" is not protected in prod: \`pulumi destroy\` or a rename would delete it and the data with it. Fix: create it with { protect: true, retainOnDelete: true } (components/storage.ts protectData).`);
        }
        if (args.type === STORAGE_CLASS && args.props.provisioner === EFS_CSI && args.props.reclaimPolicy !== "Retain") {
            report(`StorageClass "${args.props.metadata?.name ?? args.name}" has reclaimPolicy ${args.props.reclaimPolicy ?? "(unset, i.e. Delete)"} in prod: deleting a claim deletes its data. Fix: reclaimPolicy Retain.`);
        }
        if (args.type === PV && args.props.spec?.csi?.driver === EFS_CSI && args.props.spec?.persistentVolumeReclaimPolicy !== "Retain") {
            report(`PersistentVolume "${args.props.metadata?.name ?? args.name}" has persistentVolumeReclaimPolicy ${args.props.spec?.persistentVolumeReclaimPolicy ?? "(unset)"} in prod. Fix: Retain.`);
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

const endpointSchema = {
    properties: {
        allowPublicEndpoint: {
            type: "boolean" as const,
            description: "Whether a public endpoint limited to listed CIDRs is acceptable; false demands private-only (CIS EKS 5.4.2, Checkov CKV_AWS_39).",
            default: true,
        },
    },
};

export const eksEndpointNotPublic: ResourceValidationPolicy = {
    name: "eks-endpoint-not-public",
    description:
        "The EKS API endpoint has private access on and is public only to listed CIDRs, never to 0.0.0.0/0, the EKS default when no CIDRs are given (CIS EKS 5.4.1; Checkov CKV_AWS_38; with allowPublicEndpoint false, private only: CIS EKS 5.4.2, CKV_AWS_39).",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: endpointSchema,
    validateResource: (args, report) => {
        let vpc: Props | undefined;
        if (args.type === EKS_COMPONENT) {
            vpc = args.props;
        } else if (args.type === "aws:eks/cluster:Cluster") {
            vpc = args.props.vpcConfig ?? {};
        }
        if (!vpc) {
            return;
        }
        if (vpc.endpointPrivateAccess !== true) {
            report(`EKS cluster "${args.name}" has endpointPrivateAccess ${vpc.endpointPrivateAccess ?? "(unset, i.e. false)"}: nodes reach the API over the internet. Fix: set cluster.endpoint.privateAccess: true.`);
        }
        if (vpc.endpointPublicAccess === false) {
            return;
        }
        const { allowPublicEndpoint } = configOf<{ allowPublicEndpoint: boolean }>(args, endpointSchema);
        if (!allowPublicEndpoint) {
            report(`EKS cluster "${args.name}" has a public API endpoint, and this stack requires a private one. Fix: set cluster.endpoint.publicAccess: false and deploy from inside the VPC.`);
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

export const storagePolicies = [
    efsEncrypted,
    efsTlsOnly,
    efsBackupsEnabled,
    efsLifecycleToIa,
    efsSecurityGroupNfsFromClusterOnly,
    kmsKeyRotation,
    dataProtected,
    eksEndpointNotPublic,
];
