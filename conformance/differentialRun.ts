/** Runs differential scenarios on a control plane, one at a time, and collects both answers. */
import { placeWorkloads } from "../capacity/scheduling";
import { isBound, schedulingMessage } from "./compare";
import { KWOK_NODE_ANNOTATION } from "./controlPlane";
import { DIFFERENTIAL_LABEL, plannerInput, Scenario, scenarioObjects, ScenarioOutcome } from "./differential";
import { Kube, KubeObject, sleep, waitForReadyNodes } from "./kube";

export const DIFFERENTIAL_NAMESPACE = "differential";

export function plannerVerdicts(s: Scenario): Map<string, { schedulable: boolean; reason?: string }> {
    const { groups, pools } = plannerInput(s);
    const result = placeWorkloads(groups, pools);
    return new Map(result.placements.map((p) => [p.workload, { schedulable: p.schedulable, ...(p.reason ? { reason: p.reason } : {}) }]));
}

async function podsOf(kube: Kube, tag: string): Promise<KubeObject[]> {
    return kube.list("v1", "Pod", DIFFERENTIAL_NAMESPACE, `?labelSelector=${encodeURIComponent(`${DIFFERENTIAL_LABEL}=${tag}`)}`);
}

export async function runScenario(kube: Kube, s: Scenario): Promise<ScenarioOutcome[]> {
    const tag = String(s.index);
    const { nodes, pods } = scenarioObjects(s, DIFFERENTIAL_NAMESPACE, KWOK_NODE_ANNOTATION);
    for (const n of nodes) await kube.create(n);
    await waitForReadyNodes(kube, `${DIFFERENTIAL_LABEL}=${tag}`, nodes.length, 100);
    for (const p of pods) await kube.create(p);
    // Settled: every pod bound or marked unschedulable, twice in a row.
    let calm = 0;
    const deadline = Date.now() + 30_000;
    let live: KubeObject[] = [];
    while (calm < 2 && Date.now() < deadline) {
        live = await podsOf(kube, tag);
        const done = live.length === pods.length && live.every((p) => isBound(p) || schedulingMessage(p) !== undefined);
        calm = done ? calm + 1 : 0;
        await sleep(done ? 400 : 100);
    }
    const planner = plannerVerdicts(s);
    const outcomes: ScenarioOutcome[] = s.workloads.map((w) => {
        const mine = live.filter((p) => p.metadata.labels?.workload === w.name);
        const bound = mine.filter(isBound).length;
        const pending = mine.map(schedulingMessage).find((m) => m !== undefined);
        const verdict = planner.get(w.name)!;
        return {
            index: s.index,
            workload: w.name,
            planner: verdict.schedulable,
            ...(verdict.reason ? { plannerReason: verdict.reason } : {}),
            scheduler: bound === w.pods,
            schedulerDetail: `${bound}/${w.pods} bound${pending ? `; ${pending}` : ""}`,
        };
    });
    for (const p of pods) await kube.delete("v1", "Pod", DIFFERENTIAL_NAMESPACE, p.metadata.name, 0);
    for (const n of nodes) await kube.delete("v1", "Node", undefined, n.metadata.name);
    return outcomes;
}
