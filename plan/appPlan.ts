/**
 * The offline plan of another Pulumi project that deploys onto the platform (an app team's): run it
 * with its StackReferences answered from a platform plan's recorded outputs, render and validate its
 * Kubernetes objects, run the platform's policy gate with the platform environment's config, and place
 * its workloads on the platform's node pools. Writes the same files as the platform's plan.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { analyzeCapacity, CapacityResource, WorkloadCapacity } from "../capacity/analysis";
import { kindOf } from "../policy/rules/k8s";
import { nodePoolOf } from "../policy/rules/nodepools";
import { renderManifests, RenderedManifest } from "./manifests";
import { PolicyGateResult, policySection, runPolicyGate } from "./policy";
import { RecordedResource, StackOutput } from "./recorder";
import { table } from "./report";
import { PROJECT, runProject } from "./run";
import { UsageError } from "./stackConfig";
import { isTier, Tier } from "../stacks/tiers";

/** A platform plan as `npm run plan -- --stack <s>` wrote it (resources.json). */
export interface PlatformPlan {
    file: string;
    resources: RecordedResource[];
    outputs: Record<string, StackOutput>;
    /** The contract's environment output: the platform's tier, which policy config its CI applies. */
    tier: Tier;
    /** The platform stack the plan was made of (from its resources' URNs), when it says. */
    stack?: string;
}

/** The stack of a Pulumi URN, `urn:pulumi:<stack>::<project>::...`. */
function stackOfUrn(urn: string | undefined): string | undefined {
    return /^urn:pulumi:([^:]+)::/.exec(urn ?? "")?.[1];
}

export function readPlatformPlan(file: string): PlatformPlan {
    let doc: { resources?: unknown; outputs?: unknown };
    try {
        doc = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
        throw new UsageError(`cannot read platform plan ${file}: ${(e as Error).message}`);
    }
    if (!Array.isArray(doc.resources) || typeof doc.outputs !== "object" || doc.outputs === null) {
        throw new UsageError(`${file} is not a platform plan's resources.json (needs "resources" and "outputs")`);
    }
    const outputs = doc.outputs as Record<string, StackOutput>;
    const tier = outputs.environment?.value;
    if (!isTier(tier)) {
        throw new UsageError(`${file}: the platform's outputs carry no contract environment (its tier: dev or prod), got ${JSON.stringify(tier)}; re-plan the platform stack`);
    }
    const resources = doc.resources as RecordedResource[];
    const stack = resources.map((r) => stackOfUrn(r.urn)).find((s) => s !== undefined);
    return { file, resources, outputs, tier, ...(stack ? { stack } : {}) };
}

export interface AppWorkload extends WorkloadCapacity {
    /** The same placement with the platform's own workloads on the pools too, at the same scale. */
    withPlatformWorkloads: { schedulable: boolean; reason?: string };
}

export interface AppPlanSummary {
    project: string;
    stack: string;
    platformStacks: string[];
    platformPlan: string;
    /** The platform plan's stack (from its URNs). */
    platformPlanStack?: string;
    /** The platform's tier (its contract environment): the policy config applied. */
    environment: string;
    /** What the plan may have got wrong without failing, e.g. outputs of another stack than the StackReference names. */
    warnings: string[];
    valid: boolean;
    resourceCount: number;
    resourcesByType: Record<string, number>;
    manifestCount: number;
    invalidManifests: { file: string; errors: string[] }[];
    workloads: AppWorkload[];
    policy: { mandatory: number; advisory: number };
}

export interface AppPlanResult {
    resources: RecordedResource[];
    outputs: Record<string, StackOutput>;
    manifests: RenderedManifest[];
    summary: AppPlanSummary;
    policy: PolicyGateResult;
    report: string;
    exitCode: 0 | 1;
    headline: string;
}

const asCapacity = (r: RecordedResource): CapacityResource => ({ type: r.type, name: r.name, props: r.inputs, urn: r.urn });

/**
 * The app's workloads on the platform's pools. The verdict uses the pools and their DaemonSets only
 * (can it run there at all?); sharing them with the platform's own workloads at the same scale is
 * reported beside it, since the platform's Jobs finish and its HPAs rarely all sit at maximum.
 */
function placeOnPlatform(platform: RecordedResource[], app: RecordedResource[]): AppWorkload[] {
    const infrastructure = platform.filter((r) => nodePoolOf(r.type, r.inputs, r.name) !== undefined || kindOf(r.type) === "DaemonSet");
    const alone = analyzeCapacity([...infrastructure, ...app].map(asCapacity)).workloads;
    const shared = analyzeCapacity([...platform, ...app].map(asCapacity)).workloads;
    const appUrns = new Set(app.map((r) => r.urn));
    return alone
        .filter((w) => w.urn !== undefined && appUrns.has(w.urn))
        .map((w) => {
            const s = shared.find((x) => x.urn === w.urn);
            return { ...w, withPlatformWorkloads: { schedulable: s?.schedulable ?? false, ...(s?.reason ? { reason: s.reason } : {}) } };
        });
}

function renderAppReport(s: AppPlanSummary, policy: PolicyGateResult): string {
    const out = [
        `# Offline plan: project \`${s.project}\`, stack \`${s.stack}\``,
        "",
        `On platform ${s.platformStacks.map((n) => `\`${n}\``).join(", ") || "(no StackReference)"} (${s.environment}), answered from \`${s.platformPlan}\`.`,
        "",
        ...s.warnings.flatMap((w) => [`**Warning**: ${w}`, ""]),
        `Verdict: **${s.valid ? "valid" : "INVALID"}**. ${s.resourceCount} resources, ${s.manifestCount} Kubernetes objects.`,
        "",
        "## Placement on the platform's pools",
        s.workloads.length === 0
            ? "No workloads."
            : table(
                  ["workload", "kind", "namespace", "pool", "GPUs min / max", "fits the pool?", "with the platform's workloads at the same scale"],
                  s.workloads.map((w) => [
                      w.name,
                      w.kind,
                      w.namespace,
                      w.pool ?? "-",
                      `${w.gpusRequested.min} / ${w.gpusRequested.max}`,
                      w.schedulable ? "yes" : `**no**: ${w.reason}`,
                      w.withPlatformWorkloads.schedulable ? "fits" : `contended: ${w.withPlatformWorkloads.reason}`,
                  ]),
              ),
        "",
        `## ${policySection(policy).title}`,
        policySection(policy).body,
        "",
        "## Resources by type",
        table(
            ["type", "count"],
            Object.entries(s.resourcesByType).map(([t, n]) => [t, n]),
        ),
        "",
    ];
    if (s.invalidManifests.length > 0) {
        out.push("## Invalid manifests", ...s.invalidManifests.map((m) => `- \`${m.file}\`: ${m.errors.join("; ")}`), "");
    }
    return out.join("\n");
}

/**
 * Every StackReference of the app is answered from the one platform plan (`*\/ml-platform/*`): a
 * reference to another stack than the plan's gets that plan's outputs, which is worth a warning.
 */
export function stackReferenceWarnings(referenced: string[], platform: Pick<PlatformPlan, "file" | "stack">): string[] {
    const file = path.relative(process.cwd(), platform.file) || platform.file;
    if (!platform.stack) {
        return referenced.length > 0 ? [`${file} does not say which platform stack it is a plan of (no URNs); cannot check it against the StackReference(s) ${referenced.join(", ")}`] : [];
    }
    return referenced
        .filter((ref) => ref.split("/").pop() !== platform.stack)
        .map(
            (ref) =>
                `the program references platform stack ${ref}, but ${file} is a plan of stack "${platform.stack}"; ` +
                `its outputs answered the reference. Plan the platform stack "${ref.split("/").pop()}" and pass its resources.json, or point the StackReference at "${platform.stack}"`,
        );
}

export async function executeAppPlan(programDir: string, stack: string, configPath: string, platformPlanFile: string): Promise<AppPlanResult> {
    const platform = readPlatformPlan(platformPlanFile);
    const run = await runProject(programDir, stack, configPath, { stackReferences: { [`*/${PROJECT}/*`]: platform.outputs } });
    const manifests = renderManifests(run.resources);
    // The gate the platform's CI would apply to this environment, over this project's resources only.
    const policy = await runPolicyGate(run.resources, { stack, tier: platform.tier });
    const workloads = placeOnPlatform(platform.resources, run.resources);

    const byType: Record<string, number> = {};
    for (const r of run.resources) {
        byType[r.type] = (byType[r.type] ?? 0) + 1;
    }
    const invalidManifests = manifests.filter((m) => m.errors.length > 0).map((m) => ({ file: m.file, errors: m.errors }));
    const problems: string[] = [];
    if (invalidManifests.length > 0) {
        problems.push(`${invalidManifests.length} invalid manifest(s)`);
    }
    const unschedulable = workloads.filter((w) => !w.schedulable);
    if (unschedulable.length > 0) {
        problems.push(`${unschedulable.length} unschedulable workload(s): ${unschedulable.map((w) => `${w.name} (${w.reason})`).join("; ")}`);
    }
    if (policy.mandatory > 0) {
        problems.push(`${policy.mandatory} mandatory policy violation(s)`);
    }
    const exitCode = problems.length === 0 ? 0 : 1;
    const summary: AppPlanSummary = {
        project: run.project,
        stack,
        platformStacks: run.referencedStacks,
        platformPlan: path.relative(process.cwd(), platform.file) || platform.file,
        ...(platform.stack ? { platformPlanStack: platform.stack } : {}),
        environment: platform.tier,
        warnings: stackReferenceWarnings(run.referencedStacks, platform),
        valid: exitCode === 0,
        resourceCount: run.resources.length,
        resourcesByType: Object.fromEntries(Object.entries(byType).sort(([a], [b]) => a.localeCompare(b))),
        manifestCount: manifests.length,
        invalidManifests,
        workloads,
        policy: { mandatory: policy.mandatory, advisory: policy.advisory },
    };
    const verdict =
        exitCode === 0
            ? `plan ${run.project}/${stack}: valid — ${summary.resourceCount} resources, ${summary.manifestCount} Kubernetes objects`
            : `plan ${run.project}/${stack}: INVALID — ${problems.join(", ")}`;
    const headline = [verdict, ...summary.warnings.map((w) => `warning: ${w}`)].join("\n");
    return { resources: run.resources, outputs: run.outputs, manifests, summary, policy, report: renderAppReport(summary, policy), exitCode, headline };
}
