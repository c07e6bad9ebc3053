// Helpers for tests that drive a loop by hand, and for fixtures run in a child process.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { BaseEventLoop } from "../../src/index.ts";

/** Run exactly one iteration of a loop that is not running (asyncio: stop(); run_forever()). */
export function runOnce(loop: BaseEventLoop): Promise<void> {
  loop.stop();
  return loop.runForever();
}

/** How a fixture's process ended, what it printed, and how long it took. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Run a compiled fixture (test/fixtures/<name>.ts) in a child Node process, with debug mode
 * off (TSYNCIO_DEBUG cleared) so that its output does not depend on the caller's environment.
 */
export function runFixture(name: string, timeoutMs = 5000): Promise<Exit> {
  const path = fileURLToPath(new URL(`../fixtures/${name}.js`, import.meta.url));
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path], {
      stdio: ["ignore", "pipe", "pipe"],
      timeout: timeoutMs,
      env: { ...process.env, TSYNCIO_DEBUG: "" },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolve({ code, signal, stdout, stderr, ms: performance.now() - started });
    });
  });
}
