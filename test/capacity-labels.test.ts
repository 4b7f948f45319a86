/** capacity/labels.ts: the API server's qualified-name and label-value rules, with the exact messages users see. */
import assert from "node:assert/strict";
import { DNS_SUBDOMAIN_MAX_LENGTH, LABEL_MAX_LENGTH, labelValueProblem, qualifiedNameProblem } from "../capacity/labels";

const QUALIFIED_NAME_ALLOWED =
    'an optional DNS subdomain prefix (at most 253 characters) and "/", then a name of 1-63 ' +
    "letters, digits, '-', '_' and '.' that starts and ends with a letter or digit (e.g. dedicated, example.com/gpu)";
const LABEL_VALUE_ALLOWED = "empty, or 1-63 letters, digits, '-', '_' and '.' that start and end with a letter or digit";

/** A DNS subdomain of exactly n characters: labels of "a"s joined by dots. */
function subdomain(n: number): string {
    const parts: string[] = [];
    let left = n;
    while (left > 0) {
        const len = Math.min(63, left);
        parts.push("a".repeat(len));
        left -= len + 1;
    }
    const s = parts.join(".");
    assert.equal(s.length, n);
    return s;
}

describe("capacity/labels", () => {
    it("states Kubernetes' limits", () => {
        assert.equal(LABEL_MAX_LENGTH, 63);
        assert.equal(DNS_SUBDOMAIN_MAX_LENGTH, 253);
    });

    describe("qualifiedNameProblem", () => {
        for (const ok of ["dedicated", "a", "A", "9", "node-pool", "gpu_count", "a.b", "a-_.Z9", "example.com/gpu", "nvidia.com/gpu.present", "k8s.amazonaws.com/accelerator", "a/b", "x-1.y-2/Name"]) {
            it(`accepts ${JSON.stringify(ok)}`, () => assert.equal(qualifiedNameProblem(ok), undefined));
        }

        it("rejects more than one slash", () => {
            assert.deepEqual(qualifiedNameProblem("a/b/c"), { wrong: 'must be a qualified name with at most one "/"', allowed: QUALIFIED_NAME_ALLOWED });
            assert.deepEqual(qualifiedNameProblem("//"), { wrong: 'must be a qualified name with at most one "/"', allowed: QUALIFIED_NAME_ALLOWED });
        });

        const badPrefix = { wrong: 'must have a DNS subdomain (at most 253 characters) before "/"', allowed: QUALIFIED_NAME_ALLOWED };
        for (const prefix of ["", "Example.com", "-a.com", "a-.com", "a..b", ".a", "a.", "a_b", "a b"]) {
            it(`rejects the prefix ${JSON.stringify(prefix)}`, () => assert.deepEqual(qualifiedNameProblem(`${prefix}/gpu`), badPrefix));
        }

        it("accepts a 253-character prefix and rejects a 254-character one", () => {
            assert.equal(qualifiedNameProblem(`${subdomain(253)}/gpu`), undefined);
            assert.deepEqual(qualifiedNameProblem(`${subdomain(254)}/gpu`), badPrefix);
        });

        it("accepts a 63-character name and rejects a 64-character one, counting it", () => {
            assert.equal(qualifiedNameProblem("a".repeat(63)), undefined);
            assert.equal(qualifiedNameProblem(`example.com/${"b".repeat(63)}`), undefined);
            assert.deepEqual(qualifiedNameProblem("a".repeat(64)), {
                wrong: "must have a name part of at most 63 characters (it has 64)",
                allowed: QUALIFIED_NAME_ALLOWED,
            });
            assert.deepEqual(qualifiedNameProblem(`example.com/${"b".repeat(70)}`), {
                wrong: "must have a name part of at most 63 characters (it has 70)",
                allowed: QUALIFIED_NAME_ALLOWED,
            });
        });

        const badName = { wrong: "must be a qualified name (label or taint key)", allowed: QUALIFIED_NAME_ALLOWED };
        for (const bad of ["", "-a", "a-", "_a", "a_", ".a", "a.", "a b", "a:b", "gpu!", "example.com/", "example.com/-gpu", "é"]) {
            it(`rejects the name ${JSON.stringify(bad)}`, () => assert.deepEqual(qualifiedNameProblem(bad), badName));
        }

        it("checks the prefix before the name", () => {
            assert.deepEqual(qualifiedNameProblem(`UPPER/${"b".repeat(64)}`), badPrefix);
        });
    });

    describe("labelValueProblem", () => {
        for (const ok of ["", "a", "Z", "0", "ml-workloads", "true", "nvidia-a10g", "a.b_c-d", "a".repeat(63)]) {
            it(`accepts ${JSON.stringify(ok.length > 20 ? `${ok.length} chars` : ok)}`, () => assert.equal(labelValueProblem(ok), undefined));
        }

        it("rejects a 64-character value, counting it", () => {
            assert.deepEqual(labelValueProblem("v".repeat(64)), { wrong: "must be a label value of at most 63 characters (it has 64)", allowed: LABEL_VALUE_ALLOWED });
            assert.deepEqual(labelValueProblem("-".repeat(100)), { wrong: "must be a label value of at most 63 characters (it has 100)", allowed: LABEL_VALUE_ALLOWED });
        });

        const bad = { wrong: "must be a label value", allowed: LABEL_VALUE_ALLOWED };
        for (const value of ["-a", "a-", "_", ".", "a b", "a/b", "a:b", " ", "x\n"]) {
            it(`rejects ${JSON.stringify(value)}`, () => assert.deepEqual(labelValueProblem(value), bad));
        }
    });
});
