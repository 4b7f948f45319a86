/** The app team's own config (namespace ml-app-team), validated before anything is created. */
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";

const fields = z.object({
    /** `<org>/ml-platform/<stack>`: the only thing this project knows about the platform. */
    platformStack: z.string().regex(/^[^/\s]+\/[^/\s]+\/[^/\s]+$/, "must be <org>/<project>/<stack>"),
    modelName: z.string().regex(/^[a-z]([-a-z0-9]{0,38}[a-z0-9])?$/, "must be a DNS label of at most 40 characters"),
    image: z.string().regex(/^[^\s:@]+(:[\w][\w.-]{0,127}|@sha256:[a-f0-9]{64})$/, "must pin a tag or digest").refine((s) => !s.endsWith(":latest"), "must not use :latest"),
    /** A key of the platform's gpuPools output, e.g. a10g. */
    gpuPool: z.string().min(1),
    gpus: z.number().int().min(1),
    cpu: z.string(),
    memory: z.string(),
    minReplicas: z.number().int().min(1),
    maxReplicas: z.number().int().min(1),
    /** How long the server takes to load its model; the startup probe waits 1.2x this. */
    modelLoadSeconds: z.number().int().min(1).max(3600),
});
const schema = fields.refine((c) => c.maxReplicas > c.minReplicas, { message: "must be above minReplicas", path: ["maxReplicas"] });

export type AppConfig = z.infer<typeof schema>;

const NUMBERS = ["gpus", "minReplicas", "maxReplicas", "modelLoadSeconds"] as const;

export function loadAppConfig(): AppConfig {
    const config = new pulumi.Config();
    const raw: Record<string, unknown> = {};
    for (const key of Object.keys(fields.shape)) {
        raw[key] = (NUMBERS as readonly string[]).includes(key) ? config.getNumber(key) : config.get(key);
    }
    const result = schema.safeParse(raw);
    if (!result.success) {
        const problems = result.error.issues.map((i) => `${config.name}:${i.path.join(".")} ${i.message.endsWith("received undefined") ? "is required" : i.message}`);
        // RunError: Pulumi's clean stop, printed without a stack trace (`pulumi up` and the offline plan, which exits 2).
        throw new pulumi.RunError(`invalid config:\n  ${problems.join("\n  ")}`);
    }
    return result.data;
}
