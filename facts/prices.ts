/**
 * AWS list prices of what the platform runs besides its EC2 nodes (those are in capacity/catalog.ts).
 * Each price is here once, with the page it is published on and the day it was taken. All are the
 * us-east-1 (US East, N. Virginia) list prices, whatever region a stack names: other regions differ.
 */
export interface ListPrice {
    /** What is billed, as the pricing page names it. */
    what: string;
    usd: number;
    /** The billing unit: per hour of one thing, or per GB-month of storage. */
    per: "cluster-hour" | "gateway-hour" | "GB-month";
    region: "us-east-1";
    source: string;
    /** When the price was read from the source (YYYY-MM-DD). */
    taken: string;
}

export const PRICES = {
    /** Standard support: the version is within 14 months of its EKS release (EKS_STANDARD_SUPPORT_ENDS). */
    eksControlPlane: {
        what: "EKS cluster, standard Kubernetes version support",
        usd: 0.1,
        per: "cluster-hour",
        region: "us-east-1",
        source: "https://aws.amazon.com/eks/pricing/",
        taken: "2026-12-03",
    },
    /** The whole per-cluster charge once the version is past standard support (not $0.60 on top of $0.10). */
    eksExtendedSupport: {
        what: "EKS cluster, extended Kubernetes version support",
        usd: 0.6,
        per: "cluster-hour",
        region: "us-east-1",
        source: "https://aws.amazon.com/eks/pricing/",
        taken: "2026-12-03",
    },
    /** The hourly charge only; $0.045 per GB processed comes on top and depends on traffic. */
    natGateway: {
        what: "NAT gateway hour",
        usd: 0.045,
        per: "gateway-hour",
        region: "us-east-1",
        source: "https://aws.amazon.com/vpc/pricing/",
        taken: "2026-12-03",
    },
    /** Provisioned storage; 3,000 IOPS and 125 MiB/s are included, which is all the platform asks for. */
    ebsGp3: {
        what: "EBS gp3 storage",
        usd: 0.08,
        per: "GB-month",
        region: "us-east-1",
        source: "https://aws.amazon.com/ebs/pricing/",
        taken: "2026-12-03",
    },
    /** Regional (multi-AZ) Standard storage class; Elastic Throughput reads and writes are billed on top. */
    efsStandard: {
        what: "EFS Standard storage",
        usd: 0.3,
        per: "GB-month",
        region: "us-east-1",
        source: "https://aws.amazon.com/efs/pricing/",
        taken: "2026-12-03",
    },
} as const satisfies Record<string, ListPrice>;

/** The day the bill is priced as of: the prices' date, fixed so that plans stay deterministic. */
export const BILL_DATE = "2026-12-03";

/**
 * The last day of EKS standard support per Kubernetes minor (14 months after its EKS release); after it
 * a cluster on that minor bills extended support. From AWS's EKS Kubernetes release calendar,
 * https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html, taken 2026-12-03.
 */
export const EKS_STANDARD_SUPPORT_ENDS: Record<string, string> = {
    "1.34": "2026-12-02",
    "1.35": "2027-03-27",
};
