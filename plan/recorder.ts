/**
 * Records every resource the program registers, with the options the engine would see (protect,
 * retainOnDelete, dependsOn, provider...). `setMocks`' newResource only sees type, name and inputs, so
 * we read the whole RegisterResourceRequest at the mock monitor.
 */
import * as pulumi from "@pulumi/pulumi";

export const SECRET_PLACEHOLDER = "[secret]";

// Signatures Pulumi uses in serialized property values.
const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SIG_SECRET = "1b47061264138c4ac30d75fd1eb44270";
const SIG_RESOURCE = "5cf8f73096256a8f31e491e813e4eb8e";
const SIG_OUTPUT = "d0e6a833031e9bbcd3f4e8bde6ca49a4";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
export const UNKNOWN_PLACEHOLDER = "[unknown until apply]";

/** A stack output as the plan records it (resources.json "outputs"); a secret's value is the placeholder. */
export interface StackOutput {
    value: unknown;
    secret: boolean;
}

export interface RecordedOptions {
    protect: boolean;
    retainOnDelete: boolean;
    dependsOn: string[];
    provider?: string;
    ignoreChanges: string[];
    replaceOnChanges: string[];
    deleteBeforeReplace: boolean;
}

export interface RecordedResource {
    urn: string;
    type: string;
    name: string;
    parent?: string;
    custom: boolean;
    /** A remote (multi-language) component: the real engine adds its children. */
    remote: boolean;
    inputs: Record<string, unknown>;
    options: RecordedOptions;
    /** True when any input was a secret (its value is replaced by a placeholder). */
    hasSecretInputs: boolean;
}

/** Keeps a secret's shape (map keys) so manifests stay valid, and drops every value. */
function redact(value: unknown): unknown {
    if (value && typeof value === "object" && !Array.isArray(value)) {
        return Object.fromEntries(Object.keys(value).map((k) => [k, SECRET_PLACEHOLDER]));
    }
    return SECRET_PLACEHOLDER;
}

/** Turns serialized property values into plain JSON: secrets redacted, references as URNs. */
export function plainify(value: unknown, found: { secret: boolean }): unknown {
    if (Array.isArray(value)) {
        return value.map((v) => plainify(v, found));
    }
    if (value === UNKNOWN) {
        return UNKNOWN_PLACEHOLDER;
    }
    if (value && typeof value === "object") {
        const obj = value as Record<string, unknown>;
        switch (obj[SIG_KEY]) {
            case SIG_SECRET:
                found.secret = true;
                return redact(obj.value);
            case SIG_RESOURCE:
                return { resource: obj.urn };
            case SIG_OUTPUT:
                if (obj.secret) {
                    found.secret = true;
                    return redact(obj.value);
                }
                return "value" in obj ? plainify(obj.value, found) : UNKNOWN_PLACEHOLDER;
        }
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(obj)) {
            out[k] = plainify(v, found);
        }
        return out;
    }
    return value;
}

function urnFor(type: string, name: string): string {
    return `urn:pulumi:${pulumi.getStack()}::${pulumi.getProject()}::${type}::${name}`;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getCustom(): boolean;
    getRemote(): boolean;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getProtect(): boolean;
    getRetainondelete(): boolean;
    getDependenciesList(): string[];
    getProvider(): string;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getDeletebeforereplace(): boolean;
}

/** Wraps the mock monitor set by `setMocks`; returns the live list of recorded resources. */
export function attachRecorder(): RecordedResource[] {
    const monitor = pulumi.runtime.getMonitor() as unknown as { registerResource: (req: RegisterRequest, cb: unknown) => unknown };
    if (!monitor) {
        throw new Error("attachRecorder needs pulumi.runtime.setMocks to have been called");
    }
    const recorded: RecordedResource[] = [];
    const original = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: RegisterRequest, cb: unknown) => {
        const found = { secret: false };
        const inputs = plainify(req.getObject()?.toJavaScript() ?? {}, found) as Record<string, unknown>;
        recorded.push({
            urn: urnFor(req.getType(), req.getName()),
            type: req.getType(),
            name: req.getName(),
            parent: req.getParent() || undefined,
            custom: req.getCustom(),
            remote: req.getRemote(),
            inputs,
            options: {
                protect: req.getProtect() === true,
                retainOnDelete: req.getRetainondelete() === true,
                dependsOn: req.getDependenciesList(),
                provider: req.getProvider() || undefined,
                ignoreChanges: req.getIgnorechangesList(),
                replaceOnChanges: req.getReplaceonchangesList(),
                deleteBeforeReplace: req.getDeletebeforereplace(),
            },
            hasSecretInputs: found.secret,
        });
        return original(req, cb);
    };
    return recorded;
}
