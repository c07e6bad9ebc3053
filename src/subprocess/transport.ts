/**
 * The subprocess transport: a child started with Node's `child_process.spawn`, its pipes
 * as pipe transports, and asyncio's `BaseSubprocessTransport` rules for the order of the
 * protocol's callbacks and for when the transport is finished.
 */
import { spawn, type ChildProcess, type SpawnOptions, type StdioOptions } from "node:child_process";
import { constants } from "node:os";
import { PassThrough, Stream, type Readable, type Writable } from "node:stream";
import { copyContext, type Context } from "../contextvars.ts";
import type { Coro } from "../coroutines.ts";
import { ProcessLookupError } from "../exceptions.ts";
import { checkSignal } from "../internal/signals.ts";
import type { Future } from "../futures.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { describe, validateOptions, validateString } from "../internal/validate.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { Protocol, SubprocessProtocol } from "../protocols.ts";
import type { ReadTransport, SubprocessTransport, WriteTransport } from "../transports.ts";
import { ReadPipeTransport, WritePipeTransport } from "./pipes.ts";

/** Connect the child's stream to a new pipe (asyncio's `subprocess.PIPE`). */
export const PIPE = -1;
/** Send the child's stderr where its stdout goes (asyncio's `subprocess.STDOUT`). */
export const STDOUT = -2;
/** Connect the child's stream to `/dev/null` (asyncio's `subprocess.DEVNULL`). */
export const DEVNULL = -3;

/**
 * Where one of the child's standard streams goes: `PIPE`, `DEVNULL`, `STDOUT` (stderr
 * only), a file descriptor of this process, a Node stream that has one, or `null` (or
 * `undefined`) to share this process's own.
 */
export type StdioTarget = number | Stream | null | undefined;

/** Options of the subprocess functions, Node's `spawn` options that asyncio users expect. */
export interface SubprocessOptions {
  /** The child's stdin: default `null` for the `create*` functions, `PIPE` for the loop's. */
  stdin?: StdioTarget;
  /** The child's stdout. */
  stdout?: StdioTarget;
  /** The child's stderr; `STDOUT` merges it into the stdout pipe. */
  stderr?: StdioTarget;
  /** The working directory. */
  cwd?: string | URL | undefined;
  /** The whole environment of the child (default: this process's). */
  env?: Readonly<Record<string, string | undefined>> | undefined;
  /** The child's `argv[0]` (default: the program). */
  argv0?: string | undefined;
  /** Start the child in a new session and process group (asyncio's `start_new_session`). */
  startNewSession?: boolean | undefined;
  /** Run the child as this user id. */
  uid?: number | undefined;
  /** Run the child as this group id. */
  gid?: number | undefined;
}

/** Options of the shell form: also which shell runs the command. */
export interface SubprocessShellOptions extends SubprocessOptions {
  /** The shell that runs the command with `-c` (default `/bin/sh`). */
  shell?: string | undefined;
}

/** The transports of the child's pipes, keyed by fd, and whether each is closed. */
interface PipeSlot {
  readonly transport: ReadPipeTransport | WritePipeTransport;
  disconnected: boolean;
}

/** The running transports of each loop, for `close()` to find. */
const live = new WeakMap<BaseEventLoop, Set<ChildProcessTransport>>();

/**
 * @internal A SubprocessTransport over a Node ChildProcess. Made by `loop.subprocessExec`
 * and `loop.subprocessShell`, which wait for `ready` before returning it.
 */
export class ChildProcessTransport implements SubprocessTransport {
  readonly #loop: BaseEventLoop;
  readonly #context: Context;
  #protocol: SubprocessProtocol;
  /** Null once the transport is finished: signals then throw ProcessLookupError. */
  #child: ChildProcess | null;
  #pid = -1;
  #returncode: number | null = null;
  #closed = false;
  #finished = false;
  readonly #pipes = new Map<number, PipeSlot | null>();
  /** Callbacks held back until `connectionMade` has been scheduled, as asyncio does. */
  #pendingCalls: [(...args: never[]) => unknown, unknown[] | undefined][] | null = [];
  #exitWaiters: Future<number>[] = [];
  /** Settles once the pipes are connected and `connectionMade` is scheduled. */
  readonly ready: Future<undefined>;
  #hostOp = true;
  /** With `stderr: STDOUT`, the one stream both of the child's output pipes feed. */
  #mergedOutput: Readable | null = null;

  constructor(
    loop: BaseEventLoop,
    protocol: SubprocessProtocol,
    file: string,
    args: readonly string[],
    options: SubprocessOptions,
  ) {
    this.#loop = loop;
    this.#context = copyContext();
    this.#protocol = protocol;
    this.ready = loop.createFuture<undefined>();
    const stdin = options.stdin;
    const stdout = options.stdout;
    const stderr = options.stderr;
    if (stdin === PIPE) this.#pipes.set(0, null);
    if (stdout === PIPE) this.#pipes.set(1, null);
    if (stderr === PIPE) this.#pipes.set(2, null);
    const spawnOptions: SpawnOptions = {
      stdio: stdioOf(stdin, stdout, stderr),
      detached: options.startNewSession ?? false,
    };
    if (options.cwd !== undefined) spawnOptions.cwd = options.cwd;
    if (options.env !== undefined) spawnOptions.env = { ...options.env };
    if (options.argv0 !== undefined) spawnOptions.argv0 = options.argv0;
    if (options.uid !== undefined) spawnOptions.uid = options.uid;
    if (options.gid !== undefined) spawnOptions.gid = options.gid;
    // Throws at once for bad options (a bad uid, a cwd that is not a string).
    const child = spawn(file, args, spawnOptions);
    this.#child = child;
    loop._hostOpStarted();
    child.once("spawn", this.#onSpawn);
    child.once("error", this.#onSpawnError);
    child.once("exit", this.#onExit);
    if (stderr === STDOUT && stdout === PIPE) {
      // One pipe for both: the child's two pipes feed one stream, in arrival order.
      this.#mergedOutput = mergeReadables(child.stdout as Readable, child.stderr as Readable);
    }
  }

  toString(): string {
    const info = ["ChildProcessTransport"];
    if (this.#closed) info.push("closed");
    if (this.#pid !== -1) info.push(`pid=${this.#pid}`);
    if (this.#returncode !== null) info.push(`returncode=${this.#returncode}`);
    else if (this.#pid !== -1) info.push("running");
    else info.push("not started");
    for (const [fd, name] of [
      [0, "stdin"],
      [1, "stdout"],
      [2, "stderr"],
    ] as const) {
      const slot = this.#pipes.get(fd);
      if (slot != null) info.push(`${name}=${slot.transport.toString()}`);
    }
    return `<${info.join(" ")}>`;
  }

  // ---- BaseTransport ---------------------------------------------------------------------

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (name === "subprocess") return this.#child ?? defaultValue;
    return defaultValue;
  }

  isClosing(): boolean {
    return this.#closed;
  }

  /** Close the pipes and, if the child is still running, kill it (SIGKILL). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const slot of this.#pipes.values()) slot?.transport.close();
    const child = this.#child;
    if (child !== null && this.#returncode === null && stillRunning(child)) {
      if (this.#loop._debug) console.warn(`Close running child process: kill ${this.toString()}`);
      child.kill("SIGKILL");
    }
  }

  setProtocol(protocol: SubprocessProtocol): void {
    this.#protocol = protocol;
  }

  getProtocol(): SubprocessProtocol {
    return this.#protocol;
  }

  // ---- SubprocessTransport --------------------------------------------------------------

  getPid(): number {
    return this.#pid;
  }

  getReturncode(): number | null {
    return this.#returncode;
  }

  getPipeTransport(fd: number): ReadTransport | WriteTransport | null {
    return this.#pipes.get(fd)?.transport ?? null;
  }

  sendSignal(signal: number | NodeJS.Signals): void {
    const child = this.#child;
    if (child === null) throw new ProcessLookupError("the process has finished");
    // 0 sends nothing: kill(2)'s check that the process exists.
    if (signal !== 0) checkSignal(signal);
    // A child that exited but is not reported yet is not an error (asyncio ignores it).
    if (stillRunning(child)) child.kill(signal);
  }

  terminate(): void {
    this.sendSignal("SIGTERM");
  }

  kill(): void {
    this.sendSignal("SIGKILL");
  }

  // ---- for Process and the loop -------------------------------------------------------------

  /** @internal Wait for the child's return code: at once if it exited, else once finished. */
  *_wait(): Coro<number> {
    if (this.#returncode !== null) return this.#returncode;
    const waiter = this.#loop.createFuture<number>();
    this.#exitWaiters.push(waiter);
    return yield* waiter;
  }

  /** @internal The loop is closing: kill a running child, and say so. */
  _loopClosed(): void {
    const running = this.#returncode === null && this.#child !== null;
    if (running) {
      this.#loop.callExceptionHandler({
        message: `Event loop closed with a running child process (pid ${this.#pid}); killed it`,
        transport: this,
      });
    }
    this.close();
    this.#release();
  }

  // ---- internals ---------------------------------------------------------------------------

  readonly #onSpawn = (): void => {
    const child = this.#child;
    if (child === null) return;
    this.#pid = child.pid ?? -1;
    child.off("error", this.#onSpawnError);
    child.on("error", noop);
    let set = live.get(this.#loop);
    if (set === undefined) live.set(this.#loop, (set = new Set()));
    set.add(this);
    this.#loop._callSoonFromHost(this.#connectPipes, undefined, this.#context);
  };

  readonly #onSpawnError = (error: Error): void => {
    this.#loop._callSoonFromHost(
      () => {
        this.#closed = true;
        this.#finished = true;
        if (!this.ready.done()) this.ready.setException(error);
        this.#release();
      },
      undefined,
      this.#context,
    );
  };

  readonly #connectPipes = (): void => {
    const child = this.#child;
    if (child === null) return;
    const loop = this.#loop;
    if (this.#pipes.has(0)) {
      this.#pipes.set(0, {
        transport: new WritePipeTransport(loop, child.stdin as Writable, pipeProtocol(this, 0)),
        disconnected: false,
      });
    }
    if (this.#pipes.has(1)) {
      const stdout = this.#mergedOutput ?? child.stdout;
      if (stdout === null) throw new Error("unreachable: a piped stdout has a stream");
      this.#pipes.set(1, {
        transport: new ReadPipeTransport(loop, stdout, pipeProtocol(this, 1)),
        disconnected: false,
      });
    }
    if (this.#pipes.has(2)) {
      this.#pipes.set(2, {
        transport: new ReadPipeTransport(loop, child.stderr as Readable, pipeProtocol(this, 2)),
        disconnected: false,
      });
    }
    // Closed while starting (a cancelled creation): the pipes go at once.
    if (this.#closed) for (const slot of this.#pipes.values()) slot?.transport.close();
    loop._callSoon(() => this.#protocol.connectionMade?.(this), undefined, this.#context);
    for (const [callback, args] of this.#pendingCalls ?? []) {
      loop._callSoon(callback, args, this.#context);
    }
    this.#pendingCalls = null;
    if (!this.ready.done()) this.ready.setResult(undefined);
  };

  readonly #onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
    const returncode = signal !== null ? -constants.signals[signal] : (code ?? 0);
    this.#loop._callSoonFromHost(this.#processExited, [returncode], this.#context);
  };

  readonly #processExited = (returncode: number): void => {
    if (this.#returncode !== null || this.#finished) return;
    if (this.#loop._debug) {
      console.info(`${this.toString()} exited with return code ${returncode}`);
    }
    this.#returncode = returncode;
    this.#call(() => this.#protocol.processExited?.());
    this.#tryFinish();
  };

  /** @internal */
  _pipeDataReceived(fd: number, data: Uint8Array): void {
    this.#call(() => this.#protocol.pipeDataReceived?.(fd, data));
  }

  /** @internal */
  _pipeConnectionLost(fd: number, error: Error | null): void {
    const slot = this.#pipes.get(fd);
    if (slot != null) slot.disconnected = true;
    this.#call(() => this.#protocol.pipeConnectionLost?.(fd, error));
    this.#tryFinish();
  }

  /** @internal */
  _pauseWriting(): void {
    this.#protocol.pauseWriting?.();
  }

  /** @internal */
  _resumeWriting(): void {
    this.#protocol.resumeWriting?.();
  }

  #call(callback: () => void): void {
    if (this.#pendingCalls !== null) this.#pendingCalls.push([callback, undefined]);
    else this.#loop._callSoon(callback, undefined, this.#context);
  }

  #tryFinish(): void {
    if (this.#finished || this.#returncode === null) return;
    for (const slot of this.#pipes.values()) if (slot === null || !slot.disconnected) return;
    this.#finished = true;
    this.#call(this.#callConnectionLost);
  }

  readonly #callConnectionLost = (): void => {
    try {
      this.#protocol.connectionLost?.(null);
    } finally {
      this.#release();
    }
  };

  /** Wake `wait()`, forget the child, and let the loop go. */
  #release(): void {
    const returncode = this.#returncode;
    const waiters = this.#exitWaiters;
    this.#exitWaiters = [];
    for (const waiter of waiters) {
      if (waiter.cancelled()) continue;
      if (returncode !== null) waiter.setResult(returncode);
      else waiter.cancel("the event loop closed");
    }
    this.#child = null;
    live.get(this.#loop)?.delete(this);
    this.#endHostOp();
  }

  #endHostOp(): void {
    if (!this.#hostOp) return;
    this.#hostOp = false;
    this.#loop._hostOpFinished();
  }
}

inspectAsString(ChildProcessTransport);

/** @internal The running subprocess transports of `loop`. */
export function liveSubprocesses(loop: BaseEventLoop): ChildProcessTransport[] {
  return [...(live.get(loop) ?? [])];
}

/** The protocol a pipe transport talks to: forwards to the subprocess transport. */
function pipeProtocol(owner: ChildProcessTransport, fd: number): Protocol {
  return {
    dataReceived: (data) => {
      owner._pipeDataReceived(fd, data);
    },
    eofReceived: () => undefined,
    connectionLost: (error) => {
      owner._pipeConnectionLost(fd, error);
    },
    pauseWriting: () => {
      owner._pauseWriting();
    },
    resumeWriting: () => {
      owner._resumeWriting();
    },
  };
}

function stillRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function noop(): void {}

/** Node's `stdio` for asyncio's stdin, stdout and stderr arguments. */
function stdioOf(stdin: StdioTarget, stdout: StdioTarget, stderr: StdioTarget): StdioOptions {
  const err =
    stderr === STDOUT
      ? stdout === PIPE
        ? "pipe"
        : stdout === null || stdout === undefined
          ? 1
          : stdioTarget(stdout, "stdout")
      : stdioTarget(stderr, "stderr");
  return [stdioTarget(stdin, "stdin"), stdioTarget(stdout, "stdout"), err];
}

function stdioTarget(
  target: StdioTarget,
  name: string,
): "pipe" | "ignore" | "inherit" | number | Stream {
  if (target === null || target === undefined) return "inherit";
  if (target === PIPE) return "pipe";
  if (target === DEVNULL) return "ignore";
  if (target === STDOUT) throw new RangeError(`STDOUT is only valid for stderr, not for ${name}`);
  if (typeof target === "number" && Number.isInteger(target) && target >= 0) return target;
  if (target instanceof Stream) return target;
  throw new TypeError(
    `${name} must be PIPE, DEVNULL, a file descriptor, a stream or null, got ${describe(target)}`,
  );
}

/** One stream of both: ends when both have ended; closing it closes both. */
function mergeReadables(first: Readable, second: Readable): Readable {
  const merged = new PassThrough();
  let open = 2;
  const ended = (): void => {
    if (--open === 0) merged.end();
  };
  for (const source of [first, second]) {
    source.pipe(merged, { end: false });
    source.once("end", ended);
  }
  merged.once("close", () => {
    first.destroy();
    second.destroy();
  });
  return merged;
}

/** Check the options every subprocess function takes. */
export function validateSubprocessOptions(options: unknown): void {
  validateOptions(options, "options");
  if (options === undefined) return;
  const o = options as Record<string, unknown>;
  for (const key of ["text", "encoding", "errors", "universalNewlines"]) {
    if (o[key] !== undefined && o[key] !== false && o[key] !== null) {
      throw new TypeError(`${key} is not supported: the pipes carry bytes (Uint8Array)`);
    }
  }
  for (const key of ["argv0", "shell"]) {
    if (o[key] !== undefined) validateString(o[key], key);
  }
}
