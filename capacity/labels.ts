/**
 * What the Kubernetes API server accepts as a label or taint key (a qualified name) and as a label
 * value, checked before anything reaches a node group. Each check returns what is wrong and what is
 * allowed, or undefined when the string is fine.
 */

export interface NameProblem {
    wrong: string;
    allowed: string;
}

/** Kubernetes' limit for a name part and for a label value. */
export const LABEL_MAX_LENGTH = 63;
export const DNS_SUBDOMAIN_MAX_LENGTH = 253;

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

const QUALIFIED_NAME_ALLOWED =
    `an optional DNS subdomain prefix (at most ${DNS_SUBDOMAIN_MAX_LENGTH} characters) and "/", then a name of 1-${LABEL_MAX_LENGTH} ` +
    "letters, digits, '-', '_' and '.' that starts and ends with a letter or digit (e.g. dedicated, example.com/gpu)";

const LABEL_VALUE_ALLOWED = `empty, or 1-${LABEL_MAX_LENGTH} letters, digits, '-', '_' and '.' that start and end with a letter or digit`;

/** A label or taint key: `[prefix/]name`, as apimachinery's IsQualifiedName checks it. */
export function qualifiedNameProblem(key: string): NameProblem | undefined {
    const parts = key.split("/");
    if (parts.length > 2) {
        return { wrong: 'must be a qualified name with at most one "/"', allowed: QUALIFIED_NAME_ALLOWED };
    }
    const [prefix, name] = parts.length === 2 ? parts : [undefined, parts[0]];
    if (prefix !== undefined && (prefix.length > DNS_SUBDOMAIN_MAX_LENGTH || !DNS_SUBDOMAIN.test(prefix))) {
        return { wrong: `must have a DNS subdomain (at most ${DNS_SUBDOMAIN_MAX_LENGTH} characters) before "/"`, allowed: QUALIFIED_NAME_ALLOWED };
    }
    if (name.length > LABEL_MAX_LENGTH) {
        return { wrong: `must have a name part of at most ${LABEL_MAX_LENGTH} characters (it has ${name.length})`, allowed: QUALIFIED_NAME_ALLOWED };
    }
    if (!NAME.test(name)) {
        return { wrong: "must be a qualified name (label or taint key)", allowed: QUALIFIED_NAME_ALLOWED };
    }
    return undefined;
}

/** A label value; taint values follow the same rule. */
export function labelValueProblem(value: string): NameProblem | undefined {
    if (value.length > LABEL_MAX_LENGTH) {
        return { wrong: `must be a label value of at most ${LABEL_MAX_LENGTH} characters (it has ${value.length})`, allowed: LABEL_VALUE_ALLOWED };
    }
    if (value !== "" && !NAME.test(value)) {
        return { wrong: "must be a label value", allowed: LABEL_VALUE_ALLOWED };
    }
    return undefined;
}
