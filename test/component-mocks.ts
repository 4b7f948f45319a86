/**
 * Runs component constructors under Pulumi's mock runtime with the plan's cloud emulator and returns
 * what they registered, options included (recorder). Mocks cannot show the children of remote
 * components (the kustomize Directory) nor anything the engine decides at apply time.
 */
import * as pulumi from "@pulumi/pulumi";
import { instanceType } from "../capacity/catalog";
import { Taint } from "../capacity/pools";
import { CloudEmulator } from "../plan/emulator";
import { attachRecorder, RecordedResource } from "../plan/recorder";
import { NAMESPACES, NodePoolSpec, ServingSpec, TrainingSpec } from "../stacks/spec";

export type Obj = Record<string, any>;

export const GPU_TAINT: Taint = { key: "dedicated", value: "ml-workloads", effect: "NoSchedule" };

export function poolSpec(name: string, type: string, minSize = 0, maxSize = 4): NodePoolSpec {
    return { name, instanceType: type, minSize, maxSize, desiredSize: minSize, capacityType: "ON_DEMAND", diskSizeGiB: 200, gpu: instanceType(type).gpu };
}

export const A10G_POOL = poolSpec("a10g", "g5.12xlarge");
export const A100_POOL = poolSpec("a100", "p4d.24xlarge");

export function servingSpec(overrides: Partial<ServingSpec> = {}): ServingSpec {
    return {
        name: "recommendation-model",
        namespace: NAMESPACES.serving,
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/recommendation-server:v3.2.1",
        pool: A10G_POOL.name,
        gpus: 1,
        cpu: "4",
        memory: "16Gi",
        cpuLimit: "8",
        memoryLimit: "24Gi",
        replicas: { min: 2, max: 20 },
        modelUri: "s3://ml-models-prod/recommendation/v3/",
        modelLoadSeconds: 90,
        autoscaling: { gpuUtilizationTarget: 70, queueDepthTarget: 10 },
        runtime: "custom",
        args: [],
        env: [],
        secretEnv: [],
        shmBytes: 2 ** 30,
        ...overrides,
    };
}

export function trainingSpec(overrides: Partial<TrainingSpec> = {}): TrainingSpec {
    return {
        name: "bert-finetune",
        namespace: NAMESPACES.training,
        kind: "Job",
        image: "123456789012.dkr.ecr.us-east-1.amazonaws.com/bert-trainer:v2.1.0",
        args: ["--num-epochs=10", "--output-dir=/checkpoints/bert"],
        pool: A10G_POOL.name,
        gpusPerPod: 1,
        workers: 0,
        cpu: "4",
        memory: "24Gi",
        cpuLimit: "8",
        memoryLimit: "32Gi",
        backoffLimit: 2,
        activeDeadlineSeconds: 43200,
        ...overrides,
    };
}

/** Constructs whatever `build` creates under fresh mocks and waits for every registration. */
export async function recordResources(build: () => void): Promise<RecordedResource[]> {
    await pulumi.runtime.setMocks(new CloudEmulator({ region: "us-east-1", availabilityZones: ["us-east-1a", "us-east-1b"] }), "ml-platform", "test", false);
    const recorded = attachRecorder();
    try {
        build();
    } finally {
        await pulumi.runtime.disconnect();
    }
    return recorded;
}

export function one(resources: RecordedResource[], type: string, name?: string): RecordedResource {
    const found = resources.filter((r) => r.type === type && (name === undefined || r.name === name));
    if (found.length !== 1) {
        throw new Error(`expected exactly one ${type}${name ? ` ${name}` : ""}, found ${found.length}`);
    }
    return found[0];
}

/** Every container of a pod spec, init containers included. */
export function allContainers(podSpec: Obj): Obj[] {
    return [...(podSpec.initContainers ?? []), ...podSpec.containers];
}

/** An image reference with an explicit tag or digest, and not :latest. */
export function isPinned(image: string): boolean {
    if (/@sha256:[a-f0-9]{64}$/.test(image)) {
        return true;
    }
    const lastSegment = image.split("/").pop() ?? "";
    const tag = lastSegment.includes(":") ? lastSegment.split(":").pop() : undefined;
    return tag !== undefined && tag !== "" && tag !== "latest";
}

/** The recorder's URNs omit parent types; the engine's carry them (a$b::name). Match on type and name. */
export function dependsOnResource(dependent: RecordedResource, target: RecordedResource): boolean {
    return dependent.options.dependsOn.some((urn) => urn.endsWith(`${target.type}::${target.name}`) && (urn.includes(`::${target.type}::`) || urn.includes(`$${target.type}::`)));
}
