/**
 * Rules across the fields of a serving entry that its runtime implies: vLLM needs the model block its
 * flags are derived from and takes no flag the platform derives; env names are unique across env and
 * secretEnv. Appends problem lines, never throws.
 */
import { NAMESPACE, problemLine } from "./errors";
import { ServingConfig } from "./schema";
import { VERSIONS } from "../facts/versions";

/** Flags the platform derives for `vllm serve`; an entry's args may add others, never these. */
export const VLLM_DERIVED_FLAGS = ["--model", "--served-model-name", "--port", "--host", "--tensor-parallel-size", "-tp", "--max-model-len", "--gpu-memory-utilization", "--dtype"] as const;

function derivedFlagOf(arg: string): string | undefined {
    return VLLM_DERIVED_FLAGS.find((f) => arg === f || arg.startsWith(`${f}=`));
}

export function checkRuntimes(entries: ServingConfig[], problems: string[]) {
    entries.forEach((s, i) => {
        const where = `${NAMESPACE}:serving[${i}]`;
        if (s.runtime === "custom" && s.image === undefined) {
            problems.push(`${where}.image is required for runtime custom (the image that serves the model); runtime vllm defaults to ${VERSIONS.vllm}`);
        }
        if (s.runtime === "vllm") {
            if (!s.model) {
                problems.push(`${where}.model is required for runtime vllm: --tensor-parallel-size, --max-model-len and --gpu-memory-utilization are derived from it`);
            }
            s.args.forEach((arg, j) => {
                const flag = derivedFlagOf(arg);
                if (flag) {
                    problems.push(problemLine(`${where}.args[${j}]`, `sets ${flag}, which the platform derives for runtime vllm`, arg, `other vLLM engine flags, e.g. --enable-prefix-caching; derived: ${VLLM_DERIVED_FLAGS.join(", ")}`));
                }
            });
        }
        const seen = new Map<string, string>();
        const all = [...s.env.map((e, j) => [e.name, `${where}.env[${j}].name`] as const), ...s.secretEnv.map((e, j) => [e.name, `${where}.secretEnv[${j}].name`] as const)];
        for (const [name, at] of all) {
            const first = seen.get(name);
            if (first) {
                problems.push(`${at} must be unique across env and secretEnv, got "${name}" (also at ${first})`);
            } else {
                seen.set(name, at);
            }
        }
    });
}
