/**
 * How `npm run plan`, `npm run policy` and `npm run bench` start Node (package.json scripts; a test keeps
 * them equal): sucrase transpiles TypeScript on load (type-checking is `npm test`'s job), a larger V8
 * young generation (24 MiB semi-spaces) cuts garbage-collection time on large plans, and --expose-gc
 * lets the plan's HeapGovernor (plan/heapGovernor.ts) keep a large plan's heap near what it holds.
 */
export const CLI_NODE_ARGS = ["--max-semi-space-size=24", "--expose-gc", "-r", "sucrase/register/ts"];
