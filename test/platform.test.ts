import { strict as assert } from "node:assert";
import { instanceType } from "../capacity/catalog";
import { LABEL_GPU_COUNT, poolLabels, poolTaints } from "../capacity/pools";
import { nodeAffinity, taintToleration } from "../capacity/predicates";
import { GPU_AMI_TYPE } from "../components/nodePool";
import { NFS_PORT } from "../components/storage";
import { CloudEmulator } from "../plan/emulator";
import { RecordedResource } from "../plan/recorder";
import { ProgramRun } from "../plan/run";
import { VERSIONS } from "../facts/versions";
import { platformRun } from "./fixtures";
import { storageClaims } from "../stacks/spec";

type Obj = Record<string, any>;

const byType = (run: ProgramRun, type: string) => run.resources.filter((r) => r.type === type);
const k8sObject = (run: ProgramRun, kind: string, name: string): Obj => {
    const r = run.resources.find((x) => x.type.startsWith("kubernetes:") && x.type.endsWith(`:${kind}`) && (x.inputs.metadata as Obj)?.name === name);
    assert.ok(r, `no ${kind} ${name} registered`);
    return r.inputs as Obj;
};

for (const stack of ["dev", "prod"] as const) {
    describe(`platform under mocks: ${stack}`, () => {
        let run: ProgramRun;
        before(async () => {
            run = await platformRun(stack);
        });

        it("uses the typed component tokens ml-platform:<module>:<Type>", () => {
            const components = run.resources.filter((r) => !r.custom && r.type.startsWith("ml-platform:"));
            assert.ok(components.length >= 6);
            for (const c of components) {
                assert.match(c.type, /^ml-platform:[a-z]+:[A-Z][A-Za-z]+$/);
            }
        });

        it("builds one managed node group per pool; GPU pools on the NVIDIA AMI with catalog labels and the GPU taint", () => {
            const groups = byType(run, "eks:index:ManagedNodeGroup");
            assert.equal(groups.length, run.spec.nodePools.length);
            for (const pool of run.spec.nodePools) {
                const ng = groups.find((g) => g.name.endsWith(`pool-${pool.name}-mng`));
                assert.ok(ng, `no node group for ${pool.name}`);
                const inputs = ng.inputs as Obj;
                assert.deepEqual(inputs.instanceTypes, [pool.instanceType]);
                assert.deepEqual(inputs.labels, poolLabels(pool));
                if (pool.gpu) {
                    assert.equal(inputs.amiType, GPU_AMI_TYPE);
                    assert.equal(inputs.labels[LABEL_GPU_COUNT], String(instanceType(pool.instanceType).gpu!.count));
                    assert.deepEqual(inputs.taints, [{ key: run.spec.gpuTaint.key, value: run.spec.gpuTaint.value, effect: "NO_SCHEDULE" }]);
                } else {
                    assert.notEqual(inputs.amiType, GPU_AMI_TYPE);
                    assert.ok(!inputs.taints || inputs.taints.length === 0, "CPU pools are untainted");
                }
                assert.deepEqual(inputs.scalingConfig, { minSize: pool.minSize, maxSize: pool.maxSize, desiredSize: pool.desiredSize });
            }
        });

        for (const ds of ["nvidia-device-plugin", "dcgm-exporter"]) {
            it(`${ds} tolerates every GPU pool's taint, selects only GPU nodes, never the system pool`, () => {
                const spec = k8sObject(run, "DaemonSet", ds).spec.template.spec;
                for (const pool of run.spec.nodePools) {
                    const lands = taintToleration(spec.tolerations, poolTaints(pool, run.spec.gpuTaint)).fits && nodeAffinity(spec, { labels: poolLabels(pool) }).fits;
                    assert.equal(lands, pool.gpu !== undefined, `${ds} on pool ${pool.name}: lands=${lands}`);
                }
                assert.equal(spec.priorityClassName, "system-node-critical");
                for (const c of spec.containers) {
                    assert.ok(c.resources.requests && c.resources.limits, `${ds}/${c.name} has requests and limits`);
                    assert.equal(c.securityContext.allowPrivilegeEscalation, false);
                    assert.deepEqual(c.securityContext.capabilities.drop, ["ALL"]);
                }
            });
        }

        it("gives DCGM only SYS_ADMIN and a read-only pod-resources mount", () => {
            const c = k8sObject(run, "DaemonSet", "dcgm-exporter").spec.template.spec.containers[0];
            assert.deepEqual(c.securityContext.capabilities.add, ["SYS_ADMIN"]);
            assert.deepEqual(c.volumeMounts, [
                { name: "pod-resources", mountPath: "/var/lib/kubelet/pod-resources", readOnly: true },
                // The counters file (a ConfigMap) the platform's alerts are checked against.
                { name: "counters", mountPath: "/etc/ml-platform/dcgm", readOnly: true },
            ]);
        });

        describe("upstream's advice (issue 18)", () => {
            it("pins every managed node group to the cluster's Kubernetes version (a launch template stops pulumi-eks defaulting it)", () => {
                for (const ng of byType(run, "eks:index:ManagedNodeGroup")) {
                    assert.ok((ng.inputs as Obj).launchTemplate, `${ng.name} has a launch template`);
                    assert.equal((ng.inputs as Obj).version, run.spec.cluster.kubernetesVersion, ng.name);
                }
            });

            it("runs the device plugin without FAIL_ON_INIT_ERROR=false (a failed init must not look healthy)", () => {
                for (const c of k8sObject(run, "DaemonSet", "nvidia-device-plugin").spec.template.spec.containers) {
                    assert.ok(!(c.env ?? []).some((e: Obj) => e.name === "FAIL_ON_INIT_ERROR"), JSON.stringify(c.env));
                }
            });

            it("gives the DCGM exporter NODE_NAME from spec.nodeName", () => {
                const env: Obj[] = k8sObject(run, "DaemonSet", "dcgm-exporter").spec.template.spec.containers[0].env;
                assert.deepEqual(env.find((e) => e.name === "NODE_NAME"), { name: "NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } });
            });

            it("has the DCGM ServiceMonitor name its port, not also a targetPort", () => {
                const [release] = byType(run, "kubernetes:helm.sh/v3:Release").filter((r) => r.name.endsWith("kube-prometheus-stack"));
                const [monitor] = (release.inputs as Obj).values.prometheus.additionalServiceMonitors.filter((m: Obj) => m.name === "dcgm-exporter");
                for (const e of monitor.endpoints) {
                    assert.equal(e.port, "metrics");
                    assert.ok(!("targetPort" in e), JSON.stringify(e));
                }
            });

            it("keeps Prometheus' TSDB on a gp3 claim sized for the retention, with retentionSize below the claim", () => {
                const [release] = byType(run, "kubernetes:helm.sh/v3:Release").filter((r) => r.name.endsWith("kube-prometheus-stack"));
                const spec = (release.inputs as Obj).values.prometheus.prometheusSpec;
                const claim = spec.storageSpec.volumeClaimTemplate.spec;
                assert.equal(claim.storageClassName, "gp3");
                assert.deepEqual(claim.accessModes, ["ReadWriteOnce"]);
                const gib = Number(/^(\d+)Gi$/.exec(claim.resources.requests.storage)![1]);
                assert.ok(gib >= 20, claim.resources.requests.storage);
                assert.ok(Number(/^(\d+)GB$/.exec(spec.retentionSize)![1]) < gib, spec.retentionSize);
                const sc = k8sObject(run, "StorageClass", "gp3");
                assert.equal(sc.provisioner, "ebs.csi.aws.com");
                assert.deepEqual(sc.parameters, { type: "gp3", encrypted: "true", "csi.storage.k8s.io/fstype": "ext4" });
                assert.equal(sc.volumeBindingMode, "WaitForFirstConsumer");
                assert.equal(sc.reclaimPolicy, stack === "prod" ? "Retain" : "Delete");
                const addons = byType(run, "aws:eks/addon:Addon").map((a) => (a.inputs as Obj).addonName);
                assert.ok(addons.includes("aws-ebs-csi-driver"), addons.join(", "));
            });

            it("lets only the CSI controllers' service accounts assume their roles (no efs-csi-* wildcard)", () => {
                const subjects: Record<string, string> = { "storage-efs-csi-role": "system:serviceaccount:kube-system:efs-csi-controller-sa", "addons-ebs-csi-role": "system:serviceaccount:kube-system:ebs-csi-controller-sa" };
                for (const [suffix, subject] of Object.entries(subjects)) {
                    const [role] = byType(run, "aws:iam/role:Role").filter((r) => r.name.endsWith(suffix));
                    assert.ok(role, `no role *${suffix}`);
                    const doc = JSON.parse((role.inputs as Obj).assumeRolePolicy);
                    const text = JSON.stringify(doc);
                    assert.ok(!text.includes("*"), text);
                    assert.ok(text.includes(`"${subject}"`), text);
                }
            });

            it("installs CoreDNS as a managed add-on at the pinned version, after the node pools", () => {
                const [coredns] = byType(run, "aws:eks/addon:Addon").filter((a) => (a.inputs as Obj).addonName === "coredns");
                assert.ok(coredns, "no coredns add-on");
                assert.equal((coredns.inputs as Obj).addonVersion, VERSIONS.corednsAddon);
                const [component] = run.resources.filter((r) => r.type === "ml-platform:addons:ClusterAddons");
                for (const ng of byType(run, "eks:index:ManagedNodeGroup")) {
                    assert.ok(component.options.dependsOn.some((u) => u.endsWith(`::${ng.name}`)), `add-ons wait for ${ng.name}`);
                }
            });
        });

        it("admits NFS (2049) to EFS only from the cluster's nodes", () => {
            const [sg] = byType(run, "aws:ec2/securityGroup:SecurityGroup").filter((r) => r.name.endsWith("efs-sg"));
            const ingress = (sg.inputs as Obj).ingress as Obj[];
            assert.equal(ingress.length, 1);
            assert.equal(ingress[0].fromPort, NFS_PORT);
            assert.equal(ingress[0].toPort, NFS_PORT);
            assert.equal(ingress[0].protocol, "tcp");
            assert.equal(ingress[0].cidrBlocks, undefined, "no CIDR ranges, only the cluster security group");
            // The emulator answers the cluster like EKS would; its cluster security group is what nodes carry.
            const cluster = byType(run, "eks:index:Cluster")[0];
            const emulated = new CloudEmulator({ region: run.spec.region, availabilityZones: [] }).newResource({
                type: cluster.type,
                name: cluster.name,
                inputs: cluster.inputs,
                custom: false,
            });
            assert.deepEqual(ingress[0].securityGroups, [(emulated.state.eksCluster as Obj).vpcConfig.clusterSecurityGroupId]);
        });

        it("mounts one EFS mount target per private subnet (one per AZ)", () => {
            assert.equal(byType(run, "aws:efs/mountTarget:MountTarget").length, run.spec.cluster.availabilityZones.length);
        });

        it("encrypts EFS and uses access points with a fixed uid/gid", () => {
            const fs = byType(run, "aws:efs/fileSystem:FileSystem")[0].inputs as Obj;
            assert.equal(fs.encrypted, true);
            const sc = k8sObject(run, "StorageClass", "efs-ml");
            assert.equal(sc.provisioner, "efs.csi.aws.com");
            assert.equal(sc.parameters.provisioningMode, "efs-ap");
            assert.equal(sc.parameters.uid, String(run.spec.storage.uid));
            assert.equal(sc.parameters.gid, String(run.spec.storage.gid));
        });

        it("claims are ReadWriteMany (EFS CSI has no ReadOnlyMany)", () => {
            const pvcs = run.resources.filter((r) => r.type === "kubernetes:core/v1:PersistentVolumeClaim");
            const named = (c: { namespace: string; name: string }) => `${c.namespace}/${c.name}`;
            assert.deepEqual(pvcs.map((p) => named(p.inputs.metadata as { namespace: string; name: string })).sort(), storageClaims(run.spec).map(named).sort());
            assert.ok(storageClaims(run.spec).some((c) => c.namespace === "ml-pipelines"), "the stack's pipelines get their checkpoints claim");
            for (const p of pvcs) {
                assert.deepEqual((p.inputs.spec as Obj).accessModes, ["ReadWriteMany"]);
            }
        });

        it(stack === "prod" ? "protects prod data from pulumi destroy" : "does not protect dev data", () => {
            const data = run.resources.filter((r) => r.type === "aws:efs/fileSystem:FileSystem" || r.type === "kubernetes:core/v1:PersistentVolumeClaim");
            assert.equal(data.length, 1 + storageClaims(run.spec).length);
            for (const r of data) {
                assert.equal(r.options.protect, stack === "prod", `${r.type} ${r.name} protect`);
                assert.equal(r.options.retainOnDelete, stack === "prod", `${r.type} ${r.name} retainOnDelete`);
            }
            assert.equal(k8sObject(run, "StorageClass", "efs-ml").reclaimPolicy, stack === "prod" ? "Retain" : "Delete");
        });

        it("tags each GPU pool's ASG with scale-from-zero hints derived from the pool", () => {
            for (const pool of run.spec.nodePools.filter((p) => p.gpu)) {
                const tags = byType(run, "aws:autoscaling/tag:Tag")
                    .filter((t) => t.name.includes(`pool-${pool.name}-ca-`))
                    .map((t) => (t.inputs as Obj).tag as Obj);
                const get = (k: string) => tags.find((t) => t.key === `k8s.io/cluster-autoscaler/node-template/${k}`)?.value;
                assert.equal(get("resources/nvidia.com/gpu"), String(pool.gpu!.count));
                assert.equal(get(`taint/${run.spec.gpuTaint.key}`), `${run.spec.gpuTaint.value}:${run.spec.gpuTaint.effect}`);
                for (const [k, v] of Object.entries(poolLabels(pool))) {
                    assert.equal(get(`label/${k}`), v);
                }
            }
        });

        it("runs the cluster with access entries, an OIDC provider and no default node group", () => {
            const c = byType(run, "eks:index:Cluster")[0].inputs as Obj;
            assert.equal(c.authenticationMode, "API");
            assert.equal(c.skipDefaultNodeGroup, true);
            assert.equal(c.createOidcProvider, true);
            assert.equal(c.version, run.spec.cluster.kubernetesVersion);
        });

        it("builds the VPC over the configured AZs with EKS subnet tags", () => {
            const vpc = byType(run, "awsx:ec2:Vpc")[0] as RecordedResource;
            const inputs = vpc.inputs as Obj;
            assert.deepEqual(inputs.availabilityZoneNames, run.spec.cluster.availabilityZones);
            const priv = (inputs.subnetSpecs as Obj[]).find((s) => s.type === "Private")!;
            assert.equal(priv.tags["kubernetes.io/role/internal-elb"], "1");
            assert.equal(priv.tags[`kubernetes.io/cluster/${run.spec.cluster.name}`], "shared");
        });

        it("exports the kubeconfig only as a secret", () => {
            assert.equal(run.outputs.kubeconfig.secret, true);
            assert.equal(run.outputs.kubeconfig.value, "[secret]");
            assert.equal(run.outputs.clusterName.value, run.spec.cluster.name);
        });
    });
}
