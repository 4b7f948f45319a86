/** The platform's workload namespaces; stack config, components and policies all name them from here. */
export const NAMESPACES = { serving: "ml-serving", training: "ml-training" } as const;
