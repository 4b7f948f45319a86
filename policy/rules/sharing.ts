/**
 * Rules for shared GPUs (capacity/sharing.ts): which pools share is read from the node groups' labels,
 * the same labels the device plugin and the MIG manager act on, never from config.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { GPU_RESOURCE } from "../../capacity/pools";
import { GpuSharing, isMig, isTimeSliced, sharingFromLabels } from "../../capacity/sharing";
import { describeTemplate, podTemplates, requestedGpus, selectsNode } from "./k8s";
import { nodePoolOf, NodePoolView } from "./nodepools";

interface SharingPool {
    pool: NodePoolView;
    sharing: GpuSharing;
}

function sharingPoolsIn(resources: PolicyResource[]): SharingPool[] {
    return resources
        .map((r) => nodePoolOf(r.type, r.props, r.name))
        .filter((p): p is NodePoolView => p !== undefined)
        .flatMap((pool) => {
            const sharing = sharingFromLabels(pool.labels);
            return sharing ? [{ pool, sharing }] : [];
        });
}

function describeSharing(s: GpuSharing): string {
    return isMig(s) ? `MIG ${s.mig.profile} slices` : isTimeSliced(s) ? `${s.timeSlicing.replicas} time-slice replicas per GPU` : "shared GPUs";
}

/** Pod templates that request GPUs, with the sharing pools they select. */
function onSharingPools(resources: PolicyResource[]) {
    const pools = sharingPoolsIn(resources);
    if (pools.length === 0) {
        return [];
    }
    return resources.flatMap((r) =>
        podTemplates(r.type, r.props, r.name)
            .filter((t) => requestedGpus(t.spec) > 0)
            .map((t) => ({ r, t, pools: pools.filter((p) => selectsNode(t.spec, p.pool.labels)) }))
            .filter((x) => x.pools.length > 0),
    );
}

export const sharedGpuOneDevice: StackValidationPolicy = {
    name: "shared-gpu-one-device",
    description: `A pod on a pool that shares its GPUs requests exactly one ${GPU_RESOURCE}: the device plugin refuses more than one time-slice replica, and a CUDA process uses one MIG slice.`,
    enforcementLevel: "mandatory",
    severity: "high",
    validateStack: (args, report) => {
        for (const { r, t, pools } of onSharingPools(args.resources)) {
            const gpus = requestedGpus(t.spec);
            if (gpus > 1) {
                report(
                    `${describeTemplate(t)} requests ${gpus} ${GPU_RESOURCE} on ${pools.map((p) => `pool ${p.pool.pool} (${describeSharing(p.sharing)})`).join(", ")}: ` +
                        `it would fail to start (time-slicing) or use only one of them (MIG). Fix: request 1, or run on a pool with whole GPUs.`,
                    r.urn,
                );
            }
        }
    },
};

const TRAINING_KINDS = new Set(["Job", "PyTorchJob", "Workflow", "WorkflowTemplate", "CronWorkflow"]);

export const trainingNotTimeSliced: StackValidationPolicy = {
    name: "training-not-time-sliced",
    description:
        "Training (Jobs, Kubeflow jobs, pipeline steps) does not run on time-sliced GPUs: the replicas share the GPU's memory with no isolation, so another pod's allocation can end the run out of memory, and its step time follows its neighbours. MIG slices are isolated and are fine.",
    enforcementLevel: "advisory",
    severity: "medium",
    validateStack: (args, report) => {
        for (const { r, t, pools } of onSharingPools(args.resources)) {
            const sliced = pools.filter((p) => isTimeSliced(p.sharing));
            if (TRAINING_KINDS.has(t.workload.kind) && sliced.length > 0) {
                report(
                    `${describeTemplate(t)} trains on time-sliced pool(s) ${sliced.map((p) => `${p.pool.pool} (${describeSharing(p.sharing)})`).join(", ")}: no memory isolation between the pods on a GPU. ` +
                        `Fix: run it on a whole-GPU or MIG pool.`,
                    r.urn,
                );
            }
        }
    },
};

export const sharingPolicies = [sharedGpuOneDevice, trainingNotTimeSliced];
