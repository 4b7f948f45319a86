/**
 * Every image and chart the platform deploys, pinned in one place (no `:latest`, no floating ranges).
 * Source: shared/reference/component-versions.md (upstream as last seen 2026-08/09).
 */
export const VERSIONS = {
    /** v0.20.0: 0.19.0-0.19.2 crash-looped on recent AL2023 NVIDIA AMIs. */
    nvidiaDevicePlugin: "nvcr.io/nvidia/k8s-device-plugin:v0.20.0",
    /**
     * NVIDIA's MIG manager (k8s-mig-manager, built from NVIDIA/mig-parted): tag v0.15.0 of NVIDIA/mig-parted,
     * whose deployments/container example DaemonSet names this image (repository snapshot of 2026-08-21).
     */
    nvidiaMigManager: "nvcr.io/nvidia/cloud-native/k8s-mig-manager:v0.15.0",
    /**
     * The distroless flavour: what upstream's own manifest and Helm chart deploy for 4.5.3-4.8.2. Fewer
     * packages, but not "no shell": NVIDIA's distroless bases add busybox or bash, so nothing here relies
     * on a shell being absent (or present: the probes are httpGet, never exec).
     */
    dcgmExporter: "nvcr.io/nvidia/k8s/dcgm-exporter:4.5.3-4.8.2-distroless",
    /** EKS add-on; EKS picks the add-on build matching the cluster when version is left to it, so we pin. */
    efsCsiAddon: "v3.4.1-eksbuild.1",
    /** EKS add-on, pinned like the EFS one; AWS's table lists v1.12.4-eksbuild.1 as the latest for 1.33 and 1.34. */
    corednsAddon: "v1.12.4-eksbuild.1",
    /** EKS add-on that provisions the gp3 volumes (Prometheus' TSDB); v1.66.0 seen as AWS's default in 2026-09. */
    ebsCsiAddon: "v1.66.0-eksbuild.1",
    /** Pulls the model artifact before the server starts; a pinned AWS CLI v2, never :latest. */
    awsCli: "public.ecr.aws/aws-cli/aws-cli:2.27.49",
    /**
     * The `runtime: vllm` server (OpenAI-compatible API). v0.12.0 is a published tag of vllm/vllm-openai
     * on Docker Hub (seen with its digest in SemiAnalysisAI/InferenceX issue #303, the v0.11.2 -> v0.12.0
     * bump); the CLI flags the platform passes (--tensor-parallel-size, --max-model-len,
     * --gpu-memory-utilization, --served-model-name, --port) are stable engine arguments across 0.x.
     */
    vllm: "vllm/vllm-openai:v0.12.0",
    kubeflowTrainingOperator: "v1.9.4",
    /**
     * The Training Operator's init container on PyTorchJob workers (waits for the master's DNS name).
     * alpine:3.10 is v1.9.4's own default; restated here so the image is pinned where we can see it.
     */
    pytorchInitContainer: "alpine:3.10",
    /** Helm charts: repository and exact chart version. */
    kubePrometheusStack: { repo: "https://prometheus-community.github.io/helm-charts", chart: "kube-prometheus-stack", version: "87.17.0" },
    /**
     * The prometheus-operator release chart 87.17.0 ships (its Chart.yaml appVersion, and its CRDs): the
     * conformance run takes the PrometheusRule CRD from this Go module version.
     */
    prometheusOperator: "v0.92.1",
    prometheusAdapter: { repo: "https://prometheus-community.github.io/helm-charts", chart: "prometheus-adapter", version: "5.3.0" },
    /**
     * Kueue v0.17.0 (requires Kubernetes 1.29+, README): the newest tag the Go module proxy serves
     * (`go list -m -versions sigs.k8s.io/kueue`, 2026-12); chart and image from the same tag. The chart's
     * default image is a staging build (tag release-0.17, pullPolicy Always), so the release image is pinned.
     */
    kueue: { chart: "oci://registry.k8s.io/kueue/charts/kueue", version: "0.17.0", image: "registry.k8s.io/kueue/kueue", tag: "v0.17.0" },
    /** Chart 9.59.0 supports Kubernetes 1.34+; the image tag follows the cluster's minor (below). */
    clusterAutoscaler: { repo: "https://kubernetes.github.io/autoscaler", chart: "cluster-autoscaler", version: "9.59.0" },
    /**
     * aws/eks-charts stable/aws-efa-k8s-device-plugin/Chart.yaml at 5239609 (2026-08-03): chart v0.5.30,
     * image v0.5.20; lists p4d/p4de/p5 and the EFA-capable g5/g6 types in its instance-type affinity.
     */
    /**
     * Karpenter's OCI chart; charts/karpenter/Chart.yaml of aws/karpenter-provider-aws at v1.14.1
     * (2026-08-20). Its compatibility matrix lists Kubernetes 1.34 from Karpenter 1.6 and 1.35 from 1.9.
     */
    karpenter: { chart: "oci://public.ecr.aws/karpenter/karpenter", version: "1.14.1" },
    efaDevicePlugin: { repo: "https://aws.github.io/eks-charts", chart: "aws-efa-k8s-device-plugin", version: "v0.5.30" },
    /**
     * argoproj/argo-helm charts/argo-workflows 1.0.14 (appVersion v4.0.5), read at the repository's commit
     * b03a459f. Newer charts (1.0.15+) ship v4.0.6, which the Go module proxy does not serve (403), so the
     * conformance run could not take its CRDs from the same release; 1.0.14 keeps chart, images and CRDs
     * on one version.
     */
    argoWorkflows: { repo: "https://argoproj.github.io/argo-helm", chart: "argo-workflows", version: "1.0.14" },
    /** The chart's appVersion: controller, executor (argoexec) and CRDs (github.com/argoproj/argo-workflows/v4@v4.0.5). */
    argoWorkflowsApp: "v4.0.5",
} as const;

/**
 * Cluster Autoscaler must match the cluster's Kubernetes minor version; these are the minors the
 * platform supports, so `ml-platform:cluster.kubernetesVersion` is validated against this table.
 */
export const CLUSTER_AUTOSCALER_IMAGE_TAGS: Record<string, string> = {
    // The newest patch of each minor, as issue 18 saw them upstream (PRs elsewhere record v1.34.4 and v1.35.1 in 2026-07).
    "1.34": "v1.34.5",
    "1.35": "v1.35.2",
};
export const SUPPORTED_KUBERNETES_VERSIONS = Object.keys(CLUSTER_AUTOSCALER_IMAGE_TAGS);
