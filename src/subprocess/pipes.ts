/**
 * Pipe transports over Node streams, as asyncio's `_UnixReadPipeTransport` and
 * `_UnixWritePipeTransport`: the pipes of a child process, and whatever else
 * `loop.connectReadPipe`/`loop.connectWritePipe` is given (`process.stdin`, a FIFO).
 *
 * Every protocol callback is a Handle on the loop, run in the Context captured when the
 * transport was made: `connectionMade`, then (reading) `dataReceived`* and `eofReceived`,
 * then `connectionLost` exactly once.
 */
import type { Readable, Writable } from "node:stream";
import { copyContext, type Context } from "../contextvars.ts";
import { inspectAsString } from "../internal/inspect.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { BaseProtocol, Protocol } from "../protocols.ts";
import {
  checkWrite,
  WriteFlowControl,
  type ReadTransport,
  type WriteTransport,
} from "../transports.ts";

/** After this many writes to a closed pipe, asyncio warns once. */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

/** What a pipe transport's creator may ask for. */
export interface PipeTransportOptions {
  /** Extra information for `getExtraInfo` (`pipe` is always there). */
  extra?: Record<string, unknown>;
  /** Called (on the loop) right after `connectionMade`. */
  onMade?: () => void;
}

/**
 * Call `transport`'s protocol's `connectionLost(error)` on the next iteration, then let the
 * loop go (the transport's outside operation is over).
 */
function scheduleConnectionLost(
  loop: BaseEventLoop,
  transport: { getProtocol(): BaseProtocol },
  error: Error | null,
  context: Context,
): void {
  loop._callSoon(
    () => {
      try {
        transport.getProtocol().connectionLost?.(error);
      } finally {
        loop._hostOpFinished();
      }
    },
    undefined,
    context,
  );
}

/** asyncio's BrokenPipeError, in Node's shape: an Error whose `code` is `"EPIPE"`. */
export function brokenPipeError(): Error & { code: string } {
  return Object.assign(new Error("Broken pipe"), { code: "EPIPE" });
}

/**
 * @internal The reading end of a pipe. EOF calls `eofReceived` (its return value is not
 * consulted: a pipe has no write side to keep) and then `connectionLost(null)`.
 */
export class ReadPipeTransport implements ReadTransport {
  readonly #loop: BaseEventLoop;
  readonly #pipe: Readable;
  readonly #context: Context;
  readonly #extra: Record<string, unknown>;
  #protocol: BaseProtocol;
  #closing = false;
  #reading = true;
  #lost = false;
  #error: Error | null = null;

  constructor(
    loop: BaseEventLoop,
    pipe: Readable,
    protocol: BaseProtocol,
    options: PipeTransportOptions = {},
  ) {
    this.#loop = loop;
    this.#pipe = pipe;
    this.#protocol = protocol;
    this.#context = copyContext();
    this.#extra = { pipe, ...options.extra };
    pipe.pause();
    loop._hostOpStarted();
    loop._callSoon(() => this.#protocol.connectionMade?.(this), undefined, this.#context);
    loop._callSoon(
      () => {
        if (this.#closing) return;
        pipe.on("data", this.#onData);
        pipe.on("end", this.#onEnd);
        if (this.#reading) pipe.resume();
      },
      undefined,
      this.#context,
    );
    const onMade = options.onMade;
    if (onMade !== undefined) loop._callSoon(onMade, undefined, this.#context);
    pipe.on("error", this.#onError);
    pipe.on("close", this.#onClose);
  }

  toString(): string {
    const state = this.#lost ? "closed" : this.#closing ? "closing" : "open";
    const fd = (this.#pipe as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    const reading = this.#lost ? "" : this.isReading() ? " polling" : " idle";
    return `<ReadPipeTransport ${state} fd=${String(fd)}${reading}>`;
  }

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name in this.#extra ? this.#extra[name] : defaultValue;
  }

  isClosing(): boolean {
    return this.#closing;
  }

  /** Stop reading and close the pipe; `connectionLost(null)` follows. */
  close(): void {
    if (this.#closing) return;
    this.#stop(null);
  }

  setProtocol(protocol: BaseProtocol): void {
    this.#protocol = protocol;
  }

  getProtocol(): BaseProtocol {
    return this.#protocol;
  }

  isReading(): boolean {
    return this.#reading && !this.#closing;
  }

  pauseReading(): void {
    if (this.#closing || !this.#reading) return;
    this.#reading = false;
    this.#pipe.pause();
  }

  resumeReading(): void {
    if (this.#closing || this.#reading) return;
    this.#reading = true;
    this.#pipe.resume();
  }

  readonly #onData = (chunk: Buffer | string): void => {
    const data = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
    this.#loop._callSoonFromHost(this.#deliver, [data], this.#context);
  };

  readonly #deliver = (chunk: Buffer): void => {
    if (this.#lost) return;
    try {
      (this.#protocol as Protocol).dataReceived(chunk);
    } catch (error) {
      this.#fatal(error, "Fatal error: protocol.data_received() call failed.");
    }
  };

  readonly #onEnd = (): void => {
    this.#loop._callSoonFromHost(this.#eofReceived, undefined, this.#context);
  };

  readonly #eofReceived = (): void => {
    if (this.#lost) return;
    this.#closing = true;
    try {
      (this.#protocol as Protocol).eofReceived?.();
    } catch (error) {
      this.#fatal(error, "Fatal error: protocol.eof_received() call failed.");
      return;
    }
    this.#stop(null);
  };

  readonly #onError = (error: Error): void => {
    this.#error ??= error;
  };

  readonly #onClose = (): void => {
    this.#loop._callSoonFromHost(
      () => {
        if (this.#lost) return;
        const error = this.#error;
        // asyncio reports a read error other than EIO (a pseudo-terminal's end).
        if (error !== null && (error as { code?: unknown }).code !== "EIO") {
          this.#loop.callExceptionHandler({
            message: "Fatal read error on pipe transport",
            exception: error,
            transport: this,
            protocol: this.#protocol,
          });
        }
        this.#stop(error);
      },
      undefined,
      this.#context,
    );
  };

  #fatal(error: unknown, message: string): void {
    this.#loop.callExceptionHandler({
      message,
      exception: error,
      transport: this,
      protocol: this.#protocol,
    });
    this.#stop(error instanceof Error ? error : new Error(String(error)));
  }

  /** Stop reading, let go of the pipe and schedule `connectionLost(error)` once. */
  #stop(error: Error | null): void {
    this.#closing = true;
    const pipe = this.#pipe;
    pipe.off("data", this.#onData);
    pipe.off("end", this.#onEnd);
    pipe.pause();
    if (this.#lost) return;
    this.#lost = true;
    pipe.destroy();
    scheduleConnectionLost(this.#loop, this, error, this.#context);
  }
}

inspectAsString(ReadPipeTransport);

/**
 * @internal The writing end of a pipe, with asyncio's write flow control (64 KiB/16 KiB
 * water marks). `close()` is `writeEof()`: buffered data is still sent. A reader that goes
 * away (the child exited) ends the transport with `connectionLost(null)`, or with a broken
 * pipe error (`code` `"EPIPE"`) when data was still waiting to be sent.
 */
export class WritePipeTransport implements WriteTransport {
  readonly #loop: BaseEventLoop;
  readonly #pipe: Writable;
  readonly #context: Context;
  readonly #extra: Record<string, unknown>;
  readonly #flow: WriteFlowControl;
  #protocol: BaseProtocol;
  #closing = false;
  #lost = false;
  #lostWrites = 0;
  #error: Error | null = null;

  constructor(
    loop: BaseEventLoop,
    pipe: Writable,
    protocol: BaseProtocol,
    options: PipeTransportOptions = {},
  ) {
    this.#loop = loop;
    this.#pipe = pipe;
    this.#protocol = protocol;
    this.#context = copyContext();
    this.#extra = { pipe, ...options.extra };
    this.#flow = new WriteFlowControl(loop, this);
    loop._hostOpStarted();
    loop._callSoon(() => this.#protocol.connectionMade?.(this), undefined, this.#context);
    const onMade = options.onMade;
    if (onMade !== undefined) loop._callSoon(onMade, undefined, this.#context);
    pipe.on("error", this.#onError);
    pipe.on("close", this.#onClose);
  }

  toString(): string {
    const state = this.#lost ? "closed" : this.#closing ? "closing" : "open";
    const fd = (this.#pipe as { _handle?: { fd?: number } })._handle?.fd ?? -1;
    const info = this.#lost ? "" : ` bufsize=${this.getWriteBufferSize()}`;
    return `<WritePipeTransport ${state} fd=${String(fd)}${info}>`;
  }

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name in this.#extra ? this.#extra[name] : defaultValue;
  }

  isClosing(): boolean {
    return this.#closing;
  }

  /** Send what is buffered, then close the pipe (asyncio: `close()` is `write_eof()`). */
  close(): void {
    this.writeEof();
  }

  setProtocol(protocol: BaseProtocol): void {
    this.#protocol = protocol;
  }

  getProtocol(): BaseProtocol {
    return this.#protocol;
  }

  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    this.#flow.setLimits(high, low, this.getWriteBufferSize());
  }

  getWriteBufferSize(): number {
    return this.#lost || this.#error !== null ? 0 : this.#pipe.writableLength;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return this.#flow.limits();
  }

  write(data: Uint8Array): void {
    checkWrite(data, false);
    if (data.length === 0) return;
    // asyncio drops writes to a closing or lost pipe, and warns if that goes on.
    if (this.#closing || this.#error !== null || this.#pipe.destroyed) {
      if (++this.#lostWrites >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) {
        console.warn("pipe closed by peer or os.write(pipe, data) raised exception.");
      }
      return;
    }
    const pipe = this.#pipe;
    pipe.write(data, this.#onWritten);
    // A write to a pipe whose reader is gone fails at once (EPIPE): end the transport now,
    // as asyncio does, rather than when Node reports it after this loop iteration.
    const failed = pipe.errored;
    if (failed !== null) {
      this.#error ??= failed;
      this.#closing = true;
      pipe.destroy();
      this.#connectionLost(failed);
      return;
    }
    this.#flow.maybePause(pipe.writableLength);
  }

  writelines(chunks: Iterable<Uint8Array>): void {
    for (const chunk of chunks) this.write(chunk);
  }

  /** Close the pipe once the buffer is sent; `connectionLost(null)` follows. */
  writeEof(): void {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#lost) return;
    const pipe = this.#pipe;
    if (pipe.writableLength === 0) {
      pipe.destroy();
      this.#connectionLost(null);
    } else {
      pipe.end(() => pipe.destroy());
    }
  }

  canWriteEof(): boolean {
    return true;
  }

  /** Close at once, dropping what is buffered; `connectionLost(null)` follows. */
  abort(): void {
    this.#closing = true;
    if (this.#lost) return;
    this.#pipe.destroy();
    this.#connectionLost(null);
  }

  readonly #onWritten = (): void => {
    if (this.#lost) return;
    if (this.#flow.canResume(this.#pipe.writableLength)) {
      this.#loop._callSoonFromHost(this.#resumeWriting, undefined, this.#context);
    }
  };

  readonly #resumeWriting = (): void => {
    if (!this.#lost) this.#flow.maybeResume(this.#pipe.writableLength);
  };

  readonly #onError = (error: Error): void => {
    this.#error ??= error;
  };

  readonly #onClose = (): void => {
    // Whatever was still buffered when the pipe went is lost: that is a broken pipe.
    const unsent = this.#pipe.writableLength > 0 && !this.#pipe.writableFinished;
    this.#loop._callSoonFromHost(
      () => {
        let error = this.#error;
        if (error !== null && (error as { code?: unknown }).code === "ERR_STREAM_DESTROYED") {
          error = null;
        }
        if (error === null && unsent) error = brokenPipeError();
        this.#connectionLost(error);
      },
      undefined,
      this.#context,
    );
  };

  /** Schedule `connectionLost(error)` once, and wake any waiting drain. */
  #connectionLost(error: Error | null): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#closing = true;
    scheduleConnectionLost(this.#loop, this, error, this.#context);
  }
}

inspectAsString(WritePipeTransport);
