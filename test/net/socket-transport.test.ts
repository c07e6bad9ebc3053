// Tests for src/net/socket-transport.ts: the stream Transport over a Node socket, as asyncio's
// _SelectorSocketTransport, on loopback with Node `net` peers (the traces were recorded on
// CPython 3.13 with the same scenarios).
import assert from "node:assert/strict";
import { Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  ContextVar,
  RuntimeError,
  getRunningLoop,
  sleep,
  waitFor,
  wrapPromise,
  type BufferedProtocol,
  type Coro,
  type ExceptionContext,
  type Protocol,
  type Transport,
} from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { captureConsole, captureExceptions } from "../helpers/capture.ts";
import { ZeroDivisionError, throwsExactly } from "../helpers/errors.ts";
import {
  RecordingProtocol,
  assertNoHostOps,
  cleanupAll,
  fillUntilBuffered,
  lostReason,
  nodeConnect,
  nodeServer,
  readUntilClosed,
  recordingServer,
  trackServer,
  type NodePeerServer,
} from "../helpers/recording-protocol.ts";

const LOCALHOST = "127.0.0.1";

afterEach(cleanupAll);

/** Connect a protocol from `factory` (a RecordingProtocol by default) to `peer`. */
function connectTo(peer: NodePeerServer): Coro<[Transport, RecordingProtocol]>;
function connectTo<P extends Protocol | BufferedProtocol>(
  peer: NodePeerServer,
  factory: () => P,
): Coro<[Transport, P]>;
function* connectTo(
  peer: NodePeerServer,
  factory: () => Protocol | BufferedProtocol = () => new RecordingProtocol(),
): Coro<[Transport, Protocol | BufferedProtocol]> {
  return yield* getRunningLoop().createConnection(factory, LOCALHOST, peer.port);
}

/** A transport's toString() (the Transport interface does not declare it). */
function repr(transport: Transport): string {
  return (transport as unknown as { toString(): string }).toString();
}

/** Run `main` on a virtual loop whose exception handler records into the returned list. */
function runCapturing(main: (seen: ExceptionContext[]) => Coro<void>): Promise<void> {
  let seen: ExceptionContext[] = [];
  return runVirtual(
    function* () {
      yield* main(seen);
    },
    {
      setup: (loop) => {
        seen = captureExceptions(loop);
      },
    },
  );
}

describe("SocketTransport callbacks", () => {
  it("calls connectionMade, dataReceived, eofReceived and connectionLost(null) in order, once each (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer((socket) => {
        socket.write("hel");
        setTimeout(() => socket.end("lo"), 2);
      });
      try {
        const [, protocol] = yield* connectTo(peer);
        yield* protocol.lost;
        yield* sleep(0);
        assert.deepEqual(protocol.log, [
          "connectionMade",
          "data:hello",
          "eofReceived",
          "connectionLost(null)",
        ]);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  it("calls them in the same order on a connection a server accepted (real I/O)", () =>
    runVirtual(function* () {
      const { server, protocols, port } = yield* recordingServer({}, LOCALHOST);
      const client = yield* nodeConnect({ host: LOCALHOST, port });
      client.end("ping");
      const received = yield* wrapPromise(readUntilClosed(client));
      yield* protocols[0]!.lost;
      assert.deepEqual(protocols[0]!.log, [
        "connectionMade",
        "data:ping",
        "eofReceived",
        "connectionLost(null)",
      ]);
      assert.deepEqual(received, { data: "", bytes: 0, ended: true, error: null });
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("has run connectionMade when createConnection returns, and not before (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const created: RecordingProtocol[] = [];
        const [transport, protocol] = yield* connectTo(peer, () => {
          const recorder = new RecordingProtocol();
          created.push(recorder);
          return recorder;
        });
        assert.deepEqual(created, [protocol]);
        assert.equal(protocol.transport, transport);
        assert.deepEqual(protocol.log, ["connectionMade"]);
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  it("calls connectionLost on a later iteration than close(), never from inside it (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        transport.close();
        assert.equal(transport.isClosing(), true);
        assert.deepEqual(protocol.log, ["connectionMade"]);
        yield* sleep(0);
        assert.deepEqual(protocol.log, ["connectionMade", "connectionLost(null)"]);
        transport.close();
        transport.abort();
        yield* sleep(0);
        assert.deepEqual(protocol.log, ["connectionMade", "connectionLost(null)"]);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  // asyncio: test_read_ready_conn_reset
  it("reports a peer's reset as connectionLost(ECONNRESET), without eofReceived or a handler call (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer((socket) => {
        socket.write("x");
        socket.once("data", () => {
          socket.resetAndDestroy();
        });
      });
      try {
        const [transport, protocol] = yield* connectTo(peer);
        yield* protocol.receivedAtLeast(1);
        transport.write(Buffer.from("reset me"));
        const error = yield* protocol.lost;
        assert.ok(error instanceof Error);
        assert.equal((error as Error & { code?: string }).code, "ECONNRESET");
        assert.deepEqual(protocol.log, ["connectionMade", "data:x", "connectionLost(ECONNRESET)"]);
        assert.equal(transport.isClosing(), true);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  it("runs each callback in the Context the transport was made in (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer((socket) => socket.end("hi"));
      try {
        const name = new ContextVar<string>("name", { default: "unset" });
        name.set("client");
        const seen: string[] = [];
        const [, protocol] = yield* connectTo(peer, () => {
          const recorder = new RecordingProtocol();
          const wrap = <A extends unknown[]>(f: (...args: A) => unknown) => {
            return (...args: A): unknown => {
              seen.push(name.get());
              return f.apply(recorder, args);
            };
          };
          recorder.connectionMade = wrap(recorder.connectionMade);
          recorder.dataReceived = wrap(recorder.dataReceived);
          recorder.eofReceived = wrap(recorder.eofReceived);
          recorder.connectionLost = wrap(recorder.connectionLost);
          return recorder;
        });
        name.set("changed later");
        yield* protocol.lost;
        assert.deepEqual(seen, ["client", "client", "client", "client"]);
      } finally {
        peer.close();
      }
    }));

  it("reports connectionMade's error to the handler and still connects and reads, as asyncio (real I/O)", () =>
    runCapturing(function* (seen) {
      // asyncio: connection_made is a callback of its own; its error is reported as
      // "Exception in callback ...", and create_connection returns (transport, protocol).
      const peer = yield* nodeServer((socket) => socket.end("after"));
      let made: Transport | null = null;
      try {
        // Bounded: a createConnection that never returns fails after 1 virtual second.
        const [transport, protocol] = yield* waitFor(
          connectTo(peer, () => {
            const recorder = new RecordingProtocol();
            recorder.connectionMade = (transport: Transport) => {
              made = transport;
              recorder.log.push("connectionMade");
              throw new ZeroDivisionError("made");
            };
            return recorder;
          }),
          1,
        );
        assert.equal(transport.isClosing(), false);
        yield* protocol.lost;
        assert.deepEqual(protocol.log, [
          "connectionMade",
          "data:after",
          "eofReceived",
          "connectionLost(null)",
        ]);
        assert.equal(seen.length, 1);
        assert.ok(seen[0]!.message.startsWith("Exception in callback "), seen[0]!.message);
        assert.ok(seen[0]!.exception instanceof ZeroDivisionError);
      } finally {
        (made as Transport | null)?.abort();
        peer.close();
      }
    }));
});

describe("SocketTransport.write", () => {
  it("sends bytes in order, Buffers and Uint8Arrays alike, and writelines each chunk (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        const socket = yield* peer.accepted();
        const received = readUntilClosed(socket);
        transport.write(Buffer.from("one "));
        transport.write(new TextEncoder().encode("two "));
        transport.writelines([Buffer.from("three "), new Uint8Array([102, 111, 117, 114])]);
        transport.close();
        assert.equal((yield* wrapPromise(received)).data, "one two three four");
        assert.equal(yield* protocol.lost, null);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  // asyncio: test_write_str
  it("throws a TypeError for data that is not bytes (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        // asyncio: TypeError "data argument must be a bytes-like object, not 'str'"
        throwsExactly(
          () => {
            transport.write("abc" as unknown as Uint8Array);
          },
          TypeError,
          "data argument must be a bytes-like object (a Uint8Array), not 'abc'",
        );
        throwsExactly(
          () => {
            transport.writelines([Buffer.from("ok"), 42 as unknown as Uint8Array]);
          },
          TypeError,
          "data argument must be a bytes-like object (a Uint8Array), not 42",
        );
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  // asyncio: test_write_no_data
  it("ignores an empty write (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        transport.write(new Uint8Array(0));
        transport.writelines([]);
        assert.equal(transport.getWriteBufferSize(), 0);
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  // asyncio: test_write_eof
  it("throws RuntimeError after writeEof(), even for empty data, and writeEof() is idempotent (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        assert.equal(transport.canWriteEof(), true);
        transport.writeEof();
        transport.writeEof();
        for (const data of [Buffer.from("x"), new Uint8Array(0)]) {
          throwsExactly(
            () => {
              transport.write(data);
            },
            RuntimeError,
            "Cannot call write() after write_eof()",
          );
        }
        assert.equal(transport.isClosing(), false);
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  // asyncio: test_write_exception (the LOG_THRESHOLD_FOR_CONNLOST_WRITES warning)
  it("drops writes after the connection is lost, warning from the 5th one on, as asyncio (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        transport.close();
        yield* protocol.lost;
        // asyncio counts close() as the first loss; each write from the 5th on logs.
        const warnings = captureConsole("warn", () => {
          for (let i = 0; i < 7; i++) transport.write(Buffer.from("lost"));
        });
        assert.deepEqual(warnings, [
          "socket.send() raised exception.",
          "socket.send() raised exception.",
          "socket.send() raised exception.",
        ]);
      } finally {
        peer.close();
      }
    }));

  it("sends what is written after close() while data is still buffered, as asyncio (real I/O)", () =>
    runCapturing(function* (seen) {
      const peer = yield* nodeServer(() => {}, { pauseOnConnect: true });
      try {
        const [transport, protocol] = yield* connectTo(peer);
        const socket = yield* peer.accepted();
        let written = fillUntilBuffered(transport);
        transport.close();
        transport.write(Buffer.from("tail"));
        written += 4;
        const received = readUntilClosed(socket);
        assert.equal(lostReason(yield* protocol.lost), "null");
        const { bytes, data } = yield* wrapPromise(received);
        assert.equal(bytes, written);
        assert.ok(data.endsWith("xtail"));
        assert.deepEqual(seen, []);
      } finally {
        peer.close();
      }
    }));
});

describe("SocketTransport half-close", () => {
  it("writeEof() sends EOF while reading goes on (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer((socket) => {
        void readUntilClosed(socket, { endOnEof: false }).then(() => {});
        socket.on("end", () => {
          socket.end("pong");
        });
      });
      try {
        const [transport, protocol] = yield* connectTo(peer);
        transport.write(Buffer.from("ping"));
        transport.writeEof();
        assert.equal(transport.isClosing(), false);
        assert.equal(transport.isReading(), true);
        yield* protocol.lost;
        assert.deepEqual(protocol.log, [
          "connectionMade",
          "data:pong",
          "eofReceived",
          "connectionLost(null)",
        ]);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  it("eofReceived returning a truthy value keeps the write side open (real I/O)", () =>
    runVirtual(function* () {
      const protocols: RecordingProtocol[] = [];
      const server = yield* getRunningLoop().createServer(
        () => {
          const protocol = new RecordingProtocol({ keepOpenOnEof: true });
          protocols.push(protocol);
          return protocol;
        },
        LOCALHOST,
        0,
      );
      trackServer(server);
      const port = (server.sockets[0]!.getsockname() as [string, number])[1];
      const client = yield* nodeConnect({ host: LOCALHOST, port });
      const received = readUntilClosed(client, { endOnEof: false });
      client.end("ping");
      const protocol = yield* waitProtocol(protocols);
      yield* protocol.eof;
      yield* sleep(0);
      const transport = protocol.transport!;
      assert.equal(transport.isClosing(), false);
      transport.write(Buffer.from("pong"));
      transport.close();
      assert.deepEqual(yield* wrapPromise(received), {
        data: "pong",
        bytes: 4,
        ended: true,
        error: null,
      });
      yield* protocol.lost;
      assert.deepEqual(protocol.log, [
        "connectionMade",
        "data:ping",
        "eofReceived",
        "connectionLost(null)",
      ]);
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("eofReceived returning a falsy value closes the transport (real I/O)", () =>
    runVirtual(function* () {
      const { server, protocols, port } = yield* recordingServer({}, LOCALHOST);
      const client = yield* nodeConnect({ host: LOCALHOST, port });
      const received = readUntilClosed(client, { endOnEof: false });
      client.end("ping");
      const protocol = yield* waitProtocol(protocols);
      yield* protocol.eof;
      assert.equal(protocol.transport!.isClosing(), true);
      assert.deepEqual(yield* wrapPromise(received), {
        data: "",
        bytes: 0,
        ended: true,
        error: null,
      });
      yield* protocol.lost;
      assert.deepEqual(protocol.log, [
        "connectionMade",
        "data:ping",
        "eofReceived",
        "connectionLost(null)",
      ]);
      server.close();
      yield* server.waitClosed();
    }));
});

describe("SocketTransport.close and abort", () => {
  // asyncio: test_close_write_buffer
  it("close() sends everything buffered before connectionLost(null) (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer(() => {}, { pauseOnConnect: true });
      try {
        const [transport, protocol] = yield* connectTo(peer);
        const socket = yield* peer.accepted();
        const written = fillUntilBuffered(transport);
        transport.close();
        assert.equal(transport.isClosing(), true);
        assert.equal(transport.isReading(), false);
        yield* wrapPromise(delay(5));
        assert.deepEqual(protocol.log, ["connectionMade", "pauseWriting"]);
        const received = yield* wrapPromise(readUntilClosed(socket));
        assert.equal(received.bytes, written);
        assert.equal(received.ended, true);
        assert.equal(yield* protocol.lost, null);
        assert.equal(transport.getWriteBufferSize(), 0);
        assert.deepEqual(protocol.log, [
          "connectionMade",
          "pauseWriting",
          "resumeWriting",
          "connectionLost(null)",
        ]);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  // asyncio: test_abort
  it("abort() drops what is buffered and calls connectionLost(null) (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer(() => {}, { pauseOnConnect: true });
      try {
        const [transport, protocol] = yield* connectTo(peer);
        const socket = yield* peer.accepted();
        const written = fillUntilBuffered(transport);
        const buffered = transport.getWriteBufferSize();
        transport.abort();
        assert.equal(transport.isClosing(), true);
        assert.deepEqual(protocol.log, ["connectionMade", "pauseWriting"]);
        yield* sleep(0);
        assert.deepEqual(protocol.log, ["connectionMade", "pauseWriting", "connectionLost(null)"]);
        const received = yield* wrapPromise(readUntilClosed(socket));
        assert.ok(received.bytes < written, `all ${written} bytes arrived`);
        assert.ok(received.bytes >= written - buffered, "the kernel's bytes were lost too");
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));
});

describe("SocketTransport reading", () => {
  // asyncio: test_pause_resume_reading
  it("isReading() is true once connected, and pauseReading()/resumeReading() toggle it idempotently (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        assert.equal(transport.isReading(), true);
        transport.pauseReading();
        transport.pauseReading();
        assert.equal(transport.isReading(), false);
        transport.resumeReading();
        transport.resumeReading();
        assert.equal(transport.isReading(), true);
        transport.close();
        assert.equal(transport.isReading(), false);
        transport.resumeReading();
        assert.equal(transport.isReading(), false);
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  it("delivers no data while paused, and all of it after resumeReading() (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        transport.pauseReading();
        const socket = yield* peer.accepted();
        socket.write("while paused");
        yield* wrapPromise(delay(10));
        assert.deepEqual(protocol.log, ["connectionMade"]);
        transport.resumeReading();
        yield* protocol.receivedAtLeast(12);
        assert.deepEqual(protocol.log, ["connectionMade", "data:while paused"]);
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  it("calls no dataReceived after pauseReading(), even with more data already read (real I/O)", () =>
    runVirtual(function* () {
      const big = Buffer.alloc(1024 * 1024, 97);
      const peer = yield* nodeServer((socket) => socket.end(big));
      try {
        const log: string[] = [];
        const [transport, protocol] = yield* connectTo(peer, () => {
          const recorder = new RecordingProtocol();
          const plain = recorder.dataReceived.bind(recorder);
          recorder.dataReceived = (data: Uint8Array) => {
            if (!recorder.transport!.isReading()) log.push("data while paused");
            else if (log.length === 0) {
              log.push("data, then pauseReading()");
              recorder.transport!.pauseReading();
            }
            plain(data);
          };
          return recorder;
        });
        yield* protocol.receivedAtLeast(1);
        yield* wrapPromise(delay(10));
        assert.deepEqual(log, ["data, then pauseReading()"]);
        transport.resumeReading();
        yield* protocol.lost;
        assert.equal(protocol.received, big.length);
        assert.deepEqual(log, ["data, then pauseReading()"]);
      } finally {
        peer.close();
      }
    }));

  // asyncio: test_buffered_proto_create_connection
  it("feeds a BufferedProtocol through getBuffer() and bufferUpdated() (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer((socket) => socket.end("hello buffered world"));
      try {
        const log: string[] = [];
        const out: number[] = [];
        const lost = getRunningLoop().createFuture<Error | null>();
        const buffer = new Uint8Array(4);
        const [, protocol] = yield* connectTo(peer, () => ({
          connectionMade(): void {
            log.push("connectionMade");
          },
          getBuffer(sizeHint: number): Uint8Array {
            assert.equal(typeof sizeHint, "number");
            return buffer;
          },
          bufferUpdated(nbytes: number): void {
            assert.ok(nbytes > 0 && nbytes <= buffer.length, `bufferUpdated(${nbytes})`);
            out.push(...buffer.subarray(0, nbytes));
          },
          eofReceived(): undefined {
            log.push("eofReceived");
            return undefined;
          },
          connectionLost(error: Error | null): void {
            log.push(`connectionLost(${lostReason(error)})`);
            lost.setResult(error);
          },
        }));
        assert.equal(typeof protocol.getBuffer, "function");
        yield* lost;
        assert.equal(Buffer.from(out).toString(), "hello buffered world");
        assert.deepEqual(log, ["connectionMade", "eofReceived", "connectionLost(null)"]);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));
});

describe("SocketTransport errors in protocol callbacks", () => {
  // asyncio: test_data_received_error
  it("reports a throwing dataReceived as a fatal error and loses the connection with it (real I/O)", () =>
    runCapturing(function* (seen) {
      const peer = yield* nodeServer((socket) => socket.write("boom"));
      try {
        const boom = new ZeroDivisionError("boom");
        const [transport, protocol] = yield* connectTo(peer, () => {
          const recorder = new RecordingProtocol();
          recorder.dataReceived = () => {
            recorder.log.push("dataReceived");
            throw boom;
          };
          return recorder;
        });
        const socket = yield* peer.accepted();
        const received = readUntilClosed(socket);
        assert.equal(yield* protocol.lost, boom);
        assert.deepEqual(protocol.log, [
          "connectionMade",
          "dataReceived",
          "connectionLost(ZeroDivisionError: boom)",
        ]);
        assert.equal(seen.length, 1);
        assert.deepEqual(seen[0], {
          message: "Fatal error: protocol.data_received() call failed.",
          exception: boom,
          transport,
          protocol,
        });
        assert.equal((yield* wrapPromise(received)).ended, true);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  // asyncio: test_read_eof_received_error
  it("reports a throwing eofReceived as a fatal error (real I/O)", () =>
    runCapturing(function* (seen) {
      const peer = yield* nodeServer((socket) => socket.end());
      try {
        const boom = new ZeroDivisionError("eof");
        const [, protocol] = yield* connectTo(peer, () => {
          const recorder = new RecordingProtocol();
          recorder.eofReceived = () => {
            throw boom;
          };
          return recorder;
        });
        assert.equal(yield* protocol.lost, boom);
        assert.deepEqual(
          seen.map((context) => [context.message, context.exception]),
          [["Fatal error: protocol.eof_received() call failed.", boom]],
        );
      } finally {
        peer.close();
      }
    }));

  // asyncio: test_get_buffer_zerosized
  it("reports an empty buffer from getBuffer() as a RuntimeError (real I/O)", () =>
    runCapturing(function* (seen) {
      const peer = yield* nodeServer((socket) => socket.write("x"));
      try {
        const lost = getRunningLoop().createFuture<Error | null>();
        yield* connectTo(peer, () => ({
          getBuffer: () => new Uint8Array(0),
          bufferUpdated: () => {
            assert.fail("bufferUpdated after an empty buffer");
          },
          connectionLost: (error: Error | null) => {
            lost.setResult(error);
          },
        }));
        const error = yield* lost;
        assert.ok(error instanceof RuntimeError);
        assert.equal(error.message, "get_buffer() returned an empty buffer");
        assert.deepEqual(
          seen.map((context) => [context.message, context.exception]),
          [["Fatal error: protocol.get_buffer() call failed.", error]],
        );
      } finally {
        peer.close();
      }
    }));

  // asyncio: test_buffer_updated_error
  it("reports a throwing bufferUpdated as a fatal error (real I/O)", () =>
    runCapturing(function* (seen) {
      const peer = yield* nodeServer((socket) => socket.write("x"));
      try {
        const lost = getRunningLoop().createFuture<Error | null>();
        const boom = new ZeroDivisionError("updated");
        yield* connectTo(peer, () => ({
          getBuffer: () => new Uint8Array(16),
          bufferUpdated: () => {
            throw boom;
          },
          connectionLost: (error: Error | null) => {
            lost.setResult(error);
          },
        }));
        assert.equal(yield* lost, boom);
        assert.deepEqual(
          seen.map((context) => [context.message, context.exception]),
          [["Fatal error: protocol.buffer_updated() call failed.", boom]],
        );
      } finally {
        peer.close();
      }
    }));
});

describe("SocketTransport write flow control", () => {
  // asyncio: test_flowcontrol_mixin_set_write_limits
  it("has asyncio's default limits and validates new ones (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        assert.deepEqual(transport.getWriteBufferLimits(), [16384, 65536]);
        transport.setWriteBufferLimits(100);
        assert.deepEqual(transport.getWriteBufferLimits(), [25, 100]);
        transport.setWriteBufferLimits(null, 10);
        assert.deepEqual(transport.getWriteBufferLimits(), [10, 40]);
        transport.setWriteBufferLimits(8, 8);
        assert.deepEqual(transport.getWriteBufferLimits(), [8, 8]);
        transport.setWriteBufferLimits();
        assert.deepEqual(transport.getWriteBufferLimits(), [16384, 65536]);
        throwsExactly(
          () => {
            transport.setWriteBufferLimits(1, 2);
          },
          RangeError,
          "high (1) must be >= low (2) must be >= 0",
        );
        throwsExactly(
          () => {
            transport.setWriteBufferLimits(null, -1);
          },
          RangeError,
          "high (-4) must be >= low (-1) must be >= 0",
        );
        assert.deepEqual(transport.getWriteBufferLimits(), [16384, 65536]);
        assert.deepEqual(protocol.log, ["connectionMade"]);
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  it("calls pauseWriting over the high mark and resumeWriting once drained, exactly paired (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer(() => {}, { pauseOnConnect: true });
      try {
        const loop = getRunningLoop();
        const sizes: string[] = [];
        const resumed = loop.createFuture<undefined>();
        const [transport, protocol] = yield* connectTo(peer, () => {
          const recorder = new RecordingProtocol();
          recorder.pauseWriting = () => {
            recorder.log.push("pauseWriting");
            sizes.push(`paused above high: ${transport.getWriteBufferSize() > 65536}`);
          };
          recorder.resumeWriting = () => {
            recorder.log.push("resumeWriting");
            sizes.push(`resumed at or below low: ${transport.getWriteBufferSize() <= 16384}`);
            resumed.setResult(undefined);
          };
          return recorder;
        });
        const socket = yield* peer.accepted();
        let written = 0;
        const chunk = new Uint8Array(256 * 1024);
        for (let i = 0; i < 1024 && !protocol.log.includes("pauseWriting"); i++) {
          transport.write(chunk);
          written += chunk.length;
        }
        assert.deepEqual(protocol.log, ["connectionMade", "pauseWriting"]);
        // More writes while paused do not pause again.
        transport.write(chunk);
        written += chunk.length;
        const received = readUntilClosed(socket);
        yield* resumed;
        transport.close();
        assert.equal((yield* wrapPromise(received)).bytes, written);
        yield* protocol.lost;
        assert.deepEqual(protocol.log, [
          "connectionMade",
          "pauseWriting",
          "resumeWriting",
          "connectionLost(null)",
        ]);
        assert.deepEqual(sizes, ["paused above high: true", "resumed at or below low: true"]);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  it("calls resumeWriting from a loop callback, where getRunningLoop() works, as asyncio (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer(() => {}, { pauseOnConnect: true });
      try {
        const loop = getRunningLoop();
        const resumed = loop.createFuture<string>();
        const [transport, protocol] = yield* connectTo(peer, () => {
          const recorder = new RecordingProtocol();
          recorder.resumeWriting = () => {
            let where = "outside the loop";
            try {
              if (getRunningLoop() === loop) where = "on the loop";
            } catch {
              // asyncio calls resume_writing from _write_ready, a loop callback.
            }
            resumed.setResult(where);
          };
          return recorder;
        });
        const socket = yield* peer.accepted();
        fillUntilBuffered(transport, 65537);
        const received = readUntilClosed(socket);
        assert.equal(yield* resumed, "on the loop");
        transport.close();
        yield* wrapPromise(received);
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  it("setWriteBufferLimits() below the buffered size pauses at once (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer(() => {}, { pauseOnConnect: true });
      try {
        const [transport, protocol] = yield* connectTo(peer);
        const socket = yield* peer.accepted();
        transport.setWriteBufferLimits(1e12);
        fillUntilBuffered(transport, 2);
        assert.deepEqual(protocol.log, ["connectionMade"]);
        transport.setWriteBufferLimits(1, 0);
        assert.deepEqual(protocol.log, ["connectionMade", "pauseWriting"]);
        const received = readUntilClosed(socket);
        transport.close();
        yield* wrapPromise(received);
        yield* protocol.lost;
        assert.deepEqual(protocol.log, [
          "connectionMade",
          "pauseWriting",
          "resumeWriting",
          "connectionLost(null)",
        ]);
      } finally {
        peer.close();
      }
    }));

  it("resumes a protocol paused by setWriteBufferLimits() once the peer reads (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer(() => {}, { pauseOnConnect: true });
      try {
        const [transport, protocol] = yield* connectTo(peer);
        const socket = yield* peer.accepted();
        transport.setWriteBufferLimits(1e12);
        // Nothing written so far asked Node to report its completion.
        fillUntilBuffered(transport, 2);
        transport.setWriteBufferLimits(1, 0);
        assert.deepEqual(protocol.log, ["connectionMade", "pauseWriting"]);
        socket.resume();
        for (let i = 0; i < 200 && protocol.log.length < 3; i++) {
          yield* wrapPromise(new Promise((resolve) => setTimeout(resolve, 5)));
        }
        assert.deepEqual(protocol.log, ["connectionMade", "pauseWriting", "resumeWriting"]);
        assert.equal(transport.getWriteBufferSize(), 0);
        transport.abort();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));
});

describe("SocketTransport.getExtraInfo", () => {
  it("gives peername, sockname and socket, and the default for an unknown name (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        const accepted = yield* peer.accepted();
        assert.deepEqual(transport.getExtraInfo("peername"), [LOCALHOST, peer.port]);
        assert.deepEqual(transport.getExtraInfo("sockname"), [LOCALHOST, accepted.remotePort]);
        const socket = transport.getExtraInfo("socket");
        assert.ok(socket instanceof Socket);
        assert.equal(socket.localPort, accepted.remotePort);
        assert.equal(transport.getExtraInfo("nope"), undefined);
        assert.equal(transport.getExtraInfo("nope", "default"), "default");
        assert.equal(transport.getExtraInfo("peercert", "none"), "none");
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));
});

describe("SocketTransport.setProtocol", () => {
  it("sends later callbacks to the new protocol (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, first] = yield* connectTo(peer);
        const socket = yield* peer.accepted();
        const second = new RecordingProtocol();
        transport.setProtocol(second);
        assert.equal(transport.getProtocol(), second);
        socket.end("for the second");
        yield* second.lost;
        assert.deepEqual(first.log, ["connectionMade"]);
        assert.deepEqual(second.log, [
          "data:for the second",
          "eofReceived",
          "connectionLost(null)",
        ]);
      } finally {
        peer.close();
      }
    }));
});

describe("SocketTransport.toString", () => {
  it("shows the state, the file descriptor, reading and the write buffer (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* connectTo(peer);
        const socket = transport.getExtraInfo("socket") as Socket & { _handle: { fd: number } };
        const fd = socket._handle.fd;
        assert.equal(
          repr(transport),
          `<SocketTransport open fd=${fd} read=polling write=<idle, bufsize=0>>`,
        );
        transport.pauseReading();
        assert.equal(
          repr(transport),
          `<SocketTransport open fd=${fd} read=idle write=<idle, bufsize=0>>`,
        );
        transport.close();
        yield* protocol.lost;
        assert.equal(repr(transport), "<SocketTransport closed fd=-1>");
      } finally {
        peer.close();
      }
    }));
});

/** Wait (a loop iteration at a time, then on I/O) for the first protocol a server made. */
function* waitProtocol(protocols: RecordingProtocol[]): Coro<RecordingProtocol> {
  for (let i = 0; i < 100 && protocols.length === 0; i++) yield* wrapPromise(delay(1));
  const protocol = protocols[0];
  assert.ok(protocol !== undefined, "the server made no protocol");
  yield* protocol.made;
  return protocol;
}
