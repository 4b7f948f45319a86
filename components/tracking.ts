import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

export const TRACKING_SECRET_NAME = "mlflow-credentials";
export const TRACKING_URI_KEY = "tracking_uri";

export interface TrackingSecretsArgs {
    /** Every namespace whose workloads read the tracking URI. */
    namespaces: string[];
    /** The MLflow tracking URI; stays a Pulumi secret end to end. */
    trackingUri: pulumi.Input<string>;
}

/** The MLflow tracking URI as a Kubernetes Secret in each workload namespace (pods read it by key). */
export class TrackingSecrets extends pulumi.ComponentResource {
    public readonly secretName: string = TRACKING_SECRET_NAME;
    public readonly resources: k8s.core.v1.Secret[];

    constructor(name: string, args: TrackingSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:tracking:TrackingSecrets", name, {}, opts);
        const uri = pulumi.secret(args.trackingUri);
        this.resources = args.namespaces.map(
            (namespace) =>
                new k8s.core.v1.Secret(
                    `${name}-${namespace}`,
                    {
                        metadata: { name: TRACKING_SECRET_NAME, namespace, labels: { "app.kubernetes.io/part-of": "ml-platform" } },
                        type: "Opaque",
                        stringData: { [TRACKING_URI_KEY]: uri },
                    },
                    { parent: this },
                ),
        );
        this.registerOutputs({ secretName: this.secretName });
    }
}
