/**
 * A small Kubernetes REST client for the conformance run: discovery, server-side apply with strict field
 * validation, get/list/patch/delete. Only what the run needs, over node:https, so it needs no kubectl.
 */
import * as fs from "fs";
import * as https from "https";
import * as http from "http";
import { load } from "js-yaml";

export interface Cluster {
    server: string;
    /** PEM bundle that verifies the API server, or undefined to trust the system store. */
    ca?: string;
    token?: string;
    clientCert?: string;
    clientKey?: string;
    insecure?: boolean;
}

export interface KubeObject {
    apiVersion: string;
    kind: string;
    metadata: { name: string; namespace?: string; [k: string]: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    [k: string]: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}

export class KubeError extends Error {
    constructor(
        readonly status: number,
        readonly reason: string,
        message: string,
    ) {
        super(message);
    }
}

interface ApiResource {
    name: string;
    namespaced: boolean;
    kind: string;
}

const FIELD_MANAGER = "ml-platform-conformance";

/** Reads the current context of a kubeconfig (token, client certificate or insecure). */
export function clusterFromKubeconfig(file: string): Cluster {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const config = load(fs.readFileSync(file, "utf8")) as any;
    const contextName = config["current-context"];
    const context = (config.contexts ?? []).find((c: { name: string }) => c.name === contextName)?.context ?? config.contexts?.[0]?.context;
    if (!context) {
        throw new Error(`${file}: no current context`);
    }
    const cluster = (config.clusters ?? []).find((c: { name: string }) => c.name === context.cluster)?.cluster;
    const user = (config.users ?? []).find((u: { name: string }) => u.name === context.user)?.user ?? {};
    if (!cluster?.server) {
        throw new Error(`${file}: cluster ${context.cluster} has no server`);
    }
    const fromFileOrData = (path?: string, data?: string) => (data ? Buffer.from(data, "base64").toString() : path ? fs.readFileSync(path, "utf8") : undefined);
    if (user.exec || user["auth-provider"]) {
        throw new Error(`${file}: user ${context.user} authenticates with an exec plugin or auth provider; give the run a kubeconfig with a token or client certificate (e.g. \`aws eks get-token\` output as token)`);
    }
    return {
        server: cluster.server,
        ca: fromFileOrData(cluster["certificate-authority"], cluster["certificate-authority-data"]),
        insecure: cluster["insecure-skip-tls-verify"] === true,
        token: user.token ?? (user.tokenFile ? fs.readFileSync(user.tokenFile, "utf8").trim() : undefined),
        clientCert: fromFileOrData(user["client-certificate"], user["client-certificate-data"]),
        clientKey: fromFileOrData(user["client-key"], user["client-key-data"]),
    };
}

export class Kube {
    private readonly agent: https.Agent | http.Agent;
    private readonly resources = new Map<string, ApiResource>();

    constructor(readonly cluster: Cluster) {
        const url = new URL(cluster.server);
        this.agent =
            url.protocol === "https:"
                ? new https.Agent({ keepAlive: true, maxSockets: 8, ca: cluster.ca, cert: cluster.clientCert, key: cluster.clientKey, rejectUnauthorized: !cluster.insecure })
                : new http.Agent({ keepAlive: true, maxSockets: 8 });
    }

    close(): void {
        this.agent.destroy();
    }

    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    async request(method: string, path: string, body?: unknown, contentType = "application/json"): Promise<any> {
        const url = new URL(path, this.cluster.server);
        const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
        const headers: Record<string, string> = { Accept: "application/json" };
        if (payload !== undefined) {
            headers["Content-Type"] = contentType;
            headers["Content-Length"] = String(Buffer.byteLength(payload));
        }
        if (this.cluster.token) {
            headers.Authorization = `Bearer ${this.cluster.token}`;
        }
        const lib = url.protocol === "https:" ? https : http;
        return new Promise((resolve, reject) => {
            const req = lib.request(url, { method, headers, agent: this.agent, timeout: 30_000 }, (res) => {
                const chunks: Buffer[] = [];
                res.on("data", (c: Buffer) => chunks.push(c));
                res.on("end", () => {
                    const text = Buffer.concat(chunks).toString();
                    let parsed: unknown = text;
                    try {
                        parsed = text ? JSON.parse(text) : undefined;
                    } catch {
                        // Not JSON (e.g. /healthz answers "ok").
                    }
                    const status = res.statusCode ?? 0;
                    if (status >= 400) {
                        // eslint-disable-next-line @typescript-eslint/no-explicit-any
                        const s = parsed as any;
                        reject(new KubeError(status, s?.reason ?? String(status), s?.message ?? text));
                    } else {
                        resolve(parsed);
                    }
                });
            });
            req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
            req.on("error", reject);
            if (payload !== undefined) req.write(payload);
            req.end();
        });
    }

    /** The REST resource of a kind, found through discovery (so CRDs work once established). */
    async resourceFor(apiVersion: string, kind: string, refresh = false): Promise<ApiResource> {
        const key = `${apiVersion}/${kind}`;
        const cached = this.resources.get(key);
        if (cached && !refresh) return cached;
        const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        let list: { resources: ApiResource[] };
        try {
            list = await this.request("GET", base);
        } catch (e) {
            if (e instanceof KubeError && e.status === 404) {
                throw new KubeError(404, "NotFound", `the API server serves no ${apiVersion} (is the CRD for ${kind} installed?)`);
            }
            throw e;
        }
        const found = list.resources.find((r) => r.kind === kind && !r.name.includes("/"));
        if (!found) {
            throw new KubeError(404, "NotFound", `the API server serves no kind ${kind} in ${apiVersion}`);
        }
        this.resources.set(key, found);
        return found;
    }

    async pathOf(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
        const r = await this.resourceFor(apiVersion, kind);
        const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const ns = r.namespaced ? `/namespaces/${encodeURIComponent(namespace ?? "default")}` : "";
        return `${base}${ns}/${r.name}${name ? `/${encodeURIComponent(name)}` : ""}`;
    }

    /** Server-side apply with strict field validation: unknown or duplicate fields are errors. */
    async apply(object: KubeObject, opts: { force?: boolean } = {}): Promise<KubeObject> {
        const path = await this.pathOf(object.apiVersion, object.kind, object.metadata.namespace, object.metadata.name);
        const query = `?fieldManager=${FIELD_MANAGER}&fieldValidation=Strict${opts.force === false ? "" : "&force=true"}`;
        return this.request("PATCH", path + query, object, "application/apply-patch+yaml");
    }

    async create(object: KubeObject): Promise<KubeObject> {
        const path = await this.pathOf(object.apiVersion, object.kind, object.metadata.namespace);
        return this.request("POST", `${path}?fieldValidation=Strict`, object);
    }

    async get(apiVersion: string, kind: string, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
        try {
            return await this.request("GET", await this.pathOf(apiVersion, kind, namespace, name));
        } catch (e) {
            if (e instanceof KubeError && e.status === 404) return undefined;
            throw e;
        }
    }

    /** Every object of a kind, in one namespace or (namespace undefined) all of them. */
    async list(apiVersion: string, kind: string, namespace?: string, query = ""): Promise<KubeObject[]> {
        const r = await this.resourceFor(apiVersion, kind);
        const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const path = r.namespaced && namespace ? `${base}/namespaces/${encodeURIComponent(namespace)}/${r.name}` : `${base}/${r.name}`;
        const out = await this.request("GET", path + query);
        return out.items ?? [];
    }

    async mergePatch(apiVersion: string, kind: string, namespace: string | undefined, name: string, patch: unknown, subresource = ""): Promise<KubeObject> {
        const path = (await this.pathOf(apiVersion, kind, namespace, name)) + (subresource ? `/${subresource}` : "");
        return this.request("PATCH", path, patch, "application/merge-patch+json");
    }

    async delete(apiVersion: string, kind: string, namespace: string | undefined, name: string, gracePeriodSeconds?: number): Promise<void> {
        const path = await this.pathOf(apiVersion, kind, namespace, name);
        const body = { kind: "DeleteOptions", apiVersion: "v1", propagationPolicy: "Background", ...(gracePeriodSeconds === undefined ? {} : { gracePeriodSeconds }) };
        try {
            await this.request("DELETE", path, body);
        } catch (e) {
            if (!(e instanceof KubeError && e.status === 404)) throw e;
        }
    }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` returns a value (not undefined) or the deadline passes; then throws `what`. */
export async function waitFor<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>, intervalMs = 200): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    let lastError: unknown;
    for (;;) {
        try {
            const v = await check();
            if (v !== undefined) return v;
        } catch (e) {
            lastError = e;
        }
        if (Date.now() > deadline) {
            throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ""}`);
        }
        await sleep(intervalMs);
    }
}

/**
 * Waits until `count` nodes matching the label selector are Ready and free of the node.kubernetes.io/*
 * taints (not-ready, unreachable) that admission and the node lifecycle controller put on new nodes.
 */
export async function waitForReadyNodes(kube: Kube, labelSelector: string, count: number, intervalMs = 200): Promise<void> {
    await waitFor(`${count} kwok nodes (${labelSelector}) to be Ready`, 60_000, async () => {
        const listed = await kube.list("v1", "Node", undefined, `?labelSelector=${encodeURIComponent(labelSelector)}`);
        const ready = listed.filter(
            (n) =>
                (n.status?.conditions ?? []).some((c: { type: string; status: string }) => c.type === "Ready" && c.status === "True") &&
                !(n.spec?.taints ?? []).some((t: { key: string }) => t.key.startsWith("node.kubernetes.io/")),
        );
        return ready.length === count || undefined;
    }, intervalMs);
}
