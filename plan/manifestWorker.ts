/**
 * The worker thread behind PlanWriter. It writes the manifests (each object as YAML alone, and all of
 * them in all.yaml, in apply order) into a staging directory, off the main thread.
 *
 * Creating a file is what costs here, not writing it: on the machines we measured (see README,
 * Performance) each new file took about half a millisecond, thousands of them seconds, while renaming
 * or overwriting an existing file is almost free. So while the program is still running, the writer
 * sends `reserve` for the Kubernetes objects registered so far, and this worker creates that many
 * empty slot files on the second core; the manifests are then renamed into those slots and filled.
 * They arrive in chunks and each is rendered, written and dropped, so neither thread holds every
 * rendered document at once.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import * as path from "node:path";
import { parentPort } from "node:worker_threads";
import { toYaml, YAML_DOCUMENT_SEPARATOR } from "./manifests";

const ALL_MANIFESTS = "all.yaml";
/**
 * Patches to objects that other components create (e.g. the training operator's Deployment) are partial
 * objects no API server accepts on their own, so they stay out of all.yaml: all.yaml applies as it
 * stands (`kubectl apply --server-side -f all.yaml`), and patches.yaml applies after the patched objects exist.
 */
export const PATCH_MANIFESTS = "patches.yaml";
const PATCHES_HEADER = "# Server-side apply patches: partial objects, applied over objects other components create.\n";

export type ManifestWorkerMessage =
    /** Create `count` more empty slot files in `dir`, ahead of the manifests. */
    | { kind: "reserve"; dir: string; count: number }
    /** The next manifests in apply order; `last` ends the job, and the worker answers with a ManifestJobResult. */
    | { kind: "manifests"; dir: string; manifests: { file: string; object: unknown; patch?: boolean }[]; last: boolean };

/** The worker's one reply, when the last chunk is written (or when writing failed). */
export type ManifestJobResult = { ok: true; files: number } | { ok: false; error: string };

export const SLOT_PREFIX = ".slot-";

/** Empty files created ahead of the manifests, taken in order. */
export class SlotFiles {
    private created = 0;
    private used = 0;

    constructor(readonly dir: string) {}

    reserve(count: number): void {
        mkdirSync(this.dir, { recursive: true });
        for (let i = 0; i < count; i++) {
            writeFileSync(this.slot(this.created), "");
            this.created++;
        }
    }

    /** The path of `file` in the directory, moved into place from a reserved slot while any is left. */
    take(file: string): string {
        const target = path.join(this.dir, file);
        if (this.used < this.created) {
            renameSync(this.slot(this.used++), target);
        }
        return target;
    }

    /** Removes the slots nothing was written through. */
    release(): void {
        for (; this.used < this.created; this.used++) {
            rmSync(this.slot(this.used), { force: true });
        }
    }

    private slot(i: number): string {
        return path.join(this.dir, `${SLOT_PREFIX}${i}`);
    }
}

/** One write job: every manifest alone, and all of them in all.yaml (patches in patches.yaml), chunk by chunk. */
export class ManifestWriter {
    private all?: number;
    private patches?: number;
    private written = 0;
    private objectsInAll = 0;
    private patchesWritten = 0;

    constructor(private readonly slots: SlotFiles) {}

    write(manifests: { file: string; object: unknown; patch?: boolean }[]): void {
        if (this.all === undefined) {
            mkdirSync(this.slots.dir, { recursive: true });
            this.all = openSync(this.slots.take(ALL_MANIFESTS), "w");
        }
        for (const m of manifests) {
            // Rendered once, written twice: alone and in all.yaml (or patches.yaml).
            const text = toYaml(m.object);
            writeFileSync(this.slots.take(m.file), text);
            if (m.patch) {
                this.patches ??= openSync(this.slots.take(PATCH_MANIFESTS), "w");
                writeSync(this.patches, this.patchesWritten === 0 ? PATCHES_HEADER + text : YAML_DOCUMENT_SEPARATOR + text);
                this.patchesWritten++;
            } else {
                writeSync(this.all, this.objectsInAll === 0 ? text : YAML_DOCUMENT_SEPARATOR + text);
                this.objectsInAll++;
            }
            this.written++;
        }
    }

    /** Closes all.yaml (written even when there is no manifest) and patches.yaml (when there are patches), removes unused slots; returns the file count. */
    close(): number {
        this.write([]);
        closeSync(this.all!);
        if (this.patches !== undefined) closeSync(this.patches);
        this.slots.release();
        return this.written + 1 + (this.patches === undefined ? 0 : 1);
    }
}

if (parentPort) {
    const port = parentPort;
    let slots: SlotFiles | undefined;
    let writer: ManifestWriter | undefined;
    let failed = false;
    port.on("message", (msg: ManifestWorkerMessage) => {
        if (!slots || slots.dir !== msg.dir) {
            slots = new SlotFiles(msg.dir);
        }
        if (msg.kind === "reserve") {
            try {
                slots.reserve(msg.count);
            } catch {
                // Not fatal: the manifests create whatever files are missing, or report why they cannot.
            }
            return;
        }
        if (failed) {
            return;
        }
        try {
            writer ??= new ManifestWriter(slots);
            writer.write(msg.manifests);
            if (msg.last) {
                port.postMessage({ ok: true, files: writer.close() } satisfies ManifestJobResult);
            }
        } catch (e) {
            failed = true;
            port.postMessage({ ok: false, error: (e as Error).message } satisfies ManifestJobResult);
        }
    });
}
