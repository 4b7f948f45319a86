/**
 * Where a pool's nodes may launch, how it buys capacity (Spot, reservations), and what EFA asks of a pool: the zones must be the cluster's, and an
 * EFA pool needs an EFA-capable instance type and exactly one zone (a cluster placement group lives in
 * one AZ, and EFA traffic does not cross AZs). Appends problem lines like crossChecks.ts.
 */
import { CAPACITY_BLOCK_INSTANCE_TYPES } from "../capacity/capacityTypes";
import { instanceType } from "../capacity/catalog";
import { EFA_INSTANCE_TYPES } from "../capacity/efa";
import { GpuSharing, sharingProblems } from "../capacity/sharing";
import { NAMESPACE, problemLine } from "./errors";
import { NodePoolConfig } from "./schema";
import { NodePoolSpec, ServingSpec } from "./spec";

export function checkPoolPlacement(pools: Record<string, NodePoolConfig>, clusterZones: string[] | undefined, problems: string[]) {
    for (const [name, p] of Object.entries(pools)) {
        const where = `${NAMESPACE}:nodePools.${name}`;
        if (p.availabilityZones && clusterZones) {
            p.availabilityZones.forEach((zone, i) => {
                if (!clusterZones.includes(zone)) {
                    problems.push(problemLine(`${where}.availabilityZones[${i}]`, "is not one of the cluster's zones", zone, `one of ${NAMESPACE}:cluster.availabilityZones: ${clusterZones.join(", ")}`));
                }
            });
        }
        if (!p.efa) {
            continue;
        }
        if (!instanceType(p.instanceType).efa) {
            problems.push(problemLine(`${where}.efa`, `is true but ${p.instanceType} has no EFA interfaces`, p.efa, `efa: true only with an EFA-capable instance type (${EFA_INSTANCE_TYPES.join(", ")})`));
        }
        if (p.availabilityZones?.length !== 1) {
            problems.push(
                problemLine(
                    `${where}.availabilityZones`,
                    "must name exactly one zone when efa is true (the cluster placement group and EFA traffic stay in one AZ)",
                    p.availabilityZones ?? "(unset: every cluster zone)",
                    `one zone of ${NAMESPACE}:cluster.availabilityZones, e.g. [${clusterZones?.[0] ?? "us-east-1a"}]`,
                ),
            );
        }
    }
}

export type GpuSpot = "never" | "training" | "any";

/** ml-platform:gpuSpot, or its environment's default: prod keeps serving off Spot, dev allows it. */
export function gpuSpotOf(configured: GpuSpot | undefined, environment: string): GpuSpot {
    return configured ?? (environment === "prod" ? "training" : "any");
}

/**
 * How each pool buys capacity: a Capacity Block only for the types EC2 sells blocks for and only with
 * its reservation, a reservation never with Spot, a reservation in exactly one zone (it lives in one),
 * a price only for a block, and Spot on a GPU pool only where ml-platform:gpuSpot allows it.
 */
export function checkPoolCapacity(pools: Record<string, NodePoolConfig>, gpuSpot: GpuSpot, problems: string[]) {
    for (const [name, p] of Object.entries(pools)) {
        const where = `${NAMESPACE}:nodePools.${name}`;
        const reservation = p.capacityReservation;
        if (p.capacityType === "CAPACITY_BLOCK") {
            if (!CAPACITY_BLOCK_INSTANCE_TYPES.includes(p.instanceType)) {
                problems.push(problemLine(`${where}.capacityType`, `is CAPACITY_BLOCK but EC2 sells no Capacity Blocks of ${p.instanceType}`, p.capacityType, `CAPACITY_BLOCK with ${CAPACITY_BLOCK_INSTANCE_TYPES.join(", ")}; ON_DEMAND or SPOT otherwise`));
            }
            if (!reservation) {
                problems.push(problemLine(`${where}.capacityReservation`, "is required with capacityType CAPACITY_BLOCK (the block's reservation ID)", reservation ?? "(unset)", "{ id: cr-..., hourlyPriceUsd: <the block's price per instance-hour> }"));
            }
        }
        if (reservation && p.capacityType === "SPOT") {
            problems.push(problemLine(`${where}.capacityReservation`, "cannot go with capacityType SPOT: reservations are on-demand capacity", reservation.id, "capacityType ON_DEMAND (an On-Demand Capacity Reservation) or CAPACITY_BLOCK"));
        }
        if (reservation?.hourlyPriceUsd !== undefined && p.capacityType !== "CAPACITY_BLOCK") {
            problems.push(problemLine(`${where}.capacityReservation.hourlyPriceUsd`, "is only for Capacity Blocks; an On-Demand Capacity Reservation is billed at the on-demand rate", reservation.hourlyPriceUsd, "omit it, or capacityType CAPACITY_BLOCK"));
        }
        if (reservation && p.availabilityZones?.length !== 1) {
            problems.push(
                problemLine(`${where}.availabilityZones`, "must name exactly the reservation's zone when capacityReservation is set (a reservation lives in one AZ)", p.availabilityZones ?? "(unset: every cluster zone)", "the one zone the reservation is in, e.g. [us-east-1a]"),
            );
        }
        if (p.capacityType === "SPOT" && instanceType(p.instanceType).gpu && gpuSpot === "never") {
            problems.push(problemLine(`${where}.capacityType`, `is SPOT on a GPU pool but ${NAMESPACE}:gpuSpot is never`, p.capacityType, `ON_DEMAND, or set ${NAMESPACE}:gpuSpot to training or any`));
        }
    }
}

/** Model serving on a Spot GPU pool only with ml-platform:gpuSpot any (an interruption gives two minutes' notice). */
export function checkServingOnSpot(serving: ServingSpec[], pools: NodePoolSpec[], gpuSpot: GpuSpot, problems: string[]) {
    if (gpuSpot === "any") {
        return;
    }
    serving.forEach((s, i) => {
        const pool = pools.find((p) => p.name === s.pool);
        if (pool?.gpu && pool.capacityType === "SPOT") {
            problems.push(problemLine(`${NAMESPACE}:serving[${i}].pool`, `places ${s.name} on Spot GPU pool ${pool.name}, but ${NAMESPACE}:gpuSpot is ${gpuSpot} (serving stays off Spot)`, s.pool, `an ON_DEMAND GPU pool, or ${NAMESPACE}:gpuSpot: any`));
        }
    });
}

/**
 * What this platform's Karpenter NodePools do not express yet: EFA interfaces and placement groups,
 * and capacity reservations (Capacity Blocks, ODCRs). Such GPU pools stay managed node groups' business.
 */
export function checkKarpenterPools(pools: Record<string, NodePoolConfig>, problems: string[]) {
    for (const [name, p] of Object.entries(pools)) {
        if (!instanceType(p.instanceType).gpu) {
            continue;
        }
        const where = `${NAMESPACE}:nodePools.${name}`;
        if (p.efa) {
            problems.push(problemLine(`${where}.efa`, `is true, but with ${NAMESPACE}:nodeProvisioner karpenter the platform does not derive EFA interfaces or placement groups yet`, p.efa, `efa: false, or ${NAMESPACE}:nodeProvisioner: cluster-autoscaler`));
        }
        if (p.sharing) {
            problems.push(
                problemLine(
                    `${where}.sharing`,
                    `is set, but with ${NAMESPACE}:nodeProvisioner karpenter: Karpenter sizes a node by its physical GPUs, not the slices or replicas the device plugin advertises, and would launch a node per pod`,
                    p.sharing,
                    `no sharing, or ${NAMESPACE}:nodeProvisioner: cluster-autoscaler`,
                ),
            );
        }
        if (p.capacityType === "CAPACITY_BLOCK" || p.capacityReservation) {
            problems.push(problemLine(`${where}.capacityReservation`, `is set, but with ${NAMESPACE}:nodeProvisioner karpenter the platform does not target reservations yet`, p.capacityReservation?.id ?? p.capacityType, `ON_DEMAND or SPOT without a reservation, or ${NAMESPACE}:nodeProvisioner: cluster-autoscaler`));
        }
    }
}

/** The config's sharing block as capacity/sharing's GpuSharing (the schema has checked exactly one mode is set). */
export function sharingOf(p: NodePoolConfig): GpuSharing | undefined {
    if (p.sharing?.timeSlicing) {
        return { timeSlicing: { replicas: p.sharing.timeSlicing.replicas } };
    }
    if (p.sharing?.mig) {
        return { mig: { profile: p.sharing.mig.profile } };
    }
    return undefined;
}

/**
 * GPU sharing: only on a GPU pool, MIG only with a profile the pool's GPU has, and not with EFA (EFA is
 * for multi-node training over whole GPUs; a shared GPU serves small pods).
 */
export function checkPoolSharing(pools: Record<string, NodePoolConfig>, problems: string[]): string[] {
    const broken: string[] = [];
    for (const [name, p] of Object.entries(pools)) {
        const sharing = sharingOf(p);
        if (!sharing) {
            continue;
        }
        const where = `${NAMESPACE}:nodePools.${name}`;
        const wrong = sharingProblems(p.instanceType, instanceType(p.instanceType).gpu, sharing);
        for (const x of wrong) {
            problems.push(problemLine(`${where}.${x.path}`, x.wrong, x.got, x.allowed));
        }
        if (wrong.length > 0) {
            broken.push(name);
        }
        if (p.efa) {
            problems.push(problemLine(`${where}.efa`, "is true on a pool that shares its GPUs: EFA carries multi-node training over whole GPUs", p.efa, "efa: false, or remove sharing"));
        }
    }
    return broken;
}
