/**
 * A deterministic stand-in for AWS and the remote components' providers: answers resource
 * registrations and invokes the way the real services would shape them (IDs, ARNs, subnet IDs, the
 * cluster endpoint, kubeconfig, OIDC issuer), derived from names so every run is identical.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import { StackOutput } from "./recorder";

export const ACCOUNT_ID = "123456789012";

export interface EmulatorOptions {
    region: string;
    /** AZ names from the stack config, so subnets line up with them. */
    availabilityZones: string[];
    /**
     * StackReference name pattern (`org/project/stack`, any segment may be `*`) -> the referenced
     * stack's outputs as a plan recorded them. A reference no pattern matches fails the run.
     */
    stackReferences?: Record<string, Record<string, StackOutput>>;
}

export const STACK_REFERENCE = "pulumi:pulumi:StackReference";

export function stackNameMatches(pattern: string, name: string): boolean {
    const want = pattern.split("/");
    const have = name.split("/");
    return want.length === have.length && want.every((segment, i) => segment === "*" || segment === have[i]);
}

/** Stands in for a referenced stack's secret output, which no recorded plan holds. */
export function stackReferenceSecretPlaceholder(stack: string, output: string): string {
    return `[secret ${output} of ${stack}: not available to the offline plan]`;
}

function hex(seed: string, length: number): string {
    return createHash("sha256").update(seed).digest("hex").slice(0, length);
}

function lastSegment(name: string): string {
    return name.replace(/[^a-zA-Z0-9-]/g, "-").slice(-60);
}

type State = Record<string, unknown>;

/** Remote components whose children the real engine adds; under mocks they register only themselves. */
export const REMOTE_COMPONENTS = new Set([
    "awsx:ec2:Vpc",
    "eks:index:Cluster",
    "eks:index:ManagedNodeGroup",
    "kubernetes:kustomize/v2:Directory",
    "kubernetes:helm.sh/v4:Chart",
]);

export class CloudEmulator implements pulumi.runtime.Mocks {
    /** Names of the stacks the program referenced (the engine reads them; the recorder sees no registration). */
    public readonly referencedStacks: string[] = [];

    constructor(private readonly opts: EmulatorOptions) {}

    private arn(service: string, resource: string, global = false): string {
        return `arn:aws:${service}:${global ? "" : this.opts.region}:${ACCOUNT_ID}:${resource}`;
    }

    newResource(args: pulumi.runtime.MockResourceArgs): { id: string | undefined; state: State } {
        const { type, name, inputs } = args;
        const h = (n: number) => hex(`${type}/${name}`, n);
        const base: State = { ...inputs };
        switch (type) {
            case "awsx:ec2:Vpc":
                return { id: undefined, state: { ...base, ...this.vpc(name) } };
            case "eks:index:Cluster":
                return { id: undefined, state: { ...base, ...this.cluster(name, inputs) } };
            case "eks:index:ManagedNodeGroup": {
                const ngName = `${lastSegment(name)}-${h(8)}`;
                return {
                    id: undefined,
                    state: {
                        ...base,
                        nodeGroup: {
                            nodeGroupName: ngName,
                            arn: this.arn("eks", `nodegroup/${ngName}`),
                            resources: [{ autoscalingGroups: [{ name: `eks-${ngName}-${hex(ngName, 8)}-${hex(name, 4)}` }] }],
                            status: "ACTIVE",
                        },
                    },
                };
            }
            case "aws:iam/role:Role": {
                const roleName = (inputs.name as string) ?? `${lastSegment(name)}-${h(7)}`;
                return { id: roleName, state: { ...base, name: roleName, arn: `arn:aws:iam::${ACCOUNT_ID}:role/${roleName}`, uniqueId: `AROA${h(17).toUpperCase()}` } };
            }
            case "aws:iam/policy:Policy": {
                const policyName = (inputs.name as string) ?? `${lastSegment(name)}-${h(7)}`;
                return { id: `arn:aws:iam::${ACCOUNT_ID}:policy/${policyName}`, state: { ...base, name: policyName, arn: `arn:aws:iam::${ACCOUNT_ID}:policy/${policyName}` } };
            }
            case "aws:kms/key:Key": {
                const keyId = `${h(8)}-${h(4)}-4${h(3)}-a${h(3)}-${h(12)}`;
                return { id: keyId, state: { ...base, keyId, arn: this.arn("kms", `key/${keyId}`) } };
            }
            case "aws:efs/fileSystem:FileSystem": {
                const id = `fs-${h(17)}`;
                return { id, state: { ...base, arn: this.arn("elasticfilesystem", `file-system/${id}`), dnsName: `${id}.efs.${this.opts.region}.amazonaws.com` } };
            }
            case "aws:efs/mountTarget:MountTarget":
                return { id: `fsmt-${h(17)}`, state: { ...base, ipAddress: `10.0.${parseInt(h(2), 16) % 250}.${parseInt(h(2), 16) % 250}` } };
            case "aws:ec2/securityGroup:SecurityGroup":
                return { id: `sg-${h(17)}`, state: { ...base, arn: this.arn("ec2", `security-group/sg-${h(17)}`) } };
            case "aws:ec2/launchTemplate:LaunchTemplate":
                return { id: `lt-${h(17)}`, state: { ...base, latestVersion: 1, defaultVersion: 1, arn: this.arn("ec2", `launch-template/lt-${h(17)}`) } };
            case STACK_REFERENCE:
                return { id: String(inputs.name), state: this.stackReference(String(inputs.name)) };
            case "aws:eks/addon:Addon":
                return { id: `${String(inputs.clusterName)}:${String(inputs.addonName)}`, state: { ...base, arn: this.arn("eks", `addon/${String(inputs.clusterName)}/${String(inputs.addonName)}/${h(8)}`) } };
            default:
                if (type.startsWith("kubernetes:")) {
                    return { id: this.k8sId(inputs, name), state: base };
                }
                return { id: `${lastSegment(name)}-${h(8)}`, state: { ...base, arn: this.arn(type.split(":")[1]?.split("/")[0] ?? "unknown", `${lastSegment(name)}-${h(8)}`) } };
        }
    }

    call(args: pulumi.runtime.MockCallArgs): Record<string, unknown> {
        switch (args.token) {
            case "aws:index/getCallerIdentity:getCallerIdentity":
                return { accountId: ACCOUNT_ID, arn: `arn:aws:iam::${ACCOUNT_ID}:user/plan`, userId: "AIDAPLAN", id: ACCOUNT_ID };
            case "aws:index/getRegion:getRegion":
                return { name: this.opts.region, region: this.opts.region, id: this.opts.region };
            case "aws:index/getPartition:getPartition":
                return { partition: "aws", dnsSuffix: "amazonaws.com", id: "aws" };
            default:
                // A new data source must be taught to the emulator, not silently answered.
                throw new Error(`the offline plan's cloud emulator has no answer for invoke ${args.token}; add it to plan/emulator.ts`);
        }
    }

    /** The state the engine reads for a StackReference: the other stack's outputs, secrets named. */
    private stackReference(name: string): State {
        const match = Object.entries(this.opts.stackReferences ?? {}).find(([pattern]) => stackNameMatches(pattern, name));
        if (!match) {
            throw new Error(
                `the offline plan has no outputs for stack reference "${name}"; plan that stack first and pass its recorded outputs ` +
                    `(npm run plan -- --program <dir> --stack <stack> --platform-outputs out/<stack>/resources.json)`,
            );
        }
        this.referencedStacks.push(name);
        const outputs: State = {};
        const secretOutputNames: string[] = [];
        for (const [key, output] of Object.entries(match[1])) {
            if (output.secret) {
                outputs[key] = stackReferenceSecretPlaceholder(name, key);
                secretOutputNames.push(key);
            } else {
                outputs[key] = output.value;
            }
        }
        return { name, outputs, secretOutputNames };
    }

    private k8sId(inputs: State, name: string): string {
        const meta = (inputs.metadata ?? {}) as { name?: string; namespace?: string };
        const objName = meta.name ?? name;
        return meta.namespace ? `${meta.namespace}/${objName}` : objName;
    }

    private vpc(name: string): State {
        const azs = this.opts.availabilityZones;
        return {
            vpcId: `vpc-${hex(name, 17)}`,
            privateSubnetIds: azs.map((az) => `subnet-${hex(`${name}/private/${az}`, 17)}`),
            publicSubnetIds: azs.map((az) => `subnet-${hex(`${name}/public/${az}`, 17)}`),
            isolatedSubnetIds: [],
        };
    }

    private cluster(name: string, inputs: State): State {
        const clusterName = (inputs.name as string) ?? `${lastSegment(name)}-${hex(name, 7)}`;
        const oidcId = hex(`${clusterName}/oidc`, 32).toUpperCase();
        const issuerHost = `oidc.eks.${this.opts.region}.amazonaws.com/id/${oidcId}`;
        const endpoint = `https://${hex(`${clusterName}/endpoint`, 32).toUpperCase()}.gr7.${this.opts.region}.eks.amazonaws.com`;
        const caData = Buffer.from(`emulated-ca-for-${clusterName}`).toString("base64");
        const kubeconfig = {
            apiVersion: "v1",
            kind: "Config",
            clusters: [{ name: clusterName, cluster: { server: endpoint, "certificate-authority-data": caData } }],
            contexts: [{ name: "aws", context: { cluster: clusterName, user: "aws" } }],
            "current-context": "aws",
            users: [
                {
                    name: "aws",
                    user: {
                        exec: {
                            apiVersion: "client.authentication.k8s.io/v1beta1",
                            command: "aws",
                            args: ["eks", "get-token", "--cluster-name", clusterName, "--output", "json"],
                        },
                    },
                },
            ],
        };
        const clusterSg = `sg-${hex(`${clusterName}/cluster-sg`, 17)}`;
        return {
            eksCluster: {
                name: clusterName,
                arn: this.arn("eks", `cluster/${clusterName}`),
                endpoint,
                version: inputs.version,
                certificateAuthority: { data: caData },
                vpcConfig: { clusterSecurityGroupId: clusterSg, endpointPublicAccess: inputs.endpointPublicAccess, endpointPrivateAccess: inputs.endpointPrivateAccess },
                identities: [{ oidcs: [{ issuer: `https://${issuerHost}` }] }],
            },
            kubeconfig,
            kubeconfigJson: JSON.stringify(kubeconfig),
            clusterSecurityGroupId: clusterSg,
            nodeSecurityGroupId: clusterSg,
            oidcProviderArn: `arn:aws:iam::${ACCOUNT_ID}:oidc-provider/${issuerHost}`,
            oidcProviderUrl: `https://${issuerHost}`,
            oidcIssuer: issuerHost,
            core: { cluster: { name: clusterName } },
        };
    }
}
