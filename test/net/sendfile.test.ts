import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import {
  CancelledError,
  RuntimeError,
  SendfileNotAvailableError,
  createTask,
  getRunningLoop,
  sleep,
  wrapPromise,
  type Coro,
  type DatagramProtocol,
  type Future,
  type Protocol,
  type Server,
  type Transport,
} from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";

// asyncio's test data: large enough to fill the socket buffers several times over.
const DATA = Buffer.alloc(1024 * 17 * 64 + 1);
for (let i = 0; i < DATA.length; i++) DATA[i] = i % 251;
const directory = mkdtempSync(join(tmpdir(), "tsyncio-sendfile-"));
const FILE = join(directory, "data.bin");
writeFileSync(FILE, DATA);
after(() => {
  rmSync(directory, { recursive: true, force: true });
});

/** The receiving end: keeps every byte, and may close after `closeAfter` bytes. */
class Sink implements Protocol {
  transport: Transport | null = null;
  readonly chunks: Buffer[] = [];
  nbytes = 0;
  readonly done: Future<Error | null>;
  readonly closeAfter: number;
  #wake: Future<undefined> | null = null;

  constructor(closeAfter = 0) {
    this.closeAfter = closeAfter;
    this.done = getRunningLoop().createFuture<Error | null>();
  }

  connectionMade(transport: Transport): void {
    this.transport = transport;
  }

  dataReceived(data: Uint8Array): void {
    this.chunks.push(Buffer.from(data));
    this.nbytes += data.length;
    if (this.closeAfter > 0 && this.nbytes >= this.closeAfter) this.transport?.close();
    const wake = this.#wake;
    this.#wake = null;
    if (wake !== null && !wake.done()) wake.setResult(undefined);
  }

  connectionLost(error: Error | null): void {
    if (!this.done.done()) this.done.setResult(error);
  }

  get data(): Buffer {
    return Buffer.concat(this.chunks);
  }

  *until(check: () => boolean): Coro<void> {
    while (!check()) {
      this.#wake = getRunningLoop().createFuture<undefined>();
      yield* this.#wake;
    }
  }
}

/** The sending end: logs what its transport tells it. */
class Source implements Protocol {
  readonly log: string[] = [];
  readonly lost: Future<Error | null>;
  #received: Future<undefined>;

  constructor() {
    this.lost = getRunningLoop().createFuture<Error | null>();
    this.#received = getRunningLoop().createFuture<undefined>();
  }

  dataReceived(data: Uint8Array): void {
    this.log.push(`data ${Buffer.from(data).toString()}`);
    if (!this.#received.done()) this.#received.setResult(undefined);
  }

  /** Wait for the first dataReceived. */
  *received(): Coro<void> {
    yield* this.#received;
  }

  pauseWriting(): void {
    this.log.push("pause");
  }

  resumeWriting(): void {
    this.log.push("resume");
  }

  connectionLost(error: Error | null): void {
    this.log.push(`lost ${String(error)}`);
    if (!this.lost.done()) this.lost.setResult(error);
  }
}

interface Connection {
  server: Server;
  sink: Sink;
  transport: Transport;
  source: Source;
}

const servers = new Set<Server>();
const transports = new Set<Transport>();

/** runVirtual, then abort whatever a failed test left open. */
function realIo(main: () => Coro<void>): Promise<void> {
  return runVirtual(function* () {
    try {
      yield* main();
    } finally {
      for (const transport of transports) transport.abort();
      for (const server of servers) server.close();
      transports.clear();
      servers.clear();
    }
  });
}

/** asyncio's `prepare_sendfile`: a server that collects, and a client connected to it. */
function* prepare(closeAfter = 0): Coro<Connection> {
  const loop = getRunningLoop();
  const sink = new Sink(closeAfter);
  const server = yield* loop.createServer(() => sink, "127.0.0.1", 0);
  servers.add(server);
  const [host, port] = server.sockets[0]!.getsockname() as [string, number];
  const source = new Source();
  const [transport] = yield* loop.createConnection(() => source, host, port);
  transports.add(transport);
  return { server, sink, transport, source };
}

/** asyncio's cleanup: close the client, wait for the server's side to see it, close. */
function* finish({ server, sink, transport }: Connection): Coro<void> {
  transport.close();
  yield* sink.done;
  server.close();
  yield* server.waitClosed();
}

function* openFile(): Coro<FileHandle> {
  return yield* wrapPromise(open(FILE, "r"));
}

/** Await `awaitable` and check that it throws `type` with `message`. */
function* assertThrows(
  awaitable: Iterable<unknown, unknown, unknown>,
  type: abstract new (...args: never[]) => Error,
  message: string | RegExp,
): Coro<unknown> {
  try {
    yield* awaitable as Coro<unknown>;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return error;
  }
  assert.fail(`expected ${type.name} to be thrown`);
}

describe("sendfile", () => {
  // asyncio: test_sendfile, test_sendfile_force_fallback
  it("sends a whole file given by path, and returns its size (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const sent = yield* getRunningLoop().sendfile(connection.transport, FILE);
      assert.equal(sent, DATA.length);
      yield* finish(connection);
      assert.equal(connection.sink.nbytes, DATA.length);
      assert.ok(connection.sink.data.equals(DATA));
    }));

  it("sends from an open FileHandle, and leaves it open (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const handle = yield* openFile();
      try {
        assert.equal(yield* getRunningLoop().sendfile(connection.transport, handle), DATA.length);
        const { bytesRead } = yield* wrapPromise(handle.read(Buffer.alloc(4), 0, 4, 0));
        assert.equal(bytesRead, 4);
      } finally {
        yield* wrapPromise(handle.close());
      }
      yield* finish(connection);
      assert.ok(connection.sink.data.equals(DATA));
    }));

  // asyncio: test_sendfile_partial
  it("sends count bytes from offset (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      assert.equal(yield* getRunningLoop().sendfile(connection.transport, FILE, 1000, 100), 100);
      yield* finish(connection);
      assert.ok(connection.sink.data.equals(DATA.subarray(1000, 1100)));
    }));

  it("sends up to the end when count goes past it, and nothing from the end (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const loop = getRunningLoop();
      const tail = DATA.length - 10;
      assert.equal(yield* loop.sendfile(connection.transport, FILE, tail, 1000), 10);
      assert.equal(yield* loop.sendfile(connection.transport, FILE, DATA.length), 0);
      yield* finish(connection);
      assert.ok(connection.sink.data.equals(DATA.subarray(tail)));
    }));

  // asyncio: test_sendfile_pre_and_post_data
  it("keeps data written before and after in order (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const prefix = Buffer.from("PREFIX__".repeat(1024));
      const suffix = Buffer.from("--SUFFIX".repeat(1024));
      connection.transport.write(prefix);
      const sent = yield* getRunningLoop().sendfile(connection.transport, FILE);
      connection.transport.write(suffix);
      assert.equal(sent, DATA.length);
      yield* finish(connection);
      assert.ok(connection.sink.data.equals(Buffer.concat([prefix, DATA, suffix])));
    }));

  it("gives the protocol no pauseWriting/resumeWriting of its own, and gives it back (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const { transport, source, sink } = connection;
      yield* getRunningLoop().sendfile(transport, FILE);
      assert.equal(transport.getProtocol(), source);
      assert.equal(transport.isReading(), true);
      assert.deepEqual(source.log, []);
      // Reading goes on, into the protocol the connection had.
      sink.transport!.write(Buffer.from("after"));
      yield* sink.until(() => sink.nbytes === DATA.length);
      yield* source.received();
      yield* finish(connection);
      assert.deepEqual(source.log, ["data after", "lost null"]);
    }));

  it("keeps the protocol's pauseWriting/resumeWriting paired when it was paused before (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const { transport, source, sink } = connection;
      // More than the kernel takes at once: the transport buffers the rest, and pauses.
      const BIG = 8 * 1024 * 1024;
      transport.write(Buffer.alloc(BIG));
      assert.deepEqual(source.log, ["pause"]);
      yield* getRunningLoop().sendfile(transport, FILE);
      yield* sink.until(() => sink.nbytes === BIG + DATA.length);
      yield* finish(connection);
      const flow = source.log.slice(0, -1);
      assert.equal(source.log.at(-1), "lost null");
      assert.ok(flow.length >= 2 && flow.length % 2 === 0, String(flow));
      flow.forEach((event, index) => {
        assert.equal(event, index % 2 === 0 ? "pause" : "resume", String(flow));
      });
    }));

  it("leaves a transport whose reading was paused paused (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      connection.transport.pauseReading();
      yield* getRunningLoop().sendfile(connection.transport, FILE, 0, 10);
      assert.equal(connection.transport.isReading(), false);
      yield* finish(connection);
    }));

  // asyncio: test_sendfile_close_peer_after_receiving
  it("returns the size when the peer closes after the last byte (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare(DATA.length);
      assert.equal(yield* getRunningLoop().sendfile(connection.transport, FILE), DATA.length);
      yield* connection.sink.done;
      yield* finish(connection);
      assert.equal(connection.sink.nbytes, DATA.length);
    }));

  // asyncio: test_sendfile_fallback_close_peer_in_the_middle_of_receiving
  it("throws a connection error when the peer closes in the middle (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare(1024);
      const error = yield* assertThrows(
        getRunningLoop().sendfile(connection.transport, FILE),
        Error,
        /./,
      );
      assert.ok(
        ["ECONNRESET", "EPIPE"].includes(String((error as NodeJS.ErrnoException).code)),
        `expected a connection error, got ${String(error)}`,
      );
      yield* connection.sink.done;
      assert.ok(connection.sink.nbytes >= 1024 && connection.sink.nbytes < DATA.length);
      assert.equal(connection.transport.isClosing(), true);
      assert.equal(connection.transport.getProtocol(), connection.source);
      yield* connection.source.lost;
      yield* finish(connection);
    }));

  it("stops between chunks when cancelled, and gives the transport back (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const { transport, source } = connection;
      const handle = yield* openFile();
      const task = createTask(getRunningLoop().sendfile(transport, handle));
      yield* sleep(0);
      // The task waits for its first read, with its stand-in protocol on the transport.
      assert.notEqual(transport.getProtocol(), source);
      task.cancel();
      yield* assertThrows(task, CancelledError, "");
      yield* wrapPromise(handle.close());
      assert.equal(transport.getProtocol(), source);
      assert.equal(transport.isReading(), true);
      assert.equal(transport.isClosing(), false);
      yield* finish(connection);
      assert.ok(connection.sink.nbytes < DATA.length);
      assert.ok(connection.sink.data.equals(DATA.subarray(0, connection.sink.nbytes)));
    }));

  // asyncio: test_sendfile_force_unsupported_native
  it("throws SendfileNotAvailableError with fallback: false, sending nothing (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      yield* assertThrows(
        getRunningLoop().sendfile(connection.transport, FILE, 0, null, { fallback: false }),
        SendfileNotAvailableError,
        "sendfile syscall is not supported: Node.js has no zero-copy sendfile for sockets; " +
          "use fallback: true",
      );
      yield* finish(connection);
      assert.equal(connection.sink.nbytes, 0);
    }));

  // asyncio: test_sendfile_for_closing_transp
  it("throws RuntimeError for a closing transport (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      connection.transport.close();
      yield* assertThrows(
        getRunningLoop().sendfile(connection.transport, FILE),
        RuntimeError,
        "Transport is closing",
      );
      yield* finish(connection);
      assert.equal(connection.sink.nbytes, 0);
    }));

  // asyncio: test_sendfile_not_supported
  it("throws RuntimeError for a datagram transport (real I/O)", () =>
    realIo(function* () {
      const loop = getRunningLoop();
      const [transport, protocol] = yield* loop.createDatagramEndpoint(
        (): DatagramProtocol & { lost?: Future<null> } => ({
          datagramReceived(): void {},
          lost: loop.createFuture<null>(),
          connectionLost(this: { lost: Future<null> }): void {
            this.lost.setResult(null);
          },
        }),
        { family: 4 },
      );
      yield* assertThrows(
        loop.sendfile(transport, FILE),
        RuntimeError,
        "sendfile is not supported for transport <DatagramTransport open read=polling write=<idle, bufsize=0>>",
      );
      transport.close();
      yield* protocol.lost!;
    }));

  it("throws TypeError and RangeError for a bad offset or count (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const loop = getRunningLoop();
      const { transport } = connection;
      yield* assertThrows(
        loop.sendfile(transport, FILE, 0, 0),
        RangeError,
        "count must be a positive integer (got 0)",
      );
      yield* assertThrows(
        loop.sendfile(transport, FILE, 0, 1.5),
        TypeError,
        "count must be a positive integer (got 1.5)",
      );
      yield* assertThrows(
        loop.sendfile(transport, FILE, -1),
        RangeError,
        "offset must be a non-negative integer (got -1)",
      );
      yield* assertThrows(
        loop.sendfile(transport, FILE, "0" as unknown as number),
        TypeError,
        "offset must be a non-negative integer (got '0')",
      );
      yield* assertThrows(
        loop.sendfile(transport, 42 as unknown as string),
        TypeError,
        "file must be a FileHandle or a path, got 42",
      );
      yield* finish(connection);
      assert.equal(connection.sink.nbytes, 0);
    }));

  it("throws the file's error for a missing file, leaving the transport as it was (real I/O)", () =>
    realIo(function* () {
      const connection = yield* prepare();
      const error = yield* assertThrows(
        getRunningLoop().sendfile(connection.transport, join(directory, "missing")),
        Error,
        /ENOENT/,
      );
      assert.equal((error as NodeJS.ErrnoException).code, "ENOENT");
      assert.equal(connection.transport.getProtocol(), connection.source);
      assert.equal(connection.transport.isReading(), true);
      yield* finish(connection);
    }));
});
