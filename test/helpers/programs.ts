// Finding and starting the programs the networking tests talk to (curl, redis-server,
// openssl): a free loopback port, a child process with a bounded lifetime that is killed when
// its test ends (and when the test process exits), and `runReal`, a runner as strict as
// runVirtual on the real-time EventLoop, for tests that wait on such programs.
import { spawn, type ChildProcess } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { createServer } from "node:net";
import { delimiter, join } from "node:path";
import { EventLoop, Runner, timeout, type Coro, type ExceptionContext } from "../../src/index.ts";

/**
 * Why a test that needs `command` cannot run (it is not on the PATH), or undefined when it
 * can: give it to node:test's `skip` option, so that the skip says why.
 */
export function programMissing(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return undefined;
    } catch {
      // Not in this directory.
    }
  }
  return `${command} is not installed (scripts/install-test-tools.sh installs it as root)`;
}

/** A TCP port on 127.0.0.1 that nothing listened on a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** How a program ended and what it printed. */
export interface ProgramExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
  ms: number;
}

/** A program started by `startProgram`. */
export interface Program {
  readonly child: ChildProcess;
  /** Settles when the program has exited (never rejects; a spawn error shows in `stderr`). */
  readonly exited: Promise<ProgramExit>;
  /** Whether it has exited. */
  readonly running: boolean;
  /** What it printed so far, stdout then stderr, as text (for error messages). */
  output(): string;
  /** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves once it exited. */
  stop(graceMs?: number): Promise<ProgramExit>;
}

/** Options of `startProgram` and `runProgram`. */
export interface ProgramOptions {
  /** Bytes for its standard input, which is closed after them; default: none (closed). */
  input?: string | Uint8Array | undefined;
  /** The longest it may live: SIGKILL after this many milliseconds; default 5000. */
  lifetimeMs?: number | undefined;
  /** Something with node:test's `after(fn)` (a TestContext): stop the program then. */
  owner?: { after(fn: () => unknown): void } | undefined;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * Start `command` with `args` (no shell). It is killed after `lifetimeMs`, when its owner
 * test ends, and when this process exits, whichever comes first.
 */
export function startProgram(
  command: string,
  args: readonly string[],
  options: ProgramOptions = {},
): Program {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const child of running) child.kill("SIGKILL");
    });
  }
  const started = performance.now();
  const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
  running.add(child);
  const stdout: Buffer[] = [];
  let stderr = "";
  let isRunning = true;
  child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  // A program that exits before reading its input must not fail the test with EPIPE.
  child.stdin.on("error", () => {});
  if (options.input !== undefined) child.stdin.write(options.input);
  child.stdin.end();
  const lifetime = setTimeout(() => child.kill("SIGKILL"), options.lifetimeMs ?? 5000);
  lifetime.unref();
  const exited = new Promise<ProgramExit>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      isRunning = false;
      clearTimeout(lifetime);
      running.delete(child);
      const ms = performance.now() - started;
      resolve({ code, signal, stdout: Buffer.concat(stdout), stderr, ms });
    };
    child.once("error", (error) => {
      stderr += `spawn failed: ${error.message}`;
      finish(null, null);
    });
    child.once("close", finish);
  });
  const program: Program = {
    child,
    exited,
    get running() {
      return isRunning;
    },
    output: () => Buffer.concat(stdout).toString() + stderr,
    stop: (graceMs = 1000) => {
      if (isRunning) {
        child.kill("SIGTERM");
        const kill = setTimeout(() => child.kill("SIGKILL"), graceMs);
        kill.unref();
        void exited.then(() => {
          clearTimeout(kill);
        });
      }
      return exited;
    },
  };
  options.owner?.after(() => program.stop());
  return program;
}

/** Run `command` to its end (killed after `lifetimeMs`, default 5000) and return how it ended. */
export function runProgram(
  command: string,
  args: readonly string[],
  options: ProgramOptions = {},
): Promise<ProgramExit> {
  return startProgram(command, args, options).exited;
}

/**
 * Run `main` on a new real-time EventLoop, within `seconds` (default 5: a hung test fails
 * with TimeoutError instead of hanging), and return its result. As strict as runVirtual:
 * it fails when the loop's exception handler was called or tasks are left pending.
 */
export async function runReal<T>(
  main: () => Coro<T>,
  options: { seconds?: number } = {},
): Promise<T> {
  const loop = new EventLoop();
  const reported: ExceptionContext[] = [];
  loop.setExceptionHandler((_loop, context) => {
    reported.push(context);
  });
  const runner = new Runner({ loopFactory: () => loop });
  let result: T;
  let leftovers: string[];
  try {
    result = await runner.run(withDeadline(options.seconds ?? 5, main));
    leftovers = [...loop._tasks].map((task) => task.toString());
  } finally {
    await runner.close();
  }
  if (reported.length > 0) {
    const lines = reported.map((context) => `  ${context.message}: ${String(context.exception)}`);
    throw new Error(`the loop's exception handler was called:\n${lines.join("\n")}`, {
      cause: reported[0]?.exception,
    });
  }
  if (leftovers.length > 0) {
    throw new Error(`tasks still pending when main returned:\n  ${leftovers.join("\n  ")}`);
  }
  return result;
}

/** `main` within `seconds`: its deadline is set when it starts on the loop. */
function* withDeadline<T>(seconds: number, main: () => Coro<T>): Coro<T> {
  return yield* timeout(seconds, () => main());
}
