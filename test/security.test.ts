/**
 * Issue 8 end to end: what the program registers for the cluster, nodes, data and workloads (under
 * the plan's mocks, options included), that no secret's value reaches anything the plan writes, and
 * that bad security config stops the CLI before anything is written.
 */
import { strict as assert } from "node:assert";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { appTeamGroup, EKS_EDIT_POLICY, TRAINING_JOB_RULES, trainingJobsRoleName } from "../components/appTeams";
import { CLUSTER_ADMIN_POLICY, CONTROL_PLANE_LOG_TYPES, controlPlaneLogGroupName } from "../components/cluster";
import { DEFAULT_DENY, NON_PUBLIC_CIDRS, publicHttpsExcept } from "../components/networkPolicies";
import { CloudEmulator } from "../plan/emulator";
import { executePlan } from "../plan/plan";
import { writePlan } from "../plan/writer";
import { RecordedResource } from "../plan/recorder";
import { ProgramRun } from "../plan/run";
import * as stackConfig from "../plan/stackConfig";
import { isDefaultDeny } from "../policy/rules/security";
import { allContainers, dependsOnResource } from "./component-mocks";
import { plan, platformRun, tempDir } from "./fixtures";
import { ROOT } from "./helpers";

type Obj = Record<string, any>;

const ofType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);
const k8sOfKind = (run: ProgramRun, kind: string) => run.resources.filter((r) => r.type.startsWith("kubernetes:") && r.type.endsWith(`:${kind}`));

/** Every pod template the platform itself defines, with its workload's name. */
function podSpecs(run: ProgramRun): [string, Obj][] {
    const out: [string, Obj][] = [];
    for (const r of run.resources) {
        const i = r.inputs as Obj;
        if (/:(Deployment|DaemonSet|Job)$/.test(r.type) && r.type.startsWith("kubernetes:") && i.spec?.template) {
            out.push([`${i.kind ?? r.type} ${i.metadata.namespace}/${i.metadata.name}`, i.spec.template.spec]);
        }
        if (r.type.endsWith(":PyTorchJob")) {
            for (const [role, replica] of Object.entries<Obj>(i.spec.pytorchReplicaSpecs)) {
                out.push([`PyTorchJob ${i.metadata.name} ${role}`, replica.template.spec]);
            }
        }
    }
    return out;
}

for (const stack of ["dev", "prod"] as const) {
    describe(`security under mocks: ${stack}`, () => {
        let run: ProgramRun;
        let cluster: Obj;
        const prod = stack === "prod";
        before(async () => {
            run = await platformRun(stack);
            cluster = ofType(run, "eks:index:Cluster")[0].inputs as Obj;
        });

        it("envelope-encrypts Secrets with our own rotating KMS key, protected in prod", () => {
            const key = ofType(run, "aws:kms/key:Key").find((k) => k.name.endsWith("-secrets-key"))!;
            assert.ok(key, "a secrets key");
            assert.equal((key.inputs as Obj).enableKeyRotation, true);
            const arn = new CloudEmulator({ region: run.spec.region, availabilityZones: [] }).newResource({ type: key.type, name: key.name, inputs: key.inputs, custom: true }).state.arn;
            assert.equal(cluster.encryptionConfigKeyArn, arn);
            assert.equal(key.options.protect, prod);
            assert.equal(key.options.retainOnDelete, prod);
        });

        it("sends every control-plane log type to a log group with our retention, created before the cluster", () => {
            assert.deepEqual(cluster.enabledClusterLogTypes, CONTROL_PLANE_LOG_TYPES);
            for (const t of ["api", "audit", "authenticator"]) {
                assert.ok(cluster.enabledClusterLogTypes.includes(t));
            }
            const [group] = ofType(run, "aws:cloudwatch/logGroup:LogGroup");
            assert.equal((group.inputs as Obj).name, controlPlaneLogGroupName(run.spec.cluster.name));
            assert.equal((group.inputs as Obj).retentionInDays, prod ? 365 : 30);
            assert.ok(dependsOnResource(ofType(run, "eks:index:Cluster")[0], group));
        });

        it("keeps the endpoint private, public only to the configured CIDRs, and enforces NetworkPolicies", () => {
            assert.equal(cluster.endpointPrivateAccess, true);
            assert.equal(cluster.endpointPublicAccess, run.spec.cluster.endpoint.publicAccess);
            assert.deepEqual(cluster.publicAccessCidrs, run.spec.cluster.endpoint.publicAccessCidrs);
            assert.ok(!cluster.publicAccessCidrs.includes("0.0.0.0/0"));
            assert.equal(cluster.vpcCniOptions.enableNetworkPolicy, true);
            assert.equal(cluster.nodeAssociatePublicIpAddress, false);
        });

        it("grants admins cluster-admin and each app team edit in its namespaces only, plus PyTorchJob RBAC for its group", () => {
            const entries = cluster.accessEntries as Record<string, Obj>;
            assert.equal(Object.keys(entries).length, run.spec.cluster.admins.length + run.spec.cluster.appTeams.length);
            run.spec.cluster.admins.forEach((arn, i) => {
                assert.deepEqual(entries[`admin-${i}`], { principalArn: arn, accessPolicies: { clusterAdmin: { policyArn: CLUSTER_ADMIN_POLICY, accessScope: { type: "cluster" } } } });
            });
            assert.ok(run.spec.cluster.appTeams.length > 0, `${stack} declares an app team`);
            const roles = k8sOfKind(run, "Role");
            const bindings = k8sOfKind(run, "RoleBinding");
            for (const team of run.spec.cluster.appTeams) {
                assert.deepEqual(entries[`team-${team.name}`], {
                    principalArn: team.principalArn,
                    kubernetesGroups: [appTeamGroup(team.name)],
                    accessPolicies: { edit: { policyArn: EKS_EDIT_POLICY, accessScope: { type: "namespace", namespaces: team.namespaces } } },
                });
                const teamRoles = roles.filter((r) => (r.inputs.metadata as Obj).name === trainingJobsRoleName(team.name));
                assert.deepEqual(teamRoles.map((r) => (r.inputs.metadata as Obj).namespace).sort(), [...team.namespaces].sort());
                for (const role of teamRoles) {
                    assert.deepEqual((role.inputs as Obj).rules, TRAINING_JOB_RULES);
                    assert.ok((role.inputs as Obj).rules.every((rule: Obj) => !rule.verbs.includes("*") && !rule.resources.includes("*") && rule.apiGroups.every((g: string) => g === "kubeflow.org")));
                }
                for (const ns of team.namespaces) {
                    const binding = bindings.find((b) => (b.inputs.metadata as Obj).namespace === ns && (b.inputs.metadata as Obj).name === trainingJobsRoleName(team.name))!;
                    assert.deepEqual((binding.inputs as Obj).subjects, [{ apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: appTeamGroup(team.name) }]);
                    assert.deepEqual((binding.inputs as Obj).roleRef, { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: trainingJobsRoleName(team.name) });
                }
            }
            assert.equal(k8sOfKind(run, "ClusterRoleBinding").length, 0, "the platform binds nothing cluster-wide itself");
        });

        it("launches every managed node group from its hardened launch template, in private subnets, without SSH", () => {
            const groups = ofType(run, "eks:index:ManagedNodeGroup");
            const templates = ofType(run, "aws:ec2/launchTemplate:LaunchTemplate");
            const vpc = ofType(run, "awsx:ec2:Vpc")[0];
            const privateSubnets = new CloudEmulator({ region: run.spec.region, availabilityZones: run.spec.cluster.availabilityZones }).newResource({ type: vpc.type, name: vpc.name, inputs: vpc.inputs, custom: false }).state
                .privateSubnetIds;
            assert.equal(groups.length, run.spec.nodePools.length);
            for (const pool of run.spec.nodePools) {
                const ng = groups.find((g) => g.name.endsWith(`pool-${pool.name}-mng`))!;
                const lt = templates.find((t) => t.name.endsWith(`pool-${pool.name}-lt`))!;
                const i = ng.inputs as Obj;
                assert.ok(i.launchTemplate?.id && i.launchTemplate?.version, `${pool.name}: launchTemplate {id, version}`);
                assert.ok(dependsOnResource(ng, lt), `${pool.name}: the node group uses its own launch template`);
                assert.equal(i.remoteAccess, undefined, "no SSH");
                assert.equal(i.enableIMDSv2, undefined, "enableIMDSv2 would build another template with hop limit 2");
                // Private subnets only: the pool's zones' (an EFA pool has one), else every zone's.
                const zones = pool.availabilityZones ?? run.spec.cluster.availabilityZones;
                assert.deepEqual(i.subnetIds, zones.map((z) => (privateSubnets as string[])[run.spec.cluster.availabilityZones.indexOf(z)]));
                const t = lt.inputs as Obj;
                assert.deepEqual(t.metadataOptions, { httpEndpoint: "enabled", httpTokens: "required", httpPutResponseHopLimit: 1 });
                assert.deepEqual(t.blockDeviceMappings, [{ deviceName: "/dev/xvda", ebs: { volumeSize: pool.diskSizeGiB, volumeType: "gp3", encrypted: "true", deleteOnTermination: "true" } }]);
                assert.equal(t.keyName, undefined);
                // Interfaces only on EFA pools (capacity/efa.ts), and never with a public IP.
                if (pool.efa) {
                    assert.ok((t.networkInterfaces as Obj[]).every((ni) => ni.associatePublicIpAddress === "false"), "no EFA interface asks for a public IP");
                } else {
                    assert.equal(t.networkInterfaces, undefined, "no interface that could ask for a public IP");
                }
                assert.equal(t.imageId, undefined, "amiType still applies");
            }
        });

        it("gives pods AWS access through IRSA only: a role per service account, the OIDC provider on", () => {
            assert.equal(cluster.createOidcProvider, true);
            for (const sa of k8sOfKind(run, "ServiceAccount").filter((s) => (s.inputs.metadata as Obj).namespace === run.spec.namespaces.serving)) {
                assert.ok(Object.keys((sa.inputs.metadata as Obj).annotations ?? {}).includes("eks.amazonaws.com/role-arn"));
            }
        });

        it("encrypts EFS with our rotating key, TLS-only, tiered to IA, backed up in prod", () => {
            const fs = ofType(run, "aws:efs/fileSystem:FileSystem")[0];
            const key = ofType(run, "aws:kms/key:Key").find((k) => k.name.endsWith("-efs-key"))!;
            assert.equal((key.inputs as Obj).enableKeyRotation, true);
            assert.ok((fs.inputs as Obj).kmsKeyId);
            assert.ok(dependsOnResource(fs, key));
            assert.ok((fs.inputs as Obj).lifecyclePolicies.some((p: Obj) => p.transitionToIa === "AFTER_30_DAYS"));
            const policy = JSON.parse((ofType(run, "aws:efs/fileSystemPolicy:FileSystemPolicy")[0].inputs as Obj).policy);
            assert.ok(policy.Statement.some((s: Obj) => s.Effect === "Deny" && s.Action === "*" && s.Condition.Bool["aws:SecureTransport"] === "false"));
            const sc = k8sOfKind(run, "StorageClass")[0].inputs as Obj;
            assert.equal(sc.parameters.encryptInTransit, undefined, "the driver's TLS default stays on");
            assert.equal((ofType(run, "aws:efs/backupPolicy:BackupPolicy")[0].inputs as Obj).backupPolicy.status, prod ? "ENABLED" : "DISABLED");
        });

        it(prod ? "records protect and retainOnDelete on every piece of prod data, and Retain for volumes" : "leaves dev data destroyable", () => {
            const data = run.resources.filter((r) => r.type === "aws:efs/fileSystem:FileSystem" || r.type === "aws:kms/key:Key" || r.type === "kubernetes:core/v1:PersistentVolumeClaim");
            assert.deepEqual(data.map((r) => r.type).sort(), ["aws:efs/fileSystem:FileSystem", "aws:kms/key:Key", "aws:kms/key:Key", ...Array(3).fill("kubernetes:core/v1:PersistentVolumeClaim")].sort());
            for (const r of data) {
                assert.equal(r.options.protect, prod, `${r.name} protect`);
                assert.equal(r.options.retainOnDelete, prod, `${r.name} retainOnDelete`);
            }
            const claims = data.filter((r) => r.type.endsWith("PersistentVolumeClaim")).map((r) => (r.inputs.metadata as Obj).name);
            assert.ok(claims.includes("checkpoints") && claims.includes("training-data"));
            assert.equal((k8sOfKind(run, "StorageClass")[0].inputs as Obj).reclaimPolicy, prod ? "Retain" : "Delete");
        });

        it("runs every platform pod non-root, without escalation or capabilities, under RuntimeDefault seccomp", () => {
            for (const [name, spec] of podSpecs(run)) {
                const nvidia = name.startsWith("DaemonSet kube-system/");
                for (const c of allContainers(spec)) {
                    const sc = c.securityContext ?? {};
                    assert.equal(sc.allowPrivilegeEscalation, false, `${name}/${c.name}`);
                    assert.ok(sc.capabilities?.drop?.includes("ALL"), `${name}/${c.name} drops ALL`);
                    if (!nvidia) {
                        assert.equal(sc.readOnlyRootFilesystem, true, `${name}/${c.name} read-only root`);
                        assert.equal(sc.runAsNonRoot ?? spec.securityContext?.runAsNonRoot, true, `${name}/${c.name} non-root`);
                    }
                }
                if (name !== "DaemonSet kube-system/dcgm-exporter") {
                    assert.equal(spec.securityContext?.seccompProfile?.type, "RuntimeDefault", `${name} seccomp`);
                }
                assert.equal(spec.automountServiceAccountToken, false, `${name} mounts no API token`);
            }
        });

        it("starts both workload namespaces from default deny and allows only DNS, public HTTPS, the scrape, callers and rendezvous", () => {
            const policies = k8sOfKind(run, "NetworkPolicy").map((p) => p.inputs as Obj);
            const inNs = (ns: string) => policies.filter((p) => p.metadata.namespace === ns);
            for (const ns of [run.spec.namespaces.serving, run.spec.namespaces.training]) {
                assert.ok(inNs(ns).some((p) => p.metadata.name === DEFAULT_DENY && isDefaultDeny(p)), `${ns} default deny`);
                const https = inNs(ns).find((p) => p.metadata.name === "allow-public-https-egress")!;
                assert.deepEqual(https.spec.egress, [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: publicHttpsExcept(run.spec.cluster.vpcCidr) } }], ports: [{ protocol: "TCP", port: 443 }] }]);
                for (const p of inNs(ns)) {
                    // Nothing reaches the VPC (EFS mounts, the API's private ENIs) except pods inside the namespace.
                    for (const rule of [...(p.spec.egress ?? []), ...(p.spec.ingress ?? [])]) {
                        for (const peer of [...(rule.to ?? []), ...(rule.from ?? [])]) {
                            assert.ok(!peer.ipBlock || peer.ipBlock.cidr === "0.0.0.0/0", `${ns}/${p.metadata.name}: only the public internet by CIDR`);
                        }
                    }
                }
            }
            assert.deepEqual(
                inNs(run.spec.namespaces.serving).map((p) => p.metadata.name).sort(),
                [DEFAULT_DENY, "allow-dns-egress", "allow-prometheus-scrape", "allow-public-https-egress", "allow-serving-clients"].sort(),
            );
            const jobs = run.spec.training.filter((t) => t.kind === "PyTorchJob").map((t) => `allow-rendezvous-${t.name}`);
            assert.deepEqual(
                inNs(run.spec.namespaces.training).map((p) => p.metadata.name).sort(),
                [DEFAULT_DENY, "allow-dns-egress", "allow-public-https-egress", ...jobs].sort(),
            );
            assert.ok(NON_PUBLIC_CIDRS.some((c) => c === "10.0.0.0/8") && run.spec.cluster.vpcCidr.startsWith("10."));
        });
    });
}

describe("HTTPS egress excludes the VPC even outside the private ranges", () => {
    it("adds a VPC in 100.64.0.0/10 to the exceptions, and not one already inside 10.0.0.0/8", () => {
        assert.deepEqual(publicHttpsExcept("10.30.0.0/16"), NON_PUBLIC_CIDRS);
        assert.deepEqual(publicHttpsExcept("100.64.0.0/16"), [...NON_PUBLIC_CIDRS, "100.64.0.0/16"]);
    });
});

function allFiles(dir: string): string[] {
    return readdirSync(dir).flatMap((f) => {
        const p = path.join(dir, f);
        return statSync(p).isDirectory() ? allFiles(p) : [p];
    });
}

describe("secrets: the plan never writes a secret's value", () => {
    // What `pulumi up` hands the program once the CLI has decrypted a `secure:` value: the plaintext,
    // with the key listed as secret. The offline plan never decrypts, so the test stands in for the CLI.
    const KNOWN = "https://mlflow-svc:Kn0wn-S3cret-7c1f@mlflow.internal.example.com";
    const KEY = "ml-platform:mlflowTrackingUri";
    let out: string;
    let resources: RecordedResource[];
    let outputs: Record<string, { value: unknown; secret: boolean }>;
    let seenByProgram: string | undefined;

    before(async () => {
        const original = stackConfig.readStackConfigFile;
        const decrypting = (file: string) => {
            const cfg = original(file);
            return { ...cfg, values: { ...cfg.values, [KEY]: KNOWN } };
        };
        (stackConfig as { readStackConfigFile: typeof original }).readStackConfigFile = decrypting;
        try {
            const result = await executePlan("prod", path.join(ROOT, "Pulumi.prod.yaml"));
            seenByProgram = new pulumi.Config("ml-platform").get("mlflowTrackingUri");
            out = tempDir("secret");
            await writePlan(result, out);
            resources = result.resources;
            outputs = result.outputs;
        } finally {
            (stackConfig as { readStackConfigFile: typeof original }).readStackConfigFile = original;
        }
    });

    it("the program received the known plaintext, as a secret (the test is not vacuous)", () => {
        assert.equal(seenByProgram, KNOWN);
        const secrets = resources.filter((r) => r.type === "kubernetes:core/v1:Secret");
        assert.equal(secrets.length, 2);
        for (const s of secrets) {
            assert.equal(s.hasSecretInputs, true);
            assert.deepEqual((s.inputs as Obj).stringData, { tracking_uri: "[secret]" });
        }
    });

    it("no file the plan writes holds it or any part of its password", () => {
        const files = allFiles(out);
        assert.ok(files.some((f) => f.endsWith("resources.json")) && files.some((f) => f.endsWith("all.yaml")) && files.some((f) => f.endsWith("report.md")));
        for (const f of files) {
            const text = readFileSync(f, "utf8");
            assert.ok(!text.includes(KNOWN), `${f} holds the secret`);
            assert.ok(!text.includes("Kn0wn-S3cret-7c1f"), `${f} holds the password`);
        }
    });

    it("stack outputs derived from secrets stay secret", () => {
        assert.deepEqual(outputs.kubeconfig, { value: "[secret]", secret: true });
        assert.ok(!JSON.stringify(outputs).includes("Kn0wn-S3cret-7c1f"));
    });
});

describe("bad security config through the CLI", () => {
    it("exits 2 on an app team namespace the platform does not have, names the key, and writes nothing", async () => {
        const dir = tempDir("badsec");
        const cfg = path.join(dir, "Pulumi.bad.yaml");
        const text = readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8").replace("namespaces: [ml-serving, ml-training]", "namespaces: [ml-serving, team-llm]");
        assert.ok(text.includes("team-llm"));
        writeFileSync(cfg, text);
        const outDir = path.join(dir, "out");
        const r = await plan(["--stack", "bad", "--config", cfg, "--out", outDir]);
        assert.equal(r.code, 2, r.stderr + r.stdout);
        assert.match(r.stderr, /ml-platform:cluster\.appTeams\[1\]\.namespaces\[1\] names no workload namespace of the platform: got "team-llm"/);
        assert.ok(!existsSync(outDir), "nothing written");
    });
});
