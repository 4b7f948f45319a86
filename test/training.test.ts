import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { GPU_RESOURCE, poolNodeSelector, poolTolerations } from "../capacity/pools";
import { MlPlatform } from "../components/platform";
import { PRIORITY_CLASSES, PriorityClasses, SERVING_PRIORITY_CLASS } from "../components/priority";
import { TRACKING_SECRET_NAME, TRACKING_URI_KEY, TrackingSecrets } from "../components/tracking";
import {
    DistributedTraining,
    JOB_REPLACE_ON_CHANGES,
    restrictedPytorchInitTemplate,
    TRAINING_PRIORITY_CLASS,
    TrainingJob,
    TrainingOperator,
    trainingOperatorManifests,
} from "../components/training";
import { VERSIONS } from "../facts/versions";
import { RecordedResource } from "../plan/recorder";
import { CLAIMS, NAMESPACES, TrainingSpec } from "../stacks/spec";
import { buildStackSpec } from "../stacks/validate";
import { A100_POOL, A10G_POOL, allContainers, dependsOnResource, GPU_TAINT, isPinned, Obj, one, recordResources, trainingSpec } from "./component-mocks";
import { rawConfigOf } from "./helpers";

function claims() {
    return { trackingSecretName: TRACKING_SECRET_NAME, trainingDataClaim: CLAIMS.trainingData.name, checkpointsClaim: CLAIMS.checkpoints.name, serviceAccountName: "run-sa" };
}

/** The shared pod checks: placement from the pool, GPUs, resources, pinned images, volumes, security. */
function assertTrainingPod(pod: Obj, spec: TrainingSpec, pool: typeof A10G_POOL) {
    assert.deepEqual(pod.tolerations, poolTolerations(pool, GPU_TAINT));
    assert.deepEqual(pod.nodeSelector, poolNodeSelector(pool));
    assert.equal(pod.priorityClassName, TRAINING_PRIORITY_CLASS);
    assert.deepEqual(pod.securityContext, { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, seccompProfile: { type: "RuntimeDefault" } });
    for (const c of allContainers(pod)) {
        assert.ok(isPinned(c.image), `${c.name}: ${c.image}`);
        for (const kind of ["requests", "limits"]) {
            assert.ok(c.resources[kind].cpu && c.resources[kind].memory, `${c.name} ${kind}`);
        }
        assert.equal(c.securityContext.allowPrivilegeEscalation, false);
        assert.deepEqual(c.securityContext.capabilities, { drop: ["ALL"] });
        assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    }
    const c = pod.containers[0];
    assert.equal(c.resources.requests[GPU_RESOURCE], String(spec.gpusPerPod));
    assert.equal(c.resources.limits[GPU_RESOURCE], c.resources.requests[GPU_RESOURCE]);
    assert.deepEqual(c.args, spec.args);
    assert.deepEqual(c.env.find((e: Obj) => e.name === "MLFLOW_TRACKING_URI").valueFrom, { secretKeyRef: { name: TRACKING_SECRET_NAME, key: TRACKING_URI_KEY } });

    const mount = (path: string) => c.volumeMounts.find((m: Obj) => m.mountPath === path);
    const volume = (name: string) => pod.volumes.find((v: Obj) => v.name === name);
    assert.deepEqual(mount("/data"), { name: CLAIMS.trainingData.name, mountPath: "/data", readOnly: true });
    assert.deepEqual(volume(CLAIMS.trainingData.name).persistentVolumeClaim, { claimName: CLAIMS.trainingData.name, readOnly: true });
    assert.deepEqual(mount("/checkpoints"), { name: CLAIMS.checkpoints.name, mountPath: "/checkpoints", readOnly: false });
    assert.deepEqual(volume(CLAIMS.checkpoints.name).persistentVolumeClaim, { claimName: CLAIMS.checkpoints.name, readOnly: false });
    assert.ok(mount("/tmp") && mount("/dev/shm"));
    // Its own service account (IRSA), never the namespace's default one.
    assert.equal(pod.serviceAccountName, "run-sa");
}

describe("components/training: TrainingJob under mocks", () => {
    const spec = trainingSpec();
    let resources: RecordedResource[];
    let job: RecordedResource;

    before(async () => {
        resources = await recordResources(() => new TrainingJob("test-bert", { training: spec, pool: A10G_POOL, gpuTaint: GPU_TAINT, ...claims() }));
        job = one(resources, "kubernetes:batch/v1:Job");
    });

    it("registers one Job parented to the component", () => {
        const component = one(resources, "ml-platform:training:TrainingJob");
        assert.equal(job.parent, component.urn);
        assert.equal(job.name, "test-bert-job");
        assert.equal(resources.length, 2);
    });

    it("never sets ttlSecondsAfterFinished (a TTL-deleted Job reappears on the next up)", () => {
        const jobSpec = (job.inputs as Obj).spec;
        assert.ok(!("ttlSecondsAfterFinished" in jobSpec));
    });

    it("replaces the Job, deleting first, when its immutable pod template changes", () => {
        assert.ok(job.options.replaceOnChanges.includes("spec.template"));
        assert.deepEqual(job.options.replaceOnChanges, JOB_REPLACE_ON_CHANGES);
        assert.equal(job.options.deleteBeforeReplace, true);
    });

    it("does not make `pulumi up` wait for the training to finish", () => {
        assert.equal((job.inputs as Obj).metadata.annotations["pulumi.com/skipAwait"], "true");
    });

    it("bounds retries and run time, and does not count preemption against the retries", () => {
        const jobSpec = (job.inputs as Obj).spec;
        assert.equal(jobSpec.backoffLimit, spec.backoffLimit);
        assert.equal(jobSpec.activeDeadlineSeconds, spec.activeDeadlineSeconds);
        assert.equal(jobSpec.template.spec.restartPolicy, "Never");
        assert.deepEqual(jobSpec.podFailurePolicy.rules, [{ action: "Ignore", onPodConditions: [{ type: "DisruptionTarget", status: "True" }] }]);
    });

    it("runs on the pool with equal GPU requests and limits, data read-only and checkpoints writable", () => {
        const jobObj = job.inputs as Obj;
        assert.equal(jobObj.metadata.name, spec.name);
        assert.equal(jobObj.metadata.namespace, NAMESPACES.training);
        assertTrainingPod(jobObj.spec.template.spec, spec, A10G_POOL);
        assert.equal(jobObj.spec.template.spec.containers[0].name, "trainer");
    });

    it("keeps Cluster Autoscaler from evicting the running pod (safe-to-evict \"false\")", () => {
        assert.equal((job.inputs as Obj).spec.template.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"], "false");
    });

    it("refuses a PyTorchJob spec", async () => {
        await assert.rejects(
            recordResources(() => new TrainingJob("bad", { training: trainingSpec({ kind: "PyTorchJob", workers: 1 }), pool: A10G_POOL, gpuTaint: GPU_TAINT, ...claims() })),
            /not a Job/,
        );
    });
});

describe("components/training: DistributedTraining and TrainingOperator under mocks", () => {
    const spec = trainingSpec({ name: "llm-distributed", kind: "PyTorchJob", pool: A100_POOL.name, gpusPerPod: 8, workers: 3, backoffLimit: 3, activeDeadlineSeconds: 172800 });
    let resources: RecordedResource[];
    let job: RecordedResource;
    let obj: Obj;

    before(async () => {
        resources = await recordResources(() => {
            const operator = new TrainingOperator("test-operator");
            new DistributedTraining("test-llm", { training: spec, pool: A100_POOL, gpuTaint: GPU_TAINT, ...claims(), operator });
        });
        job = one(resources, "kubernetes:kubeflow.org/v1:PyTorchJob");
        obj = job.inputs as Obj;
    });

    it("is a kubeflow.org/v1 PyTorchJob with one master and `workers` workers", () => {
        assert.equal(obj.apiVersion, "kubeflow.org/v1");
        assert.equal(obj.kind, "PyTorchJob");
        assert.deepEqual(obj.metadata.name, spec.name);
        assert.equal(obj.metadata.namespace, NAMESPACES.training);
        const replicas = obj.spec.pytorchReplicaSpecs;
        assert.deepEqual(Object.keys(replicas), ["Master", "Worker"]);
        assert.equal(replicas.Master.replicas, 1);
        assert.equal(replicas.Worker.replicas, spec.workers);
        for (const r of [replicas.Master, replicas.Worker]) {
            assert.equal(r.restartPolicy, "OnFailure");
            assert.equal(r.template.spec.containers[0].name, "pytorch");
            assertTrainingPod(r.template.spec, spec, A100_POOL);
        }
    });

    it("runs gpusPerPod processes per pod, with the run policy from the spec", () => {
        assert.equal(obj.spec.nprocPerNode, "8");
        assert.deepEqual(obj.spec.runPolicy, { cleanPodPolicy: "Running", backoffLimit: 3, activeDeadlineSeconds: 172800 });
        assert.ok(!("ttlSecondsAfterFinished" in obj.spec.runPolicy));
        assert.equal(obj.metadata.annotations["pulumi.com/skipAwait"], "true");
        assert.equal(job.options.deleteBeforeReplace, true);
        assert.ok(job.options.replaceOnChanges.length > 0);
    });

    it("keeps Cluster Autoscaler from evicting master and workers (safe-to-evict \"false\")", () => {
        for (const r of Object.values(obj.spec.pytorchReplicaSpecs) as Obj[]) {
            assert.equal(r.template.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"], "false");
        }
    });

    it("waits for the operator's manifests", () => {
        const directory = one(resources, "kubernetes:kustomize/v2:Directory");
        assert.ok(dependsOnResource(job, directory), `dependsOn ${job.options.dependsOn.join(", ")}`);
    });

    it("installs the pinned Training Operator overlay", () => {
        const directory = one(resources, "kubernetes:kustomize/v2:Directory");
        assert.equal(directory.inputs.directory, "https://github.com/kubeflow/trainer//manifests/overlays/standalone?ref=v1.9.4");
        assert.equal(directory.inputs.directory, trainingOperatorManifests(VERSIONS.kubeflowTrainingOperator));
        assert.equal(directory.parent, one(resources, "ml-platform:training:TrainingOperator").urn);
    });

    it("makes the worker init container the operator injects pass the restricted Pod Security Standard", () => {
        const configMap = one(resources, "kubernetes:core/v1:ConfigMap").inputs as Obj;
        assert.equal(configMap.metadata.namespace, "kubeflow");
        const [init] = JSON.parse(configMap.data["initContainer.yaml"]);
        assert.equal(JSON.stringify([init], null, 2), restrictedPytorchInitTemplate());
        assert.equal(init.name, "init-pytorch");
        assert.ok(isPinned(init.image));
        assert.match(init.command[2], /nslookup \{\{\.MasterAddr\}\}/);
        assert.deepEqual(init.securityContext, {
            runAsNonRoot: true,
            runAsUser: 65534,
            allowPrivilegeEscalation: false,
            readOnlyRootFilesystem: true,
            capabilities: { drop: ["ALL"] },
            seccompProfile: { type: "RuntimeDefault" },
        });
        const patch = one(resources, "kubernetes:apps/v1:DeploymentPatch").inputs as Obj;
        assert.equal(patch.metadata.name, "training-operator");
        const podSpec = patch.spec.template.spec;
        assert.deepEqual(podSpec.volumes, [{ name: configMap.metadata.name, configMap: { name: configMap.metadata.name } }]);
        // v1.9's default --pytorch-init-container-template-file is /etc/config/initContainer.yaml.
        assert.deepEqual(podSpec.containers[0].volumeMounts, [{ name: configMap.metadata.name, mountPath: "/etc/config", readOnly: true }]);
    });

    it("refuses a PyTorchJob without workers", async () => {
        await assert.rejects(
            recordResources(() => {
                const operator = new TrainingOperator("op");
                new DistributedTraining("bad", { training: { ...spec, workers: 0 }, pool: A100_POOL, gpuTaint: GPU_TAINT, ...claims(), operator });
            }),
            /workers >= 1/,
        );
    });
});

describe("components/priority and components/tracking under mocks", () => {
    let resources: RecordedResource[];
    before(async () => {
        resources = await recordResources(() => {
            new PriorityClasses("test-priority");
            new TrackingSecrets("test-tracking", { namespaces: [NAMESPACES.serving, NAMESPACES.training], trackingUri: pulumi.output("https://mlflow.internal") });
        });
    });

    it("ranks serving above training, and training never preempts", () => {
        const classes = resources.filter((r) => r.type === "kubernetes:scheduling.k8s.io/v1:PriorityClass").map((r) => r.inputs as Obj);
        const byName = Object.fromEntries(classes.map((c) => [c.metadata.name, c]));
        assert.deepEqual(Object.keys(byName).sort(), [SERVING_PRIORITY_CLASS, TRAINING_PRIORITY_CLASS].sort());
        assert.equal(byName[SERVING_PRIORITY_CLASS].value, 100000);
        assert.equal(byName[SERVING_PRIORITY_CLASS].preemptionPolicy, "PreemptLowerPriority");
        assert.equal(byName[TRAINING_PRIORITY_CLASS].value, 1000);
        assert.equal(byName[TRAINING_PRIORITY_CLASS].preemptionPolicy, "Never");
        assert.ok(byName[SERVING_PRIORITY_CLASS].value > byName[TRAINING_PRIORITY_CLASS].value);
        for (const c of classes) {
            assert.equal(c.globalDefault, false);
            assert.ok(c.value > -10, "Cluster Autoscaler ignores pods below priority -10");
        }
        assert.equal(Object.keys(PRIORITY_CLASSES).length, 2);
    });

    it("puts the tracking URI, as a secret, in each workload namespace under the name pods reference", () => {
        const secrets = resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
        assert.deepEqual(secrets.map((s) => (s.inputs as Obj).metadata.namespace).sort(), [NAMESPACES.serving, NAMESPACES.training]);
        for (const s of secrets) {
            assert.equal((s.inputs as Obj).metadata.name, TRACKING_SECRET_NAME);
            assert.equal(s.hasSecretInputs, true, "the value never appears in plain text");
            assert.ok(!JSON.stringify(s.inputs).includes("mlflow.internal"));
        }
    });
});

describe("components/platform: workload wiring under mocks (prod spec)", () => {
    const spec = buildStackSpec(rawConfigOf("prod"));
    let resources: RecordedResource[];
    const k8s = (kind: string) => resources.filter((r) => r.type.startsWith("kubernetes:") && r.type.endsWith(`:${kind}`));
    // Data-sync Jobs (test/training-access.test.ts) share the namespace and mount the data read-write.
    const trainingJobs = () => k8s("Job").filter((r) => (r.inputs as Obj).metadata.labels["ml-platform/workload"] === "training");

    before(async () => {
        resources = await recordResources(() => new MlPlatform("prod", { spec, trackingUri: pulumi.secret("https://mlflow.example") }));
    });

    it("creates one workload component per serving and training entry, and the operator once", () => {
        assert.equal(resources.filter((r) => r.type === "ml-platform:serving:ModelServing").length, spec.serving.length);
        assert.equal(resources.filter((r) => r.type === "ml-platform:training:TrainingJob").length, spec.training.filter((t) => t.kind === "Job").length);
        assert.equal(resources.filter((r) => r.type === "ml-platform:training:DistributedTraining").length, spec.training.filter((t) => t.kind === "PyTorchJob").length);
        assert.equal(resources.filter((r) => r.type === "ml-platform:training:TrainingOperator").length, 1);
    });

    it("orders every workload after its namespaces, claims, priority classes and tracking secrets", () => {
        const workloadNamespaces = k8s("Namespace").filter((r) => ["ml-serving", "ml-training"].includes((r.inputs as Obj).metadata.name));
        const prerequisites = [...workloadNamespaces, ...k8s("PersistentVolumeClaim"), ...k8s("PriorityClass"), ...k8s("Secret")];
        assert.ok(prerequisites.length >= 2 + 3 + 2 + 2);
        const workloads = resources.filter((r) => ["ml-platform:serving:ModelServing", "ml-platform:training:TrainingJob", "ml-platform:training:DistributedTraining"].includes(r.type));
        for (const w of workloads) {
            for (const p of prerequisites) {
                assert.ok(dependsOnResource(w, p), `${w.name} does not depend on ${p.name}`);
            }
        }
    });

    it("mounts training data from an RWX claim, read-only, in the claim's namespace", () => {
        const pvc = k8s("PersistentVolumeClaim").map((r) => r.inputs as Obj).find((p) => p.metadata.name === CLAIMS.trainingData.name);
        assert.ok(pvc);
        assert.deepEqual(pvc.spec.accessModes, ["ReadWriteMany"], "EFS CSI has no ReadOnlyMany");
        const pods: [string, Obj][] = [
            ...trainingJobs().map((r) => [(r.inputs as Obj).metadata.namespace, (r.inputs as Obj).spec.template.spec] as [string, Obj]),
            ...k8s("PyTorchJob").flatMap((r) => Object.values((r.inputs as Obj).spec.pytorchReplicaSpecs).map((rs: any) => [(r.inputs as Obj).metadata.namespace, rs.template.spec] as [string, Obj])),
        ];
        assert.equal(pods.length, 1 + 2);
        for (const [namespace, pod] of pods) {
            assert.equal(namespace, pvc.metadata.namespace);
            const volume = pod.volumes.find((v: Obj) => v.persistentVolumeClaim?.claimName === pvc.metadata.name);
            const mount = pod.containers[0].volumeMounts.find((m: Obj) => m.name === volume.name);
            assert.equal(mount.readOnly, true);
        }
    });

    it("points every workload pod at a priority class and a tracking secret that exist", () => {
        const classes = k8s("PriorityClass").map((r) => (r.inputs as Obj).metadata.name);
        const secrets = k8s("Secret").map((r) => `${(r.inputs as Obj).metadata.namespace}/${(r.inputs as Obj).metadata.name}`);
        const pods: [string, Obj][] = [
            ...k8s("Deployment").filter((r) => (r.inputs as Obj).metadata.namespace === NAMESPACES.serving).map((r) => [(r.inputs as Obj).metadata.namespace, (r.inputs as Obj).spec.template.spec] as [string, Obj]),
            ...trainingJobs().map((r) => [(r.inputs as Obj).metadata.namespace, (r.inputs as Obj).spec.template.spec] as [string, Obj]),
        ];
        assert.ok(pods.length >= spec.serving.length + 1);
        for (const [namespace, pod] of pods) {
            assert.ok(classes.includes(pod.priorityClassName), pod.priorityClassName);
            const ref = pod.containers[0].env.find((e: Obj) => e.name === "MLFLOW_TRACKING_URI").valueFrom.secretKeyRef;
            assert.ok(secrets.includes(`${namespace}/${ref.name}`), `${namespace}/${ref.name}`);
        }
    });

    it("makes each PyTorchJob wait for the Training Operator", () => {
        const directory = one(resources, "kubernetes:kustomize/v2:Directory");
        for (const c of resources.filter((r) => r.type === "ml-platform:training:DistributedTraining")) {
            assert.ok(dependsOnResource(c, directory), c.name);
        }
    });
});
