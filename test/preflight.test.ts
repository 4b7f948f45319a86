import { strict as assert } from "node:assert";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { findPlaceholders, isPlaceholderSecret } from "../stacks/placeholders";
import { firstDeploySection } from "../plan/preflight";
import { planOf, preflight, stackFile, tempDir } from "./fixtures";

describe("placeholders (stacks/placeholders.ts)", () => {
    it("finds documentation CIDRs, the example account, example hosts and stand-in secrets, by key path", () => {
        const found = findPlaceholders({
            "ml-platform:cluster": {
                endpoint: { publicAccessCidrs: ["10.0.0.0/8", "192.0.2.0/24", "198.51.100.7/32", "203.0.113.0/24"] },
                admins: ["arn:aws:iam::123456789012:role/x"],
            },
            "ml-platform:serving": [{ image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/a:v1", modelUri: "s3://bucket-123456789012/m/" }],
            "ml-platform:hook": "https://hooks.example.com/x",
            "ml-platform:mlflowTrackingUri": { secure: "v1:dev0000000000000000:ZGV2LXRyYWNraW5nLXVyaS1wbGFjZWhvbGRlcg==" },
        });
        assert.deepEqual(
            found.map((p) => [p.key, p.kind]),
            [
                ["ml-platform:cluster.endpoint.publicAccessCidrs[1]", "documentation CIDR"],
                ["ml-platform:cluster.endpoint.publicAccessCidrs[2]", "documentation CIDR"],
                ["ml-platform:cluster.endpoint.publicAccessCidrs[3]", "documentation CIDR"],
                ["ml-platform:cluster.admins[0]", "example AWS account"],
                ["ml-platform:serving[0].image", "example AWS account"],
                ["ml-platform:serving[0].modelUri", "example AWS account"],
                ["ml-platform:hook", "example host"],
                ["ml-platform:mlflowTrackingUri", "placeholder secret"],
            ],
        );
        assert.ok(!found.some((p) => p.value.includes("ZGV2")), "a secret's ciphertext is never shown");
    });

    it("leaves real-looking values alone", () => {
        assert.deepEqual(
            findPlaceholders({
                "ml-platform:cluster": { endpoint: { publicAccessCidrs: ["198.51.10.0/24", "2.0.3.0/24", "10.203.0.113/32"] }, admins: ["arn:aws:iam::210987654321:role/x"] },
                "ml-platform:host": "mlflow.notexample.com",
                "ml-platform:mlflowTrackingUri": { secure: "v1:q2Xh9V1pK3s6bYw0:Zk9vBq1f3mJ8e2Lr7cT0aWd5Hn4=" },
            }),
            [],
        );
        assert.equal(isPlaceholderSecret("not-a-ciphertext"), true);
    });

    it("the report section says none, or lists each", () => {
        assert.match(firstDeploySection([]).body, /no placeholders/);
        assert.match(firstDeploySection(findPlaceholders({ "ml-platform:x": "192.0.2.1" })).body, /`ml-platform:x` \| `192.0.2.1` \| documentation CIDR/);
    });
});

describe("npm run preflight", () => {
    for (const stack of ["dev", "prod"] as const) {
        it(`${stack}: exits 1 naming every placeholder today's file holds`, async () => {
            const r = await preflight(["--stack", stack]);
            assert.equal(r.code, 1);
            for (const want of ["publicAccessCidrs[0]", "principalArn = arn:aws:iam::123456789012", "ml-platform:mlflowTrackingUri = secure: (placeholder)", "ml-platform:serving[0].image", "ml-platform:training[0].image"]) {
                assert.ok(r.stderr.includes(want), `${want} in:\n${r.stderr}`);
            }
        });

        it(`${stack}: the plan's report lists them under "Before the first deploy"`, async () => {
            const { result } = await planOf(stack);
            const section = result.report.split("## Before the first deploy")[1];
            assert.ok(section, "section present");
            assert.match(section, /123456789012/);
            assert.equal(result.exitCode, 0, "placeholders do not change the plan's verdict");
        });
    }

    it("exits 0 on a file with none, 2 on usage", async () => {
        const file = path.join(tempDir("preflight"), "Pulumi.clean.yaml");
        writeFileSync(file, "config:\n  aws:region: us-east-1\n  ml-platform:cluster:\n    endpoint:\n      publicAccessCidrs: [10.1.0.0/16]\n");
        assert.equal((await preflight(["--stack", "clean", "--config", file])).code, 0);
        assert.equal((await preflight([])).code, 2);
        assert.equal((await preflight(["--stack", "nope"])).code, 2);
        assert.equal((await preflight(["--stack", "dev", "--bogus"])).code, 2);
        assert.ok(stackFile("dev"));
    });
});
