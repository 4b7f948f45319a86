/** report.md's "Changes" section: the plan diff as a reviewer reads it, risk first. */
import { AddedOrRemoved, Delta, PathChange, PlanDiff, ResourceChange } from "./diff";
import { ReportSection, table } from "./report";

/** Paths listed per resource; the rest are counted (diff.json has them all). */
const PATHS_SHOWN = 8;

const short = (v: unknown) => {
    const s = JSON.stringify(v);
    return s.length > 40 ? `${s.slice(0, 37)}...` : s;
};

export function describeChange(c: PathChange): string {
    if (c.secret) {
        return `\`${c.path}\` (secret, changed)`;
    }
    if (!("before" in c) && !("after" in c)) {
        return `\`${c.path}\``;
    }
    return `\`${c.path}\` ${"before" in c ? short(c.before) : "(object)"} -> ${"after" in c ? short(c.after) : "(object)"}`;
}

const paths = (changes: PathChange[]) =>
    [...changes.slice(0, PATHS_SHOWN).map(describeChange), ...(changes.length > PATHS_SHOWN ? [`and ${changes.length - PATHS_SHOWN} more`] : [])].join("; ");

const money = (n: number) => `$${n.toFixed(2)}`;
/** A change is a difference, said so: "$734.38 more", "2 fewer", never a bare "+$734.38". */
const signed = (n: number, fmt: (x: number) => string, fewer = "less") => (n > 0 ? `${fmt(n)} more` : n < 0 ? `${fmt(-n)} ${fewer}` : "no change");

function rows(section: PlanDiff["resources"], label: (r: AddedOrRemoved | ResourceChange) => string): (string | number)[][] {
    const replaced = section.changed.filter((c) => c.replacedBecause.length > 0);
    const updated = section.changed.filter((c) => c.replacedBecause.length === 0);
    return [
        ...replaced.map((c) => [
            c.deleteBeforeReplace ? "replace (delete first)" : "replace",
            label(c),
            paths(c.changes),
            c.replacedBecause.map((r) => `\`${r.path}\`: ${r.source}`).join("; "),
            c.effects.join("; ") || "-",
        ]),
        ...updated.map((c) => ["update", label(c), paths(c.changes), "-", c.effects.join("; ") || "-"]),
        ...section.added.map((a) => ["create", label(a), "-", "-", "-"]),
        ...section.removed.map((r) => ["delete", label(r), "-", "-", r.effects.join("; ") || "-"]),
    ];
}

function counts(section: PlanDiff["resources"]): string {
    const replaced = section.changed.filter((c) => c.replacedBecause.length > 0).length;
    return `${section.added.length} added, ${section.removed.length} removed, ${section.changed.length} changed (${replaced} replaced)`;
}

export function changesSection(d: PlanDiff): ReportSection {
    const out: string[] = [];
    out.push("Against the base plan of the same stack. Exit codes are this plan's own; the diff never changes them.");
    out.push("");
    out.push("### Risk (read first)");
    out.push(d.risks.length === 0 ? "None: nothing protected or holding data is deleted or replaced; no NetworkPolicy, access entry, policy enforcement level or Kubernetes version changes." : d.risks.map((r) => `- **${r.kind}**: ${r.message}`).join("\n"));
    out.push("");
    out.push("### Deltas");
    const line = (what: string, x: Delta, fmt: (n: number) => string, fewer?: string) => [what, fmt(x.base), fmt(x.head), signed(x.delta, fmt, fewer)];
    const n = (x: number) => String(x);
    out.push(
        table(
            ["figure", "base", "this plan", "change"],
            [
                line("monthly EC2 cost, minimum scale", d.deltas.monthlyCostMin, money),
                line("monthly EC2 cost, maximum scale", d.deltas.monthlyCostMax, money),
                line("GPUs provisioned, minimum scale", d.deltas.gpusProvisionedMin, n, "fewer"),
                line("GPUs provisioned, maximum scale", d.deltas.gpusProvisionedMax, n, "fewer"),
            ],
        ),
    );
    out.push("");
    const list = (xs: string[]) => (xs.length ? xs.join("; ") : "none");
    out.push(`Workloads newly unschedulable: ${list(d.deltas.newlyUnschedulable.map((w) => (w.reason ? `${w.name} (${w.reason})` : w.name)))}.`);
    out.push(`Workloads newly schedulable: ${list(d.deltas.newlySchedulable)}.`);
    const v = (x: PlanDiff["deltas"]["policyViolationsAdded"]) => list(x.map((p) => `${p.policy} on ${p.resource.type} ${p.resource.name} (${p.enforcementLevel})`));
    out.push(`Policy violations added: ${v(d.deltas.policyViolationsAdded)}.`);
    out.push(`Policy violations fixed: ${v(d.deltas.policyViolationsFixed)}.`);
    out.push("");
    const head = ["change", "", "inputs that differ", "replaced because", "effect"];
    out.push(`### Resources: ${counts(d.resources)}`);
    const res = rows(d.resources, (r) => `\`${r.urn}\``);
    out.push(res.length ? table(head.map((h) => h || "URN"), res) : "No changes.");
    out.push("");
    out.push(`### Kubernetes objects: ${counts(d.kubernetes)}`);
    const objs = rows(d.kubernetes, (r) => `\`${r.object ?? r.urn}\``);
    out.push(objs.length ? table(head.map((h) => h || "object"), objs) : "No changes.");
    return { title: "Changes", body: out.join("\n") };
}
