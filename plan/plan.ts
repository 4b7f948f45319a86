/** One offline plan: run the program, render and check what it registered, and write the artefacts. */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { joinYaml, renderManifests, RenderedManifest, toYaml } from "./manifests";
import { PolicyGateResult, policySection, runPolicyGate, sharedStackArgs } from "./policy";
import { analysisOf } from "../policy/rules/capacity";
import { chainDiagram } from "./chain";
import { costSection, gpuDemandSection, placementSection } from "./capacityReport";
import { renderReport, ReportSection } from "./report";
import { RecordedResource } from "./recorder";
import { runProgram, StackOutput } from "./run";
import { buildSummary, PlanSummary } from "./summary";

export interface PlanResult {
    resources: RecordedResource[];
    outputs: Record<string, StackOutput>;
    manifests: RenderedManifest[];
    summary: PlanSummary;
    policy: PolicyGateResult;
    report: string;
    exitCode: 0 | 1;
    headline: string;
}

export async function executePlan(stack: string, configPath: string): Promise<PlanResult> {
    const run = await runProgram(stack, configPath);
    const manifests = renderManifests(run.resources);
    const policy = await runPolicyGate(run.resources, { stack, environment: run.spec.environment });
    // The analysis the workloads-schedulable and monthly-budget rules judged, not a second one.
    const capacity = analysisOf(sharedStackArgs(run.resources, stack).resources);
    const summary = buildSummary(run.spec, run.resources, manifests, capacity);
    const problems: string[] = [];
    if (summary.invalidManifests.length > 0) {
        problems.push(`${summary.invalidManifests.length} invalid manifest(s)`);
    }
    const unschedulable = summary.workloads.filter((w) => !w.schedulable);
    if (unschedulable.length > 0) {
        problems.push(`${unschedulable.length} unschedulable workload(s): ${unschedulable.map((w) => `${w.name} (${w.reason})`).join("; ")}`);
    }
    if (policy.mandatory > 0) {
        problems.push(`${policy.mandatory} mandatory policy violation(s)`);
    }
    const exitCode = problems.length === 0 ? 0 : 1;
    const headline =
        exitCode === 0
            ? `plan ${stack}: valid — ${summary.resourceCount} resources, ${summary.manifestCount} Kubernetes objects`
            : `plan ${stack}: INVALID — ${problems.join(", ")}`;
    // The report's verdict is the plan's: a policy failure makes it INVALID too.
    const chain = chainDiagram(run.spec, run.resources);
    const sections = [
        placementSection(summary, capacity),
        costSection(summary),
        gpuDemandSection(capacity),
        chain ? { title: "GPU autoscaling chain", body: chain } : undefined,
        policySection(policy),
    ].filter((x): x is ReportSection => x !== undefined);
    const report = renderReport({ ...summary, valid: exitCode === 0 }, sections);
    return { resources: run.resources, outputs: run.outputs, manifests, summary, policy, report, exitCode, headline };
}

/** What every plan writes, the platform's or another project's (its summary has its own shape). */
export type PlanFiles = Pick<PlanResult, "resources" | "outputs" | "manifests" | "policy" | "report"> & { summary: unknown };

export function writePlan(result: PlanFiles, outDir: string): void {
    const manifestsDir = path.join(outDir, "manifests");
    rmSync(manifestsDir, { recursive: true, force: true });
    mkdirSync(manifestsDir, { recursive: true });
    const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
    // Sorted by URN: registration order varies with promise timing, and a plan's files should diff cleanly.
    const resources = [...result.resources].sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
    writeFileSync(path.join(outDir, "resources.json"), json({ resources, outputs: result.outputs }));
    writeFileSync(path.join(outDir, "summary.json"), json(result.summary));
    writeFileSync(path.join(outDir, "report.md"), result.report);
    writeFileSync(path.join(outDir, "policy.json"), json(result.policy.violations));
    // Each object is rendered once and written twice: alone and in all.yaml.
    const texts = result.manifests.map((m) => toYaml(m.object));
    result.manifests.forEach((m, i) => writeFileSync(path.join(manifestsDir, m.file), texts[i]));
    writeFileSync(path.join(manifestsDir, "all.yaml"), joinYaml(texts));
}
