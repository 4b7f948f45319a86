/**
 * ml-platform:nodeProvisioner (issue 19, part C): the same pools under Cluster Autoscaler (managed node
 * groups) and Karpenter (NodePools + EC2NodeClasses). Everything that reads pools — the NVIDIA
 * DaemonSets, the planner, the policies, the contract, the conformance run's kwok nodes — must give the
 * same answer both ways; the Karpenter-only pieces (IAM, interruption queue, access entry, CRs) are checked
 * against the pool definition and Karpenter's documented shapes.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { analyzeCapacity } from "../capacity/analysis";
import { instanceType } from "../capacity/catalog";
import { AL2023_AMI_ALIAS, DO_NOT_DISRUPT_ANNOTATION, KARPENTER_NODEPOOL_TYPE } from "../capacity/karpenter";
import { nodePoolOf } from "../capacity/nodeGroups";
import { poolLabels, poolTaints } from "../capacity/pools";
import { INTERRUPTION_EVENTS, karpenterControllerPolicy } from "../components/karpenter";
import { nodeResources, poolsOf } from "../conformance/nodes";
import { runPolicyGate } from "../plan/policy";
import { ProgramRun, runProgram } from "../plan/run";
import { EC2_NODE_CLASS_TYPE, karpenterNodeClassHardened } from "../policy/rules/karpenter";
import { ConfigError } from "../stacks/errors";
import { buildStackSpec } from "../stacks/validate";
import { stackFile, tempDir } from "./fixtures";
import { rawConfigOf, withKey } from "./helpers";
import { Obj, onResource } from "./policy-rules-helpers";

type Stack = "dev" | "prod";
type Provisioner = "cluster-autoscaler" | "karpenter";

/** The stack's own config without EFA (which Karpenter pools do not derive yet), on the given provisioner. */
function configFor(stack: Stack, provisioner: Provisioner): string {
    let yaml = readFileSync(stackFile(stack), "utf8").replace(/ {6}# Multi-node training:[^\n]*\n {6}efa: true\n {6}availabilityZones: \[us-east-1a\]\n/, "");
    assert.ok(!yaml.includes("efa: true"));
    yaml = yaml.replace(`  ml-platform:environment: ${stack}\n`, `  ml-platform:environment: ${stack}\n  ml-platform:nodeProvisioner: ${provisioner}\n`);
    const file = path.join(tempDir(`provisioner-${stack}-${provisioner}`), `Pulumi.${stack}.yaml`);
    writeFileSync(file, yaml);
    return file;
}

const runs = new Map<string, Promise<ProgramRun>>();
function runOf(stack: Stack, provisioner: Provisioner): Promise<ProgramRun> {
    const key = `${stack}/${provisioner}`;
    if (!runs.has(key)) runs.set(key, runProgram(stack, configFor(stack, provisioner)));
    return runs.get(key)!;
}

const asCapacity = (run: ProgramRun) => run.resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs as Obj }));
const views = (run: ProgramRun) => run.resources.map((r) => nodePoolOf(r.type, r.inputs as Obj, r.name)).filter((v) => v !== undefined);

for (const stack of ["dev", "prod"] as const) {
    for (const provisioner of ["cluster-autoscaler", "karpenter"] as const) {
        describe(`pools under ${provisioner}: ${stack}`, () => {
            let run: ProgramRun;
            before(async () => {
                run = await runOf(stack, provisioner);
                assert.equal(run.spec.nodeProvisioner, provisioner);
            });

            it("every pool is registered once, as a managed node group or (GPU pools under Karpenter) a NodePool, with the labels and taints capacity/pools derives", () => {
                const byPool = new Map(views(run).map((v) => [v.pool, v]));
                assert.equal(views(run).length, run.spec.nodePools.length);
                for (const pool of run.spec.nodePools) {
                    const v = byPool.get(pool.name)!;
                    assert.ok(v, pool.name);
                    assert.equal(v.type === KARPENTER_NODEPOOL_TYPE, provisioner === "karpenter" && pool.gpu !== undefined, `${pool.name}: ${v.type}`);
                    assert.deepEqual(v.labels, poolLabels(pool));
                    assert.deepEqual(v.taints, poolTaints(pool, run.spec.gpuTaint));
                    assert.deepEqual(v.instanceTypes, [pool.instanceType]);
                    assert.equal(v.maxSize, pool.maxSize, `${pool.name}: maxSize (a NodePool's from its limits)`);
                }
            });

            it("the policy pack finds no mandatory violation (device plugin and DCGM reach every GPU pool, hardening holds)", async () => {
                const gate = await runPolicyGate(run.resources, { stack, tier: run.spec.tier });
                assert.deepEqual(gate.violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => `${v.policy}: ${v.message}`), []);
            });

            it("the planner schedules every workload, and the kwok nodes of the conformance run get the planner's figures", () => {
                const a = analyzeCapacity(asCapacity(run));
                assert.deepEqual(a.workloads.filter((w) => !w.schedulable).map((w) => `${w.name}: ${w.reason}`), []);
                for (const p of poolsOf(run.resources)) {
                    const pool = run.spec.nodePools.find((x) => x.name === p.name)!;
                    assert.equal(p.maxSize, pool.maxSize, p.name);
                    assert.deepEqual(p.labels, poolLabels(pool));
                    assert.deepEqual(nodeResources(p.instance, p.labels), nodeResources(instanceType(pool.instanceType), poolLabels(pool)));
                }
            });

            it("training pods carry both the Cluster Autoscaler and the Karpenter do-not-evict annotations", () => {
                for (const r of run.resources.filter((x) => x.type === "kubernetes:batch/v1:Job" || x.type.endsWith(":PyTorchJob"))) {
                    const templates = r.type.endsWith(":PyTorchJob") ? Object.values((r.inputs as Obj).spec.pytorchReplicaSpecs as Obj).map((s: Obj) => s.template) : [(r.inputs as Obj).spec.template];
                    for (const t of templates) {
                        assert.equal(t.metadata.annotations[DO_NOT_DISRUPT_ANNOTATION], "true");
                        assert.equal(t.metadata.annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"], "false");
                    }
                }
            });
        });
    }

    describe(`same answers both ways: ${stack}`, () => {
        it("the contract's GPU pools and the planner's verdicts and node counts do not depend on the provisioner", async () => {
            const [ca, k] = await Promise.all([runOf(stack, "cluster-autoscaler"), runOf(stack, "karpenter")]);
            assert.deepEqual(k.outputs.gpuPools.value, ca.outputs.gpuPools.value);
            const verdicts = (run: ProgramRun) => {
                const a = analyzeCapacity(asCapacity(run));
                return { workloads: a.workloads.map((w) => [w.name, w.pool, w.schedulable, w.scales.max.nodesNeeded]), max: a.nodes.max };
            };
            assert.deepEqual(verdicts(k), verdicts(ca));
        });
    });
}

describe("Karpenter resources (dev, nodeProvisioner karpenter)", () => {
    let run: ProgramRun;
    const ofType = (type: string) => run.resources.filter((r) => r.type === type).map((r) => ({ name: r.name, inputs: r.inputs as Obj }));
    before(async () => {
        run = await runOf("dev", "karpenter");
    });

    it("NodePools: the pool's instance and capacity type, GPU limits = maxSize x GPUs per node, WhenEmpty where training runs", () => {
        for (const np of ofType(KARPENTER_NODEPOOL_TYPE)) {
            const pool = run.spec.nodePools.find((p) => p.name === np.inputs.metadata.name)!;
            const spec = np.inputs.spec;
            assert.equal(spec.limits["nvidia.com/gpu"], String(pool.maxSize * pool.gpu!.count));
            assert.equal(spec.limits.cpu, String(pool.maxSize * instanceType(pool.instanceType).vcpu));
            assert.deepEqual(spec.template.spec.requirements.find((r: Obj) => r.key === "karpenter.sh/capacity-type").values, [pool.capacityType === "SPOT" ? "spot" : "on-demand"]);
            const training = run.spec.training.some((t) => t.pool === pool.name);
            assert.equal(spec.disruption.consolidationPolicy, training ? "WhenEmpty" : "WhenEmptyOrUnderutilized", pool.name);
            assert.equal(spec.template.spec.nodeClassRef.name, pool.name);
        }
        assert.deepEqual(ofType("eks:index:ManagedNodeGroup").map((g) => g.inputs.labels["node-pool"]), ["system"], "only the system pool stays a managed node group");
    });

    it("EC2NodeClasses: pinned AL2023 alias, IMDSv2 hop 1, encrypted gp3 root of the pool's disk size, the Karpenter node role", () => {
        const nodeRole = ofType("aws:iam/role:Role").find((r) => r.name.endsWith("-karpenter-node-role"))!;
        for (const nc of ofType(EC2_NODE_CLASS_TYPE)) {
            const pool = run.spec.nodePools.find((p) => p.name === nc.inputs.metadata.name)!;
            const spec = nc.inputs.spec;
            assert.deepEqual(spec.amiSelectorTerms, [{ alias: AL2023_AMI_ALIAS }]);
            assert.deepEqual(spec.metadataOptions, { httpEndpoint: "enabled", httpProtocolIPv6: "disabled", httpPutResponseHopLimit: 1, httpTokens: "required" });
            assert.deepEqual(spec.blockDeviceMappings[0].ebs, { volumeSize: `${pool.diskSizeGiB}Gi`, volumeType: "gp3", encrypted: true, deleteOnTermination: true });
            assert.ok(String(spec.role).startsWith(nodeRole.name), `${spec.role} is the Karpenter node role`);
            assert.ok(spec.subnetSelectorTerms.length >= 1 && spec.subnetSelectorTerms.every((t: Obj) => /^subnet-/.test(t.id)));
        }
        assert.deepEqual(onResource(karpenterNodeClassHardened, { type: EC2_NODE_CLASS_TYPE, name: "x", inputs: ofType(EC2_NODE_CLASS_TYPE)[0].inputs }), []);
    });

    it("the node role joins the cluster through an EC2_LINUX access entry; the controller runs on the system pool with its IRSA role", () => {
        const entry = ofType("aws:eks/accessEntry:AccessEntry").find((e) => e.name.endsWith("-karpenter-node-access"))!;
        assert.equal(entry.inputs.type, "EC2_LINUX");
        const release = ofType("kubernetes:helm.sh/v3:Release").find((r) => r.name.endsWith("-karpenter-release"))!;
        assert.equal(release.inputs.chart, "oci://public.ecr.aws/karpenter/karpenter");
        assert.match(release.inputs.version, /^\d+\.\d+\.\d+$/);
        assert.deepEqual(release.inputs.values.nodeSelector, { "node-pool": "system" });
        assert.equal(release.inputs.values.settings.clusterName, run.spec.cluster.name);
        assert.ok(release.inputs.values.serviceAccount.annotations["eks.amazonaws.com/role-arn"]);
    });

    it("the interruption queue gets all five EventBridge events, and only the controller may read it", () => {
        const rules = ofType("aws:cloudwatch/eventRule:EventRule").map((r) => JSON.parse(r.inputs.eventPattern));
        assert.deepEqual(rules.map((p) => p["detail-type"][0]).sort(), INTERRUPTION_EVENTS.map((e) => e.detailType).sort());
        assert.equal(ofType("aws:cloudwatch/eventTarget:EventTarget").length, INTERRUPTION_EVENTS.length);
        const policy = JSON.parse(ofType("aws:iam/rolePolicy:RolePolicy").find((p) => p.name.endsWith("-karpenter-controller-policy"))!.inputs.policy);
        const sqs = policy.Statement.find((s: Obj) => s.Sid === "AllowInterruptionQueueActions");
        assert.deepEqual(sqs.Action, ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]);
        assert.match(sqs.Resource, /^arn:aws:sqs:/);
    });
});

describe("Karpenter controller policy and validation", () => {
    it("launches and deletes only what carries this cluster's tag, and passes the node role only to EC2", () => {
        const doc = karpenterControllerPolicy("ml-dev", "us-east-1", "123456789012", "arn:aws:iam::123456789012:role/node", "arn:aws:sqs:us-east-1:123456789012:q");
        const writes = doc.Statement.filter((s) => s.Action.some((a) => /^ec2:(RunInstances|CreateFleet|TerminateInstances|DeleteLaunchTemplate|CreateTags)$/.test(a)) && s.Sid !== "AllowScopedEC2InstanceAccessActions");
        for (const s of writes) {
            assert.match(JSON.stringify(s.Condition), /kubernetes\.io\/cluster\/ml-dev/, s.Sid);
        }
        const pass = doc.Statement.find((s) => s.Action.includes("iam:PassRole"))!;
        assert.equal(pass.Resource, "arn:aws:iam::123456789012:role/node");
        assert.ok(!doc.Statement.some((s) => s.Action.some((a) => a.endsWith(":*"))), "no wildcard actions");
    });

    const problemsOf = (edit: (v: Obj) => unknown, key = "nodePools", base: Stack = "prod") => {
        try {
            buildStackSpec(withKey(withKey(rawConfigOf(base), "nodeProvisioner", () => "karpenter"), key, edit));
            return [];
        } catch (e) {
            assert.ok(e instanceof ConfigError, String(e));
            return e.problems;
        }
    };

    it("refuses what Karpenter pools do not derive yet (EFA, capacity reservations), naming the key", () => {
        assert.ok(problemsOf((p) => p).some((l) => l.startsWith("ml-platform:nodePools.a100.efa is true, but with ml-platform:nodeProvisioner karpenter")));
        const reserved = problemsOf((p) => ({ ...p, a10g: { ...p.a10g, capacityReservation: { id: "cr-0123456789abcdef0" }, availabilityZones: ["us-east-1a"] } }));
        assert.ok(reserved.some((l) => l.startsWith("ml-platform:nodePools.a10g.capacityReservation is set, but with ml-platform:nodeProvisioner karpenter")), reserved.join("\n"));
        const bad = problemsOf(() => "autoscaler", "nodeProvisioner", "dev");
        assert.ok(bad.some((l) => l.includes('ml-platform:nodeProvisioner must be one of "cluster-autoscaler", "karpenter"')), bad.join("\n"));
    });

    it("karpenter-nodeclass-hardened fails an unpinned alias, IMDS hop 2 and an unencrypted root", () => {
        const nc = (spec: Obj) => ({ type: EC2_NODE_CLASS_TYPE, name: "nc", inputs: { metadata: { name: "a10g" }, spec } });
        const good = {
            amiSelectorTerms: [{ alias: AL2023_AMI_ALIAS }],
            metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 1 },
            blockDeviceMappings: [{ deviceName: "/dev/xvda", rootVolume: true, ebs: { encrypted: true } }],
        };
        assert.deepEqual(onResource(karpenterNodeClassHardened, nc(good)), []);
        assert.match(onResource(karpenterNodeClassHardened, nc({ ...good, amiSelectorTerms: [{ alias: "al2023@latest" }] }))[0], /not one pinned EKS-optimized alias/);
        assert.match(onResource(karpenterNodeClassHardened, nc({ ...good, metadataOptions: { httpTokens: "required", httpPutResponseHopLimit: 2 } }))[0], /httpPutResponseHopLimit 1/);
        assert.match(onResource(karpenterNodeClassHardened, nc({ ...good, blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { encrypted: false } }] }))[0], /no encrypted root volume/);
    });
});
