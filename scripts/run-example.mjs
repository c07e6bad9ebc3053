// `npm run example -- <name> [flags]`: run examples/<name>.ts (compiled by the preexample
// script) with its flags; with no name, list the examples.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const dir = ".build/examples";
const [name, ...args] = process.argv.slice(2);
const names = readdirSync(dir)
  .filter((file) => file.endsWith(".js"))
  .map((file) => file.slice(0, -3))
  .sort();
if (name === undefined || !existsSync(`${dir}/${name.replace(/\.ts$/, "")}.js`)) {
  if (name !== undefined) console.error(`no example named ${JSON.stringify(name)}`);
  console.error(`usage: npm run example -- <name> [--help | flags]\nexamples: ${names.join(", ")}`);
  process.exit(name === undefined ? 0 : 2);
}
// Ctrl-C reaches the example too (same process group): let it decide, and wait for it.
process.on("SIGINT", () => {});
const result = spawnSync(process.execPath, [`${dir}/${name.replace(/\.ts$/, "")}.js`, ...args], {
  stdio: "inherit",
});
process.exit(result.status ?? 1);
