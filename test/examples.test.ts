// Every example runs, so none can rot. Examples use real time, so each is kept short.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
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

  it("examples/readme-example.ts is the README's first example, word for word", () => {
    const root = new URL("../../", import.meta.url);
    const readme = readFileSync(new URL("README.md", root), "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const example = readFileSync(new URL("examples/readme-example.ts", root), "utf8");
    assert.equal(example.replace(/^\/\/.*\n/, "").replace('"../src/index.ts"', '"tsyncio"'), block);
  });

  it("the demo shows cancellation, the task group timeout and context isolation (real I/O)", () => {
    const result = spawnSync(process.execPath, [`${examplesDir}demo.js`], { encoding: "utf8" });
    assert.match(result.stdout, /slow: cleaning up/);
    assert.match(result.stdout, /slow task ended: CancelledError \(no longer needed\)/);
    assert.match(result.stdout, /task group timed out after 0\.1s/);
    assert.doesNotMatch(result.stdout, /tg-slow: done/);
    assert.match(result.stdout, /task group failed: PageError: page 3 is broken/);
    assert.match(result.stdout, /context var in main is still -/);
  });
});
