import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";

import { SERVING_PRIORITY_CLASS, TRAINING_PRIORITY_CLASS } from "../facts/priority";

export { SERVING_PRIORITY_CLASS, TRAINING_PRIORITY_CLASS } from "../facts/priority";

/** Values and preemption of the two classes: serving outranks training, training never evicts anyone. */
export const PRIORITY_CLASSES = {
    [SERVING_PRIORITY_CLASS]: {
        value: 100000,
        preemptionPolicy: "PreemptLowerPriority",
        description: "Online model serving: may preempt batch training to keep inference capacity.",
    },
    [TRAINING_PRIORITY_CLASS]: {
        value: 1000,
        // Never: a queued training pod waits for capacity instead of evicting other work.
        preemptionPolicy: "Never",
        description: "Batch training: waits for capacity, never preempts; serving may preempt it.",
    },
} as const;

/**
 * The cluster's workload PriorityClasses. Both are positive, since Cluster Autoscaler ignores pods below
 * priority -10 when deciding to scale up.
 */
export class PriorityClasses extends pulumi.ComponentResource {
    public readonly resources: k8s.scheduling.v1.PriorityClass[];

    constructor(name: string, args: Record<string, never> = {}, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:priority:PriorityClasses", name, args, opts);
        this.resources = Object.entries(PRIORITY_CLASSES).map(
            ([className, c]) =>
                new k8s.scheduling.v1.PriorityClass(
                    `${name}-${className}`,
                    {
                        metadata: { name: className, labels: { "app.kubernetes.io/part-of": "ml-platform" } },
                        value: c.value,
                        preemptionPolicy: c.preemptionPolicy,
                        globalDefault: false,
                        description: c.description,
                    },
                    { parent: this },
                ),
        );
        this.registerOutputs({});
    }
}
