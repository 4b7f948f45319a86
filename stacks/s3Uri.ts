/** The model artifact's S3 location: one rule for what validation accepts and what the read grant is built from. */
import { NameProblem } from "../capacity/labels";

export interface S3Location {
    bucket: string;
    /** Key prefix, empty or ending in "/". */
    prefix: string;
    /** The normalised URI, s3://bucket/prefix. */
    uri: string;
}

const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/(.*))?$/;

/** Why a URI cannot be a model location, or undefined. Wildcards are refused: IAM would expand them in the grant. */
export function s3UriProblem(uri: string): NameProblem | undefined {
    const m = S3_URI.exec(uri);
    if (!m) {
        return { wrong: "must be an S3 URI such as s3://bucket/models/name/v3/", allowed: "s3://<bucket>/<prefix>/ with a bucket name of 3-63 lower-case letters, digits, '.' and '-'" };
    }
    if (/[*?\s]/.test(m[2] ?? "")) {
        return { wrong: "must name one prefix: IAM would expand a wildcard in the model's read grant", allowed: "s3://<bucket>/<prefix>/ with no wildcards (*, ?) or whitespace" };
    }
    return undefined;
}

/**
 * Splits s3://bucket/some/prefix into bucket and a directory prefix (a trailing "/" is added, so the
 * grant for models/v3 cannot also cover models/v30).
 */
export function parseS3Uri(uri: string): S3Location {
    const problem = s3UriProblem(uri);
    if (problem) {
        throw new Error(`"${uri}" ${problem.wrong}; allowed: ${problem.allowed}`);
    }
    const m = S3_URI.exec(uri)!;
    const bucket = m[1];
    let prefix = m[2] ?? "";
    if (prefix !== "" && !prefix.endsWith("/")) {
        prefix += "/";
    }
    return { bucket, prefix, uri: `s3://${bucket}/${prefix}` };
}

const PATH_SEGMENT = /^[A-Za-z0-9._-]+$/;

/** Why a folder cannot be a data-sync target inside a claim, or undefined: relative, no "..", no empty segment. */
export function claimPathProblem(path: string): NameProblem | undefined {
    const segments = path.replace(/\/$/, "").split("/");
    if (path === "" || path.startsWith("/") || segments.some((s) => !PATH_SEGMENT.test(s) || s === "." || s === "..")) {
        return {
            wrong: "must be a folder relative to the claim's root",
            allowed: "segments of letters, digits, '.', '_' and '-' joined by '/', e.g. imagenet/2026-01 (no leading '/', no '.' or '..')",
        };
    }
    return undefined;
}
