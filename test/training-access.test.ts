/**
 * Training that can reach its data (issue 16): each training run's own service account and IRSA role
 * (read its data prefix, write its output prefix, nothing else), the data-sync Jobs that copy an S3
 * prefix into the training-data claim, the config rules, the two policy rules, and the planner.
 */
import { strict as assert } from "node:assert";
import { DATA_SYNC_RESOURCES, SAFE_TO_EVICT_ANNOTATION } from "../facts/training";
import { VERSIONS } from "../facts/versions";
import { RecordedResource } from "../plan/recorder";
import { s3GrantsWithinDeclaredPrefixes, trainingOwnServiceAccount } from "../policy/rules/identity";
import { checkTrainingAccess, trainingS3Access } from "../stacks/dataSync";
import { declaredS3Access, grantsBeyondDeclared, s3AccessAnnotations, s3AccessPolicy, S3_READ_ANNOTATION, S3_WRITE_ANNOTATION } from "../stacks/s3Access";
import { claimPathProblem, parseS3Uri } from "../stacks/s3Uri";
import { CLAIMS } from "../stacks/spec";
import { buildStackSpec, RawConfig } from "../stacks/validate";
import { ROLE_ARN_ANNOTATION, serviceAccountSubject } from "../stacks/workloadIdentity";
import { planOf, platformRun } from "./fixtures";
import { problemsOf, rawConfigOf, withKey } from "./helpers";
import { Obj, onStack, urnOf } from "./policy-rules-helpers";


const access = { read: [parseS3Uri("s3://data/corpus/")], write: [parseS3Uri("s3://results/run-a/")] };

describe("stacks/s3Access: the grant and its judgement", () => {
    it("grants GetObject on the data prefix, Put/Abort on the output prefix, ListBucket only under them", () => {
        const doc = s3AccessPolicy(access)!;
        assert.deepEqual(doc.Statement, [
            { Sid: "ReadDeclaredPrefixes", Effect: "Allow", Action: ["s3:GetObject"], Resource: ["arn:aws:s3:::data/corpus/*"] },
            { Sid: "WriteDeclaredPrefixes", Effect: "Allow", Action: ["s3:PutObject", "s3:AbortMultipartUpload"], Resource: ["arn:aws:s3:::results/run-a/*"] },
            { Sid: "ListDeclaredPrefixes2", Effect: "Allow", Action: ["s3:ListBucket"], Resource: ["arn:aws:s3:::data"], Condition: { StringLike: { "s3:prefix": ["corpus/*"] } } },
            { Sid: "ListDeclaredPrefixes3", Effect: "Allow", Action: ["s3:ListBucket"], Resource: ["arn:aws:s3:::results"], Condition: { StringLike: { "s3:prefix": ["run-a/*"] } } },
        ]);
        assert.equal(s3AccessPolicy({ read: [], write: [] }), undefined, "no statements: no policy at all");
    });

    it("the built grant is exactly what its annotations declare", () => {
        const declared = declaredS3Access(s3AccessAnnotations(access));
        assert.deepEqual(declared, access);
        assert.deepEqual(grantsBeyondDeclared(JSON.stringify(s3AccessPolicy(access)), declared), []);
    });

    const widened = (edit: (doc: Obj) => void) => {
        const doc = structuredClone(s3AccessPolicy(access)) as Obj;
        edit(doc);
        return grantsBeyondDeclared(doc, access);
    };
    const cases: [string, (doc: Obj) => void, RegExp][] = [
        ["write on the whole output bucket", (d) => (d.Statement[1].Resource = ["arn:aws:s3:::results/*"]), /PutObject on arn:aws:s3:::results\/\*, outside the declared write prefixes/],
        ["write on the data prefix", (d) => d.Statement[1].Resource.push("arn:aws:s3:::data/corpus/*"), /outside the declared write prefixes/],
        ["read on another prefix", (d) => (d.Statement[0].Resource = ["arn:aws:s3:::data/*"]), /GetObject on arn:aws:s3:::data\/\*, outside the declared read prefixes/],
        ["DeleteObject added", (d) => d.Statement[1].Action.push("s3:DeleteObject"), /allows s3:DeleteObject, which is neither read/],
        ["s3:* action", (d) => (d.Statement[0].Action = ["s3:*"]), /allows s3:\*/],
        ["ListBucket without condition", (d) => delete d.Statement[2].Condition, /no s3:prefix condition: it lists the whole bucket/],
        ["ListBucket on a wider prefix", (d) => (d.Statement[2].Condition.StringLike["s3:prefix"] = ["*"]), /under s3:prefix \* , which is not declared|s3:prefix \*, which is not declared/],
        ["ListBucket on an undeclared bucket", (d) => (d.Statement[2].Resource = ["arn:aws:s3:::other"]), /a bucket with no declared prefix/],
        ["NotAction", (d) => d.Statement.push({ Effect: "Allow", NotAction: ["iam:*"], Resource: "*" }), /NotAction\/NotResource/],
    ];
    for (const [what, edit, expected] of cases) {
        it(`finds a grant beyond the declared prefixes: ${what}`, () => {
            const problems = widened(edit);
            assert.ok(problems.some((p) => expected.test(p)), problems.join("\n"));
        });
    }

    it("a Deny statement grants nothing", () => {
        assert.deepEqual(widened((d) => d.Statement.push({ Effect: "Deny", Action: ["s3:*"], Resource: "*" })), []);
    });
});

describe("config: training[].data / output and ml-platform:dataSync", () => {
    const dev = rawConfigOf("dev");
    const training0 = (edit: (t: Obj) => void) => withKey(dev, "training", (l: Obj[]) => (edit(l[0]), l));

    it("the dev stack resolves normalised URIs and its data-sync entry", () => {
        const spec = buildStackSpec(dev);
        assert.equal(spec.training[0].data, "s3://ml-data-dev/bert/domain-corpus/");
        assert.equal(spec.training[0].output, "s3://ml-results-dev/bert-finetune/");
        assert.deepEqual(spec.dataSync, [{ name: "sync-domain-corpus", namespace: CLAIMS.trainingData.namespace, source: "s3://ml-data-dev/bert/domain-corpus/", path: "bert/domain-corpus", pool: "system" }]);
        const normalised = buildStackSpec(training0((t) => (t.data = "s3://ml-data-dev/corpus")));
        assert.equal(normalised.training[0].data, "s3://ml-data-dev/corpus/", "a trailing / is added: corpus must not also grant corpus2");
    });

    const bad: [string, RawConfig, RegExp][] = [
        ["data not an S3 URI", training0((t) => (t.data = "https://bucket/x")), /^ml-platform:training\[0\]\.data must be an S3 URI .*got "https:\/\/bucket\/x"; allowed: s3:\/\//],
        ["output with a wildcard", training0((t) => (t.output = "s3://ml-results-dev/run-*/")), /^ml-platform:training\[0\]\.output must name one prefix.*got "s3:\/\/ml-results-dev\/run-\*\/"; allowed:/],
        ["output a whole bucket", training0((t) => (t.output = "s3://ml-results-dev")), /^ml-platform:training\[0\]\.output must name a prefix, not a whole bucket.*got "s3:\/\/ml-results-dev"; allowed:/],
        [
            "output inside data",
            training0((t) => (t.output = "s3://ml-data-dev/bert/domain-corpus/out/")),
            /^ml-platform:training\[0\]\.output must not overlap training\[0\]\.data \(s3:\/\/ml-data-dev\/bert\/domain-corpus\/\).*got "s3:\/\/ml-data-dev\/bert\/domain-corpus\/out\/"/,
        ],
        ["dataSync source not S3", withKey(dev, "dataSync", (l: Obj[]) => (l[0].source = "/mnt/data", l)), /^ml-platform:dataSync\[0\]\.source must be an S3 URI.*got "\/mnt\/data"/],
        ["dataSync path escapes the claim", withKey(dev, "dataSync", (l: Obj[]) => (l[0].path = "../etc", l)), /^ml-platform:dataSync\[0\]\.path must be a folder relative to the claim's root, got "\.\.\/etc"; allowed:/],
        ["dataSync path absolute", withKey(dev, "dataSync", (l: Obj[]) => (l[0].path = "/data/x", l)), /^ml-platform:dataSync\[0\]\.path must be a folder relative/],
        ["dataSync unknown key", withKey(dev, "dataSync", (l: Obj[]) => (l[0].delete = true, l)), /^ml-platform:dataSync\[0\] has unknown key\(s\) "delete"/],
        ["dataSync name of a training run", withKey(dev, "dataSync", (l: Obj[]) => (l[0].name = "bert-finetune", l)), /^ml-platform:dataSync\[0\]\.name must be unique across training and dataSync .*"bert-finetune" \(also at ml-platform:training\[0\]\.name\)/],
        [
            "dataSync folders nest",
            withKey(dev, "dataSync", (l: Obj[]) => [...l, { name: "sync-sub", source: "s3://ml-data-dev/x/", path: "bert" }]),
            /^ml-platform:dataSync\[1\]\.path must not nest with dataSync\[0\]\.path \("bert\/domain-corpus"\).*got "bert"/,
        ],
    ];
    for (const [what, raw, expected] of bad) {
        it(`exits 2 naming the key, the value and what is allowed: ${what}`, () => {
            const problems = problemsOf(raw);
            assert.ok(problems.some((p) => expected.test(p)), problems.join("\n"));
        });
    }

    it("claimPathProblem accepts nested relative folders only", () => {
        for (const ok of ["imagenet", "imagenet/2026-01", "a.b_c-d/e/"]) assert.equal(claimPathProblem(ok), undefined, ok);
        for (const no of ["", "/x", "a//b", "a/../b", ".", "a b", "a/*"]) assert.ok(claimPathProblem(no), no);
    });

    it("checkTrainingAccess is quiet for separate prefixes and sibling folders", () => {
        const problems: string[] = [];
        checkTrainingAccess(
            [{ name: "a", data: "s3://d/x/", output: "s3://d/xy/" } as Obj as never],
            [{ name: "s1", source: "s3://d/x/", path: "x" }, { name: "s2", source: "s3://d/y/", path: "xy" }],
            problems,
        );
        assert.deepEqual(problems, []);
    });
});

const SA = "kubernetes:core/v1:ServiceAccount";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const k8sObj = (rs: readonly RecordedResource[], type: string, name: string) => {
    const found = rs.filter((r) => r.type === type && (r.inputs.metadata as Obj | undefined)?.name === name);
    assert.equal(found.length, 1, `${type} ${name}`);
    return found[0];
};
/** Recorded URNs and dependency URNs qualify parent types differently: match on type and name. */
const refersTo = (urns: readonly string[] | undefined, r: RecordedResource) => (urns ?? []).some((u) => u.endsWith(`$${r.type}::${r.name}`) || u.endsWith(`::${r.type}::${r.name}`));
const dependencyOf = (rs: readonly RecordedResource[], r: RecordedResource, type: string) => {
    const deps = rs.filter((x) => x.type === type && refersTo(r.options?.dependsOn, x));
    assert.equal(deps.length, 1, `${r.name} depends on one ${type}`);
    return deps[0];
};

for (const stack of ["dev", "prod"] as const) {
    describe(`the platform program (${stack}): training identities and data sync`, () => {
        it("every training run runs as its own service account whose role reads its data and writes its output, nothing else", async () => {
            const run = await platformRun(stack);
            for (const t of run.spec.training) {
                const sa = k8sObj(run.resources, SA, t.name);
                const meta = sa.inputs.metadata as Obj;
                assert.equal(meta.namespace, t.namespace);
                const role = dependencyOf(run.resources, sa, ROLE);
                assert.ok(String(meta.annotations[ROLE_ARN_ANNOTATION]).includes(role.name), "the annotation names the role's ARN");
                const trust = JSON.parse(String(role.inputs.assumeRolePolicy));
                assert.deepEqual(Object.values(trust.Statement[0].Condition.StringLike), [serviceAccountSubject(t.namespace, t.name)]);
                const policies = run.resources.filter((r) => r.type === ROLE_POLICY && refersTo(r.options?.dependsOn, role));
                assert.equal(policies.length, 1);
                const doc = JSON.parse(String(policies[0].inputs.policy));
                assert.deepEqual(doc, s3AccessPolicy(trainingS3Access(t)));
                assert.deepEqual(meta.annotations[S3_READ_ANNOTATION], t.data);
                assert.deepEqual(meta.annotations[S3_WRITE_ANNOTATION], t.output);

                const kind = t.kind === "Job" ? "kubernetes:batch/v1:Job" : "kubernetes:kubeflow.org/v1:PyTorchJob";
                const job = k8sObj(run.resources, kind, t.name).inputs as Obj;
                const templates = t.kind === "Job" ? [job.spec.template] : Object.values(job.spec.pytorchReplicaSpecs).map((r: any) => r.template);
                for (const tpl of templates) {
                    assert.equal(tpl.spec.serviceAccountName, t.name);
                    const data = tpl.spec.containers[0].volumeMounts.find((m: Obj) => m.name === CLAIMS.trainingData.name);
                    assert.equal(data.readOnly, true, "trainers keep mounting the training data read-only");
                }
            }
        });

        it("each data-sync entry is a Job on the CPU system pool copying its source into the claim, with a read-only role", async () => {
            const run = await platformRun(stack);
            assert.ok(run.spec.dataSync.length > 0, "the stack declares data sync");
            const system = run.spec.nodePools.find((p) => !p.gpu && p.minSize >= 1)!;
            for (const d of run.spec.dataSync) {
                const job = k8sObj(run.resources, "kubernetes:batch/v1:Job", d.name).inputs as Obj;
                const pod = job.spec.template.spec;
                assert.deepEqual(pod.nodeSelector, { "node-pool": system.name });
                assert.deepEqual(pod.tolerations, [], "no GPU toleration: it never lands on a GPU node");
                assert.equal(pod.serviceAccountName, d.name);
                assert.equal(pod.securityContext.runAsNonRoot, true);
                assert.equal(job.spec.template.metadata.annotations[SAFE_TO_EVICT_ANNOTATION], "false");
                const c = pod.containers[0];
                assert.equal(c.image, VERSIONS.awsCli);
                assert.deepEqual(c.command.slice(0, 5), ["aws", "s3", "sync", d.source, `${CLAIMS.trainingData.mountPath}/${d.path}/`]);
                assert.deepEqual(c.resources, { requests: { ...DATA_SYNC_RESOURCES.requests }, limits: { ...DATA_SYNC_RESOURCES.limits } });
                assert.equal(c.securityContext.readOnlyRootFilesystem, true);
                assert.deepEqual(c.volumeMounts.find((m: Obj) => m.name === CLAIMS.trainingData.name), { name: CLAIMS.trainingData.name, mountPath: CLAIMS.trainingData.mountPath, readOnly: false });
                assert.deepEqual(pod.volumes.find((v: Obj) => v.name === CLAIMS.trainingData.name).persistentVolumeClaim, { claimName: CLAIMS.trainingData.name, readOnly: false });

                const sa = k8sObj(run.resources, SA, d.name);
                const role = dependencyOf(run.resources, sa, ROLE);
                const policy = run.resources.find((r) => r.type === ROLE_POLICY && refersTo(r.options?.dependsOn, role))!;
                assert.deepEqual(JSON.parse(String(policy.inputs.policy)).Statement.flatMap((s: Obj) => s.Action).sort(), ["s3:GetObject", "s3:ListBucket"]);
                assert.equal((sa.inputs.metadata as Obj).annotations[S3_WRITE_ANNOTATION], undefined);
            }
        });

        it("the planner counts each data-sync Job on the system pool", async () => {
            const { result, run } = await planOf(stack);
            const system = run.spec.nodePools.find((p) => !p.gpu && p.minSize >= 1)!;
            for (const d of run.spec.dataSync) {
                const w = result.summary.workloads.find((x) => x.name === d.name && x.kind === "Job");
                assert.ok(w, `${d.name} in the plan's workloads`);
                assert.equal(w.pool, system.name);
                assert.equal(w.schedulable, true);
            }
            assert.match(result.report, new RegExp(`\\| ${run.spec.dataSync[0].name} \\| Job \\| ${system.name} \\|`));
        });
    });
}

describe("policy: training-own-service-account", () => {
    const job = (name: string, sa: string | undefined, ns = "ml-training") => ({
        type: "kubernetes:batch/v1:Job",
        name,
        urn: urnOf("kubernetes:batch/v1:Job", name),
        inputs: { metadata: { name, namespace: ns }, spec: { template: { spec: { ...(sa ? { serviceAccountName: sa } : {}), containers: [{ name: "c", image: "x:1" }] } } } },
    });
    const account = (name: string, ns = "ml-training") => ({ type: SA, name: `${name}-sa`, urn: urnOf(SA, `${name}-sa`), inputs: { metadata: { name, namespace: ns } } });

    it("passes runs with their own declared service accounts", () => {
        assert.deepEqual(onStack(trainingOwnServiceAccount, [job("a", "a"), job("b", "b"), account("a"), account("b")]), []);
    });
    it("fails a run on the implicit default account", () => {
        assert.match(onStack(trainingOwnServiceAccount, [job("a", undefined)]).join("\n"), /Job ml-training\/a runs as the namespace's \(implicit\) default service account/);
    });
    it("fails a run naming default, an undeclared account, or sharing one", () => {
        const out = onStack(trainingOwnServiceAccount, [job("a", "default"), job("b", "ghost"), job("c", "shared"), job("d", "shared"), account("shared")]).join("\n");
        assert.match(out, /Job ml-training\/a runs as the namespace's default service account/);
        assert.match(out, /service account "ghost", which the stack does not declare/);
        assert.match(out, /Job ml-training\/d shares service account "shared" with Job ml-training\/c/);
    });
    it("leaves Jobs outside the training namespaces alone", () => {
        assert.deepEqual(onStack(trainingOwnServiceAccount, [job("a", undefined, "other")]), []);
    });
});

describe("policy: s3-grants-within-declared-prefixes", () => {
    const role = { type: ROLE, name: "r", urn: urnOf(ROLE, "r"), inputs: {} };
    const sa = (annotations: Record<string, string>) => ({
        type: SA,
        name: "sa",
        urn: urnOf(SA, "sa"),
        inputs: { metadata: { name: "run", namespace: "ml-training", annotations } },
        options: { dependsOn: [role.urn] },
    });
    const inline = (doc: unknown) => ({ type: ROLE_POLICY, name: "p", urn: urnOf(ROLE_POLICY, "p"), inputs: { policy: JSON.stringify(doc), role: "r" }, options: { dependsOn: [role.urn] } });

    it("passes a role granting exactly the declared prefixes", () => {
        assert.deepEqual(onStack(s3GrantsWithinDeclaredPrefixes, [role, sa(s3AccessAnnotations(access)), inline(s3AccessPolicy(access))]), []);
    });
    it("fails a write grant on the whole bucket", () => {
        const doc = structuredClone(s3AccessPolicy(access)) as Obj;
        doc.Statement[1].Resource = ["arn:aws:s3:::results/*"];
        assert.match(onStack(s3GrantsWithinDeclaredPrefixes, [role, sa(s3AccessAnnotations(access)), inline(doc)]).join("\n"), /ServiceAccount ml-training\/run .*PutObject on arn:aws:s3:::results\/\*, outside the declared write prefixes/);
    });
    it("fails any grant when the account declares nothing, and a managed policy attachment", () => {
        const attach = { type: "aws:iam/rolePolicyAttachment:RolePolicyAttachment", name: "a", urn: urnOf("x", "a"), inputs: { policyArn: "arn:aws:iam::aws:policy/AmazonS3FullAccess" }, options: { dependsOn: [role.urn] } };
        const out = onStack(s3GrantsWithinDeclaredPrefixes, [role, sa({}), inline(s3AccessPolicy(access)), attach]).join("\n");
        assert.match(out, /outside the declared read prefixes/);
        assert.match(out, /attaches arn:aws:iam::aws:policy\/AmazonS3FullAccess/);
    });
});
