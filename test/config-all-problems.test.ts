/**
 * Every problem of a stack file in one run (issue 18): a schema error in one key no longer stops the
 * cross-key checks or drops the other entries of the key, without cascading errors from the broken
 * parts; misspelt keys get a did-you-mean; every line shows the bad value and what is allowed.
 */
import { strict as assert } from "node:assert";
import { didYouMean, editDistance } from "../stacks/didYouMean";
import { knownKeysAt, toFileIndices } from "../stacks/parseConfig";
import { configKeys } from "../stacks/schema";
import { RawConfig } from "../stacks/validate";
import { problemsOf, rawConfigOf, withKey } from "./helpers";


const dev = rawConfigOf("dev");
const prod = rawConfigOf("prod");
const renamed = (o: Record<string, unknown>, from: string, to: string) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k === from ? to : k, v]));
const SERVING_KEYS = knownKeysAt(configKeys.serving, [0]);

describe("every problem of a config file in one run", () => {
    describe("editDistance and didYouMean", () => {
        const distances: [string, string, number][] = [
            ["kitten", "sitting", 3],
            ["replicas", "replcas", 1],
            ["maxSize", "maxSzie", 1], // a swap of neighbours is one edit
            ["", "abc", 3],
            ["same", "same", 0],
        ];
        for (const [a, b, d] of distances) {
            it(`editDistance(${JSON.stringify(a)}, ${JSON.stringify(b)}) = ${d}`, () => {
                assert.equal(editDistance(a, b), d);
                assert.equal(editDistance(b, a), d);
            });
        }
        const guesses: [string, string[], string | undefined][] = [
            ["nodepools", Object.keys(configKeys), "nodePools"],
            ["nodePool", Object.keys(configKeys), "nodePools"],
            ["trainig", Object.keys(configKeys), "training"],
            ["replcas", SERVING_KEYS, "replicas"],
            ["gpuCount", knownKeysAt(configKeys.nodePools, ["a10g"]), undefined],
            ["role", knownKeysAt(configKeys.cluster, ["appTeams", 0]), undefined],
            ["replicas", SERVING_KEYS, undefined], // a known key is not a typo
            ["xy", ["ab", "xz"], "xz"],
        ];
        for (const [word, candidates, want] of guesses) {
            it(`didYouMean(${JSON.stringify(word)}) = ${JSON.stringify(want)}`, () => assert.equal(didYouMean(word, candidates), want));
        }
    });

    it("knownKeysAt reads the schema through defaults, lists and maps", () => {
        assert.ok(SERVING_KEYS.includes("replicas") && SERVING_KEYS.includes("modelUri"));
        assert.deepEqual(knownKeysAt(configKeys.serving, [0, "replicas"]), ["min", "max"]);
        assert.deepEqual(knownKeysAt(configKeys.gpuTaint, []), ["key", "value", "effect"]);
        assert.ok(knownKeysAt(configKeys.nodePools, ["any-pool"]).includes("instanceType"));
        assert.deepEqual(knownKeysAt(configKeys.serving, [0, "name"]), []);
    });

    it("toFileIndices names kept entries by their place in the file", () => {
        assert.deepEqual(toFileIndices(["ml-platform:serving[0].x and ml-platform:serving[1].name (also at ml-platform:training[0].name)"], { serving: [1, 3], training: [2] }), [
            "ml-platform:serving[1].x and ml-platform:serving[3].name (also at ml-platform:training[2].name)",
        ]);
    });

    interface Case {
        name: string;
        raw: RawConfig;
        /** Each must be a substring of one problem, in any order. */
        expect: string[];
        /** No problem may contain any of these (the cascade that must not happen). */
        never?: string[];
        count?: number;
    }
    const cases: Case[] = [
        {
            name: "a misspelt serving key: a did-you-mean with the allowed keys, and no 'replicas is required'",
            raw: withKey(dev, "serving", (l) => ((l[0] = renamed(l[0], "replicas", "replcas")), l)),
            expect: [`ml-platform:serving[0] has unknown key(s) "replcas" (did you mean "replicas"?); allowed: ${SERVING_KEYS.join(", ")}`],
            never: ["replicas is required"],
            count: 1,
        },
        {
            name: "a misspelt pool key (a swap) folds the required error of the key it misspells",
            raw: withKey(dev, "nodePools", (p) => ((p.a10g = renamed(p.a10g, "maxSize", "maxSzie")), p)),
            expect: ['ml-platform:nodePools.a10g has unknown key(s) "maxSzie" (did you mean "maxSize"?); allowed: instanceType, minSize, maxSize'],
            never: ["maxSize is required", "names no node pool", "needs a CPU pool"],
            count: 1,
        },
        {
            name: "a misspelt top-level key that is required: one line that says so",
            raw: (() => {
                const v = { ...dev.values, nodePool: dev.values.nodePools };
                delete (v as Record<string, string>).nodePools;
                return { ...dev, values: v };
            })(),
            expect: ["ml-platform:nodePool is not a known config key (did you mean ml-platform:nodePools? It is required.); known keys: ml-platform:environment"],
            never: ["ml-platform:nodePools is required"],
            count: 1,
        },
        {
            name: "a misspelt top-level key is read as the key it misspells: no 'tier is required' beside it",
            raw: (() => {
                const staging = rawConfigOf("staging");
                const v: Record<string, string> = { ...staging.values, teir: staging.values.tier };
                delete v.tier;
                return { ...staging, values: v };
            })(),
            expect: ["ml-platform:teir is not a known config key (did you mean ml-platform:tier?); known keys:"],
            never: ["tier is required"],
            count: 1,
        },
        {
            name: "a misspelt top-level key's own problems name the key as written",
            raw: (() => {
                const v: Record<string, string> = { ...dev.values, nodepools: dev.values.nodePools.replace('"maxSize":4', '"maxSize":-4') };
                delete v.nodePools;
                return { ...dev, values: v };
            })(),
            expect: ["ml-platform:nodepools is not a known config key (did you mean ml-platform:nodePools? It is required.)", "ml-platform:nodepools.a10g.maxSize must be >= 1, got -4"],
            never: ["ml-platform:nodePools is required", "names no node pool"],
            count: 2,
        },
        {
            name: "misspelt keys in storage, gpuTaint and a training entry, all at once",
            raw: withKey(
                withKey({ ...dev, values: { ...dev.values, gpuTaint: JSON.stringify({ key: "dedicated", value: "ml-workloads", efect: "NoSchedule" }) } }, "storage", (s) => renamed(s, "checkpointsSize", "checkpointSize")),
                "training",
                (l) => ((l[0] = renamed(l[0], "gpusPerPod", "gpusPerpod")), l),
            ),
            expect: [
                'ml-platform:storage has unknown key(s) "checkpointSize" (did you mean "checkpointsSize"?); allowed: trainingDataSize, checkpointsSize',
                'ml-platform:gpuTaint has unknown key(s) "efect" (did you mean "effect"?); allowed: key, value, effect',
                'ml-platform:training[0] has unknown key(s) "gpusPerpod" (did you mean "gpusPerPod"?)',
            ],
            never: ["effect is required", "needs gpusPerPod"],
            count: 3,
        },
        {
            name: "a schema error in one key, a cross-key error in another and a policy-config error in a third",
            raw: withKey(
                withKey(withKey(dev, "serving", (l) => ((l[0].memory = "8GB"), l)), "training", (l) => ((l[0].workers = 2), l)),
                "nodePools",
                (p) => ((p.a10g.instanceType = "g5.12xlarge"), (p.system.desiredSize = 9), p),
            ),
            expect: [
                'ml-platform:serving[0].memory must be a memory quantity such as 512Mi or 16Gi, got "8GB"',
                "ml-platform:training[0].workers is only for kind PyTorchJob; a Job runs one pod (got workers 2)",
                'ml-platform:nodePools.a10g.instanceType is not allowed by policy/config/dev.json (instance-types-allowed), got "g5.12xlarge"',
                "ml-platform:nodePools.system.desiredSize must be between minSize (2) and maxSize (3), got 9",
            ],
            count: 4,
        },
        {
            name: "a broken serving entry: the entry after it is still checked, under its own index",
            raw: withKey(prod, "serving", (l) => ((l[0].image = "registry/server:latest"), (l[1].replicas = { min: 3, max: 2 }), l)),
            expect: ["ml-platform:serving[0].image must not use the mutable tag :latest", "ml-platform:serving[1].replicas.max must be above replicas.min (3)"],
            never: ["ml-platform:serving[0].replicas"],
            count: 2,
        },
        {
            name: "a broken training entry does not shift the next entry's placement errors",
            raw: withKey(prod, "training", (l) => ((l[0].kind = "TFJob"), (l[1].pool = "h100"), l)),
            expect: ['ml-platform:training[0].kind must be one of "Job", "PyTorchJob", got "TFJob"', 'ml-platform:training[1].pool names no node pool: got "h100"'],
            never: ["ml-platform:training[0].pool"],
            count: 2,
        },
        {
            name: "a broken GPU pool: no 'names no node pool' for its workloads, the other pools still checked",
            raw: withKey(dev, "nodePools", (p) => ((p.a10g.instanceType = "g5.xlarg"), (p.a100.maxSize = 0), p)),
            expect: ['ml-platform:nodePools.a10g.instanceType must be a known instance type', '"g5.xlarg"', "ml-platform:nodePools.a100.maxSize must be >= 1, got 0"],
            never: ["names no node pool", "a10g\" is a CPU pool", "needs a CPU pool"],
        },
        {
            name: "a broken system pool: no 'needs a CPU pool' cascade, the other pools still checked",
            raw: withKey(dev, "nodePools", (p) => ((p.system.minSize = "2"), (p.a10g.minSize = 5), p)),
            expect: ['ml-platform:nodePools.system.minSize must be a number, got "2"', "ml-platform:nodePools.a10g.maxSize must be >= minSize (5), got 4"],
            never: ["needs a CPU pool"],
        },
        {
            name: "a misspelt cluster key: the cluster's other rules still run",
            raw: withKey(prod, "cluster", (c) => ((c.natGateway = c.natGateways), delete c.natGateways, (c.endpoint.publicAccessCidrs = []), c)),
            expect: ['ml-platform:cluster has unknown key(s) "natGateway" (did you mean "natGateways"?)', "ml-platform:cluster.endpoint.publicAccessCidrs is empty in tier prod"],
            count: 2,
        },
    ];

    for (const c of cases) {
        it(c.name, () => {
            const problems = problemsOf(c.raw);
            for (const e of c.expect) {
                assert.ok(problems.some((p) => p.includes(e)), `no problem contains ${JSON.stringify(e)}; got:\n  ${problems.join("\n  ")}`);
            }
            for (const n of c.never ?? []) {
                assert.ok(!problems.some((p) => p.includes(n)), `a cascading problem contains ${JSON.stringify(n)}:\n  ${problems.join("\n  ")}`);
            }
            if (c.count !== undefined) {
                assert.equal(problems.length, c.count, problems.join("\n"));
            }
            for (const p of problems) {
                assert.match(p, /got |allowed: |known keys: |is required/, `a problem without the value or what is allowed: ${p}`);
            }
        });
    }
});
