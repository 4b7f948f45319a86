import { strict as assert } from "node:assert";
import type { ResourceLike } from "../plan/policy";
import { memoryVolumesBounded } from "../policy/rules/runtime";
import * as security from "../policy/rules/security";
import { Obj, onResource } from "./policy-rules-helpers";

const shm = (emptyDir: Obj) => ({ name: "dshm", emptyDir: { medium: "Memory", ...emptyDir } });
const dep = (container: Obj, volumes: Obj[]): ResourceLike => ({
    type: "kubernetes:apps/v1:Deployment",
    name: "m",
    inputs: {
        metadata: { name: "m", namespace: "ml-serving" },
        spec: { template: { metadata: {}, spec: { containers: [{ name: "server", image: "a:v1", volumeMounts: [{ name: "dshm", mountPath: "/dev/shm" }], ...container }], volumes } } },
    },
});
const limits = (memory?: string) => ({ resources: { requests: { cpu: "1", memory: memory ?? "1Gi" }, limits: memory === undefined ? { cpu: "1" } : { cpu: "1", memory } } });

describe("policy rules (direct): memory-volumes-bounded", () => {
    it("passes a bounded /dev/shm inside the container's memory limit, and disk-backed emptyDirs", () => {
        assert.deepEqual(onResource(memoryVolumesBounded, dep(limits("33Gi"), [shm({ sizeLimit: "1Gi" })])), []);
        assert.deepEqual(onResource(memoryVolumesBounded, dep(limits("1Gi"), [{ name: "tmp", emptyDir: {} }])), []);
        // A container that does not mount it is not judged by it.
        assert.deepEqual(onResource(memoryVolumesBounded, dep({ ...limits("1Gi"), volumeMounts: [] }, [shm({ sizeLimit: "4Gi" })])), []);
    });

    it("fails a memory-backed emptyDir without a sizeLimit", () => {
        const found = onResource(memoryVolumesBounded, dep(limits("33Gi"), [shm({})]));
        assert.equal(found.length, 1);
        assert.match(found[0], /^Deployment ml-serving\/m volume "dshm" is a memory-backed emptyDir without a sizeLimit/);
    });

    it("fails a mounting container whose memory limit does not exceed the size; a missing limit is container-resources-set's finding", () => {
        assert.match(onResource(memoryVolumesBounded, dep(limits("2Gi"), [shm({ sizeLimit: "2Gi" })]))[0], /container "server" mounts memory-backed volume "dshm" \(sizeLimit 2Gi\) with memory limit 2Gi/);
        assert.deepEqual(onResource(memoryVolumesBounded, dep(limits(undefined), [shm({ sizeLimit: "1Gi" })])), []);
    });
});

describe("policy rules (direct): secret env of serving entries", () => {
    it("accepts a credential from secretKeyRef and refuses it as a literal", () => {
        const withEnv = (env: Obj[]) => dep({ ...limits("2Gi"), env }, []);
        assert.deepEqual(onResource(security.secretsFromSecretRefs, withEnv([{ name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf", key: "token" } } }])), []);
        assert.equal(onResource(security.secretsFromSecretRefs, withEnv([{ name: "HF_TOKEN", value: "hf_x" }])).length, 1);
    });
});
