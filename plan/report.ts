/** report.md: what a reviewer reads in a pull request. */
import { CATALOG_SOURCE } from "../capacity/catalog";
import { PlanSummary } from "./summary";

/** A Markdown table; pipes and line breaks inside cells are escaped. */
export function table(head: string[], rows: (string | number)[][]): string {
    const line = (cells: (string | number)[]) => `| ${cells.map((c) => String(c).replace(/\|/g, "\\|").replace(/\n/g, " ")).join(" | ")} |`;
    return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

const gib = (b: number) => `${(b / 2 ** 30).toFixed(1)} GiB`;

export interface ReportSection {
    title: string;
    body: string;
}

export function renderReport(s: PlanSummary, extra: ReportSection[] = []): string {
    const verdict = s.valid ? "valid" : "INVALID";
    const out: string[] = [];
    out.push(`# Offline plan: stack \`${s.stack}\` (${s.environment}, tier ${s.tier}, ${s.region})`);
    out.push("");
    out.push(`Verdict: **${verdict}**. ${s.resourceCount} resources, ${s.manifestCount} Kubernetes objects.`);
    out.push("");
    out.push("## Node pools");
    out.push(
        table(
            ["pool", "instance", "GPUs/node", "GPU", "usable MiB/GPU", "sharing", "nvidia.com/gpu/node", "min", "max", "capacity", "taints", "labels"],
            s.nodePools.map((p) => [
                p.name,
                p.instanceType,
                p.gpusPerNode,
                p.gpuModel ?? "-",
                p.gpuMemoryMiB || "-",
                p.sharing === "none" ? "-" : (p.devices ?? p.sharing),
                p.devicesPerNode || "-",
                p.minSize,
                p.maxSize,
                p.capacityType,
                p.taints.map((t) => `${t.key}=${t.value}:${t.effect}`).join(", ") || "none",
                Object.entries(p.labels).map(([k, v]) => `${k}=${v}`).join(", "),
            ]),
        ),
    );
    out.push("");
    out.push("## GPU capacity");
    // Pool sizes, not demand: the maximum here is the reachable one (every pool at maxSize).
    out.push(`GPUs provisioned: ${s.gpuCapacity.minGpus} with every pool at minSize, ${s.gpuCapacity.maxGpus} with every pool at maxSize (the reachable maximum).`);
    if (s.nodePools.some((p) => p.sharing !== "none")) {
        out.push(
            `Shared GPUs advertise more than one nvidia.com/gpu each: ${s.gpuCapacity.minDevices} devices (GPUs, MIG slices, time-slice replicas) at minSize, ${s.gpuCapacity.maxDevices} at maxSize. ` +
                `Pod GPU counts and the utilisation below are in these devices.`,
        );
        for (const t of s.gpuCapacity.timeSliced) {
            const who = t.worst.map((w) => `${w.pods} x ${w.workload} (${gib(w.estimateBytes)})`).join(" + ") || "no pods";
            out.push(
                `- Time-sliced pool \`${t.pool}\` (${t.replicas} replicas per GPU, no memory isolation): the ${t.replicas} largest pods that may share one GPU need ${gib(t.worstCaseBytes)} (${who}), ` +
                    `${t.fits ? "within" : "OVER"} the ${gib(t.limitBytes)} the GPU holds after headroom.`,
            );
        }
    }
    out.push(`Instance facts and prices: ${CATALOG_SOURCE.prices}.`);
    out.push("");
    out.push("## Storage");
    out.push(`StorageClass \`${s.storage.storageClass}\` (EFS, access points with fixed uid/gid).`);
    out.push("");
    out.push(
        table(
            ["namespace", "claim", "access modes", "size", "mounted"],
            s.storage.pvcs.map((c) => [c.namespace, c.name, c.accessModes.join(", "), c.size, c.mountedReadOnly ? "read-only" : "read-write"]),
        ),
    );
    out.push("");
    out.push("## Workloads");
    out.push(
        s.workloads.length === 0
            ? "None declared."
            : table(
                  ["workload", "kind", "namespace", "pool", "GPUs/pod", "pods", "GPU memory estimate/GPU"],
                  s.workloads.map((w) => [
                      w.name,
                      w.kind,
                      w.namespace,
                      w.pool,
                      w.gpusPerPod,
                      typeof w.pods === "number" ? w.pods : `${w.pods.min}-${w.pods.max}`,
                      w.gpuMemoryEstimateBytes !== undefined ? `${(w.gpuMemoryEstimateBytes / 2 ** 30).toFixed(1)} GiB` : "-",
                  ]),
              ),
    );
    out.push("");
    for (const section of extra) {
        out.push(`## ${section.title}`);
        out.push(section.body);
        out.push("");
    }
    if (s.invalidManifests.length > 0) {
        out.push("## Invalid manifests");
        for (const m of s.invalidManifests) {
            out.push(`- \`${m.file}\`: ${m.errors.join("; ")}`);
        }
        out.push("");
    }
    out.push("## Resources by type");
    out.push(table(["type", "count"], Object.entries(s.resourcesByType)));
    out.push("");
    out.push(
        "Remote components (the real engine also registers their children, which a mock cannot show: subnets, " +
            "route tables, the EKS control plane, node groups' launch configuration, security groups...): " +
            (s.remoteComponents.map((c) => `\`${c}\``).join(", ") || "none") +
            ".",
    );
    out.push("");
    return out.join("\n");
}

/** Puts a section first, right under the title and verdict (the plan diff's "Changes"). */
export function withSectionFirst(report: string, section: ReportSection): string {
    const at = report.indexOf("\n## ");
    const head = at < 0 ? report : report.slice(0, at + 1);
    const rest = at < 0 ? "" : report.slice(at + 1);
    return `${head}## ${section.title}\n${section.body}\n\n${rest}`;
}
