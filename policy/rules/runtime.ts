/**
 * Pod template fields the serving runtimes brought in: memory-backed emptyDirs (/dev/shm for tensor
 * parallelism). A tmpfs is charged to the memory cgroup of the containers that write it, and
 * kube-scheduler reserves only their requests, so an unbounded one, or one as large as the container's
 * memory limit, ends in an OOM kill or an eviction the plan never predicted.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { parseMemory } from "../../capacity/quantity";
import { containersOf, describeContainer, describeTemplate, podTemplates } from "./k8s";

const quantity = (q: string | number | undefined): number | undefined => {
    if (q === undefined || q === null) return undefined;
    try {
        return parseMemory(String(q));
    } catch {
        return undefined;
    }
};

export const memoryVolumesBounded: ResourceValidationPolicy = {
    name: "memory-volumes-bounded",
    description:
        "Every memory-backed emptyDir (medium: Memory, e.g. /dev/shm) has a sizeLimit, and every container that mounts it has a memory limit larger than that size: " +
        "tmpfs pages count against the container's memory, which the scheduler only reserves through requests.",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        for (const t of podTemplates(args.type, args.props, args.name)) {
            for (const v of t.spec.volumes ?? []) {
                if (v.emptyDir?.medium !== "Memory") {
                    continue;
                }
                const size = quantity(v.emptyDir.sizeLimit);
                if (size === undefined) {
                    report(
                        `${describeTemplate(t)} volume "${v.name}" is a memory-backed emptyDir without a sizeLimit: it may grow to the pod's memory limit unseen by the scheduler. ` +
                            "Fix: set emptyDir.sizeLimit (capacity/runtimes.ts shmBytesFor) and count it in the memory request (stacks/podDemand.ts servingContainerSizing).",
                    );
                    continue;
                }
                for (const c of containersOf(t.spec)) {
                    if (!(c.container.volumeMounts ?? []).some((m) => m.name === v.name)) {
                        continue;
                    }
                    const limit = quantity(c.container.resources?.limits?.memory);
                    // No memory limit at all is container-resources-set's finding, not this rule's.
                    if (limit !== undefined && limit <= size) {
                        report(
                            `${describeContainer(t, c)} mounts memory-backed volume "${v.name}" (sizeLimit ${v.emptyDir.sizeLimit}) with memory limit ${c.container.resources?.limits?.memory}: ` +
                                "a full tmpfs leaves the process no memory. Fix: raise the container's memory limit above the volume's sizeLimit.",
                        );
                    }
                }
            }
        }
    },
};

export const runtimePolicies = [memoryVolumesBounded];
