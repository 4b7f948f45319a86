/**
 * The GPU-memory headroom rule: a model placed on a GPU (or a MIG slice) may use at most
 * (1 - headroom) of the memory the device reports, so an estimate that is a little short, a CUDA
 * library that grabs a workspace late, or allocator fragmentation under load does not end in an
 * out-of-memory crash. Pure: `pool: auto`, explicit placements and GPU-sharing placement all call it.
 */

/** The headroom `ml-platform:placement.gpuMemoryHeadroom` defaults to: 10% of usable GPU memory. */
export const DEFAULT_GPU_MEMORY_HEADROOM = 0.1;
/** The range the config key accepts: below 5% a 40 GiB GPU keeps under 2 GiB spare; above half, most of a GPU idles. */
export const GPU_MEMORY_HEADROOM_RANGE = { min: 0.05, max: 0.5 } as const;

export interface HeadroomCheck {
    fits: boolean;
    /** What the workload needs per GPU (or slice). */
    estimateBytes: number;
    /** What the device reports as usable. */
    usableBytes: number;
    /** usableBytes x (1 - headroom): the most a workload may plan to use. */
    limitBytes: number;
    headroom: number;
}

/** The most a workload may plan to use on a device of `usableBytes`. */
export function headroomLimitBytes(usableBytes: number, headroom: number = DEFAULT_GPU_MEMORY_HEADROOM): number {
    if (!Number.isFinite(headroom) || headroom < 0 || headroom >= 1) {
        throw new Error(`headroom must be a fraction in [0, 1), got ${headroom}`);
    }
    return usableBytes * (1 - headroom);
}

/** Whether `estimateBytes` fits a device of `usableBytes` with `headroom` of it left free. */
export function checkGpuMemoryHeadroom(estimateBytes: number, usableBytes: number, headroom: number = DEFAULT_GPU_MEMORY_HEADROOM): HeadroomCheck {
    const limitBytes = headroomLimitBytes(usableBytes, headroom);
    return { fits: estimateBytes <= limitBytes, estimateBytes, usableBytes, limitBytes, headroom };
}
