// Helpers for the networking tests: a protocol that records its callbacks (after asyncio's
// make_test_protocol), and Node `net` peers (servers and clients nobody here wrote) driven
// from inside a coroutine.
import assert from "node:assert/strict";
import {
  connect,
  createServer,
  type NetConnectOpts,
  type Server as NetServer,
  type ServerOpts,
  type Socket,
} from "node:net";
import {
  getRunningLoop,
  wrapPromise,
  type Coro,
  type Future,
  type Protocol,
  type Server,
  type Transport,
} from "../../src/index.ts";

const openResources = new Set<() => void>();

/**
 * Remember how to let go of a resource (a socket, a server) if the test fails before it does;
 * returns a function that forgets it again.
 */
export function onCleanup(release: () => void): () => void {
  openResources.add(release);
  return () => openResources.delete(release);
}

/**
 * Release whatever a test left open (after a failed assertion, say), so that the process can
 * exit: every file's `afterEach`.
 */
export function cleanupAll(): void {
  const releases = [...openResources];
  openResources.clear();
  for (const release of releases) {
    try {
      release();
    } catch {
      // Best effort: the test already failed.
    }
  }
}

/** Close `server` and abort its connections if the test fails before it does. */
export function trackServer<S extends Server>(server: S): S {
  onCleanup(() => {
    server.close();
    server.abortClients();
  });
  return server;
}

/** A short description of a connectionLost argument: null, an error code, or name: message. */
export function lostReason(error: Error | null): string {
  if (error === null) return "null";
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : `${error.name}: ${error.message}`;
}

/** Options of a RecordingProtocol. */
export interface RecordingOptions {
  /** What eofReceived returns (truthy keeps the write side open). */
  keepOpenOnEof?: boolean;
}

/**
 * A Protocol that logs its callbacks in order: `connectionMade`, `data:<text>` (consecutive
 * chunks merged, since TCP may split them), `eofReceived`, `connectionLost(<reason>)`, and
 * `pauseWriting`/`resumeWriting`. Futures say when each milestone happened.
 */
export class RecordingProtocol implements Protocol {
  readonly log: string[] = [];
  readonly chunks: Buffer[] = [];
  transport: Transport | null = null;
  received = 0;
  readonly made: Future<Transport>;
  readonly eof: Future<undefined>;
  readonly lost: Future<Error | null>;
  readonly #keepOpenOnEof: boolean;
  readonly #byteWaiters: [count: number, future: Future<undefined>][] = [];
  #forget: (() => void) | null = null;

  constructor(options: RecordingOptions = {}) {
    const loop = getRunningLoop();
    this.made = loop.createFuture();
    this.eof = loop.createFuture();
    this.lost = loop.createFuture();
    this.#keepOpenOnEof = options.keepOpenOnEof ?? false;
  }

  /** Everything received so far, as text. */
  get text(): string {
    return Buffer.concat(this.chunks).toString();
  }

  connectionMade(transport: Transport): void {
    this.log.push("connectionMade");
    this.transport = transport;
    this.#forget = onCleanup(() => {
      transport.abort();
    });
    this.made.setResult(transport);
  }

  dataReceived(data: Uint8Array): void {
    const text = Buffer.from(data).toString();
    const last = this.log.length - 1;
    if (this.log[last]?.startsWith("data:") === true) this.log[last] += text;
    else this.log.push(`data:${text}`);
    this.chunks.push(Buffer.from(data));
    this.received += data.length;
    for (const [count, future] of this.#byteWaiters) {
      if (this.received >= count && !future.done()) future.setResult(undefined);
    }
  }

  eofReceived(): unknown {
    this.log.push("eofReceived");
    this.eof.setResult(undefined);
    return this.#keepOpenOnEof;
  }

  connectionLost(error: Error | null): void {
    this.log.push(`connectionLost(${lostReason(error)})`);
    this.#forget?.();
    this.lost.setResult(error);
  }

  pauseWriting(): void {
    this.log.push("pauseWriting");
  }

  resumeWriting(): void {
    this.log.push("resumeWriting");
  }

  /** Wait until at least `count` bytes were received in all. */
  *receivedAtLeast(count: number): Coro<void> {
    if (this.received >= count) return;
    const future = getRunningLoop().createFuture<undefined>();
    this.#byteWaiters.push([count, future]);
    yield* future;
  }
}

/** A Node `net` server on 127.0.0.1 used as the peer of a tsyncio client. */
export interface NodePeerServer {
  readonly server: NetServer;
  readonly port: number;
  /** Every socket it accepted, in order. */
  readonly sockets: Socket[];
  /** Wait for the `n`th accepted socket (0-based). */
  accepted(n?: number): Coro<Socket>;
  /** Destroy every accepted socket and close the server. */
  close(): void;
}

/**
 * Listen with Node's `net` on 127.0.0.1 (a free port), half-open allowed; `onConnection` sees
 * each accepted socket first.
 */
export function* nodeServer(
  onConnection: (socket: Socket) => void = () => {},
  options: ServerOpts = {},
): Coro<NodePeerServer> {
  const server = createServer({ allowHalfOpen: true, ...options });
  const sockets: Socket[] = [];
  const close = (): void => {
    for (const socket of sockets) socket.destroy();
    server.close();
  };
  onCleanup(close);
  const waiters: [number, (socket: Socket) => void][] = [];
  server.on("connection", (socket) => {
    sockets.push(socket);
    socket.on("error", () => {});
    onConnection(socket);
    for (const [n, resolve] of waiters) if (sockets[n] !== undefined) resolve(sockets[n]);
  });
  yield* wrapPromise(
    new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    }),
  );
  const address = server.address();
  assert.ok(address !== null && typeof address === "object");
  return {
    server,
    port: address.port,
    sockets,
    *accepted(n = 0): Coro<Socket> {
      const found = sockets[n];
      if (found !== undefined) return found;
      return yield* wrapPromise(
        new Promise<Socket>((resolve) => {
          waiters.push([n, resolve]);
        }),
      );
    },
    close,
  };
}

/** Connect with Node's `net` (half-open allowed). */
export function* nodeConnect(options: NetConnectOpts): Coro<Socket> {
  const socket = connect({ allowHalfOpen: true, ...options } as NetConnectOpts);
  socket.on("error", () => {});
  onCleanup(() => socket.destroy());
  return yield* wrapPromise(
    new Promise<Socket>((resolve, reject) => {
      socket.once("connect", () => {
        resolve(socket);
      });
      socket.once("error", reject);
    }),
  );
}

/** What a Node socket received until it closed, and the error that closed it, if any. */
export interface NodeReceived {
  data: string;
  bytes: number;
  /** Whether the peer's EOF arrived ('end'). */
  ended: boolean;
  error: string | null;
}

/** Read `socket` until it is closed (it is resumed); ends its write side when the peer ends. */
export function readUntilClosed(
  socket: Socket,
  options: { endOnEof?: boolean } = {},
): Promise<NodeReceived> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ended = false;
    let error: string | null = null;
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("end", () => {
      ended = true;
      if (options.endOnEof ?? true) socket.end();
    });
    socket.on("error", (err: Error & { code?: string }) => {
      error = err.code ?? err.message;
    });
    socket.on("close", () => {
      const data = Buffer.concat(chunks);
      resolve({ data: data.toString(), bytes: data.length, ended, error });
    });
    socket.resume();
  });
}

/** Wait until `socket` received `text` in all (it is resumed). */
export function readText(socket: Socket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const onData = (chunk: Buffer): void => {
      got += chunk.toString();
      if (got.length >= text.length) {
        socket.off("data", onData);
        socket.off("close", onClose);
        resolve(got);
      }
    };
    const onClose = (): void => {
      reject(new Error(`the socket closed after ${JSON.stringify(got)}`));
    };
    socket.on("data", onData);
    socket.once("close", onClose);
    socket.resume();
  });
}

/** Write chunks of 1 MiB to `transport` until its buffer holds data (the peer does not read). */
export function fillUntilBuffered(transport: Transport, until = 1): number {
  const chunk = new Uint8Array(1024 * 1024).fill(120);
  let written = 0;
  for (let i = 0; i < 256 && transport.getWriteBufferSize() < until; i++) {
    transport.write(chunk);
    written += chunk.length;
  }
  assert.ok(transport.getWriteBufferSize() >= until, "the kernel took 256 MiB without blocking");
  return written;
}

/** The number of TCP socket handles the process holds (for leak checks). */
export function tcpHandles(): number {
  return process.getActiveResourcesInfo().filter((name) => name === "TCPSocketWrap").length;
}

/** Assert that the running loop waits on no outside operation (every socket was let go). */
export function assertNoHostOps(): void {
  assert.equal(getRunningLoop()._hostOps, 0, "the loop still counts outstanding I/O");
}

/**
 * A server on `host`:0 whose connections each get a new RecordingProtocol, tracked for
 * cleanup; returns it, the protocols as they are made, and its port.
 */
export function* recordingServer(
  options: Parameters<ReturnType<typeof getRunningLoop>["createServer"]>[3] = {},
  host: string | readonly string[] = "127.0.0.1",
): Coro<{ server: Server; protocols: RecordingProtocol[]; port: number }> {
  const protocols: RecordingProtocol[] = [];
  const server = yield* getRunningLoop().createServer(
    () => {
      const protocol = new RecordingProtocol();
      protocols.push(protocol);
      return protocol;
    },
    host,
    0,
    options,
  );
  trackServer(server);
  const sockets = server.sockets;
  const port = sockets.length === 0 ? 0 : (sockets[0]!.getsockname() as [string, number])[1];
  return { server, protocols, port };
}
