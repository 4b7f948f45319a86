/**
 * Dashboards and alerts (issue 16): every series a dashboard panel, an alert or a recording rule reads
 * is produced by an exporter the platform deploys (as configured: the DCGM counters file, the
 * kube-state-metrics allow-list) or by a recording rule it deploys, with the labels the query uses.
 * Everything is read from what the program registered, not from the builders.
 */
import { strict as assert } from "node:assert";
import { poolHourlyCost } from "../capacity/cost";
import { ksmLabel, allowListedLabels, exportedSeries, RECORDED_LABELS, GRAFANA_DASHBOARD_LABEL, alertRules } from "../components/observability";
import { DCGM_COUNTERS, DCGM_COUNTERS_DIR, DCGM_COUNTERS_FILE } from "../facts/dcgmCounters";
import { readPromql, seriesOf, tokenize, unproducedIn } from "../plan/promql";
import { RecordedResource } from "../plan/recorder";
import { ConfigError } from "../stacks/errors";
import { ALERT_DEFAULTS } from "../stacks/schema";
import { buildStackSpec } from "../stacks/validate";
import { planOf, platformRun } from "./fixtures";
import { firstComparison } from "../plan/alertsReport";
import { rawConfigOf, ROOT, withKey } from "./helpers";
import * as path from "node:path";
import { runProgram } from "../plan/run";
import { GPU_UTIL_BY_POD } from "../components/metricsChain";

type Obj = Record<string, any>;

describe("plan/promql: the series and labels an expression reads", () => {
    it("finds series behind functions, aggregations, joins and ranges, not keywords or strings", () => {
        assert.deepEqual(seriesOf(`sum by (pool) (rate(foo_total{a="b"}[5m])) / on (pool) group_left(x) bar > 0 and baz offset 5m`), ["foo_total", "bar", "baz"]);
        assert.deepEqual(seriesOf(`max_over_time(ml_platform:gpu_util:gpu[4h]) < 5 and on (node) (time() - kube_node_created > 14400)`), ["ml_platform:gpu_util:gpu", "kube_node_created"]);
        assert.deepEqual(seriesOf(`label_replace(up, "dst", "$1", "src", "(.+) sum") * vector(1)`), ["up"]);
        assert.deepEqual(seriesOf(`{__name__="inference_request_queue_depth",namespace!="",app!=""}`), ["inference_request_queue_depth"]);
        assert.deepEqual(seriesOf(`sum(x) without (instance) or count(y) by (job) unless z bool == 1`), ["x", "y", "z"]);
        assert.deepEqual(seriesOf(`1e3 * 0.5 + Inf`), []);
    });

    it("reads matchers, grouping labels and label_replace's created and source labels", () => {
        const use = readPromql(`max by (namespace, pod) (label_replace(a{x="1", y=~"2"}, "node", "$1", "Hostname", "(.+)")) * on (node) group_left(pool) b`);
        assert.deepEqual(use.selectors, [{ metric: "a", matchers: ["x", "y"] }, { metric: "b", matchers: [] }]);
        assert.deepEqual(use.groupingLabels, ["namespace", "pod", "node", "pool"]);
        assert.deepEqual(use.createdLabels, ["node"]);
        assert.deepEqual(use.sourceLabels, ["Hostname"]);
    });

    it("tokenizes strings with escapes and refuses what it cannot read", () => {
        assert.deepEqual(
            tokenize(`a{b="c\\"d"}`).map((t) => t.text),
            ["a", "{", "b", "=", 'c"d', "}"],
        );
        assert.throws(() => tokenize(`a{b="c}`), /unterminated string/);
        assert.throws(() => readPromql(`a{b}`), /bad label matcher/);
    });

    it("unproducedIn names unknown series, missing matcher labels and grouping labels nothing carries", () => {
        const produced = { a: ["x", "Hostname"], b: ["node", "pool"] };
        assert.deepEqual(unproducedIn(`sum by (x) (a{x="1"})`, produced), []);
        assert.deepEqual(unproducedIn(`label_replace(a, "node", "$1", "Hostname", "(.+)") * on (node) group_left(pool) b`, produced), []);
        assert.match(unproducedIn(`c`, produced).join(), /series c is produced by no exporter/);
        assert.match(unproducedIn(`a{y="1"}`, produced).join(), /series a has no label y/);
        assert.match(unproducedIn(`sum by (team) (a)`, produced).join(), /label team is carried by none/);
        assert.match(unproducedIn(`label_replace(a, "n", "$1", "host", "(.+)")`, produced).join(), /label host is carried by none/);
    });
});

describe("kube-state-metrics label names", () => {
    it("sanitises and snake-cases allow-listed keys as KSM v2.19 does", () => {
        assert.equal(ksmLabel("node-pool"), "label_node_pool");
        assert.equal(ksmLabel("k8s.amazonaws.com/accelerator"), "label_k8s_amazonaws_com_accelerator");
        assert.equal(ksmLabel("appName"), "label_app_name");
        assert.deepEqual(allowListedLabels(["pods=[app,team]", "nodes=[node-pool]"], "pods"), ["label_app", "label_team"]);
        assert.deepEqual(allowListedLabels(["pods=[app]"], "nodes"), []);
    });
});

interface Deployed {
    /** name -> labels, from the exporters as configured and the recording rules as deployed. */
    produced: Record<string, readonly string[]>;
    /** Every query: where it is, and its expression. */
    queries: { where: string; expr: string }[];
    values: Obj;
    rule: RecordedResource;
    dashboard: RecordedResource;
}

const byType = (rs: readonly RecordedResource[], type: string) => rs.filter((r) => r.type === type);
const named = (rs: readonly RecordedResource[], type: string, name: string) => {
    const found = rs.filter((r) => r.type === type && (r.inputs.metadata as Obj | undefined)?.name === name);
    assert.equal(found.length, 1, `${type} ${name}`);
    return found[0];
};

/** Reads back what the program registered: the counters file, the chart values, the rules and the dashboard. */
function deployed(resources: readonly RecordedResource[], allowlistOverride?: string[]): Deployed {
    const releases = byType(resources, "kubernetes:helm.sh/v3:Release");
    const kps = releases.find((r) => r.inputs.chart === "kube-prometheus-stack")!;
    const adapter = releases.find((r) => r.inputs.chart === "prometheus-adapter")!;
    const values = kps.inputs.values as Obj;

    // The DCGM exporter's fields: the ConfigMap its DaemonSet is pointed at.
    const ds = named(resources, "kubernetes:apps/v1:DaemonSet", "dcgm-exporter").inputs as Obj;
    const container = ds.spec.template.spec.containers[0];
    const collectors = container.env.find((e: Obj) => e.name === "DCGM_EXPORTER_COLLECTORS").value as string;
    const mount = container.volumeMounts.find((m: Obj) => collectors.startsWith(`${m.mountPath}/`));
    const volume = ds.spec.template.spec.volumes.find((v: Obj) => v.name === mount.name);
    const csv = (named(resources, "kubernetes:core/v1:ConfigMap", volume.configMap.name).inputs as Obj).data[collectors.slice(mount.mountPath.length + 1)] as string;
    const fields = csv
        .split("\n")
        .filter((l) => l.trim() !== "" && !l.startsWith("#"))
        .map((l) => l.split(",").map((x) => x.trim()));
    const series = exportedSeries(allowlistOverride ?? values["kube-state-metrics"].metricLabelsAllowlist);
    const dcgmLabels = Object.values(series["dcgm-exporter"])[0];
    const produced: Record<string, readonly string[]> = {
        ...Object.fromEntries(fields.filter(([, type]) => type !== "label").map(([field]) => [field, dcgmLabels])),
        ...series["kube-state-metrics"],
        ...Object.assign({}, ...Object.entries(series).filter(([source]) => source.startsWith("servingRuntime:")).map(([, s]) => s)),
    };

    const rule = named(resources, "kubernetes:monitoring.coreos.com/v1:PrometheusRule", "ml-platform");
    const groups: Obj[] = [...(rule.inputs.spec as Obj).groups, ...Object.values(values.additionalPrometheusRulesMap as Obj).flatMap((g: Obj) => g.groups)];
    const rules: Obj[] = groups.flatMap((g) => g.rules);
    for (const r of rules.filter((x) => x.record)) {
        assert.ok(RECORDED_LABELS[r.record], `recorded series ${r.record} has its labels in RECORDED_LABELS`);
        produced[r.record] = [...RECORDED_LABELS[r.record], ...Object.keys(r.labels ?? {})];
    }
    const dashboard = named(resources, "kubernetes:core/v1:ConfigMap", "ml-platform-dashboard");
    const json = JSON.parse(Object.values((dashboard.inputs as Obj).data)[0] as string);
    const queries = [
        ...rules.map((r) => ({ where: `rule ${r.record ?? r.alert}`, expr: r.expr as string })),
        ...json.panels.flatMap((p: Obj) => p.targets.map((t: Obj) => ({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr as string }))),
        ...((adapter.inputs.values as Obj).rules.external as Obj[]).map((r) => ({ where: `adapter rule ${r.name.as}`, expr: r.seriesQuery as string })),
    ];
    return { produced, queries, values, rule, dashboard };
}

for (const stack of ["dev", "prod"] as const) {
    describe(`dashboards and alerts as deployed (${stack})`, () => {
        let resources: readonly RecordedResource[];
        let d: Deployed;
        before(async () => {
            resources = (await platformRun(stack)).resources;
            d = deployed(resources);
        });

        it("every series a panel, alert, recording rule or adapter rule queries is produced, with the labels it uses", () => {
            assert.ok(d.queries.length >= 25, `${d.queries.length} queries`);
            const problems = d.queries.flatMap((q) => unproducedIn(q.expr, d.produced).map((p) => `${q.where}: ${p}`));
            assert.deepEqual(problems, []);
        });

        it("a recorded series' declared labels are the ones its aggregation keeps", () => {
            const rules: Obj[] = (d.rule.inputs as Obj).spec.groups.flatMap((g: Obj) => g.rules).filter((r: Obj) => r.record);
            let checked = 0;
            for (const r of rules) {
                const by = /^\w+ by \(([^)]*)\) \(/.exec(r.expr) ?? /^(?:sum|count|avg|max|min|vector)\((?!.*\b(?:by|without)\b)/.exec(r.expr);
                if (!by) continue;
                const kept = by[1] ? by[1].split(",").map((x: string) => x.trim()) : [];
                // Labels the rule itself sets come on top of what the expression keeps.
                const fromExpr = RECORDED_LABELS[r.record].filter((l) => !Object.keys(r.labels ?? {}).includes(l));
                assert.deepEqual([...fromExpr].sort(), kept.sort(), r.record);
                checked++;
            }
            assert.ok(checked >= 2, `${checked} aggregations checked`);
        });

        it("the check has teeth: without the node-pool allow-list, the pool rules read a label nobody exports", () => {
            const without = deployed(resources, ["pods=[app]"]);
            const problems = without.queries.flatMap((q) => unproducedIn(q.expr, without.produced));
            assert.ok(problems.some((p) => /kube_node_labels has no label label_node_pool/.test(p)), problems.join("\n"));
        });

        it("the check has teeth: a query on a field the counters file does not collect fails", () => {
            const problems = unproducedIn(`avg(DCGM_FI_PROF_SM_OCCUPANCY)`, d.produced);
            assert.match(problems.join(), /series DCGM_FI_PROF_SM_OCCUPANCY is produced by no exporter/);
            assert.match(unproducedIn(`sum by (Hostname) (kube_pod_labels)`, d.produced).join(), /label Hostname is carried by none/);
        });

        it("the DCGM exporter reads the platform's counters file: every default field of the pinned image, XID errors among them", () => {
            const ds = named(resources, "kubernetes:apps/v1:DaemonSet", "dcgm-exporter").inputs as Obj;
            const env = ds.spec.template.spec.containers[0].env;
            assert.equal(env.find((e: Obj) => e.name === "DCGM_EXPORTER_COLLECTORS").value, `${DCGM_COUNTERS_DIR}/${DCGM_COUNTERS_FILE}`);
            for (const f of ["DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_XID_ERRORS"]) {
                assert.ok(d.produced[f], f);
            }
            assert.equal(Object.keys(d.produced).filter((k) => k.startsWith("DCGM_")).length, DCGM_COUNTERS.filter((c) => c.type !== "label").length);
        });

        it("the dashboard ConfigMap carries the label the chart's Grafana sidecar loads", () => {
            const sidecar = d.values.grafana.sidecar.dashboards;
            assert.equal(sidecar.enabled, true);
            const labels = (d.dashboard.inputs as Obj).metadata.labels;
            assert.equal(labels[sidecar.label], sidecar.labelValue);
            assert.deepEqual([sidecar.label, sidecar.labelValue], [GRAFANA_DASHBOARD_LABEL.key, GRAFANA_DASHBOARD_LABEL.value]);
            // Chart 87.17.0's sidecar watches ALL namespaces; the ConfigMap sits with the chart anyway.
            assert.equal((d.dashboard.inputs as Obj).metadata.namespace, "monitoring");
        });

        it("the PrometheusRule is selected by the Prometheus the chart creates", () => {
            const spec = d.values.prometheus.prometheusSpec;
            // The chart's prometheus.yaml: an explicit ruleSelector wins; with NilUsesHelmValues it selects release=<release>; else {} (all).
            const selector: Obj = spec.ruleSelector ?? (spec.ruleSelectorNilUsesHelmValues === false ? {} : { matchLabels: { release: "kube-prometheus-stack" } });
            const labels = (d.rule.inputs as Obj).metadata.labels;
            for (const [k, v] of Object.entries(selector.matchLabels ?? {})) assert.equal(labels[k], v);
            assert.equal(labels.release, "kube-prometheus-stack", "selected even if ruleSelectorNilUsesHelmValues is turned back on");
        });

        it("cost per hour joins the observed node count with each pool's catalog price", async () => {
            const spec = (await platformRun(stack)).spec;
            const rules: Obj[] = (d.rule.inputs as Obj).spec.groups.flatMap((g: Obj) => g.rules);
            for (const p of spec.nodePools) {
                const price = rules.find((r) => r.record === "ml_platform:node_pool:hourly_price_usd" && r.labels.pool === p.name)!;
                assert.equal(price.expr, `vector(${poolHourlyCost(p.instanceType, 1)})`);
                assert.equal(rules.find((r) => r.record === "ml_platform:node_pool:max_nodes" && r.labels.pool === p.name)!.expr, `vector(${p.maxSize})`);
            }
        });

        it("alerts: the five the issue asks for, each with a severity and a duration", () => {
            const alerts: Obj[] = (d.rule.inputs as Obj).spec.groups.flatMap((g: Obj) => g.rules).filter((r: Obj) => r.alert);
            assert.deepEqual(alerts.map((a) => a.alert).sort(), ["GpuMemoryNearFull", "GpuNodeIdle", "GpuPodPendingTooLong", "GpuXidError", "ServingHpaAtMaximum"]);
            for (const a of alerts) {
                assert.ok(["critical", "warning"].includes(a.labels.severity), a.alert);
                assert.match(a.for, /^\d+[mh]$/);
            }
            assert.ok(alerts.find((a) => a.alert === "GpuXidError")!.expr.includes("DCGM_FI_DEV_XID_ERRORS"));
        });
    });
}

describe("dashboards and alerts as deployed (gpu-sharing example, a MIG pool)", () => {
    let d: Deployed;
    before(async function () {
        this.timeout(120_000);
        d = deployed((await runProgram("gpu-sharing", path.join(ROOT, "examples", "gpu-sharing", "Pulumi.gpu-sharing.yaml"))).resources);
    });

    it("every series the rules, panels and adapter read is produced, with the labels they use", () => {
        assert.deepEqual(d.queries.flatMap((q) => unproducedIn(q.expr, d.produced).map((p) => `${q.where}: ${p}`)), []);
    });

    it("GPU utilisation reads a MIG slice's engine-active ratio (DCGM reports no GPU_UTIL for slices) and whole GPUs' GPU_UTIL", () => {
        const recorded = d.queries.filter((q) => q.where === `rule ${GPU_UTIL_BY_POD}` || q.where === "rule ml_platform:gpu_util:gpu");
        assert.equal(recorded.length, 2, d.queries.map((q) => q.where).join(", "));
        for (const q of recorded) {
            assert.match(q.expr, /DCGM_FI_DEV_GPU_UTIL\{[^}]*GPU_I_ID=""[^}]*\} or 100 \* DCGM_FI_PROF_GR_ENGINE_ACTIVE\{[^}]*GPU_I_ID!=""/);
        }
    });
});

describe("report: Dashboards and alerts", () => {
    it("lists every deployed alert with what it reads, its comparison, duration and severity", async () => {
        const { result, run } = await planOf("prod");
        const rule = run.resources.find((r) => r.type === "kubernetes:monitoring.coreos.com/v1:PrometheusRule")!;
        const alerts: Obj[] = (rule.inputs.spec as Obj).groups.flatMap((g: Obj) => g.rules).filter((r: Obj) => r.alert);
        assert.match(result.report, /## Dashboards and alerts\n5 alerts and \d+ recorded series/);
        for (const a of alerts) {
            const row = result.report.split("\n").find((l) => l.startsWith(`| ${a.alert} |`));
            assert.ok(row, a.alert);
            assert.ok(row.includes(`| ${a.for} | ${a.labels.severity} |`), row);
            for (const s of seriesOf(a.expr)) assert.ok(row.includes(`\`${s}\``), `${a.alert} reads ${s}`);
        }
        assert.match(result.report, /ConfigMap `ml-platform-dashboard`\): GPU utilisation by pool;/);
    });

    it("firstComparison skips a join's on(...) list", () => {
        assert.equal(firstComparison("a >= on (x, y) b"), ">= b");
        assert.equal(firstComparison("max(a) < 5 and on (node) (time() - c > 10)"), "< 5");
        assert.equal(firstComparison("a"), "-");
    });
});

describe("config: ml-platform:alerts", () => {
    it("thresholds reach the alert expressions and durations", () => {
        const spec = buildStackSpec(withKey(rawConfigOf("dev"), "alerts", () => ({ gpuIdleHours: 8, gpuMemoryFullPercent: 90, gpuPodPendingMinutes: 20 })));
        assert.deepEqual(spec.alerts, { ...ALERT_DEFAULTS, gpuIdleHours: 8, gpuMemoryFullPercent: 90, gpuPodPendingMinutes: 20 });
        const alerts = alertRules(spec.alerts, "ml-serving");
        const by = (n: string) => alerts.find((a) => a.alert === n)!;
        assert.match(by("GpuNodeIdle").expr, /\[8h\]\)\) < 5 and on \(node\) \(time\(\) - kube_node_created > 28800\)/);
        assert.match(by("GpuMemoryNearFull").expr, /> 0\.9$/);
        assert.equal(by("GpuPodPendingTooLong").for, "20m");
        assert.equal(by("ServingHpaAtMaximum").for, `${ALERT_DEFAULTS.hpaAtMaxMinutes}m`);
    });

    it("a bad threshold exits 2 naming the key and the value", () => {
        try {
            buildStackSpec(withKey(rawConfigOf("dev"), "alerts", () => ({ gpuMemoryFullPercent: 120, idle: 1 })));
            assert.fail("accepted");
        } catch (e) {
            assert.ok(e instanceof ConfigError);
            const text = e.problems.join("\n");
            assert.match(text, /ml-platform:alerts\.gpuMemoryFullPercent must be <= 100, got 120/);
            assert.match(text, /ml-platform:alerts has unknown key\(s\) "idle"/);
        }
    });
});
