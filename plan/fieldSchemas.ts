/**
 * Unknown fields, offline: the field structure of the built-in kinds, from the pinned Kubernetes release's
 * OpenAPI spec (plan/schemas/kubernetes-fields.json, written by plan/schemas/generate.ts). kubernetes-models
 * checks types but lets an unknown field through; the API server's strict field validation does not.
 */
import * as fs from "node:fs";
import * as path from "node:path";

/** A named type, a leaf (0: scalar or free-form), an array or map of a shape, or inline fields. */
export type Shape = string | 0 | ["a", Shape] | ["m", Shape] | { f: Record<string, Shape> };

export interface FieldSchemas {
    version: string;
    source: string;
    /** "apps/v1/Deployment" -> its type name. */
    kinds: Record<string, string>;
    types: Record<string, { f: Record<string, Shape> }>;
}

let loaded: FieldSchemas | undefined;

export function fieldSchemas(): FieldSchemas {
    loaded ??= JSON.parse(fs.readFileSync(path.join(__dirname, "schemas", "kubernetes-fields.json"), "utf8")) as FieldSchemas;
    return loaded;
}

/** Paths of the fields of `object` its kind does not declare, or undefined for a kind not in the schemas. */
export function unknownFields(object: { apiVersion: string; kind: string }, schemas = fieldSchemas()): string[] | undefined {
    const type = schemas.kinds[`${object.apiVersion}/${object.kind}`];
    if (!type) return undefined;
    const found: string[] = [];
    const walk = (value: unknown, shape: Shape, at: string) => {
        if (shape === 0 || value === null || value === undefined) return;
        if (typeof shape === "string") return walk(value, schemas.types[shape] ?? 0, at);
        if (Array.isArray(shape)) {
            if (shape[0] === "a" && Array.isArray(value)) value.forEach((v, i) => walk(v, shape[1], `${at}[${i}]`));
            if (shape[0] === "m" && typeof value === "object" && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) walk(v, shape[1], `${at}.${k}`);
            return;
        }
        if (typeof value !== "object" || Array.isArray(value)) return;
        for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
            const path = at ? `${at}.${k}` : k;
            if (!(k in shape.f)) found.push(path);
            else walk(v, shape.f[k], path);
        }
    };
    walk(object, type, "");
    return found;
}
