/**
 * StreamReaderProtocol: the Protocol that joins a transport to a StreamReader and a
 * StreamWriter, as asyncio's `streams.StreamReaderProtocol`, with asyncio's
 * `FlowControlMixin` as the composed helper `FlowControl`.
 */
import type { Coro } from "../coroutines.ts";
import { isCoroutine } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import type { Future } from "../futures.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { describe, validateFunction } from "../internal/validate.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { Protocol } from "../protocols.ts";
import type { Task } from "../tasks.ts";
import type { Transport, WriteTransport } from "../transports.ts";
import type { StreamReader } from "./reader.ts";
import { StreamWriter, type WriterProtocol } from "./writer.ts";

/**
 * What `startServer` calls for each connection: a generator function (run in a Task of its
 * own) or a plain function.
 */
export type ClientConnectedCallback = (reader: StreamReader, writer: StreamWriter) => unknown;

/**
 * @internal asyncio's ConnectionResetError `Connection lost`, in Node's shape for system errors: an
 * Error whose `code` is `"ECONNRESET"`.
 */
export function connectionLostError(): Error & { code: string } {
  return Object.assign(new Error("Connection lost"), { code: "ECONNRESET" });
}

/**
 * @internal The write flow control behind `StreamWriter.drain()` (asyncio's
 * `FlowControlMixin`): a protocol forwards `pauseWriting`, `resumeWriting` and
 * `connectionLost` to it, and `drain()` waits in `drainHelper()`.
 */
export class FlowControl {
  readonly #loop: BaseEventLoop;
  #paused = false;
  #connectionLost = false;
  /** The futures of the drains waiting for `resumeWriting`, in the order they began. */
  readonly #waiters: Future<undefined>[] = [];

  constructor(loop: BaseEventLoop) {
    this.#loop = loop;
  }

  /** Whether writing is paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Whether `connectionLost` was called. */
  get lost(): boolean {
    return this.#connectionLost;
  }

  pauseWriting(): void {
    this.#paused = true;
  }

  /** Wake every waiting drain. */
  resumeWriting(): void {
    this.#paused = false;
    for (const waiter of this.#waiters) if (!waiter.done()) waiter.setResult(undefined);
  }

  /** Wake the waiting drains, with `error` if there is one. */
  connectionLost(error: Error | null): void {
    this.#connectionLost = true;
    if (!this.#paused) return;
    for (const waiter of this.#waiters) {
      if (waiter.done()) continue;
      if (error === null) waiter.setResult(undefined);
      else waiter.setException(error);
    }
  }

  /** Whether `drainHelper()` would return at once. */
  ready(): boolean {
    return !this.#connectionLost && !this.#paused;
  }

  /** Wait while writing is paused; throw `Connection lost` once the connection is gone. */
  *drainHelper(): Coro<void> {
    if (this.#connectionLost) throw connectionLostError();
    if (!this.#paused) return;
    const waiter = this.#loop.createFuture<undefined>();
    this.#waiters.push(waiter);
    try {
      yield* waiter;
    } finally {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
    }
  }
}

/**
 * The Protocol between a transport and a StreamReader: received bytes and EOF go to the
 * reader, the connection's loss becomes the reader's EOF (or exception) and ends
 * `waitClosed()`. With `clientConnected` (a server's connection), `connectionMade` creates
 * the StreamWriter and calls `clientConnected(reader, writer)`; a generator function runs
 * in a Task. When that Task fails, the error goes to the loop's exception handler as
 * `Unhandled exception in client_connected_cb` and the transport is closed; when it is
 * cancelled, the transport is closed silently.
 *
 * EOF from the peer keeps the transport open for writing (half-close), except over TLS.
 * Must be created on a running loop.
 */
export class StreamReaderProtocol implements Protocol, WriterProtocol {
  readonly #loop: BaseEventLoop;
  readonly #flow: FlowControl;
  #reader: StreamReader | null;
  readonly #clientConnected: ClientConnectedCallback | null;
  #transport: Transport | null = null;
  #task: Task<unknown> | null = null;
  #overSsl = false;
  readonly #closed: Future<undefined>;

  /** @throws RuntimeError `no running event loop` outside a loop. */
  constructor(reader: StreamReader | null, clientConnected?: ClientConnectedCallback | null) {
    if (clientConnected != null) validateFunction(clientConnected, "clientConnected");
    this.#loop = getRunningLoop();
    this.#flow = new FlowControl(this.#loop);
    this.#reader = reader;
    this.#clientConnected = clientConnected ?? null;
    this.#closed = this.#loop.createFuture<undefined>();
  }

  toString(): string {
    const info = ["StreamReaderProtocol"];
    if (this.#closed.done()) info.push("closed");
    else if (this.#transport !== null) info.push(`transport=${describe(this.#transport)}`);
    if (this.#flow.paused) info.push("paused");
    if (this.#task !== null) info.push(`task=${this.#task.toString()}`);
    return `<${info.join(" ")}>`;
  }

  // ---- Protocol ------------------------------------------------------------------------

  connectionMade(transport: Transport): void {
    this.#transport = transport;
    const reader = this.#reader;
    reader?.setTransport(transport);
    this.#overSsl = transport.getExtraInfo("sslcontext") != null;
    const callback = this.#clientConnected;
    if (callback === null || reader === null) return;
    const writer = new StreamWriter(transport, this, reader);
    let outcome: unknown;
    try {
      outcome = callback(reader, writer);
    } catch (error) {
      // tsyncio: a plain callback's error is reported as a generator's would be (asyncio
      // lets it escape connection_made, and the connection stays open, unused).
      this.#reportFailure(error, transport);
      return;
    }
    if (!isCoroutine(outcome)) return;
    const task = this.#loop.createTask(outcome);
    this.#task = task;
    task.addDoneCallback(() => {
      if (task.cancelled()) {
        transport.close();
        return;
      }
      const error = task.exception();
      if (error !== null) this.#reportFailure(error, transport);
    });
  }

  connectionLost(error: Error | null): void {
    const reader = this.#reader;
    if (reader !== null) {
      if (error === null) reader.feedEof();
      else reader.setException(error);
    }
    if (!this.#closed.done()) {
      if (error === null) {
        this.#closed.setResult(undefined);
      } else {
        this.#closed.setException(error);
        // Nobody has to wait for the close (asyncio's __del__ retrieves it too).
        this.#closed._markRetrieved();
      }
    }
    this.#flow.connectionLost(error);
    this.#reader = null;
    this.#transport = null;
    this.#task = null;
  }

  dataReceived(data: Uint8Array): void {
    this.#reader?._feedOwned(data);
  }

  /** The peer's EOF: the reader's EOF; keep writing unless over TLS. */
  eofReceived(): boolean {
    this.#reader?.feedEof();
    return !this.#overSsl;
  }

  pauseWriting(): void {
    this.#flow.pauseWriting();
  }

  resumeWriting(): void {
    this.#flow.resumeWriting();
  }

  // ---- for StreamWriter ------------------------------------------------------------------

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
    return this.#closed;
  }

  /** @internal Whether this is a server's connection (for `startTls`). */
  _isServerSide(): boolean {
    return this.#clientConnected !== null;
  }

  /** @internal The connection now runs over `transport` (after `startTls`). */
  _replaceTransport(transport: Transport): void {
    this.#transport = transport;
    this.#overSsl = transport.getExtraInfo("sslcontext") != null;
    this.#reader?._replaceTransport(transport);
  }

  #reportFailure(error: unknown, transport: Transport): void {
    this.#loop.callExceptionHandler({
      message: "Unhandled exception in client_connected_cb",
      exception: error,
      transport,
    });
    transport.close();
  }
}

inspectAsString(StreamReaderProtocol);
