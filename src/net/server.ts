/**
 * Server: the listening side of `createServer` and `startServer`, as asyncio's
 * `base_events.Server`.
 */
import type { Server as NetServer, Socket } from "node:net";
import { copyContext, type Context } from "../contextvars.ts";
import type { Coro } from "../coroutines.ts";
import { CancelledError, RuntimeError } from "../exceptions.ts";
import type { Future } from "../futures.ts";
import { wrapPromise } from "../interop.ts";
import { inspectAsString } from "../internal/inspect.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import type { BaseProtocol } from "../protocols.ts";
import { sleep } from "../sleep.ts";
import { SocketTransport, type TransportOwner } from "./socket-transport.ts";

/** Where one listening socket of a Server listens. */
export interface ServerSocket {
  /** `[host, port]` for TCP, the path for a Unix socket. */
  getsockname(): [host: string, port: number] | string;
  /** The Node server behind it. */
  readonly server: NetServer;
}

/** @internal How a Server makes and wraps its sockets (TCP, Unix, TLS). */
export interface Listener {
  /** A Node server that is not listening yet, which emits accepted sockets. */
  server: NetServer;
  /** Start listening. */
  listen(server: NetServer, done: (error?: Error) => void): void;
  /** Whether connections are TLS (their transports cannot write EOF). */
  tls?: boolean | undefined;
  /** Extra info for every accepted transport (a Unix socket's names). */
  extra?: Record<string, unknown> | undefined;
  /**
   * Prepare an accepted socket (a TLS handshake): `done(socket, extra)` when it is ready,
   * `done(null)` if it failed. Until then it counts as one of the server's connections.
   */
  accept?:
    | ((
        socket: Socket,
        done: (ready: Socket | null, extra?: Record<string, unknown>) => void,
      ) => void)
    | undefined;
  /** Stop listening; default `server.close()` (a Unix listener keeps its file if asked). */
  close?: ((server: NetServer) => void) | undefined;
}

/**
 * A listening server. `close()` stops listening (connections already made go on);
 * `waitClosed()` waits until it is closed and every connection is gone. `run(body)` is
 * asyncio's `async with server:`.
 */
export class Server implements TransportOwner {
  readonly #loop: BaseEventLoop;
  readonly #protocolFactory: () => BaseProtocol;
  readonly #context: Context = copyContext();
  /** null once closed. */
  #listeners: Listener[] | null;
  #listening = false;
  #serving = false;
  #active = 0;
  readonly #transports = new Set<SocketTransport>();
  /** Accepted sockets still in their TLS handshake; each counts in #active. */
  readonly #pending = new Set<Socket>();
  /** Waiters of waitClosed(); null once woken for good. */
  #waiters: Future<undefined>[] | null = [];
  #serveForever: Future<never> | null = null;

  /** @internal Servers come from `createServer`/`startServer`. */
  constructor(loop: BaseEventLoop, protocolFactory: () => BaseProtocol, listeners: Listener[]) {
    this.#loop = loop;
    this.#protocolFactory = protocolFactory;
    this.#listeners = listeners;
  }

  toString(): string {
    return `<Server sockets=${JSON.stringify(this.sockets.map((s) => s.getsockname()))}>`;
  }

  /** The listening sockets; empty before serving starts and after `close()`. */
  get sockets(): ServerSocket[] {
    if (this.#listeners === null || !this.#listening) return [];
    return this.#listeners.map(({ server }) => ({
      server,
      getsockname(): [string, number] | string {
        const address = server.address();
        if (address === null) return "";
        return typeof address === "string" ? address : [address.address, address.port];
      },
    }));
  }

  /** The loop the server belongs to. */
  getLoop(): BaseEventLoop {
    return this.#loop;
  }

  /** Whether the server accepts connections. */
  isServing(): boolean {
    return this.#serving;
  }

  /**
   * Start listening, if not already; returns once every socket listens (then after one
   * loop iteration, as asyncio).
   */
  *startServing(): Coro<void> {
    yield* this.#listen();
    yield* sleep(0);
  }

  /**
   * Accept connections until cancelled, then close the server and wait for it to be
   * closed (asyncio's `serve_forever`).
   *
   * @throws RuntimeError when the server is closed or already serving forever.
   */
  *serveForever(): Coro<never> {
    if (this.#serveForever !== null) {
      throw new RuntimeError(
        `server ${this.toString()} is already being awaited on serve_forever()`,
      );
    }
    if (this.#listeners === null) throw new RuntimeError(`server ${this.toString()} is closed`);
    yield* this.#listen();
    this.#serveForever = this.#loop.createFuture<never>();
    try {
      return yield* this.#serveForever;
    } catch (error) {
      if (error instanceof CancelledError) {
        try {
          this.close();
          yield* this.waitClosed();
        } finally {
          // The cancellation goes on whatever closing did.
        }
      }
      throw error;
    } finally {
      this.#serveForever = null;
    }
  }

  /**
   * Stop listening. Connections already accepted go on (`closeClients()` closes them);
   * `serveForever()` is cancelled. Idempotent.
   */
  close(): void {
    const listeners = this.#listeners;
    if (listeners === null) return;
    this.#listeners = null;
    this.#serving = false;
    for (const listener of listeners) {
      if (this.#listening) {
        if (listener.close === undefined) listener.server.close();
        else listener.close(listener.server);
        this.#loop._hostOpFinished();
      }
    }
    this.#listening = false;
    if (this.#serveForever !== null && !this.#serveForever.done()) this.#serveForever.cancel();
    if (this.#active === 0) this.#wakeup();
  }

  /** Close every connection the server accepted (their buffers are flushed first). */
  closeClients(): void {
    for (const socket of [...this.#pending]) socket.destroy();
    for (const transport of [...this.#transports]) transport.close();
  }

  /** Abort every connection the server accepted. */
  abortClients(): void {
    for (const socket of [...this.#pending]) socket.destroy();
    for (const transport of [...this.#transports]) transport.abort();
  }

  /** Wait until the server is closed and every connection it accepted is gone. */
  *waitClosed(): Coro<void> {
    if (this.#waiters === null) return;
    const waiter = this.#loop.createFuture<undefined>();
    this.#waiters.push(waiter);
    yield* waiter;
  }

  /** Run `body(this)`, then close the server and wait until it is closed (`async with`). */
  *run<T>(body: (server: Server) => Coro<T>): Coro<T> {
    try {
      return yield* body(this);
    } finally {
      this.close();
      yield* this.waitClosed();
    }
  }

  /** @internal */
  _attach(transport: SocketTransport): void {
    this.#active++;
    this.#transports.add(transport);
  }

  /** @internal */
  _detach(transport: SocketTransport): void {
    this.#active--;
    this.#transports.delete(transport);
    if (this.#active === 0 && this.#listeners === null) this.#wakeup();
  }

  *#listen(): Coro<void> {
    const listeners = this.#listeners;
    if (listeners === null || this.#listening) {
      this.#serving = listeners !== null;
      return;
    }
    this.#listening = true;
    for (const listener of listeners) {
      listener.server.on("connection", (socket: Socket) => {
        this.#onConnection(listener, socket);
      });
      this.#loop._hostOpStarted();
    }
    try {
      for (const listener of listeners) {
        yield* wrapPromise(
          () =>
            new Promise<void>((resolve, reject) => {
              listener.listen(listener.server, (error) => {
                if (error === undefined) resolve();
                else reject(error);
              });
            }),
        );
      }
    } catch (error) {
      this.close();
      throw error;
    }
    this.#serving = true;
  }

  #onConnection(listener: Listener, socket: Socket): void {
    if (!this.#serving) {
      socket.destroy();
      return;
    }
    if (listener.accept === undefined) {
      this.#loop._callSoonFromHost(this.#accept, [socket, listener, undefined], this.#context);
      return;
    }
    // Counted as a connection while it is being prepared (asyncio attaches the transport
    // before the TLS handshake): closeClients() and waitClosed() see it.
    this.#active++;
    this.#pending.add(socket);
    listener.accept(socket, (ready, extra) => {
      this.#pending.delete(socket);
      this.#active--;
      if (ready !== null) {
        this.#loop._callSoonFromHost(this.#accept, [ready, listener, extra], this.#context);
      } else if (this.#active === 0 && this.#listeners === null) {
        this.#wakeup();
      }
    });
  }

  readonly #accept = (
    socket: Socket,
    listener: Listener,
    extra: Record<string, unknown> | undefined,
  ): void => {
    if (this.#listeners === null) {
      socket.destroy();
      return;
    }
    let protocol: BaseProtocol;
    try {
      protocol = this.#protocolFactory();
    } catch (error) {
      socket.destroy();
      this.#loop.callExceptionHandler({
        message: "Error on transport creation for incoming connection",
        exception: error,
      });
      return;
    }
    new SocketTransport(this.#loop, socket, protocol, {
      owner: this,
      extra: { ...listener.extra, ...extra },
      canWriteEof: listener.tls !== true,
    });
  };

  #wakeup(): void {
    const waiters = this.#waiters;
    if (waiters === null) return;
    this.#waiters = null;
    for (const waiter of waiters) if (!waiter.done()) waiter.setResult(undefined);
  }
}

inspectAsString(Server);
