/**
 * How `npm run plan`, `npm run policy` and `npm run bench` start Node (package.json scripts; a test keeps
 * them equal): sucrase transpiles TypeScript on load (type-checking is `npm test`'s job), and a larger V8
 * young generation cuts garbage-collection time on large plans.
 */
export const CLI_NODE_ARGS = ["--max-semi-space-size=64", "-r", "sucrase/register/ts"];
