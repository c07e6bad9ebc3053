// Runs every compiled test file (.build/test/**/*.test.js) with Node's test runner.
// `npm test` compiles first (the pretest script), so this only finds and runs files.
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function find(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...find(path));
    else if (name.endsWith(".test.js")) found.push(path);
  }
  return found;
}

const filter = process.argv.slice(2);
const files = find(".build/test")
  .filter((file) => filter.length === 0 || filter.some((part) => file.includes(part)))
  .sort();
if (files.length === 0) {
  console.error("no test files found under .build/test (did the compile step run?)");
  process.exit(1);
}
const result = spawnSync(
  process.execPath,
  ["--expose-gc", "--test", "--test-reporter=spec", "--test-timeout=60000", ...files],
  { stdio: "inherit" },
);
process.exit(result.status ?? 1);
