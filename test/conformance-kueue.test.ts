/**
 * The conformance run's Kueue stand-in (conformance/kueue.ts), without a cluster: the CRDs come from the
 * pinned module, and the run unsuspends exactly what the planner's admission admits at hour 0.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { BUILD_SCRIPT } from "../conformance/controlPlane";
import { kueueCrds, kueueManagerConfigOf, kueueTag, outOfClusterKueueConfig, standInAdmission, unsuspendPatch } from "../conformance/kueue";
import type { KubeObject } from "../conformance/kube";
import { VERSIONS } from "../facts/versions";
import { planOf } from "./fixtures";

const registered = (rs: readonly { type: string; name: string; inputs: unknown }[]) => rs.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs as Record<string, unknown> }));

describe("conformance: the Kueue stand-in", () => {
    it("without the Kueue release's configuration, prod's EFA gang would be refused: the configuration is what admits it", async () => {
        const { result, run } = await planOf("prod");
        const objects = result.manifests.map((m) => m.object as unknown as KubeObject);
        assert.deepEqual(standInAdmission(objects)!.never.map((n) => n.job), ["llm-distributed"]);
        assert.deepEqual(standInAdmission(objects, registered(run.resources))!.never, []);
    });

    it("the out-of-cluster configuration keeps the plan's admission settings and changes only the plumbing", async () => {
        const { run } = await planOf("prod");
        const rendered = kueueManagerConfigOf(registered(run.resources))!;
        const c = outOfClusterKueueConfig(rendered, { certDir: "/tmp/certs", webhookPort: 12345 });
        for (const key of ["waitForPodsReady", "manageJobsWithoutQueueName", "managedJobsNamespaceSelector", "resources", "apiVersion", "kind"]) assert.deepEqual(c[key], rendered[key], key);
        // Every integration but the plain-Pod one, which starts at the (unregistered) pod webhook and stands in.
        assert.deepEqual(c.integrations.frameworks, rendered.integrations.frameworks.filter((f: string) => f !== "pod"));
        assert.ok(rendered.integrations.frameworks.includes("pod"));
        assert.deepEqual(c.leaderElection, { leaderElect: false });
        assert.deepEqual(c.internalCertManagement, { enable: false });
        assert.deepEqual([c.webhook.port, c.webhook.certDir, c.metrics.bindAddress, c.health.healthProbeBindAddress, c.featureGates.VisibilityOnDemand], [12345, "/tmp/certs", "0", "0", false]);
    });

    it("build-control-plane.sh builds the Kueue manager of the tag the platform deploys", () => {
        const out = spawnSync("bash", [BUILD_SCRIPT, "--versions"], { encoding: "utf8" }).stdout;
        assert.match(out, new RegExp(`^kueue=${VERSIONS.kueue.tag.replace(/\./g, "\\.")}$`, "m"));
    });

    it("takes the Kueue tag from the plan's Helm release, and the real CRDs from that module", async () => {
        const { run } = await planOf("prod");
        const tag = kueueTag(run.resources.map((r) => ({ type: r.type, inputs: r.inputs as Record<string, unknown> })));
        assert.equal(tag, VERSIONS.kueue.tag);
        const crds = kueueCrds(tag!);
        const kinds = crds.map((c) => (c.spec as { names: { kind: string } }).names.kind);
        for (const kind of ["ResourceFlavor", "ClusterQueue", "LocalQueue", "WorkloadPriorityClass", "Workload"]) {
            assert.ok(kinds.includes(kind), kind);
        }
        // The storage version the platform renders is one the CRD serves.
        const cq = crds.find((c) => (c.spec as { names: { kind: string } }).names.kind === "ClusterQueue")!;
        assert.ok((cq.spec as { versions: { name: string; served: boolean }[] }).versions.some((v) => v.name === "v1beta2" && v.served));
    });

    it("admits prod's jobs at hour 0 and unsuspends each the way its kind needs", async () => {
        const { result, run } = await planOf("prod");
        const objects = result.manifests.map((m) => m.object as unknown as KubeObject);
        const admission = standInAdmission(objects, registered(run.resources))!;
        // Training jobs at hour 0; the nightly pipeline's steps each on submission (test/pipeline-queueing.test.ts).
        assert.deepEqual(admission.admitNow.filter((s) => !s.job.includes("/")).map((s) => s.job).sort(), ["bert-finetune", "llm-distributed"]);
        assert.deepEqual([admission.waiting, admission.never], [[], []]);
        assert.deepEqual(unsuspendPatch("Job"), { spec: { suspend: false } });
        assert.deepEqual(unsuspendPatch("PyTorchJob"), { spec: { runPolicy: { suspend: false } } });
    });

    it("leaves a third gang the cohort cannot hold beside two others suspended", async () => {
        const { result, run } = await planOf("prod");
        const objects = result.manifests.map((m) => structuredClone(m.object) as unknown as KubeObject);
        const gang = objects.find((o) => o.kind === "PyTorchJob")!;
        for (const n of [2, 3]) {
            objects.push({ ...structuredClone(gang), metadata: { ...structuredClone(gang.metadata), name: `${gang.metadata.name}-${n}` } });
        }
        // 4 x p4d = 32 A100s in the cohort; three 16-GPU gangs: two run, the third waits for one to end.
        const admission = standInAdmission(objects, registered(run.resources))!;
        assert.deepEqual(admission.admitNow.filter((s) => s.flavor === "a100").map((s) => s.job), [gang.metadata.name, `${gang.metadata.name}-2`]);
        assert.deepEqual(admission.waiting.map((s) => [s.job, s.waitHours]), [[`${gang.metadata.name}-3`, 36]]);
    });
});
