/**
 * The app-team contract: the stack outputs other Pulumi projects read through a StackReference, as a
 * runtime schema (zod) and the TypeScript types inferred from it, plus the version rule. App teams import
 * this file, so it imports nothing but zod: the platform's components never load in a consumer.
 *
 * Versioning (semver): a new field or a new allowed value is a minor bump; removing or renaming a
 * field, or changing its type or meaning, is a major bump. A consumer built against N.M reads N.x
 * stacks with x >= M and refuses everything else.
 */
import { z } from "zod";

export const CONTRACT_VERSION = "1.9.0";

/** Outputs whose values are Pulumi secrets; every other contract output is plain. */
export const SECRET_OUTPUTS = ["kubeconfig"] as const;

const nonEmpty = z.string().min(1, "must be a non-empty string");

const toleration = z.object({
    key: nonEmpty,
    operator: z.enum(["Equal", "Exists"]),
    value: z.string().optional(),
    effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
});

const port = z.number().int().min(1).max(65535);

const gpuPool = z.object({
    /** Select the pool with exactly this; never with a label typed by hand. */
    nodeSelector: z.record(z.string(), z.string()).refine((m) => Object.keys(m).length > 0, "must select at least one label"),
    /** The pool's taints as tolerations; a pod must carry all of them to land there. */
    tolerations: z.array(toleration),
    gpusPerNode: z.number().int().min(1),
    gpuModel: nonEmpty,
    /** Usable memory of one GPU, as EC2 reports it. */
    gpuMemoryMiB: z.number().int().min(1),
    instanceType: nonEmpty,
    /**
     * EFA devices per node when the pool has EFA (added in 1.4): a multi-node job's pods request
     * `vpc.amazonaws.com/efa` equal to this (request == limit) and set FI_PROVIDER=efa for NCCL.
     */
    efaInterfacesPerNode: z.number().int().min(1).optional(),
    /** How the pool buys instances (added in 1.5): on SPOT a pod may get two minutes' notice of interruption. */
    capacityType: z.enum(["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"]).optional(),
    /**
     * Set when the pool shares its GPUs (added in 1.9): a pod requests at most maxGpusPerPod (1)
     * nvidia.com/gpu; each is a MIG slice of deviceMemoryMiB, or a time-slice replica that shares the GPU's
     * memory with up to `replicas` - 1 other pods.
     */
    sharing: z
        .object({
            mode: z.enum(["time-slicing", "mig"]),
            devicesPerNode: z.number().int().min(1),
            deviceMemoryMiB: z.number().int().min(1),
            maxGpusPerPod: z.number().int().min(1),
            replicas: z.number().int().min(2).optional(),
            migProfile: nonEmpty.optional(),
        })
        .optional(),
});

export const contractSchema = z.object({
    contractVersion: nonEmpty,
    /** Which policy config the platform's CI applies (prod requires 2+ serving replicas): the platform stack's tier, whatever the stack is named. */
    environment: z.enum(["dev", "prod"]),
    clusterName: nonEmpty,
    endpoint: z.string().startsWith("https://", "must be an https URL"),
    /** Secret: a kubeconfig (JSON) that authenticates with `aws eks get-token`. */
    kubeconfig: nonEmpty,
    oidcProviderArn: z.string().startsWith("arn:", "must be an ARN"),
    oidcIssuerUrl: z.string().startsWith("https://", "must be an https URL"),
    namespaces: z.object({ serving: nonEmpty, training: nonEmpty }),
    gpuPools: z.record(z.string(), gpuPool),
    storage: z.object({
        storageClass: nonEmpty,
        /** Shared ReadWriteMany claims, by namespace. */
        pvcs: z.record(z.string(), z.array(nonEmpty)),
    }),
    metrics: z.object({
        /** External metric names an HPA in the serving namespace may ask for. */
        externalMetrics: z.object({ gpuUtilization: nonEmpty, queueDepth: nonEmpty }),
        /** The pod label every external series carries: select a model's pods with it. */
        selectorLabel: nonEmpty,
        /** Where serving pods expose the queue-depth gauge the queueDepth metric is built from. */
        podMetrics: z.object({ port: nonEmpty, path: z.string().startsWith("/"), queueDepthGauge: nonEmpty }),
    }),
    training: z.object({
        apiVersion: nonEmpty,
        kind: nonEmpty,
        /** The Kubeflow Training Operator is installed only where the platform itself runs a PyTorchJob. */
        operatorInstalled: z.boolean(),
        /**
         * Each of the platform's training runs (added in 1.3): the service account its pods run as in the
         * training namespace and the IAM role behind it, e.g. to name the role in a data bucket's policy.
         */
        identities: z.record(z.string(), z.object({ serviceAccount: nonEmpty, roleArn: z.string().startsWith("arn:", "must be an ARN") })),
    }),
    /** Running a model server in the serving namespace (added in 1.2). */
    serving: z.object({
        /** The container ports the serving namespace's NetworkPolicies admit: callers reach both, Prometheus scrapes http. */
        ports: z.object({ http: port, grpc: port }),
        /** Annotate a model server's Deployment with its model's load time, in seconds, under this key. */
        modelLoadAnnotation: nonEmpty,
        /** The policy pack holds the startup probe's budget to at least this multiple of the declared load time. */
        startupHeadroom: z.number().min(1),
        /** A namespace with all of these labels may call model servers; the serving namespace admits no other. */
        clientNamespaceLabels: z.record(z.string(), z.string()).refine((m) => Object.keys(m).length > 0, "must name at least one label"),
        /** The platform's own model servers by name (added in 1.8): how to call each and what it scales on. */
        models: z.record(
            z.string(),
            z.object({
                /** `custom` (the image's own server on this contract) or `vllm` (OpenAI-compatible API under /v1). */
                runtime: nonEmpty,
                /** In-cluster base URL on the http port. */
                endpoint: z.string().startsWith("http://", "must be an http URL"),
                /** The `model` field of an OpenAI-style request (vLLM's --served-model-name); the entry's name. */
                servedModelName: nonEmpty,
                /** The External metric its HPA scales on for queue depth: the runtime's own queue gauge. */
                queueDepthMetric: nonEmpty,
            }),
        ),
    }),
    /**
     * ML pipelines on Argo Workflows (added in 1.6). Submit a Workflow with spec.workflowTemplateRef.name
     * set to one of the templates, in the namespace; the controller runs nothing else. Steps run as the
     * service account; app teams' Role there covers Workflows (create, read, delete) and reading templates.
     */
    pipelines: z.object({
        /** Argo's controller is installed only where the platform declares a pipeline. */
        installed: z.boolean(),
        namespace: nonEmpty,
        serviceAccountName: nonEmpty,
        /** The kind app teams create, e.g. argoproj.io/v1alpha1 Workflow. */
        workflow: z.object({ apiVersion: nonEmpty, kind: nonEmpty }),
        templates: z.array(z.object({ name: nonEmpty, schedule: z.string().optional(), steps: z.array(nonEmpty) })),
        /**
         * The Kueue LocalQueue (in `namespace`) every step's pod is submitted to (added in 1.9); absent where
         * the platform runs no Kueue. The templates already carry it: a Workflow needs no label of its own.
         * Watch a run's steps wait and get admitted with `kubectl get localqueue,workloads -n <namespace>`.
         */
        localQueue: nonEmpty.optional(),
    }),
    /** Submitting training through Kueue (added in 1.7). */
    queues: z.object({
        /** Namespace of the LocalQueues (the training namespace). */
        namespace: nonEmpty,
        /** Label a Job or PyTorchJob with the LocalQueue's name under this key. */
        queueLabel: nonEmpty,
        /** The LocalQueue of each app team with a share of the GPU pools; other teams submit to `platform`. */
        teams: z.record(z.string(), nonEmpty),
        /** The platform's own LocalQueue. */
        platform: nonEmpty,
        /** Label the job with `priorityClass` under this key (a Kueue WorkloadPriorityClass). */
        priorityLabel: nonEmpty,
        priorityClass: nonEmpty,
        /** Create the job suspended (Job spec.suspend, PyTorchJob spec.runPolicy.suspend): Kueue unsuspends it on admission. */
        createSuspended: z.literal(true),
    }),
    workloadIdentity: z.object({
        /** The issuer without its scheme: the prefix of the trust policy's condition keys. */
        issuer: nonEmpty,
        audience: nonEmpty,
        /** The `sub` claim of a service account's token, with <namespace> and <serviceAccount> to fill in. */
        subjectPattern: nonEmpty,
        /** The service account annotation that names the IAM role its pods assume. */
        serviceAccountAnnotation: nonEmpty,
    }),
});

/** The contract's values as a stack exports them (kubeconfig as a plain string here). */
export type PlatformContractValues = z.infer<typeof contractSchema>;
export type GpuPoolContract = PlatformContractValues["gpuPools"][string];
export type ContractToleration = z.infer<typeof toleration>;

/** Every output a contract-v1 stack exports. */
export const CONTRACT_OUTPUTS = Object.keys(contractSchema.shape) as (keyof PlatformContractValues)[];

/** Raised for a stack that does not satisfy this contract; the message says what to do. */
export class ContractError extends Error {
    constructor(message: string) {
        super(message);
        // Matched by name, not instanceof: the offline plan reloads program modules between runs.
        this.name = "ContractError";
    }
}

export function isContractError(e: unknown): e is ContractError {
    return e instanceof Error && e.name === "ContractError";
}

export interface ContractVersion {
    major: number;
    minor: number;
    patch: number;
}

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export function parseContractVersion(version: string): ContractVersion | undefined {
    const m = SEMVER.exec(version);
    return m ? { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]) } : undefined;
}

/**
 * Throws unless a stack exporting `exported` can be read by a consumer built against `builtAgainst`:
 * same major, minor at least the consumer's.
 */
export function checkContractVersion(stack: string, exported: unknown, builtAgainst: string = CONTRACT_VERSION): void {
    const want = parseContractVersion(builtAgainst);
    if (!want) {
        throw new Error(`consumer contract version "${builtAgainst}" is not semver`);
    }
    const range = `${want.major}.x (>= ${want.major}.${want.minor})`;
    if (exported === undefined || exported === null) {
        throw new ContractError(`platform stack ${stack} exports no contractVersion: it is not an ml-platform stack, or predates the app-team contract.`);
    }
    const have = typeof exported === "string" ? parseContractVersion(exported) : undefined;
    if (!have) {
        throw new ContractError(`platform stack ${stack} exports contractVersion ${JSON.stringify(exported)}, which is not a semver version.`);
    }
    if (have.major > want.major) {
        throw new ContractError(
            `platform stack ${stack} exports contract ${exported}; this consumer was built against ${range}. Upgrade the consumer to a ${have.major}.x contract reader.`,
        );
    }
    if (have.major < want.major) {
        throw new ContractError(
            `platform stack ${stack} exports contract ${exported}; this consumer was built against ${range}. Update the platform stack to a ${want.major}.x contract, or use a ${have.major}.x contract reader.`,
        );
    }
    if (have.minor < want.minor) {
        throw new ContractError(
            `platform stack ${stack} exports contract ${exported}; this consumer was built against ${range} and reads fields added in ${want.major}.${want.minor}. ` +
                `Update the platform stack (pulumi up of ml-platform), or use a consumer built against ${have.major}.${have.minor}.`,
        );
    }
}

function formatPath(path: PropertyKey[]): string {
    return path.map((p, i) => (typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join("");
}

function describeIssue(issue: z.core.$ZodIssue): string {
    if (issue.code === "invalid_type" && issue.message.endsWith("received undefined")) {
        return `missing (expected ${issue.expected})`;
    }
    return issue.message;
}

/**
 * Checks the version first (a newer major may have a different shape), then every field; the error
 * names each bad field. Unknown fields are kept out of the result: a newer minor may add them.
 */
export function parseContract(stack: string, values: Record<string, unknown>, builtAgainst: string = CONTRACT_VERSION): PlatformContractValues {
    checkContractVersion(stack, values.contractVersion, builtAgainst);
    const result = contractSchema.safeParse(values);
    if (!result.success) {
        const problems = result.error.issues.map((i) => `${formatPath(i.path)}: ${describeIssue(i)}`);
        throw new ContractError(`platform stack ${stack} does not satisfy contract ${builtAgainst}:\n  ${problems.join("\n  ")}`);
    }
    return result.data;
}
