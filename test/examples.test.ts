// Every example runs, so none can rot. Examples use real time, so each is kept short.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const examplesDir = fileURLToPath(new URL("../examples/", import.meta.url));

describe("examples", () => {
  const files = readdirSync(examplesDir).filter((name) => name.endsWith(".js"));

  it("there is at least the main demo", () => {
    assert.ok(files.includes("demo.js"), `examples found: ${files.join(", ")}`);
  });

  for (const file of files) {
    it(`${file} runs to completion with exit code 0 (real I/O)`, () => {
      const result = spawnSync(process.execPath, [examplesDir + file], {
        encoding: "utf8",
        timeout: 20_000,
      });
      assert.equal(result.error, undefined);
      assert.equal(result.status, 0, `stderr:\n${result.stderr}`);
      assert.notEqual(result.stdout.trim(), "", "an example prints what it does");
    });
  }

  it("the demo prints the cancellation and the context isolation", () => {
    const result = spawnSync(process.execPath, [`${examplesDir}demo.js`], { encoding: "utf8" });
    assert.match(result.stdout, /slow: cancelled, cleaning up/);
    assert.match(result.stdout, /context var in main is still -/);
  });
});
