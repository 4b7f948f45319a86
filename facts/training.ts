/** The Kubeflow Training Operator's distributed job type (v1 API), as the app-team contract names it. */
export const PYTORCHJOB_TYPE = { apiVersion: "kubeflow.org/v1", kind: "PyTorchJob" } as const;
