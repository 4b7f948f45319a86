/**
 * The platform side of the app-team contract: builds the stack outputs from the validated spec and
 * what the platform created. The shape and the version live in contract.ts; the compiler holds this
 * file to them (one output per contract field, each of the contract's type).
 */
import * as pulumi from "@pulumi/pulumi";
import { poolEfa } from "../capacity/efa";
import { poolNodeSelector, poolTolerations } from "../capacity/pools";
import { CONTRACT_VERSION, GpuPoolContract, PlatformContractValues } from "./contract";
import { gpuPools, NodePoolSpec, StackSpec, storageClaims } from "./spec";
import { poolDevices } from "../capacity/sharing";
import { RUNTIME_FACTS } from "../facts/runtimes";
import { IRSA_AUDIENCE, issuerHost, ROLE_ARN_ANNOTATION, SUBJECT_PATTERN } from "./workloadIdentity";

function sharingContract(pool: NodePoolSpec): Pick<GpuPoolContract, "sharing"> {
    const d = poolDevices(pool);
    if (!d || d.mode === "whole") {
        return {};
    }
    return {
        sharing: {
            mode: d.mode,
            devicesPerNode: d.perNode,
            deviceMemoryMiB: d.memoryMiB,
            maxGpusPerPod: d.maxPerPod,
            ...(d.replicas !== undefined ? { replicas: d.replicas } : {}),
            ...(d.profile !== undefined ? { migProfile: d.profile } : {}),
        },
    };
}

export function gpuPoolContracts(spec: StackSpec): Record<string, GpuPoolContract> {
    const out: Record<string, GpuPoolContract> = {};
    for (const pool of gpuPools(spec)) {
        const efa = poolEfa(pool);
        out[pool.name] = {
            nodeSelector: poolNodeSelector(pool),
            tolerations: poolTolerations(pool, spec.gpuTaint),
            gpusPerNode: pool.gpu!.count,
            gpuModel: pool.gpu!.model,
            gpuMemoryMiB: pool.gpu!.memoryMiB,
            instanceType: pool.instanceType,
            ...(efa ? { efaInterfacesPerNode: efa.interfaces } : {}),
            capacityType: pool.capacityType,
            ...sharingContract(pool),
        };
    }
    return out;
}

export function storageContract(spec: StackSpec, storageClass: string): PlatformContractValues["storage"] {
    const pvcs: Record<string, string[]> = {};
    for (const claim of storageClaims(spec)) {
        (pvcs[claim.namespace] ??= []).push(claim.name);
    }
    return { storageClass, pvcs };
}

/** The platform's model servers as app teams call them (in-cluster endpoint, model name, queue metric). */
export function servingModelsContract(spec: StackSpec, httpPort: number): PlatformContractValues["serving"]["models"] {
    return Object.fromEntries(
        spec.serving.map((s) => [
            s.name,
            {
                runtime: s.runtime,
                endpoint: `http://${s.name}.${s.namespace}.svc.cluster.local:${httpPort}`,
                servedModelName: s.name,
                queueDepthMetric: RUNTIME_FACTS[s.runtime].queueExternalMetric,
            },
        ]),
    );
}

type Outputs<T> = { [K in keyof T]: pulumi.Output<T[K]> };

/** What only the built platform knows; index.ts wires it from the components. */
export interface ContractSources {
    clusterName: pulumi.Output<string>;
    endpoint: pulumi.Output<string>;
    kubeconfig: pulumi.Output<string>;
    oidcProviderArn: pulumi.Output<string>;
    oidcIssuerUrl: pulumi.Output<string>;
    storageClassName: string;
    /** The names the metrics adapter publishes (components/serving.ts EXTERNAL_METRICS). */
    externalMetrics: PlatformContractValues["metrics"]["externalMetrics"];
    /** The label the adapter's series carry (components/metricsChain.ts APP_LABEL). */
    selectorLabel: string;
    podMetrics: PlatformContractValues["metrics"]["podMetrics"];
    pytorchJob: { apiVersion: string; kind: string };
    trainingOperatorInstalled: boolean;
    /** Each training run's service account and IAM role (components/s3Identity.ts). */
    trainingIdentities: Record<string, { serviceAccount: string; roleArn: pulumi.Output<string> }>;
    /** Ports, annotation, headroom and client label of the serving components (components/probes.ts, networkPolicies.ts). */
    serving: Omit<PlatformContractValues["serving"], "models">;
    /** Argo pipelines: where and as whom they run (facts/pipelines.ts), and whether the controller is installed. */
    pipelines: Omit<PlatformContractValues["pipelines"], "templates">;
    /** Kueue's labels and the training priority class (facts/kueue.ts, components/priority.ts). */
    queues: Pick<PlatformContractValues["queues"], "queueLabel" | "platform" | "priorityLabel" | "priorityClass">;
}

export function pipelinesContract(spec: StackSpec, src: ContractSources["pipelines"]): PlatformContractValues["pipelines"] {
    return {
        ...src,
        workflow: { ...src.workflow },
        templates: (spec.pipelines ?? []).map((p) => ({ name: p.name, ...(p.schedule !== undefined ? { schedule: p.schedule } : {}), steps: p.steps.map((s) => s.name) })),
    };
}

/** The LocalQueues app teams submit to: one per team with a share, in the training namespace. */
export function queuesContract(spec: StackSpec, src: ContractSources["queues"]): PlatformContractValues["queues"] {
    const teams: Record<string, string> = {};
    for (const team of Object.keys(spec.queues ?? {}).sort()) {
        teams[team] = team;
    }
    return { namespace: spec.namespaces.training, ...src, teams, createSuspended: true };
}

/** The stack outputs index.ts exports, one per contract field. */
export function buildContract(spec: StackSpec, src: ContractSources): Outputs<PlatformContractValues> {
    return {
        contractVersion: pulumi.output(CONTRACT_VERSION),
        // The contract's environment says which policy config the platform's CI applies: the tier.
        environment: pulumi.output(spec.tier),
        clusterName: src.clusterName,
        endpoint: src.endpoint,
        kubeconfig: pulumi.secret(src.kubeconfig),
        oidcProviderArn: src.oidcProviderArn,
        oidcIssuerUrl: src.oidcIssuerUrl,
        namespaces: pulumi.output({ ...spec.namespaces }),
        gpuPools: pulumi.output(gpuPoolContracts(spec)),
        storage: pulumi.output(storageContract(spec, src.storageClassName)),
        metrics: pulumi.output({ externalMetrics: { ...src.externalMetrics }, selectorLabel: src.selectorLabel, podMetrics: { ...src.podMetrics } }),
        training: pulumi.output({ ...src.pytorchJob, operatorInstalled: src.trainingOperatorInstalled, identities: { ...src.trainingIdentities } }),
        serving: pulumi.output({
            ...src.serving,
            ports: { ...src.serving.ports },
            clientNamespaceLabels: { ...src.serving.clientNamespaceLabels },
            models: servingModelsContract(spec, src.serving.ports.http),
        }),
        pipelines: pulumi.output(pipelinesContract(spec, src.pipelines)),
        queues: pulumi.output(queuesContract(spec, src.queues)),
        workloadIdentity: src.oidcIssuerUrl.apply((url) => ({
            issuer: issuerHost(url),
            audience: IRSA_AUDIENCE,
            subjectPattern: SUBJECT_PATTERN,
            serviceAccountAnnotation: ROLE_ARN_ANNOTATION,
        })),
    };
}
