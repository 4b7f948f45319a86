import { loadStackSpec, trackingUri } from "./stacks/config";
import { MlPlatform } from "./components/platform";
import {
    APP_LABEL,
    EXTERNAL_METRICS,
    GRPC_PORT,
    HTTP_PORT,
    LOAD_HEADROOM,
    MODEL_LOAD_ANNOTATION,
    SERVING_CLIENT_LABEL,
    SERVING_METRICS_ENDPOINT,
    SERVING_QUEUE_SERIES,
} from "./facts/serving";
import { PYTORCHJOB_TYPE } from "./facts/training";
import { KUEUE_PRIORITY_LABEL, KUEUE_QUEUE_LABEL, PLATFORM_QUEUE } from "./facts/kueue";
import { TRAINING_PRIORITY_CLASS } from "./facts/priority";
import { buildContract } from "./stacks/contractBuilder";
import { PIPELINE_SERVICE_ACCOUNT, PIPELINES_NAMESPACE, WORKFLOW_TYPE } from "./facts/pipelines";

// Validation runs first: bad config throws here, before any resource is registered.
const spec = loadStackSpec();
const platform = new MlPlatform(spec.stack, { spec, trackingUri: trackingUri() });

// The app-team contract (stacks/contract.ts), one stack output per field.
export const {
    contractVersion,
    environment,
    clusterName,
    endpoint,
    kubeconfig,
    oidcProviderArn,
    oidcIssuerUrl,
    namespaces,
    gpuPools,
    storage,
    metrics,
    training,
    serving,
    pipelines,
    queues,
    workloadIdentity,
} = buildContract(spec, {
    clusterName: platform.cluster.name,
    endpoint: platform.cluster.endpoint,
    kubeconfig: platform.cluster.kubeconfig,
    oidcProviderArn: platform.cluster.oidcProviderArn,
    oidcIssuerUrl: platform.cluster.oidcIssuerUrl,
    storageClassName: platform.storage.storageClassName,
    externalMetrics: EXTERNAL_METRICS,
    selectorLabel: APP_LABEL,
    podMetrics: { ...SERVING_METRICS_ENDPOINT, queueDepthGauge: SERVING_QUEUE_SERIES },
    pytorchJob: PYTORCHJOB_TYPE,
    trainingOperatorInstalled: platform.trainingOperator !== undefined,
    trainingIdentities: Object.fromEntries(Object.entries(platform.trainingIdentities).map(([name, id]) => [name, { serviceAccount: id.serviceAccountName, roleArn: id.roleArn }])),
    serving: {
        ports: { http: HTTP_PORT, grpc: GRPC_PORT },
        modelLoadAnnotation: MODEL_LOAD_ANNOTATION,
        startupHeadroom: LOAD_HEADROOM,
        clientNamespaceLabels: SERVING_CLIENT_LABEL,
    },
    pipelines: {
        installed: platform.argoWorkflows !== undefined,
        namespace: PIPELINES_NAMESPACE,
        serviceAccountName: PIPELINE_SERVICE_ACCOUNT,
        workflow: { ...WORKFLOW_TYPE },
        ...(platform.kueue?.pipelinesQueue !== undefined ? { localQueue: platform.kueue.pipelinesQueue } : {}),
    },
    queues: { queueLabel: KUEUE_QUEUE_LABEL, platform: PLATFORM_QUEUE, priorityLabel: KUEUE_PRIORITY_LABEL, priorityClass: TRAINING_PRIORITY_CLASS },
});
