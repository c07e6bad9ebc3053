/**
 * Transports: what a protocol talks back through, as asyncio's `transports`. The loop
 * creates them (`createConnection`, `createServer`, `createDatagramEndpoint`, ...); code
 * uses them through these interfaces.
 */
import { RuntimeError } from "./exceptions.ts";
import { describe } from "./internal/validate.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import type { BaseProtocol, DatagramAddress } from "./protocols.ts";

/** What every transport does. */
export interface BaseTransport {
  /**
   * Information about the transport: `peername` and `sockname` (`[host, port]`), `socket`
   * (the Node socket), and for TLS `peercert`, `cipher`, `sslObject`. `defaultValue` (or
   * `undefined`) for a name the transport does not know.
   */
  getExtraInfo(name: string, defaultValue?: unknown): unknown;
  /** Whether the transport is closing or closed. */
  isClosing(): boolean;
  /**
   * Close the transport: buffered data is still sent, then the protocol's
   * `connectionLost(null)` is called. Idempotent.
   */
  close(): void;
  /** Switch the protocol that receives the transport's callbacks. */
  setProtocol(protocol: BaseProtocol): void;
  /** The protocol that receives the transport's callbacks. */
  getProtocol(): BaseProtocol;
}

/** The reading side of a stream transport. */
export interface ReadTransport extends BaseTransport {
  /** Whether the transport is receiving (not paused, not closing). */
  isReading(): boolean;
  /** Stop calling `dataReceived` until `resumeReading()`. Idempotent. */
  pauseReading(): void;
  /** Call `dataReceived` again. Idempotent. */
  resumeReading(): void;
}

/** The writing side of a stream transport. */
export interface WriteTransport extends BaseTransport {
  /**
   * Set the write buffer's high- and low-water marks (bytes). Above `high` the protocol's
   * `pauseWriting()` is called; at or below `low`, `resumeWriting()`. Defaults: 64 KiB and
   * 16 KiB; given only `high`, low is high / 4; given only `low`, high is 4 × low.
   */
  setWriteBufferLimits(high?: number | null, low?: number | null): void;
  /** Bytes written but not yet handed to the operating system. */
  getWriteBufferSize(): number;
  /** `[low, high]`, the current water marks. */
  getWriteBufferLimits(): [low: number, high: number];
  /** Queue `data` to be sent; never blocks. Empty data is ignored. */
  write(data: Uint8Array): void;
  /** Write each chunk of `chunks`, in order. */
  writelines(chunks: Iterable<Uint8Array>): void;
  /** Send EOF (half-close) once buffered data is sent; reading goes on. */
  writeEof(): void;
  /** Whether `writeEof()` is possible (false for TLS). */
  canWriteEof(): boolean;
  /** Close at once, dropping buffered data; `connectionLost(null)` follows. */
  abort(): void;
}

/** A bidirectional stream transport (TCP, TLS, Unix sockets). */
export interface Transport extends ReadTransport, WriteTransport {}

/**
 * A child process and its pipes, as asyncio's `SubprocessTransport`. `close()` closes the
 * pipes and kills the child if it is still running.
 */
export interface SubprocessTransport extends BaseTransport {
  /** The pid, the state and the pipes, as asyncio's repr. */
  toString(): string;
  /** The child's process id. */
  getPid(): number;
  /**
   * The child's return code: null while it runs, its exit status once it exited, or
   * minus the signal's number when a signal killed it (`-9` for SIGKILL).
   */
  getReturncode(): number | null;
  /** The transport of pipe `fd` (0 stdin, 1 stdout, 2 stderr), or null if it is not a pipe. */
  getPipeTransport(fd: number): ReadTransport | WriteTransport | null;
  /**
   * Send `signal` (a number or a name such as `"SIGTERM"`) to the child. Ignored if the child
   * exited but is not yet reported; ProcessLookupError once the transport is finished.
   */
  sendSignal(signal: number | NodeJS.Signals): void;
  /** `sendSignal("SIGTERM")`. */
  terminate(): void;
  /** `sendSignal("SIGKILL")`. */
  kill(): void;
}

/** A datagram (UDP) transport. */
export interface DatagramTransport extends BaseTransport {
  /**
   * Send `data` to `address` (or to the remote address the endpoint was connected to,
   * when `address` is omitted).
   */
  sendto(data: Uint8Array, address?: DatagramAddress): void;
  /** Close at once; `connectionLost(null)` follows. */
  abort(): void;
  /** Bytes queued and not yet sent. */
  getWriteBufferSize(): number;
}

const DEFAULT_HIGH = 64 * 1024;

/**
 * @internal The write flow control of asyncio's `_FlowControlMixin`: calls the protocol's
 * `pauseWriting()` when the buffer goes strictly above `high`, and `resumeWriting()` once
 * it is back at or below `low`, each at most once per crossing.
 */
export class WriteFlowControl {
  #high = DEFAULT_HIGH;
  #low = DEFAULT_HIGH / 4;
  #paused = false;

  readonly loop: BaseEventLoop;
  readonly transport: BaseTransport;

  constructor(loop: BaseEventLoop, transport: BaseTransport) {
    this.loop = loop;
    this.transport = transport;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** The high-water mark: above it the protocol is paused. */
  get high(): number {
    return this.#high;
  }

  limits(): [low: number, high: number] {
    return [this.#low, this.#high];
  }

  /** asyncio's `set_write_buffer_limits`, then re-check against `size`. */
  setLimits(high: number | null | undefined, low: number | null | undefined, size: number): void {
    let h = high ?? null;
    let l = low ?? null;
    if (h === null) h = l === null ? DEFAULT_HIGH : 4 * l;
    if (l === null) l = Math.floor(h / 4);
    if (typeof h !== "number" || typeof l !== "number" || Number.isNaN(h) || Number.isNaN(l)) {
      throw new TypeError(
        `write buffer limits must be numbers, got ${describe(high)}, ${describe(low)}`,
      );
    }
    if (!(h >= l && l >= 0)) {
      throw new RangeError(`high (${h}) must be >= low (${l}) must be >= 0`);
    }
    this.#high = h;
    this.#low = l;
    this.maybePause(size);
  }

  /** The buffer is now `size` bytes after a write: pause the protocol if over the mark. */
  maybePause(size: number): void {
    if (size <= this.#high || this.#paused) return;
    this.#paused = true;
    this.#call("pauseWriting");
  }

  /** Whether a buffer of `size` bytes would resume a paused protocol. */
  canResume(size: number): boolean {
    return this.#paused && size <= this.#low;
  }

  /** The buffer is now `size` bytes after a flush: resume the protocol if at the mark. */
  maybeResume(size: number): void {
    if (!this.#paused || size > this.#low) return;
    this.#paused = false;
    this.#call("resumeWriting");
  }

  #call(method: "pauseWriting" | "resumeWriting"): void {
    const protocol = this.transport.getProtocol();
    try {
      protocol[method]?.();
    } catch (error) {
      this.loop.callExceptionHandler({
        message: `protocol.${method === "pauseWriting" ? "pause_writing" : "resume_writing"}() failed`,
        exception: error,
        transport: this.transport,
        protocol,
      });
    }
  }
}

/** @internal The checks of asyncio's `write()`: bytes only, not after `writeEof()`. */
export function checkWrite(data: unknown, eofWritten: boolean): asserts data is Uint8Array {
  if (!(data instanceof Uint8Array)) {
    throw new TypeError(
      `data argument must be a bytes-like object (a Uint8Array), not ${describe(data)}`,
    );
  }
  if (eofWritten) throw new RuntimeError("Cannot call write() after write_eof()");
}
