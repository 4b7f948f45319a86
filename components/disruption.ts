/**
 * PodDisruptionBudgets for serving (pitfall 6: a budget with minAvailable equal to the minimum replicas
 * blocks every node drain). Pure: no Pulumi.
 */

export type DisruptionBudget = { maxUnavailable: number } | { minAvailable: number };

/**
 * maxUnavailable 1 rather than minAvailable = min - 1: it allows one eviction at any replica count
 * (also at min 1, where minAvailable 0 would protect nothing) and never more than one at a time when
 * the HPA has scaled up, where minAvailable = min - 1 would let most of the pods go at once.
 */
export function pdbFor(minReplicas: number): DisruptionBudget {
    if (!Number.isInteger(minReplicas) || minReplicas < 1) {
        throw new Error(`minReplicas must be an integer >= 1, got ${minReplicas}`);
    }
    return { maxUnavailable: 1 };
}

/**
 * How many pods the eviction API may take now, as the disruption controller computes it:
 * healthy - desiredHealthy, where desiredHealthy is minAvailable or replicas - maxUnavailable.
 */
export function allowedDisruptionsAt(pdb: DisruptionBudget, replicas: number, healthy: number = replicas): number {
    const desiredHealthy = "minAvailable" in pdb ? pdb.minAvailable : Math.max(0, replicas - pdb.maxUnavailable);
    return Math.max(0, healthy - desiredHealthy);
}
