/** Direct calls of one rule's validateResource / validateStack over hand-built args (no engine, no program). */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { resourceArgs, ResourceLike, stackArgs } from "../plan/policy";

export type Obj = Record<string, any>;

type Report = (message: string, urn?: string) => void;

/** The messages one resource validation reports. */
export function onResource(policy: ResourceValidationPolicy, r: ResourceLike, config: Obj = {}): string[] {
    const out: string[] = [];
    const validate = policy.validateResource as unknown as (args: unknown, report: Report) => void;
    validate(resourceArgs(r, config), (m) => out.push(m));
    return out;
}

/** The messages (with the URN they name, if any) one stack validation reports. */
export function onStack(policy: StackValidationPolicy, rs: ResourceLike[], config: Obj = {}): string[] {
    const out: string[] = [];
    const validate = policy.validateStack as unknown as (args: unknown, report: Report) => void;
    validate(stackArgs(rs, config), (m, urn) => out.push(urn === undefined ? m : `${m} @${urn.split("::").pop()}`));
    return out;
}

export const urnOf = (type: string, name: string): string => `urn:pulumi:test::ml-platform::${type}::${name}`;
