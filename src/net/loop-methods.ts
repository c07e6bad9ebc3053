/**
 * The loop's networking methods (`loop.createConnection`, `loop.createServer`,
 * `loop.createDatagramEndpoint`, `loop.getaddrinfo`, `loop.sendfile`, ...), as
 * asyncio's `BaseEventLoop` has them. They live here, added to BaseEventLoop's prototype,
 * so that the kernel does not depend on the networking modules. Each is a coroutine that
 * must run on the loop it was called on.
 */
import type { Coro } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import { RuntimeError } from "../exceptions.ts";
import { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { FileHandle } from "node:fs/promises";
import type { PathLike } from "node:fs";
import type { BaseProtocol, DatagramProtocol } from "../protocols.ts";
import type { BaseTransport, DatagramTransport, Transport } from "../transports.ts";
import {
  createConnection,
  createServer,
  createUnixConnection,
  createUnixServer,
  upgradeSocket,
  type ClientSsl,
  type ConnectionOptions,
  type ServerOptions,
  type ServerSsl,
  type UnixServerOptions,
} from "./connect.ts";
import { createDatagramEndpoint, type DatagramEndpointOptions } from "./datagram.ts";
import { getaddrinfo, getnameinfo, type AddrInfo, type GetaddrinfoOptions } from "./dns.ts";
import { sendfile, type SendfileOptions } from "./sendfile.ts";
import type { Server } from "./server.ts";
import { SocketTransport } from "./socket-transport.ts";

/** Options of `loop.startTls`. */
export interface StartTlsOptions {
  /** Act as the TLS server (present `ssl`'s certificate) rather than the client. */
  serverSide?: boolean | undefined;
  /** The name to verify the server's certificate against; a client needs it. */
  serverHostname?: string | null | undefined;
  /** Seconds the handshake may take; default 60. */
  sslHandshakeTimeout?: number | null | undefined;
  /** Accepted for asyncio parity. */
  sslShutdownTimeout?: number | null | undefined;
}

declare module "../loop/base-event-loop.ts" {
  interface BaseEventLoop {
    /** See `createConnection` in the networking guide: connect and attach a protocol. */
    createConnection<P extends BaseProtocol>(
      protocolFactory: () => P,
      host?: string | null,
      port?: number | null,
      options?: ConnectionOptions,
    ): Coro<[Transport, P]>;
    /** Listen on `host`:`port`; each connection gets a protocol from `protocolFactory`. */
    createServer(
      protocolFactory: () => BaseProtocol,
      host?: string | readonly string[] | null,
      port?: number | null,
      options?: ServerOptions,
    ): Coro<Server>;
    /** `createConnection` over a Unix domain socket. */
    createUnixConnection<P extends BaseProtocol>(
      protocolFactory: () => P,
      path?: string | null,
      options?: Omit<
        ConnectionOptions,
        "family" | "localAddr" | "happyEyeballsDelay" | "allErrors"
      >,
    ): Coro<[Transport, P]>;
    /** `createServer` on a Unix domain socket. */
    createUnixServer(
      protocolFactory: () => BaseProtocol,
      path: string,
      options?: UnixServerOptions,
    ): Coro<Server>;
    /**
     * Upgrade `transport`'s connection to TLS and return the new transport, which drives
     * `protocol`; the old transport is no longer usable.
     */
    startTls(
      transport: Transport,
      protocol: BaseProtocol,
      ssl: ClientSsl | ServerSsl,
      options?: StartTlsOptions,
    ): Coro<Transport>;
    /**
     * Make a UDP endpoint (bound to `localAddr`, connected to `remoteAddr`, or both) and
     * attach a protocol; see `createDatagramEndpoint` in the networking guide.
     */
    createDatagramEndpoint<P extends DatagramProtocol>(
      protocolFactory: () => P,
      options?: DatagramEndpointOptions,
    ): Coro<[DatagramTransport, P]>;
    /** Resolve `host` and `port` into `[family, type, proto, canonname, [host, port]]` lists. */
    getaddrinfo(
      host: string | null | undefined,
      port: number | string | null | undefined,
      options?: GetaddrinfoOptions,
    ): Coro<AddrInfo[]>;
    /** The `[host, service]` names of a numeric `[host, port]` address. */
    getnameinfo(
      sockaddr: readonly [host: string, port: number, ...rest: number[]],
      flags?: number,
    ): Coro<[host: string, service: string]>;
    /**
     * Send a file (a FileHandle or a path) over a stream transport; returns the bytes
     * sent. Node has no zero-copy sendfile: the file is read and written in chunks.
     */
    sendfile(
      transport: BaseTransport,
      file: FileHandle | PathLike,
      offset?: number,
      count?: number | null,
      options?: SendfileOptions,
    ): Coro<number>;
  }
}

function checkLoop(loop: BaseEventLoop): void {
  if (getRunningLoop() !== loop) {
    throw new RuntimeError(`${loop.toString()} is not the running loop; use getRunningLoop()`);
  }
}

Object.assign(BaseEventLoop.prototype, {
  *createConnection(
    this: BaseEventLoop,
    ...args: Parameters<typeof createConnection>
  ): Coro<[Transport, BaseProtocol]> {
    checkLoop(this);
    return yield* createConnection(...args);
  },
  *createServer(this: BaseEventLoop, ...args: Parameters<typeof createServer>): Coro<Server> {
    checkLoop(this);
    return yield* createServer(...args);
  },
  *createUnixConnection(
    this: BaseEventLoop,
    ...args: Parameters<typeof createUnixConnection>
  ): Coro<[Transport, BaseProtocol]> {
    checkLoop(this);
    return yield* createUnixConnection(...args);
  },
  *createUnixServer(
    this: BaseEventLoop,
    ...args: Parameters<typeof createUnixServer>
  ): Coro<Server> {
    checkLoop(this);
    return yield* createUnixServer(...args);
  },
  *startTls(
    this: BaseEventLoop,
    transport: Transport,
    protocol: BaseProtocol,
    ssl: ClientSsl | ServerSsl,
    options: StartTlsOptions = {},
  ): Coro<Transport> {
    checkLoop(this);
    if (!(transport instanceof SocketTransport)) {
      throw new TypeError("startTls() needs a transport made by tsyncio's TCP or Unix functions");
    }
    const { socket, owner } = transport._detachSocket();
    const tlsSocket = yield* upgradeSocket(socket, ssl, options);
    return SocketTransport._wrap(this, tlsSocket, protocol, owner, { sslcontext: ssl });
  },
  *createDatagramEndpoint(
    this: BaseEventLoop,
    ...args: Parameters<typeof createDatagramEndpoint>
  ): Coro<[DatagramTransport, DatagramProtocol]> {
    checkLoop(this);
    return yield* createDatagramEndpoint(...args);
  },
  *getaddrinfo(this: BaseEventLoop, ...args: Parameters<typeof getaddrinfo>): Coro<AddrInfo[]> {
    checkLoop(this);
    return yield* getaddrinfo(...args);
  },
  *getnameinfo(
    this: BaseEventLoop,
    ...args: Parameters<typeof getnameinfo>
  ): Coro<[host: string, service: string]> {
    checkLoop(this);
    return yield* getnameinfo(...args);
  },
  *sendfile(this: BaseEventLoop, ...args: Parameters<typeof sendfile>): Coro<number> {
    checkLoop(this);
    return yield* sendfile(...args);
  },
});
