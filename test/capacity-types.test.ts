/**
 * Capacity types (issue 19, part B): Spot where the stack allows it, On-Demand Capacity Reservations and
 * Capacity Blocks with their launch template fields, and prices that are stated or said to be unknown.
 */
import { strict as assert } from "node:assert";
import { readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { describePoolPrice, poolPrice, purchaseCost, reservationLaunchTemplateFields } from "../capacity/capacityTypes";
import { instanceType } from "../capacity/catalog";
import { capacityReservationOneZone, gpuServingNotOnSpot } from "../policy/rules/capacityTypes";
import { buildStackSpec, RawConfig } from "../stacks/validate";
import { plan, stackFile, tempDir } from "./fixtures";
import { problemsOf, rawConfigOf, withKey } from "./helpers";
import { Obj, onResource, onStack } from "./policy-rules-helpers";


const editPool = (name: string, edit: (p: Obj) => void) => (pools: Obj) => {
    edit(pools[name]);
    return pools;
};
const CR = "cr-0123456789abcdef0";

describe("capacity types: launch template fields and prices", () => {
    const p4d = "p4d.24xlarge";

    it("a Capacity Block targets its reservation with the capacity-block market; an ODCR only targets; plain pools add nothing", () => {
        assert.deepEqual(reservationLaunchTemplateFields({ name: "a100", instanceType: p4d, capacityType: "CAPACITY_BLOCK", capacityReservation: { id: CR } }), {
            capacityReservationSpecification: { capacityReservationTarget: { capacityReservationId: CR } },
            instanceMarketOptions: { marketType: "capacity-block" },
        });
        assert.deepEqual(reservationLaunchTemplateFields({ name: "a100", instanceType: p4d, capacityType: "ON_DEMAND", capacityReservation: { id: CR } }), {
            capacityReservationSpecification: { capacityReservationTarget: { capacityReservationId: CR } },
        });
        assert.deepEqual(reservationLaunchTemplateFields({ name: "a100", instanceType: p4d, capacityType: "SPOT" }), {});
    });

    it("prices: Spot only as an upper bound (the on-demand rate), a block at its configured price or unknown, never a guess", () => {
        const onDemand = instanceType(p4d).onDemandHourlyUsd;
        assert.deepEqual(poolPrice({ name: "a", instanceType: p4d, capacityType: "SPOT" }), { basis: "spot", upToHourlyUsd: onDemand });
        assert.deepEqual(poolPrice({ name: "a", instanceType: p4d, capacityType: "ON_DEMAND", capacityReservation: { id: CR } }), { basis: "capacity-reservation", hourlyUsd: onDemand });
        assert.deepEqual(poolPrice({ name: "a", instanceType: p4d, capacityType: "CAPACITY_BLOCK", capacityReservation: { id: CR, hourlyPriceUsd: 12.5 } }), { basis: "capacity-block", hourlyUsd: 12.5 });
        const unknown = poolPrice({ name: "a", instanceType: p4d, capacityType: "CAPACITY_BLOCK", capacityReservation: { id: CR } });
        assert.equal(describePoolPrice(unknown).startsWith("unknown"), true);
        assert.doesNotMatch(describePoolPrice(unknown), /\$/);
        assert.match(describePoolPrice(poolPrice({ name: "a", instanceType: p4d, capacityType: "SPOT" })), /^up to \$21\.9576\/h/);
        const total = purchaseCost([
            { pool: "a", capacityType: "SPOT", nodesMax: 2, price: { basis: "spot", upToHourlyUsd: 10 } },
            { pool: "b", capacityType: "CAPACITY_BLOCK", nodesMax: 4, price: { basis: "capacity-block", hourlyUsd: undefined } },
            { pool: "c", capacityType: "ON_DEMAND", nodesMax: 3, price: { basis: "on-demand", hourlyUsd: 1 } },
        ]);
        assert.deepEqual(total, { knownHourly: 3, spotUpToHourly: 20, unknownPools: ["b"] });
    });
});

describe("capacity types: validation (exit 2)", () => {
    const prod = rawConfigOf("prod");
    const dev = rawConfigOf("dev");
    const cases: { wrong: string; raw: RawConfig; expect: string[] }[] = [
        { wrong: "a Capacity Block of a type EC2 sells no blocks of", raw: withKey(prod, "nodePools", editPool("a10g", (p) => Object.assign(p, { capacityType: "CAPACITY_BLOCK", capacityReservation: { id: CR }, availabilityZones: ["us-east-1a"] }))), expect: ["ml-platform:nodePools.a10g.capacityType", "no Capacity Blocks of g5.12xlarge", "p4d.24xlarge"] },
        { wrong: "a Capacity Block without its reservation", raw: withKey(prod, "nodePools", editPool("a100", (p) => (p.capacityType = "CAPACITY_BLOCK"))), expect: ["ml-platform:nodePools.a100.capacityReservation", "is required with capacityType CAPACITY_BLOCK"] },
        { wrong: "a reservation on Spot", raw: withKey(dev, "nodePools", editPool("a100", (p) => Object.assign(p, { capacityType: "SPOT", capacityReservation: { id: CR }, availabilityZones: ["us-east-1a"] }))), expect: ["ml-platform:nodePools.a100.capacityReservation", "cannot go with capacityType SPOT", CR] },
        { wrong: "a price on an On-Demand Capacity Reservation", raw: withKey(prod, "nodePools", editPool("a100", (p) => (p.capacityReservation = { id: CR, hourlyPriceUsd: 10 }))), expect: ["ml-platform:nodePools.a100.capacityReservation.hourlyPriceUsd", "only for Capacity Blocks"] },
        { wrong: "a reservation over several zones", raw: withKey(prod, "nodePools", editPool("a10g", (p) => (p.capacityReservation = { id: CR }))), expect: ["ml-platform:nodePools.a10g.availabilityZones", "exactly the reservation's zone", "(unset: every cluster zone)"] },
        { wrong: "a malformed reservation ID", raw: withKey(prod, "nodePools", editPool("a100", (p) => (p.capacityReservation = { id: "reservation-1" }))), expect: ["ml-platform:nodePools.a100.capacityReservation.id", "cr-0123456789abcdef0", "reservation-1"] },
        { wrong: "prod serving on a Spot GPU pool", raw: withKey(prod, "nodePools", editPool("a10g", (p) => (p.capacityType = "SPOT"))), expect: ["ml-platform:serving[0].pool", "Spot GPU pool a10g", "gpuSpot is training"] },
        { wrong: "a Spot GPU pool where gpuSpot is never", raw: withKey(withKey(dev, "nodePools", editPool("a100", (p) => (p.capacityType = "SPOT"))), "gpuSpot", () => "never"), expect: ["ml-platform:nodePools.a100.capacityType", "gpuSpot is never"] },
        { wrong: "an unknown gpuSpot", raw: withKey(dev, "gpuSpot", () => "sometimes"), expect: ["ml-platform:gpuSpot must be one of", '"training"', '"sometimes"'] },
    ];
    for (const c of cases) {
        it(`refuses ${c.wrong}`, () => {
            const problems = problemsOf(c.raw);
            assert.ok(problems.some((p) => c.expect.every((e) => p.includes(e))), `no problem line has all of ${JSON.stringify(c.expect)}:\n${problems.join("\n")}`);
        });
    }

    it("allows Spot for serving in dev (gpuSpot defaults to any) and for training-only pools in prod", () => {
        assert.deepEqual(problemsOf(withKey(dev, "nodePools", editPool("a10g", (p) => (p.capacityType = "SPOT")))), []);
        assert.deepEqual(problemsOf(withKey(prod, "nodePools", editPool("a100", (p) => (p.capacityType = "SPOT")))), []);
        const spec = buildStackSpec(withKey(prod, "nodePools", editPool("a100", (p) => Object.assign(p, { capacityType: "CAPACITY_BLOCK", capacityReservation: { id: CR, hourlyPriceUsd: 12.5 } }))));
        assert.deepEqual(spec.nodePools.find((p) => p.name === "a100")!.capacityReservation, { id: CR, hourlyPriceUsd: 12.5 });
    });
});

describe("capacity types in the plan", () => {
    async function planWith(stack: "dev" | "prod", edit: (yaml: string) => string) {
        const dir = tempDir(`captype-${stack}`);
        const file = path.join(dir, `Pulumi.${stack}.yaml`);
        const yaml = readFileSync(stackFile(stack), "utf8");
        const edited = edit(yaml);
        assert.notEqual(edited, yaml, "the edit must change the config");
        writeFileSync(file, edited);
        const out = path.join(dir, "out");
        const r = await plan(["--stack", stack, "--config", file, "--out", out]);
        const resources = JSON.parse(readFileSync(path.join(out, "resources.json"), "utf8"));
        const list: Obj[] = Array.isArray(resources) ? resources : resources.resources;
        return { r, report: readFileSync(path.join(out, "report.md"), "utf8"), resources: list };
    }
    const a100 = "      availabilityZones: [us-east-1a]\n";

    it("a prod a100 Capacity Block: the node group and launch template target it, the report states the block's price", async () => {
        const { r, report, resources } = await planWith("prod", (y) => y.replace(a100, `${a100}      capacityType: CAPACITY_BLOCK\n      capacityReservation: { id: ${CR}, hourlyPriceUsd: 12.5 }\n`));
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const ng = resources.find((x) => x.type === "eks:index:ManagedNodeGroup" && x.name.endsWith("-a100-mng"))!.inputs;
        const lt = resources.find((x) => x.type === "aws:ec2/launchTemplate:LaunchTemplate" && x.name.endsWith("-a100-lt"))!.inputs;
        assert.equal(ng.capacityType, "CAPACITY_BLOCK");
        assert.deepEqual(lt.instanceMarketOptions, { marketType: "capacity-block" });
        assert.equal(lt.capacityReservationSpecification.capacityReservationTarget.capacityReservationId, CR);
        assert.match(report, /## Capacity types/);
        assert.match(report, new RegExp(`\\| a100 \\| CAPACITY_BLOCK \\| ${CR} \\| \\$12\\.50/h`));
        assert.doesNotMatch(report, /unknown price/);
    });

    it("without the block's price the report says unknown; dev Spot serving is shown as an upper bound and flagged (advisory)", async () => {
        const block = await planWith("prod", (y) => y.replace(a100, `${a100}      capacityType: CAPACITY_BLOCK\n      capacityReservation: { id: ${CR} }\n`));
        assert.equal(block.r.code, 0, block.r.stderr);
        assert.match(block.report, /\| a100 \| CAPACITY_BLOCK \| [^|]+ \| unknown: the Capacity Block's price is not configured/);
        assert.match(block.report, /plus a100 at an unknown price/);

        const spot = await planWith("dev", (y) => y.replace("      instanceType: g5.xlarge\n", "      instanceType: g5.xlarge\n      capacityType: SPOT\n"));
        assert.equal(spot.r.code, 0, spot.r.stderr);
        assert.match(spot.report, /\| a10g \| SPOT \| - \| up to \$1\.006\/h/);
        assert.match(spot.report, /up to \$[\d,.]+ more on Spot \(no lower Spot price is assumed\)/);
        assert.match(spot.report, /gpu-serving-not-on-spot/);
    });
});

describe("capacity type rules", () => {
    const ng = (capacityType: string, subnetIds: string[] | undefined) => ({ type: "eks:index:ManagedNodeGroup", name: "ng", inputs: { instanceTypes: ["g5.xlarge"], capacityType, subnetIds, labels: { "node-pool": "a10g", "nvidia.com/gpu.present": "true" } } });
    const deployment = (gpus: number) => ({
        type: "kubernetes:apps/v1:Deployment",
        name: "d",
        inputs: { kind: "Deployment", metadata: { name: "m", namespace: "ml-serving" }, spec: { template: { spec: { nodeSelector: { "node-pool": "a10g" }, containers: [{ name: "s", resources: { requests: { "nvidia.com/gpu": String(gpus) }, limits: { "nvidia.com/gpu": String(gpus) } } }] } } } },
    });

    it("gpu-serving-not-on-spot: a GPU Deployment selecting a Spot pool fails; on-demand, or a CPU Deployment, passes", () => {
        assert.match(onStack(gpuServingNotOnSpot, [ng("SPOT", ["s"]), deployment(1)])[0], /capacity type is SPOT/);
        assert.deepEqual(onStack(gpuServingNotOnSpot, [ng("ON_DEMAND", ["s"]), deployment(1)]), []);
        assert.deepEqual(onStack(gpuServingNotOnSpot, [ng("SPOT", ["s"]), deployment(0)]), []);
    });

    it("capacity-reservation-one-zone: a block over two subnets, or a capacity-block market without a reservation, fails", () => {
        assert.match(onResource(capacityReservationOneZone, ng("CAPACITY_BLOCK", ["a", "b"]))[0], /Capacity Block but spreads over 2 subnets/);
        assert.deepEqual(onResource(capacityReservationOneZone, ng("CAPACITY_BLOCK", ["a"])), []);
        assert.deepEqual(onResource(capacityReservationOneZone, ng("CAPACITY_BLOCK", undefined)), [], "subnets unknown in a preview: nothing judged");
        const lt = (spec: Obj) => ({ type: "aws:ec2/launchTemplate:LaunchTemplate", name: "lt", inputs: { instanceMarketOptions: { marketType: "capacity-block" }, ...spec } });
        assert.match(onResource(capacityReservationOneZone, lt({}))[0], /targets no capacity reservation/);
        assert.deepEqual(onResource(capacityReservationOneZone, lt({ capacityReservationSpecification: { capacityReservationTarget: { capacityReservationId: CR } } })), []);
    });
});
