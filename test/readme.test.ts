import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { allPolicies } from "../policy/rules";
import { clusterSchema, configKeys, nodePoolSchema, servingSchema, storageSchema, trainingSchema } from "../stacks/schema";
import { ROOT } from "./helpers";

const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");

describe("README stays true to the code", () => {
    it("documents every top-level config key", () => {
        for (const key of Object.keys(configKeys)) {
            assert.ok(readme.includes(`ml-platform:${key}`), `README does not mention ml-platform:${key}`);
        }
    });

    it("documents every key of the cluster, node pools, storage and workload entries", () => {
        const shapes = { cluster: clusterSchema, nodePool: nodePoolSchema, storage: storageSchema, serving: servingSchema, training: trainingSchema };
        for (const [where, schema] of Object.entries(shapes)) {
            for (const key of Object.keys(schema.shape)) {
                assert.match(readme, new RegExp("`[^`]*\\b" + key + "\\b[^`]*`"), `README does not document ${where}.${key}`);
            }
        }
    });

    it("lists every policy of the pack", () => {
        for (const p of allPolicies) {
            assert.ok(readme.includes(`\`${p.name}\``), `README does not list policy ${p.name}`);
        }
    });

    it("shows the two set-up commands", () => {
        assert.ok(readme.includes("npm ci && npm run plan -- --stack dev"));
        assert.ok(readme.includes("npm test"));
    });
});
