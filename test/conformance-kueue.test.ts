/**
 * The conformance run's Kueue stand-in (conformance/kueue.ts), without a cluster: the CRDs come from the
 * pinned module, and the run unsuspends exactly what the planner's admission admits at hour 0.
 */
import { strict as assert } from "node:assert";
import { kueueCrds, kueueTag, standInAdmission, unsuspendPatch } from "../conformance/kueue";
import type { KubeObject } from "../conformance/kube";
import { VERSIONS } from "../facts/versions";
import { planOf } from "./fixtures";

describe("conformance: the Kueue stand-in", () => {
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
        const { result } = await planOf("prod");
        const objects = result.manifests.map((m) => m.object as unknown as KubeObject);
        const admission = standInAdmission(objects)!;
        // Training jobs at hour 0; the nightly pipeline's steps each on submission (test/pipeline-queueing.test.ts).
        assert.deepEqual(admission.admitNow.filter((s) => !s.job.includes("/")).map((s) => s.job).sort(), ["bert-finetune", "llm-distributed"]);
        assert.deepEqual([admission.waiting, admission.never], [[], []]);
        assert.deepEqual(unsuspendPatch("Job"), { spec: { suspend: false } });
        assert.deepEqual(unsuspendPatch("PyTorchJob"), { spec: { runPolicy: { suspend: false } } });
    });

    it("leaves a third gang the cohort cannot hold beside two others suspended", async () => {
        const { result } = await planOf("prod");
        const objects = result.manifests.map((m) => structuredClone(m.object) as unknown as KubeObject);
        const gang = objects.find((o) => o.kind === "PyTorchJob")!;
        for (const n of [2, 3]) {
            objects.push({ ...structuredClone(gang), metadata: { ...structuredClone(gang.metadata), name: `${gang.metadata.name}-${n}` } });
        }
        // 4 x p4d = 32 A100s in the cohort; three 16-GPU gangs: two run, the third waits for one to end.
        const admission = standInAdmission(objects)!;
        assert.deepEqual(admission.admitNow.filter((s) => s.flavor === "a100").map((s) => s.job), [gang.metadata.name, `${gang.metadata.name}-2`]);
        assert.deepEqual(admission.waiting.map((s) => [s.job, s.waitHours]), [[`${gang.metadata.name}-3`, 36]]);
    });
});
