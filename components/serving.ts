import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
import { Taint } from "../capacity/pools";
import { S3Location, parseS3Uri } from "../stacks/s3Uri";
import { CLAIMS, NodePoolSpec, ServingSpec } from "../stacks/spec";
import { pdbFor } from "./disruption";
import { irsaTrustPolicy, serviceAccountSubject } from "./irsa";
import { ROLE_ARN_ANNOTATION } from "../stacks/workloadIdentity";
import { probesFor } from "./probes";
import { APP_LABEL, EXTERNAL_METRICS, GRPC_PORT, HTTP_PORT, MODEL_LOAD_ANNOTATION } from "../facts/serving";
import { SERVING_PRIORITY_CLASS } from "./priority";
import { VERSIONS } from "../facts/versions";
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

export { SERVING_PRIORITY_CLASS } from "./priority";
export { APP_LABEL, EXTERNAL_METRICS, GRPC_PORT } from "../facts/serving";

/** The init container's own budget; a pod's effective request is the larger of it and the server's. */
export const MODEL_DOWNLOADER_RESOURCES = {
    requests: { cpu: "500m", memory: "512Mi" },
    limits: { cpu: "2", memory: "2Gi" },
};

/** Read-only access to one model prefix: get its objects, list only under it. */
export function modelReadPolicy(location: S3Location) {
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: "ReadModelObjects",
                Effect: "Allow",
                Action: ["s3:GetObject"],
                Resource: [`arn:aws:s3:::${location.bucket}/${location.prefix}*`],
            },
            {
                Sid: "ListModelPrefix",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: [`arn:aws:s3:::${location.bucket}`],
                Condition: { StringLike: { "s3:prefix": [`${location.prefix}*`] } },
            },
        ],
    };
}

export interface ModelServingArgs {
    serving: ServingSpec;
    /** The pool named by serving.pool; its tolerations and nodeSelector come from capacity/pools. */
    pool: NodePoolSpec;
    gpuTaint: Taint;
    /** Secret holding the MLflow tracking URI under key tracking_uri. */
    trackingSecretName: string;
    /** The model-cache claim in the serving namespace. */
    modelCacheClaim: string;
    oidcProviderArn: pulumi.Input<string>;
    oidcIssuer: pulumi.Input<string>;
    environment: string;
    tags?: Record<string, string>;
}

/**
 * One served model: a service account whose IAM role may only read the model's S3 prefix, a Deployment
 * that pre-downloads the model into the shared cache and serves it on the pool's GPUs, a ClusterIP
 * Service, an HPA on GPU utilisation and queue depth, and a PodDisruptionBudget that lets drains proceed.
 */
export class ModelServing extends pulumi.ComponentResource {
    public readonly deploymentName: string;
    public readonly serviceName: string;
    public readonly namespace: string;
    /** In-cluster HTTP endpoint. */
    public readonly endpoint: string;
    public readonly roleArn: pulumi.Output<string>;

    constructor(name: string, args: ModelServingArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:serving:ModelServing", name, {}, opts);
        const s = args.serving;
        if (args.pool.name !== s.pool) {
            throw new Error(`serving "${s.name}" runs on pool "${s.pool}" but was given pool "${args.pool.name}"`);
        }
        if (CLAIMS.modelCache.namespace !== s.namespace) {
            throw new Error(`serving "${s.name}" is in namespace "${s.namespace}" but the model cache claim is in "${CLAIMS.modelCache.namespace}"`);
        }
        const model = parseS3Uri(s.modelUri);
        const modelPath = `${CLAIMS.modelCache.mountPath}/${s.name}/`;
        const tags = { ...args.tags, "ml-platform:environment": args.environment, "ml-platform:workload": s.name };

        const role = new aws.iam.Role(
            `${name}-role`,
            {
                description: `IRSA role of model server ${s.namespace}/${s.name}: read ${model.uri}`,
                assumeRolePolicy: irsaTrustPolicy(args.oidcProviderArn, args.oidcIssuer, serviceAccountSubject(s.namespace, s.name)),
                tags,
            },
            { parent: this },
        );
        new aws.iam.RolePolicy(`${name}-s3-read`, { role: role.id, policy: JSON.stringify(modelReadPolicy(model)) }, { parent: this });

        const labels = { [APP_LABEL]: s.name, "app.kubernetes.io/name": s.name, model: s.name, "app.kubernetes.io/part-of": "ml-platform" };
        const selector = { [APP_LABEL]: s.name };

        const serviceAccount = new k8s.core.v1.ServiceAccount(
            `${name}-sa`,
            { metadata: { name: s.name, namespace: s.namespace, labels, annotations: { [ROLE_ARN_ANNOTATION]: role.arn } } },
            { parent: this },
        );

        const cache = { name: args.modelCacheClaim, mountPath: CLAIMS.modelCache.mountPath, mountReadOnly: false };
        const deployment = new k8s.apps.v1.Deployment(
            `${name}-deployment`,
            {
                metadata: { name: s.name, namespace: s.namespace, labels, annotations: { [MODEL_LOAD_ANNOTATION]: String(s.modelLoadSeconds) } },
                spec: {
                    // No replicas: the HPA below owns the count. Setting it here would reset a scaled-out
                    // Deployment to the minimum on every re-apply and conflict with the HPA controller's field
                    // ownership under server-side apply (pulumi-kubernetes #2491, #2569). The API server
                    // starts it at 1 and the HPA raises it to replicas.min.
                    revisionHistoryLimit: 5,
                    // Surge instead of dropping a serving pod: capacity holds during a rollout.
                    strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
                    selector: { matchLabels: selector },
                    template: {
                        metadata: {
                            labels,
                            annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": String(HTTP_PORT), "prometheus.io/path": "/metrics" },
                        },
                        spec: {
                            serviceAccountName: serviceAccount.metadata.name,
                            // The server calls no Kubernetes API. IRSA does not need this token: the EKS
                            // webhook projects its own web-identity token (audience sts.amazonaws.com).
                            automountServiceAccountToken: false,
                            priorityClassName: SERVING_PRIORITY_CLASS,
                            ...poolPlacement(args.pool, args.gpuTaint),
                            securityContext: podSecurityContext(),
                            topologySpreadConstraints: ["kubernetes.io/hostname", "topology.kubernetes.io/zone"].map((topologyKey) => ({
                                maxSkew: 1,
                                topologyKey,
                                // Prefer spreading; a GPU pool in one AZ or at one node must still schedule.
                                whenUnsatisfiable: "ScheduleAnyway",
                                labelSelector: { matchLabels: selector },
                                matchLabelKeys: ["pod-template-hash"],
                            })),
                            initContainers: [
                                {
                                    name: "model-downloader",
                                    image: VERSIONS.awsCli,
                                    command: ["aws", "s3", "sync", model.uri, modelPath, "--only-show-errors"],
                                    // The CLI writes its config/cache under HOME; the root filesystem is read-only.
                                    env: [{ name: "HOME", value: "/tmp" }],
                                    resources: MODEL_DOWNLOADER_RESOURCES,
                                    securityContext: containerSecurityContext(),
                                    volumeMounts: [claimMount(cache), TMP_MOUNT],
                                },
                            ],
                            containers: [
                                {
                                    name: "model-server",
                                    image: s.image,
                                    ports: [
                                        { name: "http", containerPort: HTTP_PORT, protocol: "TCP" },
                                        { name: "grpc", containerPort: GRPC_PORT, protocol: "TCP" },
                                    ],
                                    env: [{ name: "MODEL_PATH", value: modelPath }, trackingUriEnv(args.trackingSecretName)],
                                    resources: containerResources(s, s.gpus),
                                    ...probesFor(s.modelLoadSeconds),
                                    securityContext: containerSecurityContext(),
                                    // The server only reads the cache the init container filled.
                                    volumeMounts: [claimMount({ ...cache, mountReadOnly: true }), TMP_MOUNT],
                                },
                            ],
                            volumes: [claimVolume(cache), TMP_VOLUME],
                        },
                    },
                },
            },
            // A cold GPU node, a multi-GB image and the model load together outlast the 10 min default.
            { parent: this, customTimeouts: { create: "30m", update: "30m" } },
        );

        new k8s.core.v1.Service(
            `${name}-service`,
            {
                metadata: { name: s.name, namespace: s.namespace, labels },
                spec: {
                    type: "ClusterIP",
                    selector,
                    ports: [
                        { name: "http", port: HTTP_PORT, targetPort: "http", protocol: "TCP" },
                        { name: "grpc", port: GRPC_PORT, targetPort: "grpc", protocol: "TCP" },
                    ],
                },
            },
            { parent: this, customTimeouts: { create: "30m", update: "30m" } },
        );

        new k8s.autoscaling.v2.HorizontalPodAutoscaler(
            `${name}-hpa`,
            {
                metadata: { name: s.name, namespace: s.namespace, labels },
                spec: {
                    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
                    minReplicas: s.replicas.min,
                    maxReplicas: s.replicas.max,
                    // AverageValue divides the summed series by the replica count: the adapter returns one
                    // series per pod (pitfall 4), selected by the same app label the pods carry.
                    metrics: [
                        {
                            type: "External",
                            external: {
                                metric: { name: EXTERNAL_METRICS.gpuUtilization, selector: { matchLabels: selector } },
                                target: { type: "AverageValue", averageValue: String(s.autoscaling.gpuUtilizationTarget) },
                            },
                        },
                        {
                            type: "External",
                            external: {
                                metric: { name: EXTERNAL_METRICS.queueDepth, selector: { matchLabels: selector } },
                                target: { type: "AverageValue", averageValue: String(s.autoscaling.queueDepthTarget) },
                            },
                        },
                    ],
                    behavior: {
                        scaleUp: { stabilizationWindowSeconds: 30, policies: [{ type: "Pods", value: 2, periodSeconds: 30 }] },
                        // Cautious: a removed GPU pod takes minutes (node, image, model) to come back.
                        scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 120 }] },
                    },
                },
            },
            { parent: this },
        );

        new k8s.policy.v1.PodDisruptionBudget(
            `${name}-pdb`,
            {
                metadata: { name: s.name, namespace: s.namespace, labels },
                spec: {
                    ...pdbFor(s.replicas.min),
                    selector: { matchLabels: selector },
                    // A pod stuck loading or crash-looping must not block a node drain.
                    unhealthyPodEvictionPolicy: "AlwaysAllow",
                },
            },
            { parent: this },
        );

        this.deploymentName = s.name;
        this.serviceName = s.name;
        this.namespace = s.namespace;
        this.endpoint = `http://${s.name}.${s.namespace}.svc.cluster.local:${HTTP_PORT}`;
        this.roleArn = role.arn;
        this.registerOutputs({ serviceName: this.serviceName, endpoint: this.endpoint, roleArn: this.roleArn });
    }
}
