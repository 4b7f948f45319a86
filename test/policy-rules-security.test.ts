import { strict as assert } from "node:assert";
import type { ResourceLike } from "../plan/policy";
import * as security from "../policy/rules/security";
import { Obj, onResource, onStack } from "./policy-rules-helpers";

const W = 'Deployment ml-serving/m container "server"';
const dep = (container: Obj, pod: Obj = {}): ResourceLike => ({
    type: "kubernetes:apps/v1:Deployment",
    name: "m",
    inputs: { metadata: { name: "m", namespace: "ml-serving" }, spec: { template: { metadata: {}, spec: { containers: [{ name: "server", image: "a:v1", ...container }], ...pod } } } },
});
const ds = (name: string, container: Obj, pod: Obj = {}): ResourceLike => ({
    type: "kubernetes:apps/v1:DaemonSet",
    name,
    inputs: { metadata: { name, namespace: "kube-system" }, spec: { template: { metadata: {}, spec: { containers: [{ name: "c", image: "a:v1", ...container }], ...pod } } } },
});

describe("policy rules (direct): security", () => {
    it("no-privileged-containers and no-privilege-escalation without a securityContext", () => {
        assert.deepEqual(onResource(security.noPrivilegedContainers, dep({})), []);
        assert.deepEqual(onResource(security.noPrivilegedContainers, dep({ securityContext: { privileged: true } })), [
            `${W} sets securityContext.privileged: true. Fix: remove it and add only the capability the container needs (allowedCapabilities of capabilities-dropped).`,
        ]);
        assert.deepEqual(onResource(security.noPrivilegeEscalation, dep({})), [`${W} has allowPrivilegeEscalation (unset, i.e. true). Fix: set securityContext.allowPrivilegeEscalation: false.`]);
        assert.deepEqual(onResource(security.noPrivilegeEscalation, dep({ securityContext: { allowPrivilegeEscalation: true } })), [
            `${W} has allowPrivilegeEscalation true. Fix: set securityContext.allowPrivilegeEscalation: false.`,
        ]);
    });

    describe("capabilities-dropped", () => {
        const rule = security.capabilitiesDropped;
        const caps = (c: Obj) => ({ securityContext: { capabilities: c } });
        it("drop ALL in any spelling; exact messages without a securityContext or a drop list", () => {
            assert.deepEqual(onResource(rule, dep(caps({ drop: ["all"] }))), []);
            assert.deepEqual(onResource(rule, dep(caps({ drop: ["cap_all"] }))), []);
            assert.deepEqual(onResource(rule, dep({})), [`${W} drops [], not ALL. Fix: set securityContext.capabilities.drop: ["ALL"].`]);
            assert.deepEqual(onResource(rule, dep(caps({ drop: ["NET_RAW"] }))), [`${W} drops [NET_RAW], not ALL. Fix: set securityContext.capabilities.drop: ["ALL"].`]);
            assert.deepEqual(onResource(rule, dep(caps({ add: [] }))), [`${W} drops [], not ALL. Fix: set securityContext.capabilities.drop: ["ALL"].`]);
        });
        it("adds: the allow-list per DaemonSet, CAP_ prefix only at the start", () => {
            assert.deepEqual(onResource(rule, dep(caps({ drop: ["ALL"], add: ["NET_ADMIN"] }))), [
                `${W} adds capabilities [NET_ADMIN]. Fix: remove them, or allow-list the DaemonSet in allowedCapabilities with a reason.`,
            ]);
            assert.deepEqual(onResource(rule, ds("dcgm-exporter", caps({ drop: ["ALL"], add: ["CAP_SYS_ADMIN"] }))), []);
            assert.deepEqual(onResource(rule, ds("dcgm-exporter", caps({ drop: ["ALL"], add: ["SYS_CAP_ADMIN", "NET_ADMIN"] }))), [
                'DaemonSet kube-system/dcgm-exporter container "c" adds capabilities [SYS_CAP_ADMIN, NET_ADMIN] beyond its allowed [SYS_ADMIN]. Fix: remove them, or allow-list the DaemonSet in allowedCapabilities with a reason.',
            ]);
        });
    });

    describe("host-path-allow-listed", () => {
        const rule = security.hostPathAllowListed;
        const vol = (path: string) => ({ volumes: [{ name: "v", hostPath: { path } }, { name: "e", emptyDir: {} }] });
        const PLUGIN = "kube-system/nvidia-device-plugin";
        it("trailing slashes do not matter; the root is its own path", () => {
            assert.deepEqual(onResource(rule, ds("nvidia-device-plugin", {}, vol("/var/lib/kubelet/device-plugins/"))), []);
            assert.deepEqual(onResource(rule, ds("nvidia-device-plugin", {}, vol("/var/lib/kubelet/device-plugins//"))), []);
            assert.deepEqual(onResource(rule, ds("nvidia-device-plugin", {}, vol("/"))), [
                `DaemonSet ${PLUGIN} mounts hostPath / (volume "v"), which is not allow-listed for ${PLUGIN}. Fix: use a PVC or emptyDir; a system DaemonSet's path goes in allowedHostPaths.`,
            ]);
            assert.deepEqual(onResource(rule, ds("x", {}, vol("//")), { allowedHostPaths: { "kube-system/x": ["/"] } }), [
                `DaemonSet kube-system/x mounts hostPath // (volume "v"), which is not allow-listed for kube-system/x. Fix: use a PVC or emptyDir; a system DaemonSet's path goes in allowedHostPaths.`,
            ]);
            assert.deepEqual(onResource(rule, ds("x", {}, vol("/")), { allowedHostPaths: { "kube-system/x": ["/"] } }), []);
        });
        it("other workloads: none allowed", () => {
            assert.deepEqual(onResource(rule, dep({}, vol("/var/lib/kubelet/device-plugins"))), [
                'Deployment ml-serving/m mounts hostPath /var/lib/kubelet/device-plugins (volume "v"), which is not allow-listed for this workload. Fix: use a PVC or emptyDir; a system DaemonSet\'s path goes in allowedHostPaths.',
            ]);
            assert.deepEqual(onResource(rule, dep({})), []);
        });
    });

    describe("run-as-non-root", () => {
        const rule = security.runAsNonRoot;
        const UNSET = `${W} has runAsNonRoot (unset) and no runAsUser, so the image's USER (often root) decides. Fix: set runAsNonRoot: true and runAsUser.`;
        it("container over pod, either field", () => {
            assert.deepEqual(onResource(rule, dep({ securityContext: { runAsUser: 1000 } }, { securityContext: { runAsUser: 0 } })), []);
            assert.deepEqual(onResource(rule, dep({}, { securityContext: { runAsUser: 1000 } })), []);
            assert.deepEqual(onResource(rule, dep({ securityContext: { runAsNonRoot: true } })), []);
            assert.deepEqual(onResource(rule, dep({}, { securityContext: { runAsNonRoot: true } })), []);
            assert.deepEqual(onResource(rule, dep({ securityContext: { runAsNonRoot: false } }, { securityContext: { runAsNonRoot: true } })), [
                `${W} has runAsNonRoot false and no runAsUser, so the image's USER (often root) decides. Fix: set runAsNonRoot: true and runAsUser.`,
            ]);
        });
        it("root, negative, string and missing users", () => {
            assert.deepEqual(onResource(rule, dep({ securityContext: { runAsUser: 0, runAsNonRoot: true } })), [
                `${W} runs as runAsUser 0 (root). Fix: run as the workload uid (components/workload.ts WORKLOAD_UID) with runAsNonRoot: true.`,
            ]);
            assert.deepEqual(onResource(rule, dep({ securityContext: { runAsUser: -1 } })), [UNSET]);
            assert.deepEqual(onResource(rule, dep({ securityContext: { runAsUser: "1000" } })), [UNSET]);
            assert.deepEqual(onResource(rule, dep({})), [UNSET]);
            assert.deepEqual(onResource(rule, dep({ securityContext: { runAsUser: 1 } })), []);
            assert.deepEqual(onResource(rule, ds("dcgm-exporter", {})), []);
        });
    });

    describe("secrets-from-secret-refs", () => {
        const rule = security.secretsFromSecretRefs;
        const FIX = "Fix: store it in a Kubernetes Secret and use valueFrom.secretKeyRef (components/workload.ts trackingUriEnv).";
        it("names in any case, literal values, ConfigMap keys; secret refs and plain values pass", () => {
            assert.deepEqual(onResource(rule, dep({ env: [{ name: "db_password", value: "x" }] })), [`${W} env db_password is a literal value for a credential. ${FIX}`]);
            assert.deepEqual(onResource(rule, dep({ env: [{ name: "API_TOKEN", valueFrom: { configMapKeyRef: { name: "c", key: "k" } } }] })), [
                `${W} env API_TOKEN comes from a ConfigMap (configMapKeyRef), which is not secret. ${FIX}`,
            ]);
            assert.deepEqual(onResource(rule, dep({ env: [{ name: "API_TOKEN" }, { name: "TOKEN", valueFrom: { secretKeyRef: { name: "s", key: "k" } } }, { name: "LOG_LEVEL", value: "info" }] })), []);
            assert.deepEqual(onResource(rule, dep({ env: [{ name: "MODE", valueFrom: { configMapKeyRef: { name: "c", key: "k" } } }] })), []);
        });
    });

    it("seccomp and read-only root filesystem without a container securityContext", () => {
        assert.deepEqual(onResource(security.seccompRuntimeDefault, dep({}, { securityContext: { seccompProfile: { type: "RuntimeDefault" } } })), []);
        assert.deepEqual(onResource(security.seccompRuntimeDefault, dep({})), [
            `${W} has seccomp profile (unset, i.e. Unconfined). Fix: set the pod's securityContext.seccompProfile.type: RuntimeDefault (components/workload.ts podSecurityContext).`,
        ]);
        assert.deepEqual(onResource(security.readOnlyRootFilesystem, dep({})), [
            `${W} has readOnlyRootFilesystem (unset). Fix: set it true and mount an emptyDir or claim where the workload writes (components/workload.ts TMP_VOLUME).`,
        ]);
        assert.deepEqual(onResource(security.readOnlyRootFilesystem, dep({ securityContext: { readOnlyRootFilesystem: false } })), [
            `${W} has readOnlyRootFilesystem false. Fix: set it true and mount an emptyDir or claim where the workload writes (components/workload.ts TMP_VOLUME).`,
        ]);
    });

    describe("network-default-deny", () => {
        const DENY = { podSelector: {}, policyTypes: ["Ingress", "Egress"] };
        it("isDefaultDeny: every condition", () => {
            assert.equal(security.isDefaultDeny({ spec: DENY }), true);
            assert.equal(security.isDefaultDeny({ spec: { ...DENY, ingress: [], egress: [] } }), true);
            assert.equal(security.isDefaultDeny({}), false);
            assert.equal(security.isDefaultDeny({ spec: { policyTypes: ["Ingress", "Egress"] } }), false);
            assert.equal(security.isDefaultDeny({ spec: { ...DENY, podSelector: { matchLabels: { a: "b" } } } }), false);
            assert.equal(security.isDefaultDeny({ spec: { ...DENY, podSelector: { matchExpressions: [{ key: "a", operator: "Exists" }] } } }), false);
            assert.equal(security.isDefaultDeny({ spec: { ...DENY, policyTypes: ["Ingress"] } }), false);
            assert.equal(security.isDefaultDeny({ spec: { ...DENY, policyTypes: ["Egress"] } }), false);
            assert.equal(security.isDefaultDeny({ spec: { ...DENY, ingress: [{}] } }), false);
            assert.equal(security.isDefaultDeny({ spec: { ...DENY, egress: [{}] } }), false);
        });
        const rule = security.networkDefaultDeny;
        const ns = (name: string): ResourceLike => ({ type: "kubernetes:core/v1:Namespace", name, inputs: { metadata: { name } } });
        const np = (namespace: string | undefined, spec: Obj, type = "kubernetes:networking.k8s.io/v1:NetworkPolicy"): ResourceLike => ({
            type,
            name: `np-${namespace}`,
            inputs: { ...(namespace ? { metadata: { namespace } } : {}), spec },
        });
        const msg = (n: string, others: string) =>
            `Namespace ${n} has no default-deny NetworkPolicy (${others}): any pod may reach its pods and they may reach anything. Fix: a NetworkPolicy with podSelector {} and policyTypes [Ingress, Egress] and no rules (components/networkPolicies.ts).`;
        it("created namespaces only; policies of the right type in the right namespace", () => {
            assert.deepEqual(onStack(rule, [ns("ml-serving")], { namespaces: ["ml-serving"] }), [msg("ml-serving", "0 other policies")]);
            assert.deepEqual(onStack(rule, [ns("ml-serving"), np("ml-serving", { ...DENY, ingress: [{}] })], { namespaces: ["ml-serving"] }), [msg("ml-serving", "1 other policy")]);
            assert.deepEqual(onStack(rule, [ns("ml-serving"), np("ml-serving", DENY, "kubernetes:custom/v1:NetworkPolicy")], { namespaces: ["ml-serving"] }), [msg("ml-serving", "0 other policies")]);
            assert.deepEqual(onStack(rule, [ns("ml-serving"), np("ml-serving", DENY)], { namespaces: ["ml-serving"] }), []);
            assert.deepEqual(onStack(rule, [{ type: "kubernetes:core/v1:ConfigMap", name: "c", inputs: { metadata: { name: "ml-serving" } } }], { namespaces: ["ml-serving"] }), []);
            assert.deepEqual(onStack(rule, [{ type: "kubernetes:core/v1:Namespace", name: "n", inputs: {} }], { namespaces: ["ml-serving"] }), []);
            assert.deepEqual(onStack(rule, [ns("default"), np(undefined, DENY)], { namespaces: ["default"] }), []);
            assert.deepEqual(onStack(rule, [ns("default"), np("other", DENY)], { namespaces: ["default"] }), [msg("default", "0 other policies")]);
        });
    });

    describe("namespace-pod-security-restricted", () => {
        const rule = security.namespacePodSecurityRestricted;
        it("namespaces only; unset label named", () => {
            assert.deepEqual(onResource(rule, { type: "kubernetes:core/v1:Namespace", name: "n", inputs: { metadata: { name: "ml-serving" } } }), [
                "Namespace ml-serving has pod-security.kubernetes.io/enforce=(unset). Fix: label it pod-security.kubernetes.io/enforce=restricted (components/namespaces.ts).",
            ]);
            assert.deepEqual(onResource(rule, { type: "kubernetes:core/v1:Namespace", name: "n", inputs: {} }), []);
            assert.deepEqual(onResource(rule, { type: "kubernetes:core/v1:ConfigMap", name: "n", inputs: { metadata: { name: "ml-serving" } } }), []);
        });
    });
});
