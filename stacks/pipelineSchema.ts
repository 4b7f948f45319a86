/**
 * The shape of `ml-platform:pipelines`: each pipeline a DAG of steps, with an optional cron schedule and
 * quality gates. The DAG's rules (unique step names, known dependencies, no cycle, a gate only on an
 * earlier step that publishes the metric, fraction metrics in [0, 1]) are checked here so each problem
 * names its key path, e.g. `ml-platform:pipelines[0].steps[2].dependencies`. The primitives (image,
 * quantities, integers, names) are schema.ts's own, handed in so there is one definition of each.
 */
import { z } from "zod";
import { ancestorsOf, findCycle, unknownDependencies } from "../capacity/pipelines";
import { FRACTION_METRICS } from "../facts/pipelines";
import { CRON_ALLOWED, cronProblem } from "./cron";

/** Enough for any pipeline we have seen; keeps the planner's search of concurrent steps small. */
export const MAX_PIPELINE_STEPS = 16;
/** A week: longer than any pipeline step should be expected to run. */
export const MAX_EXPECTED_MINUTES = 7 * 24 * 60;

const METRIC_NAME = /^[a-z][a-z0-9_]{0,39}$/;

export interface SchemaPrimitives {
    image: z.ZodType<string>;
    cpu: z.ZodType<string>;
    memory: z.ZodType<string>;
    int: (min: number, max: number) => z.ZodType<number>;
    dnsLabel: (max: number) => z.ZodType<string>;
}

interface StepLike {
    name: string;
    dependencies: string[];
    publishes: string[];
    gate?: { step: string; metric: string; min: number };
}

type Ctx = z.core.$RefinementCtx;

function issue(ctx: Ctx, path: PropertyKey[], message: string, input: unknown, allowed: string) {
    ctx.addIssue({ code: "custom", path, message, input, params: { allowed } });
}

/** The DAG rules over one pipeline's steps. */
export function checkPipelineDag(steps: StepLike[], ctx: Ctx): void {
    const seen = new Map<string, number>();
    steps.forEach((s, i) => {
        const first = seen.get(s.name);
        if (first !== undefined) {
            issue(ctx, ["steps", i, "name"], `must be unique within the pipeline (also at steps[${first}])`, s.name, "a step name no other step of this pipeline uses");
        } else {
            seen.set(s.name, i);
        }
    });
    const names = [...seen.keys()];
    for (const u of unknownDependencies(steps)) {
        const others = names.filter((n) => n !== steps[u.step].name);
        issue(ctx, ["steps", u.step, "dependencies", u.at], "names no step of this pipeline", u.name, others.length > 0 ? others.join(", ") : "(no other steps)");
    }
    const cycle = findCycle(steps);
    if (cycle) {
        const at = steps.findIndex((s) => s.name === cycle[cycle.length - 2]);
        issue(
            ctx,
            ["steps", at, "dependencies"],
            `makes the pipeline a cycle (${cycle.join(" -> ")}), which never starts`,
            steps[at].dependencies,
            "dependencies that form a DAG: no step may wait for itself, directly or through other steps",
        );
        return;
    }
    steps.forEach((s, i) => {
        if (!s.gate) return;
        const g = s.gate;
        const target = steps.find((t) => t.name === g.step);
        const ancestors = ancestorsOf(steps, s.name);
        const earlier = names.filter((n) => ancestors.has(n));
        if (!target) {
            issue(ctx, ["steps", i, "gate", "step"], "names no step of this pipeline", g.step, earlier.join(", ") || "(this step depends on no step)");
            return;
        }
        if (!ancestors.has(g.step)) {
            issue(ctx, ["steps", i, "gate", "step"], `must be a step this one waits for (through dependencies), so its metric exists when the gate is judged`, g.step, earlier.join(", ") || "(this step depends on no step: add the gated step to dependencies)");
            return;
        }
        if (!target.publishes.includes(g.metric)) {
            const publishing = steps.filter((t) => ancestors.has(t.name) && t.publishes.length > 0).map((t) => `${t.name} (${t.publishes.join(", ")})`);
            issue(
                ctx,
                ["steps", i, "gate", "metric"],
                target.publishes.length === 0 ? `gates on step "${g.step}", which publishes nothing` : `is not among what step "${g.step}" publishes (${target.publishes.join(", ")})`,
                g.metric,
                publishing.length > 0 ? `a metric an earlier step lists under publishes: ${publishing.join("; ")}` : `list the metric under steps[${steps.indexOf(target)}].publishes`,
            );
        }
        if ((FRACTION_METRICS as readonly string[]).includes(g.metric) && (g.min < 0 || g.min > 1)) {
            issue(ctx, ["steps", i, "gate", "min"], `is a threshold for ${g.metric}, a fraction`, g.min, "a number from 0 to 1 (e.g. 0.80 for 80%)");
        }
    });
}

const DAG_FIELDS = new Set<PropertyKey>(["name", "dependencies", "publishes", "gate"]);
/** Runs the DAG rules whenever the fields they read are valid, whatever else in the pipeline is wrong. */
const dagReadable = {
    when: (payload: z.core.ParsePayload) => !payload.issues.some((i) => (i.path?.[0] === "steps" && (i.path.length < 3 || DAG_FIELDS.has(i.path[2]))) || (i.path ?? []).length === 0),
};

export function pipelinesSchemaOf(p: SchemaPrimitives) {
    const metric = z.string().regex(METRIC_NAME, "must be a metric name: lower-case letters, digits and '_', starting with a letter, at most 40 characters");
    const step = z.strictObject({
        name: p.dnsLabel(40),
        image: p.image,
        command: z.array(z.string().min(1)).min(1, "must name the entrypoint: Argo's emissary executor runs it, and cannot read an image's ENTRYPOINT without registry credentials"),
        args: z.array(z.string()).default([]),
        /** A pool name, or "auto": the cheapest pool whose nodes hold the step. */
        pool: z.string().min(1),
        gpus: p.int(0, 8).default(0),
        cpu: p.cpu,
        memory: p.memory,
        cpuLimit: p.cpu.optional(),
        memoryLimit: p.memory.optional(),
        dependencies: z.array(z.string().min(1)).default([]),
        expectedMinutes: p.int(1, MAX_EXPECTED_MINUTES),
        publishes: z
            .array(metric)
            .default([])
            .refine((a) => new Set(a).size === a.length, "must not repeat a metric"),
        gate: z.strictObject({ step: z.string().min(1), metric, min: z.number().refine(Number.isFinite, "must be a finite number") }).optional(),
    });
    const pipeline = z
        .strictObject({
            name: p.dnsLabel(40),
            schedule: z
                .string()
                .superRefine((s, ctx) => {
                    const problem = cronProblem(s);
                    if (problem) ctx.addIssue({ code: "custom", message: `is not a cron schedule: it ${problem}`, input: s, params: { allowed: CRON_ALLOWED } });
                })
                .optional(),
            concurrencyPolicy: z.enum(["Forbid", "Allow", "Replace"]).default("Forbid"),
            activeDeadlineSeconds: p.int(60, 7 * 86400).default(86400),
            steps: z.array(step).min(1, "must list at least one step").max(MAX_PIPELINE_STEPS, `must list at most ${MAX_PIPELINE_STEPS} steps`),
        })
        .superRefine((pl, ctx) => checkPipelineDag(pl.steps, ctx), dagReadable);
    return z
        .array(pipeline)
        .superRefine((pipelines, ctx) => {
            const seen = new Map<string, number>();
            pipelines.forEach((pl, i) => {
                const first = seen.get(pl.name);
                if (first !== undefined) {
                    ctx.addIssue({ code: "custom", path: [i, "name"], message: `must be unique (also at [${first}])`, input: pl.name, params: { allowed: "a pipeline name no other pipeline uses" } });
                } else {
                    seen.set(pl.name, i);
                }
            });
        })
        .default([]);
}
