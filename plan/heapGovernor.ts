/**
 * Keeps a large plan's memory near what the plan actually holds.
 *
 * A Pulumi program constructs all of its resources before the first registration completes, so the
 * SDK's pending state for every resource (Outputs, their promises and resolvers) is alive at once:
 * about 0.5 GiB at 1,000 serving workloads (see README, Performance). V8 sizes its heap at that peak
 * and then lets garbage grow to about twice it while the registrations complete and release that
 * state, which is where a large plan's peak RSS came from. Every `every` registrations the governor
 * compares the heap in use with what it was after the last collection (the first check only sets that
 * baseline: it comes right after construction, when nothing can be freed) and forces a full collection
 * once the heap has grown by more than `budgetBytes`. Plans of a few hundred resources never reach it.
 *
 * It needs `global.gc` (node --expose-gc, as `npm run plan` starts); without it, it does nothing.
 */
import { getHeapStatistics } from "node:v8";

export interface HeapGovernorOptions {
    /** Growth of the heap in use, over the last baseline, that triggers a collection. */
    budgetBytes: number;
    /** Registrations between two checks. */
    every: number;
    heapUsed?: () => number;
    gc?: () => void;
}

/** 64 MiB over the baseline, checked every 256 registrations: chosen on the 1,000-workload bench stack (README, Performance). */
export const DEFAULT_HEAP_GOVERNOR: HeapGovernorOptions = { budgetBytes: 64 * 2 ** 20, every: 256 };

export class HeapGovernor {
    private registrations = 0;
    private baseline?: number;
    /** Collections forced so far. */
    collections = 0;

    private readonly heapUsed: () => number;
    private readonly gc?: () => void;

    constructor(private readonly opts: HeapGovernorOptions = DEFAULT_HEAP_GOVERNOR) {
        this.heapUsed = opts.heapUsed ?? (() => getHeapStatistics().used_heap_size);
        this.gc = opts.gc ?? (globalThis as { gc?: () => void }).gc;
    }

    get active(): boolean {
        return this.gc !== undefined;
    }

    /** Call once per registration. */
    registered(): void {
        if (!this.gc || ++this.registrations % this.opts.every !== 0) {
            return;
        }
        const used = this.heapUsed();
        if (this.baseline === undefined) {
            this.baseline = used;
        } else if (used - this.baseline > this.opts.budgetBytes) {
            this.gc();
            this.collections++;
            this.baseline = this.heapUsed();
        }
    }
}
