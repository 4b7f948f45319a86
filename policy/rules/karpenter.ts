/**
 * Karpenter's EC2NodeClasses hold the same node hardening the managed node groups' launch templates do:
 * an EKS-optimized AMI pinned by alias (its NVIDIA variant for GPU types), IMDSv2 with hop limit 1,
 * and an encrypted root volume.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { Props } from "./k8s";

export const EC2_NODE_CLASS_TYPE = "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass";

/** EKS-optimized families whose alias makes Karpenter pick the NVIDIA variant for GPU instance types. */
const ALIAS = /^(al2023|bottlerocket)@(v[\d.]+)$/;

export const karpenterNodeClassHardened: ResourceValidationPolicy = {
    name: "karpenter-nodeclass-hardened",
    description:
        "Karpenter EC2NodeClasses select an EKS-optimized AMI by a pinned alias (al2023@vYYYYMMDD or bottlerocket@vX.Y.Z, never latest; Karpenter then picks the NVIDIA variant for GPU types), require IMDSv2 with hop limit 1 and encrypt the root volume.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        if (args.type !== EC2_NODE_CLASS_TYPE) {
            return;
        }
        const spec: Props = args.props.spec ?? {};
        const name = args.props.metadata?.name ?? args.name;
        const aliases: string[] = (spec.amiSelectorTerms ?? []).map((t: Props) => t.alias).filter((a: unknown) => a !== undefined);
        if (aliases.length !== 1 || !ALIAS.test(aliases[0])) {
            report(`EC2NodeClass "${name}" selects AMIs ${JSON.stringify(spec.amiSelectorTerms ?? [])}: not one pinned EKS-optimized alias, so GPU nodes may get no NVIDIA driver or drift on every release. Fix: amiSelectorTerms [{alias: "al2023@v<date>"}] (capacity/karpenter.ts).`);
        }
        const m: Props = spec.metadataOptions ?? {};
        if (m.httpTokens !== "required" || Number(m.httpPutResponseHopLimit) !== 1) {
            report(`EC2NodeClass "${name}" has metadataOptions ${JSON.stringify(m)}; pods could reach the node role. Fix: httpTokens required, httpPutResponseHopLimit 1.`);
        }
        const root = (spec.blockDeviceMappings ?? []).find((b: Props) => b.rootVolume || b.deviceName === "/dev/xvda");
        if (!root || root.ebs?.encrypted !== true) {
            report(`EC2NodeClass "${name}" has no encrypted root volume mapping. Fix: blockDeviceMappings [{deviceName: /dev/xvda, rootVolume: true, ebs: {encrypted: true, volumeType: gp3}}].`);
        }
    },
};

export const karpenterPolicies = [karpenterNodeClassHardened];
