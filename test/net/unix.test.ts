// Tests for loop.createUnixServer and loop.createUnixConnection: Unix domain sockets in a
// temporary directory (behaviour checked on CPython 3.13's create_unix_server/connection).
import assert from "node:assert/strict";
import {
  existsSync,
  linkSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { Socket, createServer as createNetServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { getRunningLoop, wrapPromise, type Coro, type Server } from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { opensslMissing, testCerts } from "../helpers/certs.ts";
import { thrownBy } from "../helpers/coro.ts";
import {
  RecordingProtocol,
  assertNoHostOps,
  cleanupAll,
  nodeConnect,
  onCleanup,
  trackServer,
} from "../helpers/recording-protocol.ts";

afterEach(cleanupAll);

const dir = mkdtempSync(join(tmpdir(), "tsyncio-unix-"));
process.on("exit", () => {
  rmSync(dir, { recursive: true, force: true });
});
let sequence = 0;

/** A fresh socket path in the temporary directory. */
function socketPath(): string {
  return join(dir, `s${sequence++}`);
}

/** A Unix server of RecordingProtocols at `path`, and the protocols it made. */
function* unixServer(
  path: string,
  options: Parameters<ReturnType<typeof getRunningLoop>["createUnixServer"]>[2] = {},
): Coro<{ server: Server; protocols: RecordingProtocol[] }> {
  const protocols: RecordingProtocol[] = [];
  const server = yield* getRunningLoop().createUnixServer(
    () => {
      const protocol = new RecordingProtocol();
      protocols.push(protocol);
      return protocol;
    },
    path,
    options,
  );
  trackServer(server);
  return { server, protocols };
}

/** Wait until the server made `count` protocols and each has run connectionMade. */
function* madeProtocols(protocols: RecordingProtocol[], count: number): Coro<void> {
  for (let i = 0; i < 200 && protocols.length < count; i++) yield* wrapPromise(delay(1));
  assert.equal(protocols.length, count, "the server did not accept in time");
  for (const protocol of protocols) yield* protocol.made;
}

function isSocketFile(path: string): boolean {
  return existsSync(path) && statSync(path).isSocket();
}

describe("loop.createUnixServer and loop.createUnixConnection", () => {
  // asyncio: test_create_unix_server, test_create_unix_connection (test_events)
  it("connect and exchange data with the usual callback order (real I/O)", () =>
    runVirtual(function* () {
      const path = socketPath();
      const { server, protocols } = yield* unixServer(path);
      assert.equal(String(server), `<Server sockets=[${JSON.stringify(path)}]>`);
      assert.equal(server.sockets[0]!.getsockname(), path);
      const [transport, protocol] = yield* getRunningLoop().createUnixConnection(
        () => new RecordingProtocol(),
        path,
      );
      assert.equal(transport.canWriteEof(), true);
      transport.write(Buffer.from("ping"));
      transport.writeEof();
      yield* madeProtocols(protocols, 1);
      yield* protocols[0]!.lost;
      yield* protocol.lost;
      assert.deepEqual(protocols[0]!.log, [
        "connectionMade",
        "data:ping",
        "eofReceived",
        "connectionLost(null)",
      ]);
      assert.deepEqual(protocol.log, ["connectionMade", "eofReceived", "connectionLost(null)"]);
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("give the path as the client's peername and the server side's sockname, as asyncio (real I/O)", () =>
    runVirtual(function* () {
      const path = socketPath();
      const { server, protocols } = yield* unixServer(path);
      const [transport, protocol] = yield* getRunningLoop().createUnixConnection(
        () => new RecordingProtocol(),
        path,
      );
      yield* madeProtocols(protocols, 1);
      const accepted = protocols[0]!.transport!;
      assert.deepEqual(
        [
          transport.getExtraInfo("peername"),
          transport.getExtraInfo("sockname"),
          accepted.getExtraInfo("peername"),
          accepted.getExtraInfo("sockname"),
        ],
        [path, "", "", path],
      );
      transport.close();
      yield* protocol.lost;
      server.close();
      server.closeClients();
      yield* server.waitClosed();
    }));

  // asyncio: test_create_unix_server_ssl (test_events)
  it("talk TLS over a Unix socket (real I/O)", { skip: opensslMissing ?? false }, () =>
    runVirtual(function* () {
      const path = socketPath();
      const { server, protocols } = yield* unixServer(path, {
        ssl: { key: testCerts().key, cert: testCerts().cert },
      });
      const [transport, protocol] = yield* getRunningLoop().createUnixConnection(
        () => new RecordingProtocol(),
        path,
        { ssl: { ca: testCerts().ca }, serverHostname: "localhost" },
      );
      transport.write(Buffer.from("secret"));
      yield* madeProtocols(protocols, 1);
      yield* protocols[0]!.receivedAtLeast(6);
      assert.equal(protocols[0]!.text, "secret");
      assert.equal(transport.canWriteEof(), false);
      transport.close();
      yield* protocol.lost;
      yield* protocols[0]!.lost;
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }),
  );
});

describe("loop.createUnixServer socket file", () => {
  it("removes a stale socket file left behind by an earlier server (real I/O)", () =>
    runVirtual(function* () {
      const path = socketPath();
      // A socket file nobody listens on: a hard link to a listening socket, which outlives it.
      const earlier = socketPath();
      const first = yield* unixServer(earlier);
      linkSync(earlier, path);
      first.server.close();
      yield* first.server.waitClosed();
      assert.ok(isSocketFile(path), "no stale socket file to start with");
      const refused = yield* thrownBy(nodeConnect({ path }));
      assert.equal((refused as { code?: string }).code, "ECONNREFUSED");
      const { server, protocols } = yield* unixServer(path);
      const [transport, protocol] = yield* getRunningLoop().createUnixConnection(
        () => new RecordingProtocol(),
        path,
      );
      yield* madeProtocols(protocols, 1);
      transport.close();
      yield* protocol.lost;
      server.close();
      server.closeClients();
      yield* server.waitClosed();
    }));

  it("leaves a file that is not a socket alone and fails with EADDRINUSE (real I/O)", () =>
    runVirtual(function* () {
      const path = socketPath();
      writeFileSync(path, "not a socket");
      const error = yield* thrownBy(
        getRunningLoop().createUnixServer(() => new RecordingProtocol(), path),
      );
      assert.equal((error as { code?: string }).code, "EADDRINUSE");
      assert.equal(readFileSync(path, "utf8"), "not a socket");
      assertNoHostOps();
    }));

  // asyncio: test_unix_server_addr_cleanup
  it("removes its socket file at close() by default, even with a connection open (real I/O)", () =>
    runVirtual(function* () {
      const path = socketPath();
      const { server, protocols } = yield* unixServer(path);
      const client = yield* nodeConnect({ path });
      yield* madeProtocols(protocols, 1);
      assert.ok(isSocketFile(path));
      server.close();
      assert.equal(existsSync(path), false);
      client.end();
      yield* protocols[0]!.lost;
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  // asyncio: test_unix_server_cleanup_prevented
  it("keeps its socket file with cleanupSocket: false, as asyncio (real I/O)", () =>
    runVirtual(function* () {
      const path = socketPath();
      const { server } = yield* unixServer(path, { cleanupSocket: false });
      server.close();
      yield* server.waitClosed();
      yield* wrapPromise(delay(2));
      assert.ok(isSocketFile(path), "the socket file was removed");
    }));

  // asyncio: test_unix_server_cleanup_gone
  it("closes quietly when someone else already removed its socket file (real I/O)", () =>
    runVirtual(function* () {
      const path = socketPath();
      const { server } = yield* unixServer(path);
      unlinkSync(path);
      server.close();
      yield* server.waitClosed();
      assert.equal(existsSync(path), false);
    }));

  // asyncio: test_unix_server_cleanup_replaced
  it("leaves a socket file that replaced its own before close(), as asyncio (real I/O)", () =>
    runVirtual(function* () {
      const path = socketPath();
      const { server } = yield* unixServer(path);
      unlinkSync(path);
      const replacement = createNetServer();
      onCleanup(() => replacement.close());
      yield* wrapPromise(
        new Promise<void>((resolve) => {
          replacement.listen(path, resolve);
        }),
      );
      server.close();
      yield* server.waitClosed();
      yield* wrapPromise(delay(2));
      assert.ok(isSocketFile(path), "the replacement's socket file was removed");
      replacement.close();
    }));

  it("does not remove a socket file another server made at the same path since (real I/O)", () =>
    runVirtual(function* () {
      // asyncio remembers the file's inode and removes the path only if it is still its own.
      const path = socketPath();
      const first = yield* unixServer(path);
      const client = yield* nodeConnect({ path });
      yield* madeProtocols(first.protocols, 1);
      first.server.close();
      const second = yield* unixServer(path);
      client.end();
      yield* first.protocols[0]!.lost;
      yield* first.server.waitClosed();
      yield* wrapPromise(delay(2));
      assert.ok(isSocketFile(path), "the new server's socket file was removed");
      second.server.close();
      yield* second.server.waitClosed();
    }));
});

describe("loop.createUnixConnection errors", () => {
  it("rejects path together with sock, and a path that is not a string", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const sock = new Socket();
      onCleanup(() => sock.destroy());
      const both = yield* thrownBy(
        loop.createUnixConnection(() => new RecordingProtocol(), socketPath(), { sock }),
      );
      assert.ok(both instanceof RangeError);
      assert.equal(both.message, "path and sock can not be specified at the same time");
      const notString = yield* thrownBy(
        loop.createUnixConnection(() => new RecordingProtocol(), 42 as unknown as string),
      );
      assert.ok(notString instanceof TypeError);
      assert.equal(notString.message, "path must be a string, got 42");
      sock.destroy();
    }));

  it("rejects ssl without serverHostname with asyncio's message", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(
        getRunningLoop().createUnixConnection(() => new RecordingProtocol(), socketPath(), {
          ssl: {},
        }),
      );
      assert.ok(error instanceof RangeError);
      assert.equal(error.message, "you have to pass server_hostname when using ssl");
    }));

  it("throws ENOENT for a path where nothing is (real I/O)", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(
        getRunningLoop().createUnixConnection(() => new RecordingProtocol(), socketPath()),
      );
      assert.equal((error as { code?: string }).code, "ENOENT");
      assertNoHostOps();
    }));
});
