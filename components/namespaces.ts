import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

export interface NamespacesArgs {
    names: string[];
}

/** The platform's workload namespaces; everything namespaced depends on these. */
export class Namespaces extends pulumi.ComponentResource {
    public readonly resources: k8s.core.v1.Namespace[];

    constructor(name: string, args: NamespacesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:cluster:Namespaces", name, {}, opts);
        this.resources = args.names.map(
            (ns) =>
                new k8s.core.v1.Namespace(
                    `${name}-${ns}`,
                    {
                        metadata: {
                            name: ns,
                            labels: {
                                "app.kubernetes.io/part-of": "ml-platform",
                                // Workloads here must satisfy the restricted Pod Security Standard.
                                "pod-security.kubernetes.io/enforce": "restricted",
                                "pod-security.kubernetes.io/enforce-version": "latest",
                            },
                        },
                    },
                    { parent: this },
                ),
        );
        this.registerOutputs({});
    }
}
