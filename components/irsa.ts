import * as pulumi from "@pulumi/pulumi";

/**
 * The trust policy that lets a Kubernetes service account assume an IAM role through the cluster's
 * OIDC provider (IRSA). `subject` may hold a `*` wildcard (StringLike).
 */
export function irsaTrustPolicy(oidcProviderArn: pulumi.Input<string>, oidcIssuer: pulumi.Input<string>, subject: string): pulumi.Output<string> {
    return pulumi.all([oidcProviderArn, oidcIssuer]).apply(([arn, issuer]) =>
        JSON.stringify({
            Version: "2012-10-17",
            Statement: [
                {
                    Effect: "Allow",
                    Principal: { Federated: arn },
                    Action: "sts:AssumeRoleWithWebIdentity",
                    Condition: {
                        StringLike: { [`${issuer}:sub`]: subject },
                        StringEquals: { [`${issuer}:aud`]: "sts.amazonaws.com" },
                    },
                },
            ],
        }),
    );
}

export function serviceAccountSubject(namespace: string, name: string): string {
    return `system:serviceaccount:${namespace}:${name}`;
}
