/**
 * Workload identity on EKS (IRSA): how a Kubernetes service account assumes an IAM role through the
 * cluster's OIDC provider. The platform's own roles (components/irsa.ts) and app teams' roles (the
 * contract's workloadIdentity) are built from these facts, so both trust the same token claims. Pure.
 */
import type { PlatformContractValues } from "./contract";

/** The audience EKS puts in projected service account tokens for AWS STS. */
export const IRSA_AUDIENCE = "sts.amazonaws.com";
/** The service account annotation the EKS pod identity webhook reads. */
export const ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn";
/** The `sub` claim of a service account token, as the contract publishes it. */
export const SUBJECT_PATTERN = "system:serviceaccount:<namespace>:<serviceAccount>";

export function serviceAccountSubject(namespace: string, serviceAccount: string): string {
    return SUBJECT_PATTERN.replace("<namespace>", namespace).replace("<serviceAccount>", serviceAccount);
}

/** Strips the scheme: IAM condition keys are `<issuer host/path>:sub`. */
export function issuerHost(issuer: string): string {
    return issuer.replace(/^https:\/\//, "");
}

export interface TrustPolicyFacts {
    oidcProviderArn: string;
    /** With or without https://. */
    issuer: string;
    audience?: string;
}

/** The trust policy document; `subject` may hold a `*` wildcard (StringLike). */
export function irsaTrustPolicyDocument(facts: TrustPolicyFacts, subject: string) {
    const issuer = issuerHost(facts.issuer);
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Effect: "Allow",
                Principal: { Federated: facts.oidcProviderArn },
                Action: "sts:AssumeRoleWithWebIdentity",
                Condition: {
                    StringLike: { [`${issuer}:sub`]: subject },
                    StringEquals: { [`${issuer}:aud`]: facts.audience ?? IRSA_AUDIENCE },
                },
            },
        ],
    };
}

/**
 * For an app team: the trust policy of an IAM role that pods running as `serviceAccount` in `namespace`
 * may assume, from the contract's values only. Annotate the service account with the role's ARN under
 * the contract's workloadIdentity.serviceAccountAnnotation.
 */
export function workloadRoleTrustPolicy(contract: Pick<PlatformContractValues, "oidcProviderArn" | "workloadIdentity">, namespace: string, serviceAccount: string): string {
    const wi = contract.workloadIdentity;
    const subject = wi.subjectPattern.replace("<namespace>", namespace).replace("<serviceAccount>", serviceAccount);
    return JSON.stringify(irsaTrustPolicyDocument({ oidcProviderArn: contract.oidcProviderArn, issuer: wi.issuer, audience: wi.audience }, subject));
}
