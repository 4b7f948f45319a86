/**
 * Stack files of one project that would collide in AWS: two stacks in the same account and region
 * with the same EKS cluster name (EKS refuses the second), or with overlapping VPC CIDRs (the VPCs can
 * never be peered or routed to each other, and a copied stack file is the usual cause). Pure: it is
 * handed each file's `config` map as YAML gives it.
 *
 * A stack's account is what its file says: `aws:allowedAccountIds`, else the account IDs of the IAM
 * ARNs in `ml-platform:cluster` (admins, app teams). Two stacks share an account when those sets meet,
 * or when either file names no account (the conservative answer: a copied file names the same one).
 */
import { describe, NAMESPACE } from "./errors";

export interface SiblingStack {
    /** The file as messages name it, e.g. Pulumi.staging.yaml. */
    file: string;
    /** The file's `config` map (secrets stay `{ secure }`). */
    config: Record<string, unknown>;
}

interface Placement {
    file: string;
    region?: string;
    accounts: string[];
    clusterName?: string;
    vpcCidr?: string;
}

/** The schema's default (stacks/schema.ts clusterSchema). */
const DEFAULT_VPC_CIDR = "10.0.0.0/16";
const ARN_ACCOUNT = /^arn:aws[a-z-]*:iam::(\d{12}):/;

function cluster(config: Record<string, unknown>): Record<string, unknown> | undefined {
    const c = config[`${NAMESPACE}:cluster`];
    return c && typeof c === "object" && !Array.isArray(c) ? (c as Record<string, unknown>) : undefined;
}

function accountsOf(config: Record<string, unknown>): string[] {
    const allowed = config["aws:allowedAccountIds"];
    if (Array.isArray(allowed) && allowed.length > 0) {
        return allowed.map(String);
    }
    const c = cluster(config);
    const arns = [
        ...(Array.isArray(c?.admins) ? c.admins : []),
        ...(Array.isArray(c?.appTeams) ? c.appTeams.map((t) => (t && typeof t === "object" ? (t as Record<string, unknown>).principalArn : undefined)) : []),
    ];
    return [...new Set(arns.map((a) => (typeof a === "string" ? ARN_ACCOUNT.exec(a)?.[1] : undefined)).filter((a): a is string => a !== undefined))];
}

function placementOf(s: SiblingStack): Placement {
    const c = cluster(s.config);
    const region = s.config["aws:region"];
    return {
        file: s.file,
        region: typeof region === "string" ? region : undefined,
        accounts: accountsOf(s.config),
        clusterName: typeof c?.name === "string" ? c.name : undefined,
        vpcCidr: c === undefined ? undefined : typeof c.vpcCidr === "string" ? c.vpcCidr : DEFAULT_VPC_CIDR,
    };
}

/** An IPv4 CIDR as [first, last] address numbers; undefined when it is not one (validation says so). */
export function cidrRange(cidr: string): [number, number] | undefined {
    const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr);
    if (!m) {
        return undefined;
    }
    const octets = m.slice(1, 5).map(Number);
    const bits = Number(m[5]);
    if (octets.some((o) => o > 255) || bits > 32) {
        return undefined;
    }
    const address = octets.reduce((a, o) => a * 256 + o, 0);
    const size = 2 ** (32 - bits);
    const first = Math.floor(address / size) * size;
    return [first, first + size - 1];
}

export function cidrsOverlap(a: string, b: string): boolean {
    const x = cidrRange(a);
    const y = cidrRange(b);
    return x !== undefined && y !== undefined && x[0] <= y[1] && y[0] <= x[1];
}

function sameAccount(a: Placement, b: Placement): string | undefined {
    if (a.accounts.length === 0 || b.accounts.length === 0) {
        return "what may be the same account (a file without aws:allowedAccountIds or IAM ARNs could be in any)";
    }
    const shared = a.accounts.filter((x) => b.accounts.includes(x));
    return shared.length > 0 ? `the same account ${shared.join(", ")}` : undefined;
}

/**
 * The conflicts of stack file `own` with the other stack files of its project: one problem line per
 * conflicting key and file, naming both files, the key, the value and what is allowed.
 */
export function siblingConflicts(own: SiblingStack, others: SiblingStack[]): string[] {
    const me = placementOf(own);
    const problems: string[] = [];
    for (const other of others.map(placementOf)) {
        if (other.file === me.file || me.region === undefined || me.region !== other.region) {
            continue;
        }
        const account = sameAccount(me, other);
        if (!account) {
            continue;
        }
        const where = `in ${account} and region ${me.region}`;
        if (me.clusterName !== undefined && me.clusterName === other.clusterName) {
            problems.push(
                `${NAMESPACE}:cluster.name of ${me.file} is also the cluster name of ${other.file} ${where}, got ${describe(me.clusterName)}; ` +
                    `allowed: a name no other stack file of the project uses there (EKS cluster names are unique per account and region)`,
            );
        }
        if (me.vpcCidr !== undefined && other.vpcCidr !== undefined && cidrsOverlap(me.vpcCidr, other.vpcCidr)) {
            problems.push(
                `${NAMESPACE}:cluster.vpcCidr of ${me.file} overlaps ${NAMESPACE}:cluster.vpcCidr ${describe(other.vpcCidr)} of ${other.file} ${where}, got ${describe(me.vpcCidr)}; ` +
                    `allowed: a range that overlaps no other stack's VPC (a missing vpcCidr is ${DEFAULT_VPC_CIDR})`,
            );
        }
    }
    return problems;
}
