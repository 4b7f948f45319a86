import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { VERSIONS } from "../facts/versions";
import { irsaTrustPolicy, serviceAccountSubject } from "./irsa";

/** The service account the EBS CSI add-on's controller runs as (the node DaemonSet needs no AWS access). */
export const EBS_CSI_CONTROLLER_SA = "ebs-csi-controller-sa";
export const EBS_CSI_DRIVER = "ebs.csi.aws.com";
/** Block storage for single-pod state (Prometheus' TSDB); EKS clusters from 1.30 on have no StorageClass at all. */
export const GP3_STORAGE_CLASS = "gp3";

export interface ClusterAddonsArgs {
    clusterName: pulumi.Input<string>;
    oidcProviderArn: pulumi.Input<string>;
    oidcIssuer: pulumi.Input<string>;
    /** Prod: a deleted claim keeps its EBS volume. */
    protectData: boolean;
    tags: Record<string, string>;
}

/**
 * The managed EKS add-ons the platform needs beyond the cluster's own: CoreDNS (pulumi-eks installs it
 * managed only with its default node group, which we skip, so otherwise it stays the unmanaged copy EKS
 * bootstraps and nobody upgrades) and the EBS CSI driver, with the encrypted gp3 StorageClass it serves.
 * Both add-ons need running nodes to become ACTIVE: create this after the node pools.
 */
export class ClusterAddons extends pulumi.ComponentResource {
    public readonly gp3StorageClassName: string = GP3_STORAGE_CLASS;

    constructor(name: string, args: ClusterAddonsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:addons:ClusterAddons", name, {}, opts);

        new aws.eks.Addon(
            `${name}-coredns`,
            {
                clusterName: args.clusterName,
                addonName: "coredns",
                addonVersion: VERSIONS.corednsAddon,
                // Take over the copy EKS bootstrapped.
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: args.tags,
            },
            { parent: this },
        );

        const ebsRole = new aws.iam.Role(
            `${name}-ebs-csi-role`,
            {
                assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, serviceAccountSubject("kube-system", EBS_CSI_CONTROLLER_SA)),
                tags: args.tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicyAttachment(
            `${name}-ebs-csi-policy`,
            { role: ebsRole.name, policyArn: "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy" },
            { parent: this },
        );
        const ebsAddon = new aws.eks.Addon(
            `${name}-ebs-csi`,
            {
                clusterName: args.clusterName,
                addonName: "aws-ebs-csi-driver",
                addonVersion: VERSIONS.ebsCsiAddon,
                serviceAccountRoleArn: ebsRole.arn,
                resolveConflictsOnCreate: "OVERWRITE",
                resolveConflictsOnUpdate: "OVERWRITE",
                tags: args.tags,
            },
            { parent: this },
        );

        new k8s.storage.v1.StorageClass(
            `${name}-gp3`,
            {
                metadata: { name: GP3_STORAGE_CLASS },
                provisioner: EBS_CSI_DRIVER,
                reclaimPolicy: args.protectData ? "Retain" : "Delete",
                // An EBS volume lives in one AZ: bind where the pod is scheduled, not before.
                volumeBindingMode: "WaitForFirstConsumer",
                allowVolumeExpansion: true,
                parameters: { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" },
            },
            { parent: this, dependsOn: [ebsAddon] },
        );

        this.registerOutputs({});
    }
}
