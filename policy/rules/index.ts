/**
 * Every rule of the ml-platform policy pack. The pack (policy/index.ts), the offline plan and the tests
 * all import this list; only policy/index.ts constructs the PolicyPack (which starts a gRPC server).
 */
import type { EnforcementLevel, ResourceValidationPolicy, Severity, StackValidationPolicy } from "@pulumi/policy";
import { capacityPolicies } from "./capacity";
import { clusterPolicies } from "./cluster";
import { capacityTypePolicies } from "./capacityTypes";
import { efaPolicies } from "./efa";
import { karpenterPolicies } from "./karpenter";
import { gpuPolicies } from "./gpu";
import { identityPolicies } from "./identity";
import { queuePolicies } from "./queues";
import { securityPolicies } from "./security";
import { runtimePolicies } from "./runtime";
import { sharingPolicies } from "./sharing";
import { storagePolicies } from "./storage";
import { workloadPolicies } from "./workloads";

export type PlatformPolicy = ResourceValidationPolicy | StackValidationPolicy;

/** Rules that set no enforcement level of their own get this one. */
export const PACK_ENFORCEMENT_LEVEL: EnforcementLevel = "mandatory";

export const allPolicies: PlatformPolicy[] = [] = [...gpuPolicies, ...workloadPolicies, ...securityPolicies, ...clusterPolicies, ...storagePolicies, ...capacityPolicies, ...identityPolicies, ...efaPolicies, ...capacityTypePolicies, ...karpenterPolicies, ...queuePolicies, ...runtimePolicies, ...sharingPolicies];

/** Severity by rule name, for reports and CI summaries. */
export const SEVERITY: Readonly<Record<string, Severity>> = Object.fromEntries(allPolicies.map((p) => [p.name, p.severity ?? "medium"]));

export function isStackPolicy(p: PlatformPolicy): p is StackValidationPolicy {
    return "validateStack" in p && typeof p.validateStack === "function";
}
