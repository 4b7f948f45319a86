import { strict as assert } from "node:assert";
import type { ResourceLike } from "../plan/policy";
import { EKS_COMPONENT } from "../policy/rules/cluster";
import * as storage from "../policy/rules/storage";
import { Obj, onResource, onStack, urnOf } from "./policy-rules-helpers";

const FS = "aws:efs/fileSystem:FileSystem";
const MT = "aws:efs/mountTarget:MountTarget";
const SG = "aws:ec2/securityGroup:SecurityGroup";
const SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule";
const SG_INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule";
const FSP = "aws:efs/fileSystemPolicy:FileSystemPolicy";
const BACKUP = "aws:efs/backupPolicy:BackupPolicy";
const KMS = "aws:kms/key:Key";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const PV = "kubernetes:core/v1:PersistentVolume";
const SC = "kubernetes:storage.k8s.io/v1:StorageClass";
const EFS_CSI = "efs.csi.aws.com";
const PROD = { environment: "prod" };

const fsRes = (name = "efs", inputs: Obj = {}): ResourceLike => ({ type: FS, name, inputs });
const DENY_TLS = { Effect: "Deny", Action: "*", Principal: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } };
const fsPolicy = (policy: unknown, deps: string[] = [urnOf(FS, "efs")], name = "efs-policy"): ResourceLike => ({
    type: FSP,
    name,
    inputs: policy === undefined ? {} : { policy },
    options: { dependsOn: deps },
});
const NO_POLICY =
    'EFS file system "efs" has no file system policy, so plain NFS is accepted. Fix: add a FileSystemPolicy denying "*" when aws:SecureTransport is false (and allowing ClientMount via mount targets), as components/storage.ts does. @efs';
const NO_DENY =
    'EFS file system "efs" has a file system policy without a Deny on aws:SecureTransport=false, so plain NFS is accepted. Fix: add a FileSystemPolicy denying "*" when aws:SecureTransport is false (and allowing ClientMount via mount targets), as components/storage.ts does. @efs';

describe("policy rules (direct): storage", () => {
    describe("efs-encrypted", () => {
        const rule = storage.efsEncrypted;
        it("ignores other types, passes our key", () => {
            assert.deepEqual(onResource(rule, { type: KMS, name: "k", inputs: {} }), []);
            assert.deepEqual(onResource(rule, fsRes("efs", { encrypted: true, kmsKeyId: "arn:k" })), []);
        });
        it("names the value, the unset default and the AWS-managed key exactly", () => {
            assert.deepEqual(onResource(rule, fsRes("efs", {})), [
                'EFS file system "efs" has encrypted (unset, i.e. false); encryption cannot be turned on later without a new file system. Fix: set encrypted: true and kmsKeyId.',
            ]);
            assert.deepEqual(onResource(rule, fsRes("efs", { encrypted: false })), [
                'EFS file system "efs" has encrypted false; encryption cannot be turned on later without a new file system. Fix: set encrypted: true and kmsKeyId.',
            ]);
            assert.deepEqual(onResource(rule, fsRes("data", { encrypted: true })), [
                'EFS file system "data" is encrypted with the AWS-managed key (no kmsKeyId): no key policy or rotation of ours, no way to revoke access. Fix: set kmsKeyId to our key (components/storage.ts).',
            ]);
        });
    });

    describe("efs-tls-only", () => {
        const rule = storage.efsTlsOnly;
        it("accepts a Deny on * or elasticfilesystem:* as a string or an object, single or listed", () => {
            assert.deepEqual(onStack(rule, [fsRes(), fsPolicy(JSON.stringify({ Statement: [DENY_TLS] }))]), []);
            assert.deepEqual(onStack(rule, [fsRes(), fsPolicy({ Statement: DENY_TLS })]), []);
            assert.deepEqual(onStack(rule, [fsRes(), fsPolicy({ Statement: [{ ...DENY_TLS, Action: ["elasticfilesystem:*"] }] })]), []);
            assert.deepEqual(onStack(rule, [fsRes(), fsPolicy({ Statement: [{ ...DENY_TLS, Condition: { Bool: { "aws:SecureTransport": false } } }] })]), []);
            // A statement with another condition before the one that counts.
            assert.deepEqual(onStack(rule, [fsRes(), fsPolicy({ Statement: [{ Effect: "Allow", Action: "x", Condition: { StringEquals: {} } }, DENY_TLS] })]), []);
            // Two dependencies: the policy belongs to both file systems.
            assert.deepEqual(onStack(rule, [fsRes(), fsRes("other"), fsPolicy({ Statement: [DENY_TLS] }, [urnOf(FS, "other"), urnOf(FS, "efs")])]), []);
        });
        it("rejects Allow, other actions, a true condition, bad JSON, no policy text", () => {
            for (const st of [
                { ...DENY_TLS, Effect: "Allow" },
                { ...DENY_TLS, Action: "s3:*" },
                { ...DENY_TLS, Action: undefined },
                { ...DENY_TLS, Condition: { Bool: { "aws:SecureTransport": "true" } } },
                { ...DENY_TLS, Condition: {} },
            ]) {
                assert.deepEqual(onStack(rule, [fsRes(), fsPolicy({ Statement: [st] })]), [NO_DENY], JSON.stringify(st));
            }
            assert.deepEqual(onStack(rule, [fsRes(), fsPolicy("{not json")]), [NO_DENY]);
            assert.deepEqual(onStack(rule, [fsRes(), fsPolicy(undefined)]), [NO_DENY]);
            assert.deepEqual(onStack(rule, [fsRes(), fsPolicy({ Statement: null })]), [NO_DENY]);
        });
        it("counts only file system policies on this file system", () => {
            assert.deepEqual(onStack(rule, [fsRes()]), [NO_POLICY]);
            assert.deepEqual(onStack(rule, [fsRes(), fsRes("other"), fsPolicy({ Statement: [DENY_TLS] }, [urnOf(FS, "other")])]), [NO_POLICY]);
            const wrongType = { ...fsPolicy({ Statement: [DENY_TLS] }), type: BACKUP };
            assert.deepEqual(onStack(rule, [fsRes(), wrongType]), [NO_POLICY]);
        });
        it("flags encryptInTransit false on EFS CSI volumes and classes only, with the kind's name", () => {
            const pv = (csi: Obj | undefined, spec: Obj | undefined = csi === undefined ? undefined : { csi }): ResourceLike => ({ type: PV, name: "pv", inputs: spec === undefined ? {} : { spec } });
            const ok = [fsRes(), fsPolicy({ Statement: [DENY_TLS] })];
            assert.deepEqual(onStack(rule, [...ok, pv({ driver: EFS_CSI, volumeAttributes: { encryptInTransit: "false" } })]), [
                'PersistentVolume "pv" sets encryptInTransit "false": its EFS mounts would be plain NFS. Fix: remove it; the EFS CSI driver mounts with TLS by default. @pv',
            ]);
            assert.deepEqual(onStack(rule, [...ok, { type: SC, name: "efs-sc", inputs: { provisioner: EFS_CSI, parameters: { encryptInTransit: false } } }]), [
                'StorageClass "efs-sc" sets encryptInTransit "false": its EFS mounts would be plain NFS. Fix: remove it; the EFS CSI driver mounts with TLS by default. @efs-sc',
            ]);
            assert.deepEqual(onStack(rule, [...ok, pv({ driver: "ebs.csi.aws.com", volumeAttributes: { encryptInTransit: "false" } })]), []);
            assert.deepEqual(onStack(rule, [...ok, pv({ driver: EFS_CSI, volumeAttributes: { encryptInTransit: "true" } })]), []);
            assert.deepEqual(onStack(rule, [...ok, pv(undefined)]), []);
            assert.deepEqual(onStack(rule, [...ok, pv(undefined, { capacity: {} })]), []);
            assert.deepEqual(onStack(rule, [...ok, { type: SC, name: "gp3", inputs: { provisioner: "ebs.csi.aws.com", parameters: { encryptInTransit: "false" } } }]), []);
            assert.deepEqual(onStack(rule, [...ok, { type: PVC, name: "c", inputs: { provisioner: EFS_CSI, parameters: { encryptInTransit: "false" }, spec: { csi: { driver: EFS_CSI, volumeAttributes: { encryptInTransit: "false" } } } } }]), []);
        });
    });

    describe("efs-backups-enabled", () => {
        const rule = storage.efsBackupsEnabled;
        const backup = (inputs: Obj, dep = urnOf(FS, "efs")): ResourceLike => ({ type: BACKUP, name: "b", inputs, options: { dependsOn: [dep] } });
        it("names the statuses it found, or none", () => {
            assert.deepEqual(onStack(rule, [fsRes()], PROD), [
                'EFS file system "efs" has backups (no backup policy) in prod: a deleted checkpoint directory is gone for good. Fix: a BackupPolicy with status ENABLED (components/storage.ts backups). @efs',
            ]);
            assert.deepEqual(onStack(rule, [fsRes(), backup({ backupPolicy: { status: "DISABLED" } })], PROD), [
                'EFS file system "efs" has backups DISABLED in prod: a deleted checkpoint directory is gone for good. Fix: a BackupPolicy with status ENABLED (components/storage.ts backups). @efs',
            ]);
            assert.deepEqual(onStack(rule, [fsRes(), backup({})], PROD), [
                'EFS file system "efs" has backups undefined in prod: a deleted checkpoint directory is gone for good. Fix: a BackupPolicy with status ENABLED (components/storage.ts backups). @efs',
            ]);
            assert.deepEqual(onStack(rule, [fsRes(), backup({ backupPolicy: { status: "ENABLED" } })], PROD), []);
            assert.deepEqual(onStack(rule, [fsRes()], { environment: "dev" }), []);
        });
    });

    describe("efs-lifecycle-to-ia and kms-key-rotation", () => {
        it("lifecycle: ignores other types, names the fix", () => {
            assert.deepEqual(onResource(storage.efsLifecycleToIa, { type: KMS, name: "k", inputs: {} }), []);
            assert.deepEqual(onResource(storage.efsLifecycleToIa, fsRes("efs", { lifecyclePolicies: [{ transitionToPrimaryStorageClass: "AFTER_1_ACCESS" }, { transitionToIa: "AFTER_30_DAYS" }] })), []);
            assert.deepEqual(onResource(storage.efsLifecycleToIa, fsRes("efs", {})), [
                'EFS file system "efs" has no transitionToIa lifecycle policy: cold data stays on Standard storage. Fix: lifecyclePolicies [{transitionToIa: AFTER_30_DAYS}, {transitionToPrimaryStorageClass: AFTER_1_ACCESS}].',
            ]);
        });
        it("kms: ignores other types and asymmetric keys, names the value", () => {
            const rule = storage.kmsKeyRotation;
            assert.deepEqual(onResource(rule, fsRes("efs", {})), []);
            assert.deepEqual(onResource(rule, { type: KMS, name: "k", inputs: { keySpec: "RSA_2048" } }), []);
            assert.deepEqual(onResource(rule, { type: KMS, name: "k", inputs: { customerMasterKeySpec: "ECC_NIST_P256", keySpec: "SYMMETRIC_DEFAULT" } }), []);
            assert.deepEqual(onResource(rule, { type: KMS, name: "k", inputs: {} }), ['KMS key "k" has enableKeyRotation (unset, i.e. false). Fix: set enableKeyRotation: true.']);
            assert.deepEqual(onResource(rule, { type: KMS, name: "k", inputs: { keySpec: "SYMMETRIC_DEFAULT", enableKeyRotation: false } }), ['KMS key "k" has enableKeyRotation false. Fix: set enableKeyRotation: true.']);
            assert.deepEqual(onResource(rule, { type: KMS, name: "k", inputs: { enableKeyRotation: true } }), []);
        });
    });

    describe("data-protected", () => {
        const rule = storage.dataProtected;
        it("protect: EFS, KMS keys and claims, exact message", () => {
            assert.deepEqual(onResource(rule, { type: PVC, name: "ckpt", inputs: {} }, PROD), [
                'PersistentVolumeClaim "ckpt" is not protected in prod: `pulumi destroy` or a rename would delete it and the data with it. Fix: create it with { protect: true, retainOnDelete: true } (components/storage.ts protectData).',
            ]);
            assert.deepEqual(onResource(rule, { type: PVC, name: "ckpt", inputs: {}, options: { protect: true } }, PROD), []);
            assert.deepEqual(onResource(rule, { type: PVC, name: "ckpt", inputs: {} }, { environment: "dev" }), []);
        });
        it("StorageClass: EFS only, metadata name or resource name, the unset default", () => {
            assert.deepEqual(onResource(rule, { type: SC, name: "sc", inputs: { provisioner: EFS_CSI } }, PROD), ['StorageClass "sc" has reclaimPolicy (unset, i.e. Delete) in prod: deleting a claim deletes its data. Fix: reclaimPolicy Retain.']);
            assert.deepEqual(onResource(rule, { type: SC, name: "sc", inputs: { provisioner: EFS_CSI, metadata: { name: "efs" }, reclaimPolicy: "Delete" } }, PROD), [
                'StorageClass "efs" has reclaimPolicy Delete in prod: deleting a claim deletes its data. Fix: reclaimPolicy Retain.',
            ]);
            assert.deepEqual(onResource(rule, { type: SC, name: "sc", inputs: { provisioner: EFS_CSI, reclaimPolicy: "Retain" } }, PROD), []);
            assert.deepEqual(onResource(rule, { type: SC, name: "sc", inputs: { provisioner: "ebs.csi.aws.com" } }, PROD), []);
            assert.deepEqual(onResource(rule, { type: PV, name: "pv", inputs: { provisioner: EFS_CSI } }, PROD), []);
        });
        it("PersistentVolume: EFS CSI only, metadata name or resource name, the unset default", () => {
            const pv = (spec: Obj | undefined, meta?: Obj): ResourceLike => ({ type: PV, name: "pv", inputs: { ...(spec ? { spec } : {}), ...(meta ? { metadata: meta } : {}) } });
            assert.deepEqual(onResource(rule, pv({ csi: { driver: EFS_CSI } }), PROD), ['PersistentVolume "pv" has persistentVolumeReclaimPolicy (unset) in prod. Fix: Retain.']);
            assert.deepEqual(onResource(rule, pv({ csi: { driver: EFS_CSI }, persistentVolumeReclaimPolicy: "Delete" }, { name: "data" }), PROD), [
                'PersistentVolume "data" has persistentVolumeReclaimPolicy Delete in prod. Fix: Retain.',
            ]);
            assert.deepEqual(onResource(rule, pv({ csi: { driver: EFS_CSI }, persistentVolumeReclaimPolicy: "Retain" }), PROD), []);
            assert.deepEqual(onResource(rule, pv({ csi: { driver: "ebs.csi.aws.com" } }), PROD), []);
            assert.deepEqual(onResource(rule, pv({}), PROD), []);
            assert.deepEqual(onResource(rule, pv(undefined), PROD), []);
            assert.deepEqual(onResource(rule, { type: SC, name: "sc", inputs: { provisioner: EFS_CSI, reclaimPolicy: "Retain", spec: { csi: { driver: EFS_CSI } } } }, PROD), []);
        });
    });

    describe("efs-sg-nfs-from-cluster-only", () => {
        const rule = storage.efsSecurityGroupNfsFromClusterOnly;
        const FIX = "Fix: admit only tcp 2049-2049 from the cluster's security group (components/storage.ts).";
        const sg = (ingress: Obj[] | undefined, name = "efs-sg"): ResourceLike => ({ type: SG, name, inputs: ingress === undefined ? {} : { ingress } });
        const mt = (deps: string[] = [urnOf(SG, "efs-sg")]): ResourceLike => ({ type: MT, name: "mt-0", inputs: {}, options: { dependsOn: deps } });
        const nfs = { protocol: "tcp", fromPort: 2049, toPort: 2049 };
        const msg = (name: string, what: string) => `EFS security group rule in "${name}" admits ${what}. ${FIX} @${name}`;
        it("judges the group's inline ingress", () => {
            assert.deepEqual(onStack(rule, [sg(undefined), mt()]), []);
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, self: true }]), mt()]), []);
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, protocol: "6", securityGroups: "sg-1" }]), mt()]), []);
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, protocol: "TCP", securityGroups: ["sg-1"], cidrBlocks: null }]), mt()]), []);
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, securityGroups: [] }]), mt()]), [msg("efs-sg", "tcp 2049-2049 from nowhere")]);
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, securityGroups: ["sg-1"], prefixListIds: ["pl-1"], ipv6CidrBlocks: ["::/0"] }]), mt()]), [msg("efs-sg", "tcp 2049-2049 from ::/0, pl-1")]);
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, protocol: "udp", self: true }]), mt()]), [msg("efs-sg", "udp 2049-2049 from security groups")]);
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, fromPort: 2048, self: true }]), mt()]), [msg("efs-sg", "tcp 2048-2049 from security groups")]);
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, toPort: 2050, self: true }]), mt()]), [msg("efs-sg", "tcp 2049-2050 from security groups")]);
        });
        it("finds the EFS groups through mount targets only", () => {
            const open = [{ ...nfs, cidrBlocks: ["0.0.0.0/0"] }];
            assert.deepEqual(onStack(rule, [sg(open)]), []);
            assert.deepEqual(onStack(rule, [sg(open), { type: "aws:ec2/instance:Instance", name: "i", inputs: {}, options: { dependsOn: [urnOf(SG, "efs-sg")] } }]), []);
            const subnet: ResourceLike = { type: "aws:ec2/subnet:Subnet", name: "s", inputs: {} };
            const badRule: ResourceLike = { type: SG_RULE, name: "r", inputs: { type: "ingress", ...nfs, cidrBlocks: ["10.0.0.0/8"] }, options: { dependsOn: [urnOf(subnet.type, "s")] } };
            assert.deepEqual(onStack(rule, [sg([{ ...nfs, self: true }]), subnet, badRule, mt([urnOf(subnet.type, "s"), urnOf(SG, "efs-sg")])]), []);
        });
        it("judges separate rules on an EFS group, ingress only", () => {
            const ruleOn = (inputs: Obj, deps = [urnOf(SG, "efs-sg")], type = SG_RULE): ResourceLike => ({ type, name: "r", inputs, options: { dependsOn: deps } });
            const base = [sg([{ ...nfs, self: true }]), sg([], "other"), mt()];
            assert.deepEqual(onStack(rule, [...base, ruleOn({ type: "egress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["0.0.0.0/0"] })]), []);
            assert.deepEqual(onStack(rule, [...base, ruleOn({ type: "ingress", ...nfs, sourceSecurityGroupId: "sg-1" })]), []);
            assert.deepEqual(onStack(rule, [...base, ruleOn({ type: "ingress", ...nfs, self: true })]), []);
            assert.deepEqual(onStack(rule, [...base, ruleOn({ type: "ingress", ...nfs, self: false })]), [msg("r", "tcp 2049-2049 from nowhere")]);
            assert.deepEqual(onStack(rule, [...base, ruleOn({ type: "ingress", ...nfs, cidrBlocks: ["0.0.0.0/0"] }, [urnOf(SG, "other")])]), []);
            assert.deepEqual(onStack(rule, [...base, ruleOn({ type: "ingress", ...nfs, cidrBlocks: ["0.0.0.0/0"] }, [urnOf(SG, "other"), urnOf(SG, "efs-sg")])]), [msg("r", "tcp 2049-2049 from 0.0.0.0/0")]);
            assert.deepEqual(onStack(rule, [...base, ruleOn({ type: "ingress", ...nfs, cidrBlocks: ["0.0.0.0/0"] }, [urnOf(SG, "efs-sg")], "aws:ec2/instance:Instance")]), []);
        });
        it("judges VPC ingress rules on an EFS group", () => {
            const v = (inputs: Obj): ResourceLike => ({ type: SG_INGRESS, name: "v", inputs: { ipProtocol: "tcp", fromPort: 2049, toPort: 2049, ...inputs }, options: { dependsOn: [urnOf(SG, "efs-sg")] } });
            const base = [sg([{ ...nfs, self: true }]), mt()];
            assert.deepEqual(onStack(rule, [...base, v({ referencedSecurityGroupId: "sg-nodes" })]), []);
            assert.deepEqual(onStack(rule, [...base, v({})]), [msg("v", "tcp 2049-2049 from nowhere")]);
            assert.deepEqual(onStack(rule, [...base, v({ cidrIpv4: "10.0.0.0/8", cidrIpv6: "::/0", referencedSecurityGroupId: "sg-nodes" })]), [msg("v", "tcp 2049-2049 from 10.0.0.0/8, ::/0")]);
            assert.deepEqual(onStack(rule, [...base, v({ prefixListId: "pl-9", referencedSecurityGroupId: "sg-nodes" })]), [msg("v", "tcp 2049-2049 from pl-9")]);
            assert.deepEqual(onStack(rule, [...base, v({ ipProtocol: "-1", fromPort: 0, toPort: 0, referencedSecurityGroupId: "sg-nodes" })]), [msg("v", "-1 0-0 from security groups")]);
        });
    });

    describe("eks-endpoint-not-public", () => {
        const rule = storage.eksEndpointNotPublic;
        const CLUSTER = "aws:eks/cluster:Cluster";
        it("ignores other types", () => {
            assert.deepEqual(onResource(rule, { type: "aws:s3/bucket:Bucket", name: "b", inputs: {} }), []);
        });
        it("aws:eks Cluster without vpcConfig: both findings, exact", () => {
            assert.deepEqual(onResource(rule, { type: CLUSTER, name: "c", inputs: {} }), [
                'EKS cluster "c" has endpointPrivateAccess (unset, i.e. false): nodes reach the API over the internet. Fix: set cluster.endpoint.privateAccess: true.',
                'EKS cluster "c" has a public API endpoint open to 0.0.0.0/0 (the default). Fix: set cluster.endpoint.publicAccessCidrs to your office/VPN ranges, or publicAccess: false.',
            ]);
        });
        it("the component: false access, listed open CIDRs, private-only config", () => {
            assert.deepEqual(onResource(rule, { type: EKS_COMPONENT, name: "c", inputs: { endpointPrivateAccess: false, endpointPublicAccess: false } }), [
                'EKS cluster "c" has endpointPrivateAccess false: nodes reach the API over the internet. Fix: set cluster.endpoint.privateAccess: true.',
            ]);
            assert.deepEqual(onResource(rule, { type: EKS_COMPONENT, name: "c", inputs: { endpointPrivateAccess: true, publicAccessCidrs: ["10.0.0.0/8", "::/0", "0.0.0.0/0"] } }), [
                'EKS cluster "c" has a public API endpoint open to ::/0, 0.0.0.0/0. Fix: set cluster.endpoint.publicAccessCidrs to your office/VPN ranges, or publicAccess: false.',
            ]);
            assert.deepEqual(onResource(rule, { type: EKS_COMPONENT, name: "c", inputs: { endpointPrivateAccess: true, publicAccessCidrs: ["10.0.0.0/8"] } }), []);
            assert.deepEqual(onResource(rule, { type: EKS_COMPONENT, name: "c", inputs: { endpointPrivateAccess: true, publicAccessCidrs: ["10.0.0.0/8"] } }, { allowPublicEndpoint: false }), [
                'EKS cluster "c" has a public API endpoint, and this stack requires a private one. Fix: set cluster.endpoint.publicAccess: false and deploy from inside the VPC.',
            ]);
        });
    });
});
