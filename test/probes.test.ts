import { strict as assert } from "node:assert";
import { allowedDisruptionsAt, pdbFor } from "../components/disruption";
import { HEALTH_PATH, HTTP_PORT, probesFor, startupBudgetSeconds, startupKillAfterSeconds } from "../components/probes";

const LOADS = [1, 5, 10, 30, 60, 90, 120, 180, 600, 3600];

describe("components/probes", () => {
    for (const load of LOADS) {
        it(`a ${load}s model load fits the startup budget with 20% headroom`, () => {
            const { startupProbe } = probesFor(load);
            const required = Math.ceil(1.2 * load);
            assert.ok(startupBudgetSeconds(startupProbe) >= required, `budget ${startupBudgetSeconds(startupProbe)} < ${required}`);
            // The kubelet kills at the failureThreshold-th failure, one period before the budget's end.
            assert.ok(startupKillAfterSeconds(startupProbe) >= required, `killed after ${startupKillAfterSeconds(startupProbe)} < ${required}`);
        });
    }

    it("computes the budget as failureThreshold x periodSeconds + initialDelaySeconds", () => {
        assert.equal(startupBudgetSeconds({ failureThreshold: 12, periodSeconds: 10, initialDelaySeconds: 5 }), 125);
        assert.equal(startupKillAfterSeconds({ failureThreshold: 12, periodSeconds: 10, initialDelaySeconds: 5 }), 115);
    });

    it("keeps liveness off a loading pod: a startup probe gates it, on the same endpoint", () => {
        for (const load of LOADS) {
            const p = probesFor(load);
            // Kubernetes runs liveness and readiness only after the startup probe has succeeded once,
            // and the startup probe only succeeds when /health answers, i.e. after the model loaded.
            assert.ok(p.startupProbe, "startupProbe present");
            assert.deepEqual(p.livenessProbe.httpGet, p.startupProbe.httpGet);
            assert.deepEqual(p.startupProbe.httpGet, { path: HEALTH_PATH, port: HTTP_PORT });
            assert.equal(p.startupProbe.successThreshold, 1, "startup probes must have successThreshold 1");
            assert.equal(p.livenessProbe.successThreshold, 1, "liveness probes must have successThreshold 1");
            // Nothing about liveness depends on the load time any more.
            assert.deepEqual(p.livenessProbe, probesFor(1).livenessProbe);
        }
    });

    it("checks readiness every 10s on /health:8080", () => {
        const { readinessProbe } = probesFor(90);
        assert.equal(readinessProbe.periodSeconds, 10);
        assert.deepEqual(readinessProbe.httpGet, { path: "/health", port: 8080 });
    });

    it("rejects a non-positive load time", () => {
        assert.throws(() => probesFor(0), /modelLoadSeconds/);
        assert.throws(() => probesFor(-5), /modelLoadSeconds/);
        assert.throws(() => probesFor(Number.NaN), /modelLoadSeconds/);
    });
});

describe("components/disruption", () => {
    for (let min = 1; min <= 5; min++) {
        it(`allows at least one voluntary disruption at ${min} replica(s), and at most one at a time`, () => {
            const pdb = pdbFor(min);
            assert.ok(allowedDisruptionsAt(pdb, min) >= 1);
            for (const replicas of [min, min + 1, min * 4]) {
                assert.equal(allowedDisruptionsAt(pdb, replicas), 1);
            }
        });
    }

    it("blocks a further eviction while one pod is already down", () => {
        const pdb = pdbFor(3);
        assert.equal(allowedDisruptionsAt(pdb, 3, 2), 0);
    });

    it("reproduces pitfall 6: minAvailable equal to min replicas allows no drain", () => {
        assert.equal(allowedDisruptionsAt({ minAvailable: 2 }, 2), 0);
        assert.equal(allowedDisruptionsAt({ minAvailable: 1 }, 2), 1);
    });

    it("rejects a minimum below one", () => {
        assert.throws(() => pdbFor(0), /minReplicas/);
        assert.throws(() => pdbFor(1.5), /minReplicas/);
    });
});
