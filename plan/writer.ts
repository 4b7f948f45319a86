/**
 * Writes a plan's files into its out directory: resources.json, summary.json, report.md, policy.json
 * and manifests/ (one YAML per object plus all.yaml).
 *
 * The manifests are handed to a worker thread as soon as they are rendered (startManifests), so the
 * thousands of small files a large stack has are created while the main thread runs the policy gate
 * and the capacity analysis. Nothing replaces the previous plan's files until everything is written:
 * the manifests go to a staging directory and each file to a temporary name, and all of them are moved
 * into place at the end (finish). A plan that fails part way (abort) leaves the previous plan as it was.
 * Only the plan's own names in the out directory are touched.
 */
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { RenderedManifest } from "./manifests";
import type { ManifestJobResult, ManifestWorkerMessage } from "./manifestWorker";
import { PolicyGateResult } from "./policy";
import { RecordedResource, StackOutput } from "./recorder";

/** What every plan writes, the platform's or another project's (its summary has its own shape). */
export interface PlanFiles {
    resources: RecordedResource[];
    outputs: Record<string, StackOutput>;
    manifests: RenderedManifest[];
    policy: PolicyGateResult;
    report: string;
    summary: unknown;
    /** With `--base`: the plan diff, written as diff.json. */
    diff?: unknown;
}

/** The policy gate's verdict; `npm run policy` writes only this one. */
export const POLICY_FILE = "policy.json";
export const PLAN_FILES = ["resources.json", "summary.json", "report.md", POLICY_FILE] as const;
export const MANIFESTS_DIR = "manifests";
/** Written only by a plan with `--base`; a plan without one removes a previous plan's. */
export const DIFF_FILE = "diff.json";

/** What a plan writes into its out directory, as the CLI reports it: `{resources.json,...,manifests/}`. */
export const PLAN_OUTPUT_NAMES = `{${[...PLAN_FILES, `${MANIFESTS_DIR}/`].join(",")}}`;
export const PLAN_OUTPUT_NAMES_WITH_DIFF = `{${[...PLAN_FILES, DIFF_FILE, `${MANIFESTS_DIR}/`].join(",")}}`;

type OutputFile = (typeof PLAN_FILES)[number] | typeof DIFF_FILE;

/**
 * The worker loads the TypeScript module through sucrase itself (`execArgv: []`): it must not depend on
 * how this process was started (npm run plan preloads sucrase, mocha requires it, ts-node compiles).
 */
const WORKER_BOOTSTRAP = [require.resolve("sucrase/register/ts"), path.join(__dirname, "manifestWorker.ts")].map((file) => `require(${JSON.stringify(file)});`).join("\n");

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;

/** Reservations are posted to the worker in batches of this many. */
const RESERVE_BATCH = 64;
/** Manifests are posted to the worker in chunks of this many. */
const MANIFEST_CHUNK = 256;

export class PlanWriter {
    private readonly staging: string;
    private worker?: Worker;
    private pending?: Promise<void>;
    private unposted = 0;
    /** The out directory did not exist: a failed plan removes it again if it left it empty. */
    private readonly newOutDir: boolean;

    constructor(readonly outDir: string) {
        this.staging = path.join(outDir, `.${MANIFESTS_DIR}-${process.pid}`);
        this.newOutDir = !existsSync(outDir);
    }

    /**
     * A manifest is on its way (the program registered a Kubernetes object): its file can be created
     * now, while the program runs, rather than after it.
     */
    reserve(count = 1): void {
        this.unposted += count;
        if (this.unposted >= RESERVE_BATCH) {
            this.post({ kind: "reserve", dir: this.staging, count: this.unposted });
            this.unposted = 0;
        }
    }

    /** Starts writing the manifests on the worker thread; finish() waits for it. Once per plan. */
    startManifests(manifests: RenderedManifest[]): void {
        if (this.pending) {
            throw new Error("PlanWriter.startManifests called twice");
        }
        const worker = this.start();
        worker.ref();
        this.pending = new Promise<void>((resolve, reject) => {
            worker.once("message", (reply: ManifestJobResult) => (reply.ok ? resolve() : reject(new Error(`writing manifests: ${reply.error}`))));
            worker.once("error", reject);
            worker.once("exit", (code) => reject(new Error(`the manifest writer stopped (exit ${code}) before it finished`)));
        }).finally(() => this.stop());
        // Kept for finish(): an unobserved rejection would end the process first.
        this.pending.catch(() => undefined);
        // In chunks: one structured clone of every object at once would be a second copy of the plan.
        for (let i = 0; i === 0 || i < manifests.length; i += MANIFEST_CHUNK) {
            const chunk = manifests.slice(i, i + MANIFEST_CHUNK).map((m) => ({ file: m.file, object: m.object, patch: m.patch }));
            this.post({ kind: "manifests", dir: this.staging, manifests: chunk, last: i + MANIFEST_CHUNK >= manifests.length });
        }
    }

    /** Writes the remaining files, waits for the manifests, then moves everything into place. */
    async finish(result: PlanFiles): Promise<void> {
        try {
            if (!this.pending) {
                this.startManifests(result.manifests);
            }
            mkdirSync(this.outDir, { recursive: true });
            // Sorted by URN: registration order varies with promise timing, and a plan's files should diff cleanly.
            const resources = [...result.resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
            const contents: Partial<Record<OutputFile, string>> = {
                "resources.json": json({ resources, outputs: result.outputs }),
                "summary.json": json(result.summary),
                "report.md": result.report,
                "policy.json": json(result.policy.violations),
                ...(result.diff !== undefined ? { [DIFF_FILE]: json(result.diff) } : {}),
            };
            const names = Object.keys(contents) as OutputFile[];
            for (const name of names) {
                writeFileSync(this.temporary(name), contents[name]!);
            }
            await this.pending;
            const manifests = path.join(this.outDir, MANIFESTS_DIR);
            const previous = path.join(this.outDir, `.${MANIFESTS_DIR}-previous-${process.pid}`);
            if (existsSync(manifests)) {
                renameSync(manifests, previous);
            }
            try {
                renameSync(this.staging, manifests);
            } catch (e) {
                if (existsSync(previous)) {
                    renameSync(previous, manifests);
                }
                throw e;
            }
            for (const name of names) {
                renameSync(this.temporary(name), path.join(this.outDir, name));
            }
            if (result.diff === undefined) {
                rmSync(path.join(this.outDir, DIFF_FILE), { force: true });
            }
            rmSync(previous, { recursive: true, force: true });
            removeAbandoned(this.outDir);
        } catch (e) {
            await this.abort();
            throw e;
        }
    }

    /** Stops the worker and removes whatever this plan staged; the previous plan's files stay. */
    async abort(): Promise<void> {
        await this.stop();
        await this.pending?.catch(() => undefined);
        rmSync(this.staging, { recursive: true, force: true });
        for (const name of [...PLAN_FILES, DIFF_FILE]) {
            rmSync(this.temporary(name), { force: true });
        }
        if (this.newOutDir && existsSync(this.outDir) && readdirSync(this.outDir).length === 0) {
            rmSync(this.outDir, { recursive: true, force: true });
        }
    }

    private start(): Worker {
        if (!this.worker) {
            rmSync(this.staging, { recursive: true, force: true });
            this.worker = new Worker(WORKER_BOOTSTRAP, { eval: true, execArgv: [] });
            // Until the write job, nothing waits on the worker: it must not keep the process alive.
            this.worker.unref();
        }
        return this.worker;
    }

    private post(message: ManifestWorkerMessage): void {
        this.start().postMessage(message);
    }

    private async stop(): Promise<void> {
        const worker = this.worker;
        this.worker = undefined;
        await worker?.terminate();
    }

    private temporary(name: string): string {
        return path.join(this.outDir, `.${name}-${process.pid}`);
    }
}

/** What a plan stages in the out directory, named after its process: `.manifests-<pid>`, `.report.md-<pid>`... */
const STAGED = new RegExp(`^\\.(?:${[MANIFESTS_DIR, `${MANIFESTS_DIR}-previous`, ...PLAN_FILES, DIFF_FILE].map((n) => n.replace(/[.]/g, "\\.")).join("|")})-(\\d+)$`);

function alive(pid: number): boolean {
    try {
        process.kill(pid, 0);
        return true;
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "EPERM";
    }
}

/** Removes what an interrupted plan (its process gone) left staged; a running plan's files stay. */
export function removeAbandoned(outDir: string): void {
    for (const name of readdirSync(outDir)) {
        const pid = Number(STAGED.exec(name)?.[1]);
        if (pid && pid !== process.pid && !alive(pid)) {
            rmSync(path.join(outDir, name), { recursive: true, force: true });
        }
    }
}

/** Writes a whole plan at once (tests, and plans that did not start their manifests early). */
export async function writePlan(result: PlanFiles, outDir: string): Promise<void> {
    await new PlanWriter(outDir).finish(result);
}
