/** One offline plan: run the program, render and check what it registered, and write the artefacts. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { allYaml, renderManifests, RenderedManifest, toYaml } from "./manifests";
import { renderReport } from "./report";
import { RecordedResource } from "./recorder";
import { runProgram, StackOutput } from "./run";
import { buildSummary, PlanSummary } from "./summary";

export interface PlanResult {
    resources: RecordedResource[];
    outputs: Record<string, StackOutput>;
    manifests: RenderedManifest[];
    summary: PlanSummary;
    report: string;
    exitCode: 0 | 1;
    headline: string;
}

export async function executePlan(stack: string, configPath: string): Promise<PlanResult> {
    const run = await runProgram(stack, configPath);
    const manifests = renderManifests(run.resources);
    const summary = buildSummary(run.spec, run.resources, manifests);
    const problems: string[] = [];
    if (summary.invalidManifests.length > 0) {
        problems.push(`${summary.invalidManifests.length} invalid manifest(s)`);
    }
    const exitCode = problems.length === 0 ? 0 : 1;
    const headline =
        exitCode === 0
            ? `plan ${stack}: valid — ${summary.resourceCount} resources, ${summary.manifestCount} Kubernetes objects`
            : `plan ${stack}: INVALID — ${problems.join(", ")}`;
    return { resources: run.resources, outputs: run.outputs, manifests, summary, report: renderReport(summary), exitCode, headline };
}

export function writePlan(result: PlanResult, outDir: string): void {
    const manifestsDir = path.join(outDir, "manifests");
    rmSync(manifestsDir, { recursive: true, force: true });
    mkdirSync(manifestsDir, { recursive: true });
    const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
    writeFileSync(path.join(outDir, "resources.json"), json({ resources: result.resources, outputs: result.outputs }));
    writeFileSync(path.join(outDir, "summary.json"), json(result.summary));
    writeFileSync(path.join(outDir, "report.md"), result.report);
    for (const m of result.manifests) {
        writeFileSync(path.join(manifestsDir, m.file), toYaml(m.object));
    }
    writeFileSync(path.join(manifestsDir, "all.yaml"), allYaml(result.manifests));
}
