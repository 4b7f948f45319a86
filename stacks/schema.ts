/**
 * The shape of every `ml-platform:*` config key, as zod schemas. Structural rules (types, ranges,
 * unknown keys, the syntax Kubernetes, EKS and IAM accept) live here; rules that relate keys to each
 * other live in crossChecks.ts, and placing workloads on pools in placement.ts.
 */
import { z } from "zod";
import { KNOWN_INSTANCE_TYPES, INSTANCE_CATALOG } from "../capacity/catalog";
import { architectureProblems } from "../capacity/gpu-memory";
import { labelValueProblem, NameProblem, qualifiedNameProblem } from "../capacity/labels";
import { DEFAULT_GPU_TAINT } from "../capacity/pools";
import { isCpuQuantity, isMemoryQuantity } from "../capacity/quantity";
import { claimPathProblem, s3UriProblem } from "./s3Uri";
import { TIERS } from "./tiers";
// The supported minors are those every pinned component (Cluster Autoscaler) has a build for.
import { SUPPORTED_KUBERNETES_VERSIONS } from "../facts/versions";

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
    })
    .superRefine(checkArchitecture, architectureReadable);

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
    image,
    pool: z.string().min(1),
    gpus: int(1, 8).optional(),
    ...resources,
    replicas: z.strictObject({ min: int(1, 1000), max: int(1, 1000) }),
    modelUri: checkedString(s3UriProblem),
    modelLoadSeconds: int(1, 3600),
    model: servingModelSchema.optional(),
    autoscaling: z
        .strictObject({
            gpuUtilizationTarget: int(1, 100).default(70),
            queueDepthTarget: int(1, 100000).default(10),
        })
        .default({ gpuUtilizationTarget: 70, queueDepthTarget: 10 }),
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
});

/** One copy of an S3 prefix into the training-data claim, by a Job with its own read-only role. */
export const dataSyncSchema = z.strictObject({
    name: dnsLabel(40),
    source: checkedString(s3UriProblem),
    /** Folder inside the training-data claim, relative to its root. */
    path: checkedString(claimPathProblem),
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
    mlflowTrackingUri: z.string().min(1),
    /** Where GPU pools may buy Spot: never, for training only, or for serving too (default: prod training, dev any). */
    gpuSpot: z.enum(["never", "training", "any"]).optional(),
    /** Who provisions GPU nodes: Cluster Autoscaler scaling managed node groups, or Karpenter NodePools. */
    nodeProvisioner: z.enum(["cluster-autoscaler", "karpenter"]).default("cluster-autoscaler"),
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
