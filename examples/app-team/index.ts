/**
 * An app team's model server on the ml-platform GPU platform. Everything about the platform (cluster
 * credentials, namespace, the GPU pool's taints and labels, metric names, how pods get AWS access) is
 * read from the platform stack's contract outputs; this project types none of it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as k8s from "@pulumi/kubernetes";
// In an app team's own repository these three come from the platform's published contract package.
import { readPlatformContract } from "../../stacks/contractReader";
import { gpuPodSpec } from "../../stacks/gpuPodSpec";
import { workloadRoleTrustPolicy } from "../../stacks/workloadIdentity";
import { invalidConfig, loadAppConfig, platformProblems } from "./config";

const HEALTH_PATH = "/healthz";
const STARTUP_PERIOD_SECONDS = 10;

/** Startup probe failures allowed: the platform's headroom over the model's load time, in 10 s periods. */
function startupFailureThreshold(loadSeconds: number, headroom: number): number {
    return Math.max(3, Math.ceil((headroom * loadSeconds) / STARTUP_PERIOD_SECONDS));
}

export = async () => {
    const cfg = loadAppConfig();
    // Checks the platform's contractVersion and every field before anything is created.
    const platform = await readPlatformContract(cfg.platformStack);
    // What the config asks of the platform (a GPU pool it has, GPUs its nodes hold): a clean stop, never a crash.
    const mismatch = platformProblems(new pulumi.Config().name, cfg, platform, platform.stack);
    if (mismatch.length > 0) {
        throw invalidConfig(mismatch);
    }
    const gpu = gpuPodSpec(platform, cfg.gpuPool, { gpus: cfg.gpus, cpu: cfg.cpu, memory: cfg.memory });

    const namespace = platform.namespaces.serving;
    const name = cfg.modelName;
    // The label the platform's metrics adapter and network policies key on; it also selects our pods.
    const selector = { [platform.metrics.selectorLabel]: name };
    const labels = { ...selector, "app.kubernetes.io/managed-by": "pulumi" };
    const metricsPort = platform.metrics.podMetrics.port;

    const provider = new k8s.Provider("platform", { kubeconfig: platform.kubeconfig, enableServerSideApply: true });
    const opts = { provider };

    // Our own IAM role: trusted only for this service account's tokens from the platform's cluster.
    // Attach the permissions the server needs (e.g. read its model prefix in S3) to this role.
    const role = new aws.iam.Role(`${name}-role`, {
        description: `Workload identity of ${namespace}/${name} on ${platform.clusterName}`,
        assumeRolePolicy: workloadRoleTrustPolicy(platform, namespace, name),
    });

    const serviceAccount = new k8s.core.v1.ServiceAccount(
        name,
        { metadata: { name, namespace, labels, annotations: { [platform.workloadIdentity.serviceAccountAnnotation]: role.arn } } },
        opts,
    );

    const httpProbe = (periodSeconds: number, failureThreshold: number) => ({
        httpGet: { path: HEALTH_PATH, port: metricsPort },
        periodSeconds,
        timeoutSeconds: 5,
        failureThreshold,
    });

    const deployment = new k8s.apps.v1.Deployment(
        name,
        {
            // Declares the load time the platform's policy pack holds the startup probe to.
            metadata: { name, namespace, labels, annotations: { [platform.serving.modelLoadAnnotation]: String(cfg.modelLoadSeconds) } },
            spec: {
                replicas: cfg.minReplicas,
                strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
                selector: { matchLabels: selector },
                template: {
                    metadata: { labels },
                    spec: {
                        serviceAccountName: serviceAccount.metadata.name,
                        // IRSA projects its own token; the server never calls the Kubernetes API.
                        automountServiceAccountToken: false,
                        nodeSelector: gpu.nodeSelector,
                        tolerations: gpu.tolerations,
                        securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } },
                        containers: [
                            {
                                name: "model-server",
                                image: cfg.image,
                                // The port the serving namespace's NetworkPolicies admit callers and Prometheus on.
                                ports: [{ name: metricsPort, containerPort: platform.serving.ports.http, protocol: "TCP" }],
                                resources: gpu.resources,
                                startupProbe: httpProbe(STARTUP_PERIOD_SECONDS, startupFailureThreshold(cfg.modelLoadSeconds, platform.serving.startupHeadroom)),
                                readinessProbe: httpProbe(10, 3),
                                livenessProbe: httpProbe(20, 3),
                                securityContext: {
                                    runAsNonRoot: true,
                                    allowPrivilegeEscalation: false,
                                    readOnlyRootFilesystem: true,
                                    capabilities: { drop: ["ALL"] },
                                },
                                volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
                            },
                        ],
                        volumes: [{ name: "tmp", emptyDir: {} }],
                    },
                },
            },
        },
        // A cold GPU node plus the model load outlast the 10 minute default.
        { ...opts, customTimeouts: { create: "30m", update: "30m" } },
    );

    const service = new k8s.core.v1.Service(
        name,
        {
            metadata: { name, namespace, labels },
            spec: { type: "ClusterIP", selector, ports: [{ name: metricsPort, port: 80, targetPort: metricsPort, protocol: "TCP" }] },
        },
        opts,
    );

    // Scale on the platform's external metrics; AverageValue divides the adapter's total by replicas.
    const external = platform.metrics.externalMetrics;
    new k8s.autoscaling.v2.HorizontalPodAutoscaler(
        name,
        {
            metadata: { name, namespace, labels },
            spec: {
                scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name },
                minReplicas: cfg.minReplicas,
                maxReplicas: cfg.maxReplicas,
                metrics: [
                    { type: "External", external: { metric: { name: external.gpuUtilization, selector: { matchLabels: selector } }, target: { type: "AverageValue", averageValue: "70" } } },
                    { type: "External", external: { metric: { name: external.queueDepth, selector: { matchLabels: selector } }, target: { type: "AverageValue", averageValue: "10" } } },
                ],
            },
        },
        opts,
    );

    // One pod may always be evicted, so node drains and scale-downs proceed.
    new k8s.policy.v1.PodDisruptionBudget(
        name,
        { metadata: { name, namespace, labels }, spec: { maxUnavailable: 1, selector: { matchLabels: selector }, unhealthyPodEvictionPolicy: "AlwaysAllow" } },
        opts,
    );

    return {
        platformStack: platform.stack,
        platformContractVersion: platform.contractVersion,
        endpoint: pulumi.interpolate`http://${service.metadata.name}.${namespace}.svc.cluster.local`,
        roleArn: role.arn,
    };
};
