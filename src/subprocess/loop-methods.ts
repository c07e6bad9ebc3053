/**
 * The loop's process and pipe methods (`loop.subprocessExec`, `loop.subprocessShell`,
 * `loop.connectReadPipe`, `loop.connectWritePipe`), as asyncio's `BaseEventLoop` has them,
 * added to BaseEventLoop's prototype so that the kernel does not depend on them.
 */
import type { Readable, Writable } from "node:stream";
import type { Coro } from "../coroutines.ts";
import { CancelledError, RuntimeError } from "../exceptions.ts";
import { describe, validateFunction, validateString } from "../internal/validate.ts";
import { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { BaseProtocol, Protocol, SubprocessProtocol } from "../protocols.ts";
import type { ReadTransport, SubprocessTransport, WriteTransport } from "../transports.ts";
import { ReadPipeTransport, WritePipeTransport } from "./pipes.ts";
import {
  ChildProcessTransport,
  liveSubprocesses,
  PIPE,
  validateSubprocessOptions,
  type SubprocessOptions,
  type SubprocessShellOptions,
} from "./transport.ts";

declare module "../loop/base-event-loop.ts" {
  interface BaseEventLoop {
    /**
     * Start `program` with `args` (never through a shell) and connect a protocol from
     * `protocolFactory` to it. stdin, stdout and stderr default to `PIPE`.
     *
     * @throws Node's spawn error (`code` `"ENOENT"`, `"EACCES"`, ...) if the child cannot
     *   start; TypeError for bad arguments.
     */
    subprocessExec<P extends SubprocessProtocol>(
      protocolFactory: () => P,
      program: string,
      args?: readonly string[],
      options?: SubprocessOptions,
    ): Coro<[SubprocessTransport, P]>;
    /** As `subprocessExec`, for `command` run by the shell (`/bin/sh -c`). */
    subprocessShell<P extends SubprocessProtocol>(
      protocolFactory: () => P,
      command: string,
      options?: SubprocessShellOptions,
    ): Coro<[SubprocessTransport, P]>;
    /**
     * Read `pipe` (a Node Readable: `process.stdin`, a child's stdout, a FIFO) through a
     * protocol: `dataReceived`*, `eofReceived`, `connectionLost`.
     */
    connectReadPipe<P extends Protocol>(
      protocolFactory: () => P,
      pipe: Readable,
    ): Coro<[ReadTransport, P]>;
    /** Write to `pipe` (a Node Writable) through a transport with flow control. */
    connectWritePipe<P extends BaseProtocol>(
      protocolFactory: () => P,
      pipe: Writable,
    ): Coro<[WriteTransport, P]>;
  }
}

BaseEventLoop.prototype.subprocessExec = function* <P extends SubprocessProtocol>(
  this: BaseEventLoop,
  protocolFactory: () => P,
  program: string,
  args: readonly string[] = [],
  options: SubprocessOptions = {},
): Coro<[SubprocessTransport, P]> {
  validateString(program, "program");
  if (!Array.isArray(args) || !args.every((arg) => typeof arg === "string")) {
    throw new TypeError(`args must be an array of strings, got ${describe(args)}`);
  }
  validateSubprocessOptions(options);
  if ((options as { shell?: unknown }).shell !== undefined) {
    throw new TypeError("shell is an option of subprocessShell, not subprocessExec");
  }
  return yield* start(this, protocolFactory, program, args, options);
};

BaseEventLoop.prototype.subprocessShell = function* <P extends SubprocessProtocol>(
  this: BaseEventLoop,
  protocolFactory: () => P,
  command: string,
  options: SubprocessShellOptions = {},
): Coro<[SubprocessTransport, P]> {
  if (typeof command !== "string") {
    throw new TypeError(`command must be a string, got ${describe(command)}`);
  }
  validateSubprocessOptions(options);
  const { shell = "/bin/sh", ...rest } = options;
  return yield* start(this, protocolFactory, shell, ["-c", command], rest);
};

BaseEventLoop.prototype.connectReadPipe = function* <P extends Protocol>(
  this: BaseEventLoop,
  protocolFactory: () => P,
  pipe: Readable,
): Coro<[ReadTransport, P]> {
  validateFunction(protocolFactory, "protocolFactory");
  checkStream(pipe, "read", "pipe");
  const protocol = protocolFactory();
  const made = this.createFuture<undefined>();
  const transport = new ReadPipeTransport(this, pipe, protocol, {
    onMade: () => {
      if (!made.done()) made.setResult(undefined);
    },
  });
  yield* made;
  return [transport, protocol];
};

BaseEventLoop.prototype.connectWritePipe = function* <P extends BaseProtocol>(
  this: BaseEventLoop,
  protocolFactory: () => P,
  pipe: Writable,
): Coro<[WriteTransport, P]> {
  validateFunction(protocolFactory, "protocolFactory");
  checkStream(pipe, "write", "pipe");
  const protocol = protocolFactory();
  const made = this.createFuture<undefined>();
  const transport = new WritePipeTransport(this, pipe, protocol, {
    onMade: () => {
      if (!made.done()) made.setResult(undefined);
    },
  });
  yield* made;
  return [transport, protocol];
};

function* start<P extends SubprocessProtocol>(
  loop: BaseEventLoop,
  protocolFactory: () => P,
  file: string,
  args: readonly string[],
  options: SubprocessOptions,
): Coro<[SubprocessTransport, P]> {
  validateFunction(protocolFactory, "protocolFactory");
  if (loop.isClosed()) throw new RuntimeError("Event loop is closed");
  const protocol = protocolFactory();
  const transport = new ChildProcessTransport(loop, protocol, file, args, {
    stdin: PIPE,
    stdout: PIPE,
    stderr: PIPE,
    ...withoutUndefined(options),
  });
  if (!hooked.has(loop)) {
    hooked.add(loop);
    loop._closeHooks.add(() => {
      hooked.delete(loop);
      for (const child of liveSubprocesses(loop)) child._loopClosed();
    });
  }
  try {
    yield* transport.ready;
  } catch (error) {
    // Cancelled (or failed) while starting: leave no child behind.
    if (error instanceof CancelledError) {
      transport.close();
      yield* transport._wait();
    }
    throw error;
  }
  return [transport, protocol];
}

/** The loops whose `close()` kills and reports the children still running. */
const hooked = new WeakSet<BaseEventLoop>();

function withoutUndefined(options: SubprocessOptions): SubprocessOptions {
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (value !== undefined) result[key] = value;
  return result;
}

function checkStream(pipe: unknown, method: "read" | "write", name: string): void {
  if (
    typeof pipe !== "object" ||
    pipe === null ||
    typeof (pipe as Record<string, unknown>)[method] !== "function" ||
    typeof (pipe as { on?: unknown }).on !== "function"
  ) {
    throw new TypeError(
      `${name} must be a Node ${method === "read" ? "Readable" : "Writable"} stream, got ${describe(pipe)}`,
    );
  }
}
