import { strict as assert } from "node:assert";
import * as pulumi from "@pulumi/pulumi";
import { GPU_RESOURCE, poolNodeSelector, poolTolerations } from "../capacity/pools";
import { EXTERNAL_METRICS } from "../components/serving";
import { CloudEmulator, stackNameMatches } from "../plan/emulator";
import { ProgramRun, StackOutput } from "../plan/run";
import { checkContractVersion, CONTRACT_OUTPUTS, CONTRACT_VERSION, parseContract, PlatformContractValues, SECRET_OUTPUTS } from "../stacks/contract";
import { readPlatformContract } from "../stacks/contractReader";
import { gpuPodSpec } from "../stacks/gpuPodSpec";
import { gpuPools } from "../stacks/spec";
import { workloadRoleTrustPolicy } from "../stacks/workloadIdentity";
import * as workloads from "../policy/rules/workloads";
import { platformRun } from "./fixtures";

const valuesOf = (outputs: Record<string, StackOutput>) => Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.value]));

/** Runs `read` as a consumer project whose StackReferences see `outputs`. */
async function asConsumer<T>(outputs: Record<string, StackOutput>, read: () => Promise<T>): Promise<T> {
    await pulumi.runtime.setMocks(new CloudEmulator({ region: "us-east-1", availabilityZones: [], stackReferences: { "*/ml-platform/*": outputs } }), "consumer", "test", false);
    return read();
}

for (const stack of ["dev", "prod"] as const) {
    describe(`app-team contract: what the ${stack} platform exports`, () => {
        let run: ProgramRun;
        let contract: PlatformContractValues;
        before(async () => {
            run = await platformRun(stack);
            contract = parseContract(`acme/ml-platform/${stack}`, valuesOf(run.outputs));
        });

        it("exports exactly the contract's outputs, so neither can drift from the other", () => {
            assert.deepEqual(Object.keys(run.outputs).sort(), [...CONTRACT_OUTPUTS].sort());
        });

        it("keeps the kubeconfig, and only it, secret", () => {
            for (const [name, output] of Object.entries(run.outputs)) {
                assert.equal(output.secret, (SECRET_OUTPUTS as readonly string[]).includes(name), name);
            }
        });

        it("carries this contract's version and the stack's environment", () => {
            assert.equal(contract.contractVersion, CONTRACT_VERSION);
            assert.equal(contract.environment, run.spec.environment);
        });

        it("describes every GPU pool as capacity/pools places pods on it", () => {
            const pools = gpuPools(run.spec);
            assert.deepEqual(Object.keys(contract.gpuPools).sort(), pools.map((p) => p.name).sort());
            for (const pool of pools) {
                const c = contract.gpuPools[pool.name];
                assert.deepEqual(c.nodeSelector, poolNodeSelector(pool));
                assert.deepEqual(c.tolerations, poolTolerations(pool, run.spec.gpuTaint));
                assert.equal(c.gpusPerNode, pool.gpu!.count);
                assert.equal(c.instanceType, pool.instanceType);
            }
        });

        it("names the metrics the platform's own HPAs use, and the training API", () => {
            assert.deepEqual(contract.metrics.externalMetrics, EXTERNAL_METRICS);
            const hpa = run.resources.find((r) => r.type === "kubernetes:autoscaling/v2:HorizontalPodAutoscaler");
            const used = ((hpa!.inputs as any).spec.metrics as any[]).map((m) => m.external.metric);
            assert.deepEqual(used.map((m) => m.name).sort(), Object.values(contract.metrics.externalMetrics).sort());
            assert.ok(used.every((m) => contract.metrics.selectorLabel in m.selector.matchLabels));
            assert.deepEqual([contract.training.apiVersion, contract.training.kind], ["kubeflow.org/v1", "PyTorchJob"]);
            const pyTorchJobs = run.resources.filter((r) => r.type === "kubernetes:kubeflow.org/v1:PyTorchJob");
            assert.equal(contract.training.operatorInstalled, run.spec.training.some((t) => t.kind === "PyTorchJob"));
            assert.equal(contract.training.operatorInstalled, pyTorchJobs.length > 0);
        });

        it("publishes each training run's service account and the role its pods assume (1.3)", () => {
            assert.deepEqual(Object.keys(contract.training.identities).sort(), run.spec.training.map((t) => t.name).sort());
            for (const t of run.spec.training) {
                const id = contract.training.identities[t.name];
                const sa = run.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount" && (r.inputs as any).metadata.name === id.serviceAccount && (r.inputs as any).metadata.namespace === t.namespace);
                assert.ok(sa, `service account ${id.serviceAccount}`);
                assert.equal((sa.inputs as any).metadata.annotations[contract.workloadIdentity.serviceAccountAnnotation], id.roleArn);
                const job = run.resources.find((r) => r.type.endsWith(`:${t.kind}`) && (r.inputs as any).metadata.name === t.name)!;
                assert.ok(JSON.stringify(job.inputs).includes(`"serviceAccountName":"${id.serviceAccount}"`));
            }
        });

        it("describes workload identity as the platform's own IRSA roles trust it", () => {
            const serving = run.spec.serving[0];
            const role = run.resources.find((r) => r.type === "aws:iam/role:Role" && r.name === `${stack}-serving-${serving.name}-role`);
            assert.ok(role, "the serving role");
            assert.deepEqual(JSON.parse(workloadRoleTrustPolicy(contract, serving.namespace, serving.name)), JSON.parse(role.inputs.assumeRolePolicy as string));
            const sa = run.resources.find((r) => r.type === "kubernetes:core/v1:ServiceAccount" && (r.inputs as any).metadata.name === serving.name);
            assert.ok(contract.workloadIdentity.serviceAccountAnnotation in (sa!.inputs as any).metadata.annotations);
        });

        it("states the serving ports, load-time annotation, probe headroom and client label the platform itself enforces", () => {
            const policies = run.resources.filter((r) => r.type === "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => r.inputs as Record<string, any>);
            const inServing = (name: string) => policies.find((p) => p.metadata.namespace === contract.namespaces.serving && p.metadata.name === name)!;
            const clients = inServing("allow-serving-clients").spec.ingress[0];
            assert.deepEqual(clients.ports.map((p: { port: number }) => p.port).sort(), [contract.serving.ports.grpc, contract.serving.ports.http].sort());
            const namespaceSelectors = clients.from.filter((f: Record<string, any>) => f.namespaceSelector).map((f: Record<string, any>) => f.namespaceSelector.matchLabels);
            assert.deepEqual(namespaceSelectors, [contract.serving.clientNamespaceLabels]);
            assert.deepEqual(inServing("allow-prometheus-scrape").spec.ingress[0].ports.map((p: { port: number }) => p.port), [contract.serving.ports.http]);
            // The platform's own model servers: annotated under the contract's key, listening on its ports.
            const servers = run.resources.filter((r) => r.type === "kubernetes:apps/v1:Deployment" && (r.inputs as Record<string, any>).metadata.namespace === contract.namespaces.serving);
            assert.ok(servers.length > 0);
            for (const d of servers.map((r) => r.inputs as Record<string, any>)) {
                assert.ok(contract.serving.modelLoadAnnotation in d.metadata.annotations, d.metadata.name);
                const ports = d.spec.template.spec.containers[0].ports.map((p: { containerPort: number }) => p.containerPort);
                assert.deepEqual(ports.sort(), [contract.serving.ports.grpc, contract.serving.ports.http].sort());
            }
            // The policy pack judges by the same annotation and headroom.
            const schema = workloads.servingProbesCoverModelLoad.configSchema!.properties;
            assert.equal(schema.loadSecondsAnnotation.default, contract.serving.modelLoadAnnotation);
            assert.equal(schema.headroom.default, contract.serving.startupHeadroom);
        });

        it("lists the shared claims by namespace", () => {
            assert.deepEqual(contract.storage.pvcs, { "ml-training": ["training-data", "checkpoints"], "ml-serving": ["model-cache"] });
            assert.deepEqual(contract.namespaces, run.spec.namespaces);
        });
    });
}

describe("app-team contract: version compatibility", () => {
    const ok = (exported: string, consumer = "1.1.0") => assert.doesNotThrow(() => checkContractVersion("acme/ml-platform/prod", exported, consumer));
    const fails = (exported: unknown, consumer: string, message: RegExp | string) =>
        assert.throws(
            () => checkContractVersion("acme/ml-platform/prod", exported, consumer),
            (e: Error) => {
                assert.equal(e.name, "ContractError");
                if (typeof message === "string") {
                    assert.equal(e.message, message);
                } else {
                    assert.match(e.message, message);
                }
                return true;
            },
        );

    it("accepts the same major with the same or a later minor or patch", () => {
        ok("1.1.0");
        ok("1.1.7");
        ok("1.4.0");
        ok("1.1.0", "1.0.0");
    });

    it("refuses an older minor: the consumer reads fields it does not have", () =>
        fails("1.0.0", "1.1.0", /exports contract 1\.0\.0; this consumer was built against 1\.x \(>= 1\.1\) and reads fields added in 1\.1\. Update the platform stack/));

    it("refuses a newer major with the upgrade instruction", () =>
        fails("2.0.0", "1.0.0", "platform stack acme/ml-platform/prod exports contract 2.0.0; this consumer was built against 1.x (>= 1.0). Upgrade the consumer to a 2.x contract reader."));

    it("refuses an older major, a missing and a malformed version", () => {
        fails("0.9.0", "1.0.0", /exports contract 0\.9\.0; .* Update the platform stack to a 1\.x contract/);
        fails(undefined, "1.0.0", /exports no contractVersion/);
        fails("v1", "1.0.0", /contractVersion "v1", which is not a semver version/);
    });
});

describe("app-team contract: the reader, through a StackReference", () => {
    let outputs: Record<string, StackOutput>;
    before(async () => {
        outputs = (await platformRun("prod")).outputs;
    });

    it("returns typed values and keeps the kubeconfig a secret Output", async () => {
        const c = await asConsumer(outputs, () => readPlatformContract("acme/ml-platform/prod"));
        assert.equal(c.stack, "acme/ml-platform/prod");
        assert.equal(c.contractVersion, CONTRACT_VERSION);
        assert.deepEqual(c.gpuPools, outputs.gpuPools.value);
        assert.ok(pulumi.Output.isInstance(c.kubeconfig));
        assert.equal(await (c.kubeconfig as any).isSecret, true);
    });

    it("accepts a StackReference as well as its name", async () => {
        const c = await asConsumer(outputs, () => readPlatformContract(new pulumi.StackReference("acme/ml-platform/prod")));
        assert.equal(c.stack, "acme/ml-platform/prod");
    });

    it("fails a consumer built against v1 reading a v2 stack, with the upgrade message", async () => {
        const v2 = { ...outputs, contractVersion: { value: "2.0.0", secret: false } };
        await assert.rejects(
            asConsumer(v2, () => readPlatformContract("acme/ml-platform/prod", { builtAgainst: "1.0.0" })),
            { name: "ContractError", message: "platform stack acme/ml-platform/prod exports contract 2.0.0; this consumer was built against 1.x (>= 1.0). Upgrade the consumer to a 2.x contract reader." },
        );
    });

    it("fails a stack missing a field, naming the field", async () => {
        const withoutMetrics = { ...outputs };
        delete withoutMetrics.metrics;
        await assert.rejects(asConsumer(withoutMetrics, () => readPlatformContract("acme/ml-platform/prod")), new RegExp(`does not satisfy contract ${CONTRACT_VERSION.replace(/\./g, "\\.")}:\\n {2}metrics: missing \\(expected object\\)`));
        const pool = { ...(outputs.gpuPools.value as any).a10g, gpusPerNode: undefined };
        const broken = { ...outputs, gpuPools: { value: { a10g: pool }, secret: false } };
        await assert.rejects(asConsumer(broken, () => readPlatformContract("acme/ml-platform/prod")), /gpuPools\.a10g\.gpusPerNode: missing \(expected number\)/);
    });

    it("refuses a plain field the stack made secret rather than copy it into plain state", async () => {
        const secretEndpoint = { ...outputs, endpoint: { value: "[secret]", secret: true } };
        await assert.rejects(asConsumer(secretEndpoint, () => readPlatformContract("acme/ml-platform/prod")), /exports endpoint as a secret/);
    });
});

describe("app-team contract: the GPU pod-spec helper", () => {
    let contract: PlatformContractValues;
    before(async () => {
        contract = parseContract("acme/ml-platform/prod", valuesOf((await platformRun("prod")).outputs));
    });

    it("places the pod with exactly the pool's tolerations and nodeSelector, GPU requests equal to limits", () => {
        for (const [name, pool] of Object.entries(contract.gpuPools)) {
            const spec = gpuPodSpec(contract, name, { gpus: pool.gpusPerNode, cpu: "4", memory: "16Gi", memoryLimit: "20Gi" });
            assert.deepEqual(spec.tolerations, pool.tolerations);
            assert.deepEqual(spec.nodeSelector, pool.nodeSelector);
            assert.equal(spec.resources.requests[GPU_RESOURCE], String(pool.gpusPerNode));
            assert.equal(spec.resources.requests[GPU_RESOURCE], spec.resources.limits[GPU_RESOURCE]);
            assert.deepEqual(spec.resources.limits, { cpu: "4", memory: "20Gi", [GPU_RESOURCE]: String(pool.gpusPerNode) });
        }
    });

    it("hands out copies: editing the pod spec leaves the contract alone", () => {
        const spec = gpuPodSpec(contract, "a10g", { gpus: 1, cpu: "1", memory: "1Gi" });
        spec.tolerations[0].value = "edited";
        spec.nodeSelector.extra = "x";
        assert.notEqual(contract.gpuPools.a10g.tolerations[0].value, "edited");
        assert.ok(!("extra" in contract.gpuPools.a10g.nodeSelector));
    });

    it("refuses an unknown pool, a GPU count a node cannot hold, and limits below requests", () => {
        assert.throws(() => gpuPodSpec(contract, "h100", { gpus: 1, cpu: "1", memory: "1Gi" }), /no GPU pool "h100"; it has a10g, a100/);
        assert.throws(() => gpuPodSpec(contract, "a10g", { gpus: 5, cpu: "1", memory: "1Gi" }), /from 1 to 4 \(GPUs per g5\.12xlarge node/);
        assert.throws(() => gpuPodSpec(contract, "a10g", { gpus: 0, cpu: "1", memory: "1Gi" }), /got 0/);
        assert.throws(() => gpuPodSpec(contract, "a10g", { gpus: 1, cpu: "2", cpuLimit: "1", memory: "1Gi" }), /must not be below the requests/);
        assert.throws(() => gpuPodSpec(contract, "a10g", { gpus: 1, cpu: "two", memory: "1Gi" }), /cpu "two" is not a Kubernetes quantity/);
    });
});

describe("offline plan: StackReferences in the cloud emulator", () => {
    it("matches names segment by segment, * for any", () => {
        assert.ok(stackNameMatches("*/ml-platform/*", "acme/ml-platform/prod"));
        assert.ok(stackNameMatches("acme/ml-platform/dev", "acme/ml-platform/dev"));
        assert.ok(!stackNameMatches("*/ml-platform/*", "acme/other/prod"));
        assert.ok(!stackNameMatches("*/ml-platform/*", "ml-platform/prod"));
    });

    it("answers with the recorded outputs, secrets named and replaced by a placeholder", () => {
        const emulator = new CloudEmulator({
            region: "us-east-1",
            availabilityZones: [],
            stackReferences: { "*/ml-platform/*": { clusterName: { value: "ml-prod", secret: false }, kubeconfig: { value: "[secret]", secret: true } } },
        });
        const { id, state } = emulator.newResource({ type: "pulumi:pulumi:StackReference", name: "acme/ml-platform/prod", inputs: { name: "acme/ml-platform/prod" }, custom: true });
        assert.equal(id, "acme/ml-platform/prod");
        assert.deepEqual(state.secretOutputNames, ["kubeconfig"]);
        assert.equal((state.outputs as any).clusterName, "ml-prod");
        assert.match((state.outputs as any).kubeconfig, /^\[secret kubeconfig of acme\/ml-platform\/prod: not available to the offline plan\]$/);
        assert.deepEqual(emulator.referencedStacks, ["acme/ml-platform/prod"]);
    });

    it("fails a reference it has no outputs for, saying how to give them", () => {
        const emulator = new CloudEmulator({ region: "us-east-1", availabilityZones: [] });
        assert.throws(
            () => emulator.newResource({ type: "pulumi:pulumi:StackReference", name: "acme/ml-platform/prod", inputs: { name: "acme/ml-platform/prod" }, custom: true }),
            /no outputs for stack reference "acme\/ml-platform\/prod".*--platform-outputs/,
        );
    });
});
