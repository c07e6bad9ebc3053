// Tests for src/cli/repl.ts: `tsyncio repl` fed on stdin (not a terminal, so no prompt).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));

/** Feed `lines` to `tsyncio repl` and return what it printed. */
function repl(lines: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "repl"], {
      stdio: ["pipe", "pipe", "pipe"],
      timeout: 15_000,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(lines.map((line) => `${line}\n`).join(""));
  });
}

describe("tsyncio repl", () => {
  it("runs coroutines, Futures and Tasks on a loop that keeps running, in order (real I/O)", async () => {
    const result = await repl([
      "sleep(0.01, 42)",
      'yield* gather(sleep(0.01, "a"), sleep(0, "b"))',
      "1 + 1",
      'const task = createTask(sleep(0.01, "x"))',
      "task",
      "const twice = await sleep(0, 21)",
      "twice * 2",
      "loop.isRunning()",
    ]);
    assert.equal(result.stderr, "");
    assert.deepEqual(result.stdout.trim().split("\n"), [
      "42",
      "[ 'a', 'b' ]",
      "2",
      "undefined",
      "'x'",
      "undefined",
      "42",
      "true",
    ]);
    assert.equal(result.code, 0);
  });

  it("prints an error and goes on (real I/O)", async () => {
    const result = await repl(["notDefined", "sleep(0, 'still here')"]);
    assert.match(result.stdout, /Uncaught ReferenceError: notDefined is not defined/);
    assert.match(result.stdout, /'still here'/);
  });

  it("prints a coroutine's error (real I/O)", async () => {
    const result = await repl([
      "function* fails() { yield* sleep(0); throw new RangeError('boom'); }",
      "fails()",
      "2 + 2",
    ]);
    assert.match(result.stdout, /Uncaught RangeError: boom/);
    assert.match(result.stdout, /\n4\n/);
  });
});
