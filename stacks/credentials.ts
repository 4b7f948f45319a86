/**
 * Shapes of values that are credentials whatever the key or variable holding them is called. Config
 * validation refuses them outside Pulumi secrets; the policy pack refuses them in container env.
 */
const CREDENTIAL_SHAPES: [RegExp, string][] = [
    [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
    [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
    [/\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"]+:[^/\s@"]+@/i, "a URL with a password"],
];

/** What credential the text looks like, or undefined. Never returns the value itself. */
export function credentialShape(text: string): string | undefined {
    return CREDENTIAL_SHAPES.find(([re]) => re.test(text))?.[1];
}

/**
 * Env var names that carry credentials (case-insensitive): such a variable may only come from a
 * Kubernetes Secret. The policy pack's default for secrets-from-secret-refs and the serving entries'
 * `env` validation share it.
 */
export const CREDENTIAL_ENV_NAME_PATTERN = "PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|TRACKING_URI";
