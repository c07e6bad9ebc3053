/**
 * Protocols: the callback interfaces a transport drives, as asyncio's `protocols`. A
 * protocol is a plain object (or class instance) with these methods; every method is
 * optional except where a transport needs it (`dataReceived` for a Protocol).
 *
 * Call order, guaranteed by every transport: `connectionMade` → `dataReceived`* →
 * `eofReceived`? → `connectionLost`, each on its own loop iteration or later, never from
 * inside the call that caused it. `pauseWriting`/`resumeWriting` come in pairs.
 */
import type {
  BaseTransport,
  DatagramTransport,
  SubprocessTransport,
  Transport,
} from "./transports.ts";

/** The callbacks every protocol may have. */
export interface BaseProtocol {
  /** The connection is made; `transport` is how to talk back. */
  connectionMade?(transport: BaseTransport): void;
  /** The connection is gone: `error` is null for a normal close or EOF, else the reason. */
  connectionLost?(error: Error | null): void;
  /** The transport's write buffer went over its high-water mark: stop writing. */
  pauseWriting?(): void;
  /** The write buffer drained to its low-water mark: writing may go on. */
  resumeWriting?(): void;
}

/** A stream protocol (TCP, TLS, Unix sockets, pipes). */
export interface Protocol extends BaseProtocol {
  connectionMade?(transport: Transport): void;
  /** Bytes arrived. The chunk belongs to the protocol; no size is promised. */
  dataReceived(data: Uint8Array): void;
  /**
   * The peer sent EOF (half-close). Return a truthy value to keep the connection open for
   * writing (then close it yourself); a falsy one (or nothing) closes the transport.
   */
  eofReceived?(): unknown;
}

/**
 * A stream protocol that reads into its own buffers, as asyncio's `BufferedProtocol`:
 * `getBuffer` lends a buffer, `bufferUpdated` says how much of it was filled.
 */
export interface BufferedProtocol extends BaseProtocol {
  connectionMade?(transport: Transport): void;
  /** A buffer to receive into; `sizeHint` is a suggestion. Must not be empty. */
  getBuffer(sizeHint: number): Uint8Array;
  /** `nbytes` bytes were written at the start of the last buffer `getBuffer` returned. */
  bufferUpdated(nbytes: number): void;
  eofReceived?(): unknown;
}

/** The address of a datagram's sender: `[host, port]`. */
export type DatagramAddress = readonly [host: string, port: number];

/** A datagram (UDP) protocol. */
export interface DatagramProtocol extends BaseProtocol {
  connectionMade?(transport: DatagramTransport): void;
  /** A datagram arrived from `address`. */
  datagramReceived(data: Uint8Array, address: DatagramAddress): void;
  /** A send or receive failed (e.g. ICMP port unreachable); the endpoint stays open. */
  errorReceived?(error: Error): void;
}

/**
 * A child process's protocol, as asyncio's `SubprocessProtocol`. For each pipe (fd 0, 1,
 * 2), `pipeDataReceived`* then `pipeConnectionLost` once; `processExited` comes when the
 * child exits, in any order with the pipes' events; `connectionLost(null)` last, once the
 * child has exited and every pipe is closed.
 */
export interface SubprocessProtocol extends BaseProtocol {
  connectionMade?(transport: SubprocessTransport): void;
  /** The child wrote `data` to its stdout (fd 1) or stderr (fd 2). */
  pipeDataReceived?(fd: number, data: Uint8Array): void;
  /** The pipe `fd` closed: `error` is null at EOF, else why. */
  pipeConnectionLost?(fd: number, error: Error | null): void;
  /** The child exited; its return code is `transport.getReturncode()`. */
  processExited?(): void;
}

/** Whether `protocol` is buffered (has `getBuffer`), as the transports decide. */
export function isBufferedProtocol(protocol: object): protocol is BufferedProtocol {
  return typeof (protocol as { getBuffer?: unknown }).getBuffer === "function";
}
