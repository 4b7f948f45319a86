import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { S3Access, s3AccessAnnotations, s3AccessPolicy } from "../stacks/s3Access";
import { ROLE_ARN_ANNOTATION } from "../stacks/workloadIdentity";
import { irsaTrustPolicy, serviceAccountSubject } from "./irsa";

export interface WorkloadIdentityArgs {
    namespace: string;
    /** The service account's name; only pods running as it in `namespace` may assume the role. */
    serviceAccountName: string;
    /** What the role may do in S3 (stacks/s3Access.ts); nothing else is granted. */
    access: S3Access;
    oidcProviderArn: pulumi.Input<string>;
    oidcIssuer: pulumi.Input<string>;
    /** Who uses it, for the role's description. */
    purpose: string;
    labels?: Record<string, string>;
    tags?: Record<string, string>;
}

/**
 * One workload's own AWS identity (IRSA): an IAM role only its service account may assume, an inline
 * policy granting exactly the declared S3 access, and the service account, annotated with the role's
 * ARN and with the declared prefixes (the policy pack checks the grant against those).
 */
export class WorkloadIdentity extends pulumi.ComponentResource {
    public readonly serviceAccountName: string;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: WorkloadIdentityArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:identity:WorkloadIdentity", name, {}, opts);
        const { read, write } = args.access;
        const summary = [...read.map((l) => `read ${l.uri}`), ...write.map((l) => `write ${l.uri}`)].join(", ") || "no S3 access";
        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: `IRSA role of ${args.purpose} ${args.namespace}/${args.serviceAccountName}: ${summary}`,
                assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, serviceAccountSubject(args.namespace, args.serviceAccountName)),
                tags: args.tags,
            },
            { parent: this },
        );
        const document = s3AccessPolicy(args.access);
        if (document) {
            new aws.iam.RolePolicy(`${name}-s3`, { role: role.id, policy: JSON.stringify(document) }, { parent: this });
        }
        new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            {
                metadata: {
                    name: args.serviceAccountName,
                    namespace: args.namespace,
                    labels: args.labels,
                    annotations: { [ROLE_ARN_ANNOTATION]: role.arn, ...s3AccessAnnotations(args.access) },
                },
                // Pods mount no API token; the EKS webhook projects its own web-identity token.
                automountServiceAccountToken: false,
            },
            { parent: this },
        );
        this.serviceAccountName = args.serviceAccountName;
        this.roleArn = role.arn;
        this.registerOutputs({ serviceAccountName: this.serviceAccountName, roleArn: this.roleArn });
    }
}
