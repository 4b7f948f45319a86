/**
 * Serving runtimes (issue 16): vLLM's server derived from the entry, custom servers' args/env/secret env,
 * the pure sizing functions behind them, and the config rules that guard them (exit 2).
 */
import { strict as assert } from "node:assert";
import { perGpuBytesFor } from "../capacity/gpu-memory";
import { GPU_RESOURCE } from "../capacity/pools";
import { formatMemory, GiB, parseMemory } from "../capacity/quantity";
import { addMemory, gpuMemoryUtilization, shmBytesFor, vllmServeArgs } from "../capacity/runtimes";
import { ModelServing, serverCommand } from "../components/serving";
import { TRACKING_SECRET_NAME } from "../components/tracking";
import { HTTP_PORT } from "../facts/serving";
import { RUNTIME_FACTS } from "../facts/runtimes";
import { VERSIONS } from "../facts/versions";
import { ACCOUNT_ID } from "../plan/emulator";
import { ProgramRun } from "../plan/run";
import { CONTRACT_VERSION, parseContract, PlatformContractValues } from "../stacks/contract";
import { platformServingEnv, RESERVED_ENV_NAMES, TRACKING_URI_ENV } from "../stacks/servingEnv";
import { CLAIMS, ServingSpec } from "../stacks/spec";
import { buildStackSpec, RawConfig } from "../stacks/validate";
import { A10G_POOL, GPU_TAINT, Obj, one, recordResources, servingSpec } from "./component-mocks";
import { platformRun } from "./fixtures";
import { problemsOf, rawConfigOf, withKey } from "./helpers";

const prod = rawConfigOf("prod");


const LLAMA = "llama-3-8b";
const llamaIndex = (list: any[]) => list.findIndex((s) => s.name === LLAMA);
const editLlama = (edit: (s: any) => void) => withKey(prod, "serving", (list: any[]) => (edit(list[llamaIndex(list)]), list));
const editCustom = (edit: (s: any) => void) => withKey(prod, "serving", (list: any[]) => (edit(list[0]), list));

describe("capacity/runtimes: /dev/shm, vLLM's memory fraction and arguments", () => {
    it("sizes /dev/shm at 1 GiB per GPU, at least 1 GiB", () => {
        assert.deepEqual([0, 1, 2, 4, 8].map(shmBytesFor), [1, 1, 2, 4, 8].map((n) => n * GiB));
        assert.throws(() => shmBytesFor(1.5));
    });

    it("adds bytes to a memory quantity exactly", () => {
        assert.equal(addMemory("32Gi", GiB), "33Gi");
        assert.equal(addMemory("512Mi", GiB), "1536Mi");
        assert.equal(parseMemory(addMemory("16G", GiB)), 16e9 + GiB);
    });

    it("gives vLLM the estimate's share of usable memory, rounded up to a hundredth, never less than the estimate", () => {
        const usable = 22888 * 2 ** 20;
        for (const estimate of [1, 0.5 * usable, 0.8605 * usable, usable]) {
            const f = gpuMemoryUtilization(estimate, usable);
            assert.ok(f * usable >= estimate, `${f} x usable covers the estimate`);
            assert.ok(f - estimate / usable < 0.01 + 1e-12);
        }
        assert.equal(gpuMemoryUtilization(0.8 * usable, usable), 0.8);
        assert.throws(() => gpuMemoryUtilization(usable * 1.02, usable), /exceeds/);
    });

    it("passes the model path, served name, port, tensor parallel size, context and fraction; --dtype only for unquantised weights", () => {
        const args = vllmServeArgs({ modelPath: "/m/x/", servedModelName: "x", tensorParallelSize: 2, maxModelLen: 8192, gpuMemoryUtilization: 0.9, port: 8080, precision: "bfloat16" });
        assert.deepEqual(args, ["/m/x/", "--served-model-name", "x", "--port", "8080", "--tensor-parallel-size", "2", "--max-model-len", "8192", "--gpu-memory-utilization", "0.90", "--dtype", "bfloat16"]);
        assert.ok(!vllmServeArgs({ modelPath: "/m/", servedModelName: "x", tensorParallelSize: 1, maxModelLen: 1, gpuMemoryUtilization: 0.5, port: 1, precision: "int4" }).includes("--dtype"));
    });
});

describe("runtime vllm: the prod Llama-3-8B entry", () => {
    let run: ProgramRun;
    let spec: ServingSpec;
    let deployment: Obj;
    let server: Obj;
    before(async () => {
        run = await platformRun("prod");
        spec = run.spec.serving.find((s) => s.name === LLAMA)!;
        const r = run.resources.find((x) => x.type === "kubernetes:apps/v1:Deployment" && (x.inputs as Obj).metadata.name === LLAMA)!;
        deployment = r.inputs as Obj;
        server = deployment.spec.template.spec.containers.find((c: Obj) => c.name === "model-server");
    });

    it("is sized by the estimator: one A10G holds 8B bf16 at 8k context within the 10% headroom", () => {
        assert.equal(spec.runtime, "vllm");
        assert.equal(spec.pool, "a10g");
        assert.equal(spec.gpus, 1);
        const pool = run.spec.nodePools.find((p) => p.name === spec.pool)!;
        const usable = pool.gpu!.memoryMiB * 2 ** 20;
        assert.ok(spec.gpuMemoryEstimateBytes! <= 0.9 * usable, "within the headroom");
        assert.ok(spec.gpuMemoryEstimateBytes! > 0.8 * usable, "an honest estimate: weights alone are 15 GiB");
    });

    it("runs `vllm serve` on the model the init container synced, with every flag derived from the entry and its pool", () => {
        assert.equal(server.image, VERSIONS.vllm);
        assert.deepEqual(server.command, ["vllm", "serve"]);
        const flag = (name: string) => server.args[server.args.indexOf(name) + 1];
        const init = deployment.spec.template.spec.initContainers.find((c: Obj) => c.name === "model-downloader");
        // The positional model path is where the downloader syncs to, inside the model-cache mount.
        assert.equal(server.args[0], init.command[4]);
        assert.ok(server.args[0].startsWith(`${CLAIMS.modelCache.mountPath}/`));
        assert.equal(flag("--tensor-parallel-size"), String(server.resources.limits[GPU_RESOURCE]));
        assert.equal(flag("--max-model-len"), "8192");
        assert.equal(flag("--port"), String(HTTP_PORT));
        assert.equal(flag("--served-model-name"), deployment.spec.template.metadata.labels.app);
        const usable = run.spec.nodePools.find((p) => p.name === spec.pool)!.gpu!.memoryMiB * 2 ** 20;
        assert.equal(Number(flag("--gpu-memory-utilization")), Math.ceil((spec.gpuMemoryEstimateBytes! / usable) * 100) / 100);
        assert.ok(Number(flag("--gpu-memory-utilization")) <= 0.9);
    });

    it("probes vLLM's /health on the serving port, exposes only HTTP, and scales on vLLM's waiting-requests gauge", () => {
        for (const probe of ["startupProbe", "readinessProbe", "livenessProbe"]) {
            assert.deepEqual(server[probe].httpGet, { path: RUNTIME_FACTS.vllm.healthPath, port: HTTP_PORT });
        }
        assert.deepEqual(server.ports.map((p: Obj) => p.name), ["http"]);
        const svc = run.resources.find((x) => x.type === "kubernetes:core/v1:Service" && (x.inputs as Obj).metadata.name === LLAMA)!.inputs as Obj;
        assert.deepEqual(svc.spec.ports.map((p: Obj) => p.port), [HTTP_PORT]);
        const hpa = run.resources.find((x) => x.type.endsWith(":HorizontalPodAutoscaler") && (x.inputs as Obj).metadata.name === LLAMA)!.inputs as Obj;
        assert.deepEqual(hpa.spec.metrics.map((m: Obj) => m.external.metric.name), ["dcgm_fi_dev_gpu_util", "vllm_num_requests_waiting"]);
    });

    it("gives a writable HOME and caches under the read-only root, and a memory-backed /dev/shm counted in the memory request", () => {
        const pod = deployment.spec.template.spec;
        assert.equal(server.securityContext.readOnlyRootFilesystem, true);
        const env = Object.fromEntries(server.env.filter((e: Obj) => e.value !== undefined).map((e: Obj) => [e.name, e.value]));
        const mounts = server.volumeMounts as Obj[];
        const writable = (dir: string) => mounts.some((m) => !m.readOnly && (dir === m.mountPath || dir.startsWith(`${m.mountPath}/`)) && pod.volumes.find((v: Obj) => v.name === m.name).emptyDir);
        for (const dir of [env.HOME, env.XDG_CACHE_HOME, env.HF_HOME, "/tmp"]) {
            assert.ok(writable(dir), `${dir} is on a writable emptyDir`);
        }
        assert.equal(env.HF_HUB_OFFLINE, "1");
        const shm = pod.volumes.find((v: Obj) => v.emptyDir?.medium === "Memory");
        assert.ok(mounts.some((m) => m.name === shm.name && m.mountPath === "/dev/shm"));
        assert.equal(parseMemory(shm.emptyDir.sizeLimit), shmBytesFor(spec.gpus));
        assert.equal(parseMemory(server.resources.requests.memory), parseMemory(spec.memory) + shmBytesFor(spec.gpus));
        assert.equal(parseMemory(server.resources.limits.memory), parseMemory(spec.memoryLimit) + shmBytesFor(spec.gpus));
    });

    it("tensor-parallelises a model one A10G cannot hold over the GPUs of a g5.12xlarge, with /dev/shm to match", () => {
        // Four full 8k sequences on the A10G pool by name (auto would take one A100: $2.745/h against 2 x $1.418/h).
        const raw = editLlama((s) => ((s.model.batchSize = 4), (s.pool = "a10g")));
        const llama = buildStackSpec(raw).serving.find((s) => s.name === LLAMA)!;
        assert.equal(perGpuBytesFor({ parameters: 8030261248, layers: 32, hiddenSize: 4096, attentionHeads: 32, kvHeads: 8 }, { mode: "inference", precision: "bfloat16", batchSize: 4, sequenceLength: 8192 })(1) > 0.9 * 22888 * 2 ** 20, true);
        assert.equal(llama.pool, "a10g");
        assert.equal(llama.gpus, 2);
        assert.equal(llama.vllm!.tensorParallelSize, 2);
        assert.equal(llama.shmBytes, 2 * GiB);
        const { args } = serverCommand(llama, "/model-cache/llama-3-8b/");
        assert.equal(args![args!.indexOf("--tensor-parallel-size") + 1], "2");
    });
});

describe("runtime custom: args, literal env and Secret-backed env", () => {
    const spec = servingSpec({
        args: ["--workers=2", "--log-level=info"],
        env: [{ name: "LOG_FORMAT", value: "json" }],
        secretEnv: [{ name: "HF_TOKEN", secretName: "hf-token", key: "token" }],
    });
    let server: Obj;
    let pod: Obj;
    before(async () => {
        const resources = await recordResources(
            () =>
                new ModelServing("test-custom", {
                    serving: spec,
                    pool: A10G_POOL,
                    gpuTaint: GPU_TAINT,
                    trackingSecretName: TRACKING_SECRET_NAME,
                    modelCacheClaim: CLAIMS.modelCache.name,
                    oidcProviderArn: `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X`,
                    oidcIssuer: "oidc.eks.us-east-1.amazonaws.com/id/X",
                    environment: "prod",
                }),
        );
        pod = (one(resources, "kubernetes:apps/v1:Deployment").inputs as Obj).spec.template.spec;
        server = pod.containers[0];
    });

    it("passes args to the image's own entrypoint (no command) and keeps the contract's ports and /health", () => {
        assert.deepEqual(server.args, spec.args);
        assert.equal(server.command, undefined);
        assert.deepEqual(server.ports.map((p: Obj) => p.containerPort).sort(), [8080, 9090]);
        assert.equal(server.startupProbe.httpGet.path, RUNTIME_FACTS.custom.healthPath);
    });

    it("sets literal env as values and secret env only through secretKeyRef", () => {
        const byName = Object.fromEntries(server.env.map((e: Obj) => [e.name, e]));
        assert.deepEqual(byName.LOG_FORMAT, { name: "LOG_FORMAT", value: "json" });
        assert.deepEqual(byName.HF_TOKEN, { name: "HF_TOKEN", valueFrom: { secretKeyRef: { name: "hf-token", key: "token" } } });
        for (const name of [...platformServingEnv("custom", "").map((e) => e.name), TRACKING_URI_ENV]) {
            assert.ok(RESERVED_ENV_NAMES.includes(name));
            assert.equal(server.env.filter((e: Obj) => e.name === name).length, 1, `${name} is set once, by the platform`);
        }
    });

    it("mounts /dev/shm bounded and inside the container's memory limit", () => {
        const shm = pod.volumes.find((v: Obj) => v.emptyDir?.medium === "Memory");
        assert.equal(shm.emptyDir.sizeLimit, formatMemory(spec.shmBytes));
        assert.ok(parseMemory(server.resources.limits.memory) > parseMemory(shm.emptyDir.sizeLimit));
    });
});

describe("serving runtime config: every bad value exits 2 naming the key", () => {
    const cases: { wrong: string; raw: RawConfig; expect: (string | RegExp)[] }[] = [
        { wrong: "unknown runtime", raw: editLlama((s) => (s.runtime = "triton")), expect: [/serving\[\d\]\.runtime must be one of "custom", "vllm", got "triton"/] },
        { wrong: "vllm without a model", raw: editLlama((s) => delete s.model), expect: [/serving\[\d\]\.model is required for runtime vllm/] },
        { wrong: "vllm args set a derived flag", raw: editLlama((s) => (s.args = ["--enable-prefix-caching", "--max-model-len=4096"])), expect: [/serving\[\d\]\.args\[1\] sets --max-model-len, which the platform derives/] },
        { wrong: "custom without an image", raw: editCustom((s) => delete s.image), expect: ["ml-platform:serving[0].image is required for runtime custom"] },
        { wrong: "env name the platform sets", raw: editCustom((s) => (s.env = [{ name: "HOME", value: "/root" }])), expect: ["ml-platform:serving[0].env[0].name is set by the platform", '"HOME"'] },
        { wrong: "env name not a variable name", raw: editCustom((s) => (s.env = [{ name: "1-X", value: "y" }])), expect: ["ml-platform:serving[0].env[0].name must be an environment variable name"] },
        { wrong: "credential in plain env", raw: editCustom((s) => (s.env = [{ name: "HF_TOKEN", value: "x" }])), expect: ["ml-platform:serving[0].env[0].name is named like a credential", "secretEnv"] },
        { wrong: "credential-shaped env value", raw: editCustom((s) => (s.env = [{ name: "ENDPOINT", value: "https://u:p4ss@db.internal" }])), expect: ["ml-platform:serving[0].env[0].value looks like a URL with a password"] },
        { wrong: "secretEnv with a bad Secret name", raw: editCustom((s) => (s.secretEnv = [{ name: "HF_TOKEN", secretName: "Bad_Name", key: "token" }])), expect: ["ml-platform:serving[0].secretEnv[0].secretName must be a Secret name"] },
        { wrong: "a name in env and secretEnv", raw: editCustom((s) => ((s.env = [{ name: "A", value: "1" }]), (s.secretEnv = [{ name: "A", secretName: "s", key: "k" }]))), expect: ["ml-platform:serving[0].secretEnv[0].name must be unique across env and secretEnv"] },
        { wrong: "sequenceLength beyond the model's context", raw: editLlama((s) => (s.model.sequenceLength = 16384)), expect: [/serving\[\d\]\.model\.sequenceLength must not exceed model\.contextLength \(8192\)/, "16384"] },
        { wrong: "headroom below the range", raw: { ...prod, values: { ...prod.values, placement: JSON.stringify({ gpuMemoryHeadroom: 0.01 }) } }, expect: ["ml-platform:placement.gpuMemoryHeadroom must be a fraction from 0.05 to 0.5, got 0.01"] },
        { wrong: "headroom above the range", raw: { ...prod, values: { ...prod.values, placement: JSON.stringify({ gpuMemoryHeadroom: 0.9 }) } }, expect: ["ml-platform:placement.gpuMemoryHeadroom must be a fraction from 0.05 to 0.5, got 0.9"] },
        { wrong: "unknown placement key", raw: { ...prod, values: { ...prod.values, placement: JSON.stringify({ headroom: 0.2 }) } }, expect: ["ml-platform:placement", 'unknown key(s) "headroom"'] },
    ];
    for (const c of cases) {
        it(c.wrong, () => {
            const problems = problemsOf(c.raw);
            assert.ok(
                problems.some((p) => c.expect.every((e) => (typeof e === "string" ? p.includes(e) : e.test(p)))),
                `no problem line has ${c.expect.join(" + ")}:\n${problems.join("\n")}`,
            );
        });
    }

    it("never echoes a credential-shaped env value", () => {
        const problems = problemsOf(editCustom((s) => (s.env = [{ name: "ENDPOINT", value: "https://u:p4ss@db.internal" }])));
        assert.ok(!problems.join("\n").includes("p4ss"));
    });

    it("defaults the headroom to 10% and vLLM's image to the pinned one", () => {
        const spec = buildStackSpec(prod);
        assert.equal(spec.gpuMemoryHeadroom, 0.1);
        assert.equal(spec.serving.find((s) => s.name === LLAMA)!.image, VERSIONS.vllm);
        assert.match(VERSIONS.vllm, /^vllm\/vllm-openai:v\d+\.\d+\.\d+$/);
    });
});

describe("contract 1.8: serving.models, as the platform deploys them", () => {
    let run: ProgramRun;
    let models: PlatformContractValues["serving"]["models"];
    before(async () => {
        run = await platformRun("prod");
        models = parseContract("acme/ml-platform/prod", Object.fromEntries(Object.entries(run.outputs).map(([k, o]) => [k, o.value]))).serving.models;
    });

    it("lists every served model with its runtime, the Service URL, the served name and the HPA's queue metric", () => {
        assert.deepEqual(Object.keys(models).sort(), run.spec.serving.map((s) => s.name).sort());
        for (const s of run.spec.serving) {
            const m = models[s.name];
            assert.equal(m.runtime, s.runtime);
            const svc = run.resources.find((x) => x.type === "kubernetes:core/v1:Service" && (x.inputs as Obj).metadata.name === s.name)!.inputs as Obj;
            const http = svc.spec.ports.find((p: Obj) => p.name === "http");
            assert.equal(m.endpoint, `http://${svc.metadata.name}.${svc.metadata.namespace}.svc.cluster.local:${http.port}`);
            const hpa = run.resources.find((x) => x.type.endsWith(":HorizontalPodAutoscaler") && (x.inputs as Obj).metadata.name === s.name)!.inputs as Obj;
            assert.ok(hpa.spec.metrics.some((x: Obj) => x.external.metric.name === m.queueDepthMetric));
            if (s.runtime === "vllm") {
                const d = run.resources.find((x) => x.type === "kubernetes:apps/v1:Deployment" && (x.inputs as Obj).metadata.name === s.name)!.inputs as Obj;
                const args = d.spec.template.spec.containers[0].args as string[];
                assert.equal(args[args.indexOf("--served-model-name") + 1], m.servedModelName);
            }
        }
        // 1.8 added serving.models; later minors keep it.
        assert.equal(CONTRACT_VERSION.split(".")[0], "1");
        assert.ok(Number(CONTRACT_VERSION.split(".")[1]) >= 8, CONTRACT_VERSION);
    });
});
