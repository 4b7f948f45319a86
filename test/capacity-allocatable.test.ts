import assert from "node:assert/strict";
import { instanceType } from "../capacity/catalog";
import {
    DaemonSetLoad,
    EKS_SYSTEM_DAEMONSETS,
    EVICTION_HARD_MEMORY_BYTES,
    daemonSetLands,
    kubeReserved,
    kubeletMaxPods,
    kubeletNode,
    nodeAllocatable,
} from "../capacity/allocatable";
import { GPU_RESOURCE, Taint, gpuNodeSelector, poolLabels, poolTaints, poolTolerations } from "../capacity/pools";
import { NO_RESOURCES, gpusOf } from "../capacity/resources";

const MIB = 2 ** 20;
const gpuTaint: Taint = { key: "nvidia.com/gpu", value: "true", effect: "NoSchedule" };

const a10gPool = { name: "gpu-a10g-4x", instanceType: "g5.12xlarge" };
const cpuPool = { name: "system", instanceType: "m6i.xlarge" };

/** Our own GPU DaemonSet: tolerates the GPU taint and selects GPU nodes only (dcgm-exporter defaults). */
const dcgmExporter: DaemonSetLoad = {
    name: "dcgm-exporter",
    requests: { ...NO_RESOURCES, cpuMillis: 100, memoryBytes: 128 * MIB },
    tolerations: poolTolerations(a10gPool, gpuTaint),
    nodeSelector: gpuNodeSelector(),
};

describe("capacity/allocatable", () => {
    describe("kubeletMaxPods", () => {
        it("keeps the ENI value when it is under the managed node group cap", () => {
            assert.equal(kubeletMaxPods(instanceType("g5.xlarge")), 58);
            assert.equal(kubeletMaxPods(instanceType("m6i.large")), 29);
            assert.equal(kubeletMaxPods(instanceType("p5.48xlarge")), 100);
        });

        it("caps at 110 below 30 vCPU and at 250 from 30 vCPU", () => {
            assert.equal(kubeletMaxPods(instanceType("g5.4xlarge")), 110); // 16 vCPU, ENI 234
            assert.equal(kubeletMaxPods(instanceType("g5.8xlarge")), 234); // 32 vCPU, ENI 234 < 250
            assert.equal(kubeletMaxPods(instanceType("g5.12xlarge")), 250); // ENI 737
            assert.equal(kubeletMaxPods(instanceType("p4d.24xlarge")), 250);
        });
    });

    describe("kubeReserved (AL2023 nodeadm)", () => {
        it("matches the reference worked examples", () => {
            assert.deepEqual(kubeReserved(instanceType("g5.xlarge")), { cpuMillis: 80, memoryBytes: 893 * MIB });
            assert.deepEqual(kubeReserved(instanceType("m6i.xlarge")), { cpuMillis: 80, memoryBytes: 893 * MIB });
            assert.deepEqual(kubeReserved(instanceType("g5.12xlarge")), { cpuMillis: 190, memoryBytes: 8362 * MIB });
            assert.deepEqual(kubeReserved(instanceType("p4d.24xlarge")), { cpuMillis: 310, memoryBytes: 8362 * MIB });
        });

        it("reserves memory for the uncapped ENI max pods, not the kubelet's capped value", () => {
            // g5.12xlarge runs at most 250 pods but reserves for 737: 11 x 737 + 255.
            assert.equal(kubeReserved(instanceType("g5.12xlarge")).memoryBytes, (11 * 737 + 255) * MIB);
        });

        it("walks the CPU tiers below four cores", () => {
            // m6i.large: 60 (first core) + 10 (second).
            assert.equal(kubeReserved(instanceType("m6i.large")).cpuMillis, 70);
            const oneCore = { ...instanceType("m6i.large"), vcpu: 1 };
            assert.equal(kubeReserved(oneCore).cpuMillis, 60);
            const threeCores = { ...instanceType("m6i.large"), vcpu: 3 };
            assert.equal(kubeReserved(threeCores).cpuMillis, 75);
        });
    });

    describe("kubeletNode", () => {
        it("gives capacity (vCPU, OS-visible memory, max pods, GPUs) and allocatable before any DaemonSet", () => {
            const node = kubeletNode(instanceType("g5.12xlarge"));
            assert.deepEqual(node.capacity, { cpuMillis: 48000, memoryBytes: Math.floor(192 * 1024 * 0.925) * MIB, extended: { [GPU_RESOURCE]: 4 }, pods: 250 });
            assert.deepEqual(node.allocatable, { cpuMillis: 47810, memoryBytes: 173400 * MIB, extended: { [GPU_RESOURCE]: 4 }, pods: 250 });
            assert.deepEqual(kubeletNode(instanceType("m6i.xlarge")).capacity.extended, {});
        });

        it("is what nodeAllocatable starts from", () => {
            for (const name of ["g5.xlarge", "g5.12xlarge", "p4d.24xlarge", "m6i.xlarge"]) {
                const { daemonSets, ...free } = nodeAllocatable(instanceType(name), [], {}, []);
                assert.deepEqual(free, kubeletNode(instanceType(name)).allocatable, name);
                assert.deepEqual(daemonSets, []);
            }
        });
    });

    describe("nodeAllocatable", () => {
        it("is capacity minus reserved minus 100Mi eviction with no DaemonSets", () => {
            const g5 = instanceType("g5.12xlarge");
            const alloc = nodeAllocatable(g5, poolTaints(a10gPool, gpuTaint), poolLabels(a10gPool), []);
            // CPU agrees with Karpenter's published 47810m.
            assert.equal(alloc.cpuMillis, 47810);
            // 196608Mi less 7.5% the OS never sees, less reserved and eviction: Karpenter's 173400Mi.
            assert.equal(alloc.memoryBytes, Math.floor(192 * 1024 * 0.925) * MIB - 8362 * MIB - EVICTION_HARD_MEMORY_BYTES);
            assert.equal(alloc.memoryBytes / MIB, 173400);
            assert.equal(gpusOf(alloc), 4);
            assert.equal(alloc.pods, 250);
            assert.deepEqual(alloc.daemonSets, []);
        });

        it("gives g5.xlarge 3920m before DaemonSets, as Karpenter's table does", () => {
            const alloc = nodeAllocatable(instanceType("g5.xlarge"), [gpuTaint], {}, []);
            assert.equal(alloc.cpuMillis, 3920);
            assert.equal(alloc.memoryBytes / MIB, 14162);
        });

        it("subtracts the EKS system DaemonSets everywhere, tainted or not", () => {
            const gpu = nodeAllocatable(instanceType("g5.12xlarge"), [gpuTaint], poolLabels(a10gPool), EKS_SYSTEM_DAEMONSETS);
            assert.deepEqual(gpu.daemonSets, ["aws-node", "kube-proxy", "eks-pod-identity-agent", "efs-csi-node"]);
            assert.equal(gpu.cpuMillis, 47810 - 150);
            assert.equal(gpu.pods, 250 - 4);
            const cpu = nodeAllocatable(instanceType("m6i.xlarge"), [], poolLabels(cpuPool), EKS_SYSTEM_DAEMONSETS);
            assert.equal(cpu.cpuMillis, 4000 - 80 - 150);
            assert.equal(cpu.pods, 58 - 4);
        });

        it("counts a GPU DaemonSet on GPU nodes only", () => {
            const daemonSets = [...EKS_SYSTEM_DAEMONSETS, dcgmExporter];
            const gpu = nodeAllocatable(
                instanceType("g5.12xlarge"),
                poolTaints(a10gPool, gpuTaint),
                poolLabels(a10gPool),
                daemonSets,
            );
            assert.ok(gpu.daemonSets.includes("dcgm-exporter"));
            assert.equal(gpu.cpuMillis, 47810 - 250);
            assert.equal(gpu.memoryBytes / MIB, 173400 - 128);
            assert.equal(gpu.pods, 245);
            const cpu = nodeAllocatable(instanceType("m6i.xlarge"), poolTaints(cpuPool, gpuTaint), poolLabels(cpuPool), daemonSets);
            assert.ok(!cpu.daemonSets.includes("dcgm-exporter"));
            assert.equal(cpu.pods, 54);
        });
    });

    describe("Karpenter's published allocatable", () => {
        for (const [name, cpu, memMi] of [
            ["g5.xlarge", 3920, 14162],
            ["g5.12xlarge", 47810, 173400],
            ["p4d.24xlarge", 95690, 1082712],
        ] as const) {
            it(`matches ${name}: ${cpu}m / ${memMi}Mi`, () => {
                const alloc = nodeAllocatable(instanceType(name), [], {}, []);
                assert.equal(alloc.cpuMillis, cpu);
                assert.equal(alloc.memoryBytes / MIB, memMi);
            });
        }
    });

    describe("daemonSetLands", () => {
        it("keeps a DaemonSet without tolerations off tainted nodes", () => {
            const plain: DaemonSetLoad = { ...dcgmExporter, name: "plain", tolerations: [], nodeSelector: {} };
            assert.equal(daemonSetLands(plain, [gpuTaint], {}), false);
            assert.equal(daemonSetLands(plain, [], {}), true);
        });

        it("treats Exists with no key as tolerating every taint", () => {
            const noExecute: Taint = { key: "dedicated", value: "batch", effect: "NoExecute" };
            assert.equal(daemonSetLands(EKS_SYSTEM_DAEMONSETS[0], [gpuTaint, noExecute], {}), true);
        });

        it("needs its nodeSelector to match", () => {
            assert.equal(daemonSetLands(dcgmExporter, [gpuTaint], poolLabels(a10gPool)), true);
            assert.equal(daemonSetLands(dcgmExporter, [], poolLabels(cpuPool)), false);
        });
    });
});
