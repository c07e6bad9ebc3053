// Tests for src/net/server.ts and loop.createServer: the listening side, as asyncio's
// base_events.Server, on loopback with Node `net` clients (traces checked on CPython 3.13).
import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { Server as NetServer } from "node:net";
import { afterEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  CancelledError,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  wrapPromise,
  type Coro,
  type Server,
} from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { captureExceptions } from "../helpers/capture.ts";
import { thrownBy } from "../helpers/coro.ts";
import { ZeroDivisionError } from "../helpers/errors.ts";
import {
  RecordingProtocol,
  assertNoHostOps,
  cleanupAll,
  nodeConnect,
  readText,
  readUntilClosed,
  recordingServer,
  trackServer,
} from "../helpers/recording-protocol.ts";

const LOCALHOST = "127.0.0.1";

afterEach(cleanupAll);

/** The port of a server's first socket. */
function portOf(server: Server, index = 0): number {
  const name = server.sockets[index]?.getsockname();
  assert.ok(Array.isArray(name), `no TCP socket at ${index}`);
  return name[1];
}

/** A server of RecordingProtocols on 127.0.0.1, and the protocols it made. */
/** Wait until the server made `count` protocols and each has run connectionMade. */
function* madeProtocols(protocols: RecordingProtocol[], count: number): Coro<void> {
  for (let i = 0; i < 200 && protocols.length < count; i++) yield* wrapPromise(delay(1));
  assert.equal(protocols.length, count, "the server did not accept in time");
  for (const protocol of protocols) yield* protocol.made;
}

/** The error code a Node connection attempt to `port` fails with, or "connected". */
function* connectOutcome(port: number, host = LOCALHOST): Coro<string> {
  try {
    const socket = yield* nodeConnect({ host, port });
    socket.destroy();
    return "connected";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}

describe("loop.createServer", () => {
  it("listens on a free port when port is 0, and lists the socket (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const { server, protocols } = yield* recordingServer();
      const port = portOf(server);
      assert.ok(port > 0);
      assert.equal(server.sockets.length, 1);
      assert.deepEqual(server.sockets[0]!.getsockname(), [LOCALHOST, port]);
      assert.ok(server.sockets[0]!.server instanceof NetServer);
      assert.equal(String(server), `<Server sockets=[["127.0.0.1",${port}]]>`);
      assert.equal(server.isServing(), true);
      assert.equal(server.getLoop(), loop);
      const client = yield* nodeConnect({ host: LOCALHOST, port });
      yield* madeProtocols(protocols, 1);
      client.destroy();
      yield* protocols[0]!.lost;
      server.close();
      assert.deepEqual(server.sockets, []);
      assert.equal(server.isServing(), false);
      assert.equal(String(server), "<Server sockets=[]>");
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  // asyncio: test_create_server_multiple_hosts_ipv4/ipv6 (test_events)
  it("binds each host of a list, and each accepts connections (real I/O)", () =>
    runVirtual(function* () {
      const { server, protocols } = yield* recordingServer({}, [LOCALHOST, "::1"]);
      assert.deepEqual(
        server.sockets.map((socket) => (socket.getsockname() as [string, number])[0]),
        [LOCALHOST, "::1"],
      );
      const a = yield* nodeConnect({ host: LOCALHOST, port: portOf(server, 0) });
      const b = yield* nodeConnect({ host: "::1", port: portOf(server, 1) });
      yield* madeProtocols(protocols, 2);
      a.destroy();
      b.destroy();
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("binds every address a host name resolves to, each once ('localhost') (real I/O)", () =>
    runVirtual(function* () {
      const resolved = yield* wrapPromise(lookup("localhost", { all: true }));
      const expected = [...new Set(resolved.map((entry) => entry.address))];
      const { server } = yield* recordingServer({}, ["localhost", LOCALHOST, "localhost"]);
      const bound = server.sockets.map((socket) => (socket.getsockname() as [string, number])[0]);
      assert.deepEqual([...new Set(bound)].sort(), [...new Set([...expected, LOCALHOST])].sort());
      assert.equal(bound.length, new Set(bound).size, "an address was bound twice");
      server.close();
      yield* server.waitClosed();
    }));

  // asyncio: test_create_server_dual_stack (test_events)
  it("listens on every interface when host is null (real I/O)", () =>
    runVirtual(function* () {
      const server = yield* getRunningLoop().createServer(() => new RecordingProtocol(), null, 0);
      trackServer(server);
      const port = portOf(server);
      assert.equal(yield* connectOutcome(port, LOCALHOST), "connected");
      assert.equal(yield* connectOutcome(port, "::1"), "connected");
      server.close();
      server.abortClients();
      yield* server.waitClosed();
    }));

  // asyncio: test_create_server_addr_in_use (test_events)
  it("fails with EADDRINUSE on a port in use, leaving nothing listening (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer();
      const error = yield* thrownBy(
        getRunningLoop().createServer(() => new RecordingProtocol(), LOCALHOST, portOf(server)),
      );
      assert.equal((error as { code?: string }).code, "EADDRINUSE");
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  // asyncio: test_create_server_ssl_timeout_for_plain_socket
  it("rejects ssl: true and TLS timeouts without ssl", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const error = yield* thrownBy(
        loop.createServer(() => new RecordingProtocol(), LOCALHOST, 0, {
          ssl: true as unknown as undefined,
        }),
      );
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "ssl argument must be TLS options or a SecureContext, not true");
      const timeout = yield* thrownBy(
        loop.createServer(() => new RecordingProtocol(), LOCALHOST, 0, {
          sslHandshakeTimeout: 1,
        }),
      );
      assert.ok(timeout instanceof RangeError);
      assert.equal(timeout.message, "ssl_handshake_timeout is only meaningful with ssl");
      assertNoHostOps();
    }));
});

describe("Server.startServing", () => {
  it("does not serve before startServing(), and accepts after it (real I/O)", () =>
    runVirtual(function* () {
      const { server, protocols } = yield* recordingServer({ startServing: false });
      assert.equal(server.isServing(), false);
      yield* server.startServing();
      assert.equal(server.isServing(), true);
      const client = yield* nodeConnect({ host: LOCALHOST, port: portOf(server) });
      yield* madeProtocols(protocols, 1);
      yield* server.startServing();
      assert.equal(server.sockets.length, 1);
      client.destroy();
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  // Deliberate difference (docs/porting-from-asyncio.md): asyncio binds at
  // create_server(start_serving=False) and knows its port; Node cannot bind a TCP socket
  // without listening, so tsyncio binds at startServing() and has no sockets until then.
  it("binds its sockets only at startServing(), since Node cannot bind without listening (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer({ startServing: false });
      try {
        assert.equal(server.isServing(), false);
        assert.deepEqual(server.sockets, []);
        yield* server.startServing();
        assert.equal(server.isServing(), true);
        assert.equal(server.sockets.length, 1);
        assert.ok(portOf(server) > 0);
      } finally {
        server.close();
        yield* server.waitClosed();
      }
    }));
});

describe("Server.serveForever", () => {
  it("closes the server and waits for it when cancelled (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer({ startServing: false });
      const serving = createTask(server.serveForever());
      yield* sleep(0);
      yield* wrapPromise(delay(1));
      assert.equal(server.isServing(), true);
      const port = portOf(server);
      serving.cancel();
      assert.ok((yield* thrownBy(serving)) instanceof CancelledError);
      assert.equal(serving.cancelled(), true);
      assert.equal(server.isServing(), false);
      assert.deepEqual(server.sockets, []);
      yield* server.waitClosed();
      assert.equal(yield* connectOutcome(port), "ECONNREFUSED");
      assertNoHostOps();
    }));

  it("throws RuntimeError when already serving forever (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer();
      const serving = createTask(server.serveForever());
      yield* sleep(0);
      const error = yield* thrownBy(server.serveForever());
      assert.ok(error instanceof RuntimeError);
      assert.equal(
        error.message,
        `server <Server sockets=[["127.0.0.1",${portOf(server)}]]> is already being awaited on serve_forever()`,
      );
      serving.cancel();
      yield* thrownBy(serving);
    }));

  it("throws RuntimeError on a closed server (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer();
      server.close();
      const error = yield* thrownBy(server.serveForever());
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "server <Server sockets=[]> is closed");
      yield* server.waitClosed();
    }));

  it("ends cancelled when close() is called elsewhere (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer();
      const serving = createTask(server.serveForever());
      yield* sleep(0);
      server.close();
      assert.ok((yield* thrownBy(serving)) instanceof CancelledError);
      assert.equal(serving.cancelled(), true);
    }));

  it("when cancelled, waits for the open connections before ending (real I/O)", () =>
    runVirtual(function* () {
      // asyncio 3.12.1+: serve_forever's cancellation awaits wait_closed(), which waits
      // for every connection; close_clients() lets it finish.
      const { server, protocols } = yield* recordingServer();
      const serving = createTask(server.serveForever());
      const client = yield* nodeConnect({ host: LOCALHOST, port: portOf(server) });
      yield* madeProtocols(protocols, 1);
      serving.cancel();
      yield* wrapPromise(delay(5));
      assert.equal(serving.done(), false);
      assert.equal(server.isServing(), false);
      const second = yield* thrownBy(server.serveForever());
      assert.ok(second instanceof RuntimeError);
      assert.equal(
        second.message,
        "server <Server sockets=[]> is already being awaited on serve_forever()",
      );
      const received = readUntilClosed(client);
      server.closeClients();
      assert.ok((yield* thrownBy(serving)) instanceof CancelledError);
      assert.equal((yield* wrapPromise(received)).ended, true);
      assertNoHostOps();
    }));
});

describe("Server.close", () => {
  // asyncio: test_server_close (test_events)
  it("stops accepting but keeps the connections already made (real I/O)", () =>
    runVirtual(function* () {
      const { server, protocols } = yield* recordingServer();
      const port = portOf(server);
      const client = yield* nodeConnect({ host: LOCALHOST, port });
      yield* madeProtocols(protocols, 1);
      server.close();
      server.close();
      assert.equal(yield* connectOutcome(port), "ECONNREFUSED");
      client.write("after close");
      yield* protocols[0]!.receivedAtLeast(11);
      protocols[0]!.transport!.write(Buffer.from("still here"));
      assert.equal(yield* wrapPromise(readText(client, "still here")), "still here");
      client.end();
      yield* protocols[0]!.lost;
      yield* server.waitClosed();
      assert.deepEqual(protocols[0]!.log, [
        "connectionMade",
        "data:after close",
        "eofReceived",
        "connectionLost(null)",
      ]);
      assertNoHostOps();
    }));
});

describe("Server.waitClosed", () => {
  // asyncio: test_wait_closed_basic
  it("returns only once the server is closed and the last connection is gone (real I/O)", () =>
    runVirtual(function* () {
      const { server, protocols } = yield* recordingServer();
      const client = yield* nodeConnect({ host: LOCALHOST, port: portOf(server) });
      yield* madeProtocols(protocols, 1);
      const waiting = createTask(server.waitClosed());
      yield* wrapPromise(delay(2));
      assert.equal(waiting.done(), false, "returned before close()");
      server.close();
      yield* wrapPromise(delay(5));
      assert.equal(waiting.done(), false, "returned with a connection open");
      client.end();
      yield* waiting;
      assert.deepEqual(protocols[0]!.log.at(-1), "connectionLost(null)");
      // Once closed, it returns at once.
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("can be cancelled without closing anything (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer();
      const waiting = createTask(server.waitClosed());
      yield* sleep(0);
      waiting.cancel();
      assert.ok((yield* thrownBy(waiting)) instanceof CancelledError);
      assert.equal(server.isServing(), true);
      server.close();
      yield* server.waitClosed();
    }));
});

describe("Server.closeClients and abortClients", () => {
  // asyncio: test_close_clients
  it("closeClients() closes every accepted connection after sending its buffer (real I/O)", () =>
    runVirtual(function* () {
      const { server, protocols } = yield* recordingServer();
      const port = portOf(server);
      const clients = [
        yield* nodeConnect({ host: LOCALHOST, port }),
        yield* nodeConnect({ host: LOCALHOST, port }),
      ];
      yield* madeProtocols(protocols, 2);
      const received = clients.map((client) => readUntilClosed(client));
      for (const protocol of protocols) protocol.transport!.write(Buffer.from("bye"));
      server.close();
      server.closeClients();
      for (const result of received) {
        assert.deepEqual(yield* wrapPromise(result), {
          data: "bye",
          bytes: 3,
          ended: true,
          error: null,
        });
      }
      yield* server.waitClosed();
      for (const protocol of protocols) {
        assert.deepEqual(protocol.log, ["connectionMade", "connectionLost(null)"]);
      }
      assertNoHostOps();
    }));

  // asyncio: test_abort_clients
  it("abortClients() drops every accepted connection at once (real I/O)", () =>
    runVirtual(function* () {
      const { server, protocols } = yield* recordingServer();
      const client = yield* nodeConnect({ host: LOCALHOST, port: portOf(server) });
      yield* madeProtocols(protocols, 1);
      const received = readUntilClosed(client);
      server.abortClients();
      yield* protocols[0]!.lost;
      assert.deepEqual(protocols[0]!.log, ["connectionMade", "connectionLost(null)"]);
      assert.equal((yield* wrapPromise(received)).bytes, 0);
      // The server itself goes on.
      assert.equal(server.isServing(), true);
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));
});

describe("Server.run", () => {
  it("runs the body, then closes the server and waits for it (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer();
      const port = portOf(server);
      const result = yield* server.run(function* (inside) {
        assert.equal(inside, server);
        assert.equal(yield* connectOutcome(port), "connected");
        return 42;
      });
      assert.equal(result, 42);
      assert.equal(server.isServing(), false);
      assert.deepEqual(server.sockets, []);
      assertNoHostOps();
    }));

  it("closes the server when the body throws, and rethrows (real I/O)", () =>
    runVirtual(function* () {
      const { server } = yield* recordingServer();
      const boom = new ZeroDivisionError("body");
      const error = yield* thrownBy(
        server.run(function* () {
          throw boom;
        }),
      );
      assert.equal(error, boom);
      assert.equal(server.isServing(), false);
      assertNoHostOps();
    }));
});

describe("Server with a failing protocolFactory", () => {
  it("reports the error, drops that connection and goes on serving (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const seen = captureExceptions(loop);
      // asyncio reports this only in debug mode.
      loop.setDebug(true);
      const boom = new ZeroDivisionError("factory");
      const protocols: RecordingProtocol[] = [];
      let calls = 0;
      const server = yield* loop.createServer(
        () => {
          if (++calls === 1) throw boom;
          const protocol = new RecordingProtocol();
          protocols.push(protocol);
          return protocol;
        },
        LOCALHOST,
        0,
      );
      trackServer(server);
      const first = yield* nodeConnect({ host: LOCALHOST, port: portOf(server) });
      const dropped = yield* wrapPromise(readUntilClosed(first));
      assert.equal(dropped.bytes, 0);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.message, "Error on transport creation for incoming connection");
      assert.equal(seen[0]!.exception, boom);
      const second = yield* nodeConnect({ host: LOCALHOST, port: portOf(server) });
      yield* madeProtocols(protocols, 1);
      second.destroy();
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));
});
