import { strict as assert } from "node:assert";
import { instanceType } from "../capacity/catalog";
import { poolLabels, poolTaints } from "../capacity/pools";
import { CA_READ_ACTIONS, CA_WRITE_ACTIONS, clusterAutoscalerPolicy } from "../components/clusterAutoscaler";
import { APP_LABEL, DCGM_SERIES, GPU_UTIL_BY_POD, SERVING_QUEUE_SERIES } from "../components/metricsChain";
import { DCGM_EXPORTER_NAME } from "../components/nvidia";
import { CLUSTER_AUTOSCALER_IMAGE_TAGS } from "../facts/versions";
import { RUNTIME_FACTS, ServingRuntime } from "../facts/runtimes";
import { ProgramRun } from "../plan/run";
import { chainDiagram } from "../plan/chain";
import { platformRun } from "./fixtures";

type Obj = Record<string, any>;

const release = (run: ProgramRun, chart: string) => {
    const r = run.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && (x.inputs as Obj).chart === chart);
    assert.ok(r, `no Helm release of ${chart}`);
    return r.inputs as Obj;
};
const objects = (run: ProgramRun, kind: string) => run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type.endsWith(`:${kind}`)).map((r) => r.inputs as Obj);

/** The series an adapter rule's seriesQuery selects: {__name__="x",...}. */
const seriesOf = (seriesQuery: string) => /__name__="([^"]+)"/.exec(seriesQuery)?.[1];

/** How the HPA controller turns an External AverageValue target into replicas: ceil(sum / target). */
const hpaDesired = (adapterValue: number, target: number) => Math.ceil(adapterValue / target);

describe("GPU autoscaling chain (prod plan)", () => {
    let run: ProgramRun;
    let adapter: Obj;
    let prometheus: Obj;
    before(async () => {
        run = await platformRun("prod");
        adapter = release(run, "prometheus-adapter").values;
        prometheus = release(run, "kube-prometheus-stack").values;
    });

    it("every HPA External metric has an adapter rule publishing that (lower-case) name", () => {
        const published = (adapter.rules.external as Obj[]).map((r) => r.name.as);
        const hpas = objects(run, "HorizontalPodAutoscaler");
        assert.equal(hpas.length, run.spec.serving.length);
        for (const hpa of hpas) {
            for (const m of hpa.spec.metrics) {
                assert.equal(m.type, "External");
                assert.equal(m.external.metric.name, m.external.metric.name.toLowerCase(), "client-go lower-cases metric names");
                assert.ok(published.includes(m.external.metric.name), `${hpa.metadata.name}: no adapter rule for ${m.external.metric.name}`);
            }
        }
        assert.equal(adapter.rules.default, false);
    });

    it("every adapter rule reads a series an exporter we deploy produces", () => {
        const recordingRules = prometheus.additionalPrometheusRulesMap["ml-platform-gpu"].groups.flatMap((g: Obj) => g.rules) as Obj[];
        const dcgm = objects(run, "DaemonSet").find((d) => d.metadata.name === DCGM_EXPORTER_NAME);
        assert.ok(dcgm, "the DCGM exporter is deployed");
        for (const rule of adapter.rules.external as Obj[]) {
            const series = seriesOf(rule.seriesQuery);
            const runtime = (Object.keys(RUNTIME_FACTS) as ServingRuntime[]).find((r) => r !== "custom" && RUNTIME_FACTS[r].queueSeries === series);
            if (runtime) {
                // A runtime's own queue gauge: some Deployment of that runtime serves it on the scraped port and path.
                const podMonitor = (prometheus.prometheus.additionalPodMonitors as Obj[]).find((m) => m.namespaceSelector.matchNames.includes(run.spec.namespaces.serving))!;
                const servers = run.spec.serving.filter((x) => x.runtime === runtime);
                assert.ok(servers.length > 0, `adapter reads ${series} but no ${runtime} server is deployed`);
                for (const x of servers) {
                    const d = objects(run, "Deployment").find((o) => o.metadata.name === x.name)!;
                    const server = d.spec.template.spec.containers[0];
                    assert.ok(server.ports.some((p: Obj) => p.name === podMonitor.podMetricsEndpoints[0].port));
                    assert.equal(podMonitor.podMetricsEndpoints[0].path, RUNTIME_FACTS[runtime].metricsPath);
                }
            } else if (series === SERVING_QUEUE_SERIES) {
                const podMonitor = (prometheus.prometheus.additionalPodMonitors as Obj[]).find((m) => m.namespaceSelector.matchNames.includes(run.spec.namespaces.serving));
                assert.ok(podMonitor, "serving pods are scraped");
                assert.deepEqual(podMonitor.podTargetLabels, [APP_LABEL]);
                const port = podMonitor.podMetricsEndpoints[0].port;
                for (const d of objects(run, "Deployment").filter((x) => x.metadata.namespace === run.spec.namespaces.serving)) {
                    const server = d.spec.template.spec.containers[0];
                    assert.ok(server.ports.some((p: Obj) => p.name === port), `${d.metadata.name} exposes port ${port}`);
                    assert.equal(d.spec.template.metadata.annotations["prometheus.io/path"], "/metrics");
                }
            } else {
                const recorded = recordingRules.find((r) => r.record === series);
                assert.ok(recorded, `adapter reads ${series}, which nothing records`);
                assert.ok(recorded.expr.includes(`${DCGM_SERIES.gpuUtilization}{`), "recorded from DCGM's own series");
            }
        }
    });

    it("scales each vLLM server on the queue gauge vLLM exports, through an adapter rule that reads exactly that series", () => {
        const rules = adapter.rules.external as Obj[];
        const vllm = run.spec.serving.filter((x) => x.runtime === "vllm");
        assert.ok(vllm.length > 0, "prod serves a vLLM model");
        for (const x of vllm) {
            const hpa = objects(run, "HorizontalPodAutoscaler").find((h) => h.metadata.name === x.name)!;
            const names = hpa.spec.metrics.map((m: Obj) => m.external.metric.name as string);
            // Not the custom servers' gauge: vLLM does not export it, so an HPA on it would never scale.
            assert.ok(!names.includes(SERVING_QUEUE_SERIES), `${x.name} asks for ${SERVING_QUEUE_SERIES}, which vLLM does not export`);
            const queue = names.find((n: string) => n !== names[0])!;
            const rule = rules.find((r) => r.name.as === queue);
            assert.ok(rule, `no adapter rule publishes ${queue}`);
            assert.equal(seriesOf(rule.seriesQuery), "vllm:num_requests_waiting");
            // The rule's name regex matches the real series name (':' escaped, anchored), and publishes a lower-case name without ':'.
            assert.ok(new RegExp(rule.name.matches).test("vllm:num_requests_waiting"));
            assert.equal(queue, queue.toLowerCase());
            assert.ok(!queue.includes(":"));
            // The model label vLLM puts on the gauge is the served model name, which is the app label the HPA selects.
            const d = objects(run, "Deployment").find((o) => o.metadata.name === x.name)!;
            const args = d.spec.template.spec.containers[0].args as string[];
            assert.equal(args[args.indexOf("--served-model-name") + 1], d.spec.template.metadata.labels[APP_LABEL]);
            assert.equal(RUNTIME_FACTS.vllm.queueModelLabel, "model_name");
        }
    });

    it("joins the app label onto GPU utilisation, one value per pod, via kube-state-metrics' allow-list", () => {
        const rule = prometheus.additionalPrometheusRulesMap["ml-platform-gpu"].groups[0].rules.find((r: Obj) => r.record === GPU_UTIL_BY_POD);
        assert.match(rule.expr, /avg by \(namespace, pod\) \(DCGM_FI_DEV_GPU_UTIL\{pod!=""\}\)/);
        assert.match(rule.expr, /group_left\(label_app\)/);
        assert.match(rule.expr, /label_replace\(.*, "app", "\$1", "label_app", "\(\.\+\)"\)$/);
        // pods=[app] for this join; nodes=[node-pool] for the dashboard's per-pool series (test/observability.test.ts).
        assert.deepEqual(prometheus["kube-state-metrics"].metricLabelsAllowlist, ["pods=[app]", "nodes=[node-pool]"]);
    });

    it("scrapes DCGM keeping its pod/namespace labels (honorLabels) from the DCGM Service", () => {
        const sm = (prometheus.prometheus.additionalServiceMonitors as Obj[]).find((m) => m.name === DCGM_EXPORTER_NAME);
        assert.ok(sm);
        assert.equal(sm.endpoints[0].honorLabels, true);
        const svc = objects(run, "Service").find((s) => s.metadata.name === DCGM_EXPORTER_NAME)!;
        assert.ok(sm.namespaceSelector.matchNames.includes(svc.metadata.namespace));
        for (const [k, v] of Object.entries(sm.selector.matchLabels)) {
            assert.equal(svc.metadata.labels[k], v, "the ServiceMonitor selects the DCGM Service");
        }
        assert.ok(svc.spec.ports.some((p: Obj) => p.name === sm.endpoints[0].port));
        assert.equal(prometheus.prometheus.prometheusSpec.serviceMonitorSelectorNilUsesHelmValues, false);
        assert.equal(prometheus.prometheus.prometheusSpec.ruleSelectorNilUsesHelmValues, false);
    });

    it("adapter queries return a total over the selected pods, which AverageValue divides by replicas", () => {
        for (const rule of adapter.rules.external as Obj[]) {
            assert.match(rule.metricsQuery, /^sum\(<<\.Series>>\{<<\.LabelMatchers>>\}\) by \(<<\.GroupBy>>\)$/);
            assert.deepEqual(rule.resources.overrides.namespace, { resource: "namespace" });
        }
        // 4 pods at 90% against a 70 target: the total (360) asks for 6 pods; an average (90) would ask for 2.
        assert.equal(hpaDesired(4 * 90, 70), 6);
        assert.equal(hpaDesired(90, 70), 2);
    });

    it("each HPA selects exactly its own model's series, by the label its pods carry", () => {
        for (const hpa of objects(run, "HorizontalPodAutoscaler")) {
            const target = objects(run, "Deployment").find((d) => d.metadata.name === hpa.spec.scaleTargetRef.name)!;
            assert.ok(target, `${hpa.metadata.name} scales a Deployment we deploy`);
            assert.equal(hpa.metadata.namespace, target.metadata.namespace);
            for (const m of hpa.spec.metrics) {
                assert.deepEqual(m.external.metric.selector.matchLabels, { [APP_LABEL]: target.spec.template.metadata.labels[APP_LABEL] });
            }
            const others = objects(run, "Deployment").filter((d) => d !== target && d.spec.template.metadata.labels[APP_LABEL] === target.spec.template.metadata.labels[APP_LABEL]);
            assert.deepEqual(others, [], "no other Deployment's pods share the label");
        }
    });

    it("every GPU pool that can sit at zero carries scale-from-zero hints matching its own taints, labels and GPU count", () => {
        const zeroPools = run.spec.nodePools.filter((p) => p.gpu && p.minSize === 0);
        assert.ok(zeroPools.length > 0, "prod has a GPU pool at zero");
        for (const pool of zeroPools) {
            const tags = Object.fromEntries(
                run.resources
                    .filter((r) => r.type === "aws:autoscaling/tag:Tag" && r.name.includes(`pool-${pool.name}-ca-`))
                    .map((r) => [(r.inputs as Obj).tag.key, (r.inputs as Obj).tag.value]),
            );
            const prefix = "k8s.io/cluster-autoscaler/node-template";
            const expected: Record<string, string> = { [`${prefix}/resources/nvidia.com/gpu`]: String(instanceType(pool.instanceType).gpu!.count) };
            for (const [k, v] of Object.entries(poolLabels(pool))) expected[`${prefix}/label/${k}`] = v;
            for (const t of poolTaints(pool, run.spec.gpuTaint)) expected[`${prefix}/taint/${t.key}`] = `${t.value}:${t.effect}`;
            assert.deepEqual(tags, expected);
        }
    });

    it("runs Cluster Autoscaler at the cluster's minor with auto-discovery, on the system pool", () => {
        const ca = release(run, "cluster-autoscaler").values;
        assert.equal(ca.image.tag, CLUSTER_AUTOSCALER_IMAGE_TAGS[run.spec.cluster.kubernetesVersion]);
        assert.ok(ca.image.tag.startsWith(`v${run.spec.cluster.kubernetesVersion}.`));
        assert.equal(ca.autoDiscovery.clusterName, run.spec.cluster.name);
        assert.deepEqual(ca.nodeSelector, { "node-pool": "system" });
        assert.match(ca.rbac.serviceAccount.annotations["eks.amazonaws.com/role-arn"], /^arn:aws:iam::\d{12}:role\//);
        // The cheaper GPU-hour (A10G) outranks the A100 pool in the priority expander.
        const prio = ca.expanderPriorities as Record<string, string[]>;
        const rank = (pool: string) => Number(Object.entries(prio).find(([, res]) => res.some((r) => r.includes(`-${pool}-`)))![0]);
        assert.ok(rank("a10g") > rank("a100"));
    });

    it("gives the autoscaler's role what discovery and scale-from-zero need, and writes only to this cluster's groups", () => {
        const policyResource = run.resources.find((r) => r.type === "aws:iam/rolePolicy:RolePolicy" && r.name.includes("cluster-autoscaler"))!;
        const doc = JSON.parse((policyResource.inputs as Obj).policy);
        assert.deepEqual(doc, clusterAutoscalerPolicy(run.spec.cluster.name, run.spec.region, "123456789012"));
        const statements = doc.Statement as Obj[];
        const allActions = statements.flatMap((s) => s.Action as string[]);
        assert.ok(!allActions.some((a) => a.endsWith("*")), "no wildcard actions");
        assert.deepEqual(allActions.sort(), [...CA_READ_ACTIONS, ...CA_WRITE_ACTIONS, "eks:DescribeNodegroup"].sort());
        const write = statements.find((s) => (s.Action as string[]).includes("autoscaling:SetDesiredCapacity"))!;
        assert.deepEqual(write.Condition, { StringEquals: { [`aws:ResourceTag/k8s.io/cluster-autoscaler/${run.spec.cluster.name}`]: "owned" } });
        const describeNg = statements.find((s) => (s.Action as string[]).includes("eks:DescribeNodegroup"))!;
        assert.match(describeNg.Resource, new RegExp(`:nodegroup/${run.spec.cluster.name}/\\*/\\*$`));
    });

    it("ranks serving above batch training so a training burst cannot starve serving", () => {
        const classes = objects(run, "PriorityClass");
        const value = (n: string) => classes.find((c) => c.metadata.name === n)!.value as number;
        const servingClass = objects(run, "Deployment").find((d) => d.metadata.namespace === "ml-serving")!.spec.template.spec.priorityClassName;
        const job = objects(run, "Job")[0];
        assert.ok(value(servingClass) > value(job.spec.template.spec.priorityClassName));
        assert.ok(value(job.spec.template.spec.priorityClassName) > -10, "autoscaler ignores pods below -10");
    });

    it("draws the chain for the report with the metric names on the edges", () => {
        const diagram = chainDiagram(run.spec, run.resources)!;
        assert.ok(diagram.startsWith("```mermaid"));
        for (const s of ["DCGM_FI_DEV_GPU_UTIL", "dcgm_fi_dev_gpu_util", "inference_request_queue_depth", "Cluster Autoscaler", "pool a100"]) {
            assert.ok(diagram.includes(s), s);
        }
    });
});
