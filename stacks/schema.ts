/**
 * The shape of every `ml-platform:*` config key, as zod schemas. Structural rules (types, ranges,
 * unknown keys, the syntax Kubernetes, EKS and IAM accept) live here; rules that relate keys to each
 * other live in crossChecks.ts, and placing workloads on pools in placement.ts.
 */
import { z } from "zod";
import { HOURS_PER_MONTH, KNOWN_INSTANCE_TYPES, INSTANCE_CATALOG } from "../capacity/catalog";
import { architectureProblems } from "../capacity/gpu-memory";
import { labelValueProblem, NameProblem, qualifiedNameProblem } from "../capacity/labels";
import { DEFAULT_GPU_TAINT } from "../capacity/pools";
import { isCpuQuantity, isMemoryQuantity } from "../capacity/quantity";
import { claimPathProblem, s3UriProblem } from "./s3Uri";
import { TIERS } from "./tiers";
import { pipelinesSchemaOf } from "./pipelineSchema";
// The supported minors are those every pinned component (Cluster Autoscaler) has a build for.
import { SUPPORTED_KUBERNETES_VERSIONS } from "../facts/versions";
import { SERVING_RUNTIMES } from "../facts/runtimes";
import { GPU_MEMORY_HEADROOM_RANGE, DEFAULT_GPU_MEMORY_HEADROOM } from "../capacity/gpuHeadroom";
import { TIME_SLICING_REPLICAS } from "../capacity/sharing";
import { RESERVED_ENV_NAMES } from "./servingEnv";
import { CREDENTIAL_ENV_NAME_PATTERN, credentialShape } from "./credentials";

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
/** An AWS region name (us-east-1, us-gov-west-1); an availability zone is its region plus one letter. */
export const AWS_REGION = /^[a-z]{2}(-gov)?-[a-z]+-\d$/;
const AZ = /^[a-z]{2}(-gov)?-[a-z]+-\d[a-z]$/;
const IAM_PRINCIPAL = /^arn:aws[a-z-]*:iam::\d{12}:(role|user)\/[\w+=,.@/-]+$/;
/** EKS takes taint keys of at most 63 characters in all, prefix included (Kubernetes allows 253 + 1 + 63). */
export const EKS_TAINT_KEY_MAX_LENGTH = 63;
/** Above any published model; also keeps the estimator's byte counts exact integers. */
export const MAX_MODEL_PARAMETERS = 10_000_000_000_000;
/** An image reference with an explicit tag or digest. `:latest` is rejected separately. */
const PINNED_IMAGE = /^[a-z0-9][\w.\-/:]*[\w.\-/]+(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/;

const dnsLabel = (max: number) =>
    z.string().max(max, `must be at most ${max} characters`).regex(DNS_LABEL, "must be a DNS label: lower-case letters, digits and '-', starting with a letter");

/** A string rule that says what is allowed: the problem reads `<wrong>, got <value>; allowed: <allowed>`. */
const checkedString = (problemOf: (s: string) => NameProblem | undefined) =>
    z.string().superRefine((s, ctx) => {
        const problem = problemOf(s);
        if (problem) {
            ctx.addIssue({ code: "custom", message: problem.wrong, input: s, params: { allowed: problem.allowed } });
        }
    });

function taintKeyProblem(key: string): NameProblem | undefined {
    const problem = qualifiedNameProblem(key);
    if (problem || key.length <= EKS_TAINT_KEY_MAX_LENGTH) {
        return problem;
    }
    return {
        wrong: `must be at most ${EKS_TAINT_KEY_MAX_LENGTH} characters in all, the EKS node group taint key limit (it has ${key.length})`,
        allowed: `a qualified name of at most ${EKS_TAINT_KEY_MAX_LENGTH} characters, prefix included`,
    };
}

const cidr = z.string().regex(CIDR, "must be an IPv4 CIDR such as 10.0.0.0/16");

const cpu = z.string().refine(isCpuQuantity, "must be a CPU quantity such as 500m or 4");
const memory = z.string().refine(isMemoryQuantity, "must be a memory quantity such as 512Mi or 16Gi");

const image = z
    .string()
    .regex(PINNED_IMAGE, "must be an image with a pinned tag or digest, e.g. registry/name:v1.2.3")
    .refine((s) => !/:latest$/.test(s), "must not use the mutable tag :latest; pin a version or digest");

const instanceTypeName = z.string().refine((s) => INSTANCE_CATALOG.has(s), {
    message: `must be a known instance type: ${KNOWN_INSTANCE_TYPES.join(", ")}`,
});

/**
 * One check with one message, not .int().min().max(): zod's int check aborts the enclosing object,
 * which would hide the model block's cross-field problems.
 */
const int = (min: number, max: number) =>
    z.number().superRefine((n, ctx) => {
        const wrong = n < min ? `must be >= ${min}` : n > max ? `must be <= ${max}` : Number.isSafeInteger(n) ? undefined : "must be a whole number";
        if (wrong) {
            ctx.addIssue({ code: "custom", message: wrong, input: n });
        }
    });

/**
 * An app team: one IAM principal that may edit (AmazonEKSEditPolicy) and run PyTorchJobs in the listed
 * workload namespaces, nothing cluster-wide. Which namespaces exist is checked in validate.ts.
 */
export const appTeamSchema = z.strictObject({
    name: dnsLabel(40),
    principalArn: z.string().regex(IAM_PRINCIPAL, "must be an IAM role or user ARN such as arn:aws:iam::123456789012:role/team"),
    namespaces: z
        .array(z.string().regex(DNS_LABEL, "must be a namespace name (DNS label)"))
        .min(1, "must list at least one namespace")
        .refine((a) => new Set(a).size === a.length, "must not repeat a namespace"),
});

export const clusterSchema = z.strictObject({
    name: dnsLabel(40),
    kubernetesVersion: z.enum(SUPPORTED_KUBERNETES_VERSIONS as [string, ...string[]]),
    availabilityZones: z
        .array(z.string().regex(AZ, "must be an availability zone name such as us-east-1a"))
        .min(2, "must list at least 2 availability zones (EKS requires subnets in two)")
        .max(6, "must list at most 6 availability zones")
        .refine((a) => new Set(a).size === a.length, "must not repeat an availability zone"),
    vpcCidr: cidr.default("10.0.0.0/16"),
    natGateways: z.enum(["single", "onePerAz"]).default("single"),
    endpoint: z
        .strictObject({
            publicAccess: z.boolean().default(true),
            privateAccess: z.boolean().default(true),
            publicAccessCidrs: z.array(cidr).default([]),
        })
        .default({ publicAccess: true, privateAccess: true, publicAccessCidrs: [] }),
    admins: z.array(z.string().regex(IAM_PRINCIPAL, "must be an IAM role or user ARN")).default([]),
    appTeams: z.array(appTeamSchema).default([]),
});

export const gpuTaintSchema = z.strictObject({
    key: checkedString(taintKeyProblem),
    value: checkedString(labelValueProblem),
    effect: z.enum(["NoSchedule", "NoExecute"]),
});

export const nodePoolSchema = z.strictObject({
    instanceType: instanceTypeName,
    minSize: int(0, 100),
    maxSize: int(1, 100),
    desiredSize: int(0, 100).optional(),
    capacityType: z.enum(["ON_DEMAND", "SPOT", "CAPACITY_BLOCK"]).default("ON_DEMAND"),
    /** An On-Demand Capacity Reservation (ON_DEMAND) or a Capacity Block (CAPACITY_BLOCK) the pool launches into. */
    capacityReservation: z
        .strictObject({
            id: z.string().regex(/^cr-[0-9a-f]{8,17}$/, "must be a capacity reservation ID such as cr-0123456789abcdef0"),
            hourlyPriceUsd: z.number().positive("must be a positive price in USD per instance-hour").optional(),
        })
        .optional(),
    diskSizeGiB: int(20, 16384).default(100),
    /** Zones of cluster.availabilityZones this pool launches in; default all of them (stacks/poolChecks.ts). */
    availabilityZones: z
        .array(z.string().regex(AZ, "must be an availability zone name such as us-east-1a"))
        .min(1, "must list at least one availability zone (omit the key for all of the cluster's)")
        .refine((a) => new Set(a).size === a.length, "must not repeat an availability zone")
        .optional(),
    /** EFA interfaces, a cluster placement group and a self-referencing security group (capacity/efa.ts). */
    efa: z.boolean().default(false),
    /**
     * Sharing each GPU between pods (capacity/sharing.ts): time-slicing replicas, or one MIG profile on
     * every GPU (single strategy). The profile is judged against the pool's GPU in stacks/poolChecks.ts.
     */
    sharing: z
        .strictObject({
            timeSlicing: z.strictObject({ replicas: int(TIME_SLICING_REPLICAS.min, TIME_SLICING_REPLICAS.max) }).optional(),
            mig: z.strictObject({ profile: z.string().min(1, "must name a MIG profile such as 3g.20gb") }).optional(),
        })
        .refine((s) => (s.timeSlicing ? 1 : 0) + (s.mig ? 1 : 0) === 1, "must set exactly one of timeSlicing or mig")
        .optional(),
});

export const storageSchema = z.strictObject({
    trainingDataSize: memory.default("1Ti"),
    checkpointsSize: memory.default("500Gi"),
    modelCacheSize: memory.default("200Gi"),
    uid: int(1, 2147483647).default(1000),
    gid: int(1, 2147483647).default(1000),
    throughputMode: z.enum(["elastic", "bursting"]).default("elastic"),
});

const architecture = {
    parameters: int(1, MAX_MODEL_PARAMETERS),
    layers: int(1, 1000),
    hiddenSize: int(1, 1_000_000),
    attentionHeads: int(1, 10_000),
    kvHeads: int(1, 10_000).optional(),
    headDim: int(1, 10_000).optional(),
};

/** The estimator's rules across architecture fields, checked with the block so no other problem hides them. */
function checkArchitecture(model: z.infer<z.ZodObject<typeof architecture>>, ctx: z.core.$RefinementCtx) {
    for (const p of architectureProblems(model)) {
        ctx.addIssue({ code: "custom", path: [p.field], message: p.wrong, input: p.got, params: { allowed: p.allowed } });
    }
}

const ATTENTION_FIELDS: PropertyKey[] = ["attentionHeads", "kvHeads", "hiddenSize", "headDim"];
/** Runs the check whenever the fields it reads are valid, whatever else in the block is wrong. */
const architectureReadable = { when: (payload: z.core.ParsePayload) => !payload.issues.some((i) => ATTENTION_FIELDS.includes(i.path?.[0] ?? "")) };

export const servingModelSchema = z
    .strictObject({
        ...architecture,
        precision: z.enum(["float32", "bfloat16", "float16", "int8", "int4"]),
        batchSize: int(1, 4096).default(1),
        sequenceLength: int(1, 1_048_576),
        /** The longest context the model was trained for (max_position_embeddings); sequenceLength may not exceed it. */
        contextLength: int(1, 1_048_576).optional(),
    })
    .superRefine(checkArchitecture, architectureReadable)
    .superRefine((m, ctx) => {
        if (m.contextLength !== undefined && m.sequenceLength > m.contextLength) {
            ctx.addIssue({
                code: "custom",
                path: ["sequenceLength"],
                message: `must not exceed model.contextLength (${m.contextLength}), the longest context the model was trained for`,
                input: m.sequenceLength,
                params: { allowed: `1..${m.contextLength}` },
            });
        }
    });

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const credentialName = new RegExp(CREDENTIAL_ENV_NAME_PATTERN, "i");

/** A container env var name the platform does not set itself (those are in RESERVED_ENV_NAMES). */
const envName = z.string().superRefine((s, ctx) => {
    const wrong = !ENV_NAME.test(s)
        ? "must be an environment variable name: letters, digits and '_', not starting with a digit"
        : RESERVED_ENV_NAMES.includes(s)
          ? "is set by the platform and may not be overridden"
          : undefined;
    if (wrong) {
        ctx.addIssue({ code: "custom", message: wrong, input: s, params: { allowed: `a name matching ${ENV_NAME.source}, none of ${RESERVED_ENV_NAMES.join(", ")}` } });
    }
});

/** A literal env var: neither named like a credential nor holding one (those go in secretEnv). */
const plainEnv = z.strictObject({ name: envName, value: z.string() }).superRefine((e, ctx) => {
    if (credentialName.test(e.name)) {
        ctx.addIssue({ code: "custom", path: ["name"], message: "is named like a credential; credentials come from a Kubernetes Secret", input: e.name, params: { allowed: "move it to secretEnv: [{name, secretName, key}]" } });
    }
    const shape = credentialShape(e.value);
    if (shape) {
        // Never echo the value: the plan's output is public in a pull request.
        ctx.addIssue({ code: "custom", path: ["value"], message: `looks like ${shape}; credentials come from a Kubernetes Secret (the value is not shown)`, input: "(hidden)", params: { allowed: "secretEnv: [{name, secretName, key}]" } });
    }
});

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** An env var read from a key of a Kubernetes Secret in the serving namespace (valueFrom.secretKeyRef). */
const secretEnv = z.strictObject({
    name: envName,
    secretName: z.string().max(253, "must be at most 253 characters").regex(DNS_SUBDOMAIN, "must be a Secret name (DNS subdomain: lower-case letters, digits, '-' and '.')"),
    key: z.string().max(253, "must be at most 253 characters").regex(SECRET_KEY, "must be a Secret data key: letters, digits, '-', '_' and '.'"),
});

export const trainingModelSchema = z
    .strictObject({
        ...architecture,
        precision: z.enum(["float32", "bfloat16", "float16"]),
        zeroStage: z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]).default(0),
        microBatchSize: int(1, 4096).default(1),
        sequenceLength: int(1, 1_048_576),
        recompute: z.enum(["none", "selective", "full"]).default("selective"),
    })
    .superRefine(checkArchitecture, architectureReadable);

const resources = {
    cpu,
    memory,
    cpuLimit: cpu.optional(),
    memoryLimit: memory.optional(),
};

export const servingSchema = z.strictObject({
    name: dnsLabel(40),
    /** Required for runtime custom; runtime vllm defaults to the pinned vLLM image (facts/versions.ts). */
    image: image.optional(),
    pool: z.string().min(1),
    gpus: int(1, 8).optional(),
    ...resources,
    replicas: z.strictObject({ min: int(1, 1000), max: int(1, 1000) }),
    modelUri: checkedString(s3UriProblem),
    modelLoadSeconds: int(1, 3600),
    model: servingModelSchema.optional(),
    /** custom: the image's own server on the platform's serving contract; vllm: vLLM's OpenAI-compatible server, arguments derived. */
    runtime: z.enum(SERVING_RUNTIMES).default("custom"),
    /** Container args (custom: the whole argument list; vllm: extra engine flags after the derived ones). */
    args: z.array(z.string()).default([]),
    env: z.array(plainEnv).default([]),
    secretEnv: z.array(secretEnv).default([]),
    autoscaling: z
        .strictObject({
            gpuUtilizationTarget: int(1, 100).default(70),
            queueDepthTarget: int(1, 100000).default(10),
        })
        .default({ gpuUtilizationTarget: 70, queueDepthTarget: 10 }),
});

/** Hours are decimals (a 90-minute run is 1.5); one check, one message, like int(). */
const hours = (max: number) =>
    z.number().superRefine((n, ctx) => {
        const wrong = !Number.isFinite(n) || n <= 0 ? "must be > 0" : n > max ? `must be <= ${max}` : undefined;
        if (wrong) {
            ctx.addIssue({ code: "custom", message: wrong, input: n });
        }
    });

export const trainingSchema = z.strictObject({
    name: dnsLabel(40),
    kind: z.enum(["Job", "PyTorchJob"]),
    image,
    args: z.array(z.string()).default([]),
    pool: z.string().min(1),
    gpusPerPod: int(1, 8).optional(),
    workers: int(1, 1000).optional(),
    ...resources,
    backoffLimit: int(0, 20).default(2),
    activeDeadlineSeconds: int(60, 30 * 86400).default(86400),
    model: trainingModelSchema.optional(),
    /** S3 prefix the run's own IAM role may read (stacks/s3Access.ts). */
    data: checkedString(s3UriProblem).optional(),
    /** S3 prefix the run's own IAM role may write. */
    output: checkedString(s3UriProblem).optional(),
    // How long the entry runs a month: expectedHours, or runsPerMonth x hoursPerRun (crossChecks.ts).
    expectedHours: hours(HOURS_PER_MONTH).optional(),
    runsPerMonth: int(1, 1000).optional(),
    hoursPerRun: hours(30 * 24).optional(),
});

/** One copy of an S3 prefix into the training-data claim, by a Job with its own read-only role. */
export const dataSyncSchema = z.strictObject({
    name: dnsLabel(40),
    source: checkedString(s3UriProblem),
    /** Folder inside the training-data claim, relative to its root. */
    path: checkedString(claimPathProblem),
});

/** Alert thresholds of the platform's PrometheusRule (components/observability.ts); defaults in ALERT_DEFAULTS. */
export const alertsSchema = z.strictObject({
    gpuIdleHours: int(1, 24 * 30).default(4),
    gpuIdleUtilizationPercent: int(1, 50).default(5),
    gpuMemoryFullPercent: int(50, 100).default(95),
    gpuPodPendingMinutes: int(1, 24 * 60).default(15),
    hpaAtMaxMinutes: int(1, 24 * 60).default(30),
});
export const ALERT_DEFAULTS = alertsSchema.parse({});

/** A team's share of a GPU pool for Kueue's nominal quota: a fraction in (0, 1]. */
const share = z.number().superRefine((n, ctx) => {
    if (!Number.isFinite(n) || n <= 0 || n > 1) {
        ctx.addIssue({ code: "custom", message: "must be a share in (0, 1]", input: n, params: { allowed: "a fraction of the pool such as 0.5" } });
    }
});

/** `<app team>: { <GPU pool>: <share> }`: which team's ClusterQueue gets which share of which pool (capacity/queues.ts). */
export const queuesSchema = z.record(dnsLabel(40), z.record(dnsLabel(30), share));

/** How `pool: auto` places models: the share of each GPU's usable memory left free. */
export const placementSchema = z.strictObject({
    gpuMemoryHeadroom: z.number().superRefine((n, ctx) => {
        const { min, max } = GPU_MEMORY_HEADROOM_RANGE;
        if (!(n >= min && n <= max)) {
            ctx.addIssue({ code: "custom", message: `must be a fraction from ${min} to ${max}`, input: n, params: { allowed: `${min}..${max} (default ${DEFAULT_GPU_MEMORY_HEADROOM})` } });
        }
    }).default(DEFAULT_GPU_MEMORY_HEADROOM),
});

/** Every top-level key under the `ml-platform` namespace, with its schema. */
export const configKeys = {
    /** The environment's name (tags, reports); any DNS label; defaults to the stack name. */
    environment: dnsLabel(40).optional(),
    /** dev-like or prod-like protections (stacks/tiers.ts); taken from environment when that is dev or prod. */
    tier: z.enum(TIERS).optional(),
    cluster: clusterSchema,
    gpuTaint: gpuTaintSchema.default({ ...DEFAULT_GPU_TAINT }),
    nodePools: z.record(dnsLabel(30), nodePoolSchema),
    storage: storageSchema.default({
        trainingDataSize: "1Ti",
        checkpointsSize: "500Gi",
        modelCacheSize: "200Gi",
        uid: 1000,
        gid: 1000,
        throughputMode: "elastic",
    }),
    serving: z.array(servingSchema).default([]),
    training: z.array(trainingSchema).default([]),
    dataSync: z.array(dataSyncSchema).default([]),
    alerts: alertsSchema.default(ALERT_DEFAULTS),
    pipelines: pipelinesSchemaOf({ image, cpu, memory, int, dnsLabel }),
    placement: placementSchema.default({ gpuMemoryHeadroom: DEFAULT_GPU_MEMORY_HEADROOM }),
    mlflowTrackingUri: z.string().min(1),
    /** Where GPU pools may buy Spot: never, for training only, or for serving too (default: prod training, dev any). */
    gpuSpot: z.enum(["never", "training", "any"]).optional(),
    /** Who provisions GPU nodes: Cluster Autoscaler scaling managed node groups, or Karpenter NodePools. */
    nodeProvisioner: z.enum(["cluster-autoscaler", "karpenter"]).default("cluster-autoscaler"),
    queues: queuesSchema.default({}),
} as const;

export const REQUIRED_KEYS = ["cluster", "nodePools"] as const;
/** Keys whose value must be a Pulumi secret (`pulumi config set --secret`). */
export const SECRET_KEYS = ["mlflowTrackingUri"] as const;

export type ClusterConfig = z.infer<typeof clusterSchema>;
export type AppTeamConfig = z.infer<typeof appTeamSchema>;
export type NodePoolConfig = z.infer<typeof nodePoolSchema>;
export type StorageConfig = z.infer<typeof storageSchema>;
export type ServingConfig = z.infer<typeof servingSchema>;
export type TrainingConfig = z.infer<typeof trainingSchema>;
export type DataSyncConfig = z.infer<typeof dataSyncSchema>;
export type AlertThresholds = z.infer<typeof alertsSchema>;
export type PipelineConfig = z.infer<typeof configKeys.pipelines>[number];
export type PlacementConfig = z.infer<typeof placementSchema>;
