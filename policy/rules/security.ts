/**
 * Pod security: the restricted profile for every workload, with the few exceptions the NVIDIA
 * DaemonSets need named in config (DCGM's SYS_ADMIN, the kubelet sockets they mount); workload
 * namespaces that enforce it and start from a default-deny NetworkPolicy.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { NAMESPACES } from "../../facts/namespaces";
import { CREDENTIAL_ENV_NAME_PATTERN, credentialShape } from "../../stacks/credentials";
import { configOf, daemonSetListProperty, daemonSetMapProperty, NVIDIA_DAEMONSETS } from "./config";
import { DEVICE_PLUGIN_NAME, MIG_MANAGER_DAEMONSET, NVIDIA_NAMESPACE } from "../../facts/nvidia";

/** The NVIDIA DaemonSets that must run as root, plus the MIG manager (MIG pools only): it resets GPUs. */
const ROOT_DAEMONSETS = [...NVIDIA_DAEMONSETS, MIG_MANAGER_DAEMONSET];
/** Only the MIG manager runs privileged: it stops host GPU clients and resets GPUs to change MIG mode. */
const privilegedSchema = {
    properties: {
        exemptDaemonSets: daemonSetListProperty("DaemonSets (namespace/name) that must run privileged (the MIG manager partitions GPUs).", [MIG_MANAGER_DAEMONSET]),
    },
};
import { containersOf, describeContainer, describeTemplate, listedDaemonSet, podTemplates, Props } from "./k8s";

export const noPrivilegedContainers: ResourceValidationPolicy = {
    name: "no-privileged-containers",
    description: "No container runs privileged (full access to the node's devices and kernel) (CIS EKS 4.2.1; Checkov CKV_K8S_16).",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: privilegedSchema,
    validateResource: (args, report) => {
        const { exemptDaemonSets } = configOf<{ exemptDaemonSets: string[] }>(args, privilegedSchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            if (listedDaemonSet(t, exemptDaemonSets)) {
                continue;
            }
            for (const c of containersOf(t.spec)) {
                if (c.container.securityContext?.privileged === true) {
                    report(`${describeContainer(t, c)} sets securityContext.privileged: true. Fix: remove it and add only the capability the container needs (allowedCapabilities of capabilities-dropped).`);
                }
            }
        }
    },
};

export const noPrivilegeEscalation: ResourceValidationPolicy = {
    name: "no-privilege-escalation",
    description: "Every container sets allowPrivilegeEscalation: false (unset means true), except a DaemonSet that must run privileged (the API server refuses privileged with it false) (CIS EKS 4.2.5; Checkov CKV_K8S_20).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: privilegedSchema,
    validateResource: (args, report) => {
        const { exemptDaemonSets } = configOf<{ exemptDaemonSets: string[] }>(args, privilegedSchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            if (listedDaemonSet(t, exemptDaemonSets)) {
                continue;
            }
            for (const c of containersOf(t.spec)) {
                const value = c.container.securityContext?.allowPrivilegeEscalation;
                if (value !== false) {
                    report(`${describeContainer(t, c)} has allowPrivilegeEscalation ${value ?? "(unset, i.e. true)"}. Fix: set securityContext.allowPrivilegeEscalation: false.`);
                }
            }
        }
    },
};

const capabilitiesSchema = {
    properties: {
        allowedCapabilities: daemonSetMapProperty("Capabilities a DaemonSet (namespace/name) may add back after dropping ALL.", {
            "kube-system/dcgm-exporter": ["SYS_ADMIN"],
            // With MIG pools the device plugin reads the MIG devices' capability files (upstream's chart adds it too).
            [`${NVIDIA_NAMESPACE}/${DEVICE_PLUGIN_NAME}`]: ["SYS_ADMIN"],
        }),
    },
};

const capability = (c: string) => c.toUpperCase().replace(/^CAP_/, "");

export const capabilitiesDropped: ResourceValidationPolicy = {
    name: "capabilities-dropped",
    description: "Every container drops ALL capabilities and adds none back, except those allow-listed per DaemonSet (DCGM exporter: SYS_ADMIN for profiling counters) (Checkov CKV_K8S_37).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: capabilitiesSchema,
    validateResource: (args, report) => {
        const { allowedCapabilities } = configOf<{ allowedCapabilities: Record<string, string[]> }>(args, capabilitiesSchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            const listed = listedDaemonSet(t, Object.keys(allowedCapabilities));
            const allowed = (listed ? allowedCapabilities[listed] : []).map(capability);
            for (const c of containersOf(t.spec)) {
                const caps = c.container.securityContext?.capabilities ?? {};
                if (!(caps.drop ?? []).map(capability).includes("ALL")) {
                    report(`${describeContainer(t, c)} drops [${(caps.drop ?? []).join(", ")}], not ALL. Fix: set securityContext.capabilities.drop: ["ALL"].`);
                }
                const extra = (caps.add ?? []).filter((x) => !allowed.includes(capability(x)));
                if (extra.length > 0) {
                    report(
                        `${describeContainer(t, c)} adds capabilities [${extra.join(", ")}]${allowed.length ? ` beyond its allowed [${allowed.join(", ")}]` : ""}. ` +
                            `Fix: remove them, or allow-list the DaemonSet in allowedCapabilities with a reason.`,
                    );
                }
            }
        }
    },
};

const hostPathSchema = {
    properties: {
        allowedHostPaths: daemonSetMapProperty("Host paths a DaemonSet (namespace/name) may mount.", {
            "kube-system/nvidia-device-plugin": ["/var/lib/kubelet/device-plugins"],
            "kube-system/dcgm-exporter": ["/var/lib/kubelet/pod-resources"],
            // The host's root (the driver, systemd) and /sys: mig-parted resets GPUs and stops host GPU clients.
            [MIG_MANAGER_DAEMONSET]: ["/", "/sys"],
        }),
    },
};

const normalisePath = (p: string) => (p.length > 1 ? p.replace(/\/+$/, "") : p);

export const hostPathAllowListed: ResourceValidationPolicy = {
    name: "host-path-allow-listed",
    description: "hostPath volumes appear only in allow-listed DaemonSets and only for their allow-listed paths (the kubelet's device-plugin and pod-resources sockets).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: hostPathSchema,
    validateResource: (args, report) => {
        const { allowedHostPaths } = configOf<{ allowedHostPaths: Record<string, string[]> }>(args, hostPathSchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            const listed = listedDaemonSet(t, Object.keys(allowedHostPaths));
            const allowed = (listed ? allowedHostPaths[listed] : []).map(normalisePath);
            for (const v of t.spec.volumes ?? []) {
                if (v.hostPath && !allowed.includes(normalisePath(String(v.hostPath.path)))) {
                    report(
                        `${describeTemplate(t)} mounts hostPath ${v.hostPath.path} (volume "${v.name}"), which is not allow-listed${listed ? ` for ${listed}` : " for this workload"}. ` +
                            `Fix: use a PVC or emptyDir; a system DaemonSet's path goes in allowedHostPaths.`,
                    );
                }
            }
        }
    },
};

const nonRootSchema = {
    properties: {
        exemptDaemonSets: daemonSetListProperty("DaemonSets (namespace/name) that must run as root (NVIDIA device plugin, DCGM exporter, MIG manager).", ROOT_DAEMONSETS),
    },
};

export const runAsNonRoot: ResourceValidationPolicy = {
    name: "run-as-non-root",
    description: "Workload containers run as a non-root user (runAsNonRoot: true or a non-zero runAsUser, container over pod); the NVIDIA DaemonSets are exempt (Checkov CKV_K8S_23).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: nonRootSchema,
    validateResource: (args, report) => {
        const { exemptDaemonSets } = configOf<{ exemptDaemonSets: string[] }>(args, nonRootSchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            if (listedDaemonSet(t, exemptDaemonSets)) {
                continue;
            }
            for (const c of containersOf(t.spec)) {
                const user = c.container.securityContext?.runAsUser ?? t.spec.securityContext?.runAsUser;
                const nonRoot = c.container.securityContext?.runAsNonRoot ?? t.spec.securityContext?.runAsNonRoot;
                if (user === 0) {
                    report(`${describeContainer(t, c)} runs as runAsUser 0 (root). Fix: run as the workload uid (components/workload.ts WORKLOAD_UID) with runAsNonRoot: true.`);
                } else if (nonRoot !== true && !(typeof user === "number" && user > 0)) {
                    report(`${describeContainer(t, c)} has runAsNonRoot ${nonRoot ?? "(unset)"} and no runAsUser, so the image's USER (often root) decides. Fix: set runAsNonRoot: true and runAsUser.`);
                }
            }
        }
    },
};

const secretsSchema = {
    properties: {
        credentialEnvPattern: {
            type: "string" as const,
            description: "Case-insensitive regular expression for env var names that carry credentials.",
            default: CREDENTIAL_ENV_NAME_PATTERN,
        },
    },
};

export const secretsFromSecretRefs: ResourceValidationPolicy = {
    name: "secrets-from-secret-refs",
    description: "Credentials reach containers only through env valueFrom.secretKeyRef, never as literal values or ConfigMap keys (they would sit in plain text in the state and the manifest).",
    enforcementLevel: "mandatory",
    severity: "critical",
    configSchema: secretsSchema,
    validateResource: (args, report) => {
        const { credentialEnvPattern } = configOf<{ credentialEnvPattern: string }>(args, secretsSchema);
        const credentialName = new RegExp(credentialEnvPattern, "i");
        for (const t of podTemplates(args.type, args.props, args.name)) {
            for (const c of containersOf(t.spec)) {
                for (const env of c.container.env ?? []) {
                    const where = `${describeContainer(t, c)} env ${env.name}`;
                    const fix = "Fix: store it in a Kubernetes Secret and use valueFrom.secretKeyRef (components/workload.ts trackingUriEnv).";
                    if (env.value !== undefined) {
                        const shape = credentialShape(String(env.value));
                        if (shape || credentialName.test(env.name)) {
                            // Never echo the value itself: the report is public in a pull request.
                            report(`${where} is a literal value${shape ? ` that looks like ${shape}` : " for a credential"}. ${fix}`);
                        }
                    } else if (env.valueFrom?.configMapKeyRef && credentialName.test(env.name)) {
                        report(`${where} comes from a ConfigMap (configMapKeyRef), which is not secret. ${fix}`);
                    }
                }
            }
        }
    },
};

const seccompSchema = {
    properties: {
        exemptDaemonSets: daemonSetListProperty("DaemonSets (namespace/name) left on the runtime's default profile (DCGM: profiling counters, untested under RuntimeDefault).", [
            "kube-system/dcgm-exporter",
        ]),
    },
};

const CONFINED = ["RuntimeDefault", "Localhost"];

export const seccompRuntimeDefault: ResourceValidationPolicy = {
    name: "seccomp-runtime-default",
    description: "Every container runs under a seccomp profile, RuntimeDefault or a Localhost one (container over pod), never Unconfined or unset (Checkov CKV_K8S_31).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: seccompSchema,
    validateResource: (args, report) => {
        const { exemptDaemonSets } = configOf<{ exemptDaemonSets: string[] }>(args, seccompSchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            if (listedDaemonSet(t, exemptDaemonSets)) {
                continue;
            }
            for (const c of containersOf(t.spec)) {
                const profile = c.container.securityContext?.seccompProfile?.type ?? t.spec.securityContext?.seccompProfile?.type;
                if (!profile || !CONFINED.includes(profile)) {
                    report(`${describeContainer(t, c)} has seccomp profile ${profile ?? "(unset, i.e. Unconfined)"}. Fix: set the pod's securityContext.seccompProfile.type: RuntimeDefault (components/workload.ts podSecurityContext).`);
                }
            }
        }
    },
};

const readOnlySchema = {
    properties: {
        exemptDaemonSets: daemonSetListProperty("DaemonSets (namespace/name) whose images write to their root filesystem (the NVIDIA ones).", ROOT_DAEMONSETS),
    },
};

export const readOnlyRootFilesystem: ResourceValidationPolicy = {
    name: "read-only-root-filesystem",
    description: "Containers mount their root filesystem read-only; what they write goes to volumes (model cache, checkpoints, /tmp emptyDir). NVIDIA DaemonSets exempt (Checkov CKV_K8S_22).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: readOnlySchema,
    validateResource: (args, report) => {
        const { exemptDaemonSets } = configOf<{ exemptDaemonSets: string[] }>(args, readOnlySchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            if (listedDaemonSet(t, exemptDaemonSets)) {
                continue;
            }
            for (const c of containersOf(t.spec)) {
                if (c.container.securityContext?.readOnlyRootFilesystem !== true) {
                    report(`${describeContainer(t, c)} has readOnlyRootFilesystem ${c.container.securityContext?.readOnlyRootFilesystem ?? "(unset)"}. Fix: set it true and mount an emptyDir or claim where the workload writes (components/workload.ts TMP_VOLUME).`);
                }
            }
        }
    },
};

const tokenSchema = {
    properties: {
        needsApiToken: {
            type: "array" as const,
            items: { type: "string" as const, pattern: "^[a-z0-9-]+/[a-z0-9.-]+$" },
            description: "Workloads (namespace/name) that call the Kubernetes API and so mount a service account token.",
            // The device plugin's config-manager reads its node's label (sharing pools); the MIG manager writes its node's.
            default: [`${NVIDIA_NAMESPACE}/${DEVICE_PLUGIN_NAME}`, MIG_MANAGER_DAEMONSET],
        },
    },
};

export const serviceAccountTokenNotMounted: ResourceValidationPolicy = {
    name: "service-account-token-not-mounted",
    description:
        "Pods that do not call the Kubernetes API set automountServiceAccountToken: false (IRSA's web-identity token is projected separately); callers are allow-listed (CIS EKS 4.1.6; Checkov CKV_K8S_38).",
    enforcementLevel: "mandatory",
    severity: "medium",
    configSchema: tokenSchema,
    validateResource: (args, report) => {
        const { needsApiToken } = configOf<{ needsApiToken: string[] }>(args, tokenSchema);
        for (const t of podTemplates(args.type, args.props, args.name)) {
            if (needsApiToken.includes(`${t.workload.namespace}/${t.workload.name}`)) {
                continue;
            }
            if (t.spec.automountServiceAccountToken !== false) {
                report(
                    `${describeTemplate(t)} has automountServiceAccountToken ${t.spec.automountServiceAccountToken ?? "(unset, i.e. true)"}: a stolen pod gets a Kubernetes API token for free. ` +
                        `Fix: set it false in the pod spec, or allow-list the workload in needsApiToken if it calls the API.`,
                );
            }
        }
    },
};

const namespacesProperty = {
    type: "array" as const,
    items: { type: "string" as const },
    description: "The workload namespaces (where ML workloads and app teams run).",
    default: Object.values(NAMESPACES),
};

const NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const NAMESPACE = "kubernetes:core/v1:Namespace";
const isEmptySelector = (sel: Props | undefined) => !!sel && Object.keys(sel.matchLabels ?? {}).length === 0 && (sel.matchExpressions ?? []).length === 0;

/** A policy that selects every pod and allows nothing in either direction. */
export function isDefaultDeny(props: Props): boolean {
    const spec: Props = props.spec ?? {};
    const types: string[] = [...(spec.policyTypes ?? [])];
    return isEmptySelector(spec.podSelector) && types.includes("Ingress") && types.includes("Egress") && (spec.ingress ?? []).length === 0 && (spec.egress ?? []).length === 0;
}

const netpolSchema = { properties: { namespaces: namespacesProperty } };

export const networkDefaultDeny: StackValidationPolicy = {
    name: "network-default-deny",
    description:
        "Every workload namespace has a default-deny NetworkPolicy (all pods, Ingress and Egress, no rules) in the stack that creates it; the flows workloads need are allowed by narrower policies (CIS EKS 4.3.2).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: netpolSchema,
    validateStack: (args, report) => {
        const { namespaces } = configOf<{ namespaces: string[] }>(args, netpolSchema);
        const policies = args.resources.filter((r) => r.type === NETWORK_POLICY);
        // The stack that creates a namespace owns its isolation; an app team's stack only deploys into it.
        const created = args.resources.filter((r) => r.type === NAMESPACE).map((r) => String(r.props.metadata?.name));
        for (const ns of namespaces.filter((n) => created.includes(n))) {
            const inNs = policies.filter((p) => (p.props.metadata?.namespace ?? "default") === ns);
            if (!inNs.some((p) => isDefaultDeny(p.props))) {
                report(
                    `Namespace ${ns} has no default-deny NetworkPolicy (${inNs.length} other polic${inNs.length === 1 ? "y" : "ies"}): any pod may reach its pods and they may reach anything. ` +
                        `Fix: a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules (components/networkPolicies.ts).`,
                );
            }
        }
    },
};

const PSA_ENFORCE = "pod-security.kubernetes.io/enforce";

export const namespacePodSecurityRestricted: ResourceValidationPolicy = {
    name: "namespace-pod-security-restricted",
    description: "Workload namespaces enforce the restricted Pod Security Standard, so the API server itself refuses privileged, root or escalating pods (CIS EKS 4.2.x).",
    enforcementLevel: "mandatory",
    severity: "high",
    configSchema: netpolSchema,
    validateResource: (args, report) => {
        if (args.type !== NAMESPACE) {
            return;
        }
        const { namespaces } = configOf<{ namespaces: string[] }>(args, netpolSchema);
        const name = args.props.metadata?.name;
        const level = args.props.metadata?.labels?.[PSA_ENFORCE];
        if (namespaces.includes(name) && level !== "restricted") {
            report(`Namespace ${name} has ${PSA_ENFORCE}=${level ?? "(unset)"}. Fix: label it ${PSA_ENFORCE}=restricted (components/namespaces.ts).`);
        }
    },
};

export const securityPolicies = [
    noPrivilegedContainers,
    noPrivilegeEscalation,
    capabilitiesDropped,
    hostPathAllowListed,
    runAsNonRoot,
    seccompRuntimeDefault,
    readOnlyRootFilesystem,
    serviceAccountTokenNotMounted,
    secretsFromSecretRefs,
    networkDefaultDeny,
    namespacePodSecurityRestricted,
];
