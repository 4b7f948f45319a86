import { strict as assert } from "node:assert";
import type { ResourceLike } from "../plan/policy";
import * as workloads from "../policy/rules/workloads";
import { Obj, onResource, onStack } from "./policy-rules-helpers";

const DEP = "kubernetes:apps/v1:Deployment";
const SERVING = "ml-serving";
const LOAD = "ml-platform/model-load-seconds";
const RES = { requests: { cpu: "1", memory: "1Gi" }, limits: { cpu: "1", memory: "1Gi" } };

function deployment(podSpec: Obj, meta: Obj = {}, templateMeta: Obj = { labels: { app: "m" } }, spec: Obj = { replicas: 2 }): ResourceLike {
    return {
        type: DEP,
        name: "m",
        inputs: { metadata: { name: "m", namespace: SERVING, ...meta }, spec: { ...spec, template: { metadata: templateMeta, spec: podSpec } } },
    };
}
const server = (extra: Obj = {}): Obj => ({ name: "server", image: "app:v1", resources: RES, ...extra });

describe("policy rules (direct): workloads", () => {
    describe("imageProblem", () => {
        it("names each problem, and accepts tags, digests and registry ports", () => {
            assert.equal(workloads.imageProblem(undefined), "has no image");
            assert.equal(workloads.imageProblem(""), "has no image");
            assert.equal(workloads.imageProblem("app:v1"), undefined);
            assert.equal(workloads.imageProblem("reg:5000/team/app:v1"), undefined);
            assert.equal(workloads.imageProblem(`app@sha256:${"a".repeat(64)}`), undefined);
            assert.equal(workloads.imageProblem("reg:5000/app"), "uses image reg:5000/app with no tag, which pulls :latest");
            assert.equal(workloads.imageProblem("app:"), "uses image app: with no tag, which pulls :latest");
            assert.equal(workloads.imageProblem("host:/app"), "uses image host:/app with no tag, which pulls :latest");
            assert.equal(workloads.imageProblem("a:"), "uses image a: with no tag, which pulls :latest");
            assert.equal(workloads.imageProblem("app:latest"), "uses image app:latest with the mutable tag :latest");
            assert.equal(workloads.imageProblem("app:x"), undefined);
        });
    });

    describe("images-pinned", () => {
        const rule = workloads.imagesPinned;
        const helm = (inputs: Obj): ResourceLike => ({ type: "kubernetes:helm.sh/v3:Release", name: "r", inputs });
        it("containers: the container and the fix", () => {
            assert.deepEqual(onResource(rule, deployment({ containers: [server({ image: "app:latest" })] })), [
                'Deployment ml-serving/m container "server" uses image app:latest with the mutable tag :latest. Fix: pin a version tag or a digest (components/versions.ts).',
            ]);
        });
        it("Helm: local charts need no version; remote ones an exact one", () => {
            assert.deepEqual(onResource(rule, helm({ chart: "./charts/x" })), []);
            assert.deepEqual(onResource(rule, helm({ chart: "/abs/x" })), []);
            assert.deepEqual(onResource(rule, helm({ chart: "nginx", version: "1.2.3" })), []);
            assert.deepEqual(onResource(rule, helm({ chart: "x/", version: "1.2" })), ['Helm chart x/ ("r") has version 1.2, not an exact version. Fix: pin version: "x.y.z" (components/versions.ts).']);
            assert.deepEqual(onResource(rule, helm({ chart: "x." })), ['Helm chart x. ("r") has version (unset: the newest is installed), not an exact version. Fix: pin version: "x.y.z" (components/versions.ts).']);
            assert.deepEqual(onResource(rule, helm({})), ['Helm chart  ("r") has version (unset: the newest is installed), not an exact version. Fix: pin version: "x.y.z" (components/versions.ts).']);
            assert.deepEqual(onResource(rule, helm({ version: "1.2.3" })), []);
        });
        it("kustomize: remote directories pin a ref that does not move", () => {
            const k = (directory?: string, type = "kubernetes:kustomize/v2:Directory"): ResourceLike => ({ type, name: "k", inputs: directory === undefined ? {} : { directory } });
            assert.deepEqual(onResource(rule, k("https://github.com/x/y")), ['Kustomization "k" loads https://github.com/x/y at no ref (the default branch). Fix: append ?ref=<release tag>.']);
            assert.deepEqual(onResource(rule, k("https://github.com/x/y?ref=main")), ['Kustomization "k" loads https://github.com/x/y?ref=main at the moving ref main. Fix: append ?ref=<release tag>.']);
            assert.deepEqual(onResource(rule, k("https://github.com/x/y?a=1&ref=v1.2.0")), []);
            assert.deepEqual(onResource(rule, k("./local")), []);
            assert.deepEqual(onResource(rule, k(undefined)), []);
            assert.deepEqual(onResource(rule, k("https://github.com/x/y", "kubernetes:yaml/v2:ConfigFile")), []);
        });
    });

    describe("container-resources-set", () => {
        it("init containers count, ephemeral containers do not", () => {
            const spec = { initContainers: [{ name: "init", image: "a:v1" }], containers: [server()], ephemeralContainers: [{ name: "debug", image: "a:v1" }] };
            assert.deepEqual(onResource(workloads.containerResourcesSet, deployment(spec)), [
                'Deployment ml-serving/m init container "init" has no requests.cpu, requests.memory, limits.cpu, limits.memory. Fix: set CPU and memory requests and limits (serving/training config cpu, memory, cpuLimit, memoryLimit).',
            ]);
        });
    });

    describe("serving-probes-cover-model-load", () => {
        const rule = workloads.servingProbesCoverModelLoad;
        const withLoad = (seconds: string, c: Obj, on: "deployment" | "template" = "deployment") =>
            on === "deployment" ? deployment({ containers: [c] }, { annotations: { [LOAD]: seconds } }) : deployment({ containers: [c] }, {}, { labels: { app: "m" }, annotations: { [LOAD]: seconds } });
        const startup = (p: Obj) => server({ startupProbe: { httpGet: { path: "/", port: 80 }, ...p } });
        const liveness = (p: Obj) => server({ livenessProbe: { httpGet: { path: "/", port: 80 }, ...p } });
        it("startup budget: defaults, initial delay and period count; the boundary passes", () => {
            // 100 s load -> 120 s required.
            assert.deepEqual(onResource(rule, withLoad("100", startup({ failureThreshold: 12, periodSeconds: 10 }))), []);
            assert.deepEqual(onResource(rule, withLoad("100", startup({ failureThreshold: 11, periodSeconds: 10 }))), [
                'Deployment ml-serving/m container "server" has a startup budget of 110s for a 100s model load; it is killed before 1.2x the load (120s). Fix: raise startupProbe.failureThreshold x periodSeconds to at least 120s (components/probes.ts probesFor).',
            ]);
            assert.deepEqual(onResource(rule, withLoad("100", startup({}))), [
                'Deployment ml-serving/m container "server" has a startup budget of 30s for a 100s model load; it is killed before 1.2x the load (120s). Fix: raise startupProbe.failureThreshold x periodSeconds to at least 120s (components/probes.ts probesFor).',
            ]);
            // 30 s load -> 36 s: 30 + 1 x 10 = 40 passes.
            assert.deepEqual(onResource(rule, withLoad("30", startup({ initialDelaySeconds: 30, failureThreshold: 1 }), "template")), []);
            // 40 s load -> 48 s: 2 x 30 = 60 passes.
            assert.deepEqual(onResource(rule, withLoad("40", startup({ failureThreshold: 2, periodSeconds: 30 }))), []);
        });
        it("liveness without startup: the delay against the load, or no load declared", () => {
            assert.deepEqual(onResource(rule, withLoad("100", liveness({ initialDelaySeconds: 120 }))), []);
            assert.deepEqual(onResource(rule, withLoad("100", liveness({ initialDelaySeconds: 119 }), "template")), [
                'Deployment ml-serving/m container "server" has a liveness probe from 119s and no startup probe, so it restarts the server before 1.2x the 100s load (120s). Fix: add a startupProbe sized to the load time (components/probes.ts probesFor) or delay liveness to 120s.',
            ]);
            const noLoad =
                'Deployment ml-serving/m container "server" has a liveness probe from 0s and no startup probe, so it restarts the server while the model may still be loading. Fix: add a startupProbe sized to the load time (components/probes.ts probesFor).';
            assert.deepEqual(onResource(rule, deployment({ containers: [liveness({})] })), [noLoad]);
            assert.deepEqual(onResource(rule, withLoad("0", liveness({}))), [noLoad]);
            assert.deepEqual(onResource(rule, withLoad("-5", liveness({}))), [noLoad]);
            assert.deepEqual(onResource(rule, withLoad("abc", liveness({}))), [noLoad]);
        });
        it("no probes, init containers and other namespaces are left alone", () => {
            assert.deepEqual(onResource(rule, deployment({ containers: [server()] })), []);
            assert.deepEqual(onResource(rule, deployment({ initContainers: [liveness({ name: "init" })], containers: [server()] })), []);
            const other = deployment({ containers: [liveness({})] }, { namespace: "ml-training" });
            assert.deepEqual(onResource(rule, other), []);
        });
    });

    describe("allowedDisruptions", () => {
        it("percentages only when the whole value is one", () => {
            assert.equal(workloads.allowedDisruptions({ maxUnavailable: "50%" }, 4), 2);
            assert.ok(Number.isNaN(workloads.allowedDisruptions({ maxUnavailable: "x50%" }, 4)));
            assert.ok(Number.isNaN(workloads.allowedDisruptions({ maxUnavailable: "50%x" }, 4)));
        });
    });

    describe("serving-pdb-allows-disruption", () => {
        const rule = workloads.servingPdbAllowsDisruption;
        const pdb = (spec: Obj | undefined, type = "kubernetes:policy/v1:PodDisruptionBudget"): ResourceLike => ({
            type,
            name: "m-pdb",
            inputs: { metadata: { name: "m", namespace: SERVING }, ...(spec ? { spec } : {}) },
        });
        const sel = { selector: { matchLabels: { app: "m" } } };
        const NONE = "Deployment ml-serving/m has no PodDisruptionBudget selecting its pods. Fix: add one with maxUnavailable: 1 (components/disruption.ts pdbFor). @m";
        it("counts policy/ PodDisruptionBudgets only", () => {
            assert.deepEqual(onStack(rule, [deployment({ containers: [server()] }), pdb({ ...sel, maxUnavailable: 1 })]), []);
            assert.deepEqual(onStack(rule, [deployment({ containers: [server()] }), pdb({ ...sel, maxUnavailable: 1 }, "kubernetes:custom.io/v1:PodDisruptionBudget")]), [NONE]);
            assert.deepEqual(onStack(rule, [deployment({ containers: [server()] }), pdb({ ...sel, maxUnavailable: 1 }, "kubernetes:policy/v1:Other")]), [NONE]);
            assert.deepEqual(onStack(rule, [deployment({ containers: [server()] }), pdb(undefined)]), [NONE]);
        });
        it("Deployments without a template or labels still get judged", () => {
            const bare = (inputs: Obj): ResourceLike => ({ type: DEP, name: "m", inputs: { metadata: { name: "m", namespace: SERVING }, ...inputs } });
            assert.deepEqual(onStack(rule, [bare({})]), [NONE]);
            assert.deepEqual(onStack(rule, [bare({ spec: {} })]), [NONE]);
            assert.deepEqual(onStack(rule, [bare({ spec: { template: {} } })]), [NONE]);
            // No replicas: one, and maxUnavailable 1 still allows one eviction.
            assert.deepEqual(onStack(rule, [bare({ spec: { template: { metadata: {} } } }), pdb({ selector: {}, maxUnavailable: 1 })]), []);
        });
        it("names the setting, the neither case and the minimum", () => {
            assert.deepEqual(onStack(rule, [deployment({ containers: [server()] }), pdb(sel)]), [
                "PodDisruptionBudget ml-serving/m sets neither minAvailable nor maxUnavailable. Fix: set maxUnavailable: 1. @m-pdb",
            ]);
            assert.deepEqual(onStack(rule, [deployment({ containers: [server()] }), pdb({ ...sel, maxUnavailable: 0 })]), [
                "PodDisruptionBudget ml-serving/m (maxUnavailable 0) allows no eviction of Deployment m at its minimum of 2 replica(s), so every node drain blocks. Fix: use maxUnavailable: 1 (or minAvailable below 2). @m-pdb",
            ]);
            assert.deepEqual(onStack(rule, [deployment({ containers: [server()] }), pdb({ ...sel, minAvailable: 2 })]), [
                "PodDisruptionBudget ml-serving/m (minAvailable 2) allows no eviction of Deployment m at its minimum of 2 replica(s), so every node drain blocks. Fix: use maxUnavailable: 1 (or minAvailable below 2). @m-pdb",
            ]);
        });
    });

    describe("serving-hpa-bounds", () => {
        const rule = workloads.servingHpaBounds;
        const hpa = (spec: Obj | undefined, namespace = SERVING, type = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"): ResourceLike => ({
            type,
            name: "h",
            inputs: { metadata: { name: "m", namespace }, ...(spec ? { spec } : {}) },
        });
        it("no spec: both findings, exact", () => {
            assert.deepEqual(onResource(rule, hpa(undefined), { environment: "prod" }), [
                "HorizontalPodAutoscaler ml-serving/m has minReplicas 1 in prod; one pod is an outage on every node drain or rollout. Fix: set replicas.min to at least 2.",
                "HorizontalPodAutoscaler ml-serving/m has maxReplicas (unset) with minReplicas 1: it can never scale out. Fix: set replicas.max above 1.",
            ]);
            assert.deepEqual(onResource(rule, hpa({ minReplicas: 2 }), { environment: "prod" }), [
                "HorizontalPodAutoscaler ml-serving/m has maxReplicas (unset) with minReplicas 2: it can never scale out. Fix: set replicas.max above 2.",
            ]);
            assert.deepEqual(onResource(rule, hpa({ minReplicas: 2, maxReplicas: 3 }), { environment: "prod" }), []);
        });
        it("other kinds, groups and namespaces are left alone", () => {
            assert.deepEqual(onResource(rule, hpa(undefined, "ml-training")), []);
            assert.deepEqual(onResource(rule, hpa(undefined, SERVING, "kubernetes:custom.io/v1:HorizontalPodAutoscaler")), []);
            assert.deepEqual(onResource(rule, hpa(undefined, SERVING, "kubernetes:autoscaling/v2:Other")), []);
            assert.deepEqual(onResource(rule, hpa(undefined, SERVING, DEP)), []);
        });
    });

    describe("training-jobs-bounded", () => {
        const rule = workloads.trainingJobsBounded;
        const job = (spec: Obj | undefined, type = "kubernetes:batch/v1:Job"): ResourceLike => ({ type, name: "t", inputs: { metadata: { name: "train", namespace: "ml-training" }, ...(spec ? { spec } : {}) } });
        const fix = (field: string, v: string) =>
            field === "backoffLimit"
                ? `Job ml-training/train has spec.backoffLimit ${v}. Fix: set it between 0 and 10 (training config backoffLimit).`
                : `Job ml-training/train has spec.activeDeadlineSeconds ${v}. Fix: set it between 1 and 2592000 (training config activeDeadlineSeconds).`;
        it("boundaries of both bounds", () => {
            assert.deepEqual(onResource(rule, job({ backoffLimit: 0, activeDeadlineSeconds: 1 })), []);
            assert.deepEqual(onResource(rule, job({ backoffLimit: 10, activeDeadlineSeconds: 2592000 })), []);
            assert.deepEqual(onResource(rule, job({ backoffLimit: -1, activeDeadlineSeconds: 0 })), [fix("backoffLimit", "-1"), fix("activeDeadlineSeconds", "0")]);
            assert.deepEqual(onResource(rule, job({ backoffLimit: 11, activeDeadlineSeconds: 2592001 })), [fix("backoffLimit", "11"), fix("activeDeadlineSeconds", "2592001")]);
            assert.deepEqual(onResource(rule, job({ backoffLimit: 1.5, activeDeadlineSeconds: -3 })), [fix("backoffLimit", "1.5"), fix("activeDeadlineSeconds", "-3")]);
            assert.deepEqual(onResource(rule, job(undefined)), [fix("backoffLimit", "(unset)"), fix("activeDeadlineSeconds", "(unset: it may run forever)")]);
        });
        it("Kubeflow jobs read spec.runPolicy; other kinds are left alone", () => {
            const k = (spec: Obj | undefined) => job(spec, "kubernetes:kubeflow.org/v1:PyTorchJob");
            const unset = [
                "PyTorchJob ml-training/train has spec.runPolicy.backoffLimit (unset). Fix: set it between 0 and 10 (training config backoffLimit).",
                "PyTorchJob ml-training/train has spec.runPolicy.activeDeadlineSeconds (unset: it may run forever). Fix: set it between 1 and 2592000 (training config activeDeadlineSeconds).",
            ];
            assert.deepEqual(onResource(rule, k(undefined)), unset);
            assert.deepEqual(onResource(rule, k({ backoffLimit: 1, activeDeadlineSeconds: 10 })), unset);
            assert.deepEqual(onResource(rule, k({ runPolicy: { backoffLimit: 1, activeDeadlineSeconds: 10 } })), []);
            assert.deepEqual(onResource(rule, job(undefined, DEP)), []);
        });
    });

    describe("no-public-load-balancer", () => {
        const rule = workloads.noPublicLoadBalancer;
        const PUBLIC = "Service default/s is type LoadBalancer without an internal scheme, so AWS gives it a public address. Fix: use type ClusterIP, or annotate service.beta.kubernetes.io/aws-load-balancer-scheme: internal.";
        const svc = (inputs: Obj, type = "kubernetes:core/v1:Service"): ResourceLike => ({ type, name: "s", inputs });
        it("Services: LoadBalancer without an internal annotation, even without metadata", () => {
            assert.deepEqual(onResource(rule, svc({ spec: { type: "LoadBalancer" } })), [PUBLIC]);
            assert.deepEqual(onResource(rule, svc({ metadata: { annotations: { "service.beta.kubernetes.io/aws-load-balancer-internal": "true" } }, spec: { type: "LoadBalancer" } })), []);
            assert.deepEqual(onResource(rule, svc({ spec: { type: "ClusterIP" } })), []);
            assert.deepEqual(onResource(rule, svc({})), []);
            assert.deepEqual(onResource(rule, svc({ spec: { type: "LoadBalancer" } }, "kubernetes:core/v1:Endpoints")), []);
        });
        it("Ingresses: internet-facing only", () => {
            const scheme = (s: string) => ({ metadata: { name: "i", namespace: SERVING, annotations: { "alb.ingress.kubernetes.io/scheme": s } } });
            assert.deepEqual(onResource(rule, svc(scheme("internet-facing"), "kubernetes:networking.k8s.io/v1:Ingress")), [
                "Ingress ml-serving/i has alb.ingress.kubernetes.io/scheme: internet-facing. Fix: set it to internal.",
            ]);
            assert.deepEqual(onResource(rule, svc(scheme("internal"), "kubernetes:networking.k8s.io/v1:Ingress")), []);
            assert.deepEqual(onResource(rule, svc({}, "kubernetes:networking.k8s.io/v1:Ingress")), []);
            assert.deepEqual(onResource(rule, svc(scheme("internet-facing"))), []);
        });
    });
});
