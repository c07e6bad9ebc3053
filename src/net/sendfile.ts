/**
 * sendfile: send a file over a stream transport, as asyncio's `loop.sendfile`.
 *
 * Node.js has no zero-copy sendfile(2) for sockets, so asyncio's native path does not
 * exist here: the file is always read in chunks and written with the transport's flow
 * control (asyncio's `_sendfile_fallback`), and `fallback: false` throws
 * SendfileNotAvailableError.
 */
import { open, type FileHandle } from "node:fs/promises";
import type { PathLike } from "node:fs";
import type { Coro } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import { RuntimeError, SendfileNotAvailableError } from "../exceptions.ts";
import type { Future } from "../futures.ts";
import { wrapPromise } from "../interop.ts";
import { describe, validateOptions } from "../internal/validate.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { BaseProtocol, BufferedProtocol, Protocol } from "../protocols.ts";
import type { BaseTransport, Transport } from "../transports.ts";
import { SocketTransport } from "./socket-transport.ts";

/**
 * Bytes read from the file per write. asyncio's transport fallback reads 16 KiB at a time
 * (its socket fallback 256 KiB); each read is a thread-pool round trip in Node, so bigger
 * chunks go faster, and flow control still bounds the write buffer.
 */
const CHUNK_SIZE = 256 * 1024;

/** Options of `sendfile`. */
export interface SendfileOptions {
  /**
   * Read and write the file when the native sendfile is not available (default true).
   * It never is on Node.js: `false` makes `sendfile` throw SendfileNotAvailableError.
   */
  fallback?: boolean | undefined;
}

/**
 * Send `file` (an open FileHandle, or a path that is opened and closed here) over
 * `transport`, from `offset` for `count` bytes (to the end by default), and return the
 * number of bytes sent. Data written before goes out before the file, data written after
 * goes out after it; the transport does not read while the file is being sent, and its
 * protocol gets no `pauseWriting`/`resumeWriting` of its own meanwhile (as asyncio).
 *
 * Returns once the last chunk is handed to the transport (not yet sent). Cancelling it
 * stops between chunks, leaving the connection open with part of the file sent.
 *
 * asyncio parity: reads start at `offset`, never at the handle's current position, and
 * the handle's position is not moved (a FileHandle has none to move).
 *
 * @throws RuntimeError when the transport is closing or is not a stream socket transport;
 *   SendfileNotAvailableError with `fallback: false`; TypeError/RangeError for a bad
 *   `offset` or `count`; an ECONNRESET error (asyncio's ConnectionError) when the
 *   connection closes before the file is sent; the file's errors (ENOENT, ...).
 */
export function* sendfile(
  transport: BaseTransport,
  file: FileHandle | PathLike,
  offset = 0,
  count: number | null = null,
  options: SendfileOptions = {},
): Coro<number> {
  validateOptions(options, "options");
  if (transport.isClosing()) throw new RuntimeError("Transport is closing");
  if (!(transport instanceof SocketTransport)) {
    throw new RuntimeError(`sendfile is not supported for transport ${describe(transport)}`);
  }
  if (count != null) {
    if (typeof count !== "number" || !Number.isInteger(count)) {
      throw new TypeError(`count must be a positive integer (got ${describe(count)})`);
    }
    if (count <= 0) throw new RangeError(`count must be a positive integer (got ${count})`);
  }
  if (typeof offset !== "number" || !Number.isInteger(offset)) {
    throw new TypeError(`offset must be a non-negative integer (got ${describe(offset)})`);
  }
  if (offset < 0) throw new RangeError(`offset must be a non-negative integer (got ${offset})`);
  const handle = isFileHandle(file) ? file : null;
  if (handle === null && !isPath(file)) {
    throw new TypeError(`file must be a FileHandle or a path, got ${describe(file)}`);
  }
  if (options.fallback === false) {
    throw new SendfileNotAvailableError(
      "sendfile syscall is not supported: Node.js has no zero-copy sendfile for sockets; use fallback: true",
    );
  }
  const loop = getRunningLoop();
  const opened = handle ?? (yield* wrapPromise(open(file as PathLike, "r")));
  try {
    return yield* sendChunks(loop, transport, opened, offset, count);
  } finally {
    if (handle === null) {
      // Node waits for a read still in flight (after a cancellation) before closing.
      opened.close().catch(() => undefined);
    }
  }
}

/** asyncio's `_sendfile_fallback`: read a chunk, wait for the buffer to drain, write. */
function* sendChunks(
  loop: BaseEventLoop,
  transport: Transport,
  handle: FileHandle,
  offset: number,
  count: number | null,
): Coro<number> {
  let total = 0;
  const proto = new SendfileFallbackProtocol(loop, transport);
  try {
    for (;;) {
      const size = count === null ? CHUNK_SIZE : Math.min(count - total, CHUNK_SIZE);
      if (size <= 0) return total;
      // A new buffer each time: the transport keeps the chunks it has not sent yet.
      const buffer = Buffer.allocUnsafe(size);
      const { bytesRead } = yield* wrapPromise(handle.read(buffer, 0, size, offset + total));
      if (bytesRead === 0) return total;
      yield* proto.drain();
      transport.write(buffer.subarray(0, bytesRead));
      total += bytesRead;
    }
  } finally {
    proto.restore();
  }
}

/**
 * asyncio's `_SendfileFallbackProtocol`: stands in for the transport's protocol while the
 * file is sent, to wait for `resumeWriting` and to keep the real protocol's
 * `pauseWriting`/`resumeWriting` calls paired.
 */
class SendfileFallbackProtocol implements Protocol {
  readonly #loop: BaseEventLoop;
  readonly #transport: Transport;
  readonly #proto: BaseProtocol;
  readonly #shouldResumeReading: boolean;
  #waiter: Future<undefined> | null = null;
  /** A pauseWriting came while sending, and no resumeWriting since. */
  #paused = false;
  /** A resumeWriting came without a pauseWriting: the real protocol was paused before. */
  #resumeOwed = false;

  constructor(loop: BaseEventLoop, transport: Transport) {
    this.#loop = loop;
    this.#transport = transport;
    this.#proto = transport.getProtocol();
    this.#shouldResumeReading = transport.isReading();
    transport.pauseReading();
    transport.setProtocol(this);
  }

  /** Wait until the transport's write buffer is below its high-water mark. */
  *drain(): Coro<void> {
    if (this.#transport.isClosing()) throw connectionError("Connection closed by peer");
    const [, high] = this.#transport.getWriteBufferLimits();
    // Invariant: a buffer above the high mark means the transport's flow control is
    // paused, so a resumeWriting will come (it may have paused before sendfile began).
    if (!this.#paused && this.#transport.getWriteBufferSize() <= high) return;
    this.#waiter = this.#loop.createFuture<undefined>();
    try {
      yield* this.#waiter;
    } finally {
      this.#waiter = null;
    }
  }

  connectionMade(): void {
    throw new RuntimeError("Invalid state: connection should have been established already.");
  }

  connectionLost(error: Error | null): void {
    const waiter = this.#waiter;
    if (waiter !== null && !waiter.done()) {
      // The peer went away while the file was being sent: an error for the sender even
      // when the close was clean.
      waiter.setException(error ?? connectionError("Connection is closed by peer"));
    }
    this.#proto.connectionLost?.(error);
  }

  pauseWriting(): void {
    this.#paused = true;
  }

  resumeWriting(): void {
    if (this.#paused) this.#paused = false;
    else this.#resumeOwed = true;
    const waiter = this.#waiter;
    if (waiter !== null && !waiter.done()) waiter.setResult(undefined);
  }

  // Reading is paused, but Node may have delivered a chunk just before: it belongs to
  // the real protocol (asyncio, reading synchronously, raises "reading should be paused").
  dataReceived(data: Uint8Array): void {
    (this.#proto as Protocol).dataReceived(data);
  }

  getBuffer(sizeHint: number): Uint8Array {
    return (this.#proto as BufferedProtocol).getBuffer(sizeHint);
  }

  bufferUpdated(nbytes: number): void {
    (this.#proto as BufferedProtocol).bufferUpdated(nbytes);
  }

  eofReceived(): unknown {
    return (this.#proto as Protocol).eofReceived?.();
  }

  /** Give the transport back to the real protocol, with its pause state made right. */
  restore(): void {
    this.#transport.setProtocol(this.#proto);
    if (this.#shouldResumeReading) this.#transport.resumeReading();
    this.#waiter?.cancel();
    if (this.#resumeOwed) this.#proto.resumeWriting?.();
    // The transport is paused now; the real protocol gets the matching resumeWriting.
    if (this.#paused) this.#proto.pauseWriting?.();
  }
}

/** asyncio's ConnectionError, as Node reports a reset connection. */
function connectionError(message: string): Error {
  return Object.assign(new Error(message), { code: "ECONNRESET" });
}

function isFileHandle(value: unknown): value is FileHandle {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Partial<FileHandle>).read === "function" &&
    typeof (value as Partial<FileHandle>).fd === "number"
  );
}

function isPath(value: unknown): value is PathLike {
  return typeof value === "string" || value instanceof URL || Buffer.isBuffer(value);
}
