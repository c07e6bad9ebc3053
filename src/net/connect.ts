/**
 * createConnection, createServer and their Unix-socket twins, as asyncio's
 * `base_events` and `unix_events` functions, over Node's `net` and `tls`.
 */
import { lookup } from "node:dns/promises";
import { existsSync, linkSync, lstatSync, renameSync, statSync, unlinkSync } from "node:fs";
import { connect as netConnect, createServer as netCreateServer, type Socket } from "node:net";
import {
  connect as tlsConnect,
  createSecureContext,
  TLSSocket,
  type ConnectionOptions as TlsConnectionOptions,
  type SecureContext,
  type TlsOptions,
} from "node:tls";
import type { Coro } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import { ExceptionGroup } from "../exceptions.ts";
import { wrapPromise } from "../interop.ts";
import { describe, validateFunction } from "../internal/validate.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { BaseProtocol } from "../protocols.ts";
import type { Transport } from "../transports.ts";
import { Server, type Listener } from "./server.ts";
import { SocketTransport } from "./socket-transport.ts";

/** TLS for a client: `true` for Node's defaults (certificates verified), or Node's options. */
export type ClientSsl = boolean | TlsConnectionOptions | SecureContext;

/** TLS for a server: Node's options (`key`, `cert`, ...) or a SecureContext. */
export type ServerSsl = TlsOptions | SecureContext;

/** Options of `createConnection` (asyncio's keyword arguments). */
export interface ConnectionOptions {
  /** Use TLS; `true` verifies the server's certificate with Node's CA store. */
  ssl?: ClientSsl | null | undefined;
  /** The name to verify the certificate against (and to send in SNI); default `host`. */
  serverHostname?: string | null | undefined;
  /** Seconds the TLS handshake may take; default 60. */
  sslHandshakeTimeout?: number | null | undefined;
  /** Seconds a TLS close may take (accepted for asyncio parity; Node closes at once). */
  sslShutdownTimeout?: number | null | undefined;
  /** 4 or 6 to force an address family; default 0 (either). */
  family?: 0 | 4 | 6 | undefined;
  /** Bind the local end to `[host, port]`. */
  localAddr?: readonly [host: string, port: number] | null | undefined;
  /** Seconds between connection attempts to a host's addresses (Happy Eyeballs). */
  happyEyeballsDelay?: number | null | undefined;
  /** Throw every attempt's error as an ExceptionGroup when all fail (asyncio 3.12). */
  allErrors?: boolean | undefined;
  /** An already connected socket to use instead of connecting. */
  sock?: Socket | null | undefined;
}

/** Options of `createServer` (asyncio's keyword arguments). */
export interface ServerOptions {
  /** Serve TLS with these keys and certificates. */
  ssl?: ServerSsl | null | undefined;
  /** Seconds a client's TLS handshake may take; default 60. */
  sslHandshakeTimeout?: number | null | undefined;
  /** Accepted for asyncio parity. */
  sslShutdownTimeout?: number | null | undefined;
  /** The listen backlog; default 100. */
  backlog?: number | undefined;
  /** Listen on several processes' sockets (SO_REUSEPORT); Node.js 22.12 or newer. */
  reusePort?: boolean | undefined;
  /** Accepted for asyncio parity: Node always sets SO_REUSEADDR. */
  reuseAddress?: boolean | undefined;
  /** Turn on TCP keep-alive for accepted connections. */
  keepAlive?: boolean | undefined;
  /** 4 or 6 to listen on one family only. */
  family?: 0 | 4 | 6 | undefined;
  /** Start listening at once (default); otherwise at `startServing()`/`serveForever()`. */
  startServing?: boolean | undefined;
}

/** Options of `createUnixServer`. */
export interface UnixServerOptions extends Omit<
  ServerOptions,
  "family" | "reusePort" | "keepAlive"
> {
  /** Remove the socket file when the server closes; default true (asyncio 3.13). */
  cleanupSocket?: boolean | undefined;
}

const DEFAULT_HANDSHAKE_TIMEOUT = 60;

/**
 * Connect to `host`:`port` (or use `options.sock`) and attach a protocol from
 * `protocolFactory`; returns `[transport, protocol]` once `connectionMade` has run.
 * Cancelling it while connecting destroys the socket.
 *
 * @throws the connection's error (ECONNREFUSED, ...); with several addresses that all
 *   failed, asyncio's `Multiple exceptions: ...` error, or an ExceptionGroup with
 *   `allErrors`; TypeError/RangeError for bad arguments.
 */
export function* createConnection<P extends BaseProtocol>(
  protocolFactory: () => P,
  host?: string | null,
  port?: number | null,
  options: ConnectionOptions = {},
): Coro<[Transport, P]> {
  validateFunction(protocolFactory, "protocolFactory");
  const ssl = options.ssl ?? null;
  checkSslOptions(ssl, options);
  const loop = getRunningLoop();
  let socket: Socket;
  let hostname = options.serverHostname ?? null;
  if (ssl !== null && hostname === null) {
    if (host == null || host === "") {
      throw new RangeError("You must set server_hostname when using ssl without a host");
    }
    hostname = host;
  }
  if (options.sock != null) {
    if (host != null || port != null) {
      throw new RangeError("host/port and sock can not be specified at the same time");
    }
    socket = options.sock;
  } else {
    if (host == null && port == null) {
      throw new RangeError("host and port was not specified and no sock specified");
    }
    socket = yield* connectSocket(host ?? "localhost", port ?? 0, options);
  }
  const extra: Record<string, unknown> = {};
  if (ssl !== null) {
    socket = yield* startClientTls(loop, socket, ssl, hostname, options.sslHandshakeTimeout);
    extra.sslcontext = ssl;
  }
  return yield* attach(loop, socket, protocolFactory, extra, ssl === null);
}

/** As `createConnection`, over a Unix domain socket at `path`. */
export function* createUnixConnection<P extends BaseProtocol>(
  protocolFactory: () => P,
  path?: string | null,
  options: Omit<
    ConnectionOptions,
    "family" | "localAddr" | "happyEyeballsDelay" | "allErrors"
  > = {},
): Coro<[Transport, P]> {
  validateFunction(protocolFactory, "protocolFactory");
  const ssl = options.ssl ?? null;
  checkSslOptions(ssl, options);
  const loop = getRunningLoop();
  const hostname = options.serverHostname ?? null;
  if (ssl !== null && hostname === null) {
    throw new RangeError("you have to pass server_hostname when using ssl");
  }
  let socket: Socket;
  if (options.sock != null) {
    if (path != null) throw new RangeError("path and sock can not be specified at the same time");
    socket = options.sock;
  } else {
    if (typeof path !== "string")
      throw new TypeError(`path must be a string, got ${describe(path)}`);
    socket = yield* waitConnected(netConnect({ path, allowHalfOpen: true }));
  }
  // asyncio's names for a Unix socket's ends: the path, and "" for the unnamed client.
  const extra: Record<string, unknown> = { peername: path ?? "", sockname: "" };
  if (ssl !== null) {
    socket = yield* startClientTls(loop, socket, ssl, hostname, options.sslHandshakeTimeout);
    extra.sslcontext = ssl;
  }
  return yield* attach(loop, socket, protocolFactory, extra, ssl === null);
}

/**
 * Listen on `host`:`port` and give each accepted connection a protocol from
 * `protocolFactory`. `host` may be a name (every address it resolves to is bound, as
 * asyncio does), a list of them, or null/"" for every interface; `port` 0 picks a free
 * port (see `server.sockets`).
 */
export function* createServer(
  protocolFactory: () => BaseProtocol,
  host?: string | readonly string[] | null,
  port?: number | null,
  options: ServerOptions = {},
): Coro<Server> {
  validateFunction(protocolFactory, "protocolFactory");
  const loop = getRunningLoop();
  const ssl = serverSsl(options.ssl);
  if (ssl === null && options.sslHandshakeTimeout != null) {
    throw new RangeError("ssl_handshake_timeout is only meaningful with ssl");
  }
  if (options.reusePort === true && !supportsReusePort()) {
    throw new RangeError("reusePort needs Node.js 22.12 or newer");
  }
  const portNumber = port ?? 0;
  const hosts: (string | undefined)[] = [];
  if (host == null || host === "") {
    hosts.push(undefined);
  } else {
    for (const name of typeof host === "string" ? [host] : host) {
      for (const address of yield* resolveAll(name, options.family ?? 0)) {
        if (!hosts.includes(address)) hosts.push(address);
      }
    }
  }
  const listeners = hosts.map((address) =>
    makeListener(loop, ssl, options, (server, done) => {
      server.once("error", done);
      server.listen(
        {
          host: address,
          port: portNumber,
          backlog: options.backlog ?? 100,
          ipv6Only: address !== undefined && address.includes(":"),
          ...(options.reusePort === true ? { reusePort: true } : {}),
        },
        () => {
          server.off("error", done);
          done();
        },
      );
    }),
  );
  const server = new Server(loop, protocolFactory, listeners);
  if (options.startServing ?? true) yield* server.startServing();
  return server;
}

/** As `createServer`, on a Unix domain socket at `path`. */
export function* createUnixServer(
  protocolFactory: () => BaseProtocol,
  path: string,
  options: UnixServerOptions = {},
): Coro<Server> {
  validateFunction(protocolFactory, "protocolFactory");
  if (typeof path !== "string") throw new TypeError(`path must be a string, got ${describe(path)}`);
  const loop = getRunningLoop();
  const ssl = serverSsl(options.ssl);
  // A stale socket file from an earlier run would make listen() fail (asyncio removes it).
  if (path !== "" && !path.startsWith("\0") && existsSync(path) && statSync(path).isSocket()) {
    unlinkSync(path);
  }
  let inode = -1;
  const listener = makeListener(loop, ssl, options, (server, done) => {
    server.once("error", done);
    server.listen({ path, backlog: options.backlog ?? 100 }, () => {
      server.off("error", done);
      inode = socketInode(path);
      done();
    });
  });
  listener.extra = { peername: "", sockname: path };
  const cleanup = options.cleanupSocket ?? true;
  listener.close = (server) => {
    // Node removes the socket file when the server closes. Keep it when asked to
    // (cleanupSocket: false), or when it is no longer ours (replaced since, asyncio 3.13).
    let kept: string | null = null;
    const current = socketInode(path);
    if (current !== -1 && (!cleanup || current !== inode)) {
      kept = `${path}.${process.pid}.${Date.now()}.keep`;
      try {
        linkSync(path, kept);
      } catch {
        kept = null;
      }
    }
    server.close();
    if (kept !== null) renameSync(kept, path);
  };
  const server = new Server(loop, protocolFactory, [listener]);
  if (options.startServing ?? true) yield* server.startServing();
  return server;
}

/**
 * @internal Upgrade a connected socket to TLS (`loop.startTls`, `StreamWriter.startTls`):
 * the client side verifies `serverHostname`; the server side presents `ssl`'s certificate.
 */
export function* upgradeSocket(
  socket: Socket,
  ssl: ClientSsl | ServerSsl,
  options: {
    serverSide?: boolean | undefined;
    serverHostname?: string | null | undefined;
    sslHandshakeTimeout?: number | null | undefined;
  },
): Coro<TLSSocket> {
  const loop = getRunningLoop();
  if (options.serverSide === true) {
    return yield* acceptTls(
      loop,
      socket,
      serverSsl(ssl as ServerSsl) as SecureContext,
      options.sslHandshakeTimeout,
    );
  }
  return yield* startClientTls(
    loop,
    socket,
    ssl as ClientSsl,
    options.serverHostname ?? null,
    options.sslHandshakeTimeout,
  );
}

// ---- helpers --------------------------------------------------------------------------------

function* attach<P extends BaseProtocol>(
  loop: BaseEventLoop,
  socket: Socket,
  protocolFactory: () => P,
  extra: Record<string, unknown>,
  canWriteEof: boolean,
): Coro<[Transport, P]> {
  let protocol: P;
  try {
    protocol = protocolFactory();
  } catch (error) {
    socket.destroy();
    throw error;
  }
  const made = loop.createFuture<undefined>();
  const transport = new SocketTransport(loop, socket, protocol, {
    extra,
    canWriteEof,
    onMade: () => {
      if (!made.done()) made.setResult(undefined);
    },
  });
  try {
    yield* made;
  } catch (error) {
    transport.close();
    throw error;
  }
  return [transport, protocol];
}

function* connectSocket(host: string, port: number, options: ConnectionOptions): Coro<Socket> {
  if (typeof port !== "number" || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`port must be an integer from 0 to 65535, got ${describe(port)}`);
  }
  const delay = options.happyEyeballsDelay;
  const socket = netConnect({
    host,
    port,
    allowHalfOpen: true,
    family: options.family ?? 0,
    ...(options.localAddr != null
      ? { localAddress: options.localAddr[0], localPort: options.localAddr[1] }
      : {}),
    autoSelectFamily: true,
    ...(delay != null
      ? { autoSelectFamilyAttemptTimeout: Math.max(10, Math.round(delay * 1000)) }
      : {}),
  });
  try {
    return yield* waitConnected(socket);
  } catch (error) {
    throw connectionError(error, options.allErrors === true);
  }
}

/** Wait for `socket`'s 'connect'; cancelling destroys it. */
function* waitConnected(socket: Socket): Coro<Socket> {
  return yield* waitEvent(socket, "connect");
}

/** Wait until `socket` emits `event` (then return it) or 'error' (then throw). */
function* waitEvent<S extends Socket>(socket: S, event: string): Coro<S> {
  return yield* wrapPromise(
    (signal) =>
      new Promise<S>((resolve, reject) => {
        const onEvent = (): void => {
          socket.off("error", onError);
          socket.off("close", onClose);
          resolve(socket);
        };
        const onError = (error: Error): void => {
          socket.off(event, onEvent);
          socket.off("close", onClose);
          reject(error);
        };
        // A peer that hangs up mid-handshake may close the socket with no 'error'.
        const onClose = (): void => {
          socket.off(event, onEvent);
          socket.off("error", onError);
          reject(Object.assign(new Error("Connection lost"), { code: "ECONNRESET" }));
        };
        socket.once(event, onEvent);
        socket.once("error", onError);
        socket.once("close", onClose);
        signal.addEventListener("abort", () => {
          socket.destroy();
        });
      }),
  );
}

function* startClientTls(
  loop: BaseEventLoop,
  socket: Socket,
  ssl: ClientSsl,
  hostname: string | null,
  timeout: number | null | undefined,
): Coro<TLSSocket> {
  const base: TlsConnectionOptions =
    ssl === true
      ? {}
      : isSecureContext(ssl)
        ? { secureContext: ssl }
        : (ssl as TlsConnectionOptions);
  const tlsSocket = tlsConnect({
    ...base,
    socket,
    ...(hostname !== null ? { servername: hostname } : {}),
  });
  return yield* handshake(loop, tlsSocket, "secureConnect", timeout);
}

function* acceptTls(
  loop: BaseEventLoop,
  socket: Socket,
  context: SecureContext,
  timeout: number | null | undefined,
): Coro<TLSSocket> {
  let tlsSocket: TLSSocket | null = null;
  const secured = yield* wrapPromise(
    (signal) =>
      new Promise<TLSSocket | null>((resolve) => {
        tlsSocket = serverHandshake(loop, socket, context, timeout, resolve);
        signal.addEventListener("abort", () => {
          tlsSocket?.destroy();
        });
      }),
  );
  if (secured === null) {
    throw Object.assign(new Error("TLS handshake failed or the peer closed the connection"), {
      code: "ECONNRESET",
    });
  }
  return secured;
}

/** Wait for the TLS handshake, aborting the connection after `timeout` seconds. */
function* handshake(
  loop: BaseEventLoop,
  socket: TLSSocket,
  event: string,
  timeout: number | null | undefined,
): Coro<TLSSocket> {
  const seconds = timeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const timer = loop.callLater(seconds, () => {
    socket.destroy(
      new Error(`SSL handshake is taking longer than ${seconds} seconds: aborting the connection`),
    );
  });
  try {
    return yield* waitEvent(socket, event);
  } finally {
    timer.cancel();
  }
}

/** A Listener for createServer: plain TCP/Unix, or TLS upgraded after accept. */
function makeListener(
  loop: BaseEventLoop,
  ssl: SecureContext | null,
  options: { keepAlive?: boolean | undefined; sslHandshakeTimeout?: number | null | undefined },
  listen: Listener["listen"],
): Listener {
  const server = netCreateServer({ allowHalfOpen: true, pauseOnConnect: true });
  const listener: Listener = { server, listen, tls: ssl !== null };
  if (options.keepAlive === true || ssl !== null) {
    listener.accept = (socket, done) => {
      if (options.keepAlive === true) socket.setKeepAlive(true);
      if (ssl === null) {
        done(socket);
        return;
      }
      serverHandshake(loop, socket, ssl, options.sslHandshakeTimeout, (tlsSocket) => {
        // A failed handshake (a plain-text client, a rejected certificate) only ends that
        // connection; the server goes on.
        done(tlsSocket, tlsSocket === null ? undefined : { sslcontext: ssl });
      });
    };
  }
  return listener;
}

/**
 * The server side of a TLS handshake on `socket`; `done(tlsSocket)` once it is secure,
 * `done(null)` if it failed, timed out or the peer went away. The TLS socket is read
 * during the handshake, so a peer that hangs up is noticed at once; application data
 * that arrives with the end of the handshake is kept for the transport.
 */
function serverHandshake(
  loop: BaseEventLoop,
  socket: Socket,
  context: SecureContext,
  timeout: number | null | undefined,
  done: (tlsSocket: TLSSocket | null) => void,
): TLSSocket {
  const tlsSocket = new TLSSocket(socket, { isServer: true, secureContext: context });
  const early: Buffer[] = [];
  let settled = false;
  const finish = (ok: boolean): void => {
    if (settled) return;
    settled = true;
    timer.cancel();
    tlsSocket.off("data", collect);
    if (ok) {
      tlsSocket.pause();
      for (let i = early.length - 1; i >= 0; i--) tlsSocket.unshift(early[i]);
      done(tlsSocket);
    } else {
      tlsSocket.destroy();
      done(null);
    }
  };
  const collect = (chunk: Buffer): void => {
    early.push(chunk);
  };
  const seconds = timeout ?? DEFAULT_HANDSHAKE_TIMEOUT;
  const timer = loop.callLater(seconds, () => {
    finish(false);
  });
  tlsSocket.on("data", collect);
  tlsSocket.once("secure", () => {
    finish(true);
  });
  tlsSocket.once("end", () => {
    finish(false);
  });
  tlsSocket.once("close", () => {
    finish(false);
  });
  tlsSocket.once("error", () => {
    finish(false);
  });
  return tlsSocket;
}

/** The inode of the file at `path`, or -1 if there is none. */
function socketInode(path: string): number {
  try {
    return lstatSync(path).ino;
  } catch {
    return -1;
  }
}

function serverSsl(ssl: ServerSsl | null | undefined | boolean): SecureContext | null {
  if (ssl == null || ssl === false) return null;
  if (ssl === true) {
    throw new TypeError("ssl argument must be TLS options or a SecureContext, not true");
  }
  return isSecureContext(ssl) ? ssl : createSecureContext(ssl);
}

function isSecureContext(value: unknown): value is SecureContext {
  return typeof value === "object" && value !== null && value.constructor.name === "SecureContext";
}

function checkSslOptions(
  ssl: ClientSsl | null,
  options: {
    serverHostname?: string | null | undefined;
    sslHandshakeTimeout?: number | null | undefined;
    sslShutdownTimeout?: number | null | undefined;
  },
): void {
  if (ssl === null || ssl === false) {
    if (options.serverHostname != null) {
      throw new RangeError("server_hostname is only meaningful with ssl");
    }
    if (options.sslHandshakeTimeout != null) {
      throw new RangeError("ssl_handshake_timeout is only meaningful with ssl");
    }
    if (options.sslShutdownTimeout != null) {
      throw new RangeError("ssl_shutdown_timeout is only meaningful with ssl");
    }
  }
  const timeout = options.sslHandshakeTimeout;
  if (timeout != null && !(typeof timeout === "number" && timeout > 0)) {
    throw new RangeError(
      `ssl_handshake_timeout should be a positive number, got ${describe(timeout)}`,
    );
  }
}

function* resolveAll(host: string, family: 0 | 4 | 6): Coro<string[]> {
  const found = yield* wrapPromise(lookup(host, { all: true, family }));
  return found.map((entry) => entry.address);
}

/** asyncio's error for a connection whose every attempt failed. */
function connectionError(error: unknown, allErrors: boolean): unknown {
  const errors =
    error instanceof AggregateError && error.errors.length > 0
      ? (error.errors as unknown[])
      : [error];
  if (allErrors) return new ExceptionGroup("create_connection failed", errors);
  if (!(error instanceof AggregateError) || error.errors.length === 0) return error;
  if (errors.length === 1) return errors[0];
  const messages = errors.map((each) => String(each instanceof Error ? each.message : each));
  if (messages.every((message) => message === messages[0])) return errors[0];
  return new Error(`Multiple exceptions: ${messages.join(", ")}`, { cause: error });
}

function supportsReusePort(): boolean {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  return major > 22 || (major === 22 && minor >= 12);
}
