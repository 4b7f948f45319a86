/** Unknown fields are caught offline, as the API server's strict field validation would. */
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { fieldSchemas, unknownFields } from "../plan/fieldSchemas";
import { renderManifests } from "../plan/manifests";
import { RENDERED_KINDS } from "../plan/schemas/generate";
import { planOf } from "./fixtures";

const deployment = (container: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "m", namespace: "ml", labels: { "any/label-key": "x" }, annotations: { "whatever.example.com/a": "b" } },
    spec: { selector: { matchLabels: { app: "m" } }, template: { metadata: { labels: { app: "m" } }, spec: { containers: [{ name: "c", image: "i:1", ...container }] } }, ...extra },
});

describe("unknown fields (plan/fieldSchemas.ts)", () => {
    it("names the path of a field the kind does not declare, at any depth", () => {
        assert.deepEqual(unknownFields(deployment({ gpuCount: 1 })), ["spec.template.spec.containers[0].gpuCount"]);
        assert.deepEqual(unknownFields(deployment({}, { replica: 2 })), ["spec.replica"]);
        assert.deepEqual(unknownFields(deployment({ resources: { limits: { "nvidia.com/gpu": "1" }, request: { cpu: "1" } } })), ["spec.template.spec.containers[0].resources.request"]);
    });

    it("lets maps (labels, annotations, resource lists) hold any key, and passes a correct object", () => {
        assert.deepEqual(unknownFields(deployment({ resources: { requests: { cpu: "1", "vpc.amazonaws.com/efa": "1" } }, env: [{ name: "A", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }] })), []);
    });

    it("says nothing of kinds it has no schema for (custom resources)", () => {
        assert.equal(unknownFields({ apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" }), undefined);
    });

    it("covers every built-in kind the plan renders, from the pinned Kubernetes release", () => {
        assert.deepEqual(Object.keys(fieldSchemas().kinds).sort(), [...RENDERED_KINDS].sort());
        assert.match(fieldSchemas().source, /k8s\.io\/kubernetes@v1\.34\.\d+/);
    });

    it("makes the rendered manifest invalid, so the plan exits 1", () => {
        const [m] = renderManifests([
            { urn: "urn:d", type: "kubernetes:apps/v1:Deployment", name: "m", custom: true, remote: false, inputs: deployment({ gpuCount: 1 }), options: {} as never, hasSecretInputs: false },
        ]);
        assert.ok(m.errors.some((e) => e.startsWith("spec.template.spec.containers[0].gpuCount: unknown field")), m.errors.join("\n"));
    });

    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: every rendered object has only declared fields`, async () => {
            const { out } = await planOf(stack);
            const summary = JSON.parse(readFileSync(path.join(out, "summary.json"), "utf8"));
            assert.deepEqual(summary.invalidManifests, []);
            assert.ok(summary.manifestCount > 20);
        });
    }
});
