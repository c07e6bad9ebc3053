// Tests for src/cli/main.ts and src/cli/run.ts: the `tsyncio` command and `tsyncio run`,
// run as a child process on the compiled fixtures and on a TypeScript file through tsx.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const FIXTURES = fileURLToPath(new URL("../fixtures/cli/", import.meta.url));
const INDEX = new URL("../../src/index.js", import.meta.url).href;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run `tsyncio ...args`; send SIGINT once stdout shows `interruptOn`. */
function tsyncio(args: string[], interruptOn?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 15_000,
      env: { ...process.env, TSYNCIO_DEBUG: "" },
    });
    let stdout = "";
    let stderr = "";
    let interrupted = false;
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (interruptOn !== undefined && !interrupted && stdout.includes(interruptOn)) {
        interrupted = true;
        child.kill("SIGINT");
      }
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe("tsyncio (the command)", () => {
  it("prints its usage for help, and fails on an unknown command (real I/O)", async () => {
    const help = await tsyncio(["help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: tsyncio <command>/);
    const unknown = await tsyncio(["frobnicate"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  });
});

describe("tsyncio run", () => {
  it("runs the default-exported coroutine function with the program's arguments (real I/O)", async () => {
    const result = await tsyncio(["run", `${FIXTURES}main-default.js`, "--", "a", "b"]);
    assert.equal(result.stderr, "");
    assert.equal(result.stdout, "main ran, debug=false, args=a,b\n");
    assert.equal(result.code, 0);
  });

  it("turns debug mode on with --debug (real I/O)", async () => {
    const result = await tsyncio(["run", "--debug", `${FIXTURES}main-default.js`]);
    assert.match(result.stdout, /main ran, debug=true/);
  });

  it("runs a TypeScript file through tsx (real I/O)", async () => {
    // A TypeScript program (with types tsx must strip) using the same tsyncio as the command.
    const dir = mkdtempSync(join(tmpdir(), "tsyncio-run-"));
    const file = join(dir, "main.ts");
    writeFileSync(join(dir, "package.json"), '{ "type": "module" }\n');
    writeFileSync(
      file,
      [
        `import { getRunningLoop, sleep, type Coro } from ${JSON.stringify(INDEX)};`,
        "export function* main(): Coro<void> {",
        "  const delay: number = 0.01;",
        "  yield* sleep(delay);",
        "  console.log(`main ran, debug=${String(getRunningLoop().getDebug())}, args=`);",
        "}",
        "",
      ].join("\n"),
    );
    const result = await tsyncio(["run", file]);
    rmSync(dir, { recursive: true });
    assert.equal(result.stdout, "main ran, debug=false, args=\n", result.stderr);
    assert.equal(result.code, 0);
  });

  it("prints main's error and exits with 1 (real I/O)", async () => {
    const result = await tsyncio(["run", `${FIXTURES}main-named.js`]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /Error: main failed/);
  });

  it("cancels main on Ctrl-C and exits with 130 (real I/O)", async () => {
    const result = await tsyncio(["run", `${FIXTURES}main-named.js`, "--", "wait"], "waiting");
    assert.equal(result.stdout, "waiting\nmain cleaned up\n");
    assert.match(result.stderr, /KeyboardInterrupt/);
    assert.equal(result.code, 130);
  });

  it("explains what is wrong with a module it cannot run (real I/O)", async () => {
    const none = await tsyncio(["run", `${FIXTURES}no-main.js`]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /exports no coroutine function/);
    const missing = await tsyncio(["run", `${FIXTURES}nope.js`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such file/);
    const usage = await tsyncio(["run"]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /usage: tsyncio run FILE/);
  });
});
