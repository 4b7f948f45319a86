import { loadStackSpec, trackingUri } from "./stacks/config";
import { MlPlatform } from "./components/platform";
import { buildContract } from "./stacks/contract";

// Validation runs first: bad config throws here, before any resource is registered.
const spec = loadStackSpec();
const platform = new MlPlatform(spec.stack, { spec, trackingUri: trackingUri() });

// The app-team contract (stacks/contract.ts), one stack output per field.
export const { contractVersion, clusterName, endpoint, kubeconfig, oidcProviderArn, oidcIssuerUrl, namespaces, gpuPools, storage } = buildContract(spec, {
    clusterName: platform.cluster.name,
    endpoint: platform.cluster.endpoint,
    kubeconfig: platform.cluster.kubeconfig,
    oidcProviderArn: platform.cluster.oidcProviderArn,
    oidcIssuerUrl: platform.cluster.oidcIssuerUrl,
    storageClassName: platform.storage.storageClassName,
});
