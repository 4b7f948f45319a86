/**
 * Records every resource the program registers, with the options the engine would see (protect,
 * retainOnDelete, dependsOn, provider...). `setMocks`' newResource only sees type, name and inputs, so
 * we read the whole RegisterResourceRequest at the mock monitor.
 */
import * as pulumi from "@pulumi/pulumi";

export const SECRET_PLACEHOLDER = "[secret]";

/** The markers Pulumi uses in serialized property values, from the SDK itself. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const rpc = require("@pulumi/pulumi/runtime/rpc") as {
    specialSigKey: string;
    specialSecretSig: string;
    specialResourceSig: string;
    specialOutputValueSig: string;
    unknownValue: string;
    deserializeProperties(struct: { toJavaScript(): Record<string, unknown> }): Record<string, unknown>;
    serializeProperties(label: string, props: Record<string, unknown>): Promise<Record<string, unknown>>;
};
const { specialSigKey: SIG_KEY, specialSecretSig: SIG_SECRET, specialResourceSig: SIG_RESOURCE, specialOutputValueSig: SIG_OUTPUT, unknownValue: UNKNOWN } = rpc;
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
    getImportid(): string;
}

/** A JSON value as a protobuf Struct round trip returns it: a fresh copy, object keys sorted. */
export function structValue(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(structValue);
    }
    if (value !== null && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const key of Object.keys(value).sort()) {
            out[key] = structValue((value as Record<string, unknown>)[key]);
        }
        return out;
    }
    return value;
}

/** resource.proto's Result.SUCCESS: the registration completed, so unknown outputs are not kept. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const RESULT_SUCCESS = (require("@pulumi/pulumi/proto/resource_pb") as { Result: { SUCCESS: number } }).Result.SUCCESS;

/** The parts of Pulumi's MockMonitor (runtime/mocks.js) the recorder stands in for. */
interface MockMonitorInternals {
    mocks: pulumi.runtime.Mocks;
    resources: Map<string, { urn: string; id: string | null; state: unknown }>;
    newUrn(parent: string, type: string, name: string): string;
    registerResource(req: RegisterRequest, cb: (err: unknown, resp?: unknown) => void): Promise<void>;
}

/**
 * Takes over the registerResource of the mock monitor set by `setMocks` and returns the live list
 * of recorded resources (`onRecord` sees each as it is recorded). It does what the SDK's MockMonitor
 * does (deserialize the inputs, ask the mocks, remember the serialized state for getResource, answer URN, ID and state) with the request
 * decoded once for both the recorder and the mocks, and the answer handed back as the serialized
 * state (copied with sorted keys, as a Struct would give it) rather than encoded to a protobuf Struct
 * only for the SDK to decode it again: at thousands of resources those round trips were a large share
 * of a plan. With `stock`, the SDK's MockMonitor answers instead (the A/B test's reference run).
 */
export function attachRecorder(onRecord?: (r: RecordedResource) => void, opts: { stock?: boolean } = {}): RecordedResource[] {
    const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorInternals | undefined;
    if (!monitor || !monitor.mocks || !(monitor.resources instanceof Map)) {
        throw new Error("attachRecorder needs pulumi.runtime.setMocks to have been called");
    }
    const recorded: RecordedResource[] = [];
    const stockRegister = monitor.registerResource.bind(monitor);
    monitor.registerResource = async (req, cb) => {
        try {
            const raw = req.getObject()?.toJavaScript() ?? {};
            const found = { secret: false };
            const record: RecordedResource = {
                urn: urnFor(req.getType(), req.getName()),
                type: req.getType(),
                name: req.getName(),
                parent: req.getParent() || undefined,
                custom: req.getCustom(),
                remote: req.getRemote(),
                inputs: plainify(raw, found) as Record<string, unknown>,
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
            };
            recorded.push(record);
            onRecord?.(record);
            if (opts.stock) {
                return stockRegister(req, cb);
            }
            const result = await monitor.mocks.newResource({
                type: req.getType(),
                name: req.getName(),
                inputs: rpc.deserializeProperties({ toJavaScript: () => raw }),
                provider: req.getProvider(),
                custom: req.getCustom(),
                id: req.getImportid(),
            });
            const urn = monitor.newUrn(req.getParent(), req.getType(), req.getName());
            const state = await rpc.serializeProperties("", result.state);
            monitor.resources.set(urn, { urn, id: result.id ?? null, state });
            cb(null, {
                getUrn: () => urn,
                getId: () => result.id || "",
                // As the engine's answer would arrive: a Struct's copy, keys sorted.
                getObject: () => ({ toJavaScript: () => structValue(state) }),
                getPropertydependenciesMap: () => undefined,
                getResult: () => RESULT_SUCCESS,
            });
        } catch (err) {
            cb(err, undefined);
        }
    };
    return recorded;
}
