/** Kubernetes resource quantities as plain numbers: CPU in millicores, memory in bytes. */

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50 };
const DECIMAL: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15 };

const MEMORY_PATTERN = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/;
const CPU_PATTERN = /^([0-9]+(?:\.[0-9]+)?)(m)?$/;

export function isMemoryQuantity(value: string): boolean {
    return MEMORY_PATTERN.test(value);
}

export function isCpuQuantity(value: string): boolean {
    return CPU_PATTERN.test(value);
}

/** "16Gi" -> 17179869184. Throws on anything Kubernetes would not accept as a memory quantity. */
export function parseMemory(value: string): number {
    const m = MEMORY_PATTERN.exec(value);
    if (!m) {
        throw new Error(`"${value}" is not a memory quantity (examples: 512Mi, 16Gi, 1Ti)`);
    }
    const unit = m[2] ?? "";
    return Number(m[1]) * (BINARY[unit] ?? DECIMAL[unit]);
}

/** "4" -> 4000, "500m" -> 500. */
export function parseCpu(value: string): number {
    const m = CPU_PATTERN.exec(value);
    if (!m) {
        throw new Error(`"${value}" is not a CPU quantity (examples: 500m, 2, 4.5)`);
    }
    return m[2] ? Number(m[1]) : Number(m[1]) * 1000;
}

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;

/** 17179869184 -> "16Gi"; rounds down to whole MiB when not a whole GiB. */
export function formatMemory(bytes: number): string {
    if (bytes % GiB === 0) {
        return `${bytes / GiB}Gi`;
    }
    return `${Math.floor(bytes / MiB)}Mi`;
}

export function formatCpu(millicores: number): string {
    return millicores % 1000 === 0 ? `${millicores / 1000}` : `${millicores}m`;
}
