/**
 * The instance catalog: the single source of truth for what each EC2 instance type offers.
 * Node pool labels (gpu-count, accelerator), the device plugin's reach, right-sizing, the
 * scheduling simulation and the cost report are all derived from these rows.
 *
 * Sources (recorded so a reader knows when the numbers were true):
 * - specs: Karpenter's generated instance-type reference (values as the EC2 API reports them);
 *   GPU memory is the usable MiB EC2 reports, not the marketed GB (A10G/L4: 22,888 MiB).
 * - max pods: amazon-eks-ami ENI data (VPC CNI, no prefix delegation).
 * - prices: Karpenter's generated us-east-1 on-demand Linux price table, generated 2026-07-20 from the
 *   AWS Pricing API. p4d/p4de are after AWS's June 2025 GPU price cut. Spot prices are never guessed.
 * - EFA interfaces: the `vpc.amazonaws.com/efa` resource in Karpenter's v1.14 instance-type reference
 *   (website/content/en/v1.14/reference/instance-types.md), i.e. one per network card EC2 lets carry an
 *   EFA; GPUDirect RDMA over EFA (FI_EFA_USE_DEVICE_RDMA) is a p4d/p4de/p5 feature per AWS's EFA guide.
 */
export const CATALOG_SOURCE = {
    specs: "Karpenter instance-type reference (EC2 DescribeInstanceTypes values)",
    maxPods: "amazon-eks-ami ENI max-pods data (VPC CNI)",
    prices: "Karpenter us-east-1 on-demand Linux price table, generated 2026-07-20 from the AWS Pricing API",
    efa: "Karpenter v1.14 instance-type reference (vpc.amazonaws.com/efa per instance type)",
    priceRegion: "us-east-1",
    priceDate: "2026-07-20",
} as const;

export type GpuModel = "A100-40GB" | "A100-80GB" | "H100-80GB" | "A10G" | "L4";

export interface GpuFacts {
    model: GpuModel;
    /** Value of the `accelerator` and `k8s.amazonaws.com/accelerator` node labels. */
    acceleratorLabel: string;
    count: number;
    /** Usable memory per GPU in MiB, as EC2 reports it. */
    memoryMiB: number;
    supportsMig: boolean;
}

export interface InstanceType {
    name: string;
    vcpu: number;
    memoryGiB: number;
    /** Max pods by the ENI formula (before any managed-node-group cap). */
    maxPodsEni: number;
    onDemandHourlyUsd: number;
    gpu?: GpuFacts;
    /** EFA interfaces the type can carry (one per network card); absent when it supports no EFA. */
    efa?: EfaFacts;
}

export interface EfaFacts {
    /** How many `vpc.amazonaws.com/efa` devices a node advertises once every card has its EFA interface. */
    interfaces: number;
    /** GPUDirect RDMA over EFA (NCCL reads and writes GPU memory across nodes without the CPU). */
    gpuDirectRdma: boolean;
}

function gpu(model: GpuModel, count: number): GpuFacts {
    const facts: Record<GpuModel, Omit<GpuFacts, "count" | "model">> = {
        "A100-40GB": { acceleratorLabel: "nvidia-a100", memoryMiB: 40960, supportsMig: true },
        "A100-80GB": { acceleratorLabel: "nvidia-a100", memoryMiB: 81920, supportsMig: true },
        "H100-80GB": { acceleratorLabel: "nvidia-h100", memoryMiB: 81920, supportsMig: true },
        A10G: { acceleratorLabel: "nvidia-a10g", memoryMiB: 22888, supportsMig: false },
        L4: { acceleratorLabel: "nvidia-l4", memoryMiB: 22888, supportsMig: false },
    };
    return { model, count, ...facts[model] };
}

const rows: InstanceType[] = [
    { name: "p4d.24xlarge", vcpu: 96, memoryGiB: 1152, maxPodsEni: 737, onDemandHourlyUsd: 21.957642, gpu: gpu("A100-40GB", 8), efa: { interfaces: 4, gpuDirectRdma: true } },
    { name: "p4de.24xlarge", vcpu: 96, memoryGiB: 1152, maxPodsEni: 737, onDemandHourlyUsd: 27.44705, gpu: gpu("A100-80GB", 8), efa: { interfaces: 4, gpuDirectRdma: true } },
    { name: "p5.48xlarge", vcpu: 192, memoryGiB: 2048, maxPodsEni: 100, onDemandHourlyUsd: 55.04, gpu: gpu("H100-80GB", 8), efa: { interfaces: 32, gpuDirectRdma: true } },
    { name: "g5.xlarge", vcpu: 4, memoryGiB: 16, maxPodsEni: 58, onDemandHourlyUsd: 1.006, gpu: gpu("A10G", 1) },
    { name: "g5.2xlarge", vcpu: 8, memoryGiB: 32, maxPodsEni: 58, onDemandHourlyUsd: 1.212, gpu: gpu("A10G", 1) },
    { name: "g5.4xlarge", vcpu: 16, memoryGiB: 64, maxPodsEni: 234, onDemandHourlyUsd: 1.624, gpu: gpu("A10G", 1) },
    { name: "g5.8xlarge", vcpu: 32, memoryGiB: 128, maxPodsEni: 234, onDemandHourlyUsd: 2.448, gpu: gpu("A10G", 1), efa: { interfaces: 1, gpuDirectRdma: false } },
    { name: "g5.12xlarge", vcpu: 48, memoryGiB: 192, maxPodsEni: 737, onDemandHourlyUsd: 5.672, gpu: gpu("A10G", 4), efa: { interfaces: 1, gpuDirectRdma: false } },
    { name: "g5.16xlarge", vcpu: 64, memoryGiB: 256, maxPodsEni: 234, onDemandHourlyUsd: 4.096, gpu: gpu("A10G", 1), efa: { interfaces: 1, gpuDirectRdma: false } },
    { name: "g5.24xlarge", vcpu: 96, memoryGiB: 384, maxPodsEni: 737, onDemandHourlyUsd: 8.144, gpu: gpu("A10G", 4), efa: { interfaces: 1, gpuDirectRdma: false } },
    { name: "g5.48xlarge", vcpu: 192, memoryGiB: 768, maxPodsEni: 345, onDemandHourlyUsd: 16.288, gpu: gpu("A10G", 8), efa: { interfaces: 1, gpuDirectRdma: false } },
    { name: "g6.xlarge", vcpu: 4, memoryGiB: 16, maxPodsEni: 58, onDemandHourlyUsd: 0.8048, gpu: gpu("L4", 1) },
    { name: "g6.2xlarge", vcpu: 8, memoryGiB: 32, maxPodsEni: 58, onDemandHourlyUsd: 0.9776, gpu: gpu("L4", 1) },
    { name: "g6.12xlarge", vcpu: 48, memoryGiB: 192, maxPodsEni: 234, onDemandHourlyUsd: 4.6016, gpu: gpu("L4", 4), efa: { interfaces: 1, gpuDirectRdma: false } },
    { name: "g6.48xlarge", vcpu: 192, memoryGiB: 768, maxPodsEni: 737, onDemandHourlyUsd: 13.3504, gpu: gpu("L4", 8), efa: { interfaces: 1, gpuDirectRdma: false } },
    { name: "m6i.large", vcpu: 2, memoryGiB: 8, maxPodsEni: 29, onDemandHourlyUsd: 0.096 },
    { name: "m6i.xlarge", vcpu: 4, memoryGiB: 16, maxPodsEni: 58, onDemandHourlyUsd: 0.192 },
    { name: "m6i.2xlarge", vcpu: 8, memoryGiB: 32, maxPodsEni: 58, onDemandHourlyUsd: 0.384 },
    { name: "m7i.xlarge", vcpu: 4, memoryGiB: 16, maxPodsEni: 58, onDemandHourlyUsd: 0.2016 },
    { name: "m7i.2xlarge", vcpu: 8, memoryGiB: 32, maxPodsEni: 58, onDemandHourlyUsd: 0.4032 },
];

export const INSTANCE_CATALOG: ReadonlyMap<string, InstanceType> = new Map(rows.map((r) => [r.name, r]));

export const KNOWN_INSTANCE_TYPES: readonly string[] = rows.map((r) => r.name);

/** Looks an instance type up; throws naming the known types when it is not in the catalog. */
export function instanceType(name: string): InstanceType {
    const found = INSTANCE_CATALOG.get(name);
    if (!found) {
        throw new Error(`unknown instance type "${name}"; known: ${KNOWN_INSTANCE_TYPES.join(", ")}`);
    }
    return found;
}


/** Hours in an average month (730 = 8760 / 12), the convention AWS's pricing calculator uses. */
export const HOURS_PER_MONTH = 730;
