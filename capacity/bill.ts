/**
 * The whole bill, not only the EC2 nodes: the EKS control plane, NAT gateways, the nodes' EBS root
 * volumes, gp3 claims (Prometheus' TSDB) and EFS claims, each priced once (facts/prices.ts), at three
 * scales: minimum and maximum as the workloads drive them, and the reachable maximum (every pool at its
 * maxSize, what the autoscaler may reach whatever the declared workloads are). What is counted comes
 * from the registered resources, so the plan and the monthly-budget rule read the same inputs. Pure.
 */
import { BILL_DATE, EKS_STANDARD_SUPPORT_ENDS, PRICES, ListPrice } from "../facts/prices";
import { CATALOG_SOURCE, HOURS_PER_MONTH } from "./catalog";
import { poolHourlyCost, roundCents } from "./cost";
import { LABEL_NODE_POOL } from "./pools";
import type { Props } from "./podTemplates";
import { GiB, parseMemory } from "./quantity";

/** min: the nodes the workloads need at minimum scale; max: at maximum scale; reachable: every pool at maxSize. */
export type BillScale = "min" | "max" | "reachable";
export type ScaleFigures = Record<BillScale, number>;

export type BillItem = "ec2-nodes" | "eks-control-plane" | "nat-gateways" | "ebs-root-volumes" | "ebs-gp3-claims" | "efs-claims";

export interface BillLine {
    item: BillItem;
    label: string;
    /** Units at each scale (nodes, clusters, gateways, GiB). */
    quantity: ScaleFigures;
    unit: "nodes" | "clusters" | "gateways" | "GiB";
    /** What the quantity is made of, for a reader. */
    detail: string;
    hourly: ScaleFigures;
    monthly: ScaleFigures;
    /** The price and its dated source. */
    price: string;
}

export interface Bill {
    lines: BillLine[];
    hourly: ScaleFigures;
    monthly: ScaleFigures;
    /** EC2 per pool at each scale, unrounded hourly sums rounded once. */
    perPool: { pool: string; instanceType: string; nodes: ScaleFigures; monthly: ScaleFigures }[];
    /** What a real bill has that this one does not price. */
    notCounted: string[];
}

export interface StorageClaim {
    /** namespace/name, or what creates it. */
    name: string;
    sizeGiB: number;
    storageClass: string;
}

/** What the bill needs to know of the registered resources besides the node pools. */
export interface Infrastructure {
    clusters: number;
    /** Each cluster's Kubernetes minor ("" when it does not say). */
    clusterVersions: string[];
    natGateways: number;
    /** How the gateway count was found. */
    natGatewaysFrom: string;
    /** The root volume of each pool's nodes, from its launch template. */
    rootVolumes: Record<string, { sizeGiB: number; volumeType: string }>;
    /** Claims and the class they are provisioned by. */
    claims: (StorageClaim & { backend: "ebs-gp3" | "efs" | "unpriced" })[];
}

interface Resource {
    type: string;
    name: string;
    props: Props;
}

export const EKS_CLUSTER_TYPES: readonly string[] = ["eks:index:Cluster", "aws:eks/cluster:Cluster"];
const AWSX_VPC = "awsx:ec2:Vpc";
const NAT_GATEWAY = "aws:ec2/natGateway:NatGateway";
const LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate";
const PVC = "kubernetes:core/v1:PersistentVolumeClaim";
const STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass";
const HELM_RELEASES: readonly string[] = ["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"];
/** awsx's defaults when a VPC does not say: three AZs, a NAT gateway in each. */
const AWSX_DEFAULT_AZS = 3;

/**
 * A rule reading a value a preview does not know yet is aborted (@pulumi/policy's UnknownValueError):
 * the bill then leaves that resource out and says so, rather than aborting the rules that analyse capacity.
 */
function known<T>(read: () => T, onUnknown: () => void): T | undefined {
    try {
        return read();
    } catch (e) {
        if ((e as Error)?.name === "UnknownValueError" || (e as Error)?.constructor?.name === "UnknownValueError") {
            onUnknown();
            return undefined;
        }
        throw e;
    }
}

function sizeGiB(quantity: unknown): number {
    return parseMemory(String(quantity)) / GiB;
}

/**
 * A real preview shows the children of the remote components (aws:eks/cluster:Cluster, NatGateway);
 * the offline plan shows the components' inputs (eks:index:Cluster, the awsx VPC's NAT strategy).
 * Both are read, children first, so neither world is counted twice.
 */
export function infrastructureOf(resources: Resource[]): { infrastructure: Infrastructure; unread: string[] } {
    const unread: string[] = [];
    const skip = (r: Resource) => () => unread.push(`${r.type} ${r.name} (a value unknown until deployed)`);

    const realClusters = resources.filter((r) => r.type === "aws:eks/cluster:Cluster");
    const clusterResources = realClusters.length > 0 ? realClusters : resources.filter((r) => r.type === "eks:index:Cluster");
    const clusterVersions = clusterResources.map((r) => known(() => (r.props.version === undefined ? "" : String(r.props.version)), skip(r)) ?? "");
    const clusters = clusterResources.length;

    const gateways = resources.filter((r) => r.type === NAT_GATEWAY).length;
    let natGateways = gateways;
    let natGatewaysFrom = `${gateways} NatGateway resource(s)`;
    if (gateways === 0) {
        natGateways = 0;
        const from: string[] = [];
        for (const r of resources.filter((x) => x.type === AWSX_VPC)) {
            known(() => {
                const strategy = String(r.props.natGateways?.strategy ?? "OnePerAz");
                const azs = Array.isArray(r.props.availabilityZoneNames)
                    ? r.props.availabilityZoneNames.length
                    : Number(r.props.numberOfAvailabilityZones ?? AWSX_DEFAULT_AZS);
                const n = strategy === "Single" ? 1 : strategy === "OnePerAz" ? azs : 0;
                natGateways += n;
                from.push(`VPC ${r.name}: strategy ${strategy} over ${azs} AZs`);
            }, skip(r));
        }
        natGatewaysFrom = from.join("; ") || "no VPC";
    }

    const rootVolumes: Infrastructure["rootVolumes"] = {};
    for (const r of resources.filter((x) => x.type === LAUNCH_TEMPLATE)) {
        known(() => {
            const pool = (r.props.tagSpecifications ?? []).map((t: Props) => t?.tags?.[LABEL_NODE_POOL]).find((p: unknown) => typeof p === "string");
            const root = (r.props.blockDeviceMappings ?? []).find((m: Props) => m?.ebs?.volumeSize !== undefined);
            if (pool && root) {
                rootVolumes[pool] = { sizeGiB: Number(root.ebs.volumeSize), volumeType: String(root.ebs.volumeType ?? "gp2") };
            }
        }, skip(r));
    }

    const classes = new Map<string, "ebs-gp3" | "efs" | "unpriced">();
    for (const r of resources.filter((x) => x.type === STORAGE_CLASS)) {
        known(() => {
            const backend = r.props.provisioner === "efs.csi.aws.com" ? "efs" : r.props.provisioner === "ebs.csi.aws.com" && r.props.parameters?.type === "gp3" ? "ebs-gp3" : "unpriced";
            classes.set(String(r.props.metadata?.name), backend);
        }, skip(r));
    }
    const claims: StorageClaim[] = [];
    for (const r of resources) {
        if (r.type === PVC) {
            known(() => {
                const storage = r.props.spec?.resources?.requests?.storage;
                if (storage !== undefined) {
                    claims.push({ name: `${r.props.metadata?.namespace ?? "default"}/${r.props.metadata?.name ?? r.name}`, sizeGiB: sizeGiB(storage), storageClass: String(r.props.spec?.storageClassName ?? "") });
                }
            }, skip(r));
        } else if (HELM_RELEASES.includes(r.type) && r.props.chart === "kube-prometheus-stack") {
            known(() => {
                const spec = r.props.values?.prometheus?.prometheusSpec;
                const claim = spec?.storageSpec?.volumeClaimTemplate?.spec;
                const storage = claim?.resources?.requests?.storage;
                if (storage !== undefined) {
                    const replicas = Number(spec.replicas ?? 1);
                    for (let i = 0; i < replicas; i++) {
                        claims.push({ name: `${r.props.namespace ?? "default"}/prometheus-${i} (kube-prometheus-stack)`, sizeGiB: sizeGiB(storage), storageClass: String(claim.storageClassName ?? "") });
                    }
                }
            }, skip(r));
        }
    }
    return {
        infrastructure: { clusters, clusterVersions, natGateways, natGatewaysFrom, rootVolumes, claims: claims.map((c) => ({ ...c, backend: classes.get(c.storageClass) ?? "unpriced" })) },
        unread,
    };
}

export interface BillPool {
    name: string;
    instanceType: string;
}

const priceText = (p: ListPrice) => `${usdPrice(p.usd)} per ${p.per}, ${p.region} list price (${p.source}, taken ${p.taken})`;

/**
 * Which support a cluster's Kubernetes minor bills as of BILL_DATE: standard until the calendar's last
 * day of standard support, extended after it. A minor the calendar does not list bills standard, and says so.
 */
export function eksSupport(version: string): { price: ListPrice; detail: string } {
    const ends = EKS_STANDARD_SUPPORT_ENDS[version];
    if (ends === undefined) {
        return { price: PRICES.eksControlPlane, detail: `Kubernetes ${version || "(version not given)"}: no support dates here, billed as standard support` };
    }
    if (ends < BILL_DATE) {
        return { price: PRICES.eksExtendedSupport, detail: `Kubernetes ${version}: extended support (standard support ended ${ends}; as of ${BILL_DATE})` };
    }
    return { price: PRICES.eksControlPlane, detail: `Kubernetes ${version}: standard support until ${ends}` };
}

/** $0.10, $0.045: cents always, a tenth of a cent when the price has one. */
export function usdPrice(usd: number): string {
    return `$${usd.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;
}

/** Charges NAT gateway data, EFS throughput and the rest a stack runs up by use, which no plan can know. */
export const NOT_COUNTED: readonly string[] = [
    `NAT gateway data processing (${usdPrice(PRICES.natGateway.usd)} per GB in ${PRICES.natGateway.region}, by traffic)`,
    "EFS throughput (Elastic: per GB read and written) and Infrequent Access reads",
    "data transfer between AZs and to the internet",
    "public IPv4 addresses, load balancers, CloudWatch Logs (control plane logs), KMS keys, backups and snapshots",
];

/**
 * The bill at each scale. `nodes` gives each pool's node count per scale; hourly items are billed for
 * HOURS_PER_MONTH hours, storage per GB-month (a GiB counted as a GB, as EBS bills provisioned GiB).
 * Sums stay unrounded until the end.
 */
export function buildBill(pools: BillPool[], nodes: Record<BillScale, Record<string, number>>, infra: Infrastructure, unread: string[] = []): Bill {
    const figures = (f: (s: BillScale) => number): ScaleFigures => ({ min: f("min"), max: f("max"), reachable: f("reachable") });
    const count = (s: BillScale, pool: string) => nodes[s][pool] ?? 0;
    const notCounted = [...NOT_COUNTED];
    const lines: BillLine[] = [];
    const add = (line: Omit<BillLine, "hourly" | "monthly">, hourly: ScaleFigures) =>
        lines.push({ ...line, hourly, monthly: figures((s) => hourly[s] * HOURS_PER_MONTH) });

    const perPool = pools.map((p) => ({
        pool: p.name,
        instanceType: p.instanceType,
        nodes: figures((s) => count(s, p.name)),
        hourly: figures((s) => poolHourlyCost(p.instanceType, count(s, p.name))),
    }));
    add(
        {
            item: "ec2-nodes",
            label: "EC2 nodes (on-demand)",
            quantity: figures((s) => perPool.reduce((n, p) => n + p.nodes[s], 0)),
            unit: "nodes",
            detail: perPool.map((p) => `${p.pool} ${p.instanceType}`).join(", "),
            price: `${CATALOG_SOURCE.prices} (${CATALOG_SOURCE.priceRegion} on-demand)`,
        },
        figures((s) => perPool.reduce((n, p) => n + p.hourly[s], 0)),
    );

    const hourlyOf = (price: ListPrice, units: number) => (price.per === "GB-month" ? (price.usd * units) / HOURS_PER_MONTH : price.usd * units);
    const constant = (price: ListPrice, units: number) => figures(() => hourlyOf(price, units));

    const support = infra.clusterVersions.map(eksSupport);
    const eksHourly = support.reduce((n, x) => n + x.price.usd, 0);
    add(
        {
            item: "eks-control-plane",
            label: "EKS control plane",
            quantity: figures(() => infra.clusters),
            unit: "clusters",
            detail: support.map((x) => x.detail).join("; ") || "none",
            price: [...new Set(support.map((x) => x.price))].map(priceText).join("; ") || priceText(PRICES.eksControlPlane),
        },
        figures(() => eksHourly),
    );
    add(
        { item: "nat-gateways", label: "NAT gateways (hours only)", quantity: figures(() => infra.natGateways), unit: "gateways", detail: infra.natGatewaysFrom, price: priceText(PRICES.natGateway) },
        constant(PRICES.natGateway, infra.natGateways),
    );

    const gp3Pools = pools.filter((p) => infra.rootVolumes[p.name]?.volumeType === "gp3");
    for (const p of pools.filter((x) => !gp3Pools.includes(x))) {
        const v = infra.rootVolumes[p.name];
        notCounted.push(v ? `root volumes of pool ${p.name} (${v.volumeType}: no price for that type here)` : `root volumes of pool ${p.name} (no launch template names its size)`);
    }
    const rootGiB = (s: BillScale) => gp3Pools.reduce((n, p) => n + infra.rootVolumes[p.name].sizeGiB * count(s, p.name), 0);
    add(
        {
            item: "ebs-root-volumes",
            label: "EBS root volumes (gp3)",
            quantity: figures(rootGiB),
            unit: "GiB",
            detail: gp3Pools.map((p) => `${p.name} ${infra.rootVolumes[p.name].sizeGiB} GiB per node`).join(", ") || "none",
            price: priceText(PRICES.ebsGp3),
        },
        figures((s) => hourlyOf(PRICES.ebsGp3, rootGiB(s))),
    );

    const claimLine = (item: BillItem, label: string, backend: "ebs-gp3" | "efs", price: ListPrice) => {
        const claims = infra.claims.filter((c) => c.backend === backend);
        const GiBs = claims.reduce((n, c) => n + c.sizeGiB, 0);
        add(
            { item, label, quantity: figures(() => GiBs), unit: "GiB", detail: claims.map((c) => `${c.name} ${c.sizeGiB} GiB`).join(", ") || "none", price: priceText(price) },
            constant(price, GiBs),
        );
    };
    claimLine("ebs-gp3-claims", "EBS gp3 claims", "ebs-gp3", PRICES.ebsGp3);
    claimLine("efs-claims", "EFS Standard (claim sizes)", "efs", PRICES.efsStandard);
    for (const c of infra.claims.filter((x) => x.backend === "unpriced")) {
        notCounted.push(`claim ${c.name} (${c.sizeGiB} GiB, storage class "${c.storageClass}" has no price here)`);
    }
    notCounted.push(...unread);

    const total = (f: (l: BillLine) => ScaleFigures) => figures((s) => lines.reduce((n, l) => n + f(l)[s], 0));
    const hourly = total((l) => l.hourly);
    const monthly = total((l) => l.monthly);
    const rounded = (f: ScaleFigures) => figures((s) => roundCents(f[s]));
    return {
        lines: lines.map((l) => ({ ...l, hourly: rounded(l.hourly), monthly: rounded(l.monthly) })),
        hourly: rounded(hourly),
        monthly: rounded(monthly),
        perPool: perPool.map((p) => ({ pool: p.pool, instanceType: p.instanceType, nodes: p.nodes, monthly: rounded(figures((s) => p.hourly[s] * HOURS_PER_MONTH)) })),
        notCounted,
    };
}
