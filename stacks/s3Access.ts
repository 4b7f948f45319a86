/**
 * Least-privilege S3 access for the platform's own workload roles (training runs, data-sync Jobs): the
 * IAM document built from declared prefixes, the service account annotations that declare them, and
 * the judgement the policy pack makes of a document against those declarations. One module, so the
 * grant and the rule that checks it cannot drift. Pure.
 */
import { parseS3Uri, S3Location } from "./s3Uri";

/** What "read" grants: objects under the prefix. */
export const S3_READ_ACTIONS = ["s3:GetObject"] as const;
/** What "write" grants: new objects under the prefix, and cleaning up its own failed multipart uploads. */
export const S3_WRITE_ACTIONS = ["s3:PutObject", "s3:AbortMultipartUpload"] as const;
/** Listing is bucket-level in IAM; the s3:prefix condition narrows it to the declared prefixes. */
export const S3_LIST_ACTION = "s3:ListBucket";

/** Service account annotations that declare, in the cluster, which S3 prefixes the account's role may read and write. */
export const S3_READ_ANNOTATION = "ml-platform/s3-read";
export const S3_WRITE_ANNOTATION = "ml-platform/s3-write";

export interface S3Access {
    read: S3Location[];
    write: S3Location[];
}

const objectArn = (l: S3Location) => `arn:aws:s3:::${l.bucket}/${l.prefix}*`;
const bucketArn = (bucket: string) => `arn:aws:s3:::${bucket}`;

function byBucket(locations: S3Location[]): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const l of locations) {
        const prefixes = out.get(l.bucket) ?? [];
        if (!prefixes.includes(`${l.prefix}*`)) prefixes.push(`${l.prefix}*`);
        out.set(l.bucket, prefixes);
    }
    return out;
}

/**
 * The role policy: GetObject under the read prefixes, PutObject/AbortMultipartUpload under the write
 * prefixes, ListBucket only with an s3:prefix condition naming those prefixes. Undefined when nothing
 * is declared (IAM refuses a policy without statements).
 */
export function s3AccessPolicy(access: S3Access) {
    const statements: Record<string, unknown>[] = [];
    if (access.read.length > 0) {
        statements.push({ Sid: "ReadDeclaredPrefixes", Effect: "Allow", Action: [...S3_READ_ACTIONS], Resource: access.read.map(objectArn) });
    }
    if (access.write.length > 0) {
        statements.push({ Sid: "WriteDeclaredPrefixes", Effect: "Allow", Action: [...S3_WRITE_ACTIONS], Resource: access.write.map(objectArn) });
    }
    for (const [bucket, prefixes] of byBucket([...access.read, ...access.write])) {
        statements.push({
            Sid: `ListDeclaredPrefixes${statements.length}`,
            Effect: "Allow",
            Action: [S3_LIST_ACTION],
            Resource: [bucketArn(bucket)],
            Condition: { StringLike: { "s3:prefix": prefixes } },
        });
    }
    return statements.length > 0 ? { Version: "2012-10-17", Statement: statements } : undefined;
}

/** The annotations a service account carries for its declared access (space-separated URIs). */
export function s3AccessAnnotations(access: S3Access): Record<string, string> {
    const out: Record<string, string> = {};
    if (access.read.length > 0) out[S3_READ_ANNOTATION] = access.read.map((l) => l.uri).join(" ");
    if (access.write.length > 0) out[S3_WRITE_ANNOTATION] = access.write.map((l) => l.uri).join(" ");
    return out;
}

/** Reads the declarations back from a service account's annotations; bad URIs are reported, not thrown. */
export function declaredS3Access(annotations: Record<string, string> | undefined, problems: string[] = []): S3Access {
    const parse = (key: string) =>
        (annotations?.[key] ?? "")
            .split(/\s+/)
            .filter((u) => u !== "")
            .flatMap((u) => {
                try {
                    return [parseS3Uri(u)];
                } catch (e) {
                    problems.push(`annotation ${key}: ${(e as Error).message}`);
                    return [];
                }
            });
    return { read: parse(S3_READ_ANNOTATION), write: parse(S3_WRITE_ANNOTATION) };
}

/** Whether `a` and `b` overlap: one prefix contains the other in the same bucket. */
export function prefixesOverlap(a: S3Location, b: S3Location): boolean {
    return a.bucket === b.bucket && (a.prefix.startsWith(b.prefix) || b.prefix.startsWith(a.prefix));
}

const asList = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Everything a policy document grants beyond the declared access, one line each (empty when it grants
 * nothing more). Only Allow statements count; NotAction/NotResource and wildcards are always too much.
 */
export function grantsBeyondDeclared(document: unknown, declared: S3Access): string[] {
    const problems: string[] = [];
    const doc = typeof document === "string" ? safeJson(document, problems) : document;
    const statements = asList((doc as { Statement?: unknown } | undefined)?.Statement);
    const readArns = new Set(declared.read.map(objectArn));
    const writeArns = new Set(declared.write.map(objectArn));
    const listable = byBucket([...declared.read, ...declared.write]);
    statements.forEach((raw, i) => {
        const s = raw as Record<string, unknown>;
        const at = `statement ${String(s.Sid ?? i)}`;
        if (s.Effect !== "Allow") return;
        if (s.NotAction !== undefined || s.NotResource !== undefined) {
            problems.push(`${at} uses NotAction/NotResource, which grants everything not listed`);
            return;
        }
        const actions = asList(s.Action).map(String);
        const resources = asList(s.Resource).map(String);
        for (const action of actions) {
            if ((S3_READ_ACTIONS as readonly string[]).includes(action)) {
                resources.filter((r) => !readArns.has(r)).forEach((r) => problems.push(`${at} allows ${action} on ${r}, outside the declared read prefixes`));
            } else if ((S3_WRITE_ACTIONS as readonly string[]).includes(action)) {
                resources.filter((r) => !writeArns.has(r)).forEach((r) => problems.push(`${at} allows ${action} on ${r}, outside the declared write prefixes`));
            } else if (action === S3_LIST_ACTION) {
                for (const r of resources) {
                    const bucket = r.startsWith("arn:aws:s3:::") ? r.slice("arn:aws:s3:::".length) : undefined;
                    const allowed = bucket === undefined ? undefined : listable.get(bucket);
                    const condition = (s.Condition as { StringLike?: Record<string, unknown> } | undefined)?.StringLike?.["s3:prefix"];
                    const prefixes = asList(condition).map(String);
                    if (!allowed) {
                        problems.push(`${at} allows ${action} on ${r}, a bucket with no declared prefix`);
                    } else if (prefixes.length === 0) {
                        problems.push(`${at} allows ${action} on ${r} with no s3:prefix condition: it lists the whole bucket`);
                    } else {
                        prefixes.filter((p) => !allowed.includes(p)).forEach((p) => problems.push(`${at} allows ${action} on ${r} under s3:prefix ${p}, which is not declared`));
                    }
                }
            } else {
                problems.push(`${at} allows ${action}, which is neither read (${S3_READ_ACTIONS.join(", ")}), write (${S3_WRITE_ACTIONS.join(", ")}) nor ${S3_LIST_ACTION}`);
            }
        }
    });
    return problems;
}

function safeJson(text: string, problems: string[]): unknown {
    try {
        return JSON.parse(text);
    } catch {
        problems.push("the policy is not valid JSON");
        return undefined;
    }
}
