/**
 * GPU sharing (issue 17): time-slicing and MIG from one pool key to every layer that counts GPUs.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import { kubeletNode, nodeAllocatable } from "../capacity/allocatable";
import { instanceType } from "../capacity/catalog";
import { nvidiaDaemonSetLoads } from "../capacity/nvidiaDaemonSets";
import { GPU_RESOURCE, poolLabels, poolTaints, DEFAULT_GPU_TAINT, NodePoolShape } from "../capacity/pools";
import { requiredAffinityMatches } from "../capacity/predicates";
import {
    devicePluginConfig,
    devicePluginConfigName,
    gpuDevices,
    GpuSharing,
    LABEL_DEVICE_PLUGIN_CONFIG,
    LABEL_MIG_CONFIG,
    LABEL_MIG_CONFIG_STATE,
    MIG_PROFILES,
    migPartedConfig,
    poolDevices,
    runtimeLabels,
    sharingFromLabels,
    sharingLabels,
    sharingProblems,
    timeSlicedMemory,
} from "../capacity/sharing";
import { nodeQuota } from "../capacity/queues";
import { nodeResources } from "../conformance/nodes";
import { readStackConfigFile } from "../plan/stackConfig";
import { runProgram } from "../plan/run";
import { buildStackSpec, RawConfig } from "../stacks/validate";
import { problemsOf, ROOT } from "./helpers";

const EXAMPLE = path.join(ROOT, "examples", "gpu-sharing", "Pulumi.gpu-sharing.yaml");
const GIB = 2 ** 30;
const TS4: GpuSharing = { timeSlicing: { replicas: 4 } };
const MIG3G: GpuSharing = { mig: { profile: "3g.20gb" } };

function exampleRaw(): RawConfig {
    const file = readStackConfigFile(EXAMPLE);
    const values: Record<string, string> = {};
    for (const [k, v] of Object.entries(file.values)) if (k.startsWith("ml-platform:")) values[k.slice("ml-platform:".length)] = v;
    return { project: "ml-platform", stack: "gpu-sharing", region: file.values["aws:region"], values, secretKeys: ["mlflowTrackingUri"] };
}

function edit(raw: RawConfig, key: string, change: (v: any) => any): RawConfig {
    const values = { ...raw.values, [key]: JSON.stringify(change(JSON.parse(raw.values[key]))) };
    return { ...raw, values };
}

describe("capacity/sharing: devices of a shared GPU", () => {
    it("time-slicing multiplies the GPUs and keeps the whole GPU's memory, one replica per pod", () => {
        const d = gpuDevices(instanceType("g5.12xlarge").gpu!, TS4);
        assert.deepEqual([d.mode, d.gpus, d.perNode, d.memoryMiB, d.maxPerPod, d.perGpu], ["time-slicing", 4, 16, 22888, 1, 4]);
    });

    it("MIG uses the profile's slice count and memory for the GPU model: 1g.10gb is 4 on a 40GB A100 and 7 on an 80GB one", () => {
        assert.deepEqual(pick(gpuDevices(instanceType("p4d.24xlarge").gpu!, MIG3G)), [16, 19968, 1]);
        assert.deepEqual(pick(gpuDevices(instanceType("p4d.24xlarge").gpu!, { mig: { profile: "1g.10gb" } })), [32, 9856, 1]);
        assert.deepEqual(pick(gpuDevices(instanceType("p4de.24xlarge").gpu!, { mig: { profile: "1g.10gb" } })), [56, 9856, 1]);
        assert.deepEqual(pick(gpuDevices(instanceType("p4d.24xlarge").gpu!, undefined)), [8, 40960, 8]);
        function pick(d: ReturnType<typeof gpuDevices>) {
            return [d.perNode, d.memoryMiB, d.maxPerPod];
        }
    });

    it("a slice never holds more memory than its GPU, and more slices never mean bigger ones", () => {
        for (const [model, profiles] of Object.entries(MIG_PROFILES)) {
            const gpuMiB = model === "A100-40GB" ? 40960 : 81920;
            for (const p of profiles!) {
                assert.ok(p.memoryMiB * p.perGpu <= gpuMiB, `${model} ${p.name}`);
                assert.ok(p.perGpu >= 1 && p.perGpu <= 7, `${model} ${p.name}`);
            }
        }
    });

    it("the labels a pool's config writes read back as the same sharing, and no labels as none", () => {
        for (const s of [TS4, MIG3G, { timeSlicing: { replicas: 16 } }, { mig: { profile: "1g.5gb" } }] as GpuSharing[]) {
            assert.deepEqual(sharingFromLabels(sharingLabels(s)), s);
        }
        assert.equal(sharingFromLabels(sharingLabels(undefined)), undefined);
        assert.equal(sharingFromLabels({ "node-pool": "a10g" }), undefined);
    });

    it("a MIG node as it runs carries the MIG manager's success label; other nodes are unchanged", () => {
        assert.equal(runtimeLabels(sharingLabels(MIG3G))[LABEL_MIG_CONFIG_STATE], "success");
        const plain = poolLabels({ name: "a10g", instanceType: "g5.xlarge", sharing: TS4 });
        assert.equal(runtimeLabels(plain), plain);
    });

    it("refuses MIG on a GPU without it, an unknown profile (listing the model's), H100 (no measured table) and sharing on a CPU pool", () => {
        const [onA10g] = sharingProblems("g5.xlarge", instanceType("g5.xlarge").gpu, MIG3G);
        assert.match(onA10g.wrong, /A10G \(g5\.xlarge\) has no MIG/);
        const [unknown] = sharingProblems("p4d.24xlarge", instanceType("p4d.24xlarge").gpu, { mig: { profile: "3g.40gb" } });
        assert.equal(unknown.allowed, "1g.5gb, 1g.10gb, 2g.10gb, 3g.20gb, 4g.20gb, 7g.40gb");
        const [h100] = sharingProblems("p5.48xlarge", instanceType("p5.48xlarge").gpu, MIG3G);
        assert.match(h100.wrong, /no measured MIG table for H100-80GB/);
        const [cpu] = sharingProblems("m6i.xlarge", undefined, TS4);
        assert.match(cpu.wrong, /has no GPU/);
        assert.deepEqual(sharingProblems("p4d.24xlarge", instanceType("p4d.24xlarge").gpu, MIG3G), []);
    });
});

describe("capacity/sharing: one node, seen the same everywhere", () => {
    const pools: NodePoolShape[] = [
        { name: "system", instanceType: "m6i.xlarge" },
        { name: "a10g", instanceType: "g5.xlarge", sharing: TS4 },
        { name: "a100", instanceType: "p4d.24xlarge", sharing: MIG3G },
        { name: "whole", instanceType: "g5.12xlarge" },
    ];

    it("the kubelet's nvidia.com/gpu, the kwok node's and the pool's devices agree for every pool", () => {
        for (const pool of pools.slice(1)) {
            const labels = poolLabels(pool);
            const devices = poolDevices(pool)!.perNode;
            assert.equal(kubeletNode(instanceType(pool.instanceType), labels).allocatable.extended[GPU_RESOURCE], devices, pool.name);
            assert.equal(nodeResources(instanceType(pool.instanceType), labels).capacity[GPU_RESOURCE], String(devices), pool.name);
        }
    });

    it("Kueue's nominal GPU quota per node is the advertised devices", () => {
        assert.equal(nodeQuota(pools[1], DEFAULT_GPU_TAINT, pools).gpus, 4);
        assert.equal(nodeQuota(pools[2], DEFAULT_GPU_TAINT, pools).gpus, 16);
        assert.equal(nodeQuota(pools[3], DEFAULT_GPU_TAINT, pools).gpus, 4);
    });

    it("with a MIG pool, the device plugin and DCGM exporter land on every GPU node as it runs, never on a paused or unpartitioned MIG node", () => {
        const loads = nvidiaDaemonSetLoads(pools, DEFAULT_GPU_TAINT);
        const plugin = loads.find((l) => l.name === "nvidia-device-plugin")!;
        const dcgm = loads.find((l) => l.name === "dcgm-exporter")!;
        for (const ds of [plugin, dcgm]) {
            for (const pool of pools.slice(1)) {
                const node = nodeAllocatable(instanceType(pool.instanceType), poolTaints(pool, DEFAULT_GPU_TAINT), poolLabels(pool), loads);
                assert.ok(node.daemonSets.includes(ds.name), `${ds.name} on ${pool.name}`);
            }
            const mig = poolLabels(pools[2]);
            assert.equal(requiredAffinityMatches(ds.affinity, { labels: mig }), false, `${ds.name} before partitioning`);
            assert.equal(requiredAffinityMatches(ds.affinity, { labels: { ...runtimeLabels(mig), "nvidia.com/gpu.deploy.device-plugin": "paused-for-mig-change", "nvidia.com/gpu.deploy.dcgm-exporter": "paused-for-mig-change" } }), false, `${ds.name} paused`);
        }
        const migManager = loads.find((l) => l.name === "nvidia-mig-manager")!;
        const on = pools.filter((p) => nodeAllocatable(instanceType(p.instanceType), poolTaints(p, DEFAULT_GPU_TAINT), poolLabels(p), loads).daemonSets.includes(migManager.name)).map((p) => p.name);
        assert.deepEqual(on, ["a100"]);
    });

    it("without sharing, the NVIDIA DaemonSets are what they were: no affinity, no config-manager, no MIG manager", () => {
        const loads = nvidiaDaemonSetLoads([{ name: "a10g", instanceType: "g5.xlarge" }], DEFAULT_GPU_TAINT);
        assert.deepEqual(loads.map((l) => [l.name, l.affinity, l.requests.cpuMillis]), [
            ["nvidia-device-plugin", undefined, 50],
            ["dcgm-exporter", undefined, 100],
        ]);
        // The config-manager sidecar's requests count once a pool shares.
        assert.equal(nvidiaDaemonSetLoads([pools[1]], DEFAULT_GPU_TAINT)[0].requests.cpuMillis, 60);
    });
});

describe("capacity/sharing: the configs NVIDIA's components read", () => {
    it("the device plugin's time-slicing config refuses a pod more than one replica; MIG uses the single strategy", () => {
        assert.deepEqual(devicePluginConfig(TS4), {
            version: "v1",
            flags: { migStrategy: "none", failOnInitError: true },
            sharing: { timeSlicing: { renameByDefault: false, failRequestsGreaterThanOne: true, resources: [{ name: "nvidia.com/gpu", replicas: 4 }] } },
        });
        assert.deepEqual(devicePluginConfig(MIG3G), { version: "v1", flags: { migStrategy: "single", failOnInitError: true } });
        assert.equal(devicePluginConfigName(TS4), "time-slicing-4");
    });

    it("mig-parted's config holds every profile a pool uses, per GPU model (device-filter), and all-disabled", () => {
        const c = migPartedConfig([
            { model: "A100-40GB", profile: "1g.10gb" },
            { model: "A100-80GB", profile: "1g.10gb" },
            { model: "A100-40GB", profile: "3g.20gb" },
        ]) as { "mig-configs": Record<string, { "device-filter"?: string; "mig-devices"?: Record<string, number> }[]> };
        assert.deepEqual(Object.keys(c["mig-configs"]), ["all-disabled", "all-1g.10gb", "all-3g.20gb"]);
        assert.deepEqual(c["mig-configs"]["all-1g.10gb"].map((e) => [e["device-filter"], e["mig-devices"]]), [
            ["0x20B010DE", { "1g.10gb": 4 }],
            ["0x20B210DE", { "1g.10gb": 7 }],
        ]);
    });
});

describe("capacity/sharing: time-sliced memory", () => {
    it("sums the `replicas` largest pods, each workload counted once per pod", () => {
        const pods = [
            { workload: "small", estimateBytes: 2 * GIB, pods: 3 },
            { workload: "big", estimateBytes: 9 * GIB, pods: 2 },
        ];
        // 22,888 MiB less 10%: 20.1 GiB. Three pods share 20 GiB at worst; four, 22.
        const check = timeSlicedMemory(3, 22888 * 2 ** 20, 0.1, pods);
        assert.equal(check.sumBytes, 20 * GIB);
        assert.deepEqual(check.worst, [
            { workload: "big", pods: 2, estimateBytes: 9 * GIB },
            { workload: "small", pods: 1, estimateBytes: 2 * GIB },
        ]);
        assert.equal(check.fits, true);
        assert.equal(timeSlicedMemory(4, 22888 * 2 ** 20, 0.1, pods).fits, false);
    });

    it("fewer pods than replicas: all of them", () => {
        assert.equal(timeSlicedMemory(8, 22888 * 2 ** 20, 0.1, [{ workload: "a", estimateBytes: GIB, pods: 2 }]).sumBytes, 2 * GIB);
    });
});

describe("config: sharing pools, validated before anything is created", () => {
    const raw = exampleRaw();

    it("the example stack is valid: auto puts the 7B int8 model on a MIG slice, never on the time-sliced pool", () => {
        const spec = buildStackSpec(raw);
        const chat = spec.serving.find((s) => s.name === "chat-7b-int8")!;
        assert.equal(chat.pool, "a100-mig");
        assert.equal(chat.gpus, 1);
        assert.ok(chat.gpuMemoryEstimateBytes! <= 19968 * 2 ** 20 * 0.9);
        const ts = chat.placement!.candidates.find((c) => c.pool === "a10g-shared")!;
        assert.equal(ts.verdict, "rejected");
        assert.match(ts.reason, /time-sliced \(4 replicas per GPU, no memory isolation\)/);
        // vLLM's memory fraction is of the slice.
        assert.equal(chat.vllm!.gpuMemoryUtilization, Math.ceil((chat.gpuMemoryEstimateBytes! / (19968 * 2 ** 20)) * 100) / 100);
    });

    it("names the key, the value and what is allowed: a profile the GPU has not, both modes, one replica", () => {
        const pools = (change: (p: any) => void) => problemsOf(edit(raw, "nodePools", (p) => (change(p), p)));
        assert.ok(pools((p) => (p["a100-mig"].sharing = { mig: { profile: "3g.40gb" } })).some((x) => /nodePools\.a100-mig\.sharing\.mig\.profile is not a MIG profile of A100-40GB.*3g\.40gb.*allowed: 1g\.5gb, 1g\.10gb, 2g\.10gb, 3g\.20gb, 4g\.20gb, 7g\.40gb/.test(x)));
        assert.ok(pools((p) => (p["a10g-shared"].sharing = { mig: { profile: "3g.20gb" } })).some((x) => /nodePools\.a10g-shared\.sharing\.mig.*A10G \(g5\.xlarge\) has no MIG/.test(x)));
        assert.ok(pools((p) => (p["a10g-shared"].sharing = { timeSlicing: { replicas: 4 }, mig: { profile: "3g.20gb" } })).some((x) => /nodePools\.a10g-shared\.sharing.*exactly one of timeSlicing or mig/.test(x)));
        assert.ok(pools((p) => (p["a10g-shared"].sharing = { timeSlicing: { replicas: 1 } })).some((x) => /nodePools\.a10g-shared\.sharing\.timeSlicing\.replicas.*>= 2/.test(x)));
        assert.ok(pools((p) => (p.system.sharing = { timeSlicing: { replicas: 2 } })).some((x) => /nodePools\.system\.sharing.*m6i\.xlarge has no GPU/.test(x)));
    });

    it("a bad profile reports once and places nothing on that pool (no crash, no cascade)", () => {
        const problems = problemsOf(edit(raw, "nodePools", (p) => ((p["a100-mig"].sharing = { mig: { profile: "9g.99gb" } }), p)));
        assert.equal(problems.length, 1, problems.join("\n"));
    });

    it("a pod on a shared pool asks for one device", () => {
        const problems = problemsOf(edit(raw, "training", (t) => ((t[0].gpusPerPod = 2), t)));
        assert.ok(problems.some((x) => /training\[0\]\.gpusPerPod must be 1: pool "a100-mig" cuts its GPUs into MIG 3g\.20gb slices/.test(x)), problems.join("\n"));
    });

    it("a workload on a time-sliced pool declares its model", () => {
        const problems = problemsOf(edit(raw, "serving", (s) => (delete s[0].model, s)));
        assert.ok(problems.some((x) => /serving\[0\] needs a model block on pool "a10g-shared": time-slicing gives no memory isolation/.test(x)), problems.join("\n"));
    });

    it("the replicas largest pods that may share one GPU must fit it: exit 2 names them and the replica count that would", () => {
        const problems = problemsOf(edit(raw, "serving", (s) => ((s[0].model.batchSize = 8), s)));
        const line = problems.find((x) => x.startsWith("ml-platform:nodePools.a10g-shared.sharing.timeSlicing.replicas"));
        assert.ok(line, problems.join("\n"));
        assert.match(line!, /4 pods may share one GPU and the largest 4 placed here need .* \(4 x embedder/);
        assert.match(line!, /allowed: replicas <= [23]/);
    });

    it("sharing is refused with EFA and with Karpenter, each with its reason", () => {
        const efa = problemsOf(edit(raw, "nodePools", (p) => ((p["a100-mig"].efa = true), (p["a100-mig"].availabilityZones = ["us-east-1a"]), p)));
        assert.ok(efa.some((x) => /nodePools\.a100-mig\.efa is true on a pool that shares its GPUs/.test(x)), efa.join("\n"));
        const karpenter = problemsOf({ ...raw, values: { ...raw.values, nodeProvisioner: JSON.stringify("karpenter") } });
        assert.ok(karpenter.some((x) => /nodePools\.a10g-shared\.sharing is set, but with ml-platform:nodeProvisioner karpenter/.test(x)), karpenter.join("\n"));
    });

    it("a GPU pipeline step never goes to a time-sliced pool, and gets one slice on a MIG pool", () => {
        const step = (pool: string, gpus: number) => ({ name: "train", image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/t:v1", command: ["python"], pool, gpus, cpu: "1", memory: "4Gi", expectedMinutes: 30 });
        const withSteps = (steps: object[]) => ({ ...raw, values: { ...raw.values, pipelines: JSON.stringify([{ name: "p", steps }]) } });
        assert.ok(problemsOf(withSteps([step("a10g-shared", 1)])).some((x) => /time-slices its GPUs \(no memory isolation\)/.test(x)));
        assert.ok(problemsOf(withSteps([step("a100-mig", 2)])).some((x) => /a step gets one .* and asks for 2/.test(x)));
        const spec = buildStackSpec(withSteps([step("auto", 1)]));
        assert.equal(spec.pipelines![0].steps[0].pool, "a100-mig");
    });
});

describe("the gpu-sharing example under mocks: cross-resource invariants", () => {
    let objects: { type: string; name: string; inputs: any }[];
    before(async function () {
        this.timeout(120_000);
        objects = (await runProgram("gpu-sharing", EXAMPLE)).resources;
    });
    const k8s = (kind: string, name: string) => objects.find((r) => r.type.endsWith(`:${kind}`) && r.inputs.metadata?.name === name)?.inputs;
    const nodeGroups = () => objects.filter((r) => r.type === "eks:index:ManagedNodeGroup").map((r) => r.inputs);

    it("every node group's device-plugin config label names a key of the plugin's ConfigMap, and the plugin reads that label", () => {
        const configs = k8s("ConfigMap", "nvidia-device-plugin-configs");
        const used = nodeGroups().map((g) => g.labels[LABEL_DEVICE_PLUGIN_CONFIG]).filter((v) => v !== undefined);
        assert.deepEqual(used.sort(), ["mig-single", "time-slicing-4"]);
        for (const key of [...used, "default"]) assert.ok(configs.data[key], key);
        assert.deepEqual(JSON.parse(configs.data["time-slicing-4"]).sharing.timeSlicing.resources, [{ name: "nvidia.com/gpu", replicas: 4 }]);
        const ds = k8s("DaemonSet", "nvidia-device-plugin").spec.template.spec;
        for (const c of [ds.initContainers[0], ds.containers.find((x: any) => x.name === "config-manager")]) {
            const env = Object.fromEntries(c.env.filter((e: any) => e.value !== undefined).map((e: any) => [e.name, e.value]));
            assert.equal(env.NODE_LABEL, LABEL_DEVICE_PLUGIN_CONFIG);
            assert.equal(env.DEFAULT_CONFIG, "default");
        }
        assert.ok(ds.volumes.some((v: any) => v.configMap?.name === "nvidia-device-plugin-configs"));
    });

    it("every MIG pool's nvidia.com/mig.config names an entry of the MIG manager's config, and the manager runs on exactly those pools", () => {
        const parted = JSON.parse(k8s("ConfigMap", "nvidia-mig-parted-config").data["config.yaml"]);
        const migPools = nodeGroups().filter((g) => g.labels[LABEL_MIG_CONFIG] !== undefined);
        assert.equal(migPools.length, 1);
        for (const g of migPools) assert.ok(parted["mig-configs"][g.labels[LABEL_MIG_CONFIG]], g.labels[LABEL_MIG_CONFIG]);
        const manager = k8s("DaemonSet", "nvidia-mig-manager").spec.template.spec;
        const selects = (labels: Record<string, string>) => Object.entries(manager.nodeSelector).every(([k, v]) => labels[k] === v);
        assert.deepEqual(nodeGroups().filter((g) => selects(g.labels)).map((g) => g.labels["node-pool"]), ["a100-mig"]);
        assert.ok(manager.containers[0].env.some((e: any) => e.name === "DEFAULT_GPU_CLIENTS_NAMESPACE" && e.value === "kube-system"));
    });

    it("the pods the MIG manager waits on carry the labels it waits for", () => {
        assert.equal(k8s("DaemonSet", "nvidia-device-plugin").spec.template.metadata.labels.app, "nvidia-device-plugin-daemonset");
        assert.equal(k8s("DaemonSet", "dcgm-exporter").spec.template.metadata.labels.app, "nvidia-dcgm-exporter");
    });

    it("Cluster Autoscaler's scale-from-zero template advertises the pool's devices, and carries the sharing labels", () => {
        const tag = (pool: string, key: string) =>
            objects.find((r) => r.type === "aws:autoscaling/tag:Tag" && r.name.includes(`-${pool}-`) && r.inputs.tag.key === `k8s.io/cluster-autoscaler/node-template/${key}`)?.inputs.tag.value;
        assert.equal(tag("a10g-shared", "resources/nvidia.com/gpu"), "4");
        assert.equal(tag("a100-mig", "resources/nvidia.com/gpu"), "16");
        assert.equal(tag("a100-mig", `label/${LABEL_MIG_CONFIG}`), "all-3g.20gb");
        assert.equal(tag("a10g-shared", `label/${LABEL_DEVICE_PLUGIN_CONFIG}`), "time-slicing-4");
    });
});
