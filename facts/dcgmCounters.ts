/**
 * The DCGM fields the platform's dcgm-exporter collects: the counters file it is configured with
 * (components/nvidia.ts mounts it and points DCGM_EXPORTER_COLLECTORS at it). The list is
 * etc/default-counters.csv of NVIDIA/dcgm-exporter at tag 4.5.3-4.8.2 (the pinned image), so the
 * exporter exports what it would by default, and the platform's alerts and dashboard are checked
 * against this list (test/observability.test.ts).
 */
export interface DcgmCounter {
    field: string;
    /** gauge and counter fields become series; a label field becomes a label on every series. */
    type: "gauge" | "counter" | "label";
    help: string;
}

export const DCGM_COUNTERS: readonly DcgmCounter[] = [
    { field: "DCGM_FI_DEV_SM_CLOCK", type: "gauge", help: "SM clock frequency (in MHz)." },
    { field: "DCGM_FI_DEV_MEM_CLOCK", type: "gauge", help: "Memory clock frequency (in MHz)." },
    { field: "DCGM_FI_DEV_MEMORY_TEMP", type: "gauge", help: "Memory temperature (in C)." },
    { field: "DCGM_FI_DEV_GPU_TEMP", type: "gauge", help: "GPU temperature (in C)." },
    { field: "DCGM_FI_DEV_POWER_USAGE", type: "gauge", help: "Power draw (in W)." },
    { field: "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", type: "counter", help: "Total energy consumption since boot (in mJ)." },
    { field: "DCGM_FI_DEV_PCIE_REPLAY_COUNTER", type: "counter", help: "Total number of PCIe retries." },
    { field: "DCGM_FI_DEV_GPU_UTIL", type: "gauge", help: "GPU utilization (in %)." },
    { field: "DCGM_FI_DEV_MEM_COPY_UTIL", type: "gauge", help: "Memory utilization (in %)." },
    { field: "DCGM_FI_DEV_ENC_UTIL", type: "gauge", help: "Encoder utilization (in %)." },
    { field: "DCGM_FI_DEV_DEC_UTIL", type: "gauge", help: "Decoder utilization (in %)." },
    { field: "DCGM_FI_DEV_XID_ERRORS", type: "gauge", help: "Value of the last XID error encountered." },
    { field: "DCGM_FI_DEV_FB_FREE", type: "gauge", help: "Framebuffer memory free (in MiB)." },
    { field: "DCGM_FI_DEV_FB_USED", type: "gauge", help: "Framebuffer memory used (in MiB)." },
    { field: "DCGM_FI_DEV_FB_RESERVED", type: "gauge", help: "Framebuffer memory reserved (in MiB)." },
    { field: "DCGM_FI_DEV_NVLINK_BANDWIDTH_TOTAL", type: "counter", help: "Total number of NVLink bandwidth counters for all lanes." },
    { field: "DCGM_FI_DEV_VGPU_LICENSE_STATUS", type: "gauge", help: "vGPU License status" },
    { field: "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS", type: "counter", help: "Number of remapped rows for uncorrectable errors" },
    { field: "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS", type: "counter", help: "Number of remapped rows for correctable errors" },
    { field: "DCGM_FI_DEV_ROW_REMAP_FAILURE", type: "gauge", help: "Whether remapping of rows has failed" },
    { field: "DCGM_FI_DRIVER_VERSION", type: "label", help: "Driver Version" },
    { field: "DCGM_FI_PROF_GR_ENGINE_ACTIVE", type: "gauge", help: "Ratio of time the graphics engine is active." },
    { field: "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", type: "gauge", help: "Ratio of cycles the tensor (HMMA) pipe is active." },
    { field: "DCGM_FI_PROF_DRAM_ACTIVE", type: "gauge", help: "Ratio of cycles the device memory interface is active sending or receiving data." },
    { field: "DCGM_FI_PROF_PCIE_TX_BYTES", type: "gauge", help: "The rate of data transmitted over the PCIe bus - including both protocol headers and data payloads - in bytes per second." },
    { field: "DCGM_FI_PROF_PCIE_RX_BYTES", type: "gauge", help: "The rate of data received over the PCIe bus - including both protocol headers and data payloads - in bytes per second." },
];

/**
 * Labels on every GPU series at 4.5.3-4.8.2 (internal/pkg/rendermetrics): gpu, UUID, pci_bus_id, device,
 * modelName and Hostname (the NODE_NAME the DaemonSet sets, i.e. the node's name); with
 * DCGM_EXPORTER_KUBERNETES the pod, namespace and container a GPU is assigned to; label fields above.
 */
export const DCGM_SERIES_LABELS = ["gpu", "UUID", "pci_bus_id", "device", "modelName", "Hostname", "pod", "namespace", "container"] as const;
/** Added on a MIG slice's series only (the same renderer, `{{if $metric.MigProfile}}`): its profile and GPU instance. */
export const DCGM_MIG_SERIES_LABELS = ["GPU_I_PROFILE", "GPU_I_ID"] as const;

/** The counters file as the exporter reads it: `field, type, help` per line. */
export function dcgmCountersCsv(counters: readonly DcgmCounter[] = DCGM_COUNTERS): string {
    return ["# DCGM FIELD, Prometheus metric type, help message", ...counters.map((c) => `${c.field}, ${c.type}, ${c.help.replace(/,/g, ";")}`)].join("\n") + "\n";
}

/** Where the DaemonSet mounts the file; not /etc/dcgm-exporter, which holds the image's own files. */
export const DCGM_COUNTERS_DIR = "/etc/ml-platform/dcgm";
export const DCGM_COUNTERS_FILE = "counters.csv";
export const DCGM_COUNTERS_CONFIGMAP = "dcgm-exporter-counters";
