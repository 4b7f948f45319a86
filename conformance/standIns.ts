/**
 * What the run does in place of components that cannot run here, each said openly in the report:
 * - EKS's own DaemonSets (aws-node, kube-proxy, ...): DaemonSets with the requests the planner assumes;
 * - the EFS CSI provisioner: a PersistentVolume bound to each claim, as dynamic provisioning would make;
 * - the Kubeflow training operator: its real PyTorchJob CRD (from the operator's Go module at the pinned
 *   tag) and, for each PyTorchJob, the pods the operator would create from its replica specs;
 * - the HPA's metric-driven decisions: each Deployment an HPA targets is scaled to the scale under test.
 * Pure builders here; conformance/run.ts applies them.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadAll } from "js-yaml";
import { DaemonSetLoad, EKS_SYSTEM_DAEMONSETS } from "../capacity/allocatable";
import { formatCpu, formatMemory } from "../capacity/quantity";
import type { KubeObject } from "./kube";
import { CONFORMANCE_LABEL } from "./nodes";
import { VERSIONS } from "../facts/versions";

/** The image stand-in pods name; kwok never pulls it. */
export const STAND_IN_IMAGE = "registry.k8s.io/pause:3.10";

export const STAND_IN_NOTES = {
    eksDaemonSets: `EKS's own DaemonSets (${EKS_SYSTEM_DAEMONSETS.map((d) => d.name).join(", ")}) stand in as DaemonSets with the requests the planner assumes, on every node`,
    efs: "the EFS CSI provisioner stands in: each claim is bound to a PersistentVolume of its size and class, as dynamic provisioning would",
    trainingOperator: "the Kubeflow training operator stands in: its real PyTorchJob CRD (from the operator's Go module at the pinned tag) validates each PyTorchJob, and the run creates the pods the operator would create from the replica specs",
    efaDevicePlugin:
        "the EFA device plugin (a Helm release) stands in as a DaemonSet with the chart values' requests, tolerations and nodeSelector; kwok nodes of EFA pools advertise vpc.amazonaws.com/efa as the plugin would (capacity/efa.ts)",
    prometheusOperator: `the Prometheus operator stands in: its real CRDs (from the prometheus-operator Go module at ${VERSIONS.prometheusOperator}, the release kube-prometheus-stack ${VERSIONS.kubePrometheusStack.version} ships) validate the PrometheusRule; no Prometheus loads or evaluates its rules, and no Grafana loads the dashboard ConfigMap`,
    karpenter:
        "Karpenter stands in: its real NodePool and EC2NodeClass CRDs (from its Go module at the pinned chart version) validate the objects, and kwok nodes made from each NodePool (its template's labels and taints, as many as its limits allow) stand in for the nodes it would launch",
    gpuSharing:
        "GPU sharing stands in: kwok nodes of a time-sliced pool advertise GPUs x replicas, and nodes of a MIG pool carry nvidia.com/mig.config.state=success and advertise the slices, as the device plugin (with the config its node label selects) and NVIDIA's MIG manager would (capacity/sharing.ts); no GPU is partitioned or time-sliced",
    hpa: "the HPAs' metric-driven scaling stands in: each Deployment an HPA targets is scaled to that HPA's minReplicas (min pass) or maxReplicas (max pass)",
};

/** EKS's DaemonSets, plus any chart DaemonSets the planner counts (the EFA device plugin), as stand-ins. */
export function eksSystemDaemonSets(runId: string, chartDaemonSets: DaemonSetLoad[] = []): KubeObject[] {
    return [...EKS_SYSTEM_DAEMONSETS, ...chartDaemonSets].map((ds) => ({
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: `${ds.name}-stand-in`, namespace: "kube-system", labels: { [CONFORMANCE_LABEL]: runId } },
        spec: {
            selector: { matchLabels: { app: `${ds.name}-stand-in` } },
            template: {
                metadata: { labels: { app: `${ds.name}-stand-in` } },
                spec: {
                    priorityClassName: "system-node-critical",
                    tolerations: ds.tolerations.map((t) => ({ ...t })),
                    ...(Object.keys(ds.nodeSelector).length > 0 ? { nodeSelector: ds.nodeSelector } : {}),
                    containers: [
                        {
                            name: ds.name,
                            image: STAND_IN_IMAGE,
                            resources: {
                                requests: {
                                    ...(ds.requests.cpuMillis > 0 ? { cpu: formatCpu(ds.requests.cpuMillis) } : {}),
                                    ...(ds.requests.memoryBytes > 0 ? { memory: formatMemory(ds.requests.memoryBytes) } : {}),
                                },
                            },
                        },
                    ],
                },
            },
        },
    }));
}

/** A PersistentVolume pre-bound to the claim, as the EFS CSI driver's dynamic provisioning makes one. */
export function volumeForClaim(claim: KubeObject, storageClass: KubeObject | undefined, runId: string): KubeObject {
    const ns = claim.metadata.namespace ?? "default";
    return {
        apiVersion: "v1",
        kind: "PersistentVolume",
        metadata: { name: `pv-${ns}-${claim.metadata.name}`, labels: { [CONFORMANCE_LABEL]: runId } },
        spec: {
            capacity: { storage: claim.spec.resources.requests.storage },
            accessModes: claim.spec.accessModes,
            persistentVolumeReclaimPolicy: storageClass?.reclaimPolicy ?? "Delete",
            storageClassName: claim.spec.storageClassName,
            claimRef: { namespace: ns, name: claim.metadata.name },
            csi: { driver: storageClass?.provisioner ?? "efs.csi.aws.com", volumeHandle: `${storageClass?.parameters?.fileSystemId ?? "fs-stand-in"}::fsap-${ns}-${claim.metadata.name}` },
        },
    };
}

const TRAINING_OPERATOR_MODULE = "github.com/kubeflow/training-operator";
const PROMETHEUS_OPERATOR_MODULE = "github.com/prometheus-operator/prometheus-operator";
export const MONITORING_API_GROUP = "monitoring.coreos.com";

/** The chart version the plan installs must be the one whose operator release VERSIONS records. */
export function prometheusOperatorVersion(resources: { type: string; inputs: Record<string, unknown> }[]): string {
    const release = resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && r.inputs.chart === VERSIONS.kubePrometheusStack.chart);
    if (!release) throw new Error(`the stack has ${MONITORING_API_GROUP} objects but no ${VERSIONS.kubePrometheusStack.chart} release to take their CRDs from`);
    if (release.inputs.version !== VERSIONS.kubePrometheusStack.version) {
        throw new Error(`${VERSIONS.kubePrometheusStack.chart} ${String(release.inputs.version)} is not the pinned ${VERSIONS.kubePrometheusStack.version}, whose operator is ${VERSIONS.prometheusOperator}`);
    }
    return VERSIONS.prometheusOperator;
}

/** The operator's CRDs for the given kinds (PrometheusRule -> monitoring.coreos.com_prometheusrules.yaml), from its Go module. */
export function prometheusOperatorCrds(version: string, kinds: string[]): KubeObject[] {
    const out = spawnSync("go", ["mod", "download", "-json", `${PROMETHEUS_OPERATOR_MODULE}@${version}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (out.status !== 0) {
        throw new Error(`could not fetch ${PROMETHEUS_OPERATOR_MODULE}@${version} from the Go module proxy for its CRDs:\n${out.stderr || out.stdout}`);
    }
    const dir = JSON.parse(out.stdout).Dir as string;
    return [...new Set(kinds)].flatMap((kind) => {
        const file = path.join(dir, "example", "prometheus-operator-crd", `${MONITORING_API_GROUP}_${kind.toLowerCase()}s.yaml`);
        return loadAll(fs.readFileSync(file, "utf8")).filter((d): d is KubeObject => !!d && typeof d === "object");
    });
}

/** The tag of the operator's kustomize Directory as the program registered it (…?ref=v1.9.4). */
export function trainingOperatorTag(resources: { type: string; inputs: Record<string, unknown> }[]): string | undefined {
    for (const r of resources) {
        if (r.type === "kubernetes:kustomize/v2:Directory") {
            const m = /[?&]ref=([^&]+)/.exec(String(r.inputs.directory ?? ""));
            if (m && /kubeflow\/(trainer|training-operator)/.test(String(r.inputs.directory))) return m[1];
        }
    }
    return undefined;
}

/** The operator's own CRDs at that tag, from its Go module (the Go module proxy serves the repository). */
export function trainingOperatorCrds(tag: string): KubeObject[] {
    const out = spawnSync("go", ["mod", "download", "-json", `${TRAINING_OPERATOR_MODULE}@${tag}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (out.status !== 0) {
        throw new Error(`could not fetch ${TRAINING_OPERATOR_MODULE}@${tag} from the Go module proxy for its CRDs:\n${out.stderr || out.stdout}`);
    }
    const dir = JSON.parse(out.stdout).Dir as string;
    const file = path.join(dir, "manifests", "base", "crds", "kubeflow.org_pytorchjobs.yaml");
    return loadAll(fs.readFileSync(file, "utf8")).filter((d): d is KubeObject => !!d && typeof d === "object");
}

const KARPENTER_MODULE = "github.com/aws/karpenter-provider-aws";
const KARPENTER_CRDS = ["karpenter.sh_nodepools.yaml", "karpenter.k8s.aws_ec2nodeclasses.yaml"];

/** The chart version of the Karpenter release as the program registered it (components/karpenter.ts). */
export function karpenterVersion(resources: { type: string; inputs: Record<string, unknown> }[]): string | undefined {
    const release = resources.find((r) => r.type === "kubernetes:helm.sh/v3:Release" && String(r.inputs.chart ?? "").endsWith("/karpenter"));
    return release ? String(release.inputs.version) : undefined;
}

/** Karpenter's own NodePool and EC2NodeClass CRDs at that version, from its Go module (pkg/apis/crds). */
export function karpenterCrds(version: string): KubeObject[] {
    const out = spawnSync("go", ["mod", "download", "-json", `${KARPENTER_MODULE}@v${version.replace(/^v/, "")}`], { encoding: "utf8", env: { ...process.env, GOFLAGS: "-mod=mod" } });
    if (out.status !== 0) {
        throw new Error(`could not fetch ${KARPENTER_MODULE}@v${version} from the Go module proxy for its CRDs:\n${out.stderr || out.stdout}`);
    }
    const dir = JSON.parse(out.stdout).Dir as string;
    return KARPENTER_CRDS.flatMap((f) => loadAll(fs.readFileSync(path.join(dir, "pkg", "apis", "crds", f), "utf8")).filter((d): d is KubeObject => !!d && typeof d === "object"));
}

const OPERATOR_LABELS = {
    jobName: "training.kubeflow.org/job-name",
    replicaType: "training.kubeflow.org/replica-type",
    replicaIndex: "training.kubeflow.org/replica-index",
    operatorName: "training.kubeflow.org/operator-name",
};

/** The pods the training operator makes for a PyTorchJob: one per replica of each replica spec. */
export function pyTorchJobPods(job: KubeObject, uid: string): KubeObject[] {
    const pods: KubeObject[] = [];
    const specs: Record<string, { replicas?: number; restartPolicy?: string; template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: Record<string, unknown> } }> =
        job.spec?.pytorchReplicaSpecs ?? {};
    for (const [role, spec] of Object.entries(specs)) {
        const replicas = spec.replicas ?? 1;
        for (let i = 0; i < replicas; i++) {
            const type = role.toLowerCase();
            pods.push({
                apiVersion: "v1",
                kind: "Pod",
                metadata: {
                    name: `${job.metadata.name}-${type}-${i}`,
                    namespace: job.metadata.namespace,
                    labels: {
                        ...(spec.template.metadata?.labels ?? {}),
                        [OPERATOR_LABELS.jobName]: job.metadata.name,
                        [OPERATOR_LABELS.replicaType]: type,
                        [OPERATOR_LABELS.replicaIndex]: String(i),
                        [OPERATOR_LABELS.operatorName]: "pytorchjob-controller",
                    },
                    ...(spec.template.metadata?.annotations ? { annotations: spec.template.metadata.annotations } : {}),
                    ownerReferences: [{ apiVersion: job.apiVersion, kind: job.kind, name: job.metadata.name, uid, controller: true, blockOwnerDeletion: true }],
                },
                spec: {
                    ...spec.template.spec,
                    // The operator maps the replica spec's restartPolicy onto the pod (ExitCode -> Never).
                    restartPolicy: spec.restartPolicy === "ExitCode" ? "Never" : (spec.restartPolicy ?? "Never"),
                },
            });
        }
    }
    return pods;
}

export function pyTorchJobPodSelector(name: string): string {
    return `${OPERATOR_LABELS.jobName}=${name}`;
}
