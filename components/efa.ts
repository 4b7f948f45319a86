import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { efaDevicePluginValues } from "../capacity/efa";
import { NodePoolShape, Taint } from "../capacity/pools";
import { VERSIONS } from "../facts/versions";

export interface EfaDevicePluginArgs {
    /** The EFA pools: the plugin tolerates exactly their taints and selects them by their EFA label. */
    efaPools: NodePoolShape[];
    gpuTaint: Taint;
    namespace: string;
}

/**
 * AWS's EFA device plugin (chart pinned in facts/versions.ts), which advertises `vpc.amazonaws.com/efa`
 * on EFA nodes. Its values come from capacity/efa.ts, which the planner reads too.
 */
export class EfaDevicePlugin extends pulumi.ComponentResource {
    constructor(name: string, args: EfaDevicePluginArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:efa:EfaDevicePlugin", name, {}, opts);
        new k8s.helm.v3.Release(
            `${name}-release`,
            {
                name: VERSIONS.efaDevicePlugin.chart,
                namespace: args.namespace,
                chart: VERSIONS.efaDevicePlugin.chart,
                version: VERSIONS.efaDevicePlugin.version,
                repositoryOpts: { repo: VERSIONS.efaDevicePlugin.repo },
                values: efaDevicePluginValues(args.efaPools, args.gpuTaint),
            },
            { parent: this },
        );
        this.registerOutputs({});
    }
}
