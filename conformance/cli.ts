/**
 * `npm run conformance -- --stack <name> [--plan <dir>] [--kubeconfig <file>] [--out <dir>]`
 * Plans the stack (unless --plan names a plan folder already written), then applies it to a real control
 * plane built from Go modules (or the cluster a kubeconfig names) and compares what Kubernetes did with
 * the plan. Writes conformance.json and conformance.md beside the plan's report.
 * Exit 0: Kubernetes ran every workload as the plan said. 1: a difference, a rejected object, a workload
 * that does not run, or a GPU DaemonSet off its nodes. 2: usage. 3: a missing tool (Go).
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { CLI_NODE_ARGS } from "../plan/nodeArgs";
import { clusterFromKubeconfig, Kube } from "./kube";
import { ControlPlane, controlPlaneBinaries, kwokArgs, MissingToolError, pinnedVersions } from "./controlPlane";
import { conformanceMarkdown } from "./report";
import { readPlan, runConformance } from "./run";

const ROOT = path.resolve(__dirname, "..");
const USAGE = "usage: npm run conformance -- --stack <name> [--plan <plan dir>] [--kubeconfig <file>] [--out <dir>]";

export interface ConformanceArgs {
    stack: string;
    plan?: string;
    kubeconfig?: string;
    out: string;
}

export class ConformanceUsageError extends Error {}

export function parseConformanceArgs(argv: string[]): ConformanceArgs {
    const flags: Record<string, string> = {};
    for (let i = 0; i < argv.length; i++) {
        const m = /^--(stack|plan|kubeconfig|out)(?:=(.*))?$/.exec(argv[i]);
        if (!m) throw new ConformanceUsageError(`unknown argument "${argv[i]}"\n${USAGE}`);
        const value = m[2] ?? argv[++i];
        if (value === undefined || value.startsWith("--")) throw new ConformanceUsageError(`--${m[1]} needs a value\n${USAGE}`);
        flags[m[1]] = value;
    }
    if (!flags.stack) throw new ConformanceUsageError(`--stack is required\n${USAGE}`);
    const out = flags.out ?? flags.plan ?? path.join("out", flags.stack);
    return { stack: flags.stack, ...(flags.plan ? { plan: flags.plan } : {}), ...(flags.kubeconfig ? { kubeconfig: flags.kubeconfig } : {}), out };
}

/** An existing cluster: only kwok runs here, against it; one pass at maximum scale, then the run removes what it made. */
function existingCluster(kubeconfig: string): () => Promise<ControlPlane> {
    return async () => {
        const cluster = clusterFromKubeconfig(kubeconfig);
        const kube = new Kube(cluster);
        const version = await kube.request("GET", "/version");
        const bin = controlPlaneBinaries();
        const kwok = spawn(path.join(bin, "kwok"), kwokArgs(path.resolve(kubeconfig)), { stdio: "ignore" });
        return {
            kube,
            cluster,
            kubeconfig,
            dir: "",
            versions: { ...pinnedVersions(), apiserver: version.gitVersion, kubernetes: version.gitVersion },
            tail: () => "",
            stop: async () => {
                kwok.kill("SIGTERM");
                kube.close();
            },
        };
    };
}

export async function main(argv: string[]): Promise<number> {
    let args: ConformanceArgs;
    try {
        args = parseConformanceArgs(argv);
    } catch (e) {
        console.error((e as Error).message);
        return 2;
    }
    const planDir = args.plan ?? args.out;
    if (!args.plan) {
        const r = spawnSync(process.execPath, [...CLI_NODE_ARGS, path.join(ROOT, "plan", "cli.ts"), "--stack", args.stack, "--out", planDir], { cwd: ROOT, stdio: "inherit" });
        if (r.status === 2) return 2;
        if (r.status !== 0 && r.status !== 1) {
            console.error(`conformance: the plan of ${args.stack} failed (exit ${r.status})`);
            return 1;
        }
    }
    let result;
    try {
        const plan = readPlan(planDir);
        if (!args.kubeconfig) controlPlaneBinaries();
        console.log(`conformance ${args.stack}: applying ${plan.objects.length} objects to ${args.kubeconfig ? `the cluster ${args.kubeconfig} names, at maximum scale` : "a real control plane, at maximum then minimum scale"}`);
        result = await runConformance({
            stack: args.stack,
            plan,
            ...(args.kubeconfig ? { controlPlane: existingCluster(args.kubeconfig) } : {}),
            log: (l) => console.log(l),
        });
    } catch (e) {
        if (e instanceof MissingToolError) {
            console.error(`conformance: ${e.message}`);
            return 3;
        }
        console.error(`conformance: ${(e as Error).message}`);
        return 1;
    }
    fs.mkdirSync(args.out, { recursive: true });
    fs.writeFileSync(path.join(args.out, "conformance.json"), JSON.stringify(result, null, 2) + "\n");
    fs.writeFileSync(path.join(args.out, "conformance.md"), conformanceMarkdown(result));
    for (const p of result.passes) {
        const agree = p.workloads.filter((w) => w.agrees).length;
        console.log(`  ${p.scale}: ${agree}/${p.workloads.length} workloads as planned; ${p.daemonSets.length} GPU DaemonSets checked; ${p.rejected.length} objects rejected (${p.seconds} s)`);
    }
    for (const s of result.standIns) console.log(`  stand-in: ${s}`);
    if (result.ok) {
        console.log(`conformance ${args.stack}: Kubernetes agrees with the plan — wrote ${path.join(args.out, "conformance.{json,md}")}`);
        return 0;
    }
    console.error(`conformance ${args.stack}: ${result.failures.length} problem(s):`);
    for (const f of result.failures) console.error(`  - ${f}`);
    return 1;
}

if (require.main === module) {
    main(process.argv.slice(2)).then(
        (code) => process.exit(code),
        (e) => {
            console.error(e);
            process.exit(1);
        },
    );
}
