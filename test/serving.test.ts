import { strict as assert } from "node:assert";
import { formatMemory, parseMemory } from "../capacity/quantity";
import { GPU_RESOURCE, poolNodeSelector, poolTolerations } from "../capacity/pools";
import { allowedDisruptionsAt } from "../components/disruption";
import { probesFor, startupBudgetSeconds } from "../components/probes";
import { PRIORITY_CLASSES } from "../components/priority";
import { EXTERNAL_METRICS, ModelServing, modelReadPolicy, SERVING_PRIORITY_CLASS } from "../components/serving";
import { parseS3Uri } from "../stacks/s3Uri";
import { TRACKING_SECRET_NAME, TRACKING_URI_KEY } from "../components/tracking";
import { VERSIONS } from "../facts/versions";
import { ACCOUNT_ID } from "../plan/emulator";
import { RecordedResource } from "../plan/recorder";
import { CLAIMS, ServingSpec } from "../stacks/spec";
import { A100_POOL, A10G_POOL, allContainers, GPU_TAINT, isPinned, Obj, one, recordResources, servingSpec } from "./component-mocks";

const OIDC_ISSUER = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE";
const OIDC_ARN = `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${OIDC_ISSUER}`;

function build(spec: ServingSpec, pool = A10G_POOL) {
    return new ModelServing(`test-${spec.name}`, {
        serving: spec,
        pool,
        gpuTaint: GPU_TAINT,
        trackingSecretName: TRACKING_SECRET_NAME,
        modelCacheClaim: CLAIMS.modelCache.name,
        oidcProviderArn: OIDC_ARN,
        oidcIssuer: OIDC_ISSUER,
        environment: "prod",
    });
}

describe("stacks/s3Uri: S3 model location", () => {
    it("splits a URI into bucket and a directory prefix", () => {
        assert.deepEqual(parseS3Uri("s3://ml-models-prod/recommendation/v3/"), {
            bucket: "ml-models-prod",
            prefix: "recommendation/v3/",
            uri: "s3://ml-models-prod/recommendation/v3/",
        });
        // Without the trailing slash models/v3 would also grant models/v30.
        assert.equal(parseS3Uri("s3://ml-models/models/v3").prefix, "models/v3/");
        assert.deepEqual(parseS3Uri("s3://ml-models"), { bucket: "ml-models", prefix: "", uri: "s3://ml-models/" });
    });

    it("refuses what is not an S3 URI, and wildcards", () => {
        for (const bad of ["https://bucket/x", "s3://", "s3://Bad_Bucket/x", "s3://bucket/models/*", "s3://bucket/models/v?/", "s3://bucket/my models/", "bucket/prefix"]) {
            assert.throws(() => parseS3Uri(bad), Error, bad);
        }
    });

    it("grants GetObject under the prefix and ListBucket only for that prefix", () => {
        const policy = modelReadPolicy(parseS3Uri("s3://ml-models-prod/recommendation/v3/"));
        assert.deepEqual(policy.Statement, [
            { Sid: "ReadModelObjects", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::ml-models-prod/recommendation/v3/*"] },
            {
                Sid: "ListModelPrefix",
                Effect: "Allow",
                Action: ["s3:ListBucket"],
                Resource: ["arn:aws:s3:::ml-models-prod"],
                Condition: { StringLike: { "s3:prefix": ["recommendation/v3/*"] } },
            },
        ]);
    });
});

describe("components/serving: ModelServing under mocks", () => {
    const spec = servingSpec();
    let resources: RecordedResource[];
    let component: RecordedResource;
    let deployment: Obj;
    let pod: Obj;

    before(async () => {
        resources = await recordResources(() => build(spec));
        component = one(resources, "ml-platform:serving:ModelServing");
        deployment = one(resources, "kubernetes:apps/v1:Deployment").inputs as Obj;
        pod = deployment.spec.template.spec;
    });

    it("registers exactly its children, named from the component and parented to it", () => {
        const children = resources.filter((r) => r.parent === component.urn);
        assert.deepEqual(children.map((r) => `${r.type} ${r.name}`).sort(), [
            `aws:iam/role:Role test-${spec.name}-role`,
            `aws:iam/rolePolicy:RolePolicy test-${spec.name}-s3-read`,
            `kubernetes:apps/v1:Deployment test-${spec.name}-deployment`,
            `kubernetes:autoscaling/v2:HorizontalPodAutoscaler test-${spec.name}-hpa`,
            `kubernetes:core/v1:Service test-${spec.name}-service`,
            `kubernetes:core/v1:ServiceAccount test-${spec.name}-sa`,
            `kubernetes:policy/v1:PodDisruptionBudget test-${spec.name}-pdb`,
        ]);
        assert.equal(resources.length, children.length + 1);
    });

    it("requests GPUs with requests equal to limits, and only on the server", () => {
        const server = pod.containers.find((c: Obj) => c.name === "model-server");
        assert.equal(server.resources.requests[GPU_RESOURCE], String(spec.gpus));
        assert.equal(server.resources.limits[GPU_RESOURCE], String(spec.gpus));
        for (const init of pod.initContainers) {
            assert.equal(init.resources.requests[GPU_RESOURCE], undefined);
            assert.equal(init.resources.limits[GPU_RESOURCE], undefined);
        }
    });

    it("gives every container, init included, cpu and memory requests and limits", () => {
        assert.deepEqual(allContainers(pod).map((c) => c.name), ["model-downloader", "model-server"]);
        for (const c of allContainers(pod)) {
            for (const kind of ["requests", "limits"]) {
                assert.ok(c.resources?.[kind]?.cpu, `${c.name} ${kind}.cpu`);
                assert.ok(c.resources?.[kind]?.memory, `${c.name} ${kind}.memory`);
            }
        }
        const server = pod.containers[0];
        // The memory-backed /dev/shm is charged to the container's memory: it is in the request and the limit.
        const plusShm = (q: string) => formatMemory(parseMemory(q) + spec.shmBytes);
        assert.deepEqual(server.resources.requests, { cpu: spec.cpu, memory: plusShm(spec.memory), [GPU_RESOURCE]: "1" });
        assert.deepEqual(server.resources.limits, { cpu: spec.cpuLimit, memory: plusShm(spec.memoryLimit), [GPU_RESOURCE]: "1" });
    });

    it("pins every image, init container included", () => {
        assert.deepEqual(allContainers(pod).map((c) => c.name), ["model-downloader", "model-server"]);
        for (const c of allContainers(pod)) {
            assert.ok(isPinned(c.image), `${c.name}: ${c.image}`);
        }
        assert.equal(pod.initContainers[0].image, VERSIONS.awsCli);
    });

    it("takes tolerations and nodeSelector from the pool, nothing else", () => {
        assert.deepEqual(pod.tolerations, poolTolerations(A10G_POOL, GPU_TAINT));
        assert.deepEqual(pod.nodeSelector, poolNodeSelector(A10G_POOL));
    });

    it("probes with a startup budget of at least 1.2x the load time, liveness gated by it", () => {
        const server = pod.containers[0];
        assert.deepEqual({ startupProbe: server.startupProbe, readinessProbe: server.readinessProbe, livenessProbe: server.livenessProbe }, probesFor(spec.modelLoadSeconds));
        assert.ok(startupBudgetSeconds(server.startupProbe) >= Math.ceil(1.2 * spec.modelLoadSeconds));
        assert.ok(server.startupProbe, "liveness runs only after the startup probe succeeds");
    });

    it("pre-downloads the model into the shared cache and points the server at it", () => {
        const init = pod.initContainers[0];
        assert.equal(init.name, "model-downloader");
        const modelPath = `/model-cache/${spec.name}/`;
        assert.deepEqual(init.command.slice(0, 5), ["aws", "s3", "sync", spec.modelUri, modelPath]);
        assert.deepEqual(init.volumeMounts.find((m: Obj) => m.mountPath === "/model-cache"), { name: "model-cache", mountPath: "/model-cache", readOnly: false });
        const server = pod.containers[0];
        assert.deepEqual(server.env.find((e: Obj) => e.name === "MODEL_PATH"), { name: "MODEL_PATH", value: modelPath });
        assert.deepEqual(server.volumeMounts.find((m: Obj) => m.mountPath === "/model-cache"), { name: "model-cache", mountPath: "/model-cache", readOnly: true });
        assert.deepEqual(pod.volumes.find((v: Obj) => v.name === "model-cache").persistentVolumeClaim, { claimName: CLAIMS.modelCache.name, readOnly: false });
        assert.equal(deployment.metadata.namespace, CLAIMS.modelCache.namespace);
    });

    it("reads the tracking URI from the secret", () => {
        const env = pod.containers[0].env.find((e: Obj) => e.name === "MLFLOW_TRACKING_URI");
        assert.deepEqual(env.valueFrom, { secretKeyRef: { name: TRACKING_SECRET_NAME, key: TRACKING_URI_KEY } });
    });

    it("runs non-root with a read-only root filesystem and a writable /tmp", () => {
        assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
        assert.deepEqual(allContainers(pod).map((c) => c.name), ["model-downloader", "model-server"]);
        for (const c of allContainers(pod)) {
            assert.equal(c.securityContext.allowPrivilegeEscalation, false, c.name);
            assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] }, c.name);
            assert.equal(c.securityContext.readOnlyRootFilesystem, true, c.name);
            assert.ok(c.volumeMounts.some((m: Obj) => m.mountPath === "/tmp"), `${c.name} mounts /tmp`);
        }
        assert.deepEqual(pod.volumes.find((v: Obj) => v.name === "tmp"), { name: "tmp", emptyDir: {} });
    });

    it("spreads across hosts and zones without blocking scheduling, and uses the serving priority", () => {
        assert.deepEqual(
            pod.topologySpreadConstraints.map((t: Obj) => [t.topologyKey, t.whenUnsatisfiable, t.labelSelector.matchLabels, t.matchLabelKeys]),
            [
                ["kubernetes.io/hostname", "ScheduleAnyway", { app: spec.name }, ["pod-template-hash"]],
                ["topology.kubernetes.io/zone", "ScheduleAnyway", { app: spec.name }, ["pod-template-hash"]],
            ],
        );
        assert.equal(pod.priorityClassName, SERVING_PRIORITY_CLASS);
        assert.ok(SERVING_PRIORITY_CLASS in PRIORITY_CLASSES);
    });

    it("leaves the replica count to its HPA: no spec.replicas for a re-apply to reset", () => {
        const hpas = resources.filter((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
        assert.equal(hpas.length, 1);
        assert.deepEqual((hpas[0].inputs as Obj).spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name });
        assert.equal((hpas[0].inputs as Obj).spec.minReplicas, 2);
        assert.ok(!("replicas" in deployment.spec), `spec.replicas is ${deployment.spec.replicas}`);
    });

    it("labels pods, exposes http/grpc and is scraped on 8080/metrics", () => {
        const labels = deployment.spec.template.metadata.labels;
        assert.equal(labels.app, spec.name);
        assert.equal(labels["app.kubernetes.io/name"], spec.name);
        assert.equal(labels.model, spec.name);
        assert.deepEqual(deployment.spec.template.metadata.annotations, { "prometheus.io/scrape": "true", "prometheus.io/port": "8080", "prometheus.io/path": "/metrics" });
        assert.deepEqual(pod.containers[0].ports.map((p: Obj) => [p.name, p.containerPort]), [["http", 8080], ["grpc", 9090]]);
        assert.deepEqual(deployment.spec.selector.matchLabels, { app: spec.name });
    });

    it("serves through a ClusterIP Service selecting the pods", () => {
        const svc = one(resources, "kubernetes:core/v1:Service").inputs as Obj;
        assert.equal(svc.spec.type, "ClusterIP");
        assert.deepEqual(svc.spec.selector, { app: spec.name });
        assert.deepEqual(svc.spec.ports.map((p: Obj) => [p.name, p.port]), [["http", 8080], ["grpc", 9090]]);
    });

    it("autoscales on the two external metrics, selected by the pods' app label", () => {
        const hpa = one(resources, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs as Obj;
        const podLabels = deployment.spec.template.metadata.labels;
        assert.deepEqual(hpa.spec.scaleTargetRef, { apiVersion: "apps/v1", kind: "Deployment", name: deployment.metadata.name });
        assert.equal(hpa.spec.minReplicas, spec.replicas.min);
        assert.equal(hpa.spec.maxReplicas, spec.replicas.max);
        assert.deepEqual(hpa.spec.metrics.map((m: Obj) => m.external.metric.name), [EXTERNAL_METRICS.gpuUtilization, EXTERNAL_METRICS.queueDepth]);
        assert.deepEqual(Object.values(EXTERNAL_METRICS), ["dcgm_fi_dev_gpu_util", "inference_request_queue_depth"]);
        for (const m of hpa.spec.metrics) {
            assert.equal(m.type, "External");
            assert.deepEqual(m.external.metric.selector, { matchLabels: { app: spec.name } });
            for (const [k, v] of Object.entries(m.external.metric.selector.matchLabels)) {
                assert.equal(podLabels[k], v, "the metric selector matches the Deployment's pods");
            }
            assert.equal(m.external.target.type, "AverageValue");
        }
        assert.deepEqual(hpa.spec.metrics.map((m: Obj) => m.external.target.averageValue), ["70", "10"]);
        assert.deepEqual(hpa.spec.behavior, {
            scaleUp: { stabilizationWindowSeconds: 30, policies: [{ type: "Pods", value: 2, periodSeconds: 30 }] },
            scaleDown: { stabilizationWindowSeconds: 300, policies: [{ type: "Pods", value: 1, periodSeconds: 120 }] },
        });
    });

    it("has a PDB over the same pods that still lets a node drain at min replicas", () => {
        const pdb = one(resources, "kubernetes:policy/v1:PodDisruptionBudget").inputs as Obj;
        assert.deepEqual(pdb.spec.selector, { matchLabels: { app: spec.name } });
        assert.equal(pdb.spec.minAvailable, undefined);
        assert.ok(allowedDisruptionsAt({ maxUnavailable: pdb.spec.maxUnavailable }, spec.replicas.min) >= 1);
    });

    it("gives the service account an IRSA role trusted by exactly that account", () => {
        const sa = one(resources, "kubernetes:core/v1:ServiceAccount").inputs as Obj;
        const role = one(resources, "aws:iam/role:Role");
        assert.equal(pod.serviceAccountName, sa.metadata.name);
        assert.equal(sa.metadata.namespace, spec.namespace);
        assert.match(sa.metadata.annotations["eks.amazonaws.com/role-arn"], new RegExp(`^arn:aws:iam::${ACCOUNT_ID}:role/test-${spec.name}-role-`));
        const trust = JSON.parse(role.inputs.assumeRolePolicy as string);
        assert.equal(trust.Statement.length, 1);
        assert.deepEqual(trust.Statement[0].Principal, { Federated: OIDC_ARN });
        assert.deepEqual(trust.Statement[0].Condition, {
            StringLike: { [`${OIDC_ISSUER}:sub`]: `system:serviceaccount:${spec.namespace}:${sa.metadata.name}` },
            StringEquals: { [`${OIDC_ISSUER}:aud`]: "sts.amazonaws.com" },
        });
    });

    it("limits the role's policy to reading the model prefix", () => {
        const policy = JSON.parse(one(resources, "aws:iam/rolePolicy:RolePolicy").inputs.policy as string);
        const actions = policy.Statement.flatMap((s: Obj) => s.Action);
        assert.deepEqual(actions.sort(), ["s3:GetObject", "s3:ListBucket"]);
        for (const s of policy.Statement) {
            assert.equal(s.Effect, "Allow");
            for (const r of s.Resource) {
                assert.ok(r === "arn:aws:s3:::ml-models-prod" || r.startsWith("arn:aws:s3:::ml-models-prod/recommendation/v3/"), r);
            }
        }
        const list = policy.Statement.find((s: Obj) => s.Action.includes("s3:ListBucket"));
        assert.deepEqual(list.Condition, { StringLike: { "s3:prefix": ["recommendation/v3/*"] } });
    });
});

describe("components/serving: invariants across specs", () => {
    for (const [pool, gpus, min] of [[A10G_POOL, 4, 1], [A100_POOL, 8, 3]] as const) {
        it(`${pool.name} with ${gpus} GPUs and min ${min}: placement, GPUs and PDB follow the spec`, async () => {
            const spec = servingSpec({ name: `m-${pool.name}`, pool: pool.name, gpus, replicas: { min, max: min + 2 }, modelLoadSeconds: 600 });
            const resources = await recordResources(() => build(spec, pool));
            const pod = (one(resources, "kubernetes:apps/v1:Deployment").inputs as Obj).spec.template.spec;
            assert.deepEqual(pod.tolerations, poolTolerations(pool, GPU_TAINT));
            assert.deepEqual(pod.nodeSelector, poolNodeSelector(pool));
            const server = pod.containers[0];
            assert.equal(server.resources.requests[GPU_RESOURCE], String(gpus));
            assert.equal(server.resources.limits[GPU_RESOURCE], server.resources.requests[GPU_RESOURCE]);
            assert.ok(startupBudgetSeconds(server.startupProbe) >= 720);
            const pdb = (one(resources, "kubernetes:policy/v1:PodDisruptionBudget").inputs as Obj).spec;
            assert.ok(allowedDisruptionsAt({ maxUnavailable: pdb.maxUnavailable }, min) >= 1);
        });
    }

    it("refuses a pool other than the one the spec names", async () => {
        await assert.rejects(recordResources(() => build(servingSpec({ pool: "a10g" }), A100_POOL)), /pool/);
    });
});
