/**
 * Mutation test of the policy pack: from the clean prod plan, one single-property mutation per rule
 * (plus two on the PyTorchJob custom resource) must make exactly the intended rule fire. Also the gate
 * on both stacks: zero mandatory violations.
 */
import { strict as assert } from "node:assert";
import { GPU_RESOURCE } from "../capacity/pools";
import { policyConfigFile, PolicyPackConfig, PolicyViolation, readPolicyConfig, runPolicies, runPolicyGate } from "../plan/policy";
import { RecordedResource } from "../plan/recorder";
import { allPolicies } from "../policy/rules";
import { platformRun } from "./fixtures";

type Obj = Record<string, any>;

interface Mutation {
    rule: string;
    change: string;
    apply(resources: RecordedResource[]): void;
}

function pick(resources: RecordedResource[], match: (r: RecordedResource) => boolean, what: string): Obj {
    const found = resources.filter(match);
    assert.equal(found.length, 1, `the prod plan has ${found.length} ${what}; the mutation needs exactly one`);
    return found[0].inputs as Obj;
}

const k8s = (resources: RecordedResource[], kind: string, name: string) =>
    pick(resources, (r) => r.type.startsWith("kubernetes:") && r.type.endsWith(`:${kind}`) && (r.inputs.metadata as Obj | undefined)?.name === name, `${kind} ${name}`);
const pool = (resources: RecordedResource[], name: string) =>
    pick(resources, (r) => r.type === "eks:index:ManagedNodeGroup" && (r.inputs.labels as Obj | undefined)?.["node-pool"] === name, `node group ${name}`);
const ofType = (resources: RecordedResource[], type: string, nameEnd: string) => pick(resources, (r) => r.type === type && r.name.endsWith(nameEnd), `${type} *${nameEnd}`);

const SERVING = "recommendation-model";
const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const server = (rs: RecordedResource[]) => k8s(rs, "Deployment", SERVING).spec.template.spec.containers.find((c: Obj) => c.name === "model-server");
const podOf = (rs: RecordedResource[], kind: string, name: string) => k8s(rs, kind, name).spec.template.spec;
const worker = (rs: RecordedResource[]) => k8s(rs, "PyTorchJob", "llm-distributed").spec.pytorchReplicaSpecs.Worker.template.spec.containers[0];

const MUTATIONS: Mutation[] = [
    { rule: "gpu-request-equals-limit", change: "serving GPU limit 2, request 1", apply: (rs) => (server(rs).resources.limits[GPU_RESOURCE] = "2") },
    { rule: "gpu-request-equals-limit", change: "PyTorchJob worker GPU limit 4, request 8", apply: (rs) => (worker(rs).resources.limits[GPU_RESOURCE] = "4") },
    { rule: "gpu-pool-tainted", change: "a10g node group: taints removed", apply: (rs) => (pool(rs, "a10g").taints = []) },
    { rule: "gpu-pool-labels-match-catalog", change: "a100 node group: gpu-count 4 (p4d has 8)", apply: (rs) => (pool(rs, "a100").labels["gpu-count"] = "4") },
    { rule: "gpu-pool-nvidia-ami", change: "a10g node group: amiType AL2023_x86_64_STANDARD", apply: (rs) => (pool(rs, "a10g").amiType = "AL2023_x86_64_STANDARD") },
    {
        rule: "gpu-toleration-requires-gpu-request",
        change: "training Job: resources without nvidia.com/gpu (toleration kept)",
        apply: (rs) => {
            const c = podOf(rs, "Job", "bert-finetune").containers[0];
            const cpuMemory = (q: Obj) => ({ cpu: q.cpu, memory: q.memory });
            c.resources = { requests: cpuMemory(c.resources.requests), limits: cpuMemory(c.resources.limits) };
        },
    },
    // Pointing it at the system pool would also (rightly) make it unschedulable; dropping the selector leaves
    // it schedulable on some GPU pool, but not on one it chose.
    { rule: "gpu-pod-targets-gpu-pool", change: "serving nodeSelector removed", apply: (rs) => delete podOf(rs, "Deployment", SERVING).nodeSelector },
    {
        rule: "workloads-schedulable",
        change: "PyTorchJob worker memory 2000Gi (a p4d.24xlarge allocates about 1057Gi)",
        apply: (rs) => {
            const resources = worker(rs).resources;
            resources.requests.memory = "2000Gi";
            resources.limits.memory = "2000Gi";
        },
    },
    // The reachable maximum counts every pool at maxSize: two more p4d.24xlarge an app team can reach.
    { rule: "monthly-budget", change: "a100 node group maxSize 6 (two more p4d.24xlarge reachable)", apply: (rs) => (pool(rs, "a100").scalingConfig.maxSize = 6) },
    {
        rule: "tolerations-valid",
        change: "serving toleration loses its key (value and effect kept: the scheduler would still match it)",
        apply: (rs) => delete podOf(rs, "Deployment", SERVING).tolerations[0].key,
    },
    { rule: "gpu-daemonsets-reach-gpu-pools", change: "device plugin tolerations removed", apply: (rs) => (podOf(rs, "DaemonSet", "nvidia-device-plugin").tolerations = []) },
    // Cheaper than the type it replaces, so the budget does not fire too (g5.24xlarge would cost more than prod's budget at maxSize).
    { rule: "instance-types-allowed", change: "system node group: m7i.xlarge (allowed in dev, not in prod)", apply: (rs) => (pool(rs, "system").instanceTypes = ["m7i.xlarge"]) },
    { rule: "images-pinned", change: "serving image tagged :latest", apply: (rs) => (server(rs).image = server(rs).image.replace(/:[^:/]+$/, ":latest")) },
    { rule: "container-resources-set", change: "serving memory limit removed", apply: (rs) => delete server(rs).resources.limits.memory },
    { rule: "serving-probes-cover-model-load", change: "serving startupProbe removed", apply: (rs) => delete server(rs).startupProbe },
    {
        rule: "serving-pdb-allows-disruption",
        change: "serving PDB maxUnavailable 1 -> minAvailable = HPA minReplicas",
        apply: (rs) => {
            const spec = k8s(rs, "PodDisruptionBudget", SERVING).spec;
            delete spec.maxUnavailable;
            spec.minAvailable = k8s(rs, "HorizontalPodAutoscaler", SERVING).spec.minReplicas;
        },
    },
    { rule: "serving-hpa-bounds", change: "serving HPA minReplicas 1", apply: (rs) => (k8s(rs, "HorizontalPodAutoscaler", SERVING).spec.minReplicas = 1) },
    { rule: "training-jobs-bounded", change: "training Job activeDeadlineSeconds removed", apply: (rs) => delete k8s(rs, "Job", "bert-finetune").spec.activeDeadlineSeconds },
    { rule: "training-jobs-bounded", change: "PyTorchJob runPolicy.backoffLimit removed", apply: (rs) => delete k8s(rs, "PyTorchJob", "llm-distributed").spec.runPolicy.backoffLimit },
    {
        rule: "training-pods-not-evictable",
        change: "PyTorchJob worker safe-to-evict removed",
        apply: (rs) => delete k8s(rs, "PyTorchJob", "llm-distributed").spec.pytorchReplicaSpecs.Worker.template.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"],
    },
    { rule: "training-queued", change: "training Job queue label removed", apply: (rs) => delete k8s(rs, "Job", "bert-finetune").metadata.labels["kueue.x-k8s.io/queue-name"] },
    { rule: "training-queued", change: "PyTorchJob not created suspended", apply: (rs) => (k8s(rs, "PyTorchJob", "llm-distributed").spec.runPolicy.suspend = false) },
    {
        rule: "training-fits-queue",
        change: "the cohort's a100 GPU quota cut to 8 (the PyTorchJob needs 16)",
        apply: (rs) => {
            for (const name of ["training", "llm"]) {
                const a100 = k8s(rs, "ClusterQueue", name).spec.resourceGroups[0].flavors.find((f: Obj) => f.name === "a100");
                a100.resources.find((r: Obj) => r.name === GPU_RESOURCE).nominalQuota = "4";
            }
        },
    },
    { rule: "training-fits-queue", change: "training Job names a LocalQueue that does not exist", apply: (rs) => (k8s(rs, "Job", "bert-finetune").metadata.labels["kueue.x-k8s.io/queue-name"] = "nowhere") },
    { rule: "no-public-load-balancer", change: "serving Service type LoadBalancer", apply: (rs) => (k8s(rs, "Service", SERVING).spec.type = "LoadBalancer") },
    { rule: "no-privileged-containers", change: "serving container privileged", apply: (rs) => (server(rs).securityContext.privileged = true) },
    { rule: "no-privilege-escalation", change: "serving allowPrivilegeEscalation true", apply: (rs) => (server(rs).securityContext.allowPrivilegeEscalation = true) },
    { rule: "capabilities-dropped", change: "serving adds NET_ADMIN", apply: (rs) => (server(rs).securityContext.capabilities.add = ["NET_ADMIN"]) },
    { rule: "host-path-allow-listed", change: "device plugin hostPath /var/run", apply: (rs) => (podOf(rs, "DaemonSet", "nvidia-device-plugin").volumes[0].hostPath.path = "/var/run") },
    { rule: "run-as-non-root", change: "serving runAsUser 0", apply: (rs) => (server(rs).securityContext.runAsUser = 0) },
    {
        rule: "secrets-from-secret-refs",
        change: "serving MLFLOW_TRACKING_URI as a literal value",
        apply: (rs) => {
            const env = server(rs).env as Obj[];
            env[env.findIndex((e) => e.name === "MLFLOW_TRACKING_URI")] = { name: "MLFLOW_TRACKING_URI", value: "https://ml:hunter2@mlflow.internal" };
        },
    },
    { rule: "efs-encrypted", change: "EFS encrypted false", apply: (rs) => (ofType(rs, "aws:efs/fileSystem:FileSystem", "-efs").encrypted = false) },
    { rule: "efs-sg-nfs-from-cluster-only", change: "EFS security group ingress from 0.0.0.0/0", apply: (rs) => (ofType(rs, "aws:ec2/securityGroup:SecurityGroup", "-efs-sg").ingress[0].cidrBlocks = ["0.0.0.0/0"]) },
    { rule: "eks-endpoint-not-public", change: "EKS publicAccessCidrs 0.0.0.0/0", apply: (rs) => (ofType(rs, "eks:index:Cluster", "-eks").publicAccessCidrs = ["0.0.0.0/0"]) },
    { rule: "eks-endpoint-not-public", change: "EKS private endpoint off", apply: (rs) => (ofType(rs, "eks:index:Cluster", "-eks").endpointPrivateAccess = false) },
    { rule: "efs-encrypted", change: "EFS on the AWS-managed key (kmsKeyId removed)", apply: (rs) => delete ofType(rs, "aws:efs/fileSystem:FileSystem", "-efs").kmsKeyId },
    { rule: "eks-secrets-encrypted", change: "EKS encryptionConfigKeyArn removed", apply: (rs) => delete ofType(rs, "eks:index:Cluster", "-eks").encryptionConfigKeyArn },
    { rule: "eks-control-plane-logging", change: "EKS logs only api", apply: (rs) => (ofType(rs, "eks:index:Cluster", "-eks").enabledClusterLogTypes = ["api"]) },
    {
        rule: "eks-access-least-privilege",
        change: "app team llm: AmazonEKSEditPolicy cluster-wide",
        apply: (rs) => (ofType(rs, "eks:index:Cluster", "-eks").accessEntries["team-llm"].accessPolicies.edit.accessScope = { type: "cluster" }),
    },
    { rule: "network-policies-enforced", change: "VPC CNI enableNetworkPolicy false", apply: (rs) => (ofType(rs, "eks:index:Cluster", "-eks").vpcCniOptions.enableNetworkPolicy = false) },
    { rule: "node-imdsv2-hop-limit", change: "a10g launch template: IMDS hop limit 2", apply: (rs) => (ofType(rs, LT, "-a10g-lt").metadataOptions.httpPutResponseHopLimit = 2) },
    { rule: "node-root-volume-encrypted", change: "a100 launch template: root volume unencrypted", apply: (rs) => (ofType(rs, LT, "-a100-lt").blockDeviceMappings[0].ebs.encrypted = "false") },
    { rule: "node-no-ssh-no-public-ip", change: "system node group: SSH remote access", apply: (rs) => (pool(rs, "system").remoteAccess = { ec2SshKey: "ops" }) },
    { rule: "node-group-uses-launch-template", change: "a10g node group: launch template removed", apply: (rs) => delete pool(rs, "a10g").launchTemplate },
    {
        rule: "efs-tls-only",
        change: "EFS file system policy: the Deny on plain NFS removed",
        apply: (rs) => {
            const fsp = ofType(rs, "aws:efs/fileSystemPolicy:FileSystemPolicy", "-efs-policy");
            const doc = JSON.parse(fsp.policy);
            doc.Statement = doc.Statement.filter((st: Obj) => st.Effect !== "Deny");
            fsp.policy = JSON.stringify(doc);
        },
    },
    { rule: "efs-backups-enabled", change: "EFS backups DISABLED", apply: (rs) => (ofType(rs, "aws:efs/backupPolicy:BackupPolicy", "-efs-backup").backupPolicy.status = "DISABLED") },
    { rule: "efs-lifecycle-to-ia", change: "EFS lifecycle policies removed", apply: (rs) => (ofType(rs, "aws:efs/fileSystem:FileSystem", "-efs").lifecyclePolicies = []) },
    { rule: "kms-key-rotation", change: "EKS secrets key rotation off", apply: (rs) => (ofType(rs, "aws:kms/key:Key", "-secrets-key").enableKeyRotation = false) },
    {
        rule: "data-protected",
        change: "EFS file system recorded without protect (resource option, not input)",
        apply: (rs) => {
            const [fs] = rs.filter((r) => r.type === "aws:efs/fileSystem:FileSystem");
            fs.options.protect = false;
        },
    },
    { rule: "data-protected", change: "StorageClass reclaimPolicy Delete", apply: (rs) => (k8s(rs, "StorageClass", "efs-ml").reclaimPolicy = "Delete") },
    {
        rule: "memory-volumes-bounded",
        change: "vLLM server /dev/shm emptyDir without sizeLimit",
        apply: (rs) => delete podOf(rs, "Deployment", "llama-3-8b").volumes.find((v: Obj) => v.emptyDir?.medium === "Memory").emptyDir.sizeLimit,
    },
    {
        rule: "memory-volumes-bounded",
        change: "vLLM server memory limit down to its /dev/shm size",
        apply: (rs) => {
            const pod = podOf(rs, "Deployment", "llama-3-8b");
            const shm = pod.volumes.find((v: Obj) => v.emptyDir?.medium === "Memory").emptyDir.sizeLimit;
            const c = pod.containers.find((x: Obj) => x.name === "model-server");
            c.resources.limits.memory = shm;
            c.resources.requests.memory = shm;
        },
    },
    { rule: "seccomp-runtime-default", change: "serving container seccomp Unconfined", apply: (rs) => (server(rs).securityContext.seccompProfile = { type: "Unconfined" }) },
    { rule: "read-only-root-filesystem", change: "serving container writable root filesystem", apply: (rs) => (server(rs).securityContext.readOnlyRootFilesystem = false) },
    { rule: "service-account-token-not-mounted", change: "training Job mounts its service account token", apply: (rs) => (podOf(rs, "Job", "bert-finetune").automountServiceAccountToken = true) },
    {
        rule: "network-default-deny",
        change: "ml-training default-deny narrowed to one app",
        apply: (rs) => {
            const deny = pick(rs, (r) => r.type.endsWith(":NetworkPolicy") && (r.inputs.metadata as Obj).name === "default-deny" && (r.inputs.metadata as Obj).namespace === "ml-training", "default-deny in ml-training");
            deny.spec.podSelector = { matchLabels: { app: "bert-finetune" } };
        },
    },
    { rule: "container-resources-set", change: "data-sync container without limits", apply: (rs) => delete podOf(rs, "Job", "sync-domain-corpus").containers[0].resources.limits },
    { rule: "training-own-service-account", change: "data-sync Job on the namespace's default service account", apply: (rs) => (podOf(rs, "Job", "sync-domain-corpus").serviceAccountName = "default") },
    { rule: "training-own-service-account", change: "PyTorchJob worker without a service account (the namespace default)", apply: (rs) => delete k8s(rs, "PyTorchJob", "llm-distributed").spec.pytorchReplicaSpecs.Worker.template.spec.serviceAccountName },
    {
        rule: "s3-grants-within-declared-prefixes",
        change: "bert-finetune role: write on its whole output bucket",
        apply: (rs) => {
            const policy = ofType(rs, "aws:iam/rolePolicy:RolePolicy", "-training-bert-finetune-identity-s3");
            const doc = JSON.parse(policy.policy);
            doc.Statement.find((st: Obj) => st.Sid === "WriteDeclaredPrefixes").Resource = ["arn:aws:s3:::ml-results-prod/*"];
            policy.policy = JSON.stringify(doc);
        },
    },
    { rule: "efa-pool-one-zone", change: "a100 (EFA) node group: a second subnet", apply: (rs) => (pool(rs, "a100").subnetIds = [...pool(rs, "a100").subnetIds, "subnet-0second"]) },
    { rule: "efa-pool-one-zone", change: "a100 launch template: placement group removed", apply: (rs) => (ofType(rs, LT, "-a100-lt").placement = {}) },
    { rule: "efa-device-plugin-reaches-efa-pools", change: "EFA device plugin tolerations removed", apply: (rs) => (ofType(rs, "kubernetes:helm.sh/v3:Release", "-efa-release").values.tolerations = []) },
    {
        rule: "multi-node-training-uses-efa",
        change: "PyTorchJob worker and master without vpc.amazonaws.com/efa",
        apply: (rs) => {
            for (const role of Object.values(k8s(rs, "PyTorchJob", "llm-distributed").spec.pytorchReplicaSpecs) as Obj[]) {
                const c = role.template.spec.containers[0];
                delete c.resources.requests["vpc.amazonaws.com/efa"];
                delete c.resources.limits["vpc.amazonaws.com/efa"];
            }
        },
    },
    { rule: "gpu-serving-not-on-spot", change: "a10g node group (serving) on SPOT", apply: (rs) => (pool(rs, "a10g").capacityType = "SPOT") },
    { rule: "capacity-reservation-one-zone", change: "a100 launch template: capacity-block market without a reservation", apply: (rs) => (ofType(rs, LT, "-a100-lt").instanceMarketOptions = { marketType: "capacity-block" }) },
    {
        // Prod runs Cluster Autoscaler: the mutation adds the EC2NodeClass a Karpenter stack would have, unpinned.
        rule: "karpenter-nodeclass-hardened",
        change: "an EC2NodeClass on al2023@latest",
        apply: (rs) => {
            const spec = { amiSelectorTerms: [{ alias: "al2023@latest" }], metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 }, blockDeviceMappings: [{ deviceName: "/dev/xvda", rootVolume: true, ebs: { encrypted: true } }] };
            rs.push({ ...rs[0], type: "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", name: "prod-karpenter-a100-nodeclass", urn: "urn:pulumi:prod::ml-platform::x::nc", inputs: { metadata: { name: "a100" }, spec } } as RecordedResource);
        },
    },
    // A node group's sharing labels are what the device plugin and MIG manager act on: the rules read them.
    { rule: "shared-gpu-one-device", change: "a100 node group labelled for MIG 3g.20gb while its pods ask for several GPUs", apply: (rs) => (pool(rs, "a100").labels["nvidia.com/mig.config"] = "all-3g.20gb") },
    { rule: "training-not-time-sliced", change: "a10g node group (a training Job's pool) time-sliced 2 ways", apply: (rs) => (pool(rs, "a10g").labels["nvidia.com/device-plugin.config"] = "time-slicing-2") },
    { rule: "namespace-pod-security-restricted", change: "ml-serving namespace on baseline", apply: (rs) => (k8s(rs, "Namespace", "ml-serving").metadata.labels["pod-security.kubernetes.io/enforce"] = "baseline") },
];

/** Advisory by design even in prod (issue 19: a pool without EFA-capable types has no other choice; issue 17: time-sliced training is a risk, not an error). */
const ADVISORY_IN_PROD = ["multi-node-training-uses-efa", "training-not-time-sliced"];

const key = (v: PolicyViolation) => `${v.policy}|${v.resource.type}|${v.resource.name}|${v.message}`;

describe("policy mutation test (prod plan)", () => {
    let clean: RecordedResource[];
    let config: PolicyPackConfig;
    let baseline: Set<string>;
    const caught: string[] = [];

    before(async () => {
        const run = await platformRun("prod");
        clean = run.resources;
        config = readPolicyConfig(policyConfigFile(run.spec.tier));
        baseline = new Set((await runPolicies(clean, config, allPolicies, "prod")).map(key));
    });

    after(() => {
        console.log(`      policy mutation score: ${caught.length}/${MUTATIONS.length} caught by exactly the intended rule`);
    });

    it("covers every rule of the pack with at least one mutation", () => {
        assert.deepEqual([...new Set(MUTATIONS.map((m) => m.rule))].sort(), allPolicies.map((p) => p.name).sort());
    });

    it("the clean prod plan violates no mandatory rule", async () => {
        const violations = await runPolicies(clean, config, allPolicies, "prod");
        assert.deepEqual(
            violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policy}: ${v.message}`),
            [],
        );
    });

    for (const m of MUTATIONS) {
        it(`${m.rule} catches: ${m.change}`, async () => {
            const mutated = structuredClone(clean);
            m.apply(mutated);
            const fresh = (await runPolicies(mutated, config, allPolicies, "prod")).filter((v) => !baseline.has(key(v)));
            const fired = [...new Set(fresh.map((v) => v.policy))];
            assert.deepEqual(fired, [m.rule], fresh.map((v) => `${v.policy}: ${v.message}`).join("\n"));
            assert.ok(fresh.every((v) => v.enforcementLevel === (ADVISORY_IN_PROD.includes(v.policy) ? "advisory" : "mandatory")));
            caught.push(m.rule);
        });
    }
});

for (const stack of ["dev", "prod"] as const) {
    describe(`policy gate: ${stack}`, () => {
        it("has zero mandatory violations (advisory ones are listed)", async () => {
            const run = await platformRun(stack);
            const gate = await runPolicyGate(run.resources, { stack, tier: run.spec.tier });
            assert.equal(gate.mandatory, 0, gate.violations.map((v) => `${v.policy}: ${v.message}`).join("\n"));
            for (const v of gate.violations) {
                console.log(`      advisory on ${stack}: ${v.policy} — ${v.resource.name}: ${v.message}`);
            }
        });
    });
}
