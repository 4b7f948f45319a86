/**
 * EFA for multi-node training (issue 19): catalog facts -> pool labels -> launch template, device plugin,
 * node resources, PyTorchJob requests and env, planner, validation and the three rules, end to end on prod.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { kubeletNode } from "../capacity/allocatable";
import { analyzeCapacity } from "../capacity/analysis";
import { INSTANCE_CATALOG, instanceType } from "../capacity/catalog";
import { EFA_INSTANCE_TYPES, EFA_RESOURCE, efaDevicePluginLoad, efaNetworkInterfaces, LABEL_EFA_PRESENT, nodeEfaDevices, poolEfa } from "../capacity/efa";
import { poolLabels, poolTolerations } from "../capacity/pools";
import { nodeResources } from "../conformance/nodes";
import { efaDevicePluginReachesEfaPools, efaPoolOneZone, multiNodeTrainingUsesEfa } from "../policy/rules/efa";
import { buildStackSpec } from "../stacks/validate";
import { plan, planOf, platformRun, stackFile, tempDir } from "./fixtures";
import { problemsOf, rawConfigOf, withKey } from "./helpers";
import { Obj, onResource, onStack } from "./policy-rules-helpers";

const LT = "aws:ec2/launchTemplate:LaunchTemplate";
const MNG = "eks:index:ManagedNodeGroup";
const RELEASE = "kubernetes:helm.sh/v3:Release";


const editPool = (name: string, edit: (p: Obj) => void) => (pools: Obj) => {
    edit(pools[name]);
    return pools;
};

describe("EFA: catalog, labels, node resources", () => {
    it("EFA-capable types are the catalog's rows with EFA facts; p4d/p4de carry 4 interfaces with GPUDirect RDMA, g5.xlarge none", () => {
        assert.deepEqual(instanceType("p4d.24xlarge").efa, { interfaces: 4, gpuDirectRdma: true });
        assert.deepEqual(instanceType("p4de.24xlarge").efa, { interfaces: 4, gpuDirectRdma: true });
        assert.equal(instanceType("p5.48xlarge").efa?.interfaces, 32);
        assert.equal(instanceType("g5.xlarge").efa, undefined);
        assert.ok(EFA_INSTANCE_TYPES.every((t) => INSTANCE_CATALOG.get(t)?.efa));
        assert.ok(!EFA_INSTANCE_TYPES.includes("m6i.xlarge"));
    });

    it("the EFA label is set only on pools that enable EFA on a capable type", () => {
        assert.equal(poolLabels({ name: "a100", instanceType: "p4d.24xlarge", efa: true })[LABEL_EFA_PRESENT], "true");
        assert.equal(poolLabels({ name: "a100", instanceType: "p4d.24xlarge" })[LABEL_EFA_PRESENT], undefined);
        assert.equal(poolLabels({ name: "a10g", instanceType: "g5.xlarge", efa: true })[LABEL_EFA_PRESENT], undefined);
    });

    it("nodes advertise the catalog's EFA count exactly where the device plugin's label is", () => {
        const p4d = instanceType("p4d.24xlarge");
        const labelled = poolLabels({ name: "a100", instanceType: p4d.name, efa: true });
        assert.equal(nodeEfaDevices(p4d, labelled), 4);
        assert.equal(kubeletNode(p4d, labelled).allocatable.extended[EFA_RESOURCE], 4);
        assert.equal(kubeletNode(p4d).allocatable.extended[EFA_RESOURCE], undefined);
        // The conformance run's kwok nodes: the same figure, from the same function.
        assert.equal(nodeResources(p4d, labelled).allocatable[EFA_RESOURCE], "4");
        assert.equal(nodeResources(p4d, {}).allocatable[EFA_RESOURCE], undefined);
    });

    it("one EFA interface per network card; only card 0 sits at device index 0", () => {
        for (const t of EFA_INSTANCE_TYPES) {
            const efa = instanceType(t).efa!;
            const nis = efaNetworkInterfaces(efa);
            assert.deepEqual(nis.map((n) => n.networkCardIndex), [...Array(efa.interfaces).keys()], t);
            assert.deepEqual(nis.map((n) => n.deviceIndex), nis.map((_, i) => (i === 0 ? 0 : 1)), t);
            assert.ok(nis.every((n) => n.interfaceType === "efa" && n.associatePublicIpAddress === "false"), t);
        }
    });
});

describe("EFA: validation (exit 2 before anything is created)", () => {
    const prod = rawConfigOf("prod");

    it("prod's EFA pool is valid and resolves to one zone", () => {
        const a100 = buildStackSpec(prod).nodePools.find((p) => p.name === "a100")!;
        assert.equal(a100.efa, true);
        assert.deepEqual(a100.availabilityZones, ["us-east-1a"]);
        assert.deepEqual(poolEfa(a100), { interfaces: 4, gpuDirectRdma: true });
    });

    const cases: { wrong: string; edit: (p: Obj) => void; expect: string[] }[] = [
        { wrong: "EFA over three zones", edit: (p) => delete p.availabilityZones, expect: ["ml-platform:nodePools.a100.availabilityZones", "exactly one zone", '"(unset: every cluster zone)"'] },
        { wrong: "EFA over two zones", edit: (p) => (p.availabilityZones = ["us-east-1a", "us-east-1b"]), expect: ["ml-platform:nodePools.a100.availabilityZones", "exactly one zone", '["us-east-1a","us-east-1b"]'] },
        { wrong: "EFA on a type without EFA", edit: (p) => (p.instanceType = "g5.2xlarge"), expect: ["ml-platform:nodePools.a100.efa", "g5.2xlarge has no EFA interfaces", "p4d.24xlarge"] },
        { wrong: "a zone outside the cluster", edit: (p) => (p.availabilityZones = ["us-east-1f"]), expect: ["ml-platform:nodePools.a100.availabilityZones[0]", "is not one of the cluster's zones", "us-east-1a, us-east-1b, us-east-1c"] },
    ];
    for (const c of cases) {
        it(`refuses ${c.wrong}, naming the key, the value and what is allowed`, () => {
            const problems = problemsOf(withKey(prod, "nodePools", editPool("a100", c.edit)));
            assert.ok(
                problems.some((p) => c.expect.every((e) => p.includes(e))),
                `no problem line has all of ${JSON.stringify(c.expect)}:\n${problems.join("\n")}`,
            );
        });
    }

    it("the plan exits 2 on an EFA pool spread over zones and writes nothing", async () => {
        const dir = tempDir("efa-zones");
        const file = path.join(dir, "Pulumi.prod.yaml");
        writeFileSync(file, readFileSync(stackFile("prod"), "utf8").replace("      availabilityZones: [us-east-1a]\n", ""));
        const r = await plan(["--stack", "prod", "--config", file, "--out", path.join(dir, "out")]);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, /ml-platform:nodePools\.a100\.availabilityZones must name exactly one zone when efa is true/);
    });
});

describe("EFA end to end in the prod plan", () => {
    let resources: { type: string; name: string; inputs: Obj; dependencies?: string[] }[];
    let a100: { efa: boolean };
    before(async () => {
        const run = await platformRun("prod");
        resources = run.resources as unknown as typeof resources;
        a100 = run.spec.nodePools.find((p) => p.name === "a100") as unknown as { efa: boolean };
        assert.equal(a100.efa, true);
    });
    const one = (type: string, nameEnd: string) => {
        const found = resources.filter((r) => r.type === type && r.name.endsWith(nameEnd));
        assert.equal(found.length, 1, `${type} *${nameEnd}`);
        return found[0].inputs;
    };

    it("the a100 launch template attaches 4 EFA interfaces in the cluster and EFA security groups, in the pool's cluster placement group", () => {
        const lt = one(LT, "-a100-lt");
        const sg = one("aws:ec2/securityGroup:SecurityGroup", "-a100-efa-sg");
        const pg = one("aws:ec2/placementGroup:PlacementGroup", "-a100-pg");
        assert.equal(lt.networkInterfaces.length, instanceType("p4d.24xlarge").efa!.interfaces);
        assert.equal(pg.strategy, "cluster");
        assert.equal(lt.placement.groupName, pg.name);
        // EFA needs all traffic to and from the group itself, nothing wider.
        for (const rule of [...sg.ingress, ...sg.egress]) {
            assert.deepEqual({ protocol: rule.protocol, self: rule.self, cidrBlocks: rule.cidrBlocks }, { protocol: "-1", self: true, cidrBlocks: undefined });
        }
        for (const ni of lt.networkInterfaces) {
            assert.equal(ni.securityGroups.length, 2);
            assert.ok(ni.securityGroups.every((g: unknown) => typeof g === "string" && g.startsWith("sg-")));
        }
        assert.equal(one(LT, "-a10g-lt").networkInterfaces, undefined, "non-EFA pools keep EKS's default interface");
    });

    it("the a100 node group launches in one zone's subnet and carries the EFA label", () => {
        const ng = one(MNG, "-a100-mng");
        assert.equal(ng.subnetIds.length, 1);
        assert.equal(ng.labels[LABEL_EFA_PRESENT], "true");
        assert.equal(one(MNG, "-a10g-mng").subnetIds.length, 3);
    });

    it("the EFA device plugin is pinned, tolerates exactly the EFA pool's taints and selects its label", () => {
        const release = one(RELEASE, "-efa-release");
        assert.match(release.version, /^v\d+\.\d+\.\d+$/);
        const ng = one(MNG, "-a100-mng");
        const taints = (ng.taints as Obj[]).map((t) => ({ key: t.key, value: t.value, effect: t.effect === "NO_SCHEDULE" ? "NoSchedule" : t.effect }));
        assert.deepEqual(release.values.tolerations, taints.map((t) => ({ ...t, operator: "Equal" })));
        for (const [k, v] of Object.entries(release.values.nodeSelector)) {
            assert.equal(ng.labels[k], v, `the plugin selects ${k}=${v}; the EFA node group must carry it`);
        }
        for (const pool of ["system", "a10g"]) {
            const labels = one(MNG, `-${pool}-mng`).labels;
            assert.ok(Object.entries(release.values.nodeSelector).some(([k, v]) => labels[k] !== v), `the plugin must not select ${pool}`);
        }
    });

    it("PyTorchJob pods on the EFA pool request every EFA device of a node (request = limit) and get the NCCL/libfabric env; the single-pod Job does not", () => {
        const job = resources.find((r) => r.type.endsWith(":PyTorchJob"))!.inputs;
        for (const [role, spec] of Object.entries(job.spec.pytorchReplicaSpecs as Record<string, Obj>)) {
            const c = spec.template.spec.containers[0];
            assert.equal(c.resources.requests[EFA_RESOURCE], "4", role);
            assert.equal(c.resources.limits[EFA_RESOURCE], c.resources.requests[EFA_RESOURCE], role);
            const env = Object.fromEntries((c.env as Obj[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
            assert.equal(env.FI_PROVIDER, "efa", role);
            assert.equal(env.FI_EFA_USE_DEVICE_RDMA, "1", role);
        }
        const bert = resources.find((r) => r.type === "kubernetes:batch/v1:Job")!.inputs.spec.template.spec.containers[0];
        assert.equal(bert.resources.requests[EFA_RESOURCE], undefined);
    });

    it("the planner places the PyTorchJob across two p4d nodes, and would not without EFA on the nodes", () => {
        const asCapacity = (rs: typeof resources) => rs.map((r) => ({ type: r.type, name: r.name, props: r.inputs }));
        const job = analyzeCapacity(asCapacity(resources)).workloads.find((w) => w.name === "llm-distributed")!;
        assert.equal(job.schedulable, true, job.reason);
        assert.equal(job.scales.max.nodesNeeded, 2);
        const withoutLabel = resources.map((r) =>
            r.type === MNG && r.name.endsWith("-a100-mng") ? { ...r, inputs: { ...r.inputs, labels: { ...r.inputs.labels, [LABEL_EFA_PRESENT]: "false" } } } : r,
        );
        const failed = analyzeCapacity(asCapacity(withoutLabel)).workloads.find((w) => w.name === "llm-distributed")!;
        assert.equal(failed.schedulable, false);
        assert.match(failed.reason!, /vpc\.amazonaws\.com\/efa/);
    });

    it("the prod plan exits 0, the report shows the EFA devices per a100 node, and the contract tells app teams", async () => {
        const { result } = await planOf("prod");
        assert.equal(result.exitCode, 0, result.headline);
        assert.match(result.report, /\| a100 \| p4d\.24xlarge \|[^\n]*8 GPU, 4 EFA,/);
        assert.doesNotMatch(result.report, /\| a10g \|[^\n]*EFA/);
        const pools = result.outputs.gpuPools.value as Record<string, Obj>;
        assert.equal(pools.a100.efaInterfacesPerNode, 4);
        assert.equal(pools.a10g.efaInterfacesPerNode, undefined);
    });

    it("the planner counts the EFA device plugin's requests on EFA nodes only", () => {
        const load = efaDevicePluginLoad(RELEASE, one(RELEASE, "-efa-release"))!;
        assert.deepEqual(load.requests.cpuMillis, 10);
        const pools = analyzeCapacity(resources.map((r) => ({ type: r.type, name: r.name, props: r.inputs }))).pools;
        assert.ok(pools.find((p) => p.name === "a100")!.allocatable.daemonSets.includes(load.name));
        assert.ok(!pools.find((p) => p.name === "a10g")!.allocatable.daemonSets.includes(load.name));
    });
});

describe("EFA rules", () => {
    const ng = (labels: Obj, subnetIds: unknown) => ({ type: MNG, name: "ng", inputs: { instanceTypes: ["p4d.24xlarge"], labels: { "node-pool": "a100", ...labels }, subnetIds, taints: [{ key: "dedicated", value: "ml-workloads", effect: "NO_SCHEDULE" }] } });
    const efaLabels = { [LABEL_EFA_PRESENT]: "true" };

    it("efa-pool-one-zone: passes one subnet, fails three; a non-EFA pool may span zones", () => {
        assert.deepEqual(onResource(efaPoolOneZone, ng(efaLabels, ["subnet-a"])), []);
        assert.match(onResource(efaPoolOneZone, ng(efaLabels, ["subnet-a", "subnet-b", "subnet-c"]))[0], /EFA pool .* spread over 3 subnets.*availabilityZones to one zone/);
        assert.deepEqual(onResource(efaPoolOneZone, ng({}, ["subnet-a", "subnet-b"])), []);
        assert.deepEqual(onResource(efaPoolOneZone, ng(efaLabels, undefined)), [], "subnets unknown in a preview: nothing judged");
    });

    it("efa-pool-one-zone: a launch template with EFA interfaces needs a placement group", () => {
        const lt = (placement: Obj) => ({ type: LT, name: "lt", inputs: { networkInterfaces: efaNetworkInterfaces({ interfaces: 4, gpuDirectRdma: true }), placement } });
        assert.deepEqual(onResource(efaPoolOneZone, lt({ groupName: "pg" })), []);
        assert.match(onResource(efaPoolOneZone, lt({}))[0], /attaches 4 EFA interface\(s\) but names no placement group/);
    });

    it("efa-device-plugin-reaches-efa-pools: missing plugin, untolerated taint and unselected pool each fail", () => {
        const pool = { name: "a100", instanceType: "p4d.24xlarge", efa: true };
        const taint = { key: "dedicated", value: "ml-workloads", effect: "NoSchedule" as const };
        const release = (values: Obj) => ({ type: RELEASE, name: "efa", inputs: { chart: "aws-efa-k8s-device-plugin", values } });
        const good = { tolerations: poolTolerations(pool, taint), nodeSelector: { [LABEL_EFA_PRESENT]: "true" } };
        assert.deepEqual(onStack(efaDevicePluginReachesEfaPools, [ng(efaLabels, ["s"]), release(good)]), []);
        assert.match(onStack(efaDevicePluginReachesEfaPools, [ng(efaLabels, ["s"])])[0], /no aws-efa-k8s-device-plugin release/);
        assert.match(onStack(efaDevicePluginReachesEfaPools, [ng(efaLabels, ["s"]), release({ ...good, tolerations: [] })])[0], /does not tolerate dedicated=ml-workloads:NoSchedule/);
        assert.match(onStack(efaDevicePluginReachesEfaPools, [ng(efaLabels, ["s"]), release({ ...good, nodeSelector: { efa: "yes" } })])[0], /does not carry/);
        assert.deepEqual(onStack(efaDevicePluginReachesEfaPools, [ng({}, ["s"])]), [], "no EFA pool, no plugin needed");
    });

    it("multi-node-training-uses-efa: a 2-pod GPU PyTorchJob without EFA is flagged; with EFA, or a single pod, it is not", () => {
        const container = (efa: boolean) => ({ name: "pytorch", resources: { requests: { "nvidia.com/gpu": "8", ...(efa ? { [EFA_RESOURCE]: "4" } : {}) }, limits: { "nvidia.com/gpu": "8", ...(efa ? { [EFA_RESOURCE]: "4" } : {}) } } });
        const job = (efa: boolean, workers: number) => ({
            type: "kubernetes:kubeflow.org/v1:PyTorchJob",
            name: "j",
            inputs: {
                kind: "PyTorchJob",
                metadata: { name: "llm", namespace: "ml-training" },
                spec: {
                    pytorchReplicaSpecs: {
                        Master: { replicas: 1, template: { spec: { containers: [container(efa)] } } },
                        ...(workers > 0 ? { Worker: { replicas: workers, template: { spec: { containers: [container(efa)] } } } } : {}),
                    },
                },
            },
        });
        assert.match(onResource(multiNodeTrainingUsesEfa, job(false, 1))[0], /runs 2 GPU pods but Master, Worker request no vpc\.amazonaws\.com\/efa/);
        assert.deepEqual(onResource(multiNodeTrainingUsesEfa, job(true, 1)), []);
        assert.deepEqual(onResource(multiNodeTrainingUsesEfa, job(false, 0)), []);
        assert.equal(multiNodeTrainingUsesEfa.enforcementLevel, "advisory");
    });
});
