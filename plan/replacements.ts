/**
 * Which input changes force a replacement, and where each list comes from. Plain data: plan/diff.ts
 * matches changed input paths against these patterns (a pattern matches a path and everything under it;
 * `*` matches one key, `[*]` one index).
 */

export interface ForceNewRule {
    /** Input paths, as the recorded inputs name them. */
    paths: string[];
    /** Why these fields replace: the API or provider rule, to check when a provider is upgraded. */
    source: string;
    /** Only a change in this direction replaces (a PVC may grow, never shrink). */
    when?: "shrink";
}

/**
 * Kubernetes fields the API server refuses to update; the Kubernetes provider replaces the object
 * instead. Keyed by `apiVersion/kind` as the resource type names it (kubernetes:<group/version>:<Kind>).
 */
export const KUBERNETES_IMMUTABLE: Record<string, ForceNewRule[]> = {
    "kubernetes:batch/v1:Job": [
        {
            paths: ["spec.template", "spec.selector", "spec.completions", "spec.completionMode", "spec.podFailurePolicy", "spec.manualSelector"],
            source: "kubernetes pkg/apis/batch/validation ValidateJobSpecUpdate: a Job's pod template, selector, completions (non-indexed), completionMode and podFailurePolicy are immutable",
        },
    ],
    "kubernetes:apps/v1:Deployment": [
        { paths: ["spec.selector"], source: "kubernetes pkg/apis/apps/validation ValidateDeploymentUpdate: spec.selector is immutable in apps/v1" },
    ],
    "kubernetes:apps/v1:DaemonSet": [
        { paths: ["spec.selector"], source: "kubernetes pkg/apis/apps/validation ValidateDaemonSetUpdate: spec.selector is immutable in apps/v1" },
    ],
    "kubernetes:apps/v1:StatefulSet": [
        {
            paths: ["spec.volumeClaimTemplates", "spec.selector", "spec.serviceName", "spec.podManagementPolicy"],
            source: "kubernetes pkg/apis/apps/validation ValidateStatefulSetUpdate: only replicas, template, updateStrategy, minReadySeconds, ordinals and the PVC retention policy may change",
        },
    ],
    "kubernetes:core/v1:PersistentVolumeClaim": [
        {
            paths: ["spec.storageClassName", "spec.accessModes", "spec.volumeMode", "spec.volumeName", "spec.selector", "spec.dataSource"],
            source: "kubernetes pkg/apis/core/validation ValidatePersistentVolumeClaimUpdate: a bound claim's spec is immutable except resources.requests and volumeAttributesClassName",
        },
        {
            paths: ["spec.resources.requests.storage"],
            source: "kubernetes pkg/apis/core/validation ValidatePersistentVolumeClaimUpdate: storage may only grow (and only where the class allows expansion)",
            when: "shrink",
        },
    ],
    "kubernetes:core/v1:Service": [
        { paths: ["spec.clusterIP", "spec.clusterIPs"], source: "kubernetes pkg/apis/core/validation ValidateServiceUpdate: clusterIP is immutable once allocated" },
    ],
    "kubernetes:storage.k8s.io/v1:StorageClass": [
        {
            paths: ["provisioner", "parameters", "reclaimPolicy", "volumeBindingMode"],
            source: "kubernetes pkg/apis/storage/validation ValidateStorageClassUpdate: provisioner, parameters, reclaimPolicy and volumeBindingMode are immutable",
        },
    ],
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": [
        { paths: ["roleRef"], source: "kubernetes pkg/apis/rbac/validation ValidateRoleBindingUpdate: roleRef is immutable" },
    ],
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": [
        { paths: ["roleRef"], source: "kubernetes pkg/apis/rbac/validation ValidateClusterRoleBindingUpdate: roleRef is immutable" },
    ],
    "kubernetes:policy/v1:PodDisruptionBudget": [],
};

/** Every Kubernetes object: its identity. */
export const KUBERNETES_IDENTITY: ForceNewRule = {
    paths: ["metadata.name", "metadata.namespace"],
    source: "pulumi-kubernetes: a changed name or namespace is a different object, so the provider replaces it",
};

/**
 * AWS and EKS properties that force a new resource, for the types the platform registers. pulumi-aws
 * bridges terraform-provider-aws, whose schemas mark these `ForceNew`; pulumi-eks and awsx components
 * pass theirs through to the AWS resources named in each source.
 */
export const PROVIDER_FORCE_NEW: Record<string, ForceNewRule[]> = {
    "eks:index:ManagedNodeGroup": [
        {
            paths: ["instanceTypes", "amiType", "capacityType", "diskSize", "subnetIds", "nodeGroupName", "nodeGroupNamePrefix", "nodeRole", "nodeRoleArn", "remoteAccess", "cluster", "clusterName"],
            source: "terraform-provider-aws aws_eks_node_group (pulumi-eks ManagedNodeGroup creates aws.eks.NodeGroup): instance_types, ami_type, capacity_type, disk_size, subnet_ids, node_group_name(_prefix), node_role_arn, remote_access and cluster_name are ForceNew",
        },
    ],
    "eks:index:Cluster": [
        {
            paths: ["name", "subnetIds", "privateSubnetIds", "publicSubnetIds", "vpcId", "encryptionConfigKeyArn", "serviceRole", "kubernetesServiceIpAddressRange", "ipFamily"],
            source: "terraform-provider-aws aws_eks_cluster (pulumi-eks Cluster creates aws.eks.Cluster): name, role_arn, vpc_config.subnet_ids, encryption_config and kubernetes_network_config are ForceNew",
        },
    ],
    "aws:efs/fileSystem:FileSystem": [
        {
            paths: ["encrypted", "kmsKeyId", "performanceMode", "availabilityZoneName", "creationToken"],
            source: "terraform-provider-aws aws_efs_file_system: encrypted, kms_key_id, performance_mode, availability_zone_name and creation_token are ForceNew",
        },
    ],
    "aws:efs/mountTarget:MountTarget": [
        { paths: ["fileSystemId", "subnetId", "ipAddress"], source: "terraform-provider-aws aws_efs_mount_target: file_system_id, subnet_id and ip_address are ForceNew" },
    ],
    "aws:efs/backupPolicy:BackupPolicy": [{ paths: ["fileSystemId"], source: "terraform-provider-aws aws_efs_backup_policy: file_system_id is ForceNew" }],
    "aws:efs/fileSystemPolicy:FileSystemPolicy": [{ paths: ["fileSystemId"], source: "terraform-provider-aws aws_efs_file_system_policy: file_system_id is ForceNew" }],
    "aws:kms/key:Key": [
        { paths: ["customerMasterKeySpec", "keySpec", "keyUsage", "multiRegion", "xksKeyId", "customKeyStoreId"], source: "terraform-provider-aws aws_kms_key: key_spec, key_usage, multi_region and custom key store are ForceNew" },
    ],
    "aws:iam/role:Role": [{ paths: ["name", "namePrefix", "path"], source: "terraform-provider-aws aws_iam_role: name, name_prefix and path are ForceNew" }],
    "aws:iam/rolePolicy:RolePolicy": [{ paths: ["name", "namePrefix", "role"], source: "terraform-provider-aws aws_iam_role_policy: name, name_prefix and role are ForceNew" }],
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": [
        { paths: ["role", "policyArn"], source: "terraform-provider-aws aws_iam_role_policy_attachment: no update; role and policy_arn are ForceNew" },
    ],
    "aws:ec2/securityGroup:SecurityGroup": [
        { paths: ["name", "namePrefix", "vpcId", "description"], source: "terraform-provider-aws aws_security_group: name, name_prefix, vpc_id and description are ForceNew" },
    ],
    "aws:ec2/launchTemplate:LaunchTemplate": [{ paths: ["name", "namePrefix"], source: "terraform-provider-aws aws_launch_template: name and name_prefix are ForceNew (other changes make a new version)" }],
    "aws:cloudwatch/logGroup:LogGroup": [{ paths: ["name", "namePrefix"], source: "terraform-provider-aws aws_cloudwatch_log_group: name and name_prefix are ForceNew" }],
    "aws:autoscaling/tag:Tag": [
        { paths: ["autoscalingGroupName", "tag"], source: "terraform-provider-aws aws_autoscaling_group_tag: no update; autoscaling_group_name and tag are ForceNew" },
    ],
    "aws:eks/addon:Addon": [{ paths: ["addonName", "clusterName"], source: "terraform-provider-aws aws_eks_addon: addon_name and cluster_name are ForceNew" }],
    "aws:eks/accessEntry:AccessEntry": [
        { paths: ["clusterName", "principalArn"], source: "terraform-provider-aws aws_eks_access_entry: cluster_name and principal_arn are ForceNew" },
    ],
    "awsx:ec2:Vpc": [
        {
            paths: ["cidrBlock", "availabilityZoneNames", "numberOfAvailabilityZones", "subnetSpecs", "subnetStrategy", "ipv4IpamPoolId"],
            source: "awsx ec2.Vpc: these change the VPC's CIDR or its subnets' CIDRs and zones, which aws_vpc cidr_block and aws_subnet cidr_block/availability_zone make ForceNew",
        },
    ],
    "kubernetes:helm.sh/v3:Release": [{ paths: ["name", "namespace"], source: "pulumi-kubernetes helm.v3.Release: a release's name and namespace identify it; a change installs a new release" }],
};

/**
 * Node group inputs that roll every node in place (EKS replaces nodes one by one with a new launch
 * template version or release): not a replacement of the resource, but the same drain for its pods.
 * Source: AWS EKS "Updating a managed node group" (a launch template, version or release version update
 * drains and replaces the nodes).
 */
export const NODE_GROUP_ROLLING: string[] = ["launchTemplate", "version", "releaseVersion"];
