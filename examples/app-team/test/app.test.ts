/**
 * The app team's program under Pulumi's mocks, its StackReference answered with the contract the
 * platform's offline plan actually produced: the platform program runs in-process first (test/fixtures.ts
 * platformRun, once per mocha run), and its recorded outputs become the mocked reference's outputs. In
 * an app team's own repository the outputs would come from a committed resources.json of the platform
 * plan instead.
 */
import { strict as assert } from "node:assert";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { GPU_RESOURCE } from "../../../capacity/pools";
import { runPolicyGate } from "../../../plan/policy";
import { RecordedResource } from "../../../plan/recorder";
import { ProjectRun, runProject, StackOutput } from "../../../plan/run";
import { platformRun } from "../../../test/fixtures";
import { readStackConfigFile } from "../../../plan/stackConfig";
import { CONTRACT_VERSION, parseContract, PlatformContractValues } from "../../../stacks/contract";

/** The contract minor this consumer is built against: it refuses stacks below it. */
const MINOR = CONTRACT_VERSION.split(".")[1];

type Obj = Record<string, any>;

const APP = path.resolve(__dirname, "..");
const valuesOf = (outputs: Record<string, StackOutput>) => Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.value]));
const appConfig = (stack: string) => readStackConfigFile(path.join(APP, `Pulumi.${stack}.yaml`)).values;

function one(run: ProjectRun, type: string): RecordedResource {
    const found = run.resources.filter((r) => r.type === type);
    assert.equal(found.length, 1, `one ${type}`);
    return found[0];
}

/** Every string a source file spells out: string literals and the literal parts of template strings. */
function literalsIn(file: string): string[] {
    const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
    const out: string[] = [];
    const visit = (node: ts.Node) => {
        if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node) || ts.isTemplateMiddle(node) || ts.isTemplateTail(node)) {
            out.push(node.text);
        }
        node.forEachChild(visit);
    };
    visit(source);
    return out;
}

/** What the platform decides and an app team must never retype: taints, labels, names, metric names. */
function platformFacts(c: PlatformContractValues): string[] {
    const pools = Object.entries(c.gpuPools);
    return [
        ...pools.map(([name]) => name),
        ...pools.flatMap(([, p]) => [...Object.keys(p.nodeSelector), ...Object.values(p.nodeSelector)]),
        ...pools.flatMap(([, p]) => p.tolerations.flatMap((t) => [t.key, t.value ?? "", t.effect])),
        c.clusterName,
        c.namespaces.serving,
        c.namespaces.training,
        c.storage.storageClass,
        ...Object.values(c.storage.pvcs).flat(),
        ...Object.values(c.metrics.externalMetrics),
        c.metrics.selectorLabel,
        c.metrics.podMetrics.port,
        c.serving.modelLoadAnnotation,
        ...Object.entries(c.serving.clientNamespaceLabels).flat(),
        c.workloadIdentity.serviceAccountAnnotation,
        c.workloadIdentity.audience,
        c.training.apiVersion,
        GPU_RESOURCE,
    ].filter((s) => s !== "");
}

for (const stack of ["dev", "prod"] as const) {
    describe(`app-team example on the ${stack} platform (mocked StackReference)`, () => {
        let contract: PlatformContractValues;
        let platformOutputs: Record<string, StackOutput>;
        let app: ProjectRun;
        let pod: Obj;
        const pool = () => contract.gpuPools[appConfig(stack)["ml-app-team:gpuPool"]];

        before(async () => {
            platformOutputs = (await platformRun(stack)).outputs;
            contract = parseContract(`acme/ml-platform/${stack}`, valuesOf(platformOutputs));
            app = await runProject(APP, stack, path.join(APP, `Pulumi.${stack}.yaml`), { stackReferences: { "*/ml-platform/*": platformOutputs } });
            pod = (one(app, "kubernetes:apps/v1:Deployment").inputs as Obj).spec.template.spec;
        });

        it("reads the platform stack its config names, at this contract version", () => {
            assert.deepEqual(app.referencedStacks, [appConfig(stack)["ml-app-team:platformStack"]]);
            assert.equal(app.outputs.platformContractVersion.value, CONTRACT_VERSION);
        });

        it("places the model server with exactly the contract pool's tolerations and nodeSelector", () => {
            assert.ok(pool(), "the configured pool is in the contract");
            assert.deepEqual(pod.tolerations, pool().tolerations);
            assert.deepEqual(pod.nodeSelector, pool().nodeSelector);
            const gpus = pod.containers[0].resources;
            assert.equal(gpus.requests[GPU_RESOURCE], String(appConfig(stack)["ml-app-team:gpus"]));
            assert.equal(gpus.requests[GPU_RESOURCE], gpus.limits[GPU_RESOURCE]);
        });

        it("deploys into the contract's serving namespace, labelled for its metrics and selected by the Service", () => {
            for (const type of ["kubernetes:apps/v1:Deployment", "kubernetes:core/v1:Service", "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "kubernetes:policy/v1:PodDisruptionBudget", "kubernetes:core/v1:ServiceAccount"]) {
                assert.equal((one(app, type).inputs as Obj).metadata.namespace, contract.namespaces.serving, type);
            }
            const deployment = one(app, "kubernetes:apps/v1:Deployment").inputs as Obj;
            const service = one(app, "kubernetes:core/v1:Service").inputs as Obj;
            assert.ok(contract.metrics.selectorLabel in deployment.spec.template.metadata.labels);
            assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
            assert.equal(service.spec.type, "ClusterIP");
            assert.equal(pod.containers[0].ports[0].name, contract.metrics.podMetrics.port);
        });

        it("listens on the port the serving namespace admits, and declares its load time as the contract says", () => {
            const deployment = one(app, "kubernetes:apps/v1:Deployment").inputs as Obj;
            const container = pod.containers[0];
            assert.equal(container.ports[0].containerPort, contract.serving.ports.http);
            const load = Number(appConfig(stack)["ml-app-team:modelLoadSeconds"]);
            assert.equal(deployment.metadata.annotations[contract.serving.modelLoadAnnotation], String(load));
            const startup = container.startupProbe;
            assert.ok(startup.failureThreshold * startup.periodSeconds >= contract.serving.startupHeadroom * load, JSON.stringify(startup));
        });

        it("stops before creating anything when the platform predates the contract minor it reads", async () => {
            const old = { ...platformOutputs, contractVersion: { value: "1.1.0", secret: false } };
            await assert.rejects(runProject(APP, stack, path.join(APP, `Pulumi.${stack}.yaml`), { stackReferences: { "*/ml-platform/*": old } }), {
                name: "ContractError",
                message: new RegExp(`exports contract 1\\.1\\.0; this consumer was built against 1\\.x \\(>= 1\\.${MINOR}\\) and reads fields added in 1\\.${MINOR}`),
            });
        });

        it("scales on the contract's external metrics, selected by the contract's label", () => {
            const hpa = one(app, "kubernetes:autoscaling/v2:HorizontalPodAutoscaler").inputs as Obj;
            const metrics = (hpa.spec.metrics as Obj[]).map((m) => m.external.metric);
            assert.deepEqual(metrics.map((m) => m.name).sort(), Object.values(contract.metrics.externalMetrics).sort());
            for (const m of metrics) {
                assert.deepEqual(Object.keys(m.selector.matchLabels), [contract.metrics.selectorLabel]);
            }
        });

        it("gets AWS access through the contract's workload identity, and keeps the kubeconfig secret", () => {
            const role = one(app, "aws:iam/role:Role").inputs as Obj;
            const statement = JSON.parse(role.assumeRolePolicy).Statement[0];
            assert.equal(statement.Principal.Federated, contract.oidcProviderArn);
            const sa = (one(app, "kubernetes:core/v1:ServiceAccount").inputs as Obj).metadata;
            const subject = contract.workloadIdentity.subjectPattern.replace("<namespace>", sa.namespace).replace("<serviceAccount>", sa.name);
            assert.deepEqual(statement.Condition.StringLike, { [`${contract.workloadIdentity.issuer}:sub`]: subject });
            assert.ok(contract.workloadIdentity.serviceAccountAnnotation in sa.annotations);
            const provider = one(app, "pulumi:providers:kubernetes");
            assert.ok(provider.hasSecretInputs, "the provider's kubeconfig is a secret");
            assert.ok(!JSON.stringify(app.resources).includes("not available to the offline plan"), "no kubeconfig value is recorded");
        });

        it("passes the platform's policy pack for its environment: no mandatory violation", async () => {
            const gate = await runPolicyGate(app.resources, { stack, tier: contract.environment });
            const mandatory = gate.violations.filter((v) => v.enforcementLevel === "mandatory");
            assert.deepEqual(mandatory.map((v) => `${v.policy}: ${v.message}`), []);
        });

        it("stops before creating anything when the platform exports another major", async () => {
            const v2 = { ...platformOutputs, contractVersion: { value: "2.0.0", secret: false } };
            await assert.rejects(runProject(APP, stack, path.join(APP, `Pulumi.${stack}.yaml`), { stackReferences: { "*/ml-platform/*": v2 } }), {
                name: "ContractError",
                message: `platform stack acme/ml-platform/${stack} exports contract 2.0.0; this consumer was built against 1.x (>= 1.${MINOR}). Upgrade the consumer to a 2.x contract reader.`,
            });
        });

        if (stack === "dev") {
            it("spells out none of the platform's taints, labels or names in its source", () => {
                const facts = platformFacts(contract);
                const files = readdirSync(APP).filter((f) => f.endsWith(".ts"));
                assert.ok(files.includes("index.ts"));
                for (const file of files) {
                    for (const literal of literalsIn(path.join(APP, file))) {
                        // Whole literals for short words ("app", "http"); inside any literal for the rest.
                        const found = facts.find((f) => literal === f || (f.length >= 6 && literal.includes(f)));
                        assert.equal(found, undefined, `${file} spells out the platform's "${found}" in "${literal}"`);
                    }
                }
            });
        }
    });
}
