// For test/inspect/ and test/cli/ps.test.ts: start the inspectable fixture program, run the
// `tsyncio` command against it.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const CLI = fileURLToPath(new URL("../../src/cli/main.js", import.meta.url));
const TREE = fileURLToPath(new URL("../fixtures/inspect/tree.js", import.meta.url));

/** A fresh XDG_RUNTIME_DIR (mode 0700, as mkdtemp makes it) for one test. */
export function runtimeDirectory(): string {
  return mkdtempSync(join(tmpdir(), "tsyncio-inspect-test-"));
}

export interface Program {
  child: ChildProcessWithoutNullStreams;
  pid: number;
  stderr: () => string;
  /** Close its stdin (it then ends) and resolve once it has exited. */
  stop: () => Promise<string>;
}

/** Start the fixture program and resolve once it printed "ready". */
export function startProgram(env: Record<string, string>, args: string[] = []): Promise<Program> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [TREE, ...args], {
      env: { ...process.env, TSYNCIO_DEBUG: "", TSYNCIO_INSPECT: "", ...env },
      timeout: 15_000,
    });
    let stdout = "";
    let stderr = "";
    const exited = new Promise<string>((resolveExit) => {
      child.on("close", () => {
        resolveExit(stdout);
      });
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
      if (stdout === "ready\n") {
        resolve({
          child,
          pid: child.pid as number,
          stderr: () => stderr,
          stop: () => {
            child.stdin.end();
            return exited;
          },
        });
      }
    });
    child.on("error", reject);
    void exited.then(() => {
      reject(new Error(`the program ended before it was ready: ${stdout}${stderr}`));
    });
  });
}

/** Run `tsyncio ...args` with `env`. */
export function tsyncio(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
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
  });
}
