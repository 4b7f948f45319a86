/**
 * Pod security: the restricted profile for every workload, with the few exceptions the NVIDIA
 * DaemonSets need named in config (DCGM's SYS_ADMIN, the kubelet sockets they mount).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { configOf, daemonSetListProperty, daemonSetMapProperty, NVIDIA_DAEMONSETS } from "./config";
import { containersOf, describeContainer, describeTemplate, listedDaemonSet, podTemplates } from "./k8s";

export const noPrivilegedContainers: ResourceValidationPolicy = {
    name: "no-privileged-containers",
    description: "No container runs privileged (full access to the node's devices and kernel).",
    enforcementLevel: "mandatory",
    severity: "critical",
    validateResource: (args, report) => {
        for (const t of podTemplates(args.type, args.props, args.name)) {
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
    description: "Every container sets allowPrivilegeEscalation: false (unset means true).",
    enforcementLevel: "mandatory",
    severity: "high",
    validateResource: (args, report) => {
        for (const t of podTemplates(args.type, args.props, args.name)) {
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
        allowedCapabilities: daemonSetMapProperty("Capabilities a DaemonSet (namespace/name) may add back after dropping ALL.", { "kube-system/dcgm-exporter": ["SYS_ADMIN"] }),
    },
};

const capability = (c: string) => c.toUpperCase().replace(/^CAP_/, "");

export const capabilitiesDropped: ResourceValidationPolicy = {
    name: "capabilities-dropped",
    description: "Every container drops ALL capabilities and adds none back, except those allow-listed per DaemonSet (DCGM exporter: SYS_ADMIN for profiling counters).",
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
        exemptDaemonSets: daemonSetListProperty("DaemonSets (namespace/name) that must run as root (NVIDIA device plugin, DCGM exporter).", NVIDIA_DAEMONSETS),
    },
};

export const runAsNonRoot: ResourceValidationPolicy = {
    name: "run-as-non-root",
    description: "Workload containers run as a non-root user (runAsNonRoot: true or a non-zero runAsUser, container over pod); the NVIDIA DaemonSets are exempt.",
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
            default: "PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|TRACKING_URI",
        },
    },
};

/** Values that are credentials whatever the variable is called. */
const CREDENTIAL_VALUES: [RegExp, string][] = [
    [/\b(AKIA|ASIA)[0-9A-Z]{16}\b/, "an AWS access key id"],
    [/-----BEGIN [A-Z ]*PRIVATE KEY-----/, "a private key"],
    [/^[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:[^/\s@]+@/i, "a URL with a password"],
];

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
                        const shape = CREDENTIAL_VALUES.find(([re]) => re.test(String(env.value)))?.[1];
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

export const securityPolicies = [noPrivilegedContainers, noPrivilegeEscalation, capabilitiesDropped, hostPathAllowListed, runAsNonRoot, secretsFromSecretRefs];
