import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { EfaFacts } from "../capacity/catalog";
import { efaContainerResources, efaTrainingEnv, poolEfa } from "../capacity/efa";
import { Taint } from "../capacity/pools";
import { CLAIMS, NodePoolSpec, TrainingSpec } from "../stacks/spec";
import { TRAINING_PRIORITY_CLASS } from "./priority";
import { VERSIONS } from "../facts/versions";
import { PYTORCHJOB_TYPE, TRAINING_POD_ANNOTATIONS } from "../facts/training";

export { PYTORCHJOB_TYPE } from "../facts/training";
import {
    claimMount,
    claimVolume,
    containerResources,
    containerSecurityContext,
    podSecurityContext,
    poolPlacement,
    TMP_MOUNT,
    TMP_VOLUME,
    trackingUriEnv,
} from "./workload";

export { TRAINING_PRIORITY_CLASS } from "./priority";

/**
 * Lifecycle of Pulumi-managed training runs. A Job's pod template is immutable, so a changed template
 * must replace the Job (delete first: the name is fixed) rather than fail an update. No
 * ttlSecondsAfterFinished: a Job the TTL controller deletes is missing from the cluster, and the next
 * `pulumi up` would create it again and re-run the training (pitfall 8); finished Jobs stay until the
 * program removes them. Pulumi would otherwise wait for a Job to complete inside `pulumi up` (and fail
 * it after 10 minutes), so the await is skipped: a training run outlives a deployment.
 */
export const JOB_REPLACE_ON_CHANGES = ["spec.template", "spec.podFailurePolicy", "spec.completions"];
/** The operator does not restart running pods when a PyTorchJob's spec changes, so a change re-creates it. */
export const PYTORCHJOB_REPLACE_ON_CHANGES = ["spec"];
const SKIP_AWAIT = { "pulumi.com/skipAwait": "true" };

export const TRAINING_OPERATOR_NAMESPACE = "kubeflow";

/** The kustomize overlay of the Kubeflow Training Operator at a release tag (needs git where `pulumi up` runs). */
export function trainingOperatorManifests(version: string = VERSIONS.kubeflowTrainingOperator): string {
    return `https://github.com/kubeflow/trainer//manifests/overlays/standalone?ref=${version}`;
}

export interface TrainingArgs {
    training: TrainingSpec;
    /** The pool named by training.pool; tolerations and nodeSelector come from capacity/pools. */
    pool: NodePoolSpec;
    gpuTaint: Taint;
    /** Secret holding the MLflow tracking URI under key tracking_uri. */
    trackingSecretName: string;
    /** RWX claim, mounted read-only at /data (EFS has no ReadOnlyMany; pitfall 10). */
    trainingDataClaim: string;
    /** RWX claim, mounted read-write at /checkpoints. */
    checkpointsClaim: string;
    /** The run's own service account (components/s3Identity.ts): its IAM role reads `data`, writes `output`. */
    serviceAccountName: string;
}

function checkArgs(args: TrainingArgs, kind: TrainingSpec["kind"]) {
    const t = args.training;
    if (t.kind !== kind) {
        throw new Error(`training "${t.name}" is a ${t.kind}, not a ${kind}`);
    }
    if (args.pool.name !== t.pool) {
        throw new Error(`training "${t.name}" runs on pool "${t.pool}" but was given pool "${args.pool.name}"`);
    }
    for (const claim of [CLAIMS.trainingData, CLAIMS.checkpoints]) {
        if (claim.namespace !== t.namespace) {
            throw new Error(`training "${t.name}" is in namespace "${t.namespace}" but claim ${claim.name} is in "${claim.namespace}"`);
        }
    }
}

export function trainingLabels(t: TrainingSpec): Record<string, string> {
    return { app: t.name, "app.kubernetes.io/name": t.name, "app.kubernetes.io/part-of": "ml-platform", "ml-platform/workload": "training" };
}

/**
 * The pod template both kinds share: one GPU container with data read-only and checkpoints writable.
 * With `efa` (a PyTorchJob on an EFA pool) the container also takes every EFA device of its node and
 * the libfabric/NCCL environment (capacity/efa.ts).
 */
export function trainingPodTemplate(args: TrainingArgs, containerName: string, efa?: EfaFacts) {
    const t = args.training;
    const resources = containerResources(t, t.gpusPerPod);
    if (efa) {
        Object.assign(resources.requests, efaContainerResources(efa));
        Object.assign(resources.limits, efaContainerResources(efa));
    }
    const data = { name: args.trainingDataClaim, mountPath: CLAIMS.trainingData.mountPath, mountReadOnly: CLAIMS.trainingData.mountReadOnly };
    const checkpoints = { name: args.checkpointsClaim, mountPath: CLAIMS.checkpoints.mountPath, mountReadOnly: CLAIMS.checkpoints.mountReadOnly };
    return {
        // Cluster Autoscaler must not evict a running training pod to scale its node down.
        metadata: { labels: trainingLabels(t), annotations: { ...TRAINING_POD_ANNOTATIONS } },
        spec: {
            priorityClassName: TRAINING_PRIORITY_CLASS,
            // Its own account, never "default": IRSA gives the pods exactly the run's S3 grants.
            serviceAccountName: args.serviceAccountName,
            // Training pods do not call the Kubernetes API; IRSA projects its own AWS token.
            automountServiceAccountToken: false,
            ...poolPlacement(args.pool, args.gpuTaint),
            securityContext: podSecurityContext(),
            containers: [
                {
                    name: containerName,
                    image: t.image,
                    args: t.args,
                    env: [
                        trackingUriEnv(args.trackingSecretName),
                        { name: "DATA_DIR", value: data.mountPath },
                        { name: "CHECKPOINT_DIR", value: checkpoints.mountPath },
                        ...(efa ? efaTrainingEnv(efa) : []),
                    ],
                    resources,
                    securityContext: containerSecurityContext(),
                    volumeMounts: [claimMount(data), claimMount(checkpoints), TMP_MOUNT, { name: "dshm", mountPath: "/dev/shm" }],
                },
            ],
            volumes: [
                claimVolume(data),
                claimVolume(checkpoints),
                TMP_VOLUME,
                // PyTorch DataLoader workers and NCCL need more than the runtime's 64Mi /dev/shm.
                { name: "dshm", emptyDir: { medium: "Memory" } },
            ],
        },
    };
}

/** A single-pod training run as a batch/v1 Job. */
export class TrainingJob extends pulumi.ComponentResource {
    public readonly jobName: string;
    public readonly namespace: string;

    constructor(name: string, args: TrainingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:training:TrainingJob", name, {}, opts);
        checkArgs(args, "Job");
        const t = args.training;
        const template = trainingPodTemplate(args, "trainer");

        new k8s.batch.v1.Job(
            `${name}-job`,
            {
                metadata: { name: t.name, namespace: t.namespace, labels: trainingLabels(t), annotations: SKIP_AWAIT },
                spec: {
                    completions: 1,
                    parallelism: 1,
                    backoffLimit: t.backoffLimit,
                    activeDeadlineSeconds: t.activeDeadlineSeconds,
                    // Preemption by serving or a node drain is not the trainer's fault: it does not use up
                    // backoffLimit. Pod failure policies need restartPolicy Never.
                    podFailurePolicy: { rules: [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }] },
                    template: { ...template, spec: { ...template.spec, restartPolicy: "Never" } },
                },
            },
            { parent: this, replaceOnChanges: JOB_REPLACE_ON_CHANGES, deleteBeforeReplace: true },
        );

        this.jobName = t.name;
        this.namespace = t.namespace;
        this.registerOutputs({ jobName: this.jobName, namespace: this.namespace });
    }
}

export interface DistributedTrainingArgs extends TrainingArgs {
    /** The installed operator; the PyTorchJob waits for its CRDs and controller. */
    operator: TrainingOperator;
}

/** A multi-node run as a Kubeflow PyTorchJob: one master plus `workers` workers, gpusPerPod processes each. */
export class DistributedTraining extends pulumi.ComponentResource {
    public readonly jobName: string;
    public readonly namespace: string;

    constructor(name: string, args: DistributedTrainingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:training:DistributedTraining", name, {}, opts);
        checkArgs(args, "PyTorchJob");
        const t = args.training;
        if (!Number.isInteger(t.workers) || t.workers < 1) {
            throw new Error(`PyTorchJob "${t.name}" needs workers >= 1, got ${t.workers}`);
        }
        // Pods of a PyTorchJob talk NCCL across nodes: on an EFA pool they get EFA.
        const template = trainingPodTemplate(args, "pytorch", poolEfa(args.pool));

        new k8s.apiextensions.CustomResource(
            `${name}-pytorchjob`,
            {
                ...PYTORCHJOB_TYPE,
                metadata: { name: t.name, namespace: t.namespace, labels: trainingLabels(t), annotations: SKIP_AWAIT },
                spec: {
                    nprocPerNode: String(t.gpusPerPod),
                    runPolicy: { cleanPodPolicy: "Running", backoffLimit: t.backoffLimit, activeDeadlineSeconds: t.activeDeadlineSeconds },
                    pytorchReplicaSpecs: {
                        Master: { replicas: 1, restartPolicy: "OnFailure", template },
                        Worker: { replicas: t.workers, restartPolicy: "OnFailure", template },
                    },
                },
            },
            { parent: this, dependsOn: [args.operator], replaceOnChanges: PYTORCHJOB_REPLACE_ON_CHANGES, deleteBeforeReplace: true },
        );

        this.jobName = t.name;
        this.namespace = t.namespace;
        this.registerOutputs({ jobName: this.jobName, namespace: this.namespace });
    }
}

export interface TrainingOperatorArgs {
    /** Release tag of kubeflow/trainer; defaults to the pinned one. */
    version?: string;
}

const OPERATOR_DEPLOYMENT = "training-operator";
const INIT_TEMPLATE_CONFIGMAP = "pytorch-init-container";
/** v1.9's default --pytorch-init-container-template-file lives in this directory. */
const INIT_TEMPLATE_DIR = "/etc/config";

/**
 * The operator adds an `init-pytorch` container (wait for the master's DNS name) to every worker pod;
 * its built-in template has no securityContext, so the restricted Pod Security Standard of the training
 * namespace would reject every worker. This is the same container, restricted. The text is a Go
 * template the operator fills in ({{.MasterAddr}}, {{.MaxTries}}); JSON is valid YAML for it.
 */
export function restrictedPytorchInitTemplate(): string {
    return JSON.stringify(
        [
            {
                name: "init-pytorch",
                image: VERSIONS.pytorchInitContainer,
                imagePullPolicy: "IfNotPresent",
                resources: { requests: { cpu: "50m", memory: "10Mi" }, limits: { cpu: "100m", memory: "20Mi" } },
                command: [
                    "sh",
                    "-c",
                    "err=1;for i in $(seq {{.MaxTries}}); do if nslookup {{.MasterAddr}}; then err=0 && break; fi;echo waiting for master; sleep 2; done; exit $err",
                ],
                securityContext: {
                    runAsNonRoot: true,
                    runAsUser: 65534,
                    allowPrivilegeEscalation: false,
                    readOnlyRootFilesystem: true,
                    capabilities: { drop: ["ALL"] },
                    seccompProfile: { type: "RuntimeDefault" },
                },
            },
        ],
        null,
        2,
    );
}

/**
 * The Kubeflow Training Operator (PyTorchJob and friends), standalone overlay in namespace kubeflow,
 * plus a restricted template for the init container it injects into PyTorchJob workers.
 */
export class TrainingOperator extends pulumi.ComponentResource {
    public readonly namespace: string = TRAINING_OPERATOR_NAMESPACE;
    public readonly version: string;

    constructor(name: string, args: TrainingOperatorArgs = {}, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:training:TrainingOperator", name, {}, opts);
        this.version = args.version ?? VERSIONS.kubeflowTrainingOperator;
        // Kustomize v2 applies server-side, so the ~600 KB CRDs are no problem for annotations.
        const manifests = new k8s.kustomize.v2.Directory(`${name}-manifests`, { directory: trainingOperatorManifests(this.version) }, { parent: this });

        const initTemplate = new k8s.core.v1.ConfigMap(
            `${name}-init-template`,
            {
                metadata: { name: INIT_TEMPLATE_CONFIGMAP, namespace: this.namespace, labels: { "app.kubernetes.io/part-of": "ml-platform" } },
                data: { "initContainer.yaml": restrictedPytorchInitTemplate() },
            },
            { parent: this, dependsOn: [manifests] },
        );
        // A server-side-apply patch that only adds the template's volume and mount to the operator's
        // Deployment; the overlay's own fields stay with the overlay.
        new k8s.apps.v1.DeploymentPatch(
            `${name}-init-template-mount`,
            {
                metadata: { name: OPERATOR_DEPLOYMENT, namespace: this.namespace },
                spec: {
                    template: {
                        spec: {
                            containers: [{ name: OPERATOR_DEPLOYMENT, volumeMounts: [{ name: INIT_TEMPLATE_CONFIGMAP, mountPath: INIT_TEMPLATE_DIR, readOnly: true }] }],
                            volumes: [{ name: INIT_TEMPLATE_CONFIGMAP, configMap: { name: INIT_TEMPLATE_CONFIGMAP } }],
                        },
                    },
                },
            },
            { parent: this, dependsOn: [manifests, initTemplate] },
        );

        this.registerOutputs({ namespace: this.namespace, version: this.version });
    }
}
