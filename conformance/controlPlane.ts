/**
 * Starts a real control plane on loopback: etcd, kube-apiserver, kube-controller-manager, kube-scheduler
 * and kwok (simulated nodes), from the binaries conformance/build-control-plane.sh built. Credentials are
 * made locally (a service-account key pair, a static admin token, the API server's self-signed serving
 * certificate); data lives in a fresh temporary folder; every process is stopped on exit and on failure.
 */
import { ChildProcess, spawn, spawnSync } from "child_process";
import { generateKeyPairSync, randomBytes } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { Cluster, Kube, waitFor } from "./kube";

export const BUILD_SCRIPT = path.join(__dirname, "build-control-plane.sh");
export const KWOK_STAGES = path.join(__dirname, "kwok-stages.yaml");

/** The annotation kwok manages nodes by; nodes without it are left alone. */
export const KWOK_NODE_ANNOTATION = { key: "kwok.x-k8s.io/node", value: "fake" };

export const COMPONENTS = ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"] as const;

export class MissingToolError extends Error {}

/**
 * Builds (cold: 20-30 minutes on 2 cores) or reuses the cached binaries and returns their folder.
 * Without Go it fails saying what is needed.
 */
let builtBin: string | undefined;

export function controlPlaneBinaries(opts: { quiet?: boolean } = {}): string {
    if (builtBin) return builtBin;
    const go = spawnSync("go", ["version"], { encoding: "utf8" });
    if (go.error || go.status !== 0) {
        throw new MissingToolError(
            "the control-plane suite needs Go (1.24 or newer, with the Go module proxy reachable) to build kube-apiserver, kube-controller-manager, kube-scheduler, etcd and kwok; `go` was not found on PATH. `npm test` needs no Go.",
        );
    }
    const build = spawnSync("bash", [BUILD_SCRIPT], { encoding: "utf8", stdio: ["ignore", "pipe", opts.quiet ? "pipe" : "inherit"] });
    if (build.status !== 0) {
        throw new Error(`${BUILD_SCRIPT} failed (exit ${build.status})${opts.quiet ? `:\n${build.stderr}` : ""}`);
    }
    const bin = build.stdout.trim().split("\n").pop()!;
    for (const c of COMPONENTS) {
        if (!fs.existsSync(path.join(bin, c))) {
            throw new Error(`${BUILD_SCRIPT} reported ${bin} but ${c} is not there`);
        }
    }
    builtBin = bin;
    return bin;
}

export function pinnedVersions(): Record<string, string> {
    const out = spawnSync("bash", [BUILD_SCRIPT, "--versions"], { encoding: "utf8" });
    return Object.fromEntries(
        out.stdout
            .trim()
            .split("\n")
            .map((l) => l.split("=") as [string, string]),
    );
}

/**
 * The kernel's ephemeral range (ip_local_port_range): outgoing connections take their local ports from it,
 * and so does listen(0). A port picked there is free when picked, but a component's own connections (the
 * API server's to etcd) can take it before the component that was meant to listen on it starts.
 */
export function ephemeralPortRange(text = readOr("/proc/sys/net/ipv4/ip_local_port_range", "32768 60999")): [number, number] {
    const [low, high] = text.trim().split(/\s+/).map(Number);
    return Number.isInteger(low) && Number.isInteger(high) && low <= high ? [low, high] : [32768, 60999];
}

function readOr(file: string, fallback: string): string {
    try {
        return fs.readFileSync(file, "utf8");
    } catch {
        return fallback;
    }
}

/** Lowest port the control plane listens on; below the ephemeral range, so no connection can take it. */
export const LISTEN_PORT_FLOOR = 10240;

/** Ports this process has handed out: two components are never given the same one. */
const handedOut = new Set<number>();

function listensOn(port: number): Promise<boolean> {
    return new Promise((resolve) => {
        const server = net.createServer();
        server.once("error", () => resolve(false));
        server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
    });
}

/**
 * A loopback port nothing listens on, below the ephemeral range (so only another explicit listener could
 * take it before its component binds); listen(0) only where that range leaves no room.
 */
export async function freePort(): Promise<number> {
    const [low] = ephemeralPortRange();
    if (low - LISTEN_PORT_FLOOR >= 1024) {
        for (let attempt = 0; attempt < 64; attempt++) {
            const port = LISTEN_PORT_FLOOR + Math.floor(Math.random() * (low - LISTEN_PORT_FLOOR));
            if (!handedOut.has(port) && (await listensOn(port))) {
                handedOut.add(port);
                return port;
            }
        }
    }
    return new Promise((resolve, reject) => {
        const server = net.createServer();
        server.once("error", reject);
        server.listen(0, "127.0.0.1", () => {
            const port = (server.address() as net.AddressInfo).port;
            server.close(() => resolve(port));
        });
    });
}

interface Proc {
    name: string;
    child: ChildProcess;
    log: string;
}

export interface ControlPlane {
    kube: Kube;
    cluster: Cluster;
    kubeconfig: string;
    dir: string;
    versions: Record<string, string>;
    /** Where the control-plane binaries (and Kueue's manager) are; unset against an existing cluster. */
    bin?: string;
    /** Last lines of a component's log, for error messages. */
    tail(component: string, lines?: number): string;
    /** Starts one more process beside the control plane, stopped and logged with it (Kueue's manager). */
    spawn?(name: string, command: string, args: string[], env?: NodeJS.ProcessEnv): ChildProcess;
    stop(): Promise<void>;
}

function kubeconfigYaml(server: string, caFile: string, token: string): string {
    return [
        "apiVersion: v1",
        "kind: Config",
        "clusters:",
        "- name: conformance",
        "  cluster:",
        `    server: ${server}`,
        `    certificate-authority: ${caFile}`,
        "users:",
        "- name: admin",
        "  user:",
        `    token: ${token}`,
        "contexts:",
        "- name: conformance",
        "  context: {cluster: conformance, user: admin}",
        "current-context: conformance",
        "",
    ].join("\n");
}

/** Starts the whole control plane; resolves once the API server is healthy and the scheduler runs. */
/**
 * kwok against a cluster: only nodes with the annotation, our pod stages. No --server-address: its server
 * (logs, exec, port-forward, metrics) is unused here, and with no node port kwok listens on nothing.
 */
export function kwokArgs(kubeconfig: string): string[] {
    return [
        `--kubeconfig=${kubeconfig}`,
        `--config=${KWOK_STAGES}`,
        "--manage-all-nodes=false",
        `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION.key}=${KWOK_NODE_ANNOTATION.value}`,
        "--cidr=10.244.0.0/16",
        "--node-ip=10.0.0.1",
    ];
}

/** `kwok: false` starts the control plane alone (tests of the run against "an existing cluster"). */
export async function startControlPlane(opts: { bin?: string; log?: (line: string) => void; kwok?: boolean } = {}): Promise<ControlPlane> {
    const bin = opts.bin ?? controlPlaneBinaries();
    const log = opts.log ?? (() => undefined);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ml-platform-control-plane-"));
    const procs: Proc[] = [];
    let stopped = false;

    const stop = async () => {
        if (stopped) return;
        stopped = true;
        for (const p of [...procs].reverse()) {
            if (p.child.exitCode === null && p.child.signalCode === null) {
                p.child.kill("SIGTERM");
            }
        }
        await Promise.all(
            procs.map(
                (p) =>
                    new Promise<void>((resolve) => {
                        if (p.child.exitCode !== null || p.child.signalCode !== null) return resolve();
                        const timer = setTimeout(() => {
                            p.child.kill("SIGKILL");
                        }, 5000);
                        p.child.once("exit", () => {
                            clearTimeout(timer);
                            resolve();
                        });
                    }),
            ),
        );
        fs.rmSync(dir, { recursive: true, force: true });
        process.removeListener("exit", killNow);
        process.removeListener("SIGINT", onSignal);
        process.removeListener("SIGTERM", onSignal);
    };
    // A crash or Ctrl-C must not leave an API server behind.
    const killNow = () => {
        for (const p of procs) p.child.kill("SIGKILL");
        fs.rmSync(dir, { recursive: true, force: true });
    };
    process.once("exit", killNow);
    // Ctrl-C or a CI timeout: 'exit' alone would not run, so stop the components, then die of the signal.
    const onSignal = (signal: NodeJS.Signals) => {
        killNow();
        process.kill(process.pid, signal);
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);

    const start = (name: string, args: string[], command = path.join(bin, name), env: NodeJS.ProcessEnv = process.env) => {
        const logFile = path.join(dir, `${name}.log`);
        const fd = fs.openSync(logFile, "a");
        const child = spawn(command, args, { stdio: ["ignore", fd, fd], env });
        fs.closeSync(fd);
        procs.push({ name, child, log: logFile });
        child.once("exit", (code, signal) => {
            if (!stopped) log(`${name} exited (${code ?? signal}); last log lines:\n${tail(name)}`);
        });
        return child;
    };
    const tail = (name: string, lines = 20) => {
        const p = procs.find((x) => x.name === name);
        if (!p || !fs.existsSync(p.log)) return "";
        return fs.readFileSync(p.log, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
    };
    const ensureRunning = () => {
        for (const p of procs) {
            if (p.child.exitCode !== null || p.child.signalCode !== null) {
                throw new Error(`${p.name} exited (${p.child.exitCode ?? p.child.signalCode}):\n${tail(p.name)}`);
            }
        }
    };

    try {
        const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
        const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
        const saKey = path.join(dir, "sa.key");
        const saPub = path.join(dir, "sa.pub");
        fs.writeFileSync(saKey, privateKey.export({ type: "pkcs8", format: "pem" }), { mode: 0o600 });
        fs.writeFileSync(saPub, publicKey.export({ type: "spki", format: "pem" }));
        const token = randomBytes(24).toString("hex");
        const tokens = path.join(dir, "tokens.csv");
        fs.writeFileSync(tokens, `${token},conformance-admin,conformance-admin,"system:masters"\n`, { mode: 0o600 });
        const certDir = path.join(dir, "certs");

        log("starting etcd");
        start("etcd", [
            `--data-dir=${path.join(dir, "etcd")}`,
            `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
            `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
            `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
            `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
            "--listen-metrics-urls=",
            "--log-level=warn",
            "--quota-backend-bytes=2147483648",
            "--unsafe-no-fsync",
        ]);
        await waitFor("etcd to answer", 30_000, async () => {
            ensureRunning();
            const ok = await new Promise<boolean>((resolve) => {
                const s = net.connect(etcdClient, "127.0.0.1", () => {
                    s.end();
                    resolve(true);
                });
                s.on("error", () => resolve(false));
            });
            return ok || undefined;
        });

        log("starting kube-apiserver");
        start("kube-apiserver", [
            `--etcd-servers=http://127.0.0.1:${etcdClient}`,
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            `--secure-port=${apiPort}`,
            `--cert-dir=${certDir}`,
            `--token-auth-file=${tokens}`,
            "--authorization-mode=RBAC",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            `--service-account-key-file=${saPub}`,
            `--service-account-signing-key-file=${saKey}`,
            "--service-cluster-ip-range=10.96.0.0/16",
            "--allow-privileged=true",
            "--enable-priority-and-fairness=false",
            "--profiling=false",
            "--v=0",
        ]);
        const caFile = path.join(certDir, "apiserver.crt");
        await waitFor("the API server's certificate", 60_000, async () => {
            ensureRunning();
            return fs.existsSync(caFile) || undefined;
        });
        const server = `https://127.0.0.1:${apiPort}`;
        const cluster: Cluster = { server, ca: fs.readFileSync(caFile, "utf8"), token };
        const kube = new Kube(cluster);
        await waitFor("kube-apiserver /readyz", 120_000, async () => {
            ensureRunning();
            return (await kube.request("GET", "/readyz")) === "ok" || undefined;
        }, 500);

        const kubeconfig = path.join(dir, "kubeconfig");
        fs.writeFileSync(kubeconfig, kubeconfigYaml(server, caFile, token), { mode: 0o600 });

        log(`starting kube-controller-manager, kube-scheduler${opts.kwok === false ? "" : " and kwok"}`);
        start("kube-controller-manager", [
            `--kubeconfig=${kubeconfig}`,
            "--leader-elect=false",
            "--bind-address=127.0.0.1",
            "--secure-port=0",
            `--service-account-private-key-file=${saKey}`,
            `--root-ca-file=${caFile}`,
            "--use-service-account-credentials=false",
            "--concurrent-deployment-syncs=10",
            "--concurrent-replicaset-syncs=10",
            "--concurrent-job-syncs=10",
            // Claims bind to the stand-in volumes within a second instead of the default 15 s resync.
            "--pvclaimbinder-sync-period=1s",
            "--v=0",
        ]);
        start("kube-scheduler", [`--kubeconfig=${kubeconfig}`, "--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0", "--v=0"]);
        if (opts.kwok !== false) start("kwok", kwokArgs(kubeconfig));

        // The controllers are up when the service-account controller has made the default namespace's account.
        await waitFor("kube-controller-manager (default service account)", 120_000, async () => {
            ensureRunning();
            return (await kube.get("v1", "ServiceAccount", "default", "default")) ? true : undefined;
        }, 500);
        const versions = { ...pinnedVersions(), apiserver: (await kube.request("GET", "/version")).gitVersion };
        const spawnExtra = (name: string, command: string, args: string[], env: NodeJS.ProcessEnv = process.env) => start(name, args, command, env);
        return { kube, cluster, kubeconfig, dir, versions, bin, tail, spawn: spawnExtra, stop: async () => (kube.close(), stop()) };
    } catch (e) {
        await stop();
        throw e;
    }
}
