import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { Taint } from "../capacity/pools";
import { dataSyncS3Access } from "../stacks/dataSync";
import { CLAIMS, DataSyncSpec, NodePoolSpec } from "../stacks/spec";
import { DATA_SYNC_BACKOFF_LIMIT, DATA_SYNC_DEADLINE_SECONDS, DATA_SYNC_RESOURCES, DATA_SYNC_WORKLOAD, TRAINING_POD_ANNOTATIONS } from "../facts/training";
import { VERSIONS } from "../facts/versions";
import { TRAINING_PRIORITY_CLASS } from "./priority";
import { WorkloadIdentity } from "./s3Identity";
import { JOB_REPLACE_ON_CHANGES } from "./training";
import { claimMount, claimVolume, containerSecurityContext, podSecurityContext, poolPlacement, TMP_MOUNT, TMP_VOLUME } from "./workload";

export interface DataSyncArgs {
    sync: DataSyncSpec;
    /** The CPU system pool: a copy needs network and disk, never a GPU. */
    pool: NodePoolSpec;
    gpuTaint: Taint;
    /** The training-data claim, mounted read-write here only (trainers mount it read-only). */
    trainingDataClaim: string;
    oidcProviderArn: pulumi.Input<string>;
    oidcIssuer: pulumi.Input<string>;
    tags?: Record<string, string>;
}

export function dataSyncLabels(d: DataSyncSpec): Record<string, string> {
    return { app: d.name, "app.kubernetes.io/name": d.name, "app.kubernetes.io/part-of": "ml-platform", "ml-platform/workload": DATA_SYNC_WORKLOAD };
}

/** Where the copy lands inside the pod: the claim's mount path plus the entry's folder. */
export function dataSyncTarget(d: DataSyncSpec): string {
    return `${CLAIMS.trainingData.mountPath}/${d.path}/`;
}

/** The sync command: copies new and changed objects only, so a retried or re-run Job resumes. */
export function dataSyncCommand(d: DataSyncSpec): string[] {
    return ["aws", "s3", "sync", d.source, dataSyncTarget(d), "--only-show-errors", "--no-progress"];
}

/**
 * Copies one S3 prefix into the training-data claim: a service account whose role may only read the
 * source, and a Job on the system pool that runs `aws s3 sync` into <claim>/<path>. Pulumi does not wait
 * for it (a copy of a data set outlasts a deployment), and like training Jobs it has no TTL.
 */
export class DataSync extends pulumi.ComponentResource {
    public readonly jobName: string;
    public readonly serviceAccountName: string;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: DataSyncArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:training:DataSync", name, {}, opts);
        const d = args.sync;
        if (args.pool.gpu) {
            throw new Error(`data sync "${d.name}" must run on a CPU pool, not "${args.pool.name}" (${args.pool.instanceType})`);
        }
        if (CLAIMS.trainingData.namespace !== d.namespace) {
            throw new Error(`data sync "${d.name}" is in namespace "${d.namespace}" but claim ${CLAIMS.trainingData.name} is in "${CLAIMS.trainingData.namespace}"`);
        }
        const labels = dataSyncLabels(d);
        const identity = new WorkloadIdentity(
            `${name}-identity`,
            {
                namespace: d.namespace,
                serviceAccountName: d.name,
                access: dataSyncS3Access(d),
                oidcProviderArn: args.oidcProviderArn,
                oidcIssuer: args.oidcIssuer,
                purpose: "data sync",
                labels,
                tags: { ...args.tags, "ml-platform:workload": d.name },
            },
            { parent: this },
        );
        const claim = { name: args.trainingDataClaim, mountPath: CLAIMS.trainingData.mountPath, mountReadOnly: false };
        new k8s.batch.v1.Job(
            `${name}-job`,
            {
                metadata: { name: d.name, namespace: d.namespace, labels, annotations: { "pulumi.com/skipAwait": "true" } },
                spec: {
                    completions: 1,
                    parallelism: 1,
                    backoffLimit: DATA_SYNC_BACKOFF_LIMIT,
                    activeDeadlineSeconds: DATA_SYNC_DEADLINE_SECONDS,
                    template: {
                        // A running copy is not evicted to scale a node down; it would start over.
                        metadata: { labels, annotations: { ...TRAINING_POD_ANNOTATIONS } },
                        spec: {
                            restartPolicy: "Never",
                            priorityClassName: TRAINING_PRIORITY_CLASS,
                            serviceAccountName: identity.serviceAccountName,
                            automountServiceAccountToken: false,
                            ...poolPlacement(args.pool, args.gpuTaint),
                            securityContext: podSecurityContext(),
                            containers: [
                                {
                                    name: "sync",
                                    image: VERSIONS.awsCli,
                                    command: dataSyncCommand(d),
                                    // The CLI writes its config and cache under HOME; the root filesystem is read-only.
                                    env: [{ name: "HOME", value: TMP_MOUNT.mountPath }],
                                    resources: { requests: { ...DATA_SYNC_RESOURCES.requests }, limits: { ...DATA_SYNC_RESOURCES.limits } },
                                    securityContext: containerSecurityContext(),
                                    volumeMounts: [claimMount(claim), TMP_MOUNT],
                                },
                            ],
                            volumes: [claimVolume(claim), TMP_VOLUME],
                        },
                    },
                },
            },
            { parent: this, dependsOn: [identity], replaceOnChanges: JOB_REPLACE_ON_CHANGES, deleteBeforeReplace: true },
        );
        this.jobName = d.name;
        this.serviceAccountName = identity.serviceAccountName;
        this.roleArn = identity.roleArn;
        this.registerOutputs({ jobName: this.jobName, serviceAccountName: this.serviceAccountName, roleArn: this.roleArn });
    }
}
