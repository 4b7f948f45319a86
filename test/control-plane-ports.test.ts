/**
 * The control plane's listen ports: picked below the kernel's ephemeral range, so the components' own
 * outgoing connections (the API server's to etcd) can never take a port before its listener binds it.
 * A port picked with listen(0) once lost that race to kwok in a conformance run.
 */
import { strict as assert } from "node:assert";
import * as net from "node:net";
import { ephemeralPortRange, freePort, kwokArgs, LISTEN_PORT_FLOOR } from "../conformance/controlPlane";

describe("conformance: control-plane listen ports", () => {
    it("reads the ephemeral range, and falls back to Linux's default on nonsense", () => {
        assert.deepEqual(ephemeralPortRange("32768\t60999\n"), [32768, 60999]);
        assert.deepEqual(ephemeralPortRange("49152 65535"), [49152, 65535]);
        assert.deepEqual(ephemeralPortRange(""), [32768, 60999]);
        assert.deepEqual(ephemeralPortRange("60999 32768"), [32768, 60999]);
    });

    it("hands out distinct ports below the ephemeral range that can be listened on", async () => {
        const [low] = ephemeralPortRange();
        const ports: number[] = [];
        for (let i = 0; i < 20; i++) ports.push(await freePort());
        assert.equal(new Set(ports).size, ports.length, `a port was handed out twice: ${ports.join(", ")}`);
        for (const port of ports) {
            if (low - LISTEN_PORT_FLOOR >= 1024) {
                assert.ok(port >= LISTEN_PORT_FLOOR && port < low, `${port} is not in [${LISTEN_PORT_FLOOR}, ${low})`);
            }
        }
        await new Promise<void>((resolve, reject) => {
            const server = net.createServer().once("error", reject);
            server.listen(ports[0], "127.0.0.1", () => server.close(() => resolve()));
        });
    });

    it("skips a port something already listens on", async function () {
        const [low] = ephemeralPortRange();
        if (low - LISTEN_PORT_FLOOR < 1024) this.skip();
        const first = 0.123457;
        const busy = LISTEN_PORT_FLOOR + Math.floor(first * (low - LISTEN_PORT_FLOOR));
        const taken = net.createServer();
        await new Promise<void>((resolve, reject) => taken.once("error", reject).listen(busy, "127.0.0.1", () => resolve()));
        const random = Math.random;
        const draws: number[] = [];
        Math.random = () => {
            const r = draws.length === 0 ? first : random();
            draws.push(r);
            return r;
        };
        try {
            const port = await freePort();
            assert.notEqual(port, busy);
            assert.ok(draws.length >= 2, "the busy port was drawn first, so a second draw was needed");
        } finally {
            Math.random = random;
            taken.close();
        }
    });

    it("kwok gets no server address: it listens on nothing it could collide on", () => {
        const args = kwokArgs("/tmp/kubeconfig");
        assert.ok(!args.some((a) => a.startsWith("--server-address") || a.startsWith("--node-port")), args.join(" "));
        assert.ok(args.includes("--kubeconfig=/tmp/kubeconfig"));
    });
});
