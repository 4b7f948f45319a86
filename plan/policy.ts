/**
 * The offline policy gate: runs every rule of the CrossGuard pack over what the program registered,
 * the way the Pulumi engine would call it — resource rules once per resource, stack rules once over
 * all — with the same per-policy config (policy/config/<environment>.json) CI passes to
 * `pulumi preview --policy-pack-config`. The offline world shows inputs, so remote components
 * (ManagedNodeGroup, awsx VPC) appear as themselves, without their children.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { EnforcementLevel, PolicyResource, PolicyResourceOptions, ResourceValidationArgs, Severity, StackValidationArgs } from "@pulumi/policy";
import { unknownCheckingProxy, UnknownValueError } from "@pulumi/policy";
import { deepFreeze, defaultsOf } from "../policy/rules/config";
import { allPolicies, isStackPolicy, PACK_ENFORCEMENT_LEVEL, PlatformPolicy } from "../policy/rules";
import { RecordedOptions, UNKNOWN_PLACEHOLDER } from "./recorder";
import type { ReportSection } from "./report";
import { UsageError } from "./stackConfig";
import { policyConfigName, Tier } from "../stacks/tiers";

export const POLICY_DIR = path.resolve(__dirname, "..", "policy");

export interface PolicyViolation {
    policy: string;
    enforcementLevel: "advisory" | "mandatory";
    severity: Severity;
    resource: { type: string; name: string };
    message: string;
}

type PolicyConfigEntry = EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>);
/** The `--policy-pack-config` file format: policy name (or "all") -> level or { enforcementLevel, ...params }. */
export type PolicyPackConfig = Record<string, PolicyConfigEntry>;

/** What a rule needs of a resource: RecordedResource fits, and so does a test fixture. */
export interface ResourceLike {
    type: string;
    name: string;
    urn?: string;
    parent?: string;
    inputs: Record<string, unknown>;
    options?: Partial<RecordedOptions>;
}

export interface PolicyGateResult {
    pack: { name: string; version: string };
    configFile: string;
    rules: { name: string; kind: "resource" | "stack"; enforcementLevel: EnforcementLevel; severity: Severity; violations: number }[];
    violations: PolicyViolation[];
    mandatory: number;
    advisory: number;
}

const LEVELS: readonly string[] = ["advisory", "mandatory", "remediate", "disabled"];
const STACK_RESOURCE = "pulumi:pulumi:Stack";
// @pulumi/policy's sentinel for an unknown string: props holding it throw UnknownValueError on access.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const UNKNOWN_STRING = (require("@pulumi/policy/proxy") as { unknownStringValue: string }).unknownStringValue;

class NotApplicable extends Error {}

/** The policy config a stack of this tier is judged by (stacks/tiers.ts policyConfigName): CI passes the same file. */
export function policyConfigFile(tier: Tier): string {
    return path.join(POLICY_DIR, "config", policyConfigName(tier));
}

function typeOk(value: unknown, type: string | string[] | undefined): boolean {
    const types = type === undefined ? [] : Array.isArray(type) ? type : [type];
    return (
        types.length === 0 ||
        types.some((t) =>
            t === "integer"
                ? Number.isInteger(value)
                : t === "array"
                  ? Array.isArray(value)
                  : t === "object"
                    ? typeof value === "object" && value !== null && !Array.isArray(value)
                    : t === "null"
                      ? value === null
                      : typeof value === t,
        )
    );
}

/**
 * Reads a policy config file and checks it against the pack as the CLI would (unknown policies,
 * unknown properties, property types and enums), so a typo fails the offline plan too.
 */
export function readPolicyConfig(file: string, policies: PlatformPolicy[] = allPolicies): PolicyPackConfig {
    let config: unknown;
    try {
        config = JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
        throw new UsageError(`cannot read policy config ${file}: ${(e as Error).message}`);
    }
    if (typeof config !== "object" || config === null || Array.isArray(config)) {
        throw new UsageError(`${file}: must be a JSON object of policy name -> config`);
    }
    const byName = new Map(policies.map((p) => [p.name, p]));
    for (const [name, entry] of Object.entries(config)) {
        const at = `${file}: ${name}`;
        // "all" sets every policy's level and takes nothing else; any other name must be a policy, in either form.
        if (name !== "all" && !byName.has(name)) {
            throw new UsageError(`${at}: no such policy in the pack; allowed: "all" (an enforcement level) or one of ${[...byName.keys()].join(", ")}`);
        }
        if (typeof entry === "string") {
            if (!LEVELS.includes(entry)) {
                throw new UsageError(`${at}: "${entry}" is not an enforcement level (${LEVELS.join(", ")})`);
            }
            continue;
        }
        const policy = byName.get(name);
        if (!policy) {
            throw new UsageError(`${at}: must be an enforcement level (${LEVELS.join(", ")}), got ${JSON.stringify(entry)}`);
        }
        if (typeof entry !== "object" || entry === null || Array.isArray(entry)) {
            throw new UsageError(`${at}: must be an enforcement level or an object`);
        }
        for (const [key, value] of Object.entries(entry)) {
            if (key === "enforcementLevel") {
                if (!LEVELS.includes(String(value))) {
                    throw new UsageError(`${at}.enforcementLevel: "${value}" is not one of ${LEVELS.join(", ")}`);
                }
                continue;
            }
            const schema = policy.configSchema?.properties[key];
            if (!schema) {
                throw new UsageError(`${at}.${key}: unknown property; ${name} takes ${Object.keys(policy.configSchema?.properties ?? {}).join(", ") || "no config"}`);
            }
            if (!typeOk(value, schema.type) || (schema.enum && !schema.enum.includes(value as never))) {
                throw new UsageError(`${at}.${key}: ${JSON.stringify(value)} is not a valid ${schema.enum ? `one of ${JSON.stringify(schema.enum)}` : schema.type}`);
            }
        }
    }
    return config as PolicyPackConfig;
}

/** Per-policy level first, then "all", then the rule's own default, then the pack's. */
export function enforcementOf(policy: PlatformPolicy, config: PolicyPackConfig): EnforcementLevel {
    const entry = config[policy.name];
    const own = typeof entry === "string" ? entry : entry?.enforcementLevel;
    const all = config.all;
    return own ?? (typeof all === "string" ? all : undefined) ?? policy.enforcementLevel ?? PACK_ENFORCEMENT_LEVEL;
}

/** The policy's parameters: the schema's defaults under the file's values, enforcementLevel removed. */
export function policyConfigOf(policy: PlatformPolicy, config: PolicyPackConfig): Record<string, unknown> {
    const entry = config[policy.name];
    const params = typeof entry === "object" && entry !== null ? Object.fromEntries(Object.entries(entry).filter(([k]) => k !== "enforcementLevel")) : {};
    return { ...(policy.configSchema ? defaultsOf(policy.configSchema) : {}), ...params };
}

/**
 * A frozen deep copy the rules cannot mutate back into the plan, with unknowns as the engine marks them.
 * `found.unknown` says whether any value is unknown.
 */
function previewProps(value: unknown, found: { unknown: boolean }): unknown {
    if (Array.isArray(value)) {
        return Object.freeze(value.map((v) => previewProps(v, found)));
    }
    if (value === UNKNOWN_PLACEHOLDER) {
        found.unknown = true;
        return UNKNOWN_STRING;
    }
    if (value && typeof value === "object") {
        const out: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value)) {
            if (!k.startsWith("__")) {
                out[k] = previewProps(v, found);
            }
        }
        return Object.freeze(out);
    }
    return value;
}

// One frozen copy per recorded inputs object, shared by every rule: copying per rule and resource made
// the gate quadratic in practice (28 rules x thousands of resources) and dominated large plans.
const previewCache = new WeakMap<object, Record<string, unknown>>();

/**
 * The props a rule sees. Only a resource with an unknown value gets @pulumi/policy's unknown-checking
 * proxy (reading that value throws UnknownValueError, as in a real preview); with nothing unknown the
 * proxy could never throw, and at thousands of resources its per-read cost was most of the gate.
 */
function propsOf(r: ResourceLike): Record<string, unknown> {
    let props = previewCache.get(r.inputs);
    if (!props) {
        const found = { unknown: false };
        const copy = previewProps(r.inputs, found) as Record<string, unknown>;
        props = found.unknown ? (unknownCheckingProxy(copy) as Record<string, unknown>) : copy;
        previewCache.set(r.inputs, props);
    }
    return props;
}

function urnOf(r: ResourceLike, stack: string): string {
    return r.urn ?? `urn:pulumi:${stack}::ml-platform::${r.type}::${r.name}`;
}

/** type::name of a URN; recorded URNs and the dependency URNs the engine sends qualify types differently. */
function urnKey(urn: string): string {
    const parts = urn.split("::");
    const type = (parts[2] ?? "").split("$").pop();
    return `${type}::${parts.slice(3).join("::")}`;
}

function optionsOf(r: ResourceLike): PolicyResourceOptions {
    return {
        protect: r.options?.protect ?? false,
        ignoreChanges: r.options?.ignoreChanges ?? [],
        deleteBeforeReplace: r.options?.deleteBeforeReplace ?? false,
        aliases: [],
        customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
        additionalSecretOutputs: [],
        ...(r.parent ? { parent: r.parent } : {}),
    };
}

type ResourceClass = Parameters<ResourceValidationArgs["isType"]>[0];

function typeHelpers(type: string, props: Record<string, unknown>) {
    // SDK-generated resource classes carry their type token as __pulumiType.
    const isType = (cls: ResourceClass) => (cls as unknown as { __pulumiType?: string }).__pulumiType === type;
    return { isType, asType: ((cls: ResourceClass) => (isType(cls) ? props : undefined)) as ResourceValidationArgs["asType"] };
}

const notApplicable = (reason?: string): never => {
    throw new NotApplicable(reason);
};

type ResourceBase = Omit<ResourceValidationArgs, "getConfig" | "notApplicable">;

/** What a resource's args hold apart from the policy's config. */
function resourceBase(r: ResourceLike, stack: string): ResourceBase {
    const props = propsOf(r);
    return { type: r.type, props, urn: urnOf(r, stack), name: r.name, opts: optionsOf(r), stackTags: new Map(), ...typeHelpers(r.type, props) };
}

/** ResourceValidationArgs for one resource, as the engine builds them (tests use this too). */
export function resourceArgs(r: ResourceLike, policyConfig: Record<string, unknown> = {}, stack = "test"): ResourceValidationArgs {
    const config = deepFreeze(structuredClone(policyConfig));
    return { ...resourceBase(r, stack), getConfig: <T extends object>() => config as unknown as T, notApplicable };
}

/** StackValidationArgs over all resources, parents and dependencies linked as resource objects. */
export function stackArgs(resources: ResourceLike[], policyConfig: Record<string, unknown> = {}, stack = "test"): StackValidationArgs {
    const built = resources.map((r) => {
        const props = propsOf(r);
        const resource: PolicyResource = {
            type: r.type,
            props,
            urn: urnOf(r, stack),
            name: r.name,
            opts: optionsOf(r),
            dependencies: [],
            propertyDependencies: {},
            ...(typeHelpers(r.type, props) as Pick<PolicyResource, "isType" | "asType">),
        };
        return { r, resource };
    });
    const byKey = new Map(built.map(({ resource }) => [urnKey(resource.urn), resource]));
    for (const { r, resource } of built) {
        const parent = r.parent ? byKey.get(urnKey(r.parent)) : undefined;
        if (parent) {
            resource.parent = parent;
        }
        resource.dependencies = (r.options?.dependsOn ?? []).map((u) => byKey.get(urnKey(u))).filter((d): d is PolicyResource => d !== undefined);
    }
    return {
        resources: built.map(({ resource }) => resource),
        stackTags: new Map(),
        getConfig: <T extends object>() => deepFreeze(structuredClone(policyConfig)) as T,
        notApplicable,
    };
}

// One resource list per recorded stack, as the engine sends one to every stack rule: rules memoize on it
// (the capacity analysis), and the plan reads the same analysis the rules judged.
const sharedStacks = new WeakMap<ResourceLike[], StackValidationArgs>();

export function sharedStackArgs(resources: ResourceLike[], stack: string): StackValidationArgs {
    let args = sharedStacks.get(resources);
    if (!args) {
        args = stackArgs(resources, {}, stack);
        sharedStacks.set(resources, args);
    }
    return args;
}

/** Runs the policies over the resources; violations in pack order, then resource order. */
export async function runPolicies(
    resources: ResourceLike[],
    config: PolicyPackConfig = {},
    policies: PlatformPolicy[] = allPolicies,
    stack = "test",
): Promise<PolicyViolation[]> {
    const violations: PolicyViolation[] = [];
    const byKey = new Map(resources.map((r) => [urnKey(urnOf(r, stack)), r]));
    // Each resource's args are built once for all resource rules; getConfig answers the policy being run.
    // Policies run one after another (an async rule is awaited before the next call), so `current` is
    // always the config of the rule holding the args.
    let current: Record<string, unknown> = {};
    const argsOf = new Map<ResourceLike, ResourceValidationArgs>();

    for (const policy of policies) {
        const level = enforcementOf(policy, config);
        if (level === "disabled") {
            continue;
        }
        // "remediate" is reported as mandatory, as the engine does once a remediation did not fix it.
        const enforcementLevel: PolicyViolation["enforcementLevel"] = level === "advisory" ? "advisory" : "mandatory";
        const params = deepFreeze(structuredClone(policyConfigOf(policy, config)));
        const push = (resource: { type: string; name: string }, message: string, level: PolicyViolation["enforcementLevel"] = enforcementLevel) =>
            violations.push({ policy: policy.name, enforcementLevel: level, severity: policy.severity ?? "medium", resource, message });
        const fail = (resource: { type: string; name: string }, e: unknown) => {
            if (e instanceof NotApplicable) {
                return;
            }
            if (e instanceof UnknownValueError) {
                // As the engine does: a rule that touches an unknown value is reported, advisory.
                push(resource, `can't run policy '${policy.name}' during preview: ${(e as Error).message}`, "advisory");
                return;
            }
            throw new Error(`policy ${policy.name} failed on ${resource.type} ${resource.name}: ${(e as Error).stack ?? String(e)}`);
        };
        // Awaits only what a rule returns as a promise: most rules are synchronous, and a microtask turn
        // per rule and resource added up at thousands of resources.
        const guard = (resource: { type: string; name: string }, run: () => Promise<void> | void): Promise<void> | void => {
            try {
                const result = run();
                if (result && typeof (result as Promise<void>).then === "function") {
                    return (result as Promise<void>).then(undefined, (e: unknown) => fail(resource, e));
                }
            } catch (e) {
                fail(resource, e);
            }
        };
        if (isStackPolicy(policy)) {
            const stackResource = { type: STACK_RESOURCE, name: stack };
            // One resource list for every stack rule, as the engine sends one: rules may memoize on it.
            const args: StackValidationArgs = { ...sharedStackArgs(resources, stack), getConfig: <T extends object>() => params as unknown as T };
            await guard(stackResource, () =>
                policy.validateStack(args, (message, urn) => {
                    const r = urn ? byKey.get(urnKey(urn)) : undefined;
                    push(r ? { type: r.type, name: r.name } : stackResource, message);
                }),
            );
            continue;
        }
        const validations = policy.validateResource === undefined ? [] : Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
        current = params;
        for (const r of resources) {
            const resource = { type: r.type, name: r.name };
            let args = argsOf.get(r);
            if (!args) {
                // Frozen: every resource rule shares it.
                args = Object.freeze({ ...resourceBase(r, stack), getConfig: <T extends object>() => current as unknown as T, notApplicable });
                argsOf.set(r, args);
            }
            for (const validate of validations) {
                const pending = guard(resource, () => validate(args!, (message) => push(resource, message)));
                if (pending) {
                    await pending;
                }
            }
        }
    }
    return violations;
}

/** The gate the plan runs: the tier's config file, every rule, a verdict. */
export async function runPolicyGate(resources: ResourceLike[], opts: { stack: string; tier: Tier }): Promise<PolicyGateResult> {
    const file = policyConfigFile(opts.tier);
    const config = readPolicyConfig(file);
    const violations = await runPolicies(resources, config, allPolicies, opts.stack);
    const pkg = JSON.parse(readFileSync(path.join(POLICY_DIR, "package.json"), "utf8")) as { version: string };
    return {
        pack: { name: "ml-platform", version: pkg.version },
        configFile: path.relative(path.resolve(POLICY_DIR, ".."), file),
        rules: allPolicies.map((p) => ({
            name: p.name,
            kind: isStackPolicy(p) ? "stack" : "resource",
            enforcementLevel: enforcementOf(p, config),
            severity: p.severity ?? "medium",
            violations: violations.filter((v) => v.policy === p.name).length,
        })),
        violations,
        mandatory: violations.filter((v) => v.enforcementLevel === "mandatory").length,
        advisory: violations.filter((v) => v.enforcementLevel === "advisory").length,
    };
}

function cell(s: string): string {
    return s.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** report.md's Policy section: the verdict, every violation, and (folded) what each rule enforced. */
export function policySection(g: PolicyGateResult): ReportSection {
    const verdict = g.mandatory === 0 ? "**pass**" : "**FAIL**";
    const lines = [
        `Policy pack \`${g.pack.name}\` v${g.pack.version}, ${g.rules.length} rules, config \`${g.configFile}\`: ${verdict} — ` +
            `${g.mandatory} mandatory, ${g.advisory} advisory violation(s).`,
    ];
    if (g.violations.length > 0) {
        lines.push("", "| level | severity | rule | resource | message |", "| --- | --- | --- | --- | --- |");
        for (const v of g.violations) {
            lines.push(`| ${v.enforcementLevel} | ${v.severity} | ${v.policy} | \`${v.resource.name}\` | ${cell(v.message)} |`);
        }
    }
    lines.push("", "<details><summary>Rules</summary>", "", "| rule | kind | level | severity | violations |", "| --- | --- | --- | --- | --- |");
    for (const r of g.rules) {
        lines.push(`| ${r.name} | ${r.kind} | ${r.enforcementLevel} | ${r.severity} | ${r.violations} |`);
    }
    lines.push("", "</details>");
    return { title: "Policy", body: lines.join("\n") };
}
