/**
 * Where a pool's nodes may launch, and what EFA asks of a pool: the zones must be the cluster's, and an
 * EFA pool needs an EFA-capable instance type and exactly one zone (a cluster placement group lives in
 * one AZ, and EFA traffic does not cross AZs). Appends problem lines like crossChecks.ts.
 */
import { instanceType } from "../capacity/catalog";
import { EFA_INSTANCE_TYPES } from "../capacity/efa";
import { NAMESPACE, problemLine } from "./errors";
import { NodePoolConfig } from "./schema";

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
