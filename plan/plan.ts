/** One offline plan: run the program, render and check what it registered, and write the artefacts. */
import { isManifestResource, renderManifests, RenderedManifest } from "./manifests";
import { PolicyGateResult, policySection, runPolicyGate, sharedStackArgs } from "./policy";
import { analyzeCapacity } from "../capacity/analysis";
import { chainDiagram } from "./chain";
import { costSection, gpuDemandSection, placementSection } from "./capacityReport";
import { capacityTypesSection } from "./capacityTypesReport";
import { renderReport, ReportSection } from "./report";
import { RecordedResource } from "./recorder";
import { ProgramRun, runProgram, RunOptions, StackOutput } from "./run";
import { buildSummary, PlanSummary } from "./summary";
import { PlanWriter } from "./writer";
import { firstDeploySection } from "./preflight";
import { NAMES_LISTED } from "../capacity/scheduling";
import { BudgetBasis, budgetVerdict, BudgetVerdict } from "../capacity/limits";
import { readPolicyLimits } from "../stacks/policyLimits";
import type { CapacityAnalysis } from "../capacity/analysis";
import type { Tier } from "../stacks/tiers";

/**
 * monthly-budget's verdict as the rule reaches it: the same function, over the same analysis, with the
 * budget and basis of the same policy config file (validation has checked the basis).
 */
function budgetOf(tier: Tier, capacity: CapacityAnalysis): (BudgetVerdict & { source: string }) | undefined {
    const limits = readPolicyLimits(tier);
    if (limits?.maxMonthlyCost === undefined) {
        return undefined;
    }
    return { ...budgetVerdict(capacity.bill, limits.maxMonthlyCost, limits.budgetBasis as BudgetBasis), source: limits.source };
}

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

/** With a writer, the manifests start being written as soon as they are rendered (see PlanWriter). */
export async function executePlan(stack: string, configPath: string, writer?: PlanWriter, opts: Pick<RunOptions, "stock"> = {}): Promise<PlanResult> {
    // Each Kubernetes object's file is created while the program is still registering the rest.
    const run = await runProgram(stack, configPath, { ...opts, ...(writer ? { onRecord: (r) => isManifestResource(r) && writer.reserve() } : {}) });
    const manifests = renderManifests(run.resources);
    writer?.startManifests(manifests);
    return planOfRun(run, manifests);
}

/** Checks and reports on what a run of the platform registered; the run itself is left as it was. */
export async function planOfRun(run: ProgramRun, manifests: RenderedManifest[] = renderManifests(run.resources)): Promise<PlanResult> {
    const stack = run.spec.stack;
    const policy = await runPolicyGate(run.resources, { stack, tier: run.spec.tier });
    // Over the resources as the stack rules see them, so the report and the rules judge the same inputs.
    const capacity = analyzeCapacity(sharedStackArgs(run.resources, stack).resources);
    const summary = buildSummary(run.spec, run.resources, manifests, capacity, budgetOf(run.spec.tier, capacity));
    const problems: string[] = [];
    if (summary.invalidManifests.length > 0) {
        problems.push(`${summary.invalidManifests.length} invalid manifest(s)`);
    }
    const unschedulable = summary.workloads.filter((w) => !w.schedulable);
    if (unschedulable.length > 0) {
        // The first few with their reasons; report.md and summary.json have every one.
        const shown = unschedulable.slice(0, NAMES_LISTED).map((w) => `${w.name} (${w.reason})`);
        const more = unschedulable.length > NAMES_LISTED ? `; and ${unschedulable.length - NAMES_LISTED} more (see report.md)` : "";
        problems.push(`${unschedulable.length} unschedulable workload(s): ${shown.join("; ")}${more}`);
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
        capacityTypesSection(run.spec.nodePools, summary),
        gpuDemandSection(capacity),
        chain ? { title: "GPU autoscaling chain", body: chain } : undefined,
        policySection(policy),
        firstDeploySection(run.placeholders),
    ].filter((x): x is ReportSection => x !== undefined);
    const report = renderReport({ ...summary, valid: exitCode === 0 }, sections);
    return { resources: run.resources, outputs: run.outputs, manifests, summary, policy, report, exitCode, headline };
}
