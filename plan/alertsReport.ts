/**
 * The report's "Dashboards and alerts" section, from what the program registered: the PrometheusRule's
 * alerts (name, what they read and compare, how long, severity) and the dashboard ConfigMap's panels.
 */
import type { RecordedResource } from "./recorder";
import { seriesOf, tokenize } from "./promql";
import { table, type ReportSection } from "./report";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

const PROMETHEUS_RULE = "kubernetes:monitoring.coreos.com/v1:PrometheusRule";

const COMPARISONS = new Set([">", "<", ">=", "<=", "==", "!="]);

/** An alert's first comparison, e.g. `< 5` or `>= kube_..._spec_max_replicas` (a join's on(...) skipped). */
export function firstComparison(expr: string): string {
    const t = tokenize(expr);
    const at = t.findIndex((x) => x.kind === "punct" && COMPARISONS.has(x.text));
    if (at < 0) return "-";
    let i = at + 1;
    if (t[i]?.text === "bool") i++;
    if (t[i]?.text === "on" || t[i]?.text === "ignoring") {
        while (i < t.length && t[i].text !== ")") i++;
        i++;
    }
    return t[i] ? `${t[at].text} ${t[i].text}` : t[at].text;
}

export function alertsSection(resources: readonly RecordedResource[]): ReportSection | undefined {
    const rules = resources.filter((r) => r.type === PROMETHEUS_RULE);
    if (rules.length === 0) return undefined;
    const alerts: Obj[] = rules.flatMap((r) => ((r.inputs.spec as Obj | undefined)?.groups ?? []).flatMap((g: Obj) => g.rules ?? [])).filter((x: Obj) => x.alert);
    const records = rules.flatMap((r) => ((r.inputs.spec as Obj | undefined)?.groups ?? []).flatMap((g: Obj) => g.rules ?? [])).filter((x: Obj) => x.record);
    const dashboards = resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && (r.inputs.metadata as Obj | undefined)?.labels?.grafana_dashboard !== undefined);
    const panels = dashboards.flatMap((d) =>
        Object.values(((d.inputs as Obj).data ?? {}) as Record<string, string>).flatMap((text) => {
            try {
                return (JSON.parse(text).panels ?? []).map((p: Obj) => String(p.title));
            } catch {
                return [];
            }
        }),
    );
    const body = [
        `${alerts.length} alerts and ${new Set(records.map((r) => r.record)).size} recorded series (PrometheusRule, picked up by kube-prometheus-stack's Prometheus); ` +
            `thresholds from \`ml-platform:alerts\`. Every series they read is produced by an exporter or recording rule the platform deploys (test/observability.test.ts).`,
        "",
        table(
            ["alert", "reads", "fires when", "for", "severity"],
            alerts.map((a) => [a.alert, seriesOf(String(a.expr)).map((s) => `\`${s}\``).join(", "), firstComparison(String(a.expr)), a.for ?? "0m", a.labels?.severity ?? "-"]),
        ),
        "",
        `Grafana dashboard${dashboards.length === 1 ? "" : "s"} (loaded by the chart's sidecar from ConfigMap${dashboards.length === 1 ? "" : "s"} ${dashboards.map((d) => `\`${(d.inputs as Obj).metadata.name}\``).join(", ")}): ${panels.join("; ")}.`,
    ];
    return { title: "Dashboards and alerts", body: body.join("\n") };
}
