/**
 * capacity/bill.ts and monthly-budget's judgement (capacity/limits.ts budgetVerdict): what the bill reads
 * from registered resources in either world (the offline plan's remote components, a real preview's
 * children), the arithmetic of each item at each scale, and the verdict's words. Pure and fast.
 */
import { strict as assert } from "node:assert";
import { buildBill, eksSupport, infrastructureOf, Infrastructure, usdPrice } from "../capacity/bill";
import { budgetVerdict } from "../capacity/limits";
import { BILL_DATE, EKS_STANDARD_SUPPORT_ENDS, PRICES } from "../facts/prices";
import { SUPPORTED_KUBERNETES_VERSIONS } from "../facts/versions";

type Props = Record<string, any>;
const r = (type: string, name: string, props: Props) => ({ type, name, props });

const launchTemplate = (pool: string, sizeGiB: number, volumeType = "gp3") =>
    r("aws:ec2/launchTemplate:LaunchTemplate", `${pool}-lt`, {
        blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: sizeGiB, volumeType } }],
        tagSpecifications: [{ resourceType: "instance", tags: { "managed-by": "pulumi", "node-pool": pool } }],
    });
const storageClass = (name: string, provisioner: string, parameters: Props = {}) =>
    r("kubernetes:storage.k8s.io/v1:StorageClass", name, { metadata: { name }, provisioner, parameters });
const claim = (name: string, storageClassName: string, storage: string) =>
    r("kubernetes:core/v1:PersistentVolumeClaim", name, { metadata: { name, namespace: "ml" }, spec: { storageClassName, resources: { requests: { storage } } } });

describe("capacity/bill", () => {
    describe("facts/prices", () => {
        it("every price is dated, sourced from AWS's pricing pages and for us-east-1", () => {
            for (const [key, p] of Object.entries(PRICES)) {
                assert.match(p.source, /^https:\/\/aws\.amazon\.com\/[a-z]+\/pricing\/$/, key);
                assert.match(p.taken, /^\d{4}-\d{2}-\d{2}$/, key);
                assert.equal(p.region, "us-east-1", key);
                assert.ok(p.usd > 0, key);
            }
        });

        it("prints prices in cents, or a tenth of a cent when they have one", () => {
            assert.deepEqual([0.1, 0.045, 0.08, 0.3, 21.957642].map(usdPrice), ["$0.10", "$0.045", "$0.08", "$0.30", "$21.9576"]);
        });
    });

    describe("infrastructureOf", () => {
        it("reads the offline plan's components: eks:index:Cluster and the awsx VPC's NAT strategy", () => {
            const single = infrastructureOf([
                r("eks:index:Cluster", "eks", { version: "1.34" }),
                r("awsx:ec2:Vpc", "vpc", { availabilityZoneNames: ["us-east-1a", "us-east-1b"], natGateways: { strategy: "Single" } }),
            ]).infrastructure;
            assert.deepEqual([single.clusters, single.clusterVersions, single.natGateways, single.natGatewaysFrom], [1, ["1.34"], 1, "VPC vpc: strategy Single over 2 AZs"]);
            const perAz = infrastructureOf([r("awsx:ec2:Vpc", "vpc", { availabilityZoneNames: ["a", "b", "c"], natGateways: { strategy: "OnePerAz" } })]).infrastructure;
            assert.equal(perAz.natGateways, 3);
            const none = infrastructureOf([r("awsx:ec2:Vpc", "vpc", { availabilityZoneNames: ["a", "b"], natGateways: { strategy: "None" } })]).infrastructure;
            assert.equal(none.natGateways, 0);
            // awsx's own defaults: three AZs, a gateway in each.
            assert.equal(infrastructureOf([r("awsx:ec2:Vpc", "vpc", {})]).infrastructure.natGateways, 3);
        });

        it("counts a real preview's children instead of the components when they are there, never both", () => {
            const infra = infrastructureOf([
                r("eks:index:Cluster", "eks", {}),
                r("aws:eks/cluster:Cluster", "eks-cluster", {}),
                r("awsx:ec2:Vpc", "vpc", { availabilityZoneNames: ["a", "b", "c"], natGateways: { strategy: "OnePerAz" } }),
                r("aws:ec2/natGateway:NatGateway", "nat-1", {}),
                r("aws:ec2/natGateway:NatGateway", "nat-2", {}),
            ]).infrastructure;
            assert.deepEqual([infra.clusters, infra.clusterVersions, infra.natGateways, infra.natGatewaysFrom], [1, [""], 2, "2 NatGateway resource(s)"]);
        });

        it("finds each pool's root volume by the launch template's node-pool instance tag", () => {
            const infra = infrastructureOf([launchTemplate("a10g", 200), launchTemplate("old", 80, "gp2"), r("aws:ec2/launchTemplate:LaunchTemplate", "untagged", { blockDeviceMappings: [{ ebs: { volumeSize: 10 } }] })]).infrastructure;
            assert.deepEqual(infra.rootVolumes, { a10g: { sizeGiB: 200, volumeType: "gp3" }, old: { sizeGiB: 80, volumeType: "gp2" } });
        });

        it("prices claims by their class: EBS gp3, EFS, or not at all; Prometheus' claim from the chart values, per replica", () => {
            const infra = infrastructureOf([
                storageClass("gp3", "ebs.csi.aws.com", { type: "gp3" }),
                storageClass("io2", "ebs.csi.aws.com", { type: "io2" }),
                storageClass("efs-ml", "efs.csi.aws.com"),
                claim("data", "efs-ml", "1Ti"),
                claim("fast", "io2", "10Gi"),
                claim("nowhere", "", "5Gi"),
                r("kubernetes:helm.sh/v3:Release", "prom", {
                    chart: "kube-prometheus-stack",
                    namespace: "monitoring",
                    values: { prometheus: { prometheusSpec: { replicas: 2, storageSpec: { volumeClaimTemplate: { spec: { storageClassName: "gp3", resources: { requests: { storage: "512Mi" } } } } } } } },
                }),
            ]).infrastructure;
            assert.deepEqual(infra.claims, [
                { name: "ml/data", sizeGiB: 1024, storageClass: "efs-ml", backend: "efs" },
                { name: "ml/fast", sizeGiB: 10, storageClass: "io2", backend: "unpriced" },
                { name: "ml/nowhere", sizeGiB: 5, storageClass: "", backend: "unpriced" },
                { name: "monitoring/prometheus-0 (kube-prometheus-stack)", sizeGiB: 0.5, storageClass: "gp3", backend: "ebs-gp3" },
                { name: "monitoring/prometheus-1 (kube-prometheus-stack)", sizeGiB: 0.5, storageClass: "gp3", backend: "ebs-gp3" },
            ]);
        });

        it("leaves out, and names, a resource whose value a preview does not know yet; other errors still throw", () => {
            class UnknownValueError extends Error {
                name = "UnknownValueError";
            }
            const unknown = { get blockDeviceMappings(): unknown { throw new UnknownValueError("unknown"); }, tagSpecifications: [] };
            const { infrastructure, unread } = infrastructureOf([r("aws:ec2/launchTemplate:LaunchTemplate", "lt", unknown)]);
            assert.deepEqual(infrastructure.rootVolumes, {});
            assert.deepEqual(unread, ["aws:ec2/launchTemplate:LaunchTemplate lt (a value unknown until deployed)"]);
            const broken = { get blockDeviceMappings(): unknown { throw new TypeError("bug"); }, tagSpecifications: [] };
            assert.throws(() => infrastructureOf([r("aws:ec2/launchTemplate:LaunchTemplate", "lt", broken)]), /bug/);
        });
    });

    describe("eksSupport: the control plane's price by the EKS release calendar, as of the prices' date", () => {
        it("1.34 left standard support on 2026-12-02: extended support, $0.60 per cluster-hour", () => {
            assert.equal(BILL_DATE, "2026-12-03");
            const old = eksSupport("1.34");
            assert.equal(old.price, PRICES.eksExtendedSupport);
            assert.equal(old.detail, "Kubernetes 1.34: extended support (standard support ended 2026-12-02; as of 2026-12-03)");
            const current = eksSupport("1.35");
            assert.equal(current.price, PRICES.eksControlPlane);
            assert.equal(current.detail, "Kubernetes 1.35: standard support until 2027-03-27");
            assert.equal(eksSupport("1.99").price, PRICES.eksControlPlane);
            assert.match(eksSupport("").detail, /no support dates here, billed as standard support/);
        });

        it("every Kubernetes minor the config accepts has its support dates", () => {
            for (const v of SUPPORTED_KUBERNETES_VERSIONS) {
                assert.match(EKS_STANDARD_SUPPORT_ENDS[v] ?? "", /^\d{4}-\d{2}-\d{2}$/, v);
            }
        });

        it("bills each cluster at its own support: 1.34 is $438.00 a month, 1.35 $73.00", () => {
            const bill = (v: string) => buildBill([], { min: {}, max: {}, reachable: {} }, { clusters: 1, clusterVersions: [v], natGateways: 0, natGatewaysFrom: "", rootVolumes: {}, claims: [] });
            assert.deepEqual(bill("1.34").lines[1].monthly, { min: 438, max: 438, reachable: 438 });
            assert.deepEqual(bill("1.35").lines[1].monthly, { min: 73, max: 73, reachable: 73 });
        });
    });

    describe("buildBill", () => {
        const infra: Infrastructure = {
            clusters: 1,
            clusterVersions: ["1.35"],
            natGateways: 3,
            natGatewaysFrom: "test",
            rootVolumes: { system: { sizeGiB: 50, volumeType: "gp3" }, gpu: { sizeGiB: 500, volumeType: "gp3" } },
            claims: [
                { name: "monitoring/prometheus-0", sizeGiB: 20, storageClass: "gp3", backend: "ebs-gp3" },
                { name: "ml/data", sizeGiB: 1000, storageClass: "efs-ml", backend: "efs" },
                { name: "ml/other", sizeGiB: 7, storageClass: "io2", backend: "unpriced" },
            ],
        };
        const pools = [
            { name: "system", instanceType: "m6i.xlarge" },
            { name: "gpu", instanceType: "p4d.24xlarge" },
        ];
        const nodes = { min: { system: 2, gpu: 0 }, max: { system: 3, gpu: 0 }, reachable: { system: 4, gpu: 1 } };

        it("prices each item at each scale from facts/prices and the catalog, 730 hours a month", () => {
            const bill = buildBill(pools, nodes, infra);
            const monthly = Object.fromEntries(bill.lines.map((l) => [l.item, l.monthly]));
            assert.deepEqual(monthly, {
                "ec2-nodes": { min: 280.32, max: 420.48, reachable: 16589.72 }, // 0.192/h per m6i.xlarge, 21.957642/h the p4d
                "eks-control-plane": { min: 73, max: 73, reachable: 73 },
                "nat-gateways": { min: 98.55, max: 98.55, reachable: 98.55 },
                "ebs-root-volumes": { min: 8, max: 12, reachable: 56 }, // 100, 150, 700 GiB at 0.08
                "ebs-gp3-claims": { min: 1.6, max: 1.6, reachable: 1.6 },
                "efs-claims": { min: 300, max: 300, reachable: 300 },
            });
            assert.deepEqual(bill.monthly, { min: 761.47, max: 905.63, reachable: 17118.87 });
            assert.deepEqual(bill.lines.find((l) => l.item === "ebs-root-volumes")!.quantity, { min: 100, max: 150, reachable: 700 });
            assert.deepEqual(bill.perPool[1], { pool: "gpu", instanceType: "p4d.24xlarge", nodes: { min: 0, max: 0, reachable: 1 }, monthly: { min: 0, max: 0, reachable: 16029.08 } });
            assert.equal(bill.hourly.reachable, 23.45);
            assert.match(bill.lines[1].price, /^\$0\.10 per cluster-hour, us-east-1 list price \(https:\/\/aws\.amazon\.com\/eks\/pricing\/, taken \d{4}-\d{2}-\d{2}\)$/);
        });

        it("says what it does not count: traffic-driven charges, unpriced claims and root volumes it cannot price", () => {
            const bill = buildBill([...pools, { name: "legacy", instanceType: "m6i.large" }], nodes, { ...infra, rootVolumes: { ...infra.rootVolumes, legacy: { sizeGiB: 30, volumeType: "gp2" } } }, ["x y (a value unknown until deployed)"]);
            assert.ok(bill.notCounted[0].startsWith("NAT gateway data processing ($0.045 per GB"));
            assert.ok(bill.notCounted.includes("root volumes of pool legacy (gp2: no price for that type here)"));
            assert.ok(bill.notCounted.includes('claim ml/other (7 GiB, storage class "io2" has no price here)'));
            assert.ok(bill.notCounted.includes("x y (a value unknown until deployed)"));
            const noTemplate = buildBill(pools, nodes, { ...infra, rootVolumes: {} });
            assert.ok(noTemplate.notCounted.includes("root volumes of pool gpu (no launch template names its size)"));
            assert.deepEqual(noTemplate.lines.find((l) => l.item === "ebs-root-volumes")!.monthly, { min: 0, max: 0, reachable: 0 });
        });
    });

    describe("budgetVerdict (monthly-budget's judgement)", () => {
        const bill = buildBill([{ name: "gpu", instanceType: "p4d.24xlarge" }], { min: { gpu: 0 }, max: { gpu: 0 }, reachable: { gpu: 1 } }, { clusters: 1, clusterVersions: [""], natGateways: 0, natGatewaysFrom: "", rootVolumes: {}, claims: [] });

        it("judges the basis it is given: the reachable maximum sees the pool no workload needs", () => {
            assert.deepEqual(budgetVerdict(bill, 5000, "demand"), {
                basis: "demand",
                budget: 5000,
                monthly: 73,
                within: true,
                message: "the whole bill at the demand-driven maximum (the nodes the declared workloads need at maximum scale) is $73.00/month, $4,927.00 less than the budget of $5,000.00",
            });
            const over = budgetVerdict(bill, 5000, "reachable");
            assert.deepEqual([over.within, over.monthly], [false, 16102.08]);
            assert.equal(
                over.message,
                "the whole bill at the reachable maximum (every pool at maxSize) is $16,102.08/month, $11,102.08 more than the budget of $5,000.00 (largest: pool gpu, 1 x p4d.24xlarge, $16,029.08/month). Fix: lower maxSize (or maxReplicas), or raise maxMonthlyCost in the policy config.",
            );
        });

        it("a bill exactly at the budget is within it, a cent over is not", () => {
            assert.equal(budgetVerdict(bill, 16102.08, "reachable").within, true);
            assert.equal(budgetVerdict(bill, 16102.07, "reachable").within, false);
        });
    });
});
