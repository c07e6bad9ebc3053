/**
 * SocketTransport: a stream Transport over a Node `net.Socket` (TCP, Unix sockets, and TLS
 * through `tls.TLSSocket`), as asyncio's `_SelectorSocketTransport`.
 *
 * Every protocol callback is a Handle on the loop, run in the Context captured when the
 * transport was made, in asyncio's order: `connectionMade`, then `dataReceived`*, then
 * `eofReceived`, then `connectionLost` once. Node's socket events arrive between loop
 * iterations; they are queued like any other callback (`_callSoonFromHost`).
 */
import type { Socket } from "node:net";
import type { TLSSocket } from "node:tls";
import { copyContext, type Context } from "../contextvars.ts";
import { RuntimeError } from "../exceptions.ts";
import { inspectAsString } from "../internal/inspect.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import {
  isBufferedProtocol,
  type BaseProtocol,
  type BufferedProtocol,
  type Protocol,
} from "../protocols.ts";
import { checkWrite, WriteFlowControl, type Transport } from "../transports.ts";

/** A zero-length write: its callback runs once everything written before it is sent. */
const EMPTY = Buffer.alloc(0);

/** After this many writes to a lost connection, asyncio warns once. */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

/** What the transport tells its owner (a Server counts its connections). */
export interface TransportOwner {
  _attach(transport: SocketTransport): void;
  _detach(transport: SocketTransport): void;
}

/**
 * @internal A Transport over a connected Node socket. Create it once the socket is
 * connected; it schedules `connectionMade` and starts reading after it.
 */
export class SocketTransport implements Transport {
  readonly #loop: BaseEventLoop;
  readonly #socket: Socket;
  readonly #context: Context;
  readonly #flow: WriteFlowControl;
  readonly #owner: TransportOwner | null;
  readonly #extra: Record<string, unknown>;
  #protocol: BaseProtocol;
  #closing = false;
  #eofWritten = false;
  /** close() was called with data buffered: end the connection once it is flushed. */
  #closeWhenFlushed = false;
  #reading = true;
  /** Whether connectionLost was scheduled (it is, exactly once). */
  #lost = false;
  /** Writes attempted after the connection was lost. */
  #lostWrites = 0;
  /** The error that ended the connection, if any, for connectionLost. */
  #error: Error | null = null;
  readonly #canWriteEof: boolean;

  constructor(
    loop: BaseEventLoop,
    socket: Socket,
    protocol: BaseProtocol,
    options: {
      extra?: Record<string, unknown>;
      owner?: TransportOwner | null;
      canWriteEof?: boolean;
      /** Set once `connectionMade` has run: what `createConnection` waits for. */
      onMade?: () => void;
      /** False after `startTls`: the protocol already had its `connectionMade`. */
      callConnectionMade?: boolean;
    } = {},
  ) {
    this.#loop = loop;
    this.#socket = socket;
    this.#protocol = protocol;
    this.#context = copyContext();
    this.#flow = new WriteFlowControl(loop, this);
    this.#owner = options.owner ?? null;
    this.#canWriteEof = options.canWriteEof ?? true;
    this.#extra = { socket, ...options.extra };
    socket.setNoDelay(true);
    // Nothing is read until connectionMade has run.
    socket.pause();
    this.#owner?._attach(this);
    loop._hostOpStarted();
    // Three callbacks, as asyncio schedules them: a connectionMade that throws is
    // reported, and reading still starts and createConnection still returns.
    const onMade = options.onMade;
    if (options.callConnectionMade ?? true) {
      loop._callSoon(() => this.#protocol.connectionMade?.(this), undefined, this.#context);
    }
    loop._callSoon(
      () => {
        if (!this.#closing) this.#startReading();
      },
      undefined,
      this.#context,
    );
    if (onMade !== undefined) loop._callSoon(onMade, undefined, this.#context);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
  }

  toString(): string {
    const state = this.#lost ? "closed" : this.#closing ? "closing" : "open";
    const info = [
      `fd=${String((this.#socket as { _handle?: { fd?: number } })._handle?.fd ?? -1)}`,
    ];
    if (!this.#lost) {
      info.push(this.#reading ? "read=polling" : "read=idle");
      info.push(
        `write=<${this.#flow.paused ? "paused" : "idle"}, bufsize=${this.getWriteBufferSize()}>`,
      );
    }
    return `<SocketTransport ${state} ${info.join(" ")}>`;
  }

  // ---- BaseTransport --------------------------------------------------------------------

  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    if (name in this.#extra) return this.#extra[name];
    switch (name) {
      case "peername": {
        const socket = this.#socket;
        if (socket.remoteAddress === undefined) return socket.remotePort ?? defaultValue;
        return [socket.remoteAddress, socket.remotePort];
      }
      case "sockname": {
        const socket = this.#socket;
        if (socket.localAddress === undefined) {
          const address = socket.address();
          return typeof address === "string" ? address : defaultValue;
        }
        return [socket.localAddress, socket.localPort];
      }
      case "peercert":
        return isTls(this.#socket) ? this.#socket.getPeerCertificate() : defaultValue;
      case "cipher":
        return isTls(this.#socket) ? this.#socket.getCipher() : defaultValue;
      case "sslObject":
      case "ssl_object":
        return isTls(this.#socket) ? this.#socket : defaultValue;
      default:
        return defaultValue;
    }
  }

  isClosing(): boolean {
    return this.#closing;
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#stopReading();
    if (this.#lost) return;
    if (this.#socket.destroyed || this.getWriteBufferSize() === 0) {
      this.#socket.destroy();
      this.#connectionLost(null);
    } else {
      // Flush what is buffered (writes made meanwhile too, as asyncio accepts them), then
      // end the connection and call connectionLost: #onWritten sees the buffer empty.
      this.#closeWhenFlushed = true;
      this.#watchFlush();
    }
  }

  setProtocol(protocol: BaseProtocol): void {
    this.#protocol = protocol;
  }

  getProtocol(): BaseProtocol {
    return this.#protocol;
  }

  // ---- ReadTransport ----------------------------------------------------------------------

  isReading(): boolean {
    return this.#reading && !this.#closing;
  }

  pauseReading(): void {
    if (this.#closing || !this.#reading) return;
    this.#reading = false;
    this.#socket.pause();
  }

  resumeReading(): void {
    if (this.#closing || this.#reading) return;
    this.#reading = true;
    this.#socket.resume();
  }

  // ---- WriteTransport --------------------------------------------------------------------

  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    const wasPaused = this.#flow.paused;
    this.#flow.setLimits(high, low, this.getWriteBufferSize());
    if (this.#flow.paused && !wasPaused) this.#watchFlush();
  }

  getWriteBufferSize(): number {
    return this.#socket.writableLength;
  }

  getWriteBufferLimits(): [low: number, high: number] {
    return this.#flow.limits();
  }

  write(data: Uint8Array): void {
    checkWrite(data, this.#eofWritten);
    if (data.length === 0) return;
    if (this.#lost || this.#socket.destroyed) {
      // A failed write (a reset peer) destroys the socket at once: report closing now, so
      // that a write + drain loop stops instead of spinning until the close event is handled.
      this.#closing = true;
      if (++this.#lostWrites >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) {
        console.warn("socket.send() raised exception.");
      }
      return;
    }
    const socket = this.#socket;
    // A write callback costs Node a tick per write: ask for one only when a flush matters,
    // that is while paused (or about to be) and while closing. Writes complete in order, so
    // from the write that pauses on, every completion is seen.
    if (
      this.#flow.paused ||
      this.#closeWhenFlushed ||
      socket.writableLength + data.length > this.#flow.high
    ) {
      socket.write(data, this.#onWritten);
    } else {
      socket.write(data);
    }
    this.#flow.maybePause(socket.writableLength);
  }

  writelines(chunks: Iterable<Uint8Array>): void {
    for (const chunk of chunks) this.write(chunk);
  }

  writeEof(): void {
    if (this.#closing || this.#eofWritten) return;
    this.#eofWritten = true;
    if (!this.#socket.destroyed) this.#socket.end();
  }

  canWriteEof(): boolean {
    return this.#canWriteEof;
  }

  abort(): void {
    this.#closing = true;
    this.#stopReading();
    if (this.#lost) return;
    this.#socket.destroy();
    this.#connectionLost(null);
  }

  /**
   * @internal Let go of the socket for `startTls`: no more callbacks from this transport,
   * and no `connectionLost` (the connection goes on, wrapped).
   */
  _detachSocket(): { socket: Socket; owner: TransportOwner | null } {
    if (this.#lost) throw new RuntimeError("the transport is closed");
    this.#stopReading();
    const socket = this.#socket;
    socket.off("end", this.#onEnd);
    socket.off("error", this.#onError);
    socket.off("close", this.#onClose);
    this.#lost = true;
    this.#closing = true;
    this.#loop._hostOpFinished();
    this.#owner?._detach(this);
    return { socket, owner: this.#owner };
  }

  /** @internal A transport for a socket that `startTls` upgraded. */
  static _wrap(
    loop: BaseEventLoop,
    socket: Socket,
    protocol: BaseProtocol,
    owner: TransportOwner | null,
    extra: Record<string, unknown>,
  ): SocketTransport {
    return new SocketTransport(loop, socket, protocol, {
      owner,
      extra,
      canWriteEof: false,
      callConnectionMade: false,
    });
  }

  // ---- internals ---------------------------------------------------------------------------

  #startReading(): void {
    const socket = this.#socket;
    if (isBufferedProtocol(this.#protocol)) socket.on("data", this.#onDataBuffered);
    else socket.on("data", this.#onData);
    socket.on("end", this.#onEnd);
    if (this.#reading) socket.resume();
  }

  #stopReading(): void {
    this.#socket.pause();
    this.#socket.off("data", this.#onData);
    this.#socket.off("data", this.#onDataBuffered);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#loop._callSoonFromHost(this.#deliver, [chunk], this.#context);
  };

  readonly #deliver = (chunk: Buffer): void => {
    if (this.#lost) return;
    try {
      (this.#protocol as Protocol).dataReceived(chunk);
    } catch (error) {
      this.#fatal(error, "Fatal error: protocol.data_received() call failed.");
    }
  };

  readonly #onDataBuffered = (chunk: Buffer): void => {
    this.#loop._callSoonFromHost(this.#deliverBuffered, [chunk], this.#context);
  };

  /** Copy a chunk into the protocol's buffers, as many times as it takes. */
  readonly #deliverBuffered = (chunk: Buffer): void => {
    if (this.#lost) return;
    const protocol = this.#protocol as BufferedProtocol;
    let offset = 0;
    while (offset < chunk.length) {
      let buffer: Uint8Array;
      try {
        buffer = protocol.getBuffer(chunk.length - offset);
        if (buffer.length === 0) throw new RuntimeError("get_buffer() returned an empty buffer");
      } catch (error) {
        this.#fatal(error, "Fatal error: protocol.get_buffer() call failed.");
        return;
      }
      const n = Math.min(buffer.length, chunk.length - offset);
      buffer.set(chunk.subarray(offset, offset + n));
      offset += n;
      try {
        protocol.bufferUpdated(n);
      } catch (error) {
        this.#fatal(error, "Fatal error: protocol.buffer_updated() call failed.");
        return;
      }
    }
  };

  readonly #onEnd = (): void => {
    this.#loop._callSoonFromHost(this.#eofReceived, undefined, this.#context);
  };

  readonly #eofReceived = (): void => {
    if (this.#lost) return;
    let keepOpen: unknown;
    try {
      keepOpen = (this.#protocol as Protocol).eofReceived?.();
    } catch (error) {
      this.#fatal(error, "Fatal error: protocol.eof_received() call failed.");
      return;
    }
    // A truthy return keeps the write side open; the protocol closes the transport later.
    if (!keepOpen) this.close();
  };

  readonly #onWritten = (): void => {
    if (this.#lost) return;
    const size = this.#socket.writableLength;
    // resumeWriting runs on the loop, like every protocol callback.
    if (this.#flow.canResume(size)) {
      this.#loop._callSoonFromHost(this.#resumeWriting, undefined, this.#context);
    }
    if (this.#closeWhenFlushed && size === 0) {
      this.#closeWhenFlushed = false;
      this.#socket.end(() => {
        this.#socket.destroy();
      });
    }
  };

  /** Be told (#onWritten) once what is buffered now has been sent: an empty write. */
  #watchFlush(): void {
    this.#socket.write(EMPTY, this.#onWritten);
  }

  readonly #resumeWriting = (): void => {
    if (!this.#lost) this.#flow.maybeResume(this.#socket.writableLength);
  };

  readonly #onError = (error: Error): void => {
    // The 'close' event follows with hadError: remember why, and stop taking writes.
    this.#error ??= error;
    this.#closing = true;
  };

  readonly #onClose = (): void => {
    this.#loop._callSoonFromHost(
      () => {
        this.#connectionLost(this.#closing && this.#error === null ? null : this.#error);
      },
      undefined,
      this.#context,
    );
  };

  /** A protocol callback failed: report it, and close the connection with that error. */
  #fatal(error: unknown, message: string): void {
    this.#loop.callExceptionHandler({
      message,
      exception: error,
      transport: this,
      protocol: this.#protocol,
    });
    this.#closing = true;
    this.#stopReading();
    this.#socket.destroy();
    this.#connectionLost(error instanceof Error ? error : new Error(String(error)));
  }

  /** Schedule `connectionLost(error)` once, then let go of the socket. */
  #connectionLost(error: Error | null): void {
    if (this.#lost) return;
    this.#lost = true;
    this.#closing = true;
    this.#loop._callSoon(
      () => {
        try {
          this.#protocol.connectionLost?.(error);
        } finally {
          this.#loop._hostOpFinished();
          this.#owner?._detach(this);
        }
      },
      undefined,
      this.#context,
    );
  }
}

inspectAsString(SocketTransport);

function isTls(socket: Socket): socket is TLSSocket {
  return typeof (socket as Partial<TLSSocket>).getPeerCertificate === "function";
}
