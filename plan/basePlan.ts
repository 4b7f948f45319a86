/**
 * Reads a previous plan's folder for `--base`: resources.json, summary.json and policy.json, checked to be
 * a plan of the same stack in the current format. Anything else is a usage error, before anything runs.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import type { DiffResource, DiffSummary, DiffViolation, PlanSnapshot } from "./diff";
import { UsageError } from "./stackConfig";

const OPTION_KEYS = ["protect", "retainOnDelete", "replaceOnChanges", "deleteBeforeReplace"] as const;

function readJson(dir: string, name: string): unknown {
    const file = path.join(dir, name);
    if (!existsSync(file)) {
        throw new UsageError(`--base ${dir} is not a plan folder: no ${name} (plan the base with npm run plan -- --stack <stack> --out <dir>)`);
    }
    try {
        return JSON.parse(readFileSync(file, "utf8"));
    } catch (e) {
        throw new UsageError(`--base ${dir}: ${name} is not valid JSON: ${(e as Error).message}`);
    }
}

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** The base plan as the diff reads it; `stack` is the stack being planned now. */
export function loadBasePlan(dir: string, stack: string): PlanSnapshot {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
        throw new UsageError(`--base ${dir} is not a folder; pass the out folder of a previous plan`);
    }
    const resources = readJson(dir, "resources.json");
    const summary = readJson(dir, "summary.json");
    const violations = readJson(dir, "policy.json");
    const older = (what: string) => new UsageError(`--base ${dir} is a plan in an older or unknown format (${what}); plan the base again with this version`);
    if (!isRecord(resources) || !Array.isArray(resources.resources)) {
        throw older("resources.json has no resources list");
    }
    for (const r of resources.resources as unknown[]) {
        if (!isRecord(r) || typeof r.urn !== "string" || typeof r.type !== "string" || !isRecord(r.inputs) || !isRecord(r.options) || OPTION_KEYS.some((k) => !(k in (r.options as object)))) {
            throw older(`a resource without urn, type, inputs or options.${OPTION_KEYS.join("/")}`);
        }
    }
    if (!isRecord(summary) || !isRecord(summary.cost) || !isRecord(summary.gpus) || !Array.isArray(summary.workloads)) {
        throw older("summary.json lacks cost, gpus or workloads");
    }
    if (summary.stack !== stack) {
        throw new UsageError(`--base ${dir} is a plan of stack "${String(summary.stack)}", not "${stack}"; compare a stack with its own base plan`);
    }
    if (!Array.isArray(violations)) {
        throw older("policy.json is not a list of violations");
    }
    return { resources: resources.resources as DiffResource[], summary: summary as unknown as DiffSummary, violations: violations as DiffViolation[] };
}
