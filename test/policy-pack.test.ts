/**
 * The pack as `pulumi preview --policy-pack policy` runs it: Pulumi's own run-policy-pack host (ts-node
 * with type checking) constructs the PolicyPack, and we speak the engine's analyzer gRPC protocol to it
 * on localhost — GetAnalyzerInfo, Configure with policy/config/prod.json, Analyze and AnalyzeStack over
 * the prod plan. What a mock still cannot show: the children of remote components and real unknowns.
 */
import { strict as assert } from "node:assert";
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import * as apb from "@pulumi/pulumi/proto/analyzer_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { POLICY_DIR, policyConfigFile } from "../plan/policy";
import { RecordedResource, UNKNOWN_PLACEHOLDER } from "../plan/recorder";
import { allPolicies } from "../policy/rules";
import { platformRun } from "./fixtures";

type Obj = Record<string, any>;

const LEVELS: Record<string, number> = { advisory: 0, mandatory: 1, disabled: 2, remediate: 3 };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const UNKNOWN_STRING = (require("@pulumi/policy/proxy") as { unknownStringValue: string }).unknownStringValue;

function unary<Req, Res>(fn: (req: Req, cb: (e: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
    return new Promise((resolve, reject) => fn(req, (e, res) => (e ? reject(e) : resolve(res))));
}

/** The engine sends unknowns as its sentinel, never as our placeholder text. */
function toEngine(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(toEngine);
    }
    if (value === UNKNOWN_PLACEHOLDER) {
        return UNKNOWN_STRING;
    }
    if (value && typeof value === "object") {
        return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toEngine(v)]));
    }
    return value;
}

const urnKey = (urn: string) => `${urn.split("::")[2].split("$").pop()}::${urn.split("::").slice(3).join("::")}`;

describe("policy pack under Pulumi's analyzer protocol", () => {
    let child: ChildProcess;
    let client: AnalyzerClient;
    let resources: RecordedResource[];

    before(async () => {
        // package.json's main is the bundle, as the CLI and the published pack load it.
        execFileSync(process.platform === "win32" ? "npm.cmd" : "npm", ["run", "build", "--silent"], { cwd: POLICY_DIR, stdio: "ignore" });
        child = spawn(process.execPath, [require.resolve("@pulumi/pulumi/cmd/run-policy-pack"), "127.0.0.1:1", "."], { cwd: POLICY_DIR });
        let stderr = "";
        child.stderr!.on("data", (d) => (stderr += d));
        const port = await new Promise<string>((resolve, reject) => {
            child.stdout!.once("data", (d) => resolve(String(d).trim()));
            child.once("exit", (code) => reject(new Error(`policy pack exited with ${code}: ${stderr}`)));
        });
        client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

        const configure = new apb.ConfigureAnalyzerRequest();
        const config = JSON.parse(readFileSync(policyConfigFile("prod"), "utf8")) as Record<string, Obj>;
        for (const [name, { enforcementLevel, ...props }] of Object.entries(config)) {
            const pc = new apb.PolicyConfig();
            pc.setEnforcementlevel(LEVELS[enforcementLevel ?? "mandatory"] as apb.EnforcementLevel);
            pc.setProperties(Struct.fromJavaScript(props));
            configure.getPolicyconfigMap().set(name, pc);
        }
        await unary<apb.ConfigureAnalyzerRequest, Empty>(client.configure.bind(client), configure);
        resources = (await platformRun("prod")).resources;
    });

    after(() => {
        client?.close();
        child?.kill();
    });

    /** The options the engine sends; protect is what the data-protected rule reads. */
    const optionsOf = (r: { options?: { protect: boolean } }) => {
        const o = new apb.AnalyzerResourceOptions();
        o.setProtect(r.options?.protect ?? false);
        return o;
    };

    const analyze = async (r: { type: string; name: string; urn: string; inputs: Obj; options?: { protect: boolean } }) => {
        const req = new apb.AnalyzeRequest();
        req.setType(r.type);
        req.setName(r.name);
        req.setUrn(r.urn);
        req.setProperties(Struct.fromJavaScript(toEngine(r.inputs) as Obj));
        req.setOptions(optionsOf(r));
        return (await unary<apb.AnalyzeRequest, apb.AnalyzeResponse>(client.analyze.bind(client), req)).getDiagnosticsList();
    };

    const analyzeStack = async (rs: RecordedResource[]) => {
        const byKey = new Map(rs.map((r) => [urnKey(r.urn), r.urn]));
        const req = new apb.AnalyzeStackRequest();
        req.setResourcesList(
            rs.map((r) => {
                const a = new apb.AnalyzerResource();
                a.setType(r.type);
                a.setName(r.name);
                a.setUrn(r.urn);
                a.setProperties(Struct.fromJavaScript(toEngine(r.inputs) as Obj));
                a.setOptions(optionsOf(r));
                a.setDependenciesList(r.options.dependsOn.map((u) => byKey.get(urnKey(u)) ?? u));
                return a;
            }),
        );
        return (await unary<apb.AnalyzeStackRequest, apb.AnalyzeResponse>(client.analyzeStack.bind(client), req)).getDiagnosticsList();
    };

    it("loads every rule with its level, severity and config schema", async () => {
        const info = await unary<Empty, apb.AnalyzerInfo>(client.getAnalyzerInfo.bind(client), new Empty());
        assert.equal(info.getName(), "ml-platform");
        assert.equal(info.getVersion(), JSON.parse(readFileSync(path.join(POLICY_DIR, "package.json"), "utf8")).version);
        const severities: Record<string, apb.PolicySeverity> = {
            low: apb.PolicySeverity.POLICY_SEVERITY_LOW,
            medium: apb.PolicySeverity.POLICY_SEVERITY_MEDIUM,
            high: apb.PolicySeverity.POLICY_SEVERITY_HIGH,
            critical: apb.PolicySeverity.POLICY_SEVERITY_CRITICAL,
        };
        assert.deepEqual(
            info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel(), p.getSeverity()]),
            allPolicies.map((p) => [p.name, LEVELS[p.enforcementLevel!], severities[p.severity!]]),
        );
        const tainted = info.getPoliciesList().find((p) => p.getName() === "gpu-pool-tainted")!;
        assert.ok(tainted.getConfigschema()?.getProperties()?.toJavaScript().gpuTaint);
    });

    it("finds nothing in the clean prod plan, resource by resource and as a stack", async () => {
        const found: string[] = [];
        for (const r of resources) {
            found.push(...(await analyze(r)).map((d) => `${d.getPolicyname()}: ${d.getMessage()}`));
        }
        found.push(...(await analyzeStack(resources)).map((d) => `${d.getPolicyname()}: ${d.getMessage()}`));
        assert.deepEqual(found, []);
    });

    it("reports a GPU node group without its taint as the real preview shows it (aws:eks/nodeGroup:NodeGroup)", async () => {
        const mng = resources.find((r) => r.type === "eks:index:ManagedNodeGroup" && (r.inputs.labels as Obj)["node-pool"] === "a10g")!;
        const child = { type: "aws:eks/nodeGroup:NodeGroup", name: "a10g", urn: "urn:pulumi:prod::ml-platform::aws:eks/nodeGroup:NodeGroup::a10g", inputs: { ...mng.inputs, taints: [] } };
        const diags = await analyze(child);
        assert.deepEqual(
            diags.map((d) => [d.getPolicyname(), d.getEnforcementlevel()]),
            [["gpu-pool-tainted", apb.EnforcementLevel.MANDATORY]],
        );
        assert.match(diags[0].getMessage(), /node group "a10g" \(pool a10g, g5.12xlarge\) is a GPU pool with taints \[none\]/);
    });

    it("links a stack rule through dependencies (EFS security group opened to 0.0.0.0/0)", async () => {
        const mutated = structuredClone(resources);
        const sg = mutated.find((r) => r.type === "aws:ec2/securityGroup:SecurityGroup" && r.name.endsWith("-efs-sg"))!;
        (sg.inputs.ingress as Obj[])[0].cidrBlocks = ["0.0.0.0/0"];
        const diags = await analyzeStack(mutated);
        assert.deepEqual(
            diags.map((d) => d.getPolicyname()),
            ["efs-sg-nfs-from-cluster-only"],
        );
        assert.equal(diags[0].getUrn(), sg.urn);
    });

    it("sees resource options as the engine sends them: an unprotected prod file system fails data-protected", async () => {
        const fs = resources.find((r) => r.type === "aws:efs/fileSystem:FileSystem")!;
        assert.equal(fs.options.protect, true);
        assert.deepEqual(await analyze(fs), []);
        const diags = await analyze({ ...fs, options: { ...fs.options, protect: false } });
        assert.deepEqual(
            diags.map((d) => [d.getPolicyname(), d.getEnforcementlevel()]),
            [["data-protected", apb.EnforcementLevel.MANDATORY]],
        );
    });

    it("turns a rule that meets an unknown value into an advisory, as the offline runner does", async () => {
        const fs = resources.find((r) => r.type === "aws:efs/fileSystem:FileSystem")!;
        const diags = await analyze({ ...fs, inputs: { ...fs.inputs, encrypted: UNKNOWN_PLACEHOLDER } });
        assert.deepEqual(
            diags.map((d) => [d.getPolicyname(), d.getEnforcementlevel()]),
            [["efs-encrypted", apb.EnforcementLevel.ADVISORY]],
        );
        assert.match(diags[0].getMessage(), /can't be known during preview/);
    });
});
