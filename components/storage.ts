import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { VERSIONS } from "../facts/versions";
import { irsaTrustPolicy, serviceAccountSubject } from "./irsa";

export const EFS_CSI_DRIVER = "efs.csi.aws.com";
/** The add-on's controller creates the access points; the node DaemonSet mounts without IAM, so only the controller may assume the role. */
export const EFS_CSI_CONTROLLER_SA = "efs-csi-controller-sa";
export const NFS_PORT = 2049;

export interface VolumeClaim {
    /** Claim name, e.g. training-data. */
    name: string;
    namespace: string;
    size: string;
    /** How workloads mount it; the claim itself is RWX (EFS CSI has no ReadOnlyMany). */
    mountReadOnly: boolean;
}

export interface StorageArgs {
    clusterName: pulumi.Input<string>;
    vpcId: pulumi.Input<string>;
    privateSubnetIds: pulumi.Input<string[]>;
    /** One mount target per private subnet; the count must be known before deployment. */
    subnetCount: number;
    /** The cluster security group, which managed node groups' nodes carry. */
    nodeSecurityGroupId: pulumi.Input<string>;
    oidcProviderArn: pulumi.Input<string>;
    oidcIssuer: pulumi.Input<string>;
    storageClassName: string;
    claims: VolumeClaim[];
    uid: number;
    gid: number;
    throughputMode: "elastic" | "bursting";
    /** Prod: protect the file system, retain claims and volumes through `pulumi destroy`. */
    protectData: boolean;
    backups: boolean;
    tags: Record<string, string>;
}

/**
 * Shared EFS storage for training data, checkpoints and the model cache: an encrypted file system that
 * only the cluster's nodes can reach on 2049, TLS-only by policy, the EFS CSI driver add-on with its own
 * role, a StorageClass whose access points fix uid/gid (so non-root pods can write; pitfall 5), and PVCs.
 */
export class Storage extends pulumi.ComponentResource {
    public readonly fileSystemId: pulumi.Output<string>;
    public readonly storageClassName: string;
    public readonly claims: VolumeClaim[];

    constructor(name: string, args: StorageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:storage:Storage", name, {}, opts);
        const dataOpts = { parent: this, protect: args.protectData, retainOnDelete: args.protectData };

        const key = new aws.kms.Key(
            `${name}-efs-key`,
            { description: "ml-platform EFS encryption key", enableKeyRotation: true, deletionWindowInDays: 30, tags: args.tags },
            dataOpts,
        );

        const fs = new aws.efs.FileSystem(
            `${name}-efs`,
            {
                encrypted: true,
                kmsKeyId: key.arn,
                performanceMode: "generalPurpose",
                throughputMode: args.throughputMode,
                lifecyclePolicies: [{ transitionToIa: "AFTER_30_DAYS" }, { transitionToPrimaryStorageClass: "AFTER_1_ACCESS" }],
                tags: { ...args.tags, Name: `${name}-efs` },
            },
            dataOpts,
        );
        this.fileSystemId = fs.id;

        new aws.efs.BackupPolicy(`${name}-efs-backup`, { fileSystemId: fs.id, backupPolicy: { status: args.backups ? "ENABLED" : "DISABLED" } }, { parent: this });

        // Any policy removes default anonymous access, so mounts through a mount target are allowed
        // explicitly; everything without TLS is denied.
        new aws.efs.FileSystemPolicy(
            `${name}-efs-policy`,
            {
                fileSystemId: fs.id,
                policy: pulumi.jsonStringify({
                    Version: "2012-10-17",
                    Statement: [
                        {
                            Sid: "AllowMountViaMountTarget",
                            Effect: "Allow",
                            Principal: { AWS: "*" },
                            Action: ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite", "elasticfilesystem:ClientRootAccess"],
                            Resource: fs.arn,
                            Condition: { Bool: { "elasticfilesystem:AccessedViaMountTarget": "true" } },
                        },
                        {
                            Sid: "DenyInsecureTransport",
                            Effect: "Deny",
                            Principal: { AWS: "*" },
                            Action: "*",
                            Resource: fs.arn,
                            Condition: { Bool: { "aws:SecureTransport": "false" } },
                        },
                    ],
                }),
            },
            { parent: this },
        );

        const sg = new aws.ec2.SecurityGroup(
            `${name}-efs-sg`,
            {
                vpcId: args.vpcId,
                description: "EFS mount targets: NFS from the EKS cluster's nodes only",
                ingress: [
                    { description: "NFS from cluster nodes", protocol: "tcp", fromPort: NFS_PORT, toPort: NFS_PORT, securityGroups: [args.nodeSecurityGroupId] },
                ],
                tags: { ...args.tags, Name: `${name}-efs-sg` },
            },
            { parent: this },
        );

        for (let i = 0; i < args.subnetCount; i++) {
            new aws.efs.MountTarget(
                `${name}-efs-mt-${i}`,
                { fileSystemId: fs.id, subnetId: pulumi.output(args.privateSubnetIds).apply((ids) => ids[i]), securityGroups: [sg.id] },
                { parent: this },
            );
        }

        const csiRole = new aws.iam.Role(
            `${name}-efs-csi-role`,
            {
                assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, serviceAccountSubject("kube-system", EFS_CSI_CONTROLLER_SA)),
                tags: args.tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicyAttachment(
            `${name}-efs-csi-policy`,
            { role: csiRole.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEFSCSIDriverPolicy" },
            { parent: this },
        );
        const addon = new aws.eks.Addon(
            `${name}-efs-csi`,
            {
                clusterName: args.clusterName,
                addonName: "aws-efs-csi-driver",
                addonVersion: VERSIONS.efsCsiAddon,
                serviceAccountRoleArn: csiRole.arn,
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
            },
            { parent: this },
        );

        this.storageClassName = args.storageClassName;
        const storageClass = new k8s.storage.v1.StorageClass(
            `${name}-sc`,
            {
                metadata: { name: args.storageClassName },
                provisioner: EFS_CSI_DRIVER,
                reclaimPolicy: args.protectData ? "Retain" : "Delete",
                volumeBindingMode: "Immediate",
                parameters: {
                    provisioningMode: "efs-ap",
                    fileSystemId: fs.id,
                    directoryPerms: "770",
                    uid: String(args.uid),
                    gid: String(args.gid),
                    basePath: "/ml-platform",
                },
            },
            { parent: this, dependsOn: [addon] },
        );

        this.claims = args.claims;
        for (const claim of args.claims) {
            new k8s.core.v1.PersistentVolumeClaim(
                `${name}-${claim.namespace}-${claim.name}`,
                {
                    metadata: { name: claim.name, namespace: claim.namespace, labels: { "app.kubernetes.io/part-of": "ml-platform" } },
                    spec: {
                        accessModes: ["ReadWriteMany"],
                        storageClassName: args.storageClassName,
                        resources: { requests: { storage: claim.size } },
                    },
                },
                { ...dataOpts, dependsOn: [storageClass] },
            );
        }

        this.registerOutputs({ fileSystemId: this.fileSystemId, storageClassName: this.storageClassName });
    }
}
