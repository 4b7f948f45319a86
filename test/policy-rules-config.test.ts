import { strict as assert } from "node:assert";
import type { PolicyConfigSchema } from "@pulumi/policy";
import { configOf, deepFreeze, defaultsOf } from "../policy/rules/config";
import { describePool, instanceGpu, isGpuInstanceType, isGpuNodePool, NodePoolView } from "../policy/rules/nodepools";

describe("policy rules (direct): config and node pools", () => {
    it("deepFreeze freezes every level and returns its argument; primitives pass through", () => {
        const v = { a: { b: [1, { c: 2 }] } };
        assert.equal(deepFreeze(v), v);
        assert.ok(Object.isFrozen(v) && Object.isFrozen(v.a) && Object.isFrozen(v.a.b) && Object.isFrozen(v.a.b[1]));
        assert.equal(deepFreeze(3), 3);
        assert.equal(deepFreeze(null), null);
        assert.equal(deepFreeze("s"), "s");
    });

    it("defaultsOf: only properties with a default, copied, frozen, computed once per schema", () => {
        const list = ["x"];
        const schema: PolicyConfigSchema = { properties: { a: { type: "array", default: list }, b: { type: "string" }, c: { type: "integer", default: 0 } } };
        const d = defaultsOf(schema);
        assert.deepStrictEqual(d, { a: ["x"], c: 0 });
        assert.ok(!("b" in d));
        assert.notEqual(d.a, list);
        assert.ok(Object.isFrozen(d) && Object.isFrozen(d.a));
        assert.equal(Object.isFrozen(list), false);
        assert.equal(defaultsOf(schema), d);
        assert.notEqual(defaultsOf({ properties: { a: { type: "array", default: list } } }), d);
    });

    it("configOf: configured values over the defaults", () => {
        const schema: PolicyConfigSchema = { properties: { a: { type: "integer", default: 1 }, b: { type: "integer", default: 2 } } };
        assert.deepStrictEqual(configOf({ getConfig: <T extends object>() => ({ b: 5 }) as T }, schema), { a: 1, b: 5 });
        assert.deepStrictEqual(configOf({ getConfig: <T extends object>() => ({}) as T }, schema), { a: 1, b: 2 });
    });

    it("GPU instance types: the catalog first, the family pattern only for types it does not know", () => {
        assert.equal(instanceGpu("g5.12xlarge")?.count, 4);
        assert.equal(instanceGpu("m6i.2xlarge"), undefined);
        assert.equal(instanceGpu("zz.unknown"), undefined);
        assert.equal(isGpuInstanceType("g5.12xlarge"), true);
        assert.equal(isGpuInstanceType("m6i.2xlarge"), false);
        assert.equal(isGpuInstanceType("g7e.2xlarge"), true);
        assert.equal(isGpuInstanceType("p6-b200.48xlarge"), true);
        assert.equal(isGpuInstanceType("m9.large"), false);
    });

    it("GPU pools: any GPU type makes one; describePool names it", () => {
        const pool = (instanceTypes: string[]): NodePoolView => ({ type: "eks:index:ManagedNodeGroup", resourceName: "gpu-ng", instanceTypes, pool: "gpu", amiType: undefined, labels: {}, taints: [], minSize: 0, maxSize: 1 });
        assert.equal(isGpuNodePool(pool(["m6i.2xlarge", "g5.12xlarge"])), true);
        assert.equal(isGpuNodePool(pool(["m6i.2xlarge"])), false);
        assert.equal(describePool(pool(["g5.12xlarge", "g5.24xlarge"])), 'node group "gpu-ng" (pool gpu, g5.12xlarge/g5.24xlarge)');
        assert.equal(describePool(pool([])), 'node group "gpu-ng" (pool gpu, no instance type)');
    });
});
