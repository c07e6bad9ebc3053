// Tests for src/net/connect.ts and loop.createConnection: connecting, its argument checks, its
// errors and its cancellation, on loopback (messages checked on CPython 3.13).
import assert from "node:assert/strict";
import { createServer as netCreateServer, Socket } from "node:net";
import { afterEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  CancelledError,
  ExceptionGroup,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  wrapPromise,
  type Coro,
} from "../../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../../src/testing.ts";
import { thrownBy } from "../helpers/coro.ts";
import { ZeroDivisionError } from "../helpers/errors.ts";
import {
  RecordingProtocol,
  assertNoHostOps,
  cleanupAll,
  nodeServer,
  onCleanup,
  readText,
  readUntilClosed,
  tcpHandles,
} from "../helpers/recording-protocol.ts";

const LOCALHOST = "127.0.0.1";

afterEach(cleanupAll);

/** A loopback port nothing listens on (bound, then closed). */
function* closedPort(): Coro<number> {
  const server = netCreateServer();
  return yield* wrapPromise(
    new Promise<number>((resolve) => {
      server.listen(0, LOCALHOST, () => {
        const address = server.address();
        assert.ok(address !== null && typeof address === "object");
        server.close(() => {
          resolve(address.port);
        });
      });
    }),
  );
}

function* rangeError(make: () => Coro<unknown>, message: string): Coro<void> {
  const error = yield* thrownBy(make);
  assert.ok(error instanceof RangeError, `expected RangeError, got ${String(error)}`);
  assert.equal(error.message, message);
}

describe("loop.createConnection", () => {
  it("connects and returns [transport, protocol] (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer((socket) => socket.write("welcome"));
      try {
        const [transport, protocol] = yield* getRunningLoop().createConnection(
          () => new RecordingProtocol(),
          LOCALHOST,
          peer.port,
        );
        assert.ok(protocol instanceof RecordingProtocol);
        assert.equal(protocol.transport, transport);
        yield* protocol.receivedAtLeast(7);
        assert.equal(protocol.text, "welcome");
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  // asyncio: test_create_connection_local_addr (test_events)
  it("connects from localAddr when given (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const [transport, protocol] = yield* getRunningLoop().createConnection(
          () => new RecordingProtocol(),
          LOCALHOST,
          peer.port,
          { localAddr: [LOCALHOST, 0] },
        );
        const accepted = yield* peer.accepted();
        assert.deepEqual(transport.getExtraInfo("sockname"), [LOCALHOST, accepted.remotePort]);
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
    }));

  it("uses an already connected socket given as sock (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer((socket) => socket.write("over sock"));
      try {
        const sock = new Socket({ allowHalfOpen: true });
        onCleanup(() => sock.destroy());
        yield* wrapPromise(
          new Promise<void>((resolve) => {
            sock.connect(peer.port, LOCALHOST, resolve);
          }),
        );
        const [transport, protocol] = yield* getRunningLoop().createConnection(
          () => new RecordingProtocol(),
          null,
          null,
          { sock },
        );
        assert.equal(transport.getExtraInfo("socket"), sock);
        yield* protocol.receivedAtLeast(9);
        assert.equal(protocol.text, "over sock");
        transport.close();
        yield* protocol.lost;
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  // asyncio: test_create_connection_connect_err
  it("throws ECONNREFUSED for a closed port and holds no socket (real I/O)", () =>
    runVirtual(function* () {
      const port = yield* closedPort();
      const before = tcpHandles();
      const error = yield* thrownBy(
        getRunningLoop().createConnection(() => new RecordingProtocol(), LOCALHOST, port),
      );
      assert.ok(error instanceof Error);
      assert.equal((error as Error & { code?: string }).code, "ECONNREFUSED");
      assert.ok(tcpHandles() <= before, "a socket is left open");
      assertNoHostOps();
    }));

  // asyncio: test_create_connection_multiple_errors (all_errors=True)
  it("throws ExceptionGroup('create_connection failed') with allErrors, even for one address (real I/O)", () =>
    runVirtual(function* () {
      const port = yield* closedPort();
      const error = yield* thrownBy(
        getRunningLoop().createConnection(() => new RecordingProtocol(), LOCALHOST, port, {
          allErrors: true,
        }),
      );
      assert.ok(error instanceof ExceptionGroup, `got ${String(error)}`);
      assert.equal(error.message, "create_connection failed");
      assert.equal(error.exceptions.length, 1);
      assert.equal((error.exceptions[0] as { code?: string }).code, "ECONNREFUSED");
      assertNoHostOps();
    }));

  // asyncio: test_create_connection_host_port_sock, test_create_connection_no_host_port_sock
  it("rejects host/port together with sock, and neither, with asyncio's messages", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const sock = new Socket();
      yield* rangeError(
        () => loop.createConnection(() => new RecordingProtocol(), LOCALHOST, 1, { sock }),
        "host/port and sock can not be specified at the same time",
      );
      yield* rangeError(
        () => loop.createConnection(() => new RecordingProtocol(), null, 1, { sock }),
        "host/port and sock can not be specified at the same time",
      );
      yield* rangeError(
        () => loop.createConnection(() => new RecordingProtocol()),
        "host and port was not specified and no sock specified",
      );
      sock.destroy();
      assertNoHostOps();
    }));

  // asyncio: test_create_connection_no_ssl_server_hostname_errors,
  // test_create_connection_ssl_timeout_for_plain_socket
  it("rejects TLS options without ssl with asyncio's messages", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const factory = (): RecordingProtocol => new RecordingProtocol();
      yield* rangeError(
        () => loop.createConnection(factory, LOCALHOST, 1, { serverHostname: "example.com" }),
        "server_hostname is only meaningful with ssl",
      );
      yield* rangeError(
        () => loop.createConnection(factory, LOCALHOST, 1, { sslHandshakeTimeout: 1 }),
        "ssl_handshake_timeout is only meaningful with ssl",
      );
      yield* rangeError(
        () => loop.createConnection(factory, LOCALHOST, 1, { sslShutdownTimeout: 1 }),
        "ssl_shutdown_timeout is only meaningful with ssl",
      );
      yield* rangeError(
        () => loop.createConnection(factory, LOCALHOST, 1, { ssl: {}, sslHandshakeTimeout: 0 }),
        "ssl_handshake_timeout should be a positive number, got 0",
      );
      yield* rangeError(
        () => loop.createConnection(factory, null, 1, { ssl: {} }),
        "You must set server_hostname when using ssl without a host",
      );
      assertNoHostOps();
    }));

  // asyncio: test_create_connection_ssl_server_hostname_errors
  it("rejects ssl with an empty host, or with sock, and no serverHostname, as asyncio", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      yield* rangeError(
        () => loop.createConnection(() => new RecordingProtocol(), "", 1, { ssl: true }),
        "You must set server_hostname when using ssl without a host",
      );
      const sock = new Socket();
      onCleanup(() => sock.destroy());
      yield* rangeError(
        () => loop.createConnection(() => new RecordingProtocol(), null, null, { sock, ssl: true }),
        "You must set server_hostname when using ssl without a host",
      );
      sock.destroy();
    }));

  it("rejects a port out of range and a protocolFactory that is not a function", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      yield* rangeError(
        () => loop.createConnection(() => new RecordingProtocol(), LOCALHOST, 70000),
        "port must be an integer from 0 to 65535, got 70000",
      );
      const error = yield* thrownBy(() =>
        loop.createConnection(42 as unknown as () => RecordingProtocol, LOCALHOST, 1),
      );
      assert.ok(error instanceof TypeError);
      assertNoHostOps();
    }));

  it("throws what protocolFactory throws and closes the socket (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const boom = new ZeroDivisionError("factory");
        const error = yield* thrownBy(
          getRunningLoop().createConnection(
            () => {
              throw boom;
            },
            LOCALHOST,
            peer.port,
          ),
        );
        assert.equal(error, boom);
        const accepted = yield* peer.accepted();
        assert.equal((yield* wrapPromise(readUntilClosed(accepted))).ended, true);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  it("throws RuntimeError when called on a loop that is not running", () =>
    runVirtual(function* () {
      const other = new VirtualEventLoop();
      try {
        const error = yield* thrownBy(() =>
          other.createConnection(() => new RecordingProtocol(), LOCALHOST, 1),
        );
        assert.ok(error instanceof RuntimeError);
        assert.equal(
          error.message,
          `${other.toString()} is not the running loop; use getRunningLoop()`,
        );
      } finally {
        other.close();
      }
    }));
});

describe("loop.createConnection cancelled", () => {
  it("while connecting, destroys the socket and leaks nothing (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer(() => {}, { pauseOnConnect: true });
      const before = tcpHandles();
      try {
        const made: RecordingProtocol[] = [];
        const connecting = createTask(
          getRunningLoop().createConnection(
            () => {
              const protocol = new RecordingProtocol();
              made.push(protocol);
              return protocol;
            },
            LOCALHOST,
            peer.port,
          ),
        );
        yield* sleep(0);
        assert.equal(getRunningLoop()._hostOps, 1);
        connecting.cancel();
        assert.ok((yield* thrownBy(connecting)) instanceof CancelledError);
        assert.deepEqual(made, []);
        assertNoHostOps();
        // The peer sees the half-made connection (if it got that far) close.
        yield* wrapPromise(delay(5));
        for (const socket of peer.sockets) yield* wrapPromise(readUntilClosed(socket));
        assert.ok(tcpHandles() <= before, "a socket is left open");
      } finally {
        peer.close();
      }
    }));

  it("after connecting, closes the transport: the protocol sees connectionMade then connectionLost (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer((socket) => socket.write("hi"));
      try {
        const made: RecordingProtocol[] = [];
        const connecting = createTask(
          getRunningLoop().createConnection(
            () => {
              const protocol = new RecordingProtocol();
              made.push(protocol);
              // Cancelled from inside the factory: connected, connectionMade not yet run.
              connecting.cancel();
              return protocol;
            },
            LOCALHOST,
            peer.port,
          ),
        );
        assert.ok((yield* thrownBy(connecting)) instanceof CancelledError);
        assert.equal(made.length, 1);
        yield* made[0]!.lost;
        assert.deepEqual(made[0]!.log, ["connectionMade", "connectionLost(null)"]);
        const accepted = yield* peer.accepted();
        const outcome = yield* thrownBy(wrapPromise(readText(accepted, "never")));
        assert.equal((outcome as Error).message, 'the socket closed after ""');
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));
});
