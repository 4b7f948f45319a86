import * as pulumi from "@pulumi/pulumi";
import { irsaTrustPolicyDocument } from "../stacks/workloadIdentity";

export { serviceAccountSubject } from "../stacks/workloadIdentity";

/**
 * The trust policy that lets a Kubernetes service account assume an IAM role through the cluster's
 * OIDC provider (IRSA). `subject` may hold a `*` wildcard (StringLike). The document is the one the
 * app-team contract describes (stacks/workloadIdentity.ts).
 */
export function irsaTrustPolicy(oidcProviderArn: pulumi.Input<string>, oidcIssuer: pulumi.Input<string>, subject: string): pulumi.Output<string> {
    return pulumi.all([oidcProviderArn, oidcIssuer]).apply(([arn, issuer]) => JSON.stringify(irsaTrustPolicyDocument({ oidcProviderArn: arn, issuer }, subject)));
}
