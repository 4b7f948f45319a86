/**
 * How pools buy capacity: GPU model serving does not run on Spot (an interruption takes replicas down
 * with two minutes' notice), and a pool bound to a capacity reservation stays in the reservation's zone.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { describeTemplate, kindOf, podTemplates, requestedGpus, selectsNode } from "./k8s";
import { describePool, LAUNCH_TEMPLATE, nodePoolOf, NodePoolView, subnetSpread } from "./nodepools";

export const gpuServingNotOnSpot: StackValidationPolicy = {
    name: "gpu-serving-not-on-spot",
    description:
        "GPU model servers (Deployments requesting nvidia.com/gpu) do not select a Spot node pool: a Spot interruption gives two minutes' notice, less than a model takes to load elsewhere (dev makes it advisory).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        const spotPools = args.resources
            .map((r) => ({ r, pool: nodePoolOf(r.type, r.props, r.name) }))
            .filter((x): x is { r: typeof x.r; pool: NodePoolView } => x.pool !== undefined && x.r.props.capacityType === "SPOT")
            .map((x) => x.pool);
        if (spotPools.length === 0) {
            return;
        }
        for (const r of args.resources.filter((x) => kindOf(x.type) === "Deployment")) {
            for (const t of podTemplates(r.type, r.props, r.name)) {
                if (requestedGpus(t.spec) === 0) {
                    continue;
                }
                for (const pool of spotPools.filter((p) => selectsNode(t.spec, p.labels))) {
                    report(
                        `${describeTemplate(t)} serves on ${describePool(pool)}, whose capacity type is SPOT. ` +
                            `Fix: serve from an ON_DEMAND pool, or allow it explicitly with ml-platform:gpuSpot: any (and this rule advisory in the stack's policy config).`,
                        r.urn,
                    );
                }
            }
        }
    },
};

export const capacityReservationOneZone: ResourceValidationPolicy = {
    name: "capacity-reservation-one-zone",
    description:
        "A node pool on a Capacity Block (capacity type CAPACITY_BLOCK) launches in one zone and its launch template targets the block with market type capacity-block, as EKS requires; instances elsewhere would fall back to on-demand or fail.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        const pool = nodePoolOf(args.type, args.props, args.name);
        if (pool) {
            const spread = subnetSpread(args.props);
            if (args.props.capacityType === "CAPACITY_BLOCK" && spread !== undefined && spread !== 1) {
                report(`${describePool(pool)} runs on a Capacity Block but spreads over ${spread} subnets; a block lives in one zone. Fix: set ml-platform:nodePools.${pool.pool}.availabilityZones to the block's zone.`);
            }
            return;
        }
        if (args.type !== LAUNCH_TEMPLATE) {
            return;
        }
        const market = args.props.instanceMarketOptions?.marketType;
        const target = args.props.capacityReservationSpecification?.capacityReservationTarget?.capacityReservationId;
        if (market === "capacity-block" && !target) {
            report(`Launch template "${args.name}" asks for market type capacity-block but targets no capacity reservation. Fix: capacityReservationSpecification.capacityReservationTarget.capacityReservationId (capacity/capacityTypes.ts).`);
        }
    },
};

export const capacityTypePolicies = [gpuServingNotOnSpot, capacityReservationOneZone];
