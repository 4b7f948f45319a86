import * as pulumi from "@pulumi/pulumi";
import * as eks from "@pulumi/eks";
import * as k8s from "@pulumi/kubernetes";
import type { AppTeamConfig } from "../stacks/schema";

export const EKS_EDIT_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy";

/** The Kubernetes group an app team's access entry maps its principal to; RoleBindings name it. */
export function appTeamGroup(team: string): string {
    return `ml-platform:app-team:${team}`;
}

/**
 * An app team's access entry: AmazonEKSEditPolicy scoped to its namespaces, nothing cluster-wide. The
 * group is for the RBAC below: EKS access policies cover built-in kinds only, not kubeflow.org CRDs.
 */
export function appTeamAccessEntry(team: AppTeamConfig): eks.types.input.AccessEntryArgs {
    return {
        principalArn: team.principalArn,
        kubernetesGroups: [appTeamGroup(team.name)],
        accessPolicies: {
            edit: { policyArn: EKS_EDIT_POLICY, accessScope: { type: "namespace", namespaces: [...team.namespaces] } },
        },
    };
}

/** What a team may do with PyTorchJobs in its namespaces: run and manage them, read their status. */
export const TRAINING_JOB_RULES = [
    { apiGroups: ["kubeflow.org"], resources: ["pytorchjobs"], verbs: ["get", "list", "watch", "create", "update", "patch", "delete"] },
    { apiGroups: ["kubeflow.org"], resources: ["pytorchjobs/status"], verbs: ["get", "list", "watch"] },
];

export function trainingJobsRoleName(team: string): string {
    return `app-team-${team}-pytorchjobs`;
}

/**
 * What a team may do in the pipelines namespace: submit and manage Workflows, read the templates and
 * schedules. Nothing else there (no pods, no secrets): the controller runs what they submit, and only
 * Workflows that reference a WorkflowTemplate (the controller's templateReferencing: Strict).
 */
export const PIPELINE_RULES = [
    { apiGroups: ["argoproj.io"], resources: ["workflows"], verbs: ["get", "list", "watch", "create", "delete"] },
    { apiGroups: ["argoproj.io"], resources: ["workflowtemplates", "cronworkflows"], verbs: ["get", "list", "watch"] },
];

export function pipelinesRoleName(team: string): string {
    return `app-team-${team}-workflows`;
}

export interface AppTeamAccessArgs {
    teams: AppTeamConfig[];
    /** When the stack has pipelines: every team may submit Workflows from the templates there. */
    pipelinesNamespace?: string;
}

/** Per team and namespace: a Role over PyTorchJobs and a RoleBinding to the team's group. */
export class AppTeamAccess extends pulumi.ComponentResource {
    constructor(name: string, args: AppTeamAccessArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:access:AppTeamAccess", name, {}, opts);
        for (const team of args.teams) {
            for (const namespace of team.namespaces) {
                this.grant(name, team.name, namespace, trainingJobsRoleName(team.name), TRAINING_JOB_RULES);
            }
            if (args.pipelinesNamespace) {
                this.grant(name, team.name, args.pipelinesNamespace, pipelinesRoleName(team.name), PIPELINE_RULES);
            }
        }
        this.registerOutputs({});
    }

    /** A Role with `rules` in `namespace`, bound to the team's group. */
    private grant(name: string, team: string, namespace: string, roleName: string, rules: typeof TRAINING_JOB_RULES): void {
        const labels = { "app.kubernetes.io/part-of": "ml-platform", "ml-platform/app-team": team };
        const role = new k8s.rbac.v1.Role(`${name}-${team}-${namespace}-role`, { metadata: { name: roleName, namespace, labels }, rules }, { parent: this });
        new k8s.rbac.v1.RoleBinding(
            `${name}-${team}-${namespace}-binding`,
            {
                metadata: { name: roleName, namespace, labels },
                roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: roleName },
                subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: appTeamGroup(team) }],
            },
            { parent: this, dependsOn: [role] },
        );
    }
}
