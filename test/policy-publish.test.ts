/**
 * The pack as `pulumi policy publish` ships it: `npm pack` of policy/ (its prepack bundles the rules and
 * the shared facts/, capacity/ and stacks/ modules into bin/index.js), extracted into a temp dir outside
 * the repo where only @pulumi/* resolves (symlinked: no installs offline). The entry is required there and
 * two of its rules run on a failing and a passing resource. What this cannot show: the service's own
 * `npm install` of the pack's dependencies.
 */
import { strict as assert } from "node:assert";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { builtinModules } from "node:module";
import * as os from "node:os";
import * as path from "node:path";
import { POLICY_DIR } from "../plan/policy";
import { ROOT } from "./helpers";

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";

/** Runs in the extracted pack: loads its entry with PolicyPack captured (constructing one serves gRPC). */
const RUNNER = `
const Module = require("node:module");
const path = require("node:path");
const pack = path.join(__dirname, "package");
const main = path.join(pack, require(path.join(pack, "package.json")).main);
let captured;
const load = Module._load;
Module._load = function (request, ...rest) {
    const m = load.call(this, request, ...rest);
    if (request !== "@pulumi/policy") return m;
    return { ...m, PolicyPack: class { constructor(name, args) { captured = { name, ...args }; } } };
};
require(main);
const byName = Object.fromEntries(captured.policies.map((p) => [p.name, p]));
function run(name, type, props) {
    const found = [];
    const args = { type, name: "r", urn: "urn:pulumi:test::p::" + type + "::r", props, opts: {}, getConfig: () => ({}) };
    const validate = [].concat(byName[name].validateResource);
    for (const v of validate) v(args, (message) => found.push(message));
    return found;
}
const gpu = (request, limit) => ({
    metadata: { name: "model", namespace: "ml-serving" },
    spec: { template: { spec: { containers: [{ name: "server", image: "x:1", resources: { requests: { "nvidia.com/gpu": request }, limits: { "nvidia.com/gpu": limit } } }] } } },
});
const efs = { encrypted: true, kmsKeyId: "arn:aws:kms:us-east-1:123456789012:key/k" };
process.stdout.write(JSON.stringify({
    name: captured.name,
    policies: captured.policies.length,
    efsFail: run("efs-encrypted", "aws:efs/fileSystem:FileSystem", { encrypted: false }),
    efsPass: run("efs-encrypted", "aws:efs/fileSystem:FileSystem", efs),
    gpuFail: run("gpu-request-equals-limit", "kubernetes:apps/v1:Deployment", gpu("1", "2")),
    gpuPass: run("gpu-request-equals-limit", "kubernetes:apps/v1:Deployment", gpu("1", "1")),
    loaded: Object.keys(require.cache),
}));
`;

describe("policy pack as published", function () {
    this.timeout(120_000);
    let tmp: string;
    let pack: string;
    let result: { name: string; policies: number; efsFail: string[]; efsPass: string[]; gpuFail: string[]; gpuPass: string[]; loaded: string[] };

    before(() => {
        tmp = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "ml-platform-policy-publish-")));
        assert.ok(!tmp.startsWith(ROOT + path.sep), `temp dir ${tmp} is inside the repo`);
        const packed = JSON.parse(execFileSync(NPM, ["pack", "--json", "--pack-destination", tmp], { cwd: POLICY_DIR, encoding: "utf8" })) as { filename: string; files: { path: string }[] }[];
        assert.equal(packed.length, 1);
        execFileSync("tar", ["-xzf", path.join(tmp, packed[0].filename), "-C", tmp]);
        pack = path.join(tmp, "package");
        fs.mkdirSync(path.join(pack, "node_modules"));
        fs.symlinkSync(path.join(ROOT, "node_modules", "@pulumi"), path.join(pack, "node_modules", "@pulumi"), "dir");
        fs.writeFileSync(path.join(tmp, "runner.js"), RUNNER);
        result = JSON.parse(execFileSync(process.execPath, [path.join(tmp, "runner.js")], { cwd: tmp, encoding: "utf8" }));
    });

    after(() => {
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it("ships the built entry and the CLI's manifest, no TypeScript", () => {
        const files = fs.readdirSync(pack, { recursive: true, encoding: "utf8" }).filter((f) => !f.startsWith("node_modules")).sort();
        assert.deepEqual(files, ["PulumiPolicy.yaml", "bin", path.join("bin", "index.js"), "package.json"]);
        const manifest = JSON.parse(fs.readFileSync(path.join(pack, "package.json"), "utf8"));
        assert.equal(manifest.main, "bin/index.js");
        assert.match(fs.readFileSync(path.join(pack, "PulumiPolicy.yaml"), "utf8"), /^runtime: nodejs$/m);
    });

    it("requires only its declared dependencies and Node's built-ins, never a path outside itself", () => {
        const manifest = JSON.parse(fs.readFileSync(path.join(pack, "package.json"), "utf8"));
        const entry = fs.readFileSync(path.join(pack, manifest.main), "utf8");
        const required = [...new Set([...entry.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]))];
        const allowed = new Set(Object.keys(manifest.dependencies));
        const stray = required.filter((r) => !allowed.has(r) && !r.startsWith("node:") && !builtinModules.includes(r));
        assert.deepEqual(stray, []);
    });

    it("loads in a temp dir: every file it loads is its own or a symlinked @pulumi dependency", () => {
        const repoSource = result.loaded.filter((f) => f.startsWith(ROOT + path.sep) && !f.startsWith(path.join(ROOT, "node_modules") + path.sep));
        assert.deepEqual(repoSource, []);
        assert.ok(result.loaded.includes(path.join(pack, "bin", "index.js")));
        assert.equal(result.name, "ml-platform");
        assert.ok(result.policies > 10, `only ${result.policies} policies in the pack`);
    });

    it("efs-encrypted fails an unencrypted file system and passes one with our key", () => {
        assert.equal(result.efsFail.length, 1);
        assert.match(result.efsFail[0], /encrypted false.*Fix: /);
        assert.deepEqual(result.efsPass, []);
    });

    it("gpu-request-equals-limit fails a limit above the request and passes equal ones", () => {
        assert.equal(result.gpuFail.length, 1);
        assert.match(result.gpuFail[0], /requests nvidia.com\/gpu=1 but limits nvidia.com\/gpu=2/);
        assert.deepEqual(result.gpuPass, []);
    });
});
