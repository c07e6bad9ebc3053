/**
 * UDP endpoints: `createDatagramEndpoint` and its DatagramTransport over Node's `dgram`,
 * as asyncio's `create_datagram_endpoint` and `_SelectorDatagramTransport`.
 *
 * Protocol callbacks run on the loop, in the Context captured when the transport was made,
 * in asyncio's order: `connectionMade`, then `datagramReceived` and `errorReceived` as
 * datagrams and errors arrive, then `connectionLost(null)` once.
 */
import { createSocket, Socket, type SocketOptions } from "node:dgram";
import { isIP } from "node:net";
import { copyContext, type Context } from "../contextvars.ts";
import type { Coro } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import { wrapPromise } from "../interop.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { describe, validateFunction, validateOptions } from "../internal/validate.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { BaseProtocol, DatagramAddress, DatagramProtocol } from "../protocols.ts";
import { checkWrite, WriteFlowControl, type DatagramTransport } from "../transports.ts";
import { checkFamily, getaddrinfo, SOCK_DGRAM } from "./dns.ts";

/** After this many sends to a closed endpoint, asyncio warns (and on every later one). */
const LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5;

/** Options of `createDatagramEndpoint` (asyncio's arguments). */
export interface DatagramEndpointOptions {
  /** Bind the endpoint to `[host, port]` (port 0 picks a free port). */
  localAddr?: DatagramAddress | null | undefined;
  /**
   * Connect the endpoint to `[host, port]`: `sendto(data)` sends there, and only its
   * datagrams are received.
   */
  remoteAddr?: DatagramAddress | null | undefined;
  /** 4 or 6 to force an address family; needed (and enough) when there is no address. */
  family?: 0 | 4 | 6 | undefined;
  /** `IPPROTO_UDP` or 0; accepted for asyncio parity. */
  proto?: number | undefined;
  /** `AI_*` flags for resolving the addresses. */
  flags?: number | undefined;
  /** Let several sockets bind the same address (SO_REUSEPORT); Node.js 22.12 or newer. */
  reusePort?: boolean | null | undefined;
  /**
   * Allow sending to broadcast addresses (SO_BROADCAST). With `remoteAddr`, the socket is
   * not connected: `sendto(data)` still goes to `remoteAddr`.
   */
  allowBroadcast?: boolean | null | undefined;
  /** An existing `dgram` socket to use instead of making one. */
  sock?: Socket | null | undefined;
}

/**
 * Make a UDP endpoint and attach a protocol from `protocolFactory`; returns
 * `[transport, protocol]` once `connectionMade` has run.
 *
 * Give `localAddr` to receive on a known address, `remoteAddr` to talk to one peer, both,
 * or only `family` for a socket that sends to anyone (it is bound on the first send).
 * Addresses are resolved as `getaddrinfo` does; each address family that fits both
 * addresses is tried in turn, and the first one's error is thrown if all fail.
 * Cancelling it closes the socket.
 *
 * @throws the socket's error (`EADDRINUSE`, a resolver error, ...); TypeError for an
 *   address that is not a `[host, port]` pair or a `sock` that is not a `dgram.Socket`;
 *   RangeError for asyncio's ValueErrors (no address and no family, `sock` together with
 *   socket options, no family common to both addresses).
 */
export function* createDatagramEndpoint<P extends DatagramProtocol>(
  protocolFactory: () => P,
  options: DatagramEndpointOptions = {},
): Coro<[DatagramTransport, P]> {
  validateFunction(protocolFactory, "protocolFactory");
  validateOptions(options, "options");
  const loop = getRunningLoop();
  let socket: Socket;
  let remote: DatagramAddress | null = null;
  // What arrives between binding and the transport's making, for the transport to deliver.
  const early: Early[] = [];
  const keepData = (data: Buffer, info: { address: string; port: number }): void => {
    early.push(["data", data, [info.address, info.port]]);
  };
  const keepError = (error: Error): void => {
    early.push(["error", error]);
  };
  if (options.sock != null) {
    const sock: unknown = options.sock;
    if (!(sock instanceof Socket)) {
      throw new TypeError(`A datagram socket was expected, got ${describe(sock)}`);
    }
    const problems = (
      [
        ["localAddr", options.localAddr],
        ["remoteAddr", options.remoteAddr],
        ["family", options.family],
        ["proto", options.proto],
        ["flags", options.flags],
        ["reusePort", options.reusePort],
        ["allowBroadcast", options.allowBroadcast],
      ] as const
    )
      .filter(([, value]) => Boolean(value))
      .map(([name, value]) => `${name}=${describe(value)}`);
    if (problems.length > 0) {
      throw new RangeError(
        `socket modifier keyword arguments can not be used when sock is specified. (${problems.join(", ")})`,
      );
    }
    socket = sock;
  } else {
    const localAddr = checkAddress(options.localAddr);
    const remoteAddr = checkAddress(options.remoteAddr);
    if (options.reusePort === true && !supportsReusePort()) {
      throw new RangeError("reusePort needs Node.js 22.12 or newer");
    }
    const family = checkFamily(options.family);
    let pairs: AddressPair[];
    if (localAddr === null && remoteAddr === null) {
      if (family === 0) throw new RangeError("unexpected address family");
      pairs = [[family, null, null]];
    } else {
      pairs = yield* addressPairs(localAddr, remoteAddr, options);
    }
    const errors: unknown[] = [];
    let made: Socket | null = null;
    for (const [pairFamily, local, peer] of pairs) {
      const candidate = createSocket({
        type: `udp${pairFamily}`,
        ...(options.reusePort === true ? { reusePort: true } : {}),
      } as SocketOptions);
      candidate.on("message", keepData);
      candidate.on("error", keepError);
      try {
        yield* prepareSocket(candidate, local, peer, options.allowBroadcast === true);
      } catch (error) {
        closeQuietly(candidate);
        early.length = 0;
        // Only socket errors move on to the next family (asyncio's `except OSError`).
        if (typeof (error as { code?: unknown } | null)?.code !== "string") throw error;
        errors.push(error);
        continue;
      }
      made = candidate;
      remote = peer;
      break;
    }
    if (made === null) throw errors[0];
    socket = made;
  }

  let protocol: P;
  try {
    protocol = protocolFactory();
  } catch (error) {
    if (options.sock == null) closeQuietly(socket);
    throw error;
  }
  const ready = loop.createFuture<undefined>();
  const transport = new UdpTransport(loop, socket, protocol, remote, early, () => {
    if (!ready.done()) ready.setResult(undefined);
  });
  socket.off("message", keepData);
  socket.off("error", keepError);
  try {
    yield* ready;
  } catch (error) {
    transport.close();
    throw error;
  }
  return [transport, protocol];
}

/** A datagram or an error that came before the transport existed. */
type Early = ["data", Buffer, DatagramAddress] | ["error", Error];

/**
 * @internal The DatagramTransport over a `dgram.Socket`. Create it once the socket is bound
 * (or connected); it schedules `connectionMade` and delivers datagrams after it.
 */
export class UdpTransport implements DatagramTransport {
  readonly #loop: BaseEventLoop;
  readonly #socket: Socket;
  readonly #context: Context;
  readonly #flow: WriteFlowControl;
  /** Where `sendto(data)` sends: asyncio's `_address` (resolved). */
  readonly #address: DatagramAddress | null;
  /** The connected peer, if any (Node refuses an address in send() then). */
  readonly #peername: DatagramAddress | null;
  /** The last bound address seen: asyncio keeps reporting it after close. */
  #sockname: DatagramAddress;
  #protocol: BaseProtocol;
  #closing = false;
  #reading = false;
  /** 0 while open; then asyncio's `_conn_lost`: 1 + the sends dropped since. */
  #connLost = 0;
  /** Sends handed to Node whose callback has not come yet: close() waits for them. */
  #pendingSends = 0;

  constructor(
    loop: BaseEventLoop,
    socket: Socket,
    protocol: BaseProtocol,
    address: DatagramAddress | null,
    early: readonly Early[],
    onMade: () => void,
  ) {
    this.#loop = loop;
    this.#socket = socket;
    this.#protocol = protocol;
    this.#address = address;
    this.#context = copyContext();
    this.#flow = new WriteFlowControl(loop, this);
    this.#peername = remoteAddress(socket);
    this.#sockname = localAddress(socket) ?? unboundAddress(socket);
    socket.on("message", this.#onMessage);
    socket.on("error", this.#onError);
    socket.on("close", this.#onClose);
    loop._hostOpStarted();
    // asyncio parity: separate callbacks, so that a failing connectionMade still starts
    // reading and still lets createDatagramEndpoint return.
    loop._callSoon(
      () => (this.#protocol as DatagramProtocol).connectionMade?.(this),
      undefined,
      this.#context,
    );
    loop._callSoon(this.#startReading, undefined, this.#context);
    loop._callSoon(onMade, undefined, this.#context);
    // Invariant: these run before anything Node delivers from now on, which is queued later.
    for (const event of early) {
      if (event[0] === "data") {
        loop._callSoon(this.#deliver, [event[1], event[2]], this.#context);
      } else {
        loop._callSoon(this.#errorReceived, [event[1]], this.#context);
      }
    }
  }

  toString(): string {
    const state = this.#connLost > 0 ? "closed" : this.#closing ? "closing" : "open";
    const info = [`<DatagramTransport ${state}`];
    if (this.#connLost === 0) {
      info.push(this.#reading && !this.#closing ? "read=polling" : "read=idle");
      info.push(
        `write=<${this.#flow.paused ? "paused" : "idle"}, bufsize=${this.getWriteBufferSize()}>`,
      );
    }
    return `${info.join(" ")}>`;
  }

  // ---- BaseTransport --------------------------------------------------------------------

  /**
   * `peername` (the connected peer, else null), `sockname` (the bound address; the
   * wildcard address and port 0 before the first send of an unbound socket), `socket`
   * (the `dgram.Socket`).
   */
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    switch (name) {
      case "peername":
        // asyncio parity: the key is always there, None when not connected.
        return this.#peername;
      case "sockname":
        if (this.#connLost === 0) this.#sockname = localAddress(this.#socket) ?? this.#sockname;
        return this.#sockname;
      case "socket":
        return this.#socket;
      default:
        return defaultValue;
    }
  }

  isClosing(): boolean {
    return this.#closing;
  }

  /**
   * Close the endpoint once the datagrams already handed to `sendto` are sent; then
   * `connectionLost(null)`. Nothing more is received. Idempotent.
   */
  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#reading = false;
    if (this.#pendingSends === 0) this.#shutDown();
  }

  setProtocol(protocol: BaseProtocol): void {
    this.#protocol = protocol;
  }

  getProtocol(): BaseProtocol {
    return this.#protocol;
  }

  // ---- DatagramTransport ------------------------------------------------------------------

  /**
   * Send `data` as one datagram to `address`, or to the endpoint's remote address. The
   * bytes are copied, so the caller may reuse its buffer; an empty `data` sends an empty
   * datagram. A failed send (an unknown host, a refused port) reaches the protocol's
   * `errorReceived`. After the endpoint was closed, the datagram is dropped, with
   * asyncio's warning from the fifth one on.
   *
   * asyncio parity: a missing or malformed address throws here, where asyncio closes the
   * endpoint with a fatal error; an unconnected endpoint drops sends after close too.
   *
   * @throws TypeError when `data` is not a Uint8Array or there is no address to send to;
   *   RangeError (asyncio's ValueError) when the endpoint has a remote address and
   *   `address` is another one, or for a port out of range.
   */
  sendto(data: Uint8Array, address?: DatagramAddress | null): void {
    checkWrite(data, false);
    let target = address ?? null;
    if (this.#address !== null) {
      if (target !== null && !sameAddress(target, this.#address)) {
        throw new RangeError(`Invalid address: must be None or ${describe(this.#address)}`);
      }
      target = this.#address;
    }
    if (this.#connLost > 0) {
      if (this.#connLost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES) {
        console.warn("socket.send() raised exception.");
      }
      this.#connLost++;
      return;
    }
    if (target === null && this.#peername === null) {
      throw new TypeError("sendto() needs an address: the endpoint has no remote address");
    }
    if (target !== null) checkTarget(target);
    // asyncio parity: what may be queued is a copy ("Ensure that what we buffer is immutable").
    const copy = Buffer.from(data);
    // asyncio parity: a connected socket sends to its peer, whatever the address.
    if (this.#peername !== null) this.#socket.send(copy, this.#onSent);
    else {
      const [host, port] = target as DatagramAddress;
      this.#socket.send(copy, port, host, this.#onSent);
    }
    this.#pendingSends++;
    this.#flow.maybePause(this.getWriteBufferSize());
  }

  /** Close at once: datagrams not yet sent are dropped; `connectionLost(null)` follows. */
  abort(): void {
    this.#closing = true;
    this.#reading = false;
    this.#shutDown();
  }

  /**
   * Bytes handed to `sendto` that the operating system has not taken yet (libuv's send
   * queue; a send waiting for a host name's lookup is not counted).
   */
  getWriteBufferSize(): number {
    if (this.#connLost > 0) return 0;
    try {
      return this.#socket.getSendQueueSize();
    } catch {
      // Not bound yet, or closed behind the transport's back: nothing is queued in libuv.
      return 0;
    }
  }

  /** As a stream transport's: the marks that drive `pauseWriting`/`resumeWriting`. */
  setWriteBufferLimits(high?: number | null, low?: number | null): void {
    this.#flow.setLimits(high, low, this.getWriteBufferSize());
  }

  /** `[low, high]`, the current water marks (16 KiB and 64 KiB by default). */
  getWriteBufferLimits(): [low: number, high: number] {
    return this.#flow.limits();
  }

  // ---- internals ---------------------------------------------------------------------------

  readonly #startReading = (): void => {
    if (!this.#closing) this.#reading = true;
  };

  readonly #onMessage = (data: Buffer, info: { address: string; port: number }): void => {
    this.#loop._callSoonFromHost(this.#deliver, [data, [info.address, info.port]], this.#context);
  };

  readonly #deliver = (data: Buffer, from: DatagramAddress): void => {
    if (!this.#reading) return;
    // asyncio parity: an error thrown here goes to the loop's exception handler, and the
    // endpoint stays open.
    (this.#protocol as DatagramProtocol).datagramReceived(data, from);
  };

  readonly #onError = (error: Error): void => {
    this.#loop._callSoonFromHost(this.#errorReceived, [error], this.#context);
  };

  readonly #errorReceived = (error: Error): void => {
    if (this.#connLost > 0) return;
    (this.#protocol as DatagramProtocol).errorReceived?.(error);
  };

  readonly #onSent = (error: Error | null): void => {
    this.#loop._callSoonFromHost(this.#sent, [error], this.#context);
  };

  readonly #sent = (error: Error | null): void => {
    this.#pendingSends--;
    if (this.#connLost > 0) return;
    try {
      if (error !== null) this.#errorReceived(error);
    } finally {
      if (this.#closing) {
        if (this.#pendingSends === 0) this.#shutDown();
      } else {
        this.#flow.maybeResume(this.getWriteBufferSize());
      }
    }
  };

  readonly #onClose = (): void => {
    // The socket was closed behind the transport's back (its owner closed `sock`).
    this.#loop._callSoonFromHost(
      () => {
        this.#closing = true;
        this.#reading = false;
        this.#shutDown();
      },
      undefined,
      this.#context,
    );
  };

  /** Close the socket and schedule `connectionLost(null)`, once. */
  #shutDown(): void {
    if (this.#connLost > 0) return;
    this.#sockname = localAddress(this.#socket) ?? this.#sockname;
    this.#connLost = 1;
    const socket = this.#socket;
    socket.off("message", this.#onMessage);
    socket.off("close", this.#onClose);
    closeQuietly(socket);
    this.#loop._callSoon(
      () => {
        try {
          this.#protocol.connectionLost?.(null);
        } finally {
          this.#loop._hostOpFinished();
        }
      },
      undefined,
      this.#context,
    );
  }
}

inspectAsString(UdpTransport);

// ---- helpers --------------------------------------------------------------------------------

/** asyncio's check of `local_addr`/`remote_addr`: a 2-tuple, here `[host, port]`. */
function checkAddress(address: unknown): DatagramAddress | null {
  if (address == null) return null;
  if (!Array.isArray(address) || address.length !== 2) {
    throw new TypeError(`2-tuple is expected, got ${describe(address)}`);
  }
  checkTarget(address);
  return address as unknown as DatagramAddress;
}

function checkTarget(address: unknown): void {
  if (!Array.isArray(address) || address.length < 2) {
    throw new TypeError(`address must be a [host, port] pair, got ${describe(address)}`);
  }
  const [host, port] = address as unknown[];
  if (typeof host !== "string") {
    throw new TypeError(`host must be a string, got ${describe(host)}`);
  }
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${describe(port)}`);
  }
}

function sameAddress(a: DatagramAddress, b: DatagramAddress): boolean {
  return a[0] === b[0] && a[1] === b[1];
}

type AddressPair = [family: 4 | 6, local: DatagramAddress | null, remote: DatagramAddress | null];

/**
 * asyncio's pairing of the resolved local and remote addresses by family: every family
 * that has an address for each given one, in the order the resolver returned them.
 */
function* addressPairs(
  localAddr: DatagramAddress | null,
  remoteAddr: DatagramAddress | null,
  options: DatagramEndpointOptions,
): Coro<AddressPair[]> {
  const byFamily = new Map<4 | 6, AddressPair>();
  for (const [index, address] of [localAddr, remoteAddr].entries()) {
    if (address === null) continue;
    const infos = yield* resolve(address, options);
    if (infos.length === 0) throw new Error("getaddrinfo() returned empty list");
    for (const [family, sockaddr] of infos) {
      let pair = byFamily.get(family);
      if (pair === undefined) {
        pair = [family, null, null];
        byFamily.set(family, pair);
      }
      pair[index + 1] ??= sockaddr;
    }
  }
  const pairs = [...byFamily.values()].filter(
    ([, local, remote]) =>
      (localAddr === null || local !== null) && (remoteAddr === null || remote !== null),
  );
  if (pairs.length === 0) throw new RangeError("can not get address information");
  return pairs;
}

/** asyncio's `_ensure_resolved`: a numeric host needs no lookup. */
function* resolve(
  [host, port]: DatagramAddress,
  options: DatagramEndpointOptions,
): Coro<[4 | 6, DatagramAddress][]> {
  const family = options.family ?? 0;
  const numeric = isIP(host);
  if (numeric !== 0 && (family === 0 || family === numeric)) {
    return [[numeric === 6 ? 6 : 4, [host, port]]];
  }
  const infos = yield* getaddrinfo(host, port, {
    family,
    type: SOCK_DGRAM,
    proto: options.proto ?? 0,
    flags: options.flags ?? 0,
  });
  return infos.map(([infoFamily, , , , sockaddr]) => [infoFamily, sockaddr]);
}

/** Bind and connect a new socket as asked; cancelling closes it. */
function* prepareSocket(
  socket: Socket,
  local: DatagramAddress | null,
  remote: DatagramAddress | null,
  allowBroadcast: boolean,
): Coro<void> {
  // SO_BROADCAST needs a bound socket in Node: bind to the wildcard address first.
  const wildcard = isUdp6(socket) ? "::" : "0.0.0.0";
  const bindTo = local ?? (allowBroadcast ? ([wildcard, 0] as const) : null);
  if (bindTo !== null) {
    yield* whileOpen(socket, (done) => {
      socket.once("listening", () => {
        done(null);
      });
      socket.bind({ address: bindTo[0], port: bindTo[1] });
    });
  }
  if (allowBroadcast) socket.setBroadcast(true);
  // asyncio parity: with allowBroadcast the socket is not connected; sendto() still
  // defaults to the remote address.
  if (remote !== null && !allowBroadcast) {
    yield* whileOpen(socket, (done) => {
      socket.connect(remote[1], remote[0], (error?: Error) => {
        done(error ?? null);
      });
    });
  }
}

/**
 * Wait until `start` reports done, or the socket emits 'error'; cancelling closes the
 * socket.
 */
function* whileOpen(
  socket: Socket,
  start: (done: (error: Error | null) => void) => void,
): Coro<void> {
  yield* wrapPromise(
    (signal) =>
      new Promise<void>((resolve, reject) => {
        const onError = (error: Error): void => {
          reject(error);
        };
        socket.once("error", onError);
        signal.addEventListener("abort", () => {
          socket.off("error", onError);
          closeQuietly(socket);
        });
        start((error) => {
          socket.off("error", onError);
          if (error === null) resolve();
          else reject(error);
        });
      }),
  );
}

function remoteAddress(socket: Socket): DatagramAddress | null {
  try {
    const { address, port } = socket.remoteAddress();
    return [address, port];
  } catch {
    // Not connected (ERR_SOCKET_DGRAM_NOT_CONNECTED), or closed.
    return null;
  }
}

/** The bound address, or null when the socket is not bound (or closed). */
function localAddress(socket: Socket): DatagramAddress | null {
  try {
    const { address, port } = socket.address();
    return [address, port];
  } catch {
    return null;
  }
}

/** What getsockname() reports for a socket that is not bound yet. */
function unboundAddress(socket: Socket): DatagramAddress {
  return [isUdp6(socket) ? "::" : "0.0.0.0", 0];
}

function isUdp6(socket: Socket): boolean {
  return (socket as unknown as { type?: unknown }).type === "udp6";
}

function closeQuietly(socket: Socket): void {
  try {
    socket.close();
  } catch {
    // Already closed (ERR_SOCKET_DGRAM_NOT_RUNNING): nothing to release.
  }
}

function supportsReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}
