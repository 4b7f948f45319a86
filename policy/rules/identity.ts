/**
 * Workload identity in the training namespace: every training run (Job, PyTorchJob) runs as a service
 * account of its own, and the IAM role behind a service account grants in S3 no more than the prefixes
 * the account declares (annotations ml-platform/s3-read and ml-platform/s3-write, stacks/s3Access.ts).
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import type { PolicyConfigJSONSchema } from "@pulumi/policy/schema";
import { NAMESPACES } from "../../facts/namespaces";
import { declaredS3Access, grantsBeyondDeclared, S3_READ_ANNOTATION, S3_WRITE_ANNOTATION } from "../../stacks/s3Access";
import { ROLE_ARN_ANNOTATION } from "../../stacks/workloadIdentity";
import { configOf } from "./config";
import { KUBEFLOW_JOB, podTemplates, workloadOf } from "./k8s";

export const trainingNamespacesProperty: PolicyConfigJSONSchema = {
    type: "array",
    description: "Namespaces whose Jobs and Kubeflow jobs are training runs (and data-sync Jobs).",
    items: { type: "string" },
    default: [NAMESPACES.training],
};

const schema = { properties: { trainingNamespaces: trainingNamespacesProperty } };

const SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ATTACHMENTS = new Set(["aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/policyAttachment:PolicyAttachment"]);

function isTrainingRun(r: PolicyResource, namespaces: string[]): boolean {
    return (r.type === "kubernetes:batch/v1:Job" || KUBEFLOW_JOB.test(r.type)) && namespaces.includes(workloadOf(r.type, r.props, r.name).namespace);
}

export const trainingOwnServiceAccount: StackValidationPolicy = {
    name: "training-own-service-account",
    description:
        "Every pod template of a Job or Kubeflow training job in a training namespace runs as a service account of its own, declared in the stack, " +
        "never the namespace's default one: its IAM role (IRSA) then grants that run's S3 prefixes and nobody else's.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: schema,
    validateStack: (args, report) => {
        const { trainingNamespaces } = configOf<{ trainingNamespaces: string[] }>(args, schema);
        const accounts = new Set(args.resources.filter((r) => r.type === SERVICE_ACCOUNT).map((r) => `${r.props.metadata?.namespace ?? "default"}/${r.props.metadata?.name}`));
        const users = new Map<string, string>();
        for (const r of args.resources.filter((x) => isTrainingRun(x, trainingNamespaces))) {
            const w = workloadOf(r.type, r.props, r.name);
            const names = new Set<string>();
            for (const t of podTemplates(r.type, r.props, r.name)) {
                const sa: string | undefined = t.spec.serviceAccountName ?? (t.spec as { serviceAccount?: string }).serviceAccount;
                const where = `${w.kind} ${w.namespace}/${w.name}${t.role ? ` (${t.role})` : ""}`;
                if (!sa || sa === "default") {
                    report(
                        `${where} runs as the namespace's ${sa ? "" : "(implicit) "}default service account: it has no IAM role of its own, or shares one with everything else in ${w.namespace}. ` +
                            `Fix: give it its own ServiceAccount with an IRSA role (components/s3Identity.ts; declare training[].data / output).`,
                        r.urn,
                    );
                    continue;
                }
                if (!accounts.has(`${w.namespace}/${sa}`)) {
                    report(`${where} runs as service account "${sa}", which the stack does not declare in ${w.namespace}. Fix: create it with its IRSA role (components/s3Identity.ts).`, r.urn);
                }
                names.add(sa);
            }
            for (const sa of names) {
                const key = `${w.namespace}/${sa}`;
                const other = users.get(key);
                if (other) {
                    report(`${w.kind} ${w.namespace}/${w.name} shares service account "${sa}" with ${other}: each run's role must grant only that run's prefixes. Fix: one service account per run.`, r.urn);
                } else {
                    users.set(key, `${w.kind} ${w.namespace}/${w.name}`);
                }
            }
        }
    },
};

export const s3GrantsWithinDeclaredPrefixes: StackValidationPolicy = {
    name: "s3-grants-within-declared-prefixes",
    description:
        `The IAM role of every service account in a training namespace grants in S3 only what the account declares in its ${S3_READ_ANNOTATION} / ${S3_WRITE_ANNOTATION} annotations: ` +
        "GetObject under the read prefixes, PutObject/AbortMultipartUpload under the write prefixes, ListBucket narrowed to them; no other action, no managed policy.",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: schema,
    validateStack: (args, report) => {
        const { trainingNamespaces } = configOf<{ trainingNamespaces: string[] }>(args, schema);
        for (const sa of args.resources.filter((r) => r.type === SERVICE_ACCOUNT)) {
            const ns: string = sa.props.metadata?.namespace ?? "default";
            if (!trainingNamespaces.includes(ns)) {
                continue;
            }
            const who = `ServiceAccount ${ns}/${sa.props.metadata?.name}`;
            // The role whose ARN annotates the account: the account depends on it.
            const roles = sa.dependencies.filter((d) => d.type === ROLE);
            if (roles.length === 0) {
                continue;
            }
            const problems: string[] = [];
            const declared = declaredS3Access(sa.props.metadata?.annotations, problems);
            for (const role of roles) {
                for (const r of args.resources.filter((x) => x.dependencies.some((d) => d.urn === role.urn))) {
                    if (r.type === ROLE_POLICY) {
                        problems.push(...grantsBeyondDeclared(r.props.policy, declared).map((p) => `inline policy "${r.name}": ${p}`));
                    } else if (ATTACHMENTS.has(r.type)) {
                        problems.push(`"${r.name}" attaches ${r.props.policyArn ?? "a managed policy"} to its role, which grants more than the declared prefixes`);
                    }
                }
            }
            for (const p of problems) {
                report(`${who} (role annotated under ${ROLE_ARN_ANNOTATION}): ${p}. Fix: grant only the declared prefixes (stacks/s3Access.ts s3AccessPolicy), or declare the prefix in training[].data / output.`, sa.urn);
            }
        }
    },
};

export const identityPolicies = [trainingOwnServiceAccount, s3GrantsWithinDeclaredPrefixes];
