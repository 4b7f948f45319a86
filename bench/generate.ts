/** Writes a stack config with N serving workloads, derived from the prod stack, for the benchmark. */
import { readFileSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";

export function generateStack(templatePath: string, outPath: string, servingCount: number): void {
    const doc = parse(readFileSync(templatePath, "utf8"));
    const config = doc.config as Record<string, unknown>;
    const template = (config["ml-platform:serving"] as Record<string, unknown>[]).find((s) => s.pool !== "auto" && s.gpus !== undefined);
    if (!template) {
        throw new Error(`${templatePath} has no serving entry with an explicit pool and gpus to copy`);
    }
    config["ml-platform:serving"] = Array.from({ length: servingCount }, (_, i) => ({
        ...template,
        name: `model-${String(i).padStart(4, "0")}`,
        modelUri: `s3://ml-models-bench/model-${i}/v1/`,
    }));
    writeFileSync(outPath, stringify(doc, { aliasDuplicateObjects: false }));
}
