import { strict as assert } from "node:assert";
import { policyLimitsOf } from "../stacks/policyLimits";
import { buildStackSpec, RawConfig } from "../stacks/validate";
import { problemsOf, rawConfigOf, withKey } from "./helpers";


const dev = rawConfigOf("dev");
const prod = rawConfigOf("prod");

interface Case {
    /** The key the problem must name, as the message spells it. */
    key: string;
    /** What is wrong with it, for the test's title. */
    wrong: string;
    raw: RawConfig;
    /** Every fragment must appear in one problem line. */
    expect: (string | RegExp)[];
}

const pool = (name: string, edit: (p: any) => void) => (pools: any) => {
    edit(pools[name]);
    return pools;
};
const serving0 = (edit: (s: any) => void) => (list: any[]) => {
    edit(list[0]);
    return list;
};
const training0 = (edit: (s: any) => void) => (list: any[]) => {
    edit(list[0]);
    return list;
};

const cases: Case[] = [
    { key: "ml-platform:nodePools.a10g.maxSize", wrong: "maxSize below minSize", raw: withKey(dev, "nodePools", pool("a10g", (p) => ((p.minSize = 2), (p.maxSize = 1)))), expect: ["ml-platform:nodePools.a10g.maxSize must be >= minSize (2), got 1"] },
    { key: "ml-platform:nodePools.a100.instanceType", wrong: "unknown instance type names the known ones", raw: withKey(dev, "nodePools", pool("a100", (p) => (p.instanceType = "p4d.48xlarge"))), expect: ["ml-platform:nodePools.a100.instanceType", "p4d.24xlarge", "g5.xlarge", '"p4d.48xlarge"'] },
    { key: "ml-platform:nodePools.a10g", wrong: "unknown key inside a pool", raw: withKey(dev, "nodePools", pool("a10g", (p) => (p.gpuCount = 4))), expect: ["ml-platform:nodePools.a10g", 'unknown key(s) "gpuCount"'] },
    { key: "ml-platform:nodepools", wrong: "unknown top-level key", raw: { ...dev, values: { ...dev.values, nodepools: "{}" } }, expect: ["ml-platform:nodepools is not a known config key", "ml-platform:nodePools"] },
    { key: "ml-platform:nodePools.a10g.minSize", wrong: "minSize negative", raw: withKey(dev, "nodePools", pool("a10g", (p) => (p.minSize = -1))), expect: ["ml-platform:nodePools.a10g.minSize must be >= 0, got -1"] },
    { key: "ml-platform:nodePools.a10g.maxSize", wrong: "fractional maxSize", raw: withKey(dev, "nodePools", pool("a10g", (p) => (p.maxSize = 2.5))), expect: ["ml-platform:nodePools.a10g.maxSize must be a whole number, got 2.5"] },
    { key: "ml-platform:nodePools.a10g.maxSize", wrong: "maxSize as a string", raw: withKey(dev, "nodePools", pool("a10g", (p) => (p.maxSize = "4"))), expect: ["ml-platform:nodePools.a10g.maxSize must be a number", '"4"'] },
    { key: "ml-platform:nodePools.system.desiredSize", wrong: "desiredSize outside min..max", raw: withKey(dev, "nodePools", pool("system", (p) => (p.desiredSize = 9))), expect: ["ml-platform:nodePools.system.desiredSize must be between minSize (2) and maxSize (3), got 9"] },
    { key: "ml-platform:nodePools.a10g.capacityType", wrong: "bad capacity type", raw: withKey(dev, "nodePools", pool("a10g", (p) => (p.capacityType = "spot"))), expect: ["ml-platform:nodePools.a10g.capacityType must be one of", '"SPOT"', '"spot"'] },
    { key: "ml-platform:nodePools.GPU_Pool", wrong: "pool name not a DNS label", raw: withKey(dev, "nodePools", (p) => ({ ...p, GPU_Pool: p.a10g })), expect: ["ml-platform:nodePools.GPU_Pool", "DNS label"] },
    { key: "ml-platform:nodePools", wrong: "no CPU pool for system pods", raw: withKey(dev, "nodePools", (p) => ({ a10g: p.a10g, a100: p.a100 })), expect: ["ml-platform:nodePools needs a CPU pool with minSize >= 1"] },
    { key: "ml-platform:nodePools", wrong: "no pools at all", raw: withKey(dev, "nodePools", () => ({})), expect: ["ml-platform:nodePools must define at least one pool"] },
    { key: "ml-platform:cluster", wrong: "missing cluster", raw: withKey(dev, "cluster", () => undefined), expect: ["ml-platform:cluster is required"] },
    { key: "aws:region", wrong: "missing region", raw: { ...dev, region: undefined }, expect: ["aws:region is required"] },
    { key: "ml-platform:tier", wrong: "environment staging without a tier", raw: { ...dev, values: { ...dev.values, environment: "staging" } }, expect: ['ml-platform:tier is required when ml-platform:environment is not dev or prod (got "staging"); allowed: "dev", "prod"'] },
    { key: "ml-platform:cluster.availabilityZones", wrong: "one availability zone", raw: withKey(dev, "cluster", (c) => ((c.availabilityZones = ["us-east-1a"]), c)), expect: ["ml-platform:cluster.availabilityZones must list at least 2"] },
    { key: "ml-platform:cluster.availabilityZones", wrong: "repeated availability zone", raw: withKey(dev, "cluster", (c) => ((c.availabilityZones = ["us-east-1a", "us-east-1a"]), c)), expect: ["ml-platform:cluster.availabilityZones must not repeat"] },
    { key: "ml-platform:cluster.availabilityZones[1]", wrong: "malformed AZ", raw: withKey(dev, "cluster", (c) => ((c.availabilityZones = ["us-east-1a", "east"]), c)), expect: ["ml-platform:cluster.availabilityZones[1] must be an availability zone name", '"east"'] },
    { key: "ml-platform:cluster.vpcCidr", wrong: "malformed VPC CIDR", raw: withKey(dev, "cluster", (c) => ((c.vpcCidr = "10.0.0.0/33"), c)), expect: ["ml-platform:cluster.vpcCidr must be an IPv4 CIDR", '"10.0.0.0/33"'] },
    { key: "ml-platform:cluster.endpoint.publicAccessCidrs[0]", wrong: "malformed public access CIDR", raw: withKey(dev, "cluster", (c) => ((c.endpoint.publicAccessCidrs = ["0.0.0.0"]), c)), expect: ["ml-platform:cluster.endpoint.publicAccessCidrs[0] must be an IPv4 CIDR"] },
    { key: "ml-platform:cluster.kubernetesVersion", wrong: "unsupported Kubernetes version", raw: withKey(dev, "cluster", (c) => ((c.kubernetesVersion = "1.21"), c)), expect: ["ml-platform:cluster.kubernetesVersion", '"1.21"'] },
    { key: "ml-platform:cluster.kubernetesVersion", wrong: "Kubernetes version as a number", raw: withKey(dev, "cluster", (c) => ((c.kubernetesVersion = 1.34), c)), expect: [`ml-platform:cluster.kubernetesVersion must be one of "1.34", "1.35", got 1.34`] },
    { key: "ml-platform:cluster.name", wrong: "cluster name with capitals", raw: withKey(dev, "cluster", (c) => ((c.name = "ML-Dev"), c)), expect: ["ml-platform:cluster.name must be a DNS label", '"ML-Dev"'] },
    { key: "ml-platform:cluster.admins[0]", wrong: "admin that is not an IAM ARN", raw: withKey(dev, "cluster", (c) => ((c.admins = ["alice"]), c)), expect: ["ml-platform:cluster.admins[0] must be an IAM role or user ARN", '"alice"'] },
    { key: "ml-platform:gpuTaint.effect", wrong: "bad taint effect", raw: { ...dev, values: { ...dev.values, gpuTaint: JSON.stringify({ key: "dedicated", value: "ml", effect: "Evict" }) } }, expect: ["ml-platform:gpuTaint.effect must be one of", '"Evict"'] },
    { key: "ml-platform:serving[0].image", wrong: "image tagged latest", raw: withKey(dev, "serving", serving0((s) => (s.image = "registry/server:latest"))), expect: ["ml-platform:serving[0].image must not use the mutable tag :latest"] },
    { key: "ml-platform:serving[0].image", wrong: "image without a tag", raw: withKey(dev, "serving", serving0((s) => (s.image = "registry/server"))), expect: ["ml-platform:serving[0].image must be an image with a pinned tag or digest"] },
    { key: "ml-platform:serving[0].pool", wrong: "serving on a missing pool", raw: withKey(dev, "serving", serving0((s) => (s.pool = "h100"))), expect: ['ml-platform:serving[0].pool names no node pool: got "h100"', "a10g"] },
    { key: "ml-platform:serving[0].pool", wrong: "serving on the CPU pool", raw: withKey(dev, "serving", serving0((s) => (s.pool = "system"))), expect: ['ml-platform:serving[0].pool "system" is a CPU pool'] },
    { key: "ml-platform:serving[0].gpus", wrong: "more GPUs than the pool's nodes have", raw: withKey(dev, "serving", serving0((s) => (s.gpus = 4))), expect: ["ml-platform:serving[0].gpus must be <= 1 (GPUs per g5.xlarge node", "got 4"] },
    { key: "ml-platform:serving[0].replicas.max", wrong: "replicas max below min", raw: withKey(dev, "serving", serving0((s) => (s.replicas = { min: 3, max: 2 }))), expect: ["ml-platform:serving[0].replicas.max must be above replicas.min (3), or the autoscaler can never scale out (policy/config/dev.json, serving-hpa-bounds), got 2; allowed: an integer > 3"] },
    { key: "ml-platform:serving[0].replicas.max", wrong: "replicas {min: 2, max: 2}: serving-hpa-bounds' judgement at validation (issue 18)", raw: withKey(dev, "serving", serving0((s) => (s.replicas = { min: 2, max: 2 }))), expect: ["ml-platform:serving[0].replicas.max must be above replicas.min (2)", "serving-hpa-bounds", "got 2; allowed: an integer > 2"] },
    { key: "ml-platform:nodePools.a10g.instanceType", wrong: "g5.12xlarge in dev: instance-types-allowed's judgement at validation (issue 18)", raw: withKey(dev, "nodePools", pool("a10g", (p) => (p.instanceType = "g5.12xlarge"))), expect: ['ml-platform:nodePools.a10g.instanceType is not allowed by policy/config/dev.json (instance-types-allowed), got "g5.12xlarge"; allowed: m6i.large'] },
    { key: "ml-platform:serving[0].replicas.min", wrong: "prod serving with one replica", raw: withKey(prod, "serving", serving0((s) => (s.replicas = { min: 1, max: 4 }))), expect: ["ml-platform:serving[0].replicas.min must be >= 2 in prod"] },
    { key: "ml-platform:serving[0].modelUri", wrong: "model URI that is not S3", raw: withKey(dev, "serving", serving0((s) => (s.modelUri = "https://models.example.com/x"))), expect: ["ml-platform:serving[0].modelUri must be an S3 URI"] },
    { key: "ml-platform:serving[0].memory", wrong: "bad memory quantity", raw: withKey(dev, "serving", serving0((s) => (s.memory = "8GB"))), expect: ["ml-platform:serving[0].memory must be a memory quantity", '"8GB"'] },
    { key: "ml-platform:serving[0].cpu", wrong: "bad CPU quantity", raw: withKey(dev, "serving", serving0((s) => (s.cpu = "two"))), expect: ["ml-platform:serving[0].cpu must be a CPU quantity"] },
    { key: "ml-platform:serving[0].memoryLimit", wrong: "memory limit below request", raw: withKey(dev, "serving", serving0((s) => (s.memoryLimit = "4Gi"))), expect: ["ml-platform:serving[0].memoryLimit must be >= memory (8Gi), got 4Gi"] },
    { key: "ml-platform:serving[0].modelLoadSeconds", wrong: "model load time zero", raw: withKey(dev, "serving", serving0((s) => (s.modelLoadSeconds = 0))), expect: ["ml-platform:serving[0].modelLoadSeconds must be >= 1, got 0"] },
    { key: "ml-platform:serving[0]", wrong: "unknown key in a serving entry", raw: withKey(dev, "serving", serving0((s) => (s.minReplicas = 2))), expect: ["ml-platform:serving[0]", 'unknown key(s) "minReplicas"'] },
    { key: "ml-platform:training[0].name", wrong: "duplicate workload names", raw: withKey(dev, "training", training0((t) => (t.name = "recommendation-model"))), expect: ['ml-platform:training[0].name must be unique across serving and training, got "recommendation-model"'] },
    { key: "ml-platform:training[0].workers", wrong: "Job with workers", raw: withKey(dev, "training", training0((t) => (t.workers = 2))), expect: ["ml-platform:training[0].workers is only for kind PyTorchJob"] },
    { key: "ml-platform:training[0].workers", wrong: "PyTorchJob without workers", raw: withKey(dev, "training", training0((t) => (t.kind = "PyTorchJob"))), expect: ["ml-platform:training[0].workers is required for kind PyTorchJob"] },
    { key: "ml-platform:training[0].kind", wrong: "unknown training kind", raw: withKey(dev, "training", training0((t) => (t.kind = "TFJob"))), expect: ["ml-platform:training[0].kind must be one of", '"TFJob"'] },
    { key: "ml-platform:training[0].pool", wrong: "pool auto without a model", raw: withKey(dev, "training", training0((t) => (t.pool = "auto"))), expect: ['ml-platform:training[0].pool is "auto" but no model is given'] },
    { key: "ml-platform:serving[0]", wrong: "neither gpus nor model", raw: withKey(dev, "serving", serving0((s) => delete s.gpus)), expect: ["ml-platform:serving[0] needs gpus or a model block"] },
    {
        key: "ml-platform:serving[0]", wrong: "model too big for the chosen pool",
        raw: withKey(dev, "serving", serving0((s) => (s.model = { parameters: 13e9, layers: 40, hiddenSize: 5120, attentionHeads: 40, precision: "bfloat16", sequenceLength: 4096 }))),
        expect: ["ml-platform:serving[0]: the model needs", 'pool "a10g" (g5.xlarge)', "22888 MiB"],
    },
    { key: "ml-platform:mlflowTrackingUri", wrong: "tracking URI in plain text", raw: { ...dev, secretKeys: [] }, expect: ["ml-platform:mlflowTrackingUri must be a secret", "pulumi config set --secret"] },
    { key: "ml-platform:mlflowTrackingUri", wrong: "workloads without a tracking URI", raw: (() => { const v = { ...dev.values }; delete v.mlflowTrackingUri; return { ...dev, values: v }; })(), expect: ["ml-platform:mlflowTrackingUri is required when workloads are declared"] },
    { key: "ml-platform:storage.checkpointsSize", wrong: "storage size not a quantity", raw: withKey(dev, "storage", (s) => ((s.checkpointsSize = "lots"), s)), expect: ["ml-platform:storage.checkpointsSize must be a memory quantity", '"lots"'] },
    { key: "ml-platform:storage.uid", wrong: "storage uid zero (root)", raw: withKey(dev, "storage", (s) => ((s.uid = 0), s)), expect: ["ml-platform:storage.uid must be >= 1, got 0"] },
    { key: "ml-platform:training[0].activeDeadlineSeconds", wrong: "activeDeadlineSeconds too short", raw: withKey(dev, "training", training0((t) => (t.activeDeadlineSeconds = 5))), expect: ["ml-platform:training[0].activeDeadlineSeconds must be >= 60, got 5"] },
    // Security: access, the API endpoint, secrets.
    {
        key: "ml-platform:cluster.appTeams[0].principalArn", wrong: "app team ARN that is not an IAM role",
        raw: withKey(prod, "cluster", (c) => ((c.appTeams[0].principalArn = "arn:aws:iam::123456789012:group/recsys"), c)),
        expect: ["ml-platform:cluster.appTeams[0].principalArn must be an IAM role or user ARN", '"arn:aws:iam::123456789012:group/recsys"'],
    },
    {
        key: "ml-platform:cluster.appTeams[1].namespaces[1]", wrong: "app team namespace the platform does not have",
        raw: withKey(prod, "cluster", (c) => ((c.appTeams[1].namespaces = ["ml-serving", "kube-system"]), c)),
        expect: ['ml-platform:cluster.appTeams[1].namespaces[1] names no workload namespace of the platform: got "kube-system"', "ml-serving, ml-training"],
    },
    { key: "ml-platform:cluster.appTeams[0].namespaces", wrong: "app team without namespaces", raw: withKey(prod, "cluster", (c) => ((c.appTeams[0].namespaces = []), c)), expect: ["ml-platform:cluster.appTeams[0].namespaces must list at least one namespace"] },
    { key: "ml-platform:cluster.appTeams[0].namespaces", wrong: "app team repeating a namespace", raw: withKey(prod, "cluster", (c) => ((c.appTeams[0].namespaces = ["ml-serving", "ml-serving"]), c)), expect: ["ml-platform:cluster.appTeams[0].namespaces must not repeat a namespace"] },
    { key: "ml-platform:cluster.appTeams[0].name", wrong: "app team name not a DNS label", raw: withKey(prod, "cluster", (c) => ((c.appTeams[0].name = "RecSys"), c)), expect: ["ml-platform:cluster.appTeams[0].name must be a DNS label", '"RecSys"'] },
    { key: "ml-platform:cluster.appTeams[0]", wrong: "unknown key in an app team", raw: withKey(prod, "cluster", (c) => ((c.appTeams[0].role = "admin"), c)), expect: ["ml-platform:cluster.appTeams[0]", 'unknown key(s) "role"'] },
    { key: "ml-platform:cluster.appTeams[1].name", wrong: "two app teams with one name", raw: withKey(prod, "cluster", (c) => ((c.appTeams[1].name = "recsys"), c)), expect: ['ml-platform:cluster.appTeams[1].name must be unique, got "recsys"'] },
    {
        key: "ml-platform:cluster.appTeams[0].principalArn", wrong: "app team principal that is also an admin",
        raw: withKey(prod, "cluster", (c) => ((c.appTeams[0].principalArn = c.admins[0]), c)),
        expect: ["ml-platform:cluster.appTeams[0].principalArn repeats the IAM principal arn:aws:iam::123456789012:role/platform-admins (also at ml-platform:cluster.admins[0])", "one access entry per principal"],
    },
    { key: "ml-platform:cluster.admins[1]", wrong: "the same admin twice", raw: withKey(prod, "cluster", (c) => ((c.admins = [c.admins[0], c.admins[0]]), c)), expect: ["ml-platform:cluster.admins[1] repeats the IAM principal"] },
    {
        key: "ml-platform:cluster.endpoint.publicAccessCidrs", wrong: "prod API endpoint open to 0.0.0.0/0",
        raw: withKey(prod, "cluster", (c) => ((c.endpoint.publicAccessCidrs = ["0.0.0.0/0"]), c)),
        expect: ["ml-platform:cluster.endpoint.publicAccessCidrs opens the tier-prod API endpoint to 0.0.0.0/0"],
    },
    {
        key: "ml-platform:cluster.endpoint.publicAccessCidrs", wrong: "prod public endpoint without CIDRs (EKS opens it to everyone)",
        raw: withKey(prod, "cluster", (c) => ((c.endpoint.publicAccessCidrs = []), c)),
        expect: ["ml-platform:cluster.endpoint.publicAccessCidrs is empty in tier prod, which EKS opens to 0.0.0.0/0"],
    },
    { key: "ml-platform:cluster.endpoint", wrong: "both endpoints off", raw: withKey(dev, "cluster", (c) => ((c.endpoint = { publicAccess: false, privateAccess: false }), c)), expect: ["ml-platform:cluster.endpoint: publicAccess and privateAccess are both false"] },
    {
        key: "ml-platform:cluster.endpoint.publicAccessCidrs", wrong: "public CIDRs with the public endpoint off",
        raw: withKey(dev, "cluster", (c) => ((c.endpoint.publicAccess = false), c)),
        expect: ["ml-platform:cluster.endpoint.publicAccessCidrs is set but publicAccess is false"],
    },
    {
        key: "ml-platform:cluster.endpoint.privateAccess", wrong: "private endpoint off while the public one is limited to CIDRs",
        raw: withKey(dev, "cluster", (c) => ((c.endpoint.privateAccess = false), c)),
        expect: ["ml-platform:cluster.endpoint.privateAccess must be true when the public endpoint is closed or limited to CIDRs"],
    },
    { key: "ml-platform:cluster.endpoint.privateAccess", wrong: "private endpoint off in prod", raw: withKey(prod, "cluster", (c) => ((c.endpoint.privateAccess = false), c)), expect: ["ml-platform:cluster.endpoint.privateAccess must be true in tier prod"] },
    {
        key: "ml-platform:training", wrong: "an AWS access key in plain config",
        raw: withKey(dev, "training", training0((t) => t.args.push("--aws-access-key-id=AKIAABCDEFGHIJKLMNOP"))),
        expect: ["ml-platform:training holds what looks like an AWS access key id in plain text", "pulumi config set --secret"],
    },
    {
        key: "ml-platform:training", wrong: "a password inside a URL in plain config",
        raw: withKey(dev, "training", training0((t) => t.args.push("--db=postgres://ml:hunter2@db.internal/ml"))),
        expect: ["ml-platform:training holds what looks like a URL with a password in plain text"],
    },
    // Values the schema's types allow but that the estimator, the S3 grant or EKS would reject later.
    { key: "ml-platform:serving[1].model.kvHeads", wrong: "does not divide attentionHeads", raw: withKey(prod, "serving", (l) => ((l[1].model.kvHeads = 5), l)), expect: ["must divide model.attentionHeads (32)", "got 5", "allowed: 1, 2, 4, 8, 16, 32"] },
    { key: "ml-platform:serving[1].model.kvHeads", wrong: "more than attentionHeads", raw: withKey(prod, "serving", (l) => ((l[1].model.kvHeads = 64), l)), expect: ["must divide model.attentionHeads (32)", "got 64"] },
    { key: "ml-platform:training[1].model.kvHeads", wrong: "does not divide attentionHeads", raw: withKey(prod, "training", (l) => ((l[1].model.kvHeads = 3), l)), expect: ["must divide model.attentionHeads (32)", "got 3"] },
    {
        key: "ml-platform:serving[1].model.hiddenSize",
        wrong: "not divisible by attentionHeads without headDim",
        raw: withKey(prod, "serving", (l) => ((l[1].model.hiddenSize = 4100), l)),
        expect: ["must be a multiple of model.attentionHeads (32)", "got 4100", "allowed:", "headDim"],
    },
    { key: "ml-platform:training[1].model.hiddenSize", wrong: "not divisible by attentionHeads without headDim", raw: withKey(prod, "training", (l) => ((l[1].model.hiddenSize = 4097), l)), expect: ["got 4097"] },
    { key: "ml-platform:serving[1].model.parameters", wrong: "fractional", raw: withKey(prod, "serving", (l) => ((l[1].model.parameters = 6.5), l)), expect: ["must be a whole number, got 6.5"] },
    { key: "ml-platform:serving[1].model.parameters", wrong: "beyond any model", raw: withKey(prod, "serving", (l) => ((l[1].model.parameters = 1e20), l)), expect: ["must be <= ", "got 100000000000000000000"] },
    { key: "ml-platform:training[1].model.parameters", wrong: "beyond any model", raw: withKey(prod, "training", (l) => ((l[1].model.parameters = 2 ** 60), l)), expect: ["must be <= "] },
    { key: "ml-platform:serving[1].gpus", wrong: "not a tensor-parallel size of the model", raw: withKey(prod, "serving", (l) => ((l[1].pool = "a100"), (l[1].gpus = 3), l)), expect: ["must divide model.attentionHeads", "got 3", "allowed: 1, 2, 4, 8"] },
    { key: "ml-platform:serving[0].modelUri", wrong: "wildcard * in the prefix", raw: withKey(dev, "serving", serving0((s) => (s.modelUri = "s3://ml-models-dev/recommendation/*/"))), expect: ['got "s3://ml-models-dev/recommendation/*/"', "allowed:", "no wildcards"] },
    { key: "ml-platform:serving[0].modelUri", wrong: "wildcard ? in the prefix", raw: withKey(dev, "serving", serving0((s) => (s.modelUri = "s3://ml-models-dev/recommendation/v?/"))), expect: ['got "s3://ml-models-dev/recommendation/v?/"'] },
    {
        key: "ml-platform:nodePools.gpu-pool-with-a-long-name-30",
        wrong: "node group name <cluster>-<pool> over 63 characters",
        raw: withKey(withKey(dev, "nodePools", (p) => ({ ...p, "gpu-pool-with-a-long-name-30": p.a10g })), "cluster", (c) => ((c.name = "ml-platform-development-cluster-us-east1"), c)),
        expect: ['"ml-platform-development-cluster-us-east1-gpu-pool-with-a-long-name-30"', "69 characters", "at most 63", "ml-platform:cluster.name"],
    },
    { key: "ml-platform:cluster.availabilityZones[2]", wrong: "zone outside aws:region", raw: withKey(prod, "cluster", (c) => ((c.availabilityZones = ["us-east-1a", "us-east-1b", "us-west-2a"]), c)), expect: ['got "us-west-2a"', "aws:region us-east-1", "allowed: us-east-1a"] },
    { key: "ml-platform:cluster.availabilityZones[0]", wrong: "zone of a region with the same prefix", raw: withKey(dev, "cluster", (c) => ((c.availabilityZones = ["us-east-2a", "us-east-1b"]), c)), expect: ['got "us-east-2a"'] },
    { key: "aws:region", wrong: "not a region name", raw: { ...dev, region: "us-east" }, expect: ['aws:region must be an AWS region name such as us-east-1, got "us-east"'] },
    { key: "ml-platform:gpuTaint.key", wrong: "name part over 63 characters", raw: withKey(dev, "gpuTaint", () => ({ key: "g".repeat(64), value: "ml", effect: "NoSchedule" })), expect: ["at most 63 characters", `got "${"g".repeat(64)}"`] },
    { key: "ml-platform:gpuTaint.key", wrong: "prefix not a DNS subdomain", raw: withKey(dev, "gpuTaint", () => ({ key: "example..com/gpu", value: "ml", effect: "NoSchedule" })), expect: ["DNS subdomain", 'got "example..com/gpu"'] },
    { key: "ml-platform:gpuTaint.key", wrong: "prefix ending in a dash", raw: withKey(dev, "gpuTaint", () => ({ key: "example-/gpu", value: "ml", effect: "NoSchedule" })), expect: ["DNS subdomain", 'got "example-/gpu"'] },
    { key: "ml-platform:gpuTaint.key", wrong: "empty name after the prefix", raw: withKey(dev, "gpuTaint", () => ({ key: "example.com/", value: "ml", effect: "NoSchedule" })), expect: ['got "example.com/"'] },
    {
        key: "ml-platform:gpuTaint.key",
        wrong: "a valid Kubernetes key over the 63 characters EKS takes",
        raw: withKey(dev, "gpuTaint", () => ({ key: `${"p".repeat(52)}.example.com/dedicated`, value: "ml", effect: "NoSchedule" })),
        expect: ["EKS", "at most 63 characters", "74"],
    },
    { key: "ml-platform:gpuTaint.value", wrong: "over 63 characters", raw: withKey(dev, "gpuTaint", () => ({ key: "dedicated", value: "v".repeat(64), effect: "NoSchedule" })), expect: ["at most 63 characters", `got "${"v".repeat(64)}"`] },
    { key: "ml-platform:gpuTaint.value", wrong: "ending in a dot", raw: withKey(dev, "gpuTaint", () => ({ key: "dedicated", value: "ml.", effect: "NoSchedule" })), expect: ["label value", 'got "ml."'] },
];

describe("stack config validation", () => {
    it("accepts the dev and prod stacks", () => {
        assert.deepEqual(problemsOf(dev), []);
        assert.deepEqual(problemsOf(prod), []);
    });

    describe("rejects each invalid config, naming the key and the bad value", () => {
        for (const c of cases) {
            it(`${c.key}: ${c.wrong}`, () => {
                const problems = problemsOf(c.raw);
                assert.ok(problems.length > 0, "expected a ConfigError");
                const named = problems.filter((p) => p.includes(c.key));
                assert.ok(named.length > 0, `no problem names ${c.key}; got:\n  ${problems.join("\n  ")}`);
                const hit = named.find((p) => c.expect.every((f) => (typeof f === "string" ? p.includes(f) : f.test(p))));
                assert.ok(hit, `no problem contains ${JSON.stringify(c.expect.map(String))}; got:\n  ${problems.join("\n  ")}`);
            });
        }
    });

    it("accepts an empty GPU taint value, as Kubernetes and EKS do", () => {
        const taint = { key: "dedicated", value: "", effect: "NoSchedule" };
        assert.deepEqual(problemsOf({ ...withKey(dev, "gpuTaint", () => taint), policyLimits: policyLimitsOf({ "gpu-pool-tainted": { gpuTaint: taint }, "serving-hpa-bounds": { environment: "dev" } }, "a policy config pinning it") }), []);
    });

    it("accepts a prefixed GPU taint key of exactly 63 characters", () => {
        const key = `${"p".repeat(51)}.example/gpu`;
        assert.equal(key.length, 63);
        const taint = { key, value: "ml", effect: "NoSchedule" };
        assert.deepEqual(problemsOf({ ...withKey(dev, "gpuTaint", () => taint), policyLimits: policyLimitsOf({ "gpu-pool-tainted": { gpuTaint: taint }, "serving-hpa-bounds": { environment: "dev" } }, "a policy config pinning it") }), []);
    });

    it("accepts a node group name of exactly 63 characters", () => {
        const raw = withKey(dev, "cluster", (c) => ((c.name = "c".repeat(32)), c));
        const long = withKey(raw, "nodePools", (p) => ({ ...p, ["p".repeat(30)]: p.a10g }));
        assert.deepEqual(problemsOf(long), []);
    });

    it("reports every crash-prone model value at once, beside the other problems", () => {
        const raw = withKey(
            withKey(prod, "serving", (l) => ((l[1].model.kvHeads = 5), (l[1].modelUri = "s3://ml-models-prod/llm/*"), l)),
            "training",
            (l) => ((l[1].model.hiddenSize = 4097), (l[1].model.parameters = 0.5), l),
        );
        const problems = problemsOf(raw);
        for (const key of ["serving[1].model.kvHeads", "serving[1].modelUri", "training[1].model.hiddenSize", "training[1].model.parameters"]) {
            assert.equal(problems.filter((p) => p.startsWith(`ml-platform:${key} `)).length, 1, `${key}:\n  ${problems.join("\n  ")}`);
        }
    });

    it("checks the attention fields' relations only once each field is valid", () => {
        const problems = problemsOf(withKey(prod, "serving", (l) => ((l[1].model.attentionHeads = 0), l)));
        assert.deepEqual(problems.filter((p) => p.includes("serving[1].model")), ["ml-platform:serving[1].model.attentionHeads must be >= 1, got 0"]);
    });

    it("never echoes a credential or a secret's value in a message", () => {
        const leaky = withKey(dev, "training", training0((t) => t.args.push("--aws-access-key-id=AKIAABCDEFGHIJKLMNOP")));
        const problems = problemsOf(leaky);
        assert.ok(problems.length > 0, "the plain-text key must be reported");
        assert.deepEqual(problems.filter((p) => p.includes("AKIAABCDEFGHIJKLMNOP")), []);
        const empty = { ...dev, values: { ...dev.values, mlflowTrackingUri: "" } };
        assert.ok(problemsOf(empty).includes("ml-platform:mlflowTrackingUri is invalid (Too small: expected string to have >=1 characters); the value is a secret and is not shown"));
    });

    it("reports every problem at once, not only the first", () => {
        const raw = withKey(withKey(dev, "nodePools", pool("a10g", (p) => ((p.minSize = 3), (p.maxSize = 1)))), "serving", serving0((s) => (s.modelUri = "ftp://x")));
        const problems = problemsOf(raw);
        assert.equal(problems.filter((p) => p.includes("ml-platform:nodePools.a10g.maxSize")).length, 1, problems.join("\n"));
        assert.equal(problems.filter((p) => p.includes("ml-platform:serving[0].modelUri")).length, 1, problems.join("\n"));
    });

    it("derives the GPU facts of each pool from the catalog", () => {
        const spec = buildStackSpec(prod);
        const a100 = spec.nodePools.find((p) => p.name === "a100")!;
        assert.equal(a100.gpu?.count, 8);
        assert.equal(a100.gpu?.memoryMiB, 40960);
        assert.equal(spec.nodePools.find((p) => p.name === "system")!.gpu, undefined);
    });

    it("sizes a `pool: auto` workload from its model onto the A10G pool", () => {
        const spec = buildStackSpec(prod);
        const llm = spec.serving.find((s) => s.name === "llm-chat-7b")!;
        assert.equal(llm.pool, "a10g");
        assert.equal(llm.gpus, 1);
        assert.ok(llm.gpuMemoryEstimateBytes! <= 22888 * 2 ** 20);
    });

    it("sends a model that no A10G holds to the A100 pool", () => {
        const raw = withKey(prod, "serving", (list: any[]) => {
            list[1].model = { parameters: 34e9, layers: 48, hiddenSize: 8192, attentionHeads: 64, kvHeads: 8, precision: "bfloat16", sequenceLength: 4096 };
            // 4 A100s per pod within the 10% headroom: three pods beside the 16 GPUs of llm-distributed fit the pool's 4 nodes.
            list[1].replicas = { min: 2, max: 3 };
            return list;
        });
        const spec = buildStackSpec(raw);
        assert.equal(spec.serving[1].pool, "a100");
        assert.equal(spec.serving[1].gpus, 4);
    });
});
