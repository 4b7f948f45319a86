/** The platform's PriorityClass names: components/priority.ts creates them, Kueue mirrors them, the contract names the training one. */
export const SERVING_PRIORITY_CLASS = "ml-serving";
export const TRAINING_PRIORITY_CLASS = "ml-training-batch";
