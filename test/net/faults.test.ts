// Faults and bad input: a line service built on startServer keeps answering a well-behaved
// tsyncio client while Node `net` sockets misbehave against it (they reset mid-message,
// half-close, connect and send nothing, send a line longer than the limit, send faster than
// the handler reads), its memory stays bounded by the reader's limit, and its tasks, I/O and
// sockets are all gone after close() and waitClosed().
import assert from "node:assert/strict";
import { connect as netConnect, type Socket } from "node:net";
import { describe, it } from "node:test";
import {
  Event,
  LimitOverrunError,
  TimeoutError,
  allTasks,
  createTask,
  currentTask,
  getRunningLoop,
  sleep,
  timeout,
  wrapPromise,
  type Coro,
  type Server,
} from "../../src/index.ts";
import {
  openConnection,
  startServer,
  type StreamReader,
  type StreamWriter,
} from "../../src/streams/index.ts";
import { runReal } from "../helpers/programs.ts";

const b = (value: string): Buffer => Buffer.from(value);
const text = (data: Uint8Array): string => Buffer.from(data).toString();

/** The reader's limit: lines may be 1 KiB long. */
const LIMIT = 1024;
/**
 * Seconds a client may stay silent before the service closes it: short, yet long enough
 * for the well-behaved client to send its next line on a loaded machine.
 */
const IDLE = 0.1;

/** The port of a TCP server. */
function portOf(server: Server): number {
  const name = server.sockets[0]?.getsockname();
  assert.ok(Array.isArray(name), "the server does not listen on TCP");
  return name[1];
}

/** What the service saw on one connection. */
interface Connection {
  events: string[];
  /** Bytes fed to the reader so far. */
  received: number;
  /** The most bytes the reader held right after a chunk was fed, and the largest chunk. */
  maxBuffered: number;
  maxChunk: number;
  /** Chunks fed while the transport was not reading (asyncio feeds none). */
  fedWhilePaused: number;
  /** Whether the transport was seen paused (not reading). */
  pausedSeen: boolean;
}

/** Every connection the service accepted, by the client's port. */
type Connections = Map<number, Connection>;

/** The bytes a StreamReader holds, from its repr (`<StreamReader 123 bytes ...>`). */
function bufferedBytes(reader: StreamReader): number {
  const match = /^<StreamReader (\d+) bytes/.exec(String(reader));
  return match === null ? 0 : Number(match[1]);
}

/** Watch what the transport feeds `reader`: sizes, and whether reading was paused. */
function watchFeeding(reader: StreamReader, writer: StreamWriter, connection: Connection): void {
  const feed = reader._feedOwned.bind(reader);
  reader._feedOwned = (data: Uint8Array): void => {
    if (!writer.transport.isReading()) connection.fedWhilePaused++;
    feed(data);
    connection.received += data.length;
    connection.maxChunk = Math.max(connection.maxChunk, data.length);
    connection.maxBuffered = Math.max(connection.maxBuffered, bufferedBytes(reader));
    if (!writer.transport.isReading()) connection.pausedSeen = true;
  };
}

/** The code of a connection error (ECONNRESET, ...), or the error's name. */
function codeOf(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : error instanceof Error ? error.name : String(error);
}

/**
 * The line service: answers each line upper-cased and, at the client's EOF, `N lines`, then
 * closes. A client silent for `idle` seconds (default IDLE) is closed; a line longer than the limit gets
 * `ERR line too long` and the connection is closed. With `slowEvery`, the handler sleeps
 * a millisecond every that many lines: it reads slower than a fast client sends.
 */
function lineService(
  connections: Connections,
  options: { slowEvery?: number | undefined; idle?: number | undefined } = {},
): (reader: StreamReader, writer: StreamWriter) => Coro<void> {
  const idle = options.idle ?? IDLE;
  return function* (reader, writer) {
    const peer = writer.getExtraInfo("peername") as [string, number];
    const connection: Connection = {
      events: [],
      received: 0,
      maxBuffered: 0,
      maxChunk: 0,
      fedWhilePaused: 0,
      pausedSeen: false,
    };
    connections.set(peer[1], connection);
    watchFeeding(reader, writer, connection);
    const log = (event: string): void => {
      connection.events.push(event);
    };
    try {
      yield* timeout(idle, function* (deadline) {
        let lines = 0;
        for (;;) {
          const line = yield* reader.readline();
          deadline.reschedule(getRunningLoop().time() + idle);
          if (line.length === 0) {
            log("eof");
            writer.write(b(`${lines} lines\n`));
            return;
          }
          lines++;
          writer.write(b(text(line).toUpperCase()));
          yield* writer.drain();
          if (options.slowEvery !== undefined && lines % options.slowEvery === 0) {
            yield* sleep(0.001);
          }
        }
      });
    } catch (error) {
      if (error instanceof TimeoutError) {
        log("idle timeout");
      } else if (error instanceof RangeError && error.cause instanceof LimitOverrunError) {
        log(`RangeError: ${error.message}`);
        writer.write(b("ERR line too long\n"));
      } else {
        log(`read failed: ${codeOf(error)}`);
      }
    } finally {
      writer.close();
    }
    try {
      yield* writer.waitClosed();
      log("closed");
    } catch (error) {
      log(`closed with ${codeOf(error)}`);
    }
  };
}

/**
 * A well-behaved client: sends `ping N` lines and checks each answer until `stop` is set
 * (at least 3 rounds), then half-closes, checks the `N lines` summary and closes. Returns
 * the number of rounds.
 */
function* wellBehaved(port: number, stop: Event): Coro<number> {
  const [reader, writer] = yield* openConnection("127.0.0.1", port);
  let rounds = 0;
  while (rounds < 3 || !stop.isSet()) {
    writer.write(b(`ping ${rounds}\n`));
    yield* writer.drain();
    assert.equal(text(yield* reader.readline()), `PING ${rounds}\n`);
    rounds++;
  }
  writer.writeEof();
  assert.equal(text(yield* reader.read()), `${rounds} lines\n`);
  assert.equal(reader.atEof(), true);
  writer.close();
  yield* writer.waitClosed();
  return rounds;
}

/** A misbehaving peer: a Node socket to the service, with what it received and how it ended. */
interface Peer {
  socket: Socket;
  port: number;
  /** Everything received, as text. */
  received(): string;
  /** Settles when the socket closed: `end` (the service's FIN came) or the error code. */
  ended: Promise<string>;
}

/** Connect a Node socket to 127.0.0.1:`port` and wait until it is connected. */
function* connectPeer(port: number): Coro<Peer> {
  const socket = netConnect({ host: "127.0.0.1", port });
  const chunks: Buffer[] = [];
  let how = "closed";
  socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  socket.on("end", () => {
    how = "end";
  });
  socket.on("error", (error) => {
    how = codeOf(error);
  });
  const ended = new Promise<string>((resolve) => {
    socket.once("close", () => {
      resolve(how);
    });
  });
  yield* wrapPromise(
    new Promise<void>((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    }),
  );
  return {
    socket,
    port: socket.localPort ?? 0,
    received: () => Buffer.concat(chunks).toString(),
    ended,
  };
}

/** Wait (at most `ms`) for a peer's socket to close; destroy it if it does not. */
function* peerEnded(peer: Peer, ms = 1000): Coro<string> {
  const timer = setTimeout(() => peer.socket.destroy(), ms);
  try {
    return yield* wrapPromise(peer.ended);
  } finally {
    clearTimeout(timer);
  }
}

/** Wait until `check()` holds, polling every 2 ms, for at most `ms` milliseconds. */
function* until(check: () => boolean, what: string, ms = 1000): Coro<void> {
  const deadline = getRunningLoop().time() + ms / 1000;
  while (!check()) {
    assert.ok(getRunningLoop().time() < deadline, `not within ${ms} ms: ${what}`);
    yield* sleep(0.002);
  }
}

/** How many TCP socket and TCP server handles the process holds. */
function tcpHandles(): { sockets: number; servers: number } {
  const names = process.getActiveResourcesInfo();
  return {
    sockets: names.filter((name) => name === "TCPSocketWrap").length,
    servers: names.filter((name) => name === "TCPServerWrap").length,
  };
}

/**
 * Close `server`, wait for it, and assert that nothing of it is left: no outstanding I/O
 * on the loop, and (once Node has closed the handles it is closing) no more TCP handles
 * than `baseline`, and that the test's task is the only one left at once, as in asyncio.
 */
function* closeAndCheck(
  server: Server,
  baseline: { sockets: number; servers: number },
): Coro<void> {
  server.close();
  yield* server.waitClosed();
  const tasksAtOnce = [...allTasks()].map(String);
  assert.equal(getRunningLoop()._hostOps, 0, "the loop still counts outstanding I/O");
  yield* until(() => {
    const now = tcpHandles();
    return now.sockets <= baseline.sockets && now.servers <= baseline.servers;
  }, "the server's TCP handles are closed");
  assert.deepEqual(tasksAtOnce, [String(currentTask())], "tasks are left after waitClosed()");
}

/**
 * Start the service, run a well-behaved client throughout `misbehave(port, connections)`,
 * check the client's answers, then close the server and check that nothing is left.
 */
function* whileServing(
  misbehave: (port: number, connections: Connections) => Coro<void>,
  options: { slowEvery?: number; idle?: number } = {},
): Coro<Connections> {
  const baseline = tcpHandles();
  const connections: Connections = new Map();
  const server = yield* startServer(lineService(connections, options), "127.0.0.1", 0, {
    limit: LIMIT,
  });
  const port = portOf(server);
  const stop = new Event();
  const client = createTask(wellBehaved(port, stop));
  try {
    yield* misbehave(port, connections);
  } finally {
    stop.set();
  }
  const rounds = yield* client;
  assert.ok(rounds >= 3);
  yield* closeAndCheck(server, baseline);
  // The well-behaved client's connection saw no fault.
  const goodEvents = [...connections.values()].filter((c) => c.events[0] === "eof");
  assert.ok(goodEvents.length >= 1, "the well-behaved client's connection is missing");
  return connections;
}

/** The service's record of the connection from `peer`. */
function connectionOf(connections: Connections, peer: Peer): Connection {
  const connection = connections.get(peer.port);
  assert.ok(connection !== undefined, `no connection from port ${peer.port}`);
  return connection;
}

describe("a server on startServer, with misbehaving peers", () => {
  it("keeps serving while a peer resets the connection mid-line (real I/O)", () =>
    runReal(function* () {
      yield* whileServing(function* (port, connections) {
        const peer = yield* connectPeer(port);
        peer.socket.write("half a li");
        yield* until(
          () => connections.get(peer.port)?.received === 9,
          "the service received the half line",
        );
        peer.socket.resetAndDestroy();
        yield* until(
          () => connections.get(peer.port)?.events.length === 2,
          "the service handled the reset",
        );
        assert.deepEqual(connectionOf(connections, peer).events, [
          "read failed: ECONNRESET",
          "closed with ECONNRESET",
        ]);
        assert.equal(peer.received(), "");
      });
    }));

  it("reads a half-closed peer to EOF and still answers it (real I/O)", () =>
    runReal(function* () {
      yield* whileServing(function* (port, connections) {
        const peer = yield* connectPeer(port);
        peer.socket.end("one\ntwo\nthree\n");
        assert.equal(yield* peerEnded(peer), "end");
        assert.equal(peer.received(), "ONE\nTWO\nTHREE\n3 lines\n");
        yield* until(
          () => connections.get(peer.port)?.events.length === 2,
          "the service closed the connection",
        );
        assert.deepEqual(connectionOf(connections, peer).events, ["eof", "closed"]);
      });
    }));

  it("closes a peer that connects and sends nothing after its idle timeout (real I/O)", () =>
    runReal(function* () {
      yield* whileServing(function* (port, connections) {
        const started = getRunningLoop().time();
        const peer = yield* connectPeer(port);
        assert.equal(yield* peerEnded(peer), "end");
        const waited = getRunningLoop().time() - started;
        assert.ok(waited >= IDLE * 0.9 && waited < IDLE + 0.5, `closed after ${waited} s`);
        assert.equal(peer.received(), "");
        yield* until(
          () => connections.get(peer.port)?.events.length === 2,
          "the service closed the connection",
        );
        assert.deepEqual(connectionOf(connections, peer).events, ["idle timeout", "closed"]);
        peer.socket.destroy();
      });
    }));

  it("answers a line longer than the limit with an error and closes that peer (real I/O)", () =>
    runReal(function* () {
      yield* whileServing(function* (port, connections) {
        const peer = yield* connectPeer(port);
        peer.socket.write("x".repeat(4 * LIMIT));
        assert.equal(yield* peerEnded(peer), "end");
        assert.equal(peer.received(), "ERR line too long\n");
        yield* until(
          () => connections.get(peer.port)?.events.length === 2,
          "the service closed the connection",
        );
        assert.deepEqual(connectionOf(connections, peer).events, [
          "RangeError: Separator is not found, and chunk exceed the limit",
          "closed",
        ]);
        peer.socket.destroy();
      });
    }));

  it("pauses reading from a peer that sends faster than the handler reads: memory stays bounded (real I/O)", () =>
    runReal(function* () {
      const lines = Array.from(
        { length: 1024 },
        (_, i) => `${String(i).padStart(4, "0")} ${"y".repeat(1000)}\n`,
      );
      const payload = lines.join("");
      yield* whileServing(
        function* (port, connections) {
          const peer = yield* connectPeer(port);
          // One write of 1 MiB: Node hands the kernel all it takes at once.
          peer.socket.end(payload);
          assert.equal(yield* peerEnded(peer, 1500), "end");
          assert.equal(peer.received(), `${payload.toUpperCase()}1024 lines\n`);
          yield* until(
            () => connections.get(peer.port)?.events.length === 2,
            "the service closed the connection",
          );
          const connection = connectionOf(connections, peer);
          assert.deepEqual(connection.events, ["eof", "closed"]);
          assert.equal(connection.received, payload.length);
          assert.equal(connection.pausedSeen, true, "the transport never paused reading");
          assert.ok(
            connection.maxBuffered <= 2 * LIMIT + connection.maxChunk,
            `the reader held ${connection.maxBuffered} bytes (limit ${LIMIT}, chunks up to ${connection.maxChunk})`,
          );
          assert.equal(connection.fedWhilePaused, 0, "data was fed after pauseReading()");
        },
        // The idle timeout is not what this test is about: give the loaded loop time.
        { slowEvery: 32, idle: 1 },
      );
    }));

  it("leaves only the test's task, no I/O and no socket once close() and waitClosed() return, as asyncio (real I/O)", () =>
    runReal(function* () {
      const baseline = tcpHandles();
      const connections: Connections = new Map();
      const server = yield* startServer(lineService(connections), "127.0.0.1", 0, {
        limit: LIMIT,
      });
      const port = portOf(server);
      const stop = new Event();
      const client = createTask(wellBehaved(port, stop));
      const reset = yield* connectPeer(port);
      const halfClose = yield* connectPeer(port);
      const long = yield* connectPeer(port);
      reset.socket.write("partial");
      halfClose.socket.end("last words\n");
      long.socket.write("z".repeat(3 * LIMIT));
      yield* until(
        () => connections.get(reset.port)?.received === 7,
        "the service received the partial line",
      );
      reset.socket.resetAndDestroy();
      for (const peer of [reset, halfClose, long]) yield* peerEnded(peer);
      assert.equal(halfClose.received(), "LAST WORDS\n1 lines\n");
      assert.equal(long.received(), "ERR line too long\n");
      stop.set();
      assert.ok((yield* client) >= 3);
      // The silent peer is still connected when the server closes: waitClosed() returns
      // once its idle timeout has closed it.
      const silent = yield* connectPeer(port);
      yield* closeAndCheck(server, baseline);
      assert.equal(yield* peerEnded(silent), "end");
      assert.deepEqual(
        [reset, halfClose, long, silent].map((peer) => connectionOf(connections, peer).events),
        [
          ["read failed: ECONNRESET", "closed with ECONNRESET"],
          ["eof", "closed"],
          ["RangeError: Separator is not found, and chunk exceed the limit", "closed"],
          ["idle timeout", "closed"],
        ],
      );
    }));
});
