import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { KNOWN_INSTANCE_TYPES } from "../capacity/catalog";
import {
    DEFAULT_GPU_TAINT,
    GPU_RESOURCE,
    gpuDaemonSetTolerations,
    gpuNodeSelector,
    NodePoolShape,
    poolLabels,
    poolNodeSelector,
    poolTaints,
    poolTolerations,
} from "../capacity/pools";
import { appTeamAccessEntry, appTeamGroup, EKS_EDIT_POLICY } from "../components/appTeams";
import { DEFAULT_DENY, networkPolicySpecs } from "../components/networkPolicies";
import { DCGM_EXPORTER_NAME, DEVICE_PLUGIN_NAME } from "../components/nvidia";
import { LOAD_HEADROOM } from "../facts/serving";
import { SAFE_TO_EVICT_ANNOTATION } from "../facts/training";
import { NFS_PORT } from "../components/storage";
import { policyConfigFile, readPolicyConfig, resourceArgs, ResourceLike, runPolicies, stackArgs } from "../plan/policy";
import { UNKNOWN_PLACEHOLDER } from "../plan/recorder";
import { UsageError } from "../plan/stackConfig";
import { allPolicies, PlatformPolicy, SEVERITY } from "../policy/rules";
import { NVIDIA_DAEMONSETS } from "../policy/rules/config";
import * as cluster from "../policy/rules/cluster";
import { ACCESS_ENTRY, ACCESS_POLICY_ASSOCIATION, EKS_ADDON, EKS_CLUSTER, EKS_COMPONENT } from "../policy/rules/cluster";
import * as gpu from "../policy/rules/gpu";
import { podTemplates } from "../policy/rules/k8s";
import { AWS_NODE_GROUP, eksEffect, LAUNCH_TEMPLATE, MANAGED_NODE_GROUP } from "../policy/rules/nodepools";
import * as security from "../policy/rules/security";
import * as storage from "../policy/rules/storage";
import * as workloads from "../policy/rules/workloads";
import { configKeys } from "../stacks/schema";
import { NAMESPACES } from "../stacks/spec";
import { buildStackSpec } from "../stacks/validate";
import { rawConfigOf } from "./helpers";

type Obj = Record<string, any>;

const TAINT = DEFAULT_GPU_TAINT;
const SYSTEM: NodePoolShape = { name: "system", instanceType: "m6i.2xlarge" };
const A10G: NodePoolShape = { name: "a10g", instanceType: "g5.12xlarge" };
const A100: NodePoolShape = { name: "a100", instanceType: "p4d.24xlarge" };

/** A node group as the pool component builds it (labels and taints from capacity/pools). */
function nodeGroup(pool: NodePoolShape, type = MANAGED_NODE_GROUP): ResourceLike {
    const isGpu = pool !== SYSTEM;
    return {
        type,
        name: `${pool.name}-ng`,
        inputs: {
            instanceTypes: [pool.instanceType],
            amiType: isGpu ? "AL2023_x86_64_NVIDIA" : "AL2023_x86_64_STANDARD",
            labels: poolLabels(pool),
            taints: poolTaints(pool, TAINT).map((t) => ({ key: t.key, value: t.value, effect: eksEffect(t.effect) })),
        },
    };
}

function container(name = "server", extra: Obj = {}): Obj {
    return {
        name,
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/server:v1.2.3",
        resources: { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "2", memory: "2Gi" } },
        securityContext: { runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
        ...extra,
    };
}

function gpuContainer(gpus: number, name = "server", extra: Obj = {}): Obj {
    const c = container(name, extra);
    c.resources.requests[GPU_RESOURCE] = String(gpus);
    c.resources.limits[GPU_RESOURCE] = String(gpus);
    return c;
}

const GROUPS: Record<string, string> = { Deployment: "apps/v1", DaemonSet: "apps/v1", StatefulSet: "apps/v1", Job: "batch/v1" };

function workload(kind: string, name: string, namespace: string, podSpec: Obj, spec: Obj = {}, meta: Obj = {}): ResourceLike {
    return {
        type: `kubernetes:${GROUPS[kind]}:${kind}`,
        name: `${namespace}-${name}-${kind.toLowerCase()}`,
        inputs: {
            apiVersion: GROUPS[kind],
            kind,
            metadata: { name, namespace, ...meta },
            spec: {
                ...spec,
                template: { metadata: { labels: { app: name } }, spec: { securityContext: { runAsNonRoot: true, runAsUser: 1000 }, ...podSpec } },
            },
        },
    };
}

const onPool = (pool: NodePoolShape) => ({ tolerations: poolTolerations(pool, TAINT), nodeSelector: poolNodeSelector(pool) });

const STARTUP = { httpGet: { path: "/health", port: 8080 }, initialDelaySeconds: 0, periodSeconds: 10, failureThreshold: 12 };
const LIVENESS = { httpGet: { path: "/health", port: 8080 }, initialDelaySeconds: 0, periodSeconds: 20, failureThreshold: 3 };

function serving(name = "model", extra: Obj = {}, meta: Obj = {}): ResourceLike {
    const server = gpuContainer(1, "model-server", { startupProbe: STARTUP, livenessProbe: LIVENESS, readinessProbe: LIVENESS, ...extra });
    return workload("Deployment", name, NAMESPACES.serving, { containers: [server], ...onPool(A10G) }, { replicas: 2, selector: { matchLabels: { app: name } } }, meta);
}

function hpa(target: string, min: number, max: number, namespace: string = NAMESPACES.serving): ResourceLike {
    return {
        type: "kubernetes:autoscaling/v2:HorizontalPodAutoscaler",
        name: `${target}-hpa`,
        inputs: { metadata: { name: target, namespace }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: target }, minReplicas: min, maxReplicas: max } },
    };
}

function pdb(target: string, budget: Obj): ResourceLike {
    return {
        type: "kubernetes:policy/v1:PodDisruptionBudget",
        name: `${target}-pdb`,
        inputs: { metadata: { name: target, namespace: NAMESPACES.serving }, spec: { ...budget, selector: { matchLabels: { app: target } } } },
    };
}

function job(name = "train", spec: Obj = { backoffLimit: 2, activeDeadlineSeconds: 3600 }): ResourceLike {
    return workload("Job", name, NAMESPACES.training, { containers: [gpuContainer(1, "trainer")], restartPolicy: "Never", ...onPool(A10G) }, spec);
}

function pyTorchJob(runPolicy: Obj = { backoffLimit: 3, activeDeadlineSeconds: 7200 }, worker?: Obj): ResourceLike {
    const template = { metadata: { labels: { app: "llm" } }, spec: { securityContext: { runAsNonRoot: true }, containers: [gpuContainer(8, "pytorch")], ...onPool(A100) } };
    return {
        type: "kubernetes:kubeflow.org/v1:PyTorchJob",
        name: "llm-pytorchjob",
        inputs: {
            apiVersion: "kubeflow.org/v1",
            kind: "PyTorchJob",
            metadata: { name: "llm", namespace: NAMESPACES.training },
            spec: {
                runPolicy,
                pytorchReplicaSpecs: { Master: { replicas: 1, template }, Worker: { replicas: 1, template: worker ?? template } },
            },
        },
    };
}

/** A DaemonSet like components/nvidia.ts builds: every GPU pool's toleration, GPU nodes only. */
function nvidiaDaemonSet(name: string, extra: Obj = {}, podExtra: Obj = {}): ResourceLike {
    const hostPaths: Record<string, string> = { [DEVICE_PLUGIN_NAME]: "/var/lib/kubelet/device-plugins", [DCGM_EXPORTER_NAME]: "/var/lib/kubelet/pod-resources" };
    const sc = name === DCGM_EXPORTER_NAME ? { allowPrivilegeEscalation: false, runAsNonRoot: false, capabilities: { drop: ["ALL"], add: ["SYS_ADMIN"] } } : undefined;
    return workload(
        "DaemonSet",
        name,
        "kube-system",
        {
            securityContext: undefined,
            tolerations: gpuDaemonSetTolerations([SYSTEM, A10G, A100], TAINT),
            nodeSelector: gpuNodeSelector(),
            containers: [container(name, { ...(sc ? { securityContext: sc } : {}), ...extra })],
            volumes: [{ name: "host", hostPath: { path: hostPaths[name] } }],
            ...podExtra,
        },
        {},
    );
}

function edit(r: ResourceLike, fn: (inputs: Obj) => void): ResourceLike {
    const copy = structuredClone(r);
    fn(copy.inputs);
    return copy;
}

const KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-4b5a-4968-a7b6-c5d4e3f2a1b0";
/** An encrypted file system carries our KMS key, as components/storage.ts builds it. */
const fileSystem = (encrypted?: boolean): ResourceLike => ({
    type: "aws:efs/fileSystem:FileSystem",
    name: "efs",
    inputs: encrypted === undefined ? {} : { encrypted, ...(encrypted ? { kmsKeyId: KEY_ARN } : {}) },
});

const podSpecOf = (inputs: Obj): Obj => inputs.spec.template.spec;

async function messages(policy: PlatformPolicy, resources: ResourceLike | ResourceLike[], params?: Obj): Promise<string[]> {
    const list = Array.isArray(resources) ? resources : [resources];
    const v = await runPolicies(list, params ? { [policy.name]: params } : {}, [policy]);
    return v.map((x) => x.message);
}

async function passes(policy: PlatformPolicy, resources: ResourceLike | ResourceLike[], params?: Obj) {
    assert.deepEqual(await messages(policy, resources, params), []);
}

/** Fires at least once; every message names a fix; each pattern (resource, value) appears. */
async function fails(policy: PlatformPolicy, resources: ResourceLike | ResourceLike[], patterns: RegExp[], params?: Obj): Promise<string[]> {
    const found = await messages(policy, resources, params);
    assert.ok(found.length > 0, `${policy.name} did not fire`);
    for (const m of found) {
        assert.match(m, /Fix: /, `message without a fix: ${m}`);
    }
    for (const p of patterns) {
        assert.ok(
            found.some((m) => p.test(m)),
            `no message matches ${p}:\n${found.join("\n")}`,
        );
    }
    return found;
}

describe("policy pack: metadata", () => {
    it("every rule has a unique name, a description, a default enforcement level and a severity", () => {
        assert.equal(new Set(allPolicies.map((p) => p.name)).size, allPolicies.length);
        for (const p of allPolicies) {
            assert.match(p.name, /^[a-z0-9-]+$/);
            assert.ok(p.description.length > 20, p.name);
            assert.ok(p.enforcementLevel, p.name);
            assert.ok(p.severity, p.name);
            assert.equal(SEVERITY[p.name], p.severity);
            for (const [key, prop] of Object.entries(p.configSchema?.properties ?? {})) {
                // A budget is the one parameter nobody can default: without one, the rule has nothing to check.
                if (`${p.name}.${key}` !== "monthly-budget.maxMonthlyCost") {
                    assert.notEqual(prop.default, undefined, `${p.name}.${key} has a default`);
                }
            }
        }
    });

    it("defaults agree with the platform's own facts (one source of truth)", () => {
        assert.deepEqual(configKeys.gpuTaint.parse(undefined), DEFAULT_GPU_TAINT);
        assert.deepEqual(NVIDIA_DAEMONSETS, [`kube-system/${DEVICE_PLUGIN_NAME}`, `kube-system/${DCGM_EXPORTER_NAME}`]);
        assert.deepEqual(workloads.servingProbesCoverModelLoad.configSchema!.properties.headroom.default, LOAD_HEADROOM);
        assert.deepEqual(workloads.servingHpaBounds.configSchema!.properties.servingNamespaces.default, [NAMESPACES.serving]);
        assert.deepEqual(gpu.instanceTypesAllowed.configSchema!.properties.allowedInstanceTypes.default, KNOWN_INSTANCE_TYPES);
        assert.equal(NFS_PORT, 2049);
    });
});

describe("policy helper: pod templates from any workload", () => {
    it("finds spec.template, CronJob job templates, bare pods and every Kubeflow replica role", () => {
        const dep = serving();
        assert.deepEqual(
            podTemplates(dep.type, dep.inputs).map((t) => t.path),
            ["spec.template"],
        );
        const cron = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "c" }, spec: { jobTemplate: { spec: { template: { spec: { containers: [container()] } } } } } };
        assert.deepEqual(
            podTemplates("kubernetes:batch/v1:CronJob", cron).map((t) => [t.path, t.workload.namespace]),
            [["spec.jobTemplate.spec.template", "default"]],
        );
        assert.equal(podTemplates("kubernetes:core/v1:Pod", { metadata: { name: "p" }, spec: { containers: [container()] } }).length, 1);
        const pt = pyTorchJob();
        assert.deepEqual(
            podTemplates(pt.type, pt.inputs).map((t) => [t.role, t.path]),
            [
                ["Master", "spec.pytorchReplicaSpecs.Master.template"],
                ["Worker", "spec.pytorchReplicaSpecs.Worker.template"],
            ],
        );
        for (const kind of ["DaemonSet", "StatefulSet", "Job"]) {
            const w = workload(kind, "x", "ns", { containers: [container()] });
            assert.equal(podTemplates(w.type, w.inputs)[0].workload.kind, kind);
        }
    });

    it("ignores patches (partial objects) and objects without pods", () => {
        assert.deepEqual(podTemplates("kubernetes:apps/v1:DeploymentPatch", serving().inputs), []);
        assert.deepEqual(podTemplates("kubernetes:core/v1:ConfigMap", { data: {} }), []);
        assert.deepEqual(podTemplates(MANAGED_NODE_GROUP, nodeGroup(A10G).inputs), []);
    });
});

describe("policy rules: GPU scheduling", () => {
    describe("gpu-request-equals-limit", () => {
        const rule = gpu.gpuRequestEqualsLimit;
        it("passes equal GPU requests and limits, on Deployments and PyTorchJob replicas", () => passes(rule, [serving(), pyTorchJob(), job()]));
        it("fails a limit above the request, naming container and values", () =>
            fails(rule, edit(serving(), (i) => (podSpecOf(i).containers[0].resources.limits[GPU_RESOURCE] = "2")), [
                /Deployment ml-serving\/model container "model-server" requests nvidia.com\/gpu=1 but limits nvidia.com\/gpu=2/,
            ]));
        it("fails a PyTorchJob worker whose request has no limit", () => {
            const worker = structuredClone((pyTorchJob().inputs as Obj).spec.pytorchReplicaSpecs.Worker.template);
            delete worker.spec.containers[0].resources.limits[GPU_RESOURCE];
            return fails(rule, pyTorchJob(undefined, worker), [/PyTorchJob ml-training\/llm \(Worker\) container "pytorch" requests nvidia.com\/gpu=8 without a limit/]);
        });
    });

    for (const type of [MANAGED_NODE_GROUP, AWS_NODE_GROUP]) {
        describe(`node pool rules on ${type}`, () => {
            it("gpu-pool-tainted passes GPU pools with the taint and untainted CPU pools", () => passes(gpu.gpuPoolTainted, [nodeGroup(SYSTEM, type), nodeGroup(A10G, type), nodeGroup(A100, type)]));
            it("gpu-pool-tainted fails a GPU pool without the taint", () =>
                fails(gpu.gpuPoolTainted, edit(nodeGroup(A10G, type), (i) => (i.taints = [])), [/pool a10g, g5.12xlarge\) is a GPU pool with taints \[none\]/, /dedicated=ml-workloads:NoSchedule/]));
            it("gpu-pool-tainted follows the configured taint", () =>
                fails(gpu.gpuPoolTainted, nodeGroup(A10G, type), [/add the taint gpu=true:NoExecute/], { gpuTaint: { key: "gpu", value: "true", effect: "NoExecute" } }));

            it("gpu-pool-labels-match-catalog passes catalog labels", () => passes(gpu.gpuPoolLabelsMatchCatalog, [nodeGroup(SYSTEM, type), nodeGroup(A10G, type), nodeGroup(A100, type)]));
            it("gpu-pool-labels-match-catalog fails a hand-typed gpu-count", () =>
                fails(gpu.gpuPoolLabelsMatchCatalog, edit(nodeGroup(A100, type), (i) => (i.labels["gpu-count"] = "4")), [/label gpu-count=4 but the catalog says 8 for p4d.24xlarge/]));
            it("gpu-pool-labels-match-catalog fails GPU labels on a CPU pool", () =>
                fails(gpu.gpuPoolLabelsMatchCatalog, edit(nodeGroup(SYSTEM, type), (i) => (i.labels["nvidia.com/gpu.present"] = "true")), [/has no GPUs but carries nvidia.com\/gpu.present=true/]));

            it("gpu-pool-nvidia-ami passes the NVIDIA AMI", () => passes(gpu.gpuPoolNvidiaAmi, [nodeGroup(A10G, type), nodeGroup(SYSTEM, type)]));
            it("gpu-pool-nvidia-ami fails a standard or unset AMI on a GPU pool", async () => {
                await fails(gpu.gpuPoolNvidiaAmi, edit(nodeGroup(A10G, type), (i) => (i.amiType = "AL2023_x86_64_STANDARD")), [/amiType AL2023_x86_64_STANDARD, which has no NVIDIA driver/]);
                await fails(gpu.gpuPoolNvidiaAmi, edit(nodeGroup(A100, type), (i) => delete i.amiType), [/amiType \(unset/]);
            });

            it("instance-types-allowed passes catalogued types by default and listed types", async () => {
                await passes(gpu.instanceTypesAllowed, [nodeGroup(A10G, type), nodeGroup(SYSTEM, type)]);
                await passes(gpu.instanceTypesAllowed, nodeGroup(A10G, type), { allowedInstanceTypes: ["g5.12xlarge"] });
            });
            it("instance-types-allowed fails a type outside the stack's list", () =>
                fails(gpu.instanceTypesAllowed, nodeGroup(A100, type), [/uses GPU instance type p4d.24xlarge, which this stack does not allow/], { allowedInstanceTypes: ["g5.12xlarge"] }));
        });
    }

    it("instance-types-allowed also reads launch templates", async () => {
        const lt = { type: LAUNCH_TEMPLATE, name: "lt", inputs: { instanceType: "p5.48xlarge" } };
        await fails(gpu.instanceTypesAllowed, lt, [/launch template "lt" uses GPU instance type p5.48xlarge/], { allowedInstanceTypes: ["g5.xlarge"] });
        await passes(gpu.instanceTypesAllowed, { ...lt, inputs: {} }, { allowedInstanceTypes: ["g5.xlarge"] });
    });

    describe("gpu-toleration-requires-gpu-request", () => {
        const rule = gpu.gpuTolerationRequiresGpuRequest;
        it("passes GPU pods that tolerate and the allow-listed NVIDIA DaemonSets", () =>
            passes(rule, [serving(), pyTorchJob(), nvidiaDaemonSet(DEVICE_PLUGIN_NAME), nvidiaDaemonSet(DCGM_EXPORTER_NAME)]));
        it("fails a CPU-only pod that tolerates the GPU taint", () =>
            fails(rule, workload("Deployment", "api", "ml-serving", { containers: [container()], tolerations: poolTolerations(A10G, TAINT) }), [
                /Deployment ml-serving\/api tolerates the GPU taint dedicated=ml-workloads:NoSchedule but requests no nvidia.com\/gpu/,
            ]));
        it("fails a blanket `operator: Exists` toleration and a look-alike DaemonSet outside kube-system", async () => {
            await fails(rule, workload("DaemonSet", "log-agent", "logging", { containers: [container()], tolerations: [{ operator: "Exists" }] }), [/DaemonSet logging\/log-agent/]);
            const moved = edit(nvidiaDaemonSet(DEVICE_PLUGIN_NAME), (i) => (i.metadata.namespace = "default"));
            await fails(rule, moved, [/DaemonSet default\/nvidia-device-plugin/]);
        });
    });

    describe("tolerations-valid", () => {
        const rule = gpu.tolerationsValid;
        const withTolerations = (tolerations: object[]) => workload("Deployment", "api", "ml-serving", { containers: [container()], tolerations });
        it("passes the pools' tolerations, a blanket Exists and a NoExecute toleration with seconds", () =>
            passes(rule, [serving(), withTolerations([{ operator: "Exists" }, { key: "k", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }])]));
        it("fails a toleration with no key that is not Exists (the scheduler would match it by value alone)", () =>
            fails(rule, withTolerations([{ value: "ml-workloads", effect: "NoSchedule" }]), [/Deployment ml-serving\/api toleration 0 has no key but operator Equal \(the default\)/]));
        it("fails Exists with a value, an unknown operator or effect, and tolerationSeconds without NoExecute", () =>
            fails(
                rule,
                withTolerations([
                    { key: "k", operator: "Exists", value: "v" },
                    { key: "k", operator: "Gt", value: "1" },
                    { key: "k", operator: "Equal", value: "v", effect: "NoRun" },
                    { key: "k", operator: "Equal", value: "v", effect: "NoSchedule", tolerationSeconds: 5 },
                ]),
                [/toleration 0 uses operator Exists with value "v"/, /toleration 1 uses operator Gt/, /toleration 2 uses effect NoRun/, /toleration 3 sets tolerationSeconds with effect NoSchedule/],
            ));
    });

    describe("gpu-pod-targets-gpu-pool (stack)", () => {
        const rule = gpu.gpuPodTargetsGpuPool;
        const pools = [nodeGroup(SYSTEM), nodeGroup(A10G), nodeGroup(A100)];
        it("passes GPU pods that select a GPU pool and tolerate its taint", () => passes(rule, [...pools, serving(), job(), pyTorchJob()]));
        it("passes on the real preview's node groups too", () => passes(rule, [...[SYSTEM, A10G].map((p) => nodeGroup(p, AWS_NODE_GROUP)), serving()]));
        it("fails a GPU pod pinned to the CPU pool, attributed to the workload", async () => {
            const bad = edit(serving(), (i) => (podSpecOf(i).nodeSelector = { "node-pool": "system" }));
            await fails(rule, [...pools, bad], [/Deployment ml-serving\/model requests 1 nvidia.com\/gpu but its nodeSelector \{node-pool=system\} matches \[system\], no GPU pool/]);
            const [v] = await runPolicies([...pools, bad], {}, [rule]);
            assert.deepEqual(v.resource, { type: bad.type, name: bad.name });
        });
        it("fails a GPU pod with no node selection", () => fails(rule, [...pools, edit(serving(), (i) => delete podSpecOf(i).nodeSelector)], [/has no nodeSelector or required node affinity/]));
        it("fails a GPU pod that does not tolerate its pool's taint", () =>
            fails(rule, [...pools, edit(job(), (i) => (podSpecOf(i).tolerations = []))], [/Job ml-training\/train .* selects GPU pool\(s\) a10g but does not tolerate dedicated=ml-workloads:NoSchedule/]));
        it("understands required node affinity", () =>
            passes(rule, [
                ...pools,
                edit(serving(), (i) => {
                    delete podSpecOf(i).nodeSelector;
                    podSpecOf(i).affinity = {
                        nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "accelerator", operator: "In", values: ["nvidia-a10g"] }] }] } },
                    };
                }),
            ]));
    });

    describe("gpu-daemonsets-reach-gpu-pools (stack)", () => {
        const rule = gpu.gpuDaemonSetsReachGpuPools;
        const pools = [nodeGroup(SYSTEM), nodeGroup(A10G), nodeGroup(A100)];
        const both = [nvidiaDaemonSet(DEVICE_PLUGIN_NAME), nvidiaDaemonSet(DCGM_EXPORTER_NAME)];
        it("passes DaemonSets built from capacity/pools", () => passes(rule, [...pools, ...both]));
        it("passes a stack without GPU pools", () => passes(rule, [nodeGroup(SYSTEM)]));
        it("fails a device plugin that tolerates no taint (pitfall 1)", () =>
            fails(rule, [...pools, edit(both[0], (i) => (podSpecOf(i).tolerations = [])), both[1]], [
                /DaemonSet kube-system\/nvidia-device-plugin does not tolerate dedicated=ml-workloads:NoSchedule of GPU pool a10g/,
            ]));
        it("fails a selector that misses a GPU pool or reaches a CPU pool", async () => {
            await fails(rule, [...pools, edit(both[0], (i) => (podSpecOf(i).nodeSelector = poolNodeSelector(A10G))), both[1]], [/does not select GPU pool a100/]);
            await fails(rule, [...pools, both[0], edit(both[1], (i) => (podSpecOf(i).tolerations = [{ operator: "Exists" }], delete podSpecOf(i).nodeSelector))], [
                /DaemonSet kube-system\/dcgm-exporter no nodeSelector or node affinity also lands on CPU pool system/,
            ]);
        });
        it("fails when the DCGM exporter is missing", () => fails(rule, [...pools, both[0]], [/No DaemonSet kube-system\/dcgm-exporter in the stack/]));
    });
});

describe("policy rules: workloads", () => {
    describe("images-pinned", () => {
        const rule = workloads.imagesPinned;
        it("passes tags, digests and registry ports with a tag", () =>
            passes(rule, [
                serving(),
                workload("Deployment", "a", "x", { containers: [container("a", { image: `ghcr.io/org/app@sha256:${"a".repeat(64)}` })] }),
                workload("Deployment", "b", "x", { containers: [container("b", { image: "registry.local:5000/team/app:1.0" })] }),
            ]));
        it("fails :latest, a missing tag, and a registry port mistaken for a tag", async () => {
            await fails(rule, edit(serving(), (i) => (podSpecOf(i).containers[0].image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/server:latest")), [/container "model-server" uses image .*server:latest with the mutable tag :latest/]);
            await fails(rule, workload("Job", "t", "x", { initContainers: [container("init", { image: "busybox" })], containers: [container()] }), [/init container "init" uses image busybox with no tag/]);
            await fails(rule, workload("Job", "t", "x", { containers: [container("c", { image: "registry.local:5000/app" })] }), [/registry.local:5000\/app with no tag/]);
        });
        it("pins Helm charts to exact versions and remote kustomizations to a ref", async () => {
            const release = { type: "kubernetes:helm.sh/v3:Release", name: "prom", inputs: { chart: "kube-prometheus-stack", version: "77.0.1" } };
            await passes(rule, [release, { type: "kubernetes:kustomize/v2:Directory", name: "op", inputs: { directory: "https://github.com/kubeflow/trainer//manifests/overlays/standalone?ref=v1.9.4" } }]);
            await fails(rule, { ...release, inputs: { chart: "kube-prometheus-stack", version: "^77.0.0" } }, [/Helm chart kube-prometheus-stack \("prom"\) has version \^77.0.0/]);
            await fails(rule, { ...release, inputs: { chart: "kube-prometheus-stack" } }, [/version \(unset/]);
            await fails(rule, { type: "kubernetes:kustomize/v2:Directory", name: "op", inputs: { directory: "https://github.com/kubeflow/trainer//manifests?ref=master" } }, [/moving ref master/]);
        });
    });

    describe("container-resources-set", () => {
        const rule = workloads.containerResourcesSet;
        it("passes containers with CPU and memory requests and limits", () => passes(rule, [serving(), job(), pyTorchJob(), nvidiaDaemonSet(DEVICE_PLUGIN_NAME)]));
        it("fails an init container without a memory limit and a container without resources", async () => {
            const init = container("init");
            delete init.resources.limits.memory;
            await fails(rule, edit(serving(), (i) => (podSpecOf(i).initContainers = [init])), [/Deployment ml-serving\/model init container "init" has no limits.memory/]);
            await fails(rule, workload("Job", "t", "x", { containers: [{ name: "c", image: "a:1" }] }), [/container "c" has no requests.cpu, requests.memory, limits.cpu, limits.memory/]);
        });
    });

    describe("serving-probes-cover-model-load", () => {
        const rule = workloads.servingProbesCoverModelLoad;
        const declared = (seconds: number) => serving("model", {}, { annotations: { [workloads.MODEL_LOAD_ANNOTATION]: String(seconds) } });
        it("passes a startup budget of 1.2x the declared load (120s for 100s) and servers outside the serving namespace", async () => {
            await passes(rule, declared(100));
            await passes(rule, workload("Deployment", "web", "default", { containers: [container("web", { livenessProbe: LIVENESS })] }));
        });
        it("fails a startup budget below 1.2x the declared load", () => fails(rule, declared(101), [/container "model-server" has a startup budget of 120s for a 101s model load/, /at least 122s/]));
        it("fails liveness without a startup probe (it restarts the loading server)", () =>
            fails(rule, edit(serving(), (i) => delete podSpecOf(i).containers[0].startupProbe), [/has a liveness probe from 0s and no startup probe/]));
        it("passes liveness delayed past the declared load without a startup probe", () =>
            passes(
                rule,
                edit(declared(60), (i) => {
                    delete podSpecOf(i).containers[0].startupProbe;
                    podSpecOf(i).containers[0].livenessProbe = { ...LIVENESS, initialDelaySeconds: 72 };
                }),
            ));
    });

    describe("serving-pdb-allows-disruption (stack)", () => {
        const rule = workloads.servingPdbAllowsDisruption;
        it("computes allowed disruptions like the disruption controller", () => {
            assert.equal(workloads.allowedDisruptions({ maxUnavailable: 1 }, 2), 1);
            assert.equal(workloads.allowedDisruptions({ minAvailable: 2 }, 2), 0);
            assert.equal(workloads.allowedDisruptions({ minAvailable: 1 }, 2), 1);
            assert.equal(workloads.allowedDisruptions({ minAvailable: "50%" }, 3), 1);
            assert.equal(workloads.allowedDisruptions({ maxUnavailable: "0%" }, 3), 0);
        });
        it("passes maxUnavailable 1, or minAvailable below the HPA minimum", async () => {
            await passes(rule, [serving(), hpa("model", 2, 6), pdb("model", { maxUnavailable: 1 })]);
            await passes(rule, [serving(), hpa("model", 3, 6), pdb("model", { minAvailable: 2 })]);
        });
        it("reads the minimum from the HPA of a Deployment that leaves spec.replicas to it", async () => {
            const hpaOwned = serving();
            delete (hpaOwned.inputs.spec as Obj).replicas;
            await passes(rule, [hpaOwned, hpa("model", 3, 6), pdb("model", { minAvailable: 2 })]);
            await fails(rule, [hpaOwned, hpa("model", 2, 6), pdb("model", { minAvailable: 2 })], [/at its minimum of 2 replica\(s\)/]);
        });
        it("fails minAvailable equal to the HPA minimum (pitfall 6)", () =>
            fails(rule, [serving(), hpa("model", 2, 6), pdb("model", { minAvailable: 2 })], [/PodDisruptionBudget ml-serving\/model \(minAvailable 2\) allows no eviction of Deployment model at its minimum of 2 replica\(s\)/]));
        it("fails a serving Deployment without a budget", () => fails(rule, [serving(), pdb("other", { maxUnavailable: 1 })], [/Deployment ml-serving\/model has no PodDisruptionBudget/]));
    });

    describe("serving-hpa-bounds", () => {
        const rule = workloads.servingHpaBounds;
        it("passes min 2 in prod and min 1 in dev", async () => {
            await passes(rule, hpa("model", 2, 20));
            await passes(rule, hpa("model", 1, 3), { environment: "dev" });
        });
        it("fails min 1 in prod and max not above min", async () => {
            await fails(rule, hpa("model", 1, 6), [/minReplicas 1 in prod/], { environment: "prod" });
            await fails(rule, hpa("model", 2, 2), [/maxReplicas 2 with minReplicas 2: it can never scale out/]);
        });
    });

    describe("training-jobs-bounded", () => {
        const rule = workloads.trainingJobsBounded;
        it("passes Jobs and PyTorchJobs with backoffLimit and activeDeadlineSeconds", () => passes(rule, [job(), pyTorchJob()]));
        it("fails a Job without a deadline and a PyTorchJob without a backoff limit", async () => {
            await fails(rule, job("train", { backoffLimit: 2 }), [/Job ml-training\/train has spec.activeDeadlineSeconds \(unset: it may run forever\)/]);
            await fails(rule, pyTorchJob({ activeDeadlineSeconds: 7200 }), [/PyTorchJob ml-training\/llm has spec.runPolicy.backoffLimit \(unset\)/]);
            await fails(rule, job("train", { backoffLimit: 50, activeDeadlineSeconds: 60 }), [/backoffLimit 50/]);
        });
    });

    describe("training-pods-not-evictable", () => {
        const rule = workloads.trainingPodsNotEvictable;
        const annotate = (t: Obj, value: string) => (t.metadata = { ...t.metadata, annotations: { ...t.metadata?.annotations, [SAFE_TO_EVICT_ANNOTATION]: value } });
        const safeJob = () => edit(job(), (i) => annotate(i.spec.template, "false"));
        const safePyTorchJob = (worker = "false") =>
            edit(pyTorchJob(), (i) => {
                annotate(i.spec.pytorchReplicaSpecs.Master.template, "false");
                annotate(i.spec.pytorchReplicaSpecs.Worker.template, worker);
            });
        it("passes a Job and a PyTorchJob whose every pod template says safe-to-evict false", () => passes(rule, [safeJob(), safePyTorchJob()]));
        it("ignores serving Deployments", () => passes(rule, serving()));
        it("fails a Job without the annotation and a PyTorchJob worker with \"true\"", async () => {
            await fails(rule, job(), [/Job ml-training\/train has spec.template.metadata.annotations\["cluster-autoscaler.kubernetes.io\/safe-to-evict"\] \(unset\)/]);
            await fails(rule, safePyTorchJob("true"), [/PyTorchJob ml-training\/llm \(Worker\) has spec.pytorchReplicaSpecs.Worker.template.metadata.annotations\["cluster-autoscaler.kubernetes.io\/safe-to-evict"\] "true"/]);
        });
    });

    describe("no-public-load-balancer", () => {
        const rule = workloads.noPublicLoadBalancer;
        const svc = (type: string, annotations: Obj = {}) => ({ type: "kubernetes:core/v1:Service", name: "svc", inputs: { metadata: { name: "model", namespace: "ml-serving", annotations }, spec: { type } } });
        it("passes ClusterIP and internal load balancers", () => passes(rule, [svc("ClusterIP"), svc("LoadBalancer", { "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal" })]));
        it("fails an internet-facing load balancer and ALB ingress", async () => {
            await fails(rule, svc("LoadBalancer"), [/Service ml-serving\/model is type LoadBalancer without an internal scheme/]);
            await fails(rule, { type: "kubernetes:networking.k8s.io/v1:Ingress", name: "ing", inputs: { metadata: { name: "i", namespace: "n", annotations: { "alb.ingress.kubernetes.io/scheme": "internet-facing" } } } }, [
                /Ingress n\/i/,
            ]);
        });
    });
});

describe("policy rules: pod security", () => {
    const all = () => [serving(), job(), pyTorchJob(), nvidiaDaemonSet(DEVICE_PLUGIN_NAME), nvidiaDaemonSet(DCGM_EXPORTER_NAME)];
    const onServer = (fn: (c: Obj) => void) => edit(serving(), (i) => fn(podSpecOf(i).containers[0]));

    it("no-privileged-containers passes the platform's pods", () => passes(security.noPrivilegedContainers, all()));
    it("no-privileged-containers fails a privileged init container", () =>
        fails(security.noPrivilegedContainers, edit(serving(), (i) => (podSpecOf(i).initContainers = [container("init", { securityContext: { privileged: true, allowPrivilegeEscalation: false } })])), [
            /init container "init" sets securityContext.privileged: true/,
        ]));

    it("no-privilege-escalation passes explicit false", () => passes(security.noPrivilegeEscalation, all()));
    it("no-privilege-escalation fails true and unset", async () => {
        await fails(security.noPrivilegeEscalation, onServer((c) => (c.securityContext.allowPrivilegeEscalation = true)), [/allowPrivilegeEscalation true/]);
        await fails(security.noPrivilegeEscalation, onServer((c) => delete c.securityContext.allowPrivilegeEscalation), [/allowPrivilegeEscalation \(unset, i.e. true\)/]);
    });

    it("capabilities-dropped passes drop ALL and DCGM's allow-listed SYS_ADMIN", () => passes(security.capabilitiesDropped, all()));
    it("capabilities-dropped fails a missing drop ALL, an added capability, and DCGM beyond its list", async () => {
        await fails(security.capabilitiesDropped, onServer((c) => (c.securityContext.capabilities = { drop: ["NET_RAW"] })), [/drops \[NET_RAW\], not ALL/]);
        await fails(security.capabilitiesDropped, onServer((c) => (c.securityContext.capabilities.add = ["SYS_ADMIN"])), [/container "model-server" adds capabilities \[SYS_ADMIN\]/]);
        const dcgm = edit(nvidiaDaemonSet(DCGM_EXPORTER_NAME), (i) => podSpecOf(i).containers[0].securityContext.capabilities.add.push("NET_ADMIN"));
        const found = await fails(security.capabilitiesDropped, dcgm, [/adds capabilities \[NET_ADMIN\] beyond its allowed \[SYS_ADMIN\]/]);
        assert.equal(found.length, 1);
    });

    it("host-path-allow-listed passes the NVIDIA DaemonSets' kubelet paths", () => passes(security.hostPathAllowListed, all()));
    it("host-path-allow-listed fails another path, and any hostPath outside the allow-listed DaemonSets", async () => {
        await fails(security.hostPathAllowListed, edit(nvidiaDaemonSet(DEVICE_PLUGIN_NAME), (i) => (podSpecOf(i).volumes[0].hostPath.path = "/")), [
            /DaemonSet kube-system\/nvidia-device-plugin mounts hostPath \/ \(volume "host"\), which is not allow-listed for kube-system\/nvidia-device-plugin/,
        ]);
        await fails(security.hostPathAllowListed, edit(serving(), (i) => (podSpecOf(i).volumes = [{ name: "docker", hostPath: { path: "/var/run/docker.sock" } }])), [
            /Deployment ml-serving\/model mounts hostPath \/var\/run\/docker.sock/,
        ]);
    });

    it("run-as-non-root passes non-root workloads and the exempt NVIDIA DaemonSets", () => passes(security.runAsNonRoot, all()));
    it("run-as-non-root fails uid 0 and an unset user", async () => {
        await fails(security.runAsNonRoot, onServer((c) => (c.securityContext.runAsUser = 0)), [/container "model-server" runs as runAsUser 0/]);
        await fails(
            security.runAsNonRoot,
            edit(serving(), (i) => {
                delete podSpecOf(i).securityContext;
                delete podSpecOf(i).containers[0].securityContext.runAsNonRoot;
            }),
            [/runAsNonRoot \(unset\) and no runAsUser/],
        );
    });

    it("secrets-from-secret-refs passes secretKeyRef and plain settings", () =>
        passes(security.secretsFromSecretRefs, onServer((c) => (c.env = [{ name: "MODEL_PATH", value: "/models" }, { name: "MLFLOW_TRACKING_URI", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }]))));
    it("secrets-from-secret-refs fails literal credentials and ConfigMap credentials, without echoing them", async () => {
        const found = await fails(security.secretsFromSecretRefs, onServer((c) => (c.env = [{ name: "MLFLOW_TRACKING_URI", value: "https://user:hunter2@mlflow.example.com" }])), [
            /container "model-server" env MLFLOW_TRACKING_URI is a literal value that looks like a URL with a password/,
        ]);
        assert.ok(found.every((m) => !m.includes("hunter2")));
        await fails(security.secretsFromSecretRefs, onServer((c) => (c.env = [{ name: "S3_KEY_ID", value: "AKIAABCDEFGHIJKLMNOP" }])), [/looks like an AWS access key id/]);
        await fails(security.secretsFromSecretRefs, onServer((c) => (c.env = [{ name: "DB_PASSWORD", valueFrom: { configMapKeyRef: { name: "cfg", key: "pw" } } }])), [/DB_PASSWORD comes from a ConfigMap/]);
    });
});

describe("policy rules: storage and cluster", () => {
    it("efs-encrypted passes an encrypted file system", () => passes(storage.efsEncrypted, fileSystem(true)));
    it("efs-encrypted fails unencrypted and unset", async () => {
        await fails(storage.efsEncrypted, fileSystem(false), [/EFS file system "efs" has encrypted false/]);
        await fails(storage.efsEncrypted, fileSystem(), [/encrypted \(unset/]);
    });

    const SG = "aws:ec2/securityGroup:SecurityGroup";
    const sgUrn = (name: string) => `urn:pulumi:test::ml-platform::ml-platform:storage:Storage$${SG}::${name}`;
    const nfsFromNodes = { protocol: "tcp", fromPort: NFS_PORT, toPort: NFS_PORT, securityGroups: ["sg-cluster"] };
    const efsStack = (ingress: Obj[], extra: ResourceLike[] = []): ResourceLike[] => [
        { type: SG, name: "efs-sg", inputs: { ingress } },
        { type: "aws:efs/mountTarget:MountTarget", name: "mt-0", inputs: { securityGroups: ["sg-efs"] }, options: { dependsOn: [sgUrn("efs-sg")] } },
        ...extra,
    ];
    it("efs-sg-nfs-from-cluster-only passes 2049 from the cluster's group and ignores other groups", () =>
        passes(storage.efsSecurityGroupNfsFromClusterOnly, efsStack([nfsFromNodes], [{ type: SG, name: "web", inputs: { ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidrBlocks: ["0.0.0.0/0"] }] } }])));
    it("efs-sg-nfs-from-cluster-only fails CIDR sources, other ports, and separate rules on the EFS group", async () => {
        await fails(storage.efsSecurityGroupNfsFromClusterOnly, efsStack([{ ...nfsFromNodes, cidrBlocks: ["0.0.0.0/0"] }]), [/EFS security group rule in "efs-sg" admits tcp 2049-2049 from 0.0.0.0\/0/]);
        await fails(storage.efsSecurityGroupNfsFromClusterOnly, efsStack([{ ...nfsFromNodes, toPort: 65535 }]), [/admits tcp 2049-65535 from security groups/]);
        const rule = {
            type: "aws:ec2/securityGroupRule:SecurityGroupRule",
            name: "extra",
            inputs: { type: "ingress", protocol: "-1", fromPort: 0, toPort: 0, cidrBlocks: ["10.0.0.0/8"] },
            options: { dependsOn: [sgUrn("efs-sg")] },
        };
        await fails(storage.efsSecurityGroupNfsFromClusterOnly, efsStack([nfsFromNodes], [rule]), [/rule in "extra" admits -1 0-0 from 10.0.0.0\/8/]);
    });

    const cluster = (inputs: Obj) => ({ type: "eks:index:Cluster", name: "eks", inputs });
    it("eks-endpoint-not-public passes listed CIDRs and a private endpoint", async () => {
        await passes(storage.eksEndpointNotPublic, cluster({ endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24"] }));
        await passes(storage.eksEndpointNotPublic, cluster({ endpointPrivateAccess: true, endpointPublicAccess: false }));
        await passes(storage.eksEndpointNotPublic, { type: "aws:eks/cluster:Cluster", name: "c", inputs: { vpcConfig: { endpointPrivateAccess: true, endpointPublicAccess: false } } });
    });
    it("eks-endpoint-not-public fails the default and 0.0.0.0/0, on either cluster type", async () => {
        await fails(storage.eksEndpointNotPublic, cluster({ endpointPublicAccess: true }), [/EKS cluster "eks" has a public API endpoint open to 0.0.0.0\/0 \(the default\)/]);
        await fails(storage.eksEndpointNotPublic, { type: "aws:eks/cluster:Cluster", name: "c", inputs: { vpcConfig: { publicAccessCidrs: ["0.0.0.0/0"] } } }, [/open to 0.0.0.0\/0/]);
    });
    it("eks-endpoint-not-public fails private access off, and any public endpoint when the stack demands private-only", async () => {
        await fails(storage.eksEndpointNotPublic, cluster({ endpointPrivateAccess: false, endpointPublicAccess: false }), [/endpointPrivateAccess false: nodes reach the API over the internet/]);
        await fails(storage.eksEndpointNotPublic, cluster({ endpointPrivateAccess: true, endpointPublicAccess: true, publicAccessCidrs: ["198.51.100.0/24"] }), [/this stack requires a private one/], {
            allowPublicEndpoint: false,
        });
    });
});

/** An EKS cluster component as components/cluster.ts builds it: an admin and one app team. */
const ALL_LOGS = ["api", "audit", "authenticator", "controllerManager", "scheduler"];
const ADMIN = "arn:aws:iam::123456789012:role/platform-admins";
const TEAM = "arn:aws:iam::123456789012:role/recsys-team";
const CLUSTER_ADMIN = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy";
function eksCluster(extra: Obj = {}): ResourceLike {
    return {
        type: EKS_COMPONENT,
        name: "eks",
        inputs: {
            endpointPrivateAccess: true,
            endpointPublicAccess: false,
            nodeAssociatePublicIpAddress: false,
            encryptionConfigKeyArn: KEY_ARN,
            enabledClusterLogTypes: ALL_LOGS,
            vpcCniOptions: { enableNetworkPolicy: true },
            accessEntries: {
                "admin-0": { principalArn: ADMIN, accessPolicies: { clusterAdmin: { policyArn: CLUSTER_ADMIN, accessScope: { type: "cluster" } } } },
                "team-recsys": appTeamAccessEntry({ name: "recsys", principalArn: TEAM, namespaces: [NAMESPACES.serving] }),
            },
            ...extra,
        },
    };
}
const teamEntry = (c: ResourceLike): Obj => (c.inputs as Obj).accessEntries["team-recsys"];

/** A node launch template and its node group as components/nodePool.ts builds them. */
function launchTemplate(extra: Obj = {}): ResourceLike {
    return {
        type: LAUNCH_TEMPLATE,
        name: "a10g-lt",
        inputs: {
            metadataOptions: { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 },
            blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 200, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }],
            ...extra,
        },
    };
}
const withLaunchTemplate = (r: ResourceLike) => edit(r, (i) => (i.launchTemplate = { id: "lt-0123456789abcdef0", version: "1" }));

describe("policy rules: control plane and nodes", () => {
    describe("eks-secrets-encrypted", () => {
        const rule = cluster.eksSecretsEncrypted;
        it("passes a KMS key on either cluster type, even while its ARN is unknown in a preview", async () => {
            await passes(rule, eksCluster());
            await passes(rule, eksCluster({ encryptionConfigKeyArn: UNKNOWN_PLACEHOLDER }));
            await passes(rule, { type: EKS_CLUSTER, name: "c", inputs: { encryptionConfig: { provider: { keyArn: KEY_ARN }, resources: ["secrets"] } } });
        });
        it("fails a cluster without a key, or whose encryption config leaves out secrets", async () => {
            await fails(rule, edit(eksCluster(), (i) => delete i.encryptionConfigKeyArn), [/EKS cluster "eks" has no encryptionConfigKeyArn/]);
            await fails(rule, { type: EKS_CLUSTER, name: "c", inputs: { encryptionConfig: { provider: { keyArn: KEY_ARN }, resources: [] } } }, [/no encryptionConfig with a KMS key for resources \["secrets"\]/]);
        });
    });

    describe("eks-control-plane-logging", () => {
        const rule = cluster.eksControlPlaneLogging;
        it("passes api, audit and authenticator (and all five)", async () => {
            await passes(rule, eksCluster({ enabledClusterLogTypes: ["api", "audit", "authenticator"] }));
            await passes(rule, eksCluster(), { requiredLogTypes: ALL_LOGS });
        });
        it("fails a cluster that logs only api, or nothing", async () => {
            await fails(rule, eksCluster({ enabledClusterLogTypes: ["api"] }), [/logs \[api\]; missing audit, authenticator/]);
            await fails(rule, { type: EKS_CLUSTER, name: "c", inputs: {} }, [/logs \[nothing\]; missing api, audit, authenticator/]);
        });
    });

    describe("eks-access-least-privilege (stack)", () => {
        const rule = cluster.eksAccessLeastPrivilege;
        it("passes cluster-admin for admins and namespace-scoped edit for teams, in either world", async () => {
            await passes(rule, eksCluster());
            await passes(rule, [
                { type: ACCESS_ENTRY, name: "team", inputs: { principalArn: TEAM, kubernetesGroups: [appTeamGroup("recsys")] } },
                { type: ACCESS_POLICY_ASSOCIATION, name: "team-edit", inputs: { principalArn: TEAM, policyArn: EKS_EDIT_POLICY, accessScope: { type: "namespace", namespaces: ["ml-serving"] } } },
                // EKS maps node roles to system:nodes itself.
                { type: ACCESS_ENTRY, name: "nodes", inputs: { principalArn: "arn:aws:iam::123456789012:role/nodes", type: "EC2_LINUX", kubernetesGroups: ["system:nodes"] } },
            ]);
        });
        it("fails a team given edit cluster-wide, or cluster-admin beside its namespaced access", async () => {
            await fails(rule, edit(eksCluster(), (i) => (i.accessEntries["team-recsys"].accessPolicies.edit.accessScope = { type: "cluster" })), [
                /access entry "team-recsys" of EKS cluster "eks", policy "edit" grants AmazonEKSEditPolicy cluster-wide/,
                /which is mapped to Kubernetes groups \(an app team\)/,
            ]);
            const admin = { policyArn: CLUSTER_ADMIN, accessScope: { type: "cluster" } };
            await fails(rule, edit(eksCluster(), (i) => (i.accessEntries["team-recsys"].accessPolicies.admin = admin)), [/policy "admin" grants AmazonEKSClusterAdminPolicy cluster-wide to .*recsys-team, which is mapped to Kubernetes groups/]);
        });
        it("fails namespaces outside the workload namespaces, a missing scope and system: groups", async () => {
            const c = eksCluster();
            teamEntry(c).accessPolicies.edit.accessScope.namespaces = ["ml-serving", "kube-system"];
            await fails(rule, c, [/grants AmazonEKSEditPolicy to .*recsys-team in \[ml-serving, kube-system\]; kube-system is not a workload namespace/]);
            await fails(rule, { type: ACCESS_POLICY_ASSOCIATION, name: "x", inputs: { principalArn: TEAM, policyArn: EKS_EDIT_POLICY, accessScope: {} } }, [/access scope "\(unset\)"/]);
            await fails(rule, edit(eksCluster(), (i) => (i.accessEntries["team-recsys"].kubernetesGroups = ["system:masters"])), [/maps .*recsys-team to system:masters/]);
        });
    });

    describe("network-policies-enforced", () => {
        const rule = cluster.networkPoliciesEnforced;
        const addon = (configurationValues?: string): ResourceLike => ({ type: EKS_ADDON, name: "vpc-cni", inputs: { addonName: "vpc-cni", ...(configurationValues ? { configurationValues } : {}) } });
        it("passes a VPC CNI with enableNetworkPolicy, and other add-ons", async () => {
            await passes(rule, [eksCluster(), addon(JSON.stringify({ enableNetworkPolicy: "true" })), { type: EKS_ADDON, name: "efs", inputs: { addonName: "aws-efs-csi-driver" } }]);
        });
        it("fails a cluster without it, on the default CNI, and an add-on without it", async () => {
            await fails(rule, edit(eksCluster(), (i) => delete i.vpcCniOptions), [/runs the VPC CNI without network policy enforcement/]);
            await fails(rule, eksCluster({ useDefaultVpcCni: true }), [/without network policy enforcement/]);
            await fails(rule, addon(), [/EKS add-on "vpc-cni" \(vpc-cni\) has no enableNetworkPolicy "true"/]);
        });
    });

    describe("node-imdsv2-hop-limit", () => {
        const rule = cluster.nodeImdsv2HopLimit;
        it("passes IMDSv2 with hop limit 1, and a disabled metadata endpoint", async () => {
            await passes(rule, launchTemplate());
            await passes(rule, launchTemplate({ metadataOptions: { httpEndpoint: "disabled" } }));
        });
        it("fails hop limit 2, optional tokens and no metadata options", async () => {
            await fails(rule, edit(launchTemplate(), (i) => (i.metadataOptions.httpPutResponseHopLimit = 2)), [/Launch template "a10g-lt" has httpPutResponseHopLimit 2; above 1 lets pods reach the node's IMDS/]);
            await fails(rule, edit(launchTemplate(), (i) => (i.metadataOptions.httpTokens = "optional")), [/httpTokens optional/]);
            await fails(rule, edit(launchTemplate(), (i) => delete i.metadataOptions), [/httpTokens \(unset, i.e. IMDSv1 allowed\)/, /httpPutResponseHopLimit \(unset\)/]);
        });
        it("follows maxHopLimit", () => passes(rule, edit(launchTemplate(), (i) => (i.metadataOptions.httpPutResponseHopLimit = 2)), { maxHopLimit: 2 }));
    });

    describe("node-root-volume-encrypted", () => {
        const rule = cluster.nodeRootVolumeEncrypted;
        it("passes an encrypted gp3 root volume", () => passes(rule, launchTemplate()));
        it("fails an unencrypted mapping and no mapping at all", async () => {
            await fails(rule, edit(launchTemplate(), (i) => (i.blockDeviceMappings[0].ebs.encrypted = "false")), [/maps \/dev\/xvda with ebs.encrypted false/]);
            await fails(rule, edit(launchTemplate(), (i) => delete i.blockDeviceMappings), [/maps no EBS volume/]);
        });
    });

    describe("node-no-ssh-no-public-ip", () => {
        const rule = cluster.nodeNoSshNoPublicIp;
        it("passes the platform's launch template, node groups and cluster", () => passes(rule, [launchTemplate(), withLaunchTemplate(nodeGroup(A10G)), nodeGroup(A10G, AWS_NODE_GROUP), eksCluster()]));
        it("fails SSH access, an SSH key, a public IP and public node addresses", async () => {
            await fails(rule, edit(nodeGroup(A10G), (i) => (i.remoteAccess = { ec2SshKey: "ops" })), [/Node group "a10g-ng" sets remoteAccess \(SSH\)/]);
            await fails(rule, launchTemplate({ keyName: "ops" }), [/sets keyName ops/]);
            await fails(rule, launchTemplate({ networkInterfaces: [{ deviceIndex: 0, associatePublicIpAddress: "true" }] }), [/gives network interface 0 a public IP/]);
            await fails(rule, eksCluster({ nodeAssociatePublicIpAddress: true }), [/sets nodeAssociatePublicIpAddress true/]);
        });
    });

    describe("node-group-uses-launch-template", () => {
        const rule = cluster.nodeGroupUsesLaunchTemplate;
        it("passes node groups with a launch template, in either world", () => passes(rule, [withLaunchTemplate(nodeGroup(A10G)), withLaunchTemplate(nodeGroup(SYSTEM, AWS_NODE_GROUP))]));
        it("fails a node group on EKS's default launch settings", () =>
            fails(rule, nodeGroup(A100), [/node group "a100-ng" \(pool a100, p4d.24xlarge\) has no launchTemplate, so it launches with EKS's defaults/]));
    });
});

describe("policy rules: data protection", () => {
    const FS_URN = "urn:pulumi:test::ml-platform::aws:efs/fileSystem:FileSystem::efs";
    const tlsPolicy = (statements: Obj[]): ResourceLike => ({
        type: "aws:efs/fileSystemPolicy:FileSystemPolicy",
        name: "efs-policy",
        inputs: { fileSystemId: "fs-0123", policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }) },
        options: { dependsOn: [FS_URN] },
    });
    const DENY_PLAIN = { Sid: "DenyInsecureTransport", Effect: "Deny", Principal: { AWS: "*" }, Action: "*", Resource: "arn", Condition: { Bool: { "aws:SecureTransport": "false" } } };
    const ALLOW_MOUNT = { Effect: "Allow", Principal: { AWS: "*" }, Action: ["elasticfilesystem:ClientMount"], Resource: "arn" };
    const backup = (status: string): ResourceLike => ({ type: "aws:efs/backupPolicy:BackupPolicy", name: "efs-backup", inputs: { backupPolicy: { status } }, options: { dependsOn: [FS_URN] } });
    const storageClass = (extra: Obj = {}): ResourceLike => ({
        type: "kubernetes:storage.k8s.io/v1:StorageClass",
        name: "sc",
        inputs: { metadata: { name: "efs-ml" }, provisioner: "efs.csi.aws.com", reclaimPolicy: "Retain", parameters: { provisioningMode: "efs-ap" }, ...extra },
    });
    const protectedAs = (r: ResourceLike, protect: boolean): ResourceLike => ({ ...r, options: { ...r.options, protect } });
    const kmsKey = (inputs: Obj = { enableKeyRotation: true }): ResourceLike => ({ type: "aws:kms/key:Key", name: "efs-key", inputs });
    const pvc: ResourceLike = { type: "kubernetes:core/v1:PersistentVolumeClaim", name: "checkpoints", inputs: { metadata: { name: "checkpoints", namespace: NAMESPACES.training } } };

    it("efs-encrypted fails the AWS-managed key (no kmsKeyId)", () =>
        fails(storage.efsEncrypted, edit(fileSystem(true), (i) => delete i.kmsKeyId), [/EFS file system "efs" is encrypted with the AWS-managed key \(no kmsKeyId\)/]));

    describe("efs-tls-only (stack)", () => {
        const rule = storage.efsTlsOnly;
        it("passes a file system whose policy denies plain NFS, and TLS-mounting StorageClasses", () => passes(rule, [fileSystem(true), tlsPolicy([ALLOW_MOUNT, DENY_PLAIN]), storageClass()]));
        it("fails no policy, a policy without the Deny, and encryptInTransit false", async () => {
            await fails(rule, fileSystem(true), [/EFS file system "efs" has no file system policy, so plain NFS is accepted/]);
            await fails(rule, [fileSystem(true), tlsPolicy([ALLOW_MOUNT])], [/has a file system policy without a Deny on aws:SecureTransport=false/]);
            await fails(rule, [fileSystem(true), tlsPolicy([DENY_PLAIN]), storageClass({ parameters: { encryptInTransit: "false" } })], [/StorageClass "sc" sets encryptInTransit "false"/]);
            const pv = { type: "kubernetes:core/v1:PersistentVolume", name: "pv", inputs: { spec: { csi: { driver: "efs.csi.aws.com", volumeHandle: "fs-1", volumeAttributes: { encryptInTransit: "false" } } } } };
            await fails(rule, [fileSystem(true), tlsPolicy([DENY_PLAIN]), pv], [/PersistentVolume "pv" sets encryptInTransit "false"/]);
        });
    });

    describe("efs-backups-enabled (stack, prod)", () => {
        const rule = storage.efsBackupsEnabled;
        it("passes enabled backups in prod, and disabled ones in dev", async () => {
            await passes(rule, [fileSystem(true), backup("ENABLED")]);
            await passes(rule, [fileSystem(true), backup("DISABLED")], { environment: "dev" });
        });
        it("fails disabled or missing backups in prod", async () => {
            await fails(rule, [fileSystem(true), backup("DISABLED")], [/EFS file system "efs" has backups DISABLED in prod/]);
            await fails(rule, fileSystem(true), [/has backups \(no backup policy\) in prod/], { environment: "prod" });
        });
    });

    describe("efs-lifecycle-to-ia", () => {
        const rule = storage.efsLifecycleToIa;
        it("passes a transition to Infrequent Access", () => passes(rule, edit(fileSystem(true), (i) => (i.lifecyclePolicies = [{ transitionToIa: "AFTER_30_DAYS" }, { transitionToPrimaryStorageClass: "AFTER_1_ACCESS" }]))));
        it("fails a file system that never tiers", () => fails(rule, fileSystem(true), [/EFS file system "efs" has no transitionToIa lifecycle policy/]));
    });

    describe("kms-key-rotation", () => {
        const rule = storage.kmsKeyRotation;
        it("passes rotating keys and leaves asymmetric keys alone", async () => {
            await passes(rule, kmsKey());
            await passes(rule, kmsKey({ customerMasterKeySpec: "RSA_2048" }));
        });
        it("fails rotation off or unset", async () => {
            await fails(rule, kmsKey({ enableKeyRotation: false }), [/KMS key "efs-key" has enableKeyRotation false/]);
            await fails(rule, kmsKey({}), [/enableKeyRotation \(unset, i.e. false\)/]);
        });
    });

    describe("data-protected (prod, reads resource options)", () => {
        const rule = storage.dataProtected;
        it("passes protected data and Retain in prod, and anything in dev", async () => {
            await passes(rule, [protectedAs(fileSystem(true), true), protectedAs(kmsKey(), true), protectedAs(pvc, true), storageClass()]);
            await passes(rule, [fileSystem(true), kmsKey(), pvc, storageClass({ reclaimPolicy: "Delete" })], { environment: "dev" });
        });
        it("fails unprotected data and Delete reclaim in prod", async () => {
            await fails(rule, fileSystem(true), [/EFS file system "efs" is not protected in prod/]);
            await fails(rule, protectedAs(kmsKey(), false), [/KMS key "efs-key" is not protected/]);
            await fails(rule, pvc, [/PersistentVolumeClaim "checkpoints" is not protected/]);
            await fails(rule, storageClass({ reclaimPolicy: "Delete" }), [/StorageClass "efs-ml" has reclaimPolicy Delete in prod/]);
            await fails(rule, storageClass({ reclaimPolicy: undefined }), [/reclaimPolicy \(unset, i.e. Delete\)/]);
        });
        it("sees protect exactly as the engine passes it (resource options, not inputs)", () => {
            assert.equal(resourceArgs(protectedAs(fileSystem(true), true)).opts.protect, true);
            assert.equal(resourceArgs(fileSystem(true)).opts.protect, false);
        });
    });
});

describe("policy rules: pod hardening and network isolation", () => {
    const hardened = (r: ResourceLike) =>
        edit(r, (i) => {
            const spec = podSpecOf(i);
            spec.automountServiceAccountToken = false;
            spec.securityContext = { ...spec.securityContext, seccompProfile: { type: "RuntimeDefault" } };
            for (const c of spec.containers) {
                c.securityContext = { ...c.securityContext, readOnlyRootFilesystem: true };
            }
        });
    const onServer = (fn: (c: Obj) => void) => edit(hardened(serving()), (i) => fn(podSpecOf(i).containers[0]));

    describe("seccomp-runtime-default", () => {
        const rule = security.seccompRuntimeDefault;
        it("passes a pod-level RuntimeDefault, a container Localhost profile and the exempt DCGM exporter", async () => {
            await passes(rule, [hardened(serving()), hardened(job()), nvidiaDaemonSet(DCGM_EXPORTER_NAME)]);
            await passes(rule, edit(serving(), (i) => (podSpecOf(i).containers[0].securityContext.seccompProfile = { type: "Localhost", localhostProfile: "p.json" })));
        });
        it("fails unset and a container that opts out with Unconfined", async () => {
            await fails(rule, serving(), [/Deployment ml-serving\/model container "model-server" has seccomp profile \(unset, i.e. Unconfined\)/]);
            await fails(rule, onServer((c) => (c.securityContext.seccompProfile = { type: "Unconfined" })), [/has seccomp profile Unconfined/]);
            await fails(rule, nvidiaDaemonSet(DEVICE_PLUGIN_NAME), [/DaemonSet kube-system\/nvidia-device-plugin container/]);
        });
    });

    describe("read-only-root-filesystem", () => {
        const rule = security.readOnlyRootFilesystem;
        it("passes read-only containers and the exempt NVIDIA DaemonSets", () => passes(rule, [hardened(serving()), hardened(job()), nvidiaDaemonSet(DEVICE_PLUGIN_NAME), nvidiaDaemonSet(DCGM_EXPORTER_NAME)]));
        it("fails a writable root filesystem, set or unset", async () => {
            await fails(rule, onServer((c) => (c.securityContext.readOnlyRootFilesystem = false)), [/container "model-server" has readOnlyRootFilesystem false/]);
            await fails(rule, job(), [/Job ml-training\/train container "trainer" has readOnlyRootFilesystem \(unset\)/]);
        });
    });

    describe("service-account-token-not-mounted", () => {
        const rule = security.serviceAccountTokenNotMounted;
        it("passes pods that opt out, and allow-listed API callers", async () => {
            await passes(rule, [hardened(serving()), hardened(job())]);
            await passes(rule, serving(), { needsApiToken: ["ml-serving/model"] });
        });
        it("fails a pod that mounts the token, explicitly or by default", async () => {
            await fails(rule, serving(), [/Deployment ml-serving\/model has automountServiceAccountToken \(unset, i.e. true\)/]);
            await fails(rule, edit(hardened(job()), (i) => (podSpecOf(i).automountServiceAccountToken = true)), [/Job ml-training\/train has automountServiceAccountToken true/]);
        });
    });

    describe("network-default-deny (stack)", () => {
        const rule = security.networkDefaultDeny;
        const namespaces: ResourceLike[] = [NAMESPACES.serving, NAMESPACES.training].map((name) => ({ type: "kubernetes:core/v1:Namespace", name, inputs: { metadata: { name } } }));
        const platformPolicies = (): ResourceLike[] => [
            ...namespaces,
            ...networkPolicySpecs({ servingNamespace: NAMESPACES.serving, trainingNamespace: NAMESPACES.training, vpcCidr: "10.30.0.0/16", distributedJobs: ["llm"] }).map((p) => ({
                type: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
                name: `${p.namespace}-${p.name}`,
                inputs: { metadata: { name: p.name, namespace: p.namespace }, spec: p.spec },
            })),
        ];
        it("passes the platform's own policies (components/networkPolicies.ts)", () => passes(rule, platformPolicies()));
        it("leaves namespaces the stack does not create to the stack that does (an app team deploying into ml-serving)", () => passes(rule, hardened(serving())));
        it("fails a namespace with allow rules only, and a 'deny' that selects some pods or allows something", async () => {
            const withoutTrainingDeny = platformPolicies().filter((p) => !(p.name === `${NAMESPACES.training}-${DEFAULT_DENY}`));
            await fails(rule, withoutTrainingDeny, [/Namespace ml-training has no default-deny NetworkPolicy \(3 other policies\)/]);
            const narrowed = platformPolicies().map((p) => (p.name === `${NAMESPACES.serving}-${DEFAULT_DENY}` ? edit(p, (i) => (i.spec.podSelector = { matchLabels: { app: "x" } })) : p));
            await fails(rule, narrowed, [/Namespace ml-serving has no default-deny/]);
            const leaky = platformPolicies().map((p) => (p.name === `${NAMESPACES.serving}-${DEFAULT_DENY}` ? edit(p, (i) => (i.spec.ingress = [{}])) : p));
            await fails(rule, leaky, [/Namespace ml-serving has no default-deny/]);
        });
    });

    describe("namespace-pod-security-restricted", () => {
        const rule = security.namespacePodSecurityRestricted;
        const ns = (name: string, level?: string): ResourceLike => ({
            type: "kubernetes:core/v1:Namespace",
            name,
            inputs: { metadata: { name, labels: level ? { "pod-security.kubernetes.io/enforce": level } : {} } },
        });
        it("passes restricted workload namespaces and ignores others", () => passes(rule, [ns(NAMESPACES.serving, "restricted"), ns(NAMESPACES.training, "restricted"), ns("monitoring")]));
        it("fails a workload namespace on baseline or without the label", async () => {
            await fails(rule, ns(NAMESPACES.serving, "baseline"), [/Namespace ml-serving has pod-security.kubernetes.io\/enforce=baseline/]);
            await fails(rule, ns(NAMESPACES.training), [/enforce=\(unset\)/]);
        });
    });
});

describe("policy runner and config files", () => {
    it("reads dev.json and prod.json, whose taint and instance types match the stacks", () => {
        for (const stack of ["dev", "prod"] as const) {
            const spec = buildStackSpec(rawConfigOf(stack));
            const config = readPolicyConfig(policyConfigFile(spec.tier)) as Obj;
            for (const name of ["gpu-pool-tainted", "gpu-toleration-requires-gpu-request", "gpu-pod-targets-gpu-pool"]) {
                assert.deepEqual(config[name].gpuTaint, spec.gpuTaint, `${stack}: ${name}.gpuTaint`);
            }
            for (const name of ["serving-hpa-bounds", "data-protected", "efs-backups-enabled"]) {
                assert.equal(config[name].environment, spec.tier, `${stack}: ${name}.environment (the tier)`);
            }
            for (const pool of spec.nodePools) {
                assert.ok(config["instance-types-allowed"].allowedInstanceTypes.includes(pool.instanceType), `${stack}: ${pool.instanceType} allowed`);
            }
        }
    });

    describe("rejects what the CLI would reject", () => {
        const dir = mkdtempSync(path.join(tmpdir(), "policy-config-"));
        const write = (content: unknown) => {
            const file = path.join(dir, "config.json");
            writeFileSync(file, JSON.stringify(content));
            return file;
        };
        const known = /allowed: "all" \(an enforcement level\) or one of .*gpu-pool-tainted/;
        const bad: [string, unknown, RegExp][] = [
            ["an unknown policy given as an object", { "gpu-pool-tainted-typo": {} }, known],
            ["an unknown policy given as a level", { "some-unknown-rule": "advisory" }, known],
            ["an unknown policy given as a bad level", { "some-unknown-rule": "strict" }, /no such policy in the pack/],
            ['"all" given as an object', { all: { enforcementLevel: "advisory" } }, /all: must be an enforcement level/],
            ["an unknown property", { "gpu-pool-tainted": { taint: {} } }, /unknown property; gpu-pool-tainted takes gpuTaint/],
            ["a value outside the property's enum", { "serving-hpa-bounds": { environment: "staging" } }, /not a valid one of/],
            ["a level that does not exist", { "efs-encrypted": "strict" }, /not an enforcement level/],
        ];
        for (const [what, content, message] of bad) {
            it(what, () => {
                assert.throws(() => readPolicyConfig(write(content)), (e: Error) => e instanceof UsageError && message.test(e.message));
            });
        }
    });

    it('accepts "all" and known policies as levels', () => {
        const dir = mkdtempSync(path.join(tmpdir(), "policy-config-"));
        const file = path.join(dir, "config.json");
        writeFileSync(file, JSON.stringify({ all: "advisory", "efs-encrypted": "mandatory" }));
        assert.deepEqual(readPolicyConfig(file), { all: "advisory", "efs-encrypted": "mandatory" });
    });

    it("applies enforcement levels from config: advisory, disabled, remediate as mandatory", async () => {
        const bad = fileSystem(false);
        assert.equal((await runPolicies([bad], { "efs-encrypted": "advisory" }, [storage.efsEncrypted]))[0].enforcementLevel, "advisory");
        assert.deepEqual(await runPolicies([bad], { "efs-encrypted": { enforcementLevel: "disabled" } }, [storage.efsEncrypted]), []);
        assert.equal((await runPolicies([bad], { all: "remediate" }, [storage.efsEncrypted]))[0].enforcementLevel, "mandatory");
    });

    it("reports a rule that reads an unknown value as advisory, like a preview", async () => {
        const v = await runPolicies([{ type: "aws:efs/fileSystem:FileSystem", name: "efs", inputs: { encrypted: UNKNOWN_PLACEHOLDER } }], {}, [storage.efsEncrypted]);
        assert.equal(v.length, 1);
        assert.equal(v[0].enforcementLevel, "advisory");
        assert.match(v[0].message, /can't run policy 'efs-encrypted' during preview/);
    });

    it("builds engine-shaped args: config, type helpers, parents and dependencies", () => {
        const args = resourceArgs(nodeGroup(A10G), { gpuTaint: TAINT });
        assert.deepEqual(args.getConfig(), { gpuTaint: TAINT });
        assert.equal(args.type, MANAGED_NODE_GROUP);
        assert.match(args.urn, /::eks:index:ManagedNodeGroup::a10g-ng$/);
        const stack = stackArgs(efs());
        const mt = stack.resources.find((r) => r.name === "mt-0")!;
        assert.deepEqual(
            mt.dependencies.map((d) => d.name),
            ["efs-sg"],
        );
        function efs(): ResourceLike[] {
            return [
                { type: "aws:ec2/securityGroup:SecurityGroup", name: "efs-sg", inputs: {} },
                { type: "aws:efs/mountTarget:MountTarget", name: "mt-0", inputs: {}, options: { dependsOn: ["urn:pulumi:test::ml-platform::x:y:Z$aws:ec2/securityGroup:SecurityGroup::efs-sg"] } },
            ];
        }
    });
});
