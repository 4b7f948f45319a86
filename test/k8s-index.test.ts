import { strict as assert } from "node:assert";
import { hpasByTarget, scaleTargetKey, SelectorIndex, selectorMatches } from "../policy/rules/k8s";

type Selector = Parameters<typeof selectorMatches>[0];

describe("policy/rules/k8s indexes: the same answers as scanning, without the scan", () => {
    it("SelectorIndex returns exactly the selectors that match, in the order they were added", () => {
        const selectors: [string, string, Selector][] = [
            ["a", "ml-serving", { matchLabels: { app: "a" } }],
            ["b", "ml-serving", { matchLabels: { app: "b", tier: "gpu" } }],
            ["c", "ml-serving", { matchLabels: { tier: "gpu" } }],
            ["d", "ml-serving", { matchExpressions: [{ key: "app", operator: "In", values: ["a", "b"] }] }],
            ["e", "ml-serving", {}], // empty: every pod in the namespace
            ["f", "ml-serving", undefined], // none: no pod
            ["g", "ml-training", { matchLabels: { app: "a" } }],
            ["h", "ml-serving", { matchLabels: { app: "a" } }],
            ["i", "ml-serving", { matchLabels: { app: "a", tier: "cpu" } }],
        ];
        const index = new SelectorIndex<string>();
        for (const [name, ns, selector] of selectors) {
            index.add(ns, selector, name);
        }
        const pods: [string, Record<string, string>][] = [
            ["ml-serving", { app: "a" }],
            ["ml-serving", { app: "b", tier: "gpu" }],
            ["ml-serving", { app: "a", tier: "gpu", extra: "x" }],
            ["ml-serving", { other: "z" }],
            ["ml-training", { app: "a" }],
            ["default", { app: "a" }],
        ];
        for (const [ns, labels] of pods) {
            const scanned = selectors.filter(([, n, s]) => n === ns && selectorMatches(s, labels)).map(([name]) => name);
            assert.deepEqual(index.matching(ns, labels), scanned, `${ns} ${JSON.stringify(labels)}`);
        }
        assert.deepEqual(index.matching("ml-serving", { app: "a" }), ["a", "d", "e", "h"]);
    });

    it("hpasByTarget keys HPAs by namespace, kind and name of what they scale; the first one wins; other types are ignored", () => {
        const hpa = (name: string, namespace: string | undefined, target: string, type = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler") => ({
            type,
            name,
            props: { metadata: { name, ...(namespace ? { namespace } : {}) }, spec: { scaleTargetRef: { kind: "Deployment", name: target } } },
        });
        const index = hpasByTarget([
            hpa("first", "ml-serving", "llm"),
            hpa("second", "ml-serving", "llm"),
            hpa("unset-namespace", undefined, "api"),
            hpa("not-an-hpa", "ml-serving", "other", "kubernetes:apps/v1:Deployment"),
        ]);
        assert.equal(index.get(scaleTargetKey("ml-serving", "Deployment", "llm"))?.name, "first");
        assert.equal(index.get(scaleTargetKey("default", "Deployment", "api"))?.name, "unset-namespace");
        assert.equal(index.get(scaleTargetKey("ml-serving", "Deployment", "other")), undefined);
        assert.equal(index.size, 2);
    });
});
