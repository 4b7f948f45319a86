// The CrossGuard entry point: `pulumi preview --policy-pack policy`. Rules live in ./rules.
import { PolicyPack } from "@pulumi/policy";
import { allPolicies, PACK_ENFORCEMENT_LEVEL } from "./rules";

new PolicyPack("ml-platform", { policies: allPolicies, enforcementLevel: PACK_ENFORCEMENT_LEVEL });
