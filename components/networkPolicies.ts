import * as pulumi from "@pulumi/pulumi";
import * as k8s from "@pulumi/kubernetes";
import { MONITORING_NAMESPACE } from "./metricsChain";
import { APP_LABEL, GRPC_PORT, HTTP_PORT, SERVING_CLIENT_LABEL } from "../facts/serving";

export { SERVING_CLIENT_LABEL } from "../facts/serving";
export const DEFAULT_DENY = "default-deny";

/**
 * Where HTTPS egress may not go: private and link-local ranges, so pods reach S3, STS (the IRSA token
 * exchange) and other public endpoints but not the EKS API's private ENIs, the node's IMDS or anything
 * else inside the VPC.
 */
export const NON_PUBLIC_CIDRS = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.0.0/16"];

const PROMETHEUS_POD = { "app.kubernetes.io/name": "prometheus" };
const KUBE_DNS_POD = { "k8s-app": "kube-dns" };
const namespaceSelector = (name: string) => ({ matchLabels: { "kubernetes.io/metadata.name": name } });
const servingPods = { matchExpressions: [{ key: APP_LABEL, operator: "Exists" }] };

export interface NetworkPolicySpec {
    namespace: string;
    name: string;
    spec: k8s.types.input.networking.v1.NetworkPolicySpec;
}

export interface NetworkPoliciesArgs {
    servingNamespace: string;
    trainingNamespace: string;
    /** The VPC's range: excluded from HTTPS egress too when it is not a private range already. */
    vpcCidr: string;
    /** PyTorchJobs (their `app` label) whose master and workers must reach each other. */
    distributedJobs: string[];
    /** The pipelines namespace, when the stack has pipelines: the same baseline, plus the executor's API access. */
    pipelinesNamespace?: string;
}

function ipv4Range(cidr: string): [number, number] {
    const [ip, bits] = cidr.split("/");
    const base = ip.split(".").reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const size = 2 ** (32 - Number(bits));
    const start = base - (base % size);
    return [start, start + size - 1];
}

function within(inner: string, outer: string): boolean {
    const [a, b] = ipv4Range(inner);
    const [c, d] = ipv4Range(outer);
    return a >= c && b <= d;
}

/** HTTPS to public addresses only. */
export function publicHttpsExcept(vpcCidr: string): string[] {
    return NON_PUBLIC_CIDRS.some((c) => within(vpcCidr, c)) ? [...NON_PUBLIC_CIDRS] : [...NON_PUBLIC_CIDRS, vpcCidr];
}

/** Default deny, DNS to CoreDNS, HTTPS to the public internet: every workload namespace starts here. */
function baseline(namespace: string, vpcCidr: string): NetworkPolicySpec[] {
    return [
        { namespace, name: DEFAULT_DENY, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
        {
            namespace,
            name: "allow-dns-egress",
            spec: {
                podSelector: {},
                policyTypes: ["Egress"],
                egress: [
                    {
                        to: [{ namespaceSelector: namespaceSelector("kube-system"), podSelector: { matchLabels: KUBE_DNS_POD } }],
                        ports: [
                            { protocol: "UDP", port: 53 },
                            { protocol: "TCP", port: 53 },
                        ],
                    },
                ],
            },
        },
        {
            // S3 (model download), STS (IRSA token exchange), the MLflow tracking server if it is public.
            namespace,
            name: "allow-public-https-egress",
            spec: {
                podSelector: {},
                policyTypes: ["Egress"],
                egress: [{ to: [{ ipBlock: { cidr: "0.0.0.0/0", except: publicHttpsExcept(vpcCidr) } }], ports: [{ protocol: "TCP", port: 443 }] }],
            },
        },
    ];
}

/**
 * The platform's NetworkPolicies. EFS needs no rule: the CSI node plugin mounts on the host network,
 * outside any pod's policy. Nothing here reaches the Kubernetes API: workloads do not call it.
 */
export function networkPolicySpecs(args: NetworkPoliciesArgs): NetworkPolicySpec[] {
    const serving = args.servingNamespace;
    const training = args.trainingNamespace;
    return [
        ...baseline(serving, args.vpcCidr),
        {
            namespace: serving,
            name: "allow-prometheus-scrape",
            spec: {
                podSelector: servingPods,
                policyTypes: ["Ingress"],
                ingress: [
                    {
                        from: [{ namespaceSelector: namespaceSelector(MONITORING_NAMESPACE), podSelector: { matchLabels: PROMETHEUS_POD } }],
                        ports: [{ protocol: "TCP", port: HTTP_PORT }],
                    },
                ],
            },
        },
        {
            // Callers: pods of the serving namespace itself and of namespaces their admins labelled as clients.
            namespace: serving,
            name: "allow-serving-clients",
            spec: {
                podSelector: servingPods,
                policyTypes: ["Ingress"],
                ingress: [
                    {
                        from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { ...SERVING_CLIENT_LABEL } } }],
                        ports: [
                            { protocol: "TCP", port: HTTP_PORT },
                            { protocol: "TCP", port: GRPC_PORT },
                        ],
                    },
                ],
            },
        },
        ...baseline(training, args.vpcCidr),
        // torchrun's rendezvous and NCCL use ports chosen at run time, so a job's pods may reach each other on any port.
        ...args.distributedJobs.map((job) => {
            const pods = { matchLabels: { [APP_LABEL]: job } };
            return {
                namespace: training,
                name: `allow-rendezvous-${job}`,
                spec: { podSelector: pods, policyTypes: ["Ingress", "Egress"], ingress: [{ from: [{ podSelector: pods }] }], egress: [{ to: [{ podSelector: pods }] }] },
            };
        }),
        ...(args.pipelinesNamespace ? pipelinePolicies(args.pipelinesNamespace, args.vpcCidr) : []),
    ];
}

/**
 * The pipelines namespace: the workload baseline, plus HTTPS to the VPC, where the EKS API's private
 * endpoints are: Argo's wait sidecar reports each step's outputs to the API server. A NetworkPolicy acts
 * per pod, not per container, so the step's own container could reach the API too, but it has no token
 * (automountServiceAccountToken false; only the executor's containers mount one).
 */
function pipelinePolicies(namespace: string, vpcCidr: string): NetworkPolicySpec[] {
    return [
        ...baseline(namespace, vpcCidr),
        {
            namespace,
            name: "allow-api-server-egress",
            spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ to: [{ ipBlock: { cidr: vpcCidr } }], ports: [{ protocol: "TCP", port: 443 }] }] },
        },
    ];
}

/** Default-deny NetworkPolicies for the workload namespaces, and the few flows the platform needs. */
export class NetworkPolicies extends pulumi.ComponentResource {
    public readonly policies: k8s.networking.v1.NetworkPolicy[];

    constructor(name: string, args: NetworkPoliciesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("ml-platform:network:NetworkPolicies", name, {}, opts);
        this.policies = networkPolicySpecs(args).map(
            (p) =>
                new k8s.networking.v1.NetworkPolicy(
                    `${name}-${p.namespace}-${p.name}`,
                    { metadata: { name: p.name, namespace: p.namespace, labels: { "app.kubernetes.io/part-of": "ml-platform" } }, spec: p.spec },
                    { parent: this },
                ),
        );
        this.registerOutputs({});
    }
}
