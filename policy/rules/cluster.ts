/**
 * The control plane and the nodes: secrets envelope-encrypted, control-plane logs on, least-privilege
 * access entries, NetworkPolicies actually enforced, and node launch settings that keep pods off the
 * node's credentials. Both worlds: the offline plan sees the inputs of the remote components
 * (eks:index:Cluster, eks:index:ManagedNodeGroup); a real preview also sees their aws:* children.
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { UnknownValueError } from "@pulumi/policy";
import { NAMESPACES } from "../../facts/namespaces";
import { configOf } from "./config";
import { Props } from "./k8s";
import { KARPENTER_NODEPOOL_TYPE } from "../../capacity/karpenter";
import { LAUNCH_TEMPLATE, MANAGED_NODE_GROUP, AWS_NODE_GROUP, nodePoolOf, describePool } from "./nodepools";

export const EKS_COMPONENT = "eks:index:Cluster";
export const EKS_CLUSTER = "aws:eks/cluster:Cluster";
export const ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry";
export const ACCESS_POLICY_ASSOCIATION = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation";
export const EKS_ADDON = "aws:eks/addon:Addon";

const CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";

/** Whether a property is set, without tripping over a value that is unknown during a preview (a key's ARN). */
function isSet(props: Props, key: string): boolean {
    if (!props || !(key in props)) {
        return false;
    }
    try {
        const v = props[key];
        return v !== undefined && v !== null && v !== "";
    } catch (e) {
        if (e instanceof UnknownValueError) {
            return true;
        }
        throw e;
    }
}

const truthy = (v: unknown) => v === true || v === "true";

export const eksSecretsEncrypted: ResourceValidationPolicy = {
    name: "eks-secrets-encrypted",
    description:
        "Kubernetes Secrets are envelope-encrypted in etcd with a customer-managed KMS key (CIS EKS 5.3.1; Checkov CKV_AWS_58).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const fix = "Fix: pass encryptionConfigKeyArn (a KMS key with rotation on) to the cluster, as components/cluster.ts does.";
        if (args.type === EKS_COMPONENT && !isSet(args.props, "encryptionConfigKeyArn")) {
            report(`EKS cluster "${args.name}" has no encryptionConfigKeyArn: Secrets sit in etcd under EKS's default encryption only. ${fix}`);
        } else if (args.type === EKS_CLUSTER) {
            const configs: Props[] = args.props.encryptionConfig ? [].concat(args.props.encryptionConfig) : [];
            const secrets = configs.some((c) => (c.resources ?? []).includes("secrets") && isSet(c.provider ?? {}, "keyArn"));
            if (!secrets) {
                report(`EKS cluster "${args.name}" has no encryptionConfig with a KMS key for resources ["secrets"]. ${fix}`);
            }
        }
    },
};

const loggingSchema = {
    properties: {
        requiredLogTypes: {
            type: "array" as const,
            items: { type: "string" as const, enum: ["api", "audit", "authenticator", "controllerManager", "scheduler"] },
            description: "Control-plane log types that must be on.",
            default: ["api", "audit", "authenticator"],
        },
    },
};

export const eksControlPlaneLogging: ResourceValidationPolicy = {
    name: "eks-control-plane-logging",
    description: "EKS control-plane logging sends at least the api, audit and authenticator logs to CloudWatch (CIS EKS 2.1.1; Checkov CKV_AWS_37 asks for all five types).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: loggingSchema,
    validateResource: (args, report) => {
        if (args.type !== EKS_COMPONENT && args.type !== EKS_CLUSTER) {
            return;
        }
        const { requiredLogTypes } = configOf<{ requiredLogTypes: string[] }>(args, loggingSchema);
        const enabled: string[] = [...(args.props.enabledClusterLogTypes ?? [])];
        const missing = requiredLogTypes.filter((t) => !enabled.includes(t));
        if (missing.length > 0) {
            report(
                `EKS cluster "${args.name}" logs [${enabled.join(", ") || "nothing"}]; missing ${missing.join(", ")}: who did what to the cluster would go unrecorded. ` +
                    `Fix: set enabledClusterLogTypes (components/cluster.ts CONTROL_PLANE_LOG_TYPES).`,
            );
        }
    },
};

/** One access policy association, whichever world it came from. */
interface AccessGrant {
    principalArn: string;
    policyArn: string;
    scope: { type?: string; namespaces?: string[] };
    /** The resource to blame. */
    urn: string;
    where: string;
}

/** Groups mapped per principal (component inputs or AccessEntry resources). */
function accessOf(resources: PolicyResource[]): { grants: AccessGrant[]; groups: Map<string, { groups: string[]; urn: string; where: string }> } {
    const grants: AccessGrant[] = [];
    const groups = new Map<string, { groups: string[]; urn: string; where: string }>();
    for (const r of resources) {
        if (r.type === EKS_COMPONENT) {
            for (const [key, entry] of Object.entries<Props>(r.props.accessEntries ?? {})) {
                const where = `access entry "${key}" of EKS cluster "${r.name}"`;
                groups.set(String(entry.principalArn), { groups: [...(entry.kubernetesGroups ?? [])], urn: r.urn, where });
                for (const [policyKey, association] of Object.entries<Props>(entry.accessPolicies ?? {})) {
                    grants.push({
                        principalArn: String(entry.principalArn),
                        policyArn: String(association.policyArn),
                        scope: association.accessScope ?? {},
                        urn: r.urn,
                        where: `${where}, policy "${policyKey}"`,
                    });
                }
            }
        } else if (r.type === ACCESS_ENTRY && (r.props.type ?? "STANDARD") === "STANDARD") {
            // Node and Fargate entries (EC2_LINUX, FARGATE_LINUX...) get their system: groups from EKS itself.
            groups.set(String(r.props.principalArn), { groups: [...(r.props.kubernetesGroups ?? [])], urn: r.urn, where: `access entry "${r.name}"` });
        } else if (r.type === ACCESS_POLICY_ASSOCIATION) {
            grants.push({
                principalArn: String(r.props.principalArn),
                policyArn: String(r.props.policyArn),
                scope: r.props.accessScope ?? {},
                urn: r.urn,
                where: `access policy association "${r.name}"`,
            });
        }
    }
    return { grants, groups };
}

const shortPolicy = (arn: string) => arn.slice(arn.lastIndexOf("/") + 1);

const accessSchema = {
    properties: {
        clusterScopedPolicies: {
            type: "array" as const,
            items: { type: "string" as const },
            description: "EKS access policies that may be granted cluster-wide (to the platform admins).",
            default: [CLUSTER_ADMIN_POLICY],
        },
        allowedNamespaces: {
            type: "array" as const,
            items: { type: "string" as const },
            description: "Namespaces a namespace-scoped grant (an app team's) may name: the platform's workload namespaces.",
            default: Object.values(NAMESPACES),
        },
    },
};

export const eksAccessLeastPrivilege: StackValidationPolicy = {
    name: "eks-access-least-privilege",
    description:
        "Access entries: only the platform admins hold a cluster-wide policy (AmazonEKSClusterAdminPolicy); app teams hold namespace-scoped policies on the workload namespaces and no cluster-wide one; no system: groups (CIS EKS 4.1.1, 4.1.7, 5.5.1).",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: accessSchema,
    validateStack: (args, report) => {
        const cfg = configOf<{ clusterScopedPolicies: string[]; allowedNamespaces: string[] }>(args, accessSchema);
        const { grants, groups } = accessOf(args.resources);
        for (const g of grants) {
            const policy = shortPolicy(g.policyArn);
            if (g.scope.type === "cluster") {
                if (!cfg.clusterScopedPolicies.includes(g.policyArn)) {
                    report(`${g.where} grants ${policy} cluster-wide to ${g.principalArn}. Fix: scope it to the team's namespaces ({type: "namespace", namespaces}), as components/appTeams.ts does.`, g.urn);
                }
                // A principal mapped to groups is an app team (its RBAC binds the group); teams get nothing cluster-wide.
                if ((groups.get(g.principalArn)?.groups.length ?? 0) > 0) {
                    report(`${g.where} grants ${policy} cluster-wide to ${g.principalArn}, which is mapped to Kubernetes groups (an app team). Fix: remove the cluster-wide policy; admins belong in cluster.admins.`, g.urn);
                }
            } else if (g.scope.type === "namespace") {
                const namespaces = g.scope.namespaces ?? [];
                const outside = namespaces.filter((ns) => !cfg.allowedNamespaces.includes(ns));
                if (namespaces.length === 0 || outside.length > 0) {
                    report(
                        `${g.where} grants ${policy} to ${g.principalArn} in [${namespaces.join(", ") || "no namespace"}]${outside.length ? `; ${outside.join(", ")} is not a workload namespace` : ""}. ` +
                            `Fix: name only ${cfg.allowedNamespaces.join(", ")} (ml-platform:cluster.appTeams[].namespaces).`,
                        g.urn,
                    );
                }
            } else {
                report(`${g.where} grants ${policy} to ${g.principalArn} with access scope ${JSON.stringify(g.scope.type ?? "(unset)")}. Fix: use type "namespace" with the team's namespaces.`, g.urn);
            }
        }
        for (const [principal, entry] of groups) {
            const system = entry.groups.filter((x) => x.startsWith("system:"));
            if (system.length > 0) {
                report(`${entry.where} maps ${principal} to ${system.join(", ")}. Fix: never use system: groups (system:masters bypasses RBAC); grant an access policy instead.`, entry.urn);
            }
        }
    },
};

export const networkPoliciesEnforced: ResourceValidationPolicy = {
    name: "network-policies-enforced",
    description: "The VPC CNI enforces NetworkPolicies (enableNetworkPolicy); without it every NetworkPolicy is silently ignored (CIS EKS 4.3.1, 5.4.4).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const fix = "Fix: set vpcCniOptions.enableNetworkPolicy: true on the cluster (components/cluster.ts).";
        if (args.type === EKS_COMPONENT) {
            if (truthy(args.props.useDefaultVpcCni) || !truthy(args.props.vpcCniOptions?.enableNetworkPolicy)) {
                report(`EKS cluster "${args.name}" runs the VPC CNI without network policy enforcement: the default-deny policies would do nothing. ${fix}`);
            }
        } else if (args.type === EKS_ADDON && args.props.addonName === "vpc-cni") {
            const raw = args.props.configurationValues;
            let values: Props = {};
            try {
                values = typeof raw === "string" ? JSON.parse(raw) : (raw ?? {});
            } catch {
                values = {};
            }
            if (!truthy(values.enableNetworkPolicy)) {
                report(`EKS add-on "${args.name}" (vpc-cni) has no enableNetworkPolicy "true" in its configurationValues. ${fix}`);
            }
        }
    },
};

const hopSchema = {
    properties: {
        maxHopLimit: {
            type: "integer" as const,
            minimum: 1,
            maximum: 64,
            description: "Highest IMDS PUT response hop limit; 1 keeps containers (not on the host network) away from the node role.",
            default: 1,
        },
    },
};

export const nodeImdsv2HopLimit: ResourceValidationPolicy = {
    name: "node-imdsv2-hop-limit",
    description:
        "Node launch templates require IMDSv2 tokens with a PUT response hop limit of 1, so pods cannot take the node role's credentials; pods use IRSA instead (Checkov CKV_AWS_79, CKV_AWS_341).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: hopSchema,
    validateResource: (args, report) => {
        if (args.type !== LAUNCH_TEMPLATE) {
            return;
        }
        const { maxHopLimit } = configOf<{ maxHopLimit: number }>(args, hopSchema);
        const m: Props = args.props.metadataOptions ?? {};
        if (m.httpEndpoint === "disabled") {
            return;
        }
        const fix = "Fix: metadataOptions {httpEndpoint: enabled, httpTokens: required, httpPutResponseHopLimit: 1} (components/nodePool.ts).";
        if (m.httpTokens !== "required") {
            report(`Launch template "${args.name}" has metadataOptions.httpTokens ${m.httpTokens ?? "(unset, i.e. IMDSv1 allowed)"}. ${fix}`);
        }
        const hops = Number(m.httpPutResponseHopLimit ?? NaN);
        if (!(hops >= 1 && hops <= maxHopLimit)) {
            report(`Launch template "${args.name}" has httpPutResponseHopLimit ${m.httpPutResponseHopLimit ?? "(unset)"}; above ${maxHopLimit} lets pods reach the node's IMDS and its role. ${fix}`);
        }
    },
};

export const nodeRootVolumeEncrypted: ResourceValidationPolicy = {
    name: "node-root-volume-encrypted",
    description: "Node launch templates map their volumes (the root volume at least) with EBS encryption on (the launch-template counterpart of Checkov CKV_AWS_8).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type !== LAUNCH_TEMPLATE) {
            return;
        }
        const mappings: Props[] = [...(args.props.blockDeviceMappings ?? [])];
        const fix = "Fix: map /dev/xvda with ebs {encrypted: true, volumeType: gp3} (components/nodePool.ts).";
        if (!mappings.some((b) => b.ebs)) {
            report(`Launch template "${args.name}" maps no EBS volume, so the root volume is encrypted only if the account's default says so. ${fix}`);
        }
        for (const b of mappings.filter((x) => x.ebs && !truthy(x.ebs.encrypted))) {
            report(`Launch template "${args.name}" maps ${b.deviceName ?? "a volume"} with ebs.encrypted ${b.ebs.encrypted ?? "(unset)"}. ${fix}`);
        }
    },
};

export const nodeNoSshNoPublicIp: ResourceValidationPolicy = {
    name: "node-no-ssh-no-public-ip",
    description: "Nodes have no SSH key or remote access and no public IP address; they sit in private subnets and are reached through SSM if at all (Checkov CKV_AWS_100, CKV_AWS_88; CIS EKS 5.4.3).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type === MANAGED_NODE_GROUP || args.type === AWS_NODE_GROUP) {
            if (isSet(args.props, "remoteAccess")) {
                report(`Node group "${args.name}" sets remoteAccess (SSH). Fix: remove it; use SSM Session Manager for node access.`);
            }
        } else if (args.type === LAUNCH_TEMPLATE) {
            if (isSet(args.props, "keyName")) {
                report(`Launch template "${args.name}" sets keyName ${args.props.keyName} (an SSH key on every node). Fix: remove keyName.`);
            }
            for (const ni of [...(args.props.networkInterfaces ?? [])] as Props[]) {
                if (truthy(ni.associatePublicIpAddress)) {
                    report(`Launch template "${args.name}" gives network interface ${ni.deviceIndex ?? 0} a public IP. Fix: set associatePublicIpAddress false; nodes use the NAT gateway.`);
                }
            }
        } else if (args.type === EKS_COMPONENT && truthy(args.props.nodeAssociatePublicIpAddress)) {
            report(`EKS cluster "${args.name}" sets nodeAssociatePublicIpAddress true. Fix: set it false; nodes live in private subnets.`);
        }
    },
};

export const nodeGroupUsesLaunchTemplate: ResourceValidationPolicy = {
    name: "node-group-uses-launch-template",
    description: "Every managed node group launches from our launch template, so IMDSv2 hop 1 and encrypted root volumes apply to its nodes for real (not EKS's defaults).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const pool = nodePoolOf(args.type, args.props, args.name);
        // Karpenter NodePools launch from their EC2NodeClass (karpenter-nodeclass-hardened), not a launch template.
        if (!pool || pool.type === KARPENTER_NODEPOOL_TYPE) {
            return;
        }
        const lt: Props = args.props.launchTemplate ?? {};
        if (!isSet(lt, "id") && !isSet(lt, "name")) {
            report(`${describePool(pool)} has no launchTemplate, so it launches with EKS's defaults (IMDS hop limit 2, root volume encrypted only by account default). Fix: pass launchTemplate {id, version} (components/nodePool.ts).`);
        }
    },
};

export const clusterPolicies = [
    eksSecretsEncrypted,
    eksControlPlaneLogging,
    eksAccessLeastPrivilege,
    networkPoliciesEnforced,
    nodeImdsv2HopLimit,
    nodeRootVolumeEncrypted,
    nodeNoSshNoPublicIp,
    nodeGroupUsesLaunchTemplate,
];
