/**
 * StreamWriter: the sending end of a stream, a Transport plus `drain()` for flow control,
 * as asyncio's `streams.StreamWriter` (3.13).
 */
import { FastPath, NOT_READY, type Coro } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import type { Future } from "../futures.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { describe } from "../internal/validate.ts";
import type { ClientSsl, ServerSsl } from "../net/connect.ts";
import "../net/loop-methods.ts";
import type { BaseProtocol } from "../protocols.ts";
import { sleep } from "../sleep.ts";
import type { Transport, WriteTransport } from "../transports.ts";
import type { StreamReader } from "./reader.ts";

/** Options of `StreamWriter.startTls`. */
export interface StreamStartTlsOptions {
  /** The name to verify the server's certificate against (client side). */
  serverHostname?: string | null | undefined;
  /** Seconds the handshake may take; default 60. */
  sslHandshakeTimeout?: number | null | undefined;
  /** Accepted for asyncio parity. */
  sslShutdownTimeout?: number | null | undefined;
}

/**
 * @internal What a StreamWriter needs from its protocol: asyncio's `_drain_helper` and
 * `_get_close_waiter`, and for `startTls` which side it is and how to switch transports.
 */
export interface WriterProtocol extends BaseProtocol {
  _drainHelper(): Coro<void>;
  /** Whether a drain would return at once: connected and not paused. */
  _drainReady?(): boolean;
  _getCloseWaiter(writer: StreamWriter<WriteTransport>): Future<undefined>;
  _isServerSide?(): boolean;
  _replaceTransport?(transport: Transport): void;
}

/**
 * The writing side of a stream connection. `write` never blocks; `drain()` is where a
 * writer waits for the transport's buffer to go down, and where it learns that the
 * connection was lost. Made by `openConnection` and `startServer` (over a socket
 * Transport), and for a child's stdin by the subprocess functions (over a pipe's
 * WriteTransport).
 */
export class StreamWriter<T extends WriteTransport = Transport> {
  #transport: T;
  readonly #protocol: WriterProtocol;
  readonly #reader: StreamReader | null;

  /** @internal Writers come from `openConnection`, `startServer` and friends. */
  constructor(transport: T, protocol: WriterProtocol, reader: StreamReader | null) {
    this.#transport = transport;
    this.#protocol = protocol;
    this.#reader = reader;
  }

  toString(): string {
    const info = ["StreamWriter", `transport=${describe(this.#transport)}`];
    if (this.#reader !== null) info.push(`reader=${this.#reader.toString()}`);
    return `<${info.join(" ")}>`;
  }

  /** The transport underneath (a new one after `startTls`). */
  get transport(): T {
    return this.#transport;
  }

  /** Queue `data` to be sent; never blocks. Follow with `yield* writer.drain()`. */
  write(data: Uint8Array): void {
    this.#transport.write(data);
  }

  /** Queue each chunk of `chunks`, in order. */
  writelines(chunks: Iterable<Uint8Array>): void {
    this.#transport.writelines(chunks);
  }

  /** Send EOF once buffered data is sent; reading goes on. */
  writeEof(): void {
    this.#transport.writeEof();
  }

  /** Whether `writeEof()` is possible (false over TLS). */
  canWriteEof(): boolean {
    return this.#transport.canWriteEof();
  }

  /** Close the connection once buffered data is sent. Follow with `waitClosed()`. */
  close(): void {
    this.#transport.close();
  }

  /** Whether the connection is closing or closed. */
  isClosing(): boolean {
    return this.#transport.isClosing();
  }

  /**
   * Wait until the connection is closed. As in asyncio, every call waits on one shared
   * Future: cancelling a waiting task cancels it, and later calls then throw
   * CancelledError. (Shielding it would cost an extra loop iteration, and a server's
   * `waitClosed()` would then return before its handlers finished.)
   *
   * @throws the error the connection was lost with, if any.
   */
  *waitClosed(): Coro<void> {
    yield* this.#protocol._getCloseWaiter(this);
  }

  /** The transport's information: `peername`, `sockname`, `socket`, `sslcontext`, ... */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return this.#transport.getExtraInfo(name, defaultValue);
  }

  /**
   * Wait until the transport's write buffer is at its low-water mark; return at once when
   * writing is not paused. Several tasks may drain at once.
   *
   * @throws the reader's stored exception; the connection's error; a `Connection lost`
   *   Error with `code` `"ECONNRESET"` (asyncio's ConnectionResetError) once the connection
   *   is lost. While closing, it first gives the loop one iteration, so that a
   *   `write(); drain()` loop sees the connection go.
   */
  drain(): Coro<void> {
    // Most drains find nothing to wait for: no generator then (FastPath).
    return new FastPath(this, undefined, tryDrain, slowDrain);
  }

  /** @internal `drain` without waiting, or NOT_READY. */
  _tryDrain(): undefined | typeof NOT_READY {
    const reader = this.#reader;
    if (reader !== null) {
      const error = reader.exception();
      if (error !== null) throw error;
    }
    if (this.#transport.isClosing() || this.#protocol._drainReady?.() !== true) return NOT_READY;
    return undefined;
  }

  /** @internal `drain` when it may wait. */
  *_drainSlow(): Coro<undefined> {
    const reader = this.#reader;
    if (reader !== null) {
      const error = reader.exception();
      if (error !== null) throw error;
    }
    if (this.#transport.isClosing()) yield* sleep(0);
    yield* this.#protocol._drainHelper();
    return undefined;
  }

  /**
   * Upgrade the connection to TLS: a client verifies the server (`serverHostname`), a
   * server's writer (from `startServer`) presents `ssl`'s certificate. Drains first. The
   * reader keeps what it had buffered and reads the decrypted bytes after.
   *
   * @throws the handshake's error; TypeError for a writer whose protocol cannot switch.
   */
  *startTls(ssl: ClientSsl | ServerSsl, options: StreamStartTlsOptions = {}): Coro<void> {
    const protocol = this.#protocol;
    if (protocol._isServerSide === undefined || protocol._replaceTransport === undefined) {
      throw new TypeError("startTls() needs a writer made by the stream functions");
    }
    const serverSide = protocol._isServerSide();
    yield* this.drain();
    const transport = yield* getRunningLoop().startTls(
      this.#transport as unknown as Transport,
      protocol,
      ssl,
      {
        serverSide,
        serverHostname: options.serverHostname,
        sslHandshakeTimeout: options.sslHandshakeTimeout,
        sslShutdownTimeout: options.sslShutdownTimeout,
      },
    );
    this.#transport = transport as unknown as T;
    protocol._replaceTransport(transport);
  }
}

inspectAsString(StreamWriter);

function tryDrain(writer: StreamWriter<WriteTransport>): undefined | typeof NOT_READY {
  return writer._tryDrain();
}

function slowDrain(writer: StreamWriter<WriteTransport>): Coro<undefined> {
  return writer._drainSlow();
}
