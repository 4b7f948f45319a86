/**
 * The planner against the real kube-scheduler on seeded scenarios. DIFFERENTIAL_SEED replays a run,
 * DIFFERENTIAL_SCENARIOS changes how many (at least 200 by default).
 */
import * as assert from "node:assert/strict";
import { ControlPlane, startControlPlane } from "../controlPlane";
import { generateScenario, plannerFeasible, Scenario, ScenarioOutcome } from "../differential";
import { DIFFERENTIAL_NAMESPACE, runScenario } from "../differentialRun";
import { waitFor } from "../kube";

const SEED = Number(process.env.DIFFERENTIAL_SEED ?? 20261201);
const COUNT = Number(process.env.DIFFERENTIAL_SCENARIOS ?? 200);

describe(`differential: the planner against kube-scheduler (seed ${SEED}, ${COUNT} scenarios)`, function () {
    let cp: ControlPlane;
    const scenarios: Scenario[] = Array.from({ length: COUNT }, (_, i) => generateScenario(SEED, i, plannerFeasible));
    const outcomes: ScenarioOutcome[] = [];

    before(async () => {
        console.log(`    seed ${SEED}: replay with DIFFERENTIAL_SEED=${SEED} DIFFERENTIAL_SCENARIOS=${COUNT} npm run test:cluster`);
        cp = await startControlPlane();
        await cp.kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name: DIFFERENTIAL_NAMESPACE } });
        await waitForDefaultAccount(cp);
    });
    after(async () => cp && (await cp.stop()));

    it("covers what it claims: every operator, tolerations without a key, several terms, gangs, both verdicts", () => {
        const ops = new Set(scenarios.flatMap((s) => s.workloads.flatMap((w) => (w.affinity ?? []).flat().map((r) => r.operator))));
        assert.deepEqual([...ops].sort(), ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"]);
        assert.ok(scenarios.some((s) => s.workloads.some((w) => w.tolerations.some((t) => t.key === undefined))), "a toleration with no key");
        assert.ok(scenarios.some((s) => s.workloads.some((w) => w.tolerations.some((t) => t.key !== undefined && t.effect === undefined))), "a toleration with no effect");
        assert.ok(scenarios.some((s) => s.workloads.some((w) => (w.affinity ?? []).length > 1)), "several nodeSelectorTerms");
        assert.ok(scenarios.some((s) => s.workloads.some((w) => w.gang && w.pods > 1)), "gangs");
        assert.ok(scenarios.some((s) => s.workloads.some((w) => (w.requests.extended["vpc.amazonaws.com/efa"] ?? 0) > 0)), "a second extended resource");
    });

    it("the planner and kube-scheduler give the same answer for every workload", async () => {
        for (const s of scenarios) outcomes.push(...(await runScenario(cp.kube, s)));
        const schedulable = outcomes.filter((o) => o.scheduler).length;
        console.log(`    ${outcomes.length} workloads in ${scenarios.length} scenarios: ${schedulable} schedulable, ${outcomes.length - schedulable} not, by kube-scheduler`);
        const differ = outcomes.filter((o) => o.planner !== o.scheduler);
        assert.deepEqual(
            differ.map((o) => `scenario ${o.index} ${o.workload}: planner ${o.planner ? "schedulable" : `unschedulable (${o.plannerReason})`}, kube-scheduler ${o.schedulerDetail}\n${JSON.stringify(scenarios[o.index])}`),
            [],
            `replay: DIFFERENTIAL_SEED=${SEED}`,
        );
        // Both answers must be common, or the agreement says little.
        assert.ok(schedulable >= outcomes.length * 0.2 && outcomes.length - schedulable >= outcomes.length * 0.2, `verdicts too one-sided: ${schedulable}/${outcomes.length}`);

    });
});

async function waitForDefaultAccount(cp: ControlPlane): Promise<void> {
    await waitFor("the differential namespace's default service account", 60_000, async () => ((await cp.kube.get("v1", "ServiceAccount", DIFFERENTIAL_NAMESPACE, "default")) ? true : undefined));
}
