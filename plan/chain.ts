/** The GPU autoscaling chain as the plan sees it, drawn as a Mermaid diagram for report.md. */
import { StackSpec } from "../stacks/spec";
import { RecordedResource } from "./recorder";

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function helmValues(resources: RecordedResource[], chart: string): Obj | undefined {
    const r = resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && (x.inputs as Obj).chart === chart);
    return r ? ((r.inputs as Obj).values as Obj) : undefined;
}

const id = (s: string) => s.replace(/[^A-Za-z0-9]/g, "_");

/** Mermaid flowchart: pools -> DaemonSets -> Prometheus -> adapter -> HPAs -> autoscaler -> pools. */
export function chainDiagram(spec: StackSpec, resources: RecordedResource[]): string | undefined {
    const adapter = helmValues(resources, "prometheus-adapter");
    const prometheus = helmValues(resources, "kube-prometheus-stack");
    const autoscaler = helmValues(resources, "cluster-autoscaler");
    if (!adapter || !prometheus || !autoscaler) {
        return undefined;
    }
    const hpas = resources.filter((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").map((r) => r.inputs as Obj);
    const rules = (adapter.rules?.external ?? []) as { seriesQuery: string; name: { as: string } }[];
    const recorded = ((prometheus.additionalPrometheusRulesMap?.["ml-platform-gpu"]?.groups?.[0]?.rules ?? []) as { record: string }[]).map((r) => r.record);
    const lines = ["```mermaid", "flowchart LR"];
    for (const pool of spec.nodePools.filter((p) => p.gpu)) {
        lines.push(`  pool_${id(pool.name)}["pool ${pool.name}<br/>${pool.instanceType} x${pool.minSize}..${pool.maxSize}"]`);
        lines.push(`  pool_${id(pool.name)} --> dcgm["DaemonSet dcgm-exporter"]`);
        lines.push(`  pool_${id(pool.name)} --> plugin["DaemonSet nvidia-device-plugin"]`);
    }
    lines.push(`  dcgm -- "DCGM_FI_DEV_GPU_UTIL (honorLabels)" --> prom["Prometheus"]`);
    lines.push(`  servers["serving pods /metrics"] -- "inference_request_queue_depth (+app)" --> prom`);
    lines.push(`  ksm["kube-state-metrics"] -- "kube_pod_labels (label_app)" --> prom`);
    for (const r of recorded) {
        lines.push(`  prom -- "recording rule ${r}" --> prom`);
    }
    for (const rule of rules) {
        lines.push(`  prom -- "${rule.seriesQuery.replace(/"/g, "'")}" --> adapter["prometheus-adapter"]`);
    }
    for (const h of hpas) {
        const name = h.metadata.name as string;
        const metrics = ((h.spec.metrics ?? []) as Obj[]).map((m) => `${m.external.metric.name} avg ${m.external.target.averageValue}`);
        lines.push(`  adapter -- "${metrics.join("<br/>")}" --> hpa_${id(name)}["HPA ${name}"]`);
        lines.push(`  hpa_${id(name)} -- "pending pods" --> ca["Cluster Autoscaler ${autoscaler.image?.tag ?? ""}"]`);
    }
    for (const pool of spec.nodePools.filter((p) => p.gpu)) {
        lines.push(`  ca -- "scale ${pool.minSize === 0 ? "from zero (ASG node-template tags)" : "up/down"}" --> pool_${id(pool.name)}`);
    }
    lines.push("```");
    return lines.join("\n");
}
