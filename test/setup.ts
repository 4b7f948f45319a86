/**
 * Loaded by mocha before any test file (.mocharc.json "require"). Every temporary file of the run,
 * this process's and its children's, goes under one directory (TMPDIR, which os.tmpdir() reads on each
 * call), removed when the run ends: a test run leaves nothing in the machine's temp folder.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";

const MACHINE_TMP = tmpdir();
export const RUN_TMP = mkdtempSync(path.join(MACHINE_TMP, "ml-platform-test-"));
process.env.TMPDIR = RUN_TMP;

function removeRunTmp(): void {
    process.env.TMPDIR = MACHINE_TMP;
    rmSync(RUN_TMP, { recursive: true, force: true });
}

// Also when no root hook runs: `mocha --dry-run` loads the files (some make their directories then), or a failed run exits early.
process.once("exit", removeRunTmp);

export const mochaHooks = {
    afterAll(): void {
        removeRunTmp();
        if (existsSync(RUN_TMP)) {
            throw new Error(`the test run's temp directory ${RUN_TMP} could not be removed`);
        }
    },
};
