/**
 * Values a stack file holds only as examples, which a real `pulumi up` must not see: documentation
 * CIDRs (RFC 5737), the AWS example account, example.com hosts, and the repository's placeholder
 * secrets. Pure: it reads a stack file's `config` map as YAML gives it and never decrypts anything.
 */

export interface Placeholder {
    /** The key path, e.g. `ml-platform:cluster.endpoint.publicAccessCidrs[0]`. */
    key: string;
    /** The value as the file holds it (a secret's ciphertext is not shown). */
    value: string;
    /** What it is. */
    kind: "documentation CIDR" | "example AWS account" | "example host" | "placeholder secret";
    /** What to do instead. */
    fix: string;
}

/** RFC 5737 TEST-NET-1..3: reserved for documentation, routed nowhere. */
export const DOCUMENTATION_CIDRS = ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24"] as const;
/** The account number AWS's own documentation uses. */
export const EXAMPLE_ACCOUNT = "123456789012";

const DOC_NETS = DOCUMENTATION_CIDRS.map((c) => c.split(".").slice(0, 3).join("."));

function inDocumentationNet(text: string): boolean {
    // An address or CIDR inside one of the /24s (203.0.113.7/32 too), not one that only starts alike.
    return DOC_NETS.some((net) => new RegExp(`(^|[^0-9.])${net.replace(/\./g, "\\.")}\\.\\d{1,3}(/\\d{1,2})?($|[^0-9.])`).test(text));
}

/**
 * A Pulumi ciphertext is `v1:<base64 nonce>:<base64 ciphertext>`. The repository's stand-ins have a
 * nonce that is a word and a run of zeros, and a "ciphertext" that is plain base64 of a text saying
 * "placeholder": neither comes from `pulumi config set --secret`.
 */
export function isPlaceholderSecret(secure: string): boolean {
    const m = /^v1:([^:]*):(.*)$/.exec(secure);
    if (!m) {
        return true;
    }
    if (/0{8,}/.test(m[1])) {
        return true;
    }
    const text = Buffer.from(m[2], "base64").toString("latin1");
    return /placeholder|example|changeme/i.test(text);
}

function check(key: string, value: string, found: Placeholder[]): void {
    if (inDocumentationNet(value)) {
        found.push({
            key,
            value,
            kind: "documentation CIDR",
            fix: "a documentation range (RFC 5737) matches no real client: put the CIDRs that must reach it (office, VPN, CI runners' egress)",
        });
    }
    if (value.includes(EXAMPLE_ACCOUNT)) {
        found.push({ key, value, kind: "example AWS account", fix: `replace account ${EXAMPLE_ACCOUNT} (AWS's documentation example) with the account that owns it` });
    }
    if (/(^|[^a-z0-9-])([a-z0-9-]+\.)*example\.(com|org|net)($|[^a-z0-9-])/i.test(value)) {
        found.push({ key, value, kind: "example host", fix: "example.com/.org/.net resolve to IANA's example server: put the real host" });
    }
}

function walk(key: string, value: unknown, found: Placeholder[]): void {
    if (typeof value === "string") {
        check(key, value, found);
    } else if (Array.isArray(value)) {
        value.forEach((v, i) => walk(`${key}[${i}]`, v, found));
    } else if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        if (Object.keys(obj).length === 1 && typeof obj.secure === "string") {
            if (isPlaceholderSecret(obj.secure)) {
                found.push({
                    key,
                    value: "secure: (placeholder)",
                    kind: "placeholder secret",
                    fix: `not a real Pulumi ciphertext: run \`pulumi config set --secret ${key.split(/[.[]/)[0]} <value> -s <stack>\``,
                });
            }
            return;
        }
        for (const [k, v] of Object.entries(obj)) {
            walk(`${key}.${k}`, v, found);
        }
    } else if (typeof value === "number") {
        check(key, String(value), found);
    }
}

/** Every placeholder in a stack file's `config` map, in file order. */
export function findPlaceholders(config: Record<string, unknown>): Placeholder[] {
    const found: Placeholder[] = [];
    for (const [key, value] of Object.entries(config)) {
        walk(key, value, found);
    }
    return found;
}
