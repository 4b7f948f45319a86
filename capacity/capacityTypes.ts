/**
 * How a pool buys its instances (on-demand, Spot, an On-Demand Capacity Reservation or a Capacity Block
 * for ML), what that asks of its launch template, and which price the report may state for it. Pure.
 *
 * Sources: the EKS user guide "Create a managed node group with Capacity Blocks for ML" (capacity type
 * CAPACITY_BLOCK; the launch template sets InstanceMarketOptions.MarketType "capacity-block" and
 * CapacityReservationSpecification.CapacityReservationTarget.CapacityReservationId; subnets in the
 * reservation's zone only); the EC2 user guide on Spot (the default maximum price is the on-demand
 * price) and on capacity reservations (billed at the on-demand rate whether instances run in them or not).
 */
import { instanceType } from "./catalog";

/** Catalog types EC2 sells Capacity Blocks for (EC2 user guide, "Capacity Blocks for ML", supported types). */
export const CAPACITY_BLOCK_INSTANCE_TYPES: readonly string[] = ["p4d.24xlarge", "p4de.24xlarge", "p5.48xlarge"];

export type CapacityType = "ON_DEMAND" | "SPOT" | "CAPACITY_BLOCK";

export interface CapacityReservation {
    /** cr-... of an On-Demand Capacity Reservation (ON_DEMAND) or a Capacity Block (CAPACITY_BLOCK). */
    id: string;
    /** A Capacity Block's effective price per instance-hour, as its offering states it; unknown when absent. */
    hourlyPriceUsd?: number;
}

export interface PoolPurchase {
    name: string;
    instanceType: string;
    capacityType: CapacityType;
    capacityReservation?: CapacityReservation;
}

/** Launch template fields (aws.ec2.LaunchTemplate names) that point the pool's instances at its reservation. */
export function reservationLaunchTemplateFields(pool: PoolPurchase) {
    if (!pool.capacityReservation) {
        return {};
    }
    const target = { capacityReservationSpecification: { capacityReservationTarget: { capacityReservationId: pool.capacityReservation.id } } };
    return pool.capacityType === "CAPACITY_BLOCK" ? { ...target, instanceMarketOptions: { marketType: "capacity-block" } } : target;
}

/** What one node of a pool costs per hour, as far as anyone can honestly say before the bill. */
export type PoolPrice =
    | { basis: "on-demand"; hourlyUsd: number }
    /** An ODCR: the on-demand rate, billed for every reserved instance whether a node runs in it or not. */
    | { basis: "capacity-reservation"; hourlyUsd: number }
    | { basis: "capacity-block"; hourlyUsd: number }
    | { basis: "capacity-block"; hourlyUsd: undefined }
    /** Spot varies by the hour; it never exceeds the default maximum price, the on-demand rate. */
    | { basis: "spot"; upToHourlyUsd: number };

export function poolPrice(pool: PoolPurchase): PoolPrice {
    const onDemand = instanceType(pool.instanceType).onDemandHourlyUsd;
    switch (pool.capacityType) {
        case "SPOT":
            return { basis: "spot", upToHourlyUsd: onDemand };
        case "CAPACITY_BLOCK":
            return { basis: "capacity-block", hourlyUsd: pool.capacityReservation?.hourlyPriceUsd };
        default:
            return pool.capacityReservation ? { basis: "capacity-reservation", hourlyUsd: onDemand } : { basis: "on-demand", hourlyUsd: onDemand };
    }
}

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 4 })}`;

/** The price of one node in words, never a number nobody stated. */
export function describePoolPrice(price: PoolPrice): string {
    switch (price.basis) {
        case "on-demand":
            return `${usd(price.hourlyUsd)}/h on-demand`;
        case "capacity-reservation":
            return `${usd(price.hourlyUsd)}/h (on-demand rate, billed for every reserved instance, idle or not)`;
        case "capacity-block":
            return price.hourlyUsd === undefined ? "unknown: the Capacity Block's price is not configured (capacityReservation.hourlyPriceUsd)" : `${usd(price.hourlyUsd)}/h (the Capacity Block's configured price, paid up front for the block)`;
        case "spot":
            return `up to ${usd(price.upToHourlyUsd)}/h (Spot varies; the on-demand rate is its default maximum, no lower figure is assumed)`;
    }
}

export interface PurchaseCostLine {
    pool: string;
    capacityType: CapacityType;
    nodesMax: number;
    price: PoolPrice;
}

/**
 * The pools at maximum scale priced by how they buy: a known part (on-demand, reservations, priced
 * blocks), an upper bound for Spot, and the pools whose price nobody configured.
 */
export function purchaseCost(lines: PurchaseCostLine[]): { knownHourly: number; spotUpToHourly: number; unknownPools: string[] } {
    let knownHourly = 0;
    let spotUpToHourly = 0;
    const unknownPools: string[] = [];
    for (const l of lines) {
        const p = l.price;
        if (p.basis === "spot") {
            spotUpToHourly += p.upToHourlyUsd * l.nodesMax;
        } else if (p.hourlyUsd === undefined) {
            unknownPools.push(l.pool);
        } else {
            knownHourly += p.hourlyUsd * l.nodesMax;
        }
    }
    return { knownHourly, spotUpToHourly, unknownPools };
}
