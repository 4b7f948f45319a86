// Preloaded into a benchmarked process: on exit, writes its peak resident set size (bytes) to the
// file named by BENCH_RSS_FILE. process.resourceUsage().maxRSS is in kilobytes.
const fs = require("node:fs");
const target = process.env.BENCH_RSS_FILE;
if (target) {
    process.on("exit", () => fs.writeFileSync(target, String(process.resourceUsage().maxRSS * 1024)));
}
