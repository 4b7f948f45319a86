/**
 * The app-team contract: what the platform exports for other Pulumi projects (StackReference), typed
 * and versioned. Breaking changes bump the major version.
 */
import * as pulumi from "@pulumi/pulumi";
import { Toleration, poolNodeSelector, poolTolerations } from "../capacity/pools";
import { gpuPools, StackSpec, storageClaims } from "./spec";

export const CONTRACT_VERSION = "1.0.0";

export interface GpuPoolContract {
    nodeSelector: Record<string, string>;
    tolerations: Toleration[];
    gpusPerNode: number;
    gpuModel: string;
    gpuMemoryMiB: number;
    instanceType: string;
}

export interface PlatformContractValues {
    contractVersion: string;
    clusterName: string;
    endpoint: string;
    kubeconfig: string;
    oidcProviderArn: string;
    oidcIssuerUrl: string;
    namespaces: { serving: string; training: string };
    gpuPools: Record<string, GpuPoolContract>;
    storage: { storageClass: string; pvcs: Record<string, string[]> };
}

export function gpuPoolContracts(spec: StackSpec): Record<string, GpuPoolContract> {
    const out: Record<string, GpuPoolContract> = {};
    for (const pool of gpuPools(spec)) {
        out[pool.name] = {
            nodeSelector: poolNodeSelector(pool),
            tolerations: poolTolerations(pool, spec.gpuTaint),
            gpusPerNode: pool.gpu!.count,
            gpuModel: pool.gpu!.model,
            gpuMemoryMiB: pool.gpu!.memoryMiB,
            instanceType: pool.instanceType,
        };
    }
    return out;
}

export function storageContract(spec: StackSpec, storageClass: string): PlatformContractValues["storage"] {
    const pvcs: Record<string, string[]> = {};
    for (const claim of storageClaims(spec)) {
        (pvcs[claim.namespace] ??= []).push(claim.name);
    }
    return { storageClass, pvcs };
}

type Outputs<T> = { [K in keyof T]: pulumi.Output<T[K]> };

export interface ContractSources {
    clusterName: pulumi.Output<string>;
    endpoint: pulumi.Output<string>;
    kubeconfig: pulumi.Output<string>;
    oidcProviderArn: pulumi.Output<string>;
    oidcIssuerUrl: pulumi.Output<string>;
    storageClassName: string;
}

/** The stack outputs index.ts exports, one per contract field. */
export function buildContract(spec: StackSpec, src: ContractSources): Outputs<PlatformContractValues> {
    return {
        contractVersion: pulumi.output(CONTRACT_VERSION),
        clusterName: src.clusterName,
        endpoint: src.endpoint,
        kubeconfig: pulumi.secret(src.kubeconfig),
        oidcProviderArn: src.oidcProviderArn,
        oidcIssuerUrl: src.oidcIssuerUrl,
        namespaces: pulumi.output({ ...spec.namespaces }),
        gpuPools: pulumi.output(gpuPoolContracts(spec)),
        storage: pulumi.output(storageContract(spec, src.storageClassName)),
    };
}
