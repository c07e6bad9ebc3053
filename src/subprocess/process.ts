/**
 * Processes with stream pipes, as asyncio's `subprocess` module: `createSubprocessExec`,
 * `createSubprocessShell` and the `Process` they return, whose stdin is a StreamWriter
 * and whose stdout and stderr are StreamReaders.
 */
import type { Coro } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import { CancelledError } from "../exceptions.ts";
import type { Future } from "../futures.ts";
import { gather } from "../gather.ts";
import { inspectAsString } from "../internal/inspect.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { SubprocessProtocol } from "../protocols.ts";
import { DEFAULT_LIMIT, StreamReader, validateLimit } from "../streams/reader.ts";
import { FlowControl } from "../streams/reader-protocol.ts";
import { StreamWriter, type WriterProtocol } from "../streams/writer.ts";
import type { ReadTransport, SubprocessTransport, WriteTransport } from "../transports.ts";
import "./loop-methods.ts";
import type { SubprocessOptions, SubprocessShellOptions } from "./transport.ts";

/** Options of `createSubprocessExec` and `createSubprocessShell`. */
export interface ProcessOptions extends SubprocessOptions {
  /** The StreamReaders' limit (default 64 KiB); see `StreamReader`. */
  limit?: number | undefined;
}

/** Options of `createSubprocessShell`. */
export interface ProcessShellOptions extends ProcessOptions, SubprocessShellOptions {}

/** Options of `Process.wait` and `Process.communicate`. */
export interface ProcessWaitOptions {
  /**
   * If the waiting task is cancelled, kill the child (SIGKILL) and wait for it to exit
   * before the cancellation goes on. Default false: as asyncio, the child keeps running.
   */
  killOnCancel?: boolean | undefined;
}

/**
 * The SubprocessProtocol behind a Process: StreamReaders for the child's stdout and
 * stderr, a StreamWriter for its stdin, as asyncio's `SubprocessStreamProtocol`.
 *
 * @internal
 */
export class SubprocessStreamProtocol implements SubprocessProtocol, WriterProtocol {
  readonly #limit: number;
  readonly #flow: FlowControl;
  stdin: StreamWriter<WriteTransport> | null = null;
  stdout: StreamReader | null = null;
  stderr: StreamReader | null = null;
  #transport: SubprocessTransport | null = null;
  #processExited = false;
  readonly #pipeFds: number[] = [];
  readonly #stdinClosed: Future<undefined>;

  constructor(limit: number, loop: BaseEventLoop) {
    this.#limit = limit;
    this.#flow = new FlowControl(loop);
    this.#stdinClosed = loop.createFuture<undefined>();
  }

  toString(): string {
    const info = ["SubprocessStreamProtocol"];
    if (this.stdin !== null) info.push(`stdin=${this.stdin.toString()}`);
    if (this.stdout !== null) info.push(`stdout=${this.stdout.toString()}`);
    if (this.stderr !== null) info.push(`stderr=${this.stderr.toString()}`);
    return `<${info.join(" ")}>`;
  }

  connectionMade(transport: SubprocessTransport): void {
    this.#transport = transport;
    const stdout = transport.getPipeTransport(1);
    if (stdout !== null) {
      this.stdout = new StreamReader(this.#limit);
      this.stdout.setTransport(stdout as ReadTransport);
      this.#pipeFds.push(1);
    }
    const stderr = transport.getPipeTransport(2);
    if (stderr !== null) {
      this.stderr = new StreamReader(this.#limit);
      this.stderr.setTransport(stderr as ReadTransport);
      this.#pipeFds.push(2);
    }
    const stdin = transport.getPipeTransport(0);
    if (stdin !== null) this.stdin = new StreamWriter(stdin as WriteTransport, this, null);
  }

  pipeDataReceived(fd: number, data: Uint8Array): void {
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    reader?._feedOwned(data);
  }

  pipeConnectionLost(fd: number, error: Error | null): void {
    if (fd === 0) {
      this.stdin?.close();
      this.#flow.connectionLost(error);
      if (error === null) {
        this.#stdinClosed.setResult(undefined);
      } else {
        this.#stdinClosed.setException(error);
        this.#stdinClosed._markRetrieved();
      }
      return;
    }
    const reader = fd === 1 ? this.stdout : fd === 2 ? this.stderr : null;
    if (reader !== null) {
      if (error === null) reader.feedEof();
      else reader.setException(error);
    }
    const index = this.#pipeFds.indexOf(fd);
    if (index !== -1) this.#pipeFds.splice(index, 1);
    this.#maybeCloseTransport();
  }

  processExited(): void {
    this.#processExited = true;
    this.#maybeCloseTransport();
  }

  pauseWriting(): void {
    this.#flow.pauseWriting();
  }

  resumeWriting(): void {
    this.#flow.resumeWriting();
  }

  #maybeCloseTransport(): void {
    if (this.#pipeFds.length === 0 && this.#processExited) {
      this.#transport?.close();
      this.#transport = null;
    }
  }

  /** @internal */
  _drainHelper(): Coro<void> {
    return this.#flow.drainHelper();
  }

  /** @internal */
  _drainReady(): boolean {
    return this.#flow.ready();
  }

  /** @internal */
  _getCloseWaiter(_writer: StreamWriter<WriteTransport>): Future<undefined> {
    return this.#stdinClosed;
  }
}

inspectAsString(SubprocessStreamProtocol);

/** A ChildProcessTransport as Process needs it: with the private `_wait`. */
interface WaitableTransport extends SubprocessTransport {
  _wait(): Coro<number>;
}

/**
 * A running child process, as asyncio's `asyncio.subprocess.Process`: made by
 * `createSubprocessExec` and `createSubprocessShell`.
 *
 * Cancelling a task that waits in `wait()` or `communicate()` leaves the child running
 * and the Process usable, as in asyncio; pass `{ killOnCancel: true }` to kill it instead.
 * A child still running when the loop closes is killed and reported.
 */
export class Process {
  readonly #transport: WaitableTransport;
  readonly #protocol: SubprocessStreamProtocol;
  /** The child's process id. */
  readonly pid: number;
  /** The child's stdin, when it is a pipe (`stdin: PIPE`), else null. */
  readonly stdin: StreamWriter<WriteTransport> | null;
  /** The child's stdout, when it is a pipe, else null. */
  readonly stdout: StreamReader | null;
  /** The child's stderr, when it is a pipe, else null. */
  readonly stderr: StreamReader | null;

  /** @internal Processes come from `createSubprocessExec` and `createSubprocessShell`. */
  constructor(transport: SubprocessTransport, protocol: SubprocessStreamProtocol) {
    this.#transport = transport as WaitableTransport;
    this.#protocol = protocol;
    this.pid = transport.getPid();
    this.stdin = this.#protocol.stdin;
    this.stdout = this.#protocol.stdout;
    this.stderr = this.#protocol.stderr;
  }

  toString(): string {
    return `<Process ${this.pid}>`;
  }

  /**
   * The return code: null while the child runs, its exit status once it exited, minus the
   * signal's number if a signal killed it (`-9` for SIGKILL, `-15` for SIGTERM).
   */
  get returncode(): number | null {
    return this.#transport.getReturncode();
  }

  /**
   * Wait for the child to exit and return its return code. Once it has exited, returns at
   * once; otherwise returns once its pipes are closed too. Many tasks may wait at once.
   *
   * A child that writes more to a pipe than the reader's buffer holds blocks until it is
   * read: read `stdout`/`stderr` while waiting, or use `communicate()`.
   */
  *wait(options?: ProcessWaitOptions): Coro<number> {
    if (options?.killOnCancel !== true) return yield* this.#transport._wait();
    return yield* this.#killOnCancel(this.#transport._wait());
  }

  /**
   * Send `input` (if any) to stdin and close it, read stdout and stderr to their end, wait
   * for the child to exit, and return `[stdout, stderr]`: the bytes of each stream that is
   * a pipe, else null. Feeding and reading go on at once, so large input and output never
   * deadlock. A child that exits without reading its input is not an error (the broken pipe
   * is ignored).
   */
  *communicate(
    input?: Uint8Array | null,
    options?: ProcessWaitOptions,
  ): Coro<[stdout: Uint8Array | null, stderr: Uint8Array | null]> {
    if (input != null && !(input instanceof Uint8Array)) {
      throw new TypeError("input must be a Uint8Array or null");
    }
    const body = this.#communicate(input ?? null);
    if (options?.killOnCancel !== true) return yield* body;
    return yield* this.#killOnCancel(body);
  }

  /**
   * Send `signal` (a number or a name such as `"SIGHUP"`) to the child.
   *
   * @throws ProcessLookupError once the child exited and its pipes closed; RangeError for a
   *   signal number or name that does not exist, TypeError for anything else.
   */
  sendSignal(signal: number | NodeJS.Signals): void {
    this.#transport.sendSignal(signal);
  }

  /** Send SIGTERM. @throws ProcessLookupError once the process is finished. */
  terminate(): void {
    this.#transport.terminate();
  }

  /** Send SIGKILL. @throws ProcessLookupError once the process is finished. */
  kill(): void {
    this.#transport.kill();
  }

  *#communicate(input: Uint8Array | null): Coro<[Uint8Array | null, Uint8Array | null]> {
    const [, stdout, stderr] = yield* gather(
      this.stdin !== null ? this.#feedStdin(this.stdin, input) : noop(),
      this.stdout !== null ? this.#readStream(this.stdout, 1) : noop(),
      this.stderr !== null ? this.#readStream(this.stderr, 2) : noop(),
    );
    yield* this.wait();
    return [stdout, stderr];
  }

  *#feedStdin(stdin: StreamWriter<WriteTransport>, input: Uint8Array | null): Coro<null> {
    try {
      if (input !== null) stdin.write(input);
      yield* stdin.drain();
    } catch (error) {
      // The child may exit, or close its stdin, without reading everything.
      const code = (error as { code?: unknown } | null)?.code;
      if (code !== "EPIPE" && code !== "ECONNRESET") throw error;
    }
    stdin.close();
    return null;
  }

  *#readStream(stream: StreamReader, fd: number): Coro<Uint8Array> {
    const output = yield* stream.read();
    this.#transport.getPipeTransport(fd)?.close();
    return output;
  }

  *#killOnCancel<T>(body: Coro<T>): Coro<T> {
    try {
      return yield* body;
    } catch (error) {
      if (error instanceof CancelledError && this.#transport.getReturncode() === null) {
        try {
          this.#transport.kill();
        } catch {
          // Already finished: nothing to kill.
        }
        yield* this.#transport._wait();
      }
      throw error;
    }
  }
}

inspectAsString(Process);

function* noop(): Coro<null> {
  return null;
}

/**
 * Start `program` with `args`, directly (never through a shell), and return its Process.
 * Each of `stdin`, `stdout`, `stderr` is `PIPE` (a StreamWriter or StreamReader on the
 * Process), `DEVNULL`, `STDOUT` (stderr only), a file descriptor, a Node stream, or
 * `null`/omitted to share this process's own.
 *
 * @example
 * ```ts
 * const proc = yield* createSubprocessExec("ls", ["-l", dir], { stdout: PIPE });
 * const [out] = yield* proc.communicate();
 * console.log(new TextDecoder().decode(out ?? undefined), "exit", proc.returncode);
 * ```
 *
 * @throws Node's spawn error (`code` `"ENOENT"` for a program that is not found, `"EACCES"`
 *   for one that is not executable); TypeError for bad arguments.
 */
export function* createSubprocessExec(
  program: string,
  args: readonly string[] = [],
  options: ProcessOptions = {},
): Coro<Process> {
  const loop = getRunningLoop();
  const limit = options.limit ?? DEFAULT_LIMIT;
  validateLimit(limit); // before anything starts
  const [transport, protocol] = yield* loop.subprocessExec(
    () => new SubprocessStreamProtocol(limit, loop),
    program,
    args,
    {
      ...options,
      stdin: options.stdin ?? null,
      stdout: options.stdout ?? null,
      stderr: options.stderr ?? null,
    },
  );
  return new Process(transport, protocol);
}

/**
 * Run `command` with the shell (`/bin/sh -c command`, or `options.shell`) and return its
 * Process; the streams are as for `createSubprocessExec`.
 *
 * The shell interprets the whole string: quoting is the caller's job. Never build a
 * command from untrusted input; use `createSubprocessExec` with an argument list, or quote
 * every argument for the shell (single quotes, each `'` written as `'\''`).
 *
 * @throws TypeError unless `command` is a string.
 */
export function* createSubprocessShell(
  command: string,
  options: ProcessShellOptions = {},
): Coro<Process> {
  const loop = getRunningLoop();
  const limit = options.limit ?? DEFAULT_LIMIT;
  validateLimit(limit);
  const [transport, protocol] = yield* loop.subprocessShell(
    () => new SubprocessStreamProtocol(limit, loop),
    command,
    {
      ...options,
      stdin: options.stdin ?? null,
      stdout: options.stdout ?? null,
      stderr: options.stderr ?? null,
    },
  );
  return new Process(transport, protocol);
}
