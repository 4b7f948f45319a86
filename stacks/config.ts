/** The only module that reads Pulumi config: collects `ml-platform:*` and hands it to validation. */
import * as pulumi from "@pulumi/pulumi";
import { NAMESPACE } from "./errors";
import { buildStackSpec, RawConfig } from "./validate";
import { StackSpec } from "./spec";

export function readRawConfig(): RawConfig {
    const all = pulumi.runtime.allConfig();
    const values: Record<string, string> = {};
    const prefix = `${NAMESPACE}:`;
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(prefix)) {
            values[key.slice(prefix.length)] = value;
        }
    }
    // isConfigSecret is marked internal in the SDK's typings, but it is the only way to ask whether a
    // value was set with --secret without decrypting anything.
    const runtime = pulumi.runtime as unknown as { isConfigSecret(key: string): boolean };
    const secretKeys = Object.keys(values).filter((k) => runtime.isConfigSecret(`${prefix}${k}`));
    return {
        project: pulumi.getProject(),
        stack: pulumi.getStack(),
        region: all["aws:region"],
        values,
        secretKeys,
    };
}

/** Reads and validates the stack's config; throws ConfigError before any resource exists. */
export function loadStackSpec(): StackSpec {
    return buildStackSpec(readRawConfig());
}

/** The tracking URI as a Pulumi secret (it never leaves an Output). */
export function trackingUri(): pulumi.Output<string> | undefined {
    return new pulumi.Config(NAMESPACE).getSecret("mlflowTrackingUri");
}
