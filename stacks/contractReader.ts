/**
 * The consumer side of the app-team contract: reads a platform stack through a StackReference, checks
 * its contractVersion against the one this reader was built with, validates every field and returns
 * plain typed values (the kubeconfig stays a Pulumi secret). Imports only @pulumi/pulumi and contract.ts.
 *
 *     export = async () => {
 *         const platform = await readPlatformContract(new pulumi.Config().require("platformStack"));
 *         ...
 *     };
 */
import * as pulumi from "@pulumi/pulumi";
import { checkContractVersion, CONTRACT_OUTPUTS, CONTRACT_VERSION, ContractError, parseContract, PlatformContractValues, SECRET_OUTPUTS } from "./contract";

export type PlatformContract = Omit<PlatformContractValues, "kubeconfig"> & {
    /** The referenced stack, `<org>/ml-platform/<stack>`. */
    stack: string;
    /** A secret Output: it never becomes a plain value in the consumer's state. */
    kubeconfig: pulumi.Output<string>;
};

export interface ReadOptions {
    /** The contract version the consumer was built against; tests use it to play an older consumer. */
    builtAgainst?: string;
}

const SECRETS: readonly string[] = SECRET_OUTPUTS;

function valueOf(output: pulumi.Output<string>): Promise<string> {
    return new Promise((resolve) => output.apply(resolve));
}

/**
 * `ref` is a StackReference, or the name of one (`<org>/ml-platform/<stack>`, from the consumer's
 * config). Rejects with a ContractError that names the stack, the versions and every bad field.
 */
export async function readPlatformContract(ref: pulumi.StackReference | string, opts: ReadOptions = {}): Promise<PlatformContract> {
    const builtAgainst = opts.builtAgainst ?? CONTRACT_VERSION;
    const reference = typeof ref === "string" ? new pulumi.StackReference(ref) : ref;
    const stack = typeof ref === "string" ? ref : await valueOf(reference.name);

    // The version first: a stack of another major may not have the fields below at all.
    const version = await reference.getOutputDetails("contractVersion");
    checkContractVersion(stack, version.value ?? version.secretValue, builtAgainst);

    const values: Record<string, unknown> = {};
    await Promise.all(
        CONTRACT_OUTPUTS.map(async (name) => {
            const details = await reference.getOutputDetails(name);
            if (details.secretValue !== undefined && !SECRETS.includes(name)) {
                // Reading it as plain would copy a secret into this stack's state in clear text.
                throw new ContractError(`platform stack ${stack} exports ${name} as a secret; contract ${builtAgainst} exports it in plain. Check the platform's contract version.`);
            }
            values[name] = details.value ?? details.secretValue;
        }),
    );
    // The kubeconfig is taken as the reference's own Output, so it stays secret end to end.
    return { ...parseContract(stack, values, builtAgainst), stack, kubeconfig: pulumi.secret(reference.requireOutput("kubeconfig") as pulumi.Output<string>) };
}
