/** What upstream advises for the NVIDIA stack and for training pods, on the registered objects. */
import * as assert from "node:assert/strict";
import { SAFE_TO_EVICT_ANNOTATION } from "../facts/training";
import { DCGM_EXPORTER_NAME, DEVICE_PLUGIN_NAME } from "../facts/nvidia";
import { platformRun } from "./fixtures";

const byType = async (stack: "dev" | "prod", suffix: string) => (await platformRun(stack)).resources.filter((r) => r.type.endsWith(suffix)).map((r) => r.inputs as any);

describe("upstream's advice", () => {
    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: every training pod opts out of Cluster Autoscaler scale-down eviction`, async () => {
            const templates = [
                ...(await byType(stack, ":Job")).map((j) => j.spec.template),
                ...(await byType(stack, ":PyTorchJob")).flatMap((j) => Object.values(j.spec.pytorchReplicaSpecs).map((r: any) => r.template)),
            ];
            assert.ok(templates.length >= 1, "training pod templates");
            for (const t of templates) assert.equal(t.metadata.annotations?.[SAFE_TO_EVICT_ANNOTATION], "false");
        });

        it(`${stack}: the device plugin fails on init errors (no FAIL_ON_INIT_ERROR=false); DCGM knows its node`, async () => {
            const ds = await byType(stack, ":DaemonSet");
            const plugin = ds.find((d) => d.metadata.name === DEVICE_PLUGIN_NAME);
            const dcgm = ds.find((d) => d.metadata.name === DCGM_EXPORTER_NAME);
            assert.ok(plugin && dcgm);
            assert.equal((plugin.spec.template.spec.containers[0].env ?? []).some((e: any) => e.name === "FAIL_ON_INIT_ERROR"), false);
            assert.deepEqual(
                dcgm.spec.template.spec.containers[0].env.find((e: any) => e.name === "NODE_NAME"),
                { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            );
        });
    }
});
