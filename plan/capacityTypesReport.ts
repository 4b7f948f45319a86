/** report.md section: how each pool buys capacity, and what that honestly costs (capacity/capacityTypes.ts). */
import { describePoolPrice, poolPrice, purchaseCost } from "../capacity/capacityTypes";
import { HOURS_PER_MONTH } from "../capacity/catalog";
import type { NodePoolSpec } from "../stacks/spec";
import { table, type ReportSection } from "./report";
import type { PlanSummary } from "./summary";

const usd = (n: number) => `$${n.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/**
 * Only when some pool buys other than plain on-demand: the Cost section prices every pool at the
 * catalog's on-demand rate, which is then an upper bound (Spot), exact (ODCR) or wrong (a priced block).
 */
export function capacityTypesSection(pools: NodePoolSpec[], s: PlanSummary): ReportSection | undefined {
    if (pools.every((p) => p.capacityType === "ON_DEMAND" && !p.capacityReservation)) {
        return undefined;
    }
    const lines = pools.map((p) => ({
        pool: p.name,
        capacityType: p.capacityType,
        nodesMax: s.cost.perPool.find((c) => c.pool === p.name)?.nodesMax ?? p.maxSize,
        price: poolPrice(p),
    }));
    const total = purchaseCost(lines);
    const parts = [`${usd(total.knownHourly * HOURS_PER_MONTH)} a month at known prices`];
    if (total.spotUpToHourly > 0) {
        parts.push(`up to ${usd(total.spotUpToHourly * HOURS_PER_MONTH)} more on Spot (no lower Spot price is assumed)`);
    }
    if (total.unknownPools.length > 0) {
        parts.push(`plus ${total.unknownPools.join(", ")} at an unknown price (no Capacity Block price configured)`);
    }
    return {
        title: "Capacity types",
        body: [
            table(
                ["pool", "capacity type", "reservation", "price per node"],
                pools.map((p, i) => [p.name, p.capacityType, p.capacityReservation?.id ?? "-", describePoolPrice(lines[i].price)]),
            ),
            "",
            "The Cost section prices every pool at the on-demand catalog rate: for Spot pools that is the most they can cost, for an On-Demand Capacity Reservation it is the rate (billed for every reserved instance, running or not), for a Capacity Block it is not what the block costs.",
            `Priced by how each pool buys, the pools at maximum scale cost ${parts.join(", ")}.`,
        ].join("\n"),
    };
}
