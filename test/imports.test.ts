/**
 * Imports go one way: facts/ and capacity/ at the bottom, stacks/ and policy/ on them, components/ and
 * index.ts on top. Nothing below components/ may import it, so the policy pack and the planner's pure
 * core never pull Pulumi resources in through a constant.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";

const ROOT = path.resolve(__dirname, "..");

interface ImportEdge {
    file: string;
    specifier: string;
    /** The repo-relative path the specifier points at, or the bare package name. */
    target: string;
}

function tsFiles(dir: string): string[] {
    const out: string[] = [];
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        if (entry.name === "node_modules" || entry.name === "bin") continue;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) out.push(...tsFiles(full));
        else if (entry.name.endsWith(".ts")) out.push(full);
    }
    return out;
}

/** Static imports, `export ... from`, `import()` and `require()` with a literal specifier. */
export function importsOf(file: string, source: string = fs.readFileSync(file, "utf8")): ImportEdge[] {
    const info = ts.preProcessFile(source, true, true);
    return info.importedFiles.map(({ fileName: specifier }) => ({
        file: path.relative(ROOT, file),
        specifier,
        target: specifier.startsWith(".") ? path.relative(ROOT, path.resolve(path.dirname(file), specifier)) : specifier,
    }));
}

const under = (target: string, folder: string) => target === folder || target.startsWith(`${folder}/`) || target.startsWith(`${folder}${path.sep}`);

function edgesOf(folder: string): ImportEdge[] {
    return tsFiles(path.join(ROOT, folder)).flatMap((f) => importsOf(f));
}

const describeEdge = (e: ImportEdge) => `${e.file} imports "${e.specifier}"`;

describe("imports one way", () => {
    const BELOW_COMPONENTS = ["facts", "capacity", "stacks", "policy", "plan", "conformance"];

    it("the scanner sees every kind of import (static, re-export, require, dynamic)", () => {
        const file = path.join(ROOT, "policy", "rules", "probe.ts");
        const source = [
            `import { A } from "../../components/a";`,
            `export { B } from "../../components/b";`,
            `import type { C } from "../../components/c";`,
            `const d = require("../../components/d");`,
            `const e = import("../../components/e");`,
        ].join("\n");
        assert.deepEqual(
            importsOf(file, source).map((e) => e.target),
            ["components/a", "components/b", "components/c", "components/d", "components/e"],
        );
        // And it reads real files: policy's rules do import the shared modules.
        assert.ok(edgesOf("policy").some((e) => under(e.target, "facts")), "policy/ has no import of facts/: the scan is vacuous");
        assert.ok(edgesOf("policy").some((e) => under(e.target, "capacity")), "policy/ has no import of capacity/: the scan is vacuous");
    });

    for (const folder of BELOW_COMPONENTS) {
        it(`${folder}/ imports nothing from components/`, () => {
            const bad = edgesOf(folder).filter((e) => under(e.target, "components"));
            assert.deepEqual(bad.map(describeEdge), []);
        });
    }

    it("capacity/ imports neither @pulumi/* nor stacks/ nor policy/", () => {
        const bad = edgesOf("capacity").filter(
            (e) => e.target.startsWith("@pulumi/") || under(e.target, "stacks") || under(e.target, "policy") || under(e.target, "components"),
        );
        assert.deepEqual(bad.map(describeEdge), []);
    });

    it("facts/ is pure constants: it imports nothing outside facts/", () => {
        const bad = edgesOf("facts").filter((e) => !under(e.target, "facts"));
        assert.deepEqual(bad.map(describeEdge), []);
    });

    it("index.ts takes the contract's constants from facts/, not from component files", () => {
        const fromComponents = importsOf(path.join(ROOT, "index.ts")).filter((e) => under(e.target, "components"));
        assert.deepEqual(fromComponents.map((e) => e.target), ["components/platform"]);
    });
});
