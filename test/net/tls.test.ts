// Tests for TLS through createConnection/createServer(ssl) and loop.startTls, with a throwaway
// CA made by `openssl` at test time, and `openssl s_client` as a peer nobody here wrote.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { afterEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import { TLSSocket, connect as tlsConnect, type PeerCertificate } from "node:tls";
import {
  CancelledError,
  TimeoutError,
  createTask,
  getRunningLoop,
  waitFor,
  wrapPromise,
  type Coro,
  type Server,
  type ServerSsl,
  type Transport,
} from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { opensslMissing, testCerts, type TestCerts } from "../helpers/certs.ts";
import { now, thrownBy } from "../helpers/coro.ts";
import {
  RecordingProtocol,
  assertNoHostOps,
  cleanupAll,
  nodeConnect,
  nodeServer,
  onCleanup,
  readText,
  readUntilClosed,
  trackServer,
} from "../helpers/recording-protocol.ts";

const LOCALHOST = "127.0.0.1";

afterEach(cleanupAll);
const skip = opensslMissing ?? false;

function certs(): TestCerts {
  return testCerts();
}

/** A TLS server of RecordingProtocols (the server certificate, or `ssl`). */
function* tlsServer(
  ssl: ServerSsl = { key: certs().key, cert: certs().cert },
  options: { sslHandshakeTimeout?: number } = {},
): Coro<{ server: Server; port: number; protocols: RecordingProtocol[] }> {
  const protocols: RecordingProtocol[] = [];
  const server = yield* getRunningLoop().createServer(
    () => {
      const protocol = new RecordingProtocol();
      protocols.push(protocol);
      return protocol;
    },
    LOCALHOST,
    0,
    { ssl, ...options },
  );
  trackServer(server);
  const name = server.sockets[0]!.getsockname() as [string, number];
  return { server, port: name[1], protocols };
}

/** Wait until the server made `count` protocols and each has run connectionMade. */
function* madeProtocols(protocols: RecordingProtocol[], count: number): Coro<void> {
  for (let i = 0; i < 500 && protocols.length < count; i++) yield* wrapPromise(delay(1));
  assert.equal(protocols.length, count, "the server did not accept in time");
  for (const protocol of protocols) yield* protocol.made;
}

/** The error a TLS client connection to `port` fails with. */
function* clientError(
  port: number,
  options: Parameters<ReturnType<typeof getRunningLoop>["createConnection"]>[3],
  host = LOCALHOST,
): Coro<Error & { code?: string }> {
  const error = yield* thrownBy(
    getRunningLoop().createConnection(() => new RecordingProtocol(), host, port, options),
  );
  assert.ok(error instanceof Error, `not an Error: ${String(error)}`);
  return error;
}

describe("TLS client and server", { skip }, () => {
  // asyncio: test_create_server_ssl_verified (test_events)
  it("verifies the server against the given CA and talks TLS both ways (real I/O)", () =>
    runVirtual(function* () {
      const { server, port, protocols } = yield* tlsServer();
      const ssl = { ca: certs().ca };
      const [transport, protocol] = yield* getRunningLoop().createConnection(
        () => new RecordingProtocol(),
        LOCALHOST,
        port,
        { ssl, serverHostname: "localhost" },
      );
      transport.write(Buffer.from("hello"));
      yield* madeProtocols(protocols, 1);
      const serverSide = protocols[0]!;
      yield* serverSide.receivedAtLeast(5);
      serverSide.transport!.write(Buffer.from("HELLO"));
      yield* protocol.receivedAtLeast(5);
      const peercert = transport.getExtraInfo("peercert") as PeerCertificate;
      assert.equal(peercert.subject.CN, "localhost");
      assert.equal(typeof (transport.getExtraInfo("cipher") as { name: string }).name, "string");
      assert.equal(transport.getExtraInfo("sslcontext"), ssl);
      assert.ok(transport.getExtraInfo("sslObject") instanceof TLSSocket);
      transport.close();
      yield* protocol.lost;
      yield* serverSide.lost;
      // asyncio's TLS shutdown also gives the closing side an eof_received; not required here.
      assert.deepEqual(
        protocol.log.filter((entry) => entry !== "eofReceived"),
        ["connectionMade", "data:HELLO", "connectionLost(null)"],
      );
      assert.deepEqual(serverSide.log, [
        "connectionMade",
        "data:hello",
        "eofReceived",
        "connectionLost(null)",
      ]);
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("gives transports that cannot write EOF, on both sides (real I/O)", () =>
    runVirtual(function* () {
      const { server, port, protocols } = yield* tlsServer();
      const [transport, protocol] = yield* getRunningLoop().createConnection(
        () => new RecordingProtocol(),
        LOCALHOST,
        port,
        { ssl: { ca: certs().ca }, serverHostname: "localhost" },
      );
      yield* madeProtocols(protocols, 1);
      assert.equal(transport.canWriteEof(), false, "client side");
      assert.equal(protocols[0]!.transport!.canWriteEof(), false, "server side");
      transport.close();
      yield* protocol.lost;
      yield* protocols[0]!.lost;
      server.close();
      yield* server.waitClosed();
    }));

  // asyncio: test_create_connection_ssl_server_hostname_default
  it("checks the certificate against the host when serverHostname is not given (real I/O)", () =>
    runVirtual(function* () {
      const { server, port } = yield* tlsServer();
      const [transport, protocol] = yield* getRunningLoop().createConnection(
        () => new RecordingProtocol(),
        "localhost",
        port,
        { ssl: { ca: certs().ca } },
      );
      assert.equal((transport.getExtraInfo("peercert") as PeerCertificate).subject.CN, "localhost");
      transport.close();
      yield* protocol.lost;
      server.close();
      server.closeClients();
      yield* server.waitClosed();
    }));

  // asyncio: test_create_server_ssl_verify_failed (test_events)
  it("fails to verify a self-signed certificate nobody trusts, and the server goes on (real I/O)", () =>
    runVirtual(function* () {
      const { server, port, protocols } = yield* tlsServer({
        key: certs().untrustedKey,
        cert: certs().untrustedCert,
      });
      const error = yield* clientError(port, {
        ssl: { ca: certs().ca },
        serverHostname: "localhost",
      });
      assert.equal(error.code, "DEPTH_ZERO_SELF_SIGNED_CERT");
      assert.equal(server.isServing(), true);
      assert.deepEqual(protocols, []);
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("closes the server side of a connection whose client rejected the certificate (real I/O)", () =>
    runVirtual(function* () {
      const { server, port } = yield* tlsServer({
        key: certs().untrustedKey,
        cert: certs().untrustedCert,
      });
      yield* clientError(port, { ssl: { ca: certs().ca }, serverHostname: "localhost" });
      const listening = server.sockets[0]!.server;
      const open = (): Promise<number> =>
        new Promise((resolve, reject) => {
          listening.getConnections((error, count) => {
            if (error) reject(error);
            else resolve(count);
          });
        });
      let count = yield* wrapPromise(open());
      for (let i = 0; i < 25 && count > 0; i++) {
        yield* wrapPromise(delay(2));
        count = yield* wrapPromise(open());
      }
      assert.equal(count, 0, "the server still holds the rejected connection");
      server.close();
      yield* server.waitClosed();
    }));

  it("verifies with Node's CA store for ssl: true, which does not know the test CA (real I/O)", () =>
    runVirtual(function* () {
      const { server, port } = yield* tlsServer();
      const error = yield* clientError(port, { ssl: true, serverHostname: "localhost" });
      assert.equal(error.code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  // asyncio: test_create_server_ssl_match_failed (test_events)
  it("fails when serverHostname does not match the certificate (real I/O)", () =>
    runVirtual(function* () {
      const { server, port } = yield* tlsServer();
      const error = yield* clientError(port, {
        ssl: { ca: certs().ca },
        serverHostname: "example.com",
      });
      assert.equal(error.code, "ERR_TLS_CERT_ALTNAME_INVALID");
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("a Node tls client verifies and talks to the server (real I/O)", () =>
    runVirtual(function* () {
      const { server, port, protocols } = yield* tlsServer();
      const client = tlsConnect({ host: LOCALHOST, port, ca: certs().ca, servername: "localhost" });
      client.on("error", () => {});
      onCleanup(() => client.destroy());
      yield* wrapPromise(
        new Promise<void>((resolve) => {
          client.once("secureConnect", resolve);
        }),
      );
      assert.equal(client.authorized, true);
      client.write("from node");
      yield* madeProtocols(protocols, 1);
      yield* protocols[0]!.receivedAtLeast(9);
      protocols[0]!.transport!.write(Buffer.from("to node"));
      assert.equal(yield* wrapPromise(readText(client, "to node")), "to node");
      client.end();
      yield* protocols[0]!.lost;
      assert.deepEqual(protocols[0]!.log, [
        "connectionMade",
        "data:from node",
        "eofReceived",
        "connectionLost(null)",
      ]);
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));
});

describe("TLS handshake timeouts", { skip }, () => {
  it("a client gives up after sslHandshakeTimeout when the peer never speaks TLS (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const started = performance.now();
        const error = yield* clientError(peer.port, {
          ssl: { ca: certs().ca },
          serverHostname: "localhost",
          sslHandshakeTimeout: 5,
        });
        assert.equal(
          error.message,
          "SSL handshake is taking longer than 5 seconds: aborting the connection",
        );
        // Virtual time: the clock jumped to the deadline once the socket stayed silent.
        assert.equal(now(), 5);
        assert.ok(performance.now() - started < 2000);
        const accepted = yield* peer.accepted();
        assert.equal((yield* wrapPromise(readUntilClosed(accepted))).ended, true);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  // asyncio: test_handshake_timeout (test_sslproto)
  it("a client cancelled during the handshake by waitFor closes its connection quietly (real I/O)", () =>
    runVirtual(function* () {
      const peer = yield* nodeServer();
      try {
        const error = yield* thrownBy(
          waitFor(
            getRunningLoop().createConnection(() => new RecordingProtocol(), LOCALHOST, peer.port, {
              ssl: { ca: certs().ca },
              serverHostname: "localhost",
              sslHandshakeTimeout: 60,
            }),
            0.5,
          ),
        );
        assert.ok(error instanceof TimeoutError);
        assert.equal(now(), 0.5);
        const accepted = yield* peer.accepted();
        assert.equal((yield* wrapPromise(readUntilClosed(accepted))).ended, true);
      } finally {
        peer.close();
      }
      assertNoHostOps();
    }));

  it("a server drops a client that never completes the handshake after sslHandshakeTimeout (real I/O)", () =>
    runVirtual(function* () {
      const { server, port, protocols } = yield* tlsServer(undefined, {
        sslHandshakeTimeout: 0.05,
      });
      const client = yield* nodeConnect({ host: LOCALHOST, port });
      const started = performance.now();
      const received = yield* wrapPromise(readUntilClosed(client));
      assert.equal(received.bytes, 0);
      assert.ok(performance.now() - started < 2000);
      assert.deepEqual(protocols, []);
      assert.equal(server.isServing(), true);
      server.close();
      yield* server.waitClosed();
    }));

  it("a server's sslHandshakeTimeout runs on the loop's clock, as asyncio's call_later (real I/O)", () =>
    runVirtual(function* () {
      // On a virtual loop the deadline is virtual: once the connection stays silent for
      // autojumpThreshold, the clock jumps to it.
      const { server, port } = yield* tlsServer(undefined, { sslHandshakeTimeout: 30 });
      const client = yield* nodeConnect({ host: LOCALHOST, port });
      try {
        const outcome = yield* wrapPromise(
          Promise.race([readUntilClosed(client), delay(300, "still open")]),
        );
        assert.notEqual(outcome, "still open", "the timeout did not fire on the loop's clock");
        assert.equal(now(), 30);
      } finally {
        client.destroy();
      }
      server.close();
      yield* server.waitClosed();
    }));

  it("abortClients() also drops connections still in their handshake, as asyncio (real I/O)", () =>
    runVirtual(function* () {
      // asyncio attaches the socket transport to the Server before the TLS handshake, so
      // close_clients()/abort_clients() and wait_closed() cover handshaking connections.
      const { server, port } = yield* tlsServer();
      const client = yield* nodeConnect({ host: LOCALHOST, port });
      try {
        yield* wrapPromise(delay(5));
        server.close();
        server.abortClients();
        const outcome = yield* wrapPromise(
          Promise.race([readUntilClosed(client), delay(200, "still open")]),
        );
        assert.notEqual(outcome, "still open", "the handshaking connection was not dropped");
      } finally {
        client.destroy();
      }
      yield* server.waitClosed();
    }));
});

describe("loop.startTls", { skip }, () => {
  // asyncio: test_start_tls_client_reg_proto_1 / test_start_tls_server_1 (test_sslproto)
  it("upgrades a plain connection to TLS on both sides (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const serverSsl = { key: certs().key, cert: certs().cert };
      const upgraded: Transport[] = [];
      const serverLog: string[] = [];
      const server = yield* loop.createServer(
        () => {
          const protocol = new RecordingProtocol();
          const plain = protocol.dataReceived.bind(protocol);
          protocol.dataReceived = (data: Uint8Array) => {
            plain(data);
            if (protocol.text === "STARTTLS\n") {
              protocol.transport!.write(Buffer.from("GO\n"));
              createTask(
                (function* (): Coro<void> {
                  const secure = yield* loop.startTls(protocol.transport!, protocol, serverSsl, {
                    serverSide: true,
                  });
                  upgraded.push(secure);
                })(),
              );
            }
          };
          protocol.connectionLost = (error: Error | null) => {
            serverLog.push(...protocol.log, `connectionLost(${String(error)})`);
            protocol.lost.setResult(error);
          };
          return protocol;
        },
        LOCALHOST,
        0,
      );
      trackServer(server);
      const port = (server.sockets[0]!.getsockname() as [string, number])[1];
      const [plain, protocol] = yield* loop.createConnection(
        () => new RecordingProtocol(),
        LOCALHOST,
        port,
      );
      plain.write(Buffer.from("STARTTLS\n"));
      yield* protocol.receivedAtLeast(3);
      const secure = yield* loop.startTls(
        plain,
        protocol,
        { ca: certs().ca },
        { serverHostname: "localhost" },
      );
      assert.notEqual(secure, plain);
      assert.equal(secure.canWriteEof(), false);
      assert.equal((secure.getExtraInfo("peercert") as PeerCertificate).subject.CN, "localhost");
      assert.equal(secure.getProtocol(), protocol);
      secure.write(Buffer.from("secret"));
      for (let i = 0; i < 500 && upgraded.length === 0; i++) yield* wrapPromise(delay(1));
      const serverSecure = upgraded[0]!;
      assert.ok(serverSecure.getExtraInfo("sslObject") instanceof TLSSocket);
      serverSecure.write(Buffer.from("ack"));
      yield* protocol.receivedAtLeast(6);
      assert.equal(protocol.text, "GO\nack");
      secure.close();
      yield* protocol.lost;
      server.close();
      yield* server.waitClosed();
      assert.deepEqual(
        protocol.log.filter((entry) => entry !== "eofReceived"),
        ["connectionMade", "data:GO\nack", "connectionLost(null)"],
      );
      assert.deepEqual(serverLog, [
        "connectionMade",
        "data:STARTTLS\nsecret",
        "eofReceived",
        "connectionLost(null)",
      ]);
      assertNoHostOps();
    }));
  it("throws the verification error and closes the connection when the server does not verify (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const serverOutcome: string[] = [];
      const server = yield* loop.createServer(
        () => {
          const protocol = new RecordingProtocol();
          protocol.connectionMade = (transport: Transport) => {
            RecordingProtocol.prototype.connectionMade.call(protocol, transport);
            createTask(
              (function* (): Coro<void> {
                try {
                  yield* loop.startTls(
                    transport,
                    protocol,
                    { key: certs().untrustedKey, cert: certs().untrustedCert },
                    { serverSide: true },
                  );
                  serverOutcome.push("upgraded");
                } catch (error) {
                  serverOutcome.push(`failed: ${(error as { code?: string }).code ?? "?"}`);
                }
              })(),
            );
          };
          return protocol;
        },
        LOCALHOST,
        0,
      );
      trackServer(server);
      const port = (server.sockets[0]!.getsockname() as [string, number])[1];
      const [plain, protocol] = yield* loop.createConnection(
        () => new RecordingProtocol(),
        LOCALHOST,
        port,
      );
      const error = yield* thrownBy(
        loop.startTls(plain, protocol, { ca: certs().ca }, { serverHostname: "localhost" }),
      );
      assert.equal((error as { code?: string }).code, "DEPTH_ZERO_SELF_SIGNED_CERT");
      for (let i = 0; i < 50 && serverOutcome.length === 0; i++) yield* wrapPromise(delay(2));
      assert.equal(serverOutcome.length, 1, "the server's startTls never ended");
      assert.match(serverOutcome[0]!, /^failed: /);
      // asyncio: the application protocol of a failed start_tls gets no more callbacks.
      assert.deepEqual(protocol.log, ["connectionMade"]);
      server.close();
      yield* server.waitClosed();
      assertNoHostOps();
    }));

  it("cancelled during the handshake, closes the connection and leaks nothing (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      // A peer that never answers the ClientHello.
      const peer = yield* nodeServer();
      const [plain, protocol] = yield* loop.createConnection(
        () => new RecordingProtocol(),
        LOCALHOST,
        peer.port,
      );
      const upgrading = createTask(
        loop.startTls(plain, protocol, { ca: certs().ca }, { serverHostname: "localhost" }),
      );
      const accepted = yield* peer.accepted();
      yield* wrapPromise(readText(accepted, "\x16"));
      upgrading.cancel();
      assert.ok((yield* thrownBy(upgrading)) instanceof CancelledError);
      assert.equal((yield* wrapPromise(readUntilClosed(accepted))).ended, true);
      peer.close();
      assertNoHostOps();
    }));
});

describe("openssl s_client as a peer", { skip }, () => {
  it("connects, verifies the server, and gets its answer (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const server = yield* loop.createServer(
        () => {
          const protocol = new RecordingProtocol();
          protocol.dataReceived = (data: Uint8Array) => {
            RecordingProtocol.prototype.dataReceived.call(protocol, data);
            if (protocol.text.endsWith("\n")) {
              protocol.transport!.write(Buffer.from(protocol.text.toUpperCase()));
              protocol.transport!.close();
            }
          };
          return protocol;
        },
        LOCALHOST,
        0,
        { ssl: { key: certs().key, cert: certs().cert } },
      );
      trackServer(server);
      const port = (server.sockets[0]!.getsockname() as [string, number])[1];
      const child = spawn(
        "openssl",
        [
          "s_client",
          "-connect",
          `${LOCALHOST}:${port}`,
          "-CAfile",
          certs().caFile,
          "-servername",
          "localhost",
          "-verify_return_error",
          "-quiet",
        ],
        { stdio: ["pipe", "pipe", "pipe"], timeout: 5000 },
      );
      onCleanup(() => child.kill());
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
      child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
      child.stdin.write("hello from s_client\n");
      const [code, signal] = yield* wrapPromise(
        new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
          child.on("close", (exitCode, exitSignal) => {
            resolve([exitCode, exitSignal]);
          });
        }),
      );
      server.close();
      server.closeClients();
      yield* server.waitClosed();
      assert.equal(stdout, "HELLO FROM S_CLIENT\n");
      assert.deepEqual([code, signal], [0, null], stderr);
      assert.match(stderr, /verify return:1/);
      assertNoHostOps();
    }));
});
