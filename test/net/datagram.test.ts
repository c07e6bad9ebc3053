import assert from "node:assert/strict";
import { createSocket, type Socket as DgramSocket } from "node:dgram";
import { Socket as NetSocket } from "node:net";
import { networkInterfaces } from "node:os";
import { inspect } from "node:util";
import { describe, it } from "node:test";
import {
  CancelledError,
  ContextVar,
  createTask,
  currentTask,
  getRunningLoop,
  sleep,
  wrapPromise,
  type Coro,
  type DatagramAddress,
  type DatagramProtocol,
  type DatagramTransport,
  type Future,
} from "../../src/index.ts";
import { AI_NUMERICHOST } from "../../src/net/dns.ts";
import { runVirtual } from "../../src/testing.ts";
import { captureConsole, captureExceptions } from "../helpers/capture.ts";

const text = (data: Uint8Array): string => Buffer.from(data).toString();
const bytes = (value: string): Uint8Array => Buffer.from(value);

/** Every Recorder of the running test, whose transports `realIo` aborts at the end. */
const recorders = new Set<Recorder>();

/**
 * runVirtual, and then abort every endpoint the test left open (after a failed assertion),
 * so that no socket keeps the test process alive.
 */
function realIo(main: () => Coro<void>): Promise<void> {
  return runVirtual(function* () {
    try {
      yield* main();
    } finally {
      for (const recorder of recorders) recorder.transport?.abort();
      recorders.clear();
    }
  });
}

/** A DatagramProtocol that logs every callback as `<name> <event>` and can be waited on. */
class Recorder implements DatagramProtocol {
  readonly name: string;
  readonly log: string[];
  transport: DatagramTransport | null = null;
  readonly datagrams: [data: string, from: DatagramAddress][] = [];
  readonly errors: Error[] = [];
  readonly lost: Future<Error | null>;
  #wake: Future<undefined> | null = null;

  constructor(name: string, log: string[] = []) {
    this.name = name;
    this.log = log;
    this.lost = getRunningLoop().createFuture<Error | null>();
    recorders.add(this);
  }

  connectionMade(transport: DatagramTransport): void {
    this.log.push(`${this.name} made`);
    this.transport = transport;
  }

  datagramReceived(data: Uint8Array, from: DatagramAddress): void {
    this.log.push(`${this.name} got ${JSON.stringify(text(data))}`);
    this.datagrams.push([text(data), from]);
    this.#poke();
  }

  errorReceived(error: Error): void {
    this.log.push(`${this.name} error ${String((error as { code?: unknown }).code)}`);
    this.errors.push(error);
    this.#poke();
  }

  connectionLost(error: Error | null): void {
    this.log.push(`${this.name} lost ${String(error)}`);
    this.lost.setResult(error);
    this.#poke();
  }

  /** Wait until `check()` holds, re-checking after each callback. */
  *until(check: () => boolean): Coro<void> {
    while (!check()) {
      this.#wake = getRunningLoop().createFuture<undefined>();
      yield* this.#wake;
    }
  }

  #poke(): void {
    const wake = this.#wake;
    this.#wake = null;
    if (wake !== null && !wake.done()) wake.setResult(undefined);
  }
}

function* endpoint(
  name: string,
  log: string[],
  options: Parameters<ReturnType<typeof getRunningLoop>["createDatagramEndpoint"]>[1],
): Coro<[DatagramTransport, Recorder]> {
  return yield* getRunningLoop().createDatagramEndpoint(() => new Recorder(name, log), options);
}

function portOf(transport: DatagramTransport): number {
  return (transport.getExtraInfo("sockname") as DatagramAddress)[1];
}

/** Close every transport and wait for their connectionLost. */
function* closeAll(...pairs: [DatagramTransport, Recorder][]): Coro<void> {
  for (const [transport] of pairs) transport.close();
  for (const [, protocol] of pairs) yield* protocol.lost;
}

/** A loopback UDP port that nothing listens on (bound once, then closed). */
function* deadPort(): Coro<number> {
  return yield* wrapPromise(
    new Promise<number>((resolve) => {
      const socket = createSocket("udp4");
      socket.bind(0, "127.0.0.1", () => {
        const { port } = socket.address();
        socket.close(() => {
          resolve(port);
        });
      });
    }),
  );
}

function* boundSocket(): Coro<DgramSocket> {
  return yield* wrapPromise(
    new Promise<DgramSocket>((resolve) => {
      const socket = createSocket("udp4");
      socket.bind(0, "127.0.0.1", () => {
        resolve(socket);
      });
    }),
  );
}

const hasIpv6Loopback = Object.values(networkInterfaces()).some((addresses) =>
  addresses?.some((address) => address.address === "::1"),
);

describe("createDatagramEndpoint", () => {
  // asyncio: test_create_datagram_endpoint
  it("echoes a datagram between a bound and a connected endpoint (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      const server = yield* endpoint("server", log, { localAddr: ["127.0.0.1", 0] });
      const client = yield* endpoint("client", log, {
        remoteAddr: ["127.0.0.1", portOf(server[0])],
      });
      client[0].sendto(bytes("xxx"));
      yield* server[1].until(() => server[1].datagrams.length === 1);
      const [, from] = server[1].datagrams[0]!;
      assert.deepEqual(from, ["127.0.0.1", portOf(client[0])]);
      server[0].sendto(bytes("resp:xxx"), from);
      yield* client[1].until(() => client[1].datagrams.length === 1);
      yield* closeAll(client, server);
      assert.deepEqual(log, [
        "server made",
        "client made",
        'server got "xxx"',
        'client got "resp:xxx"',
        "client lost null",
        "server lost null",
      ]);
    }));

  it("returns once connectionMade has run (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      const pair = yield* endpoint("server", log, { localAddr: ["127.0.0.1", 0] });
      log.push("returned");
      assert.equal(pair[1].transport, pair[0]);
      yield* closeAll(pair);
      assert.deepEqual(log, ["server made", "returned", "server lost null"]);
    }));

  // asyncio: test_create_datagram_endpoint_ipv6
  it(
    "works on the IPv6 loopback (real I/O)",
    { skip: hasIpv6Loopback ? false : "no IPv6 loopback address on this machine" },
    () =>
      realIo(function* () {
        const server = yield* endpoint("server", [], { localAddr: ["::1", 0] });
        const client = yield* endpoint("client", [], { remoteAddr: ["::1", portOf(server[0])] });
        client[0].sendto(bytes("six"));
        yield* server[1].until(() => server[1].datagrams.length === 1);
        assert.deepEqual(server[1].datagrams, [["six", ["::1", portOf(client[0])]]]);
        assert.deepEqual(client[0].getExtraInfo("peername"), ["::1", portOf(server[0])]);
        yield* closeAll(client, server);
      }),
  );

  // asyncio: test_create_datagram_endpoint_sock
  it("uses a given dgram socket, and closes it on close() (real I/O)", () =>
    realIo(function* () {
      const sock = yield* boundSocket();
      const pair = yield* getRunningLoop().createDatagramEndpoint(() => new Recorder("t"), {
        sock,
      });
      assert.equal(pair[0].getExtraInfo("socket"), sock);
      assert.deepEqual(pair[0].getExtraInfo("sockname"), ["127.0.0.1", sock.address().port]);
      yield* closeAll(pair);
      assert.throws(() => sock.address(), { code: "ERR_SOCKET_DGRAM_NOT_RUNNING" });
    }));

  // asyncio: test_create_datagram_endpoint_sock (a given socket that is connected)
  it("sends to the peer of a given connected socket, whatever the address (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      const sock = createSocket("udp4");
      yield* wrapPromise(
        new Promise<void>((resolve) => {
          sock.connect(portOf(server[0]), "127.0.0.1", resolve);
        }),
      );
      const client = yield* getRunningLoop().createDatagramEndpoint(() => new Recorder("c"), {
        sock,
      });
      assert.deepEqual(client[0].getExtraInfo("peername"), ["127.0.0.1", portOf(server[0])]);
      client[0].sendto(bytes("one"));
      client[0].sendto(bytes("two"), ["127.0.0.1", 9]);
      yield* server[1].until(() => server[1].datagrams.length === 2);
      assert.deepEqual(
        server[1].datagrams.map(([data]) => data),
        ["one", "two"],
      );
      yield* closeAll(client, server);
    }));

  it("makes an unbound socket from a family alone; the first send binds it (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      const client = yield* endpoint("client", [], { family: 4 });
      assert.deepEqual(client[0].getExtraInfo("sockname"), ["0.0.0.0", 0]);
      assert.equal(client[0].getExtraInfo("peername"), null);
      client[0].sendto(bytes("hello"), ["127.0.0.1", portOf(server[0])]);
      yield* server[1].until(() => server[1].datagrams.length === 1);
      const [, from] = server[1].datagrams[0]!;
      assert.deepEqual(client[0].getExtraInfo("sockname"), ["0.0.0.0", from[1]]);
      client[0].sendto(bytes("back?"), ["127.0.0.1", portOf(server[0])]);
      server[0].sendto(bytes("reply"), from);
      yield* client[1].until(() => client[1].datagrams.length === 1);
      assert.deepEqual(client[1].datagrams, [["reply", ["127.0.0.1", portOf(server[0])]]]);
      yield* closeAll(client, server);
    }));

  // asyncio: test_create_datagram_endpoint_noaddr_nofamily
  it("throws RangeError with neither an address nor a family", () =>
    realIo(function* () {
      const loop = getRunningLoop();
      let made = 0;
      yield* assertThrows(
        loop.createDatagramEndpoint(() => {
          made++;
          return new Recorder("t");
        }),
        RangeError,
        "unexpected address family",
      );
      assert.equal(made, 0);
    }));

  // asyncio: test_create_datagram_endpoint_addr_error
  it("throws TypeError for an address that is not a [host, port] pair", () =>
    realIo(function* () {
      const loop = getRunningLoop();
      const factory = (): Recorder => new Recorder("t");
      yield* assertThrows(
        loop.createDatagramEndpoint(factory, {
          localAddr: "localhost" as unknown as DatagramAddress,
        }),
        TypeError,
        "2-tuple is expected, got 'localhost'",
      );
      yield* assertThrows(
        loop.createDatagramEndpoint(factory, {
          localAddr: ["localhost", 1, 2, 3] as unknown as DatagramAddress,
        }),
        TypeError,
        "2-tuple is expected, got [ 'localhost', 1, 2, 3 ]",
      );
      yield* assertThrows(
        loop.createDatagramEndpoint(factory, { remoteAddr: ["127.0.0.1", 65536] }),
        RangeError,
        "port must be an integer from 0 to 65535, got 65536",
      );
    }));

  // asyncio: test_create_datagram_endpoint_wrong_sock
  it("throws TypeError for a sock that is not a dgram socket", () =>
    realIo(function* () {
      const sock = new NetSocket();
      yield* assertThrows(
        getRunningLoop().createDatagramEndpoint(() => new Recorder("t"), {
          sock: sock as unknown as DgramSocket,
        }),
        TypeError,
        /^A datagram socket was expected, got /,
      );
      sock.destroy();
    }));

  // asyncio: test_create_datagram_endpoint_sock_sockopts
  it("throws RangeError for socket options given together with sock", () =>
    realIo(function* () {
      const sock = createSocket("udp4");
      const loop = getRunningLoop();
      const factory = (): Recorder => new Recorder("t");
      yield* assertThrows(
        loop.createDatagramEndpoint(factory, {
          sock,
          localAddr: ["127.0.0.1", 0],
          allowBroadcast: true,
        }),
        RangeError,
        "socket modifier keyword arguments can not be used when sock is specified. " +
          "(localAddr=[ '127.0.0.1', 0 ], allowBroadcast=true)",
      );
      for (const option of [
        { remoteAddr: ["127.0.0.1", 1] as const },
        { family: 4 as const },
        { proto: 17 },
        { flags: 1 },
        { reusePort: true },
      ]) {
        yield* assertThrows(
          loop.createDatagramEndpoint(factory, { sock, ...option }),
          RangeError,
          /^socket modifier keyword arguments can not be used when sock is specified\./,
        );
      }
      sock.close();
    }));

  // asyncio: test_create_datagram_endpoint_no_matching_family
  it("throws RangeError when the two addresses have no family in common", () =>
    realIo(function* () {
      yield* assertThrows(
        getRunningLoop().createDatagramEndpoint(() => new Recorder("t"), {
          remoteAddr: ["127.0.0.1", 1],
          localAddr: ["::1", 0],
        }),
        RangeError,
        "can not get address information",
      );
    }));

  it("throws the resolver's error for an address that does not resolve", () =>
    realIo(function* () {
      const loop = getRunningLoop();
      yield* assertThrows(
        loop.createDatagramEndpoint(() => new Recorder("t"), {
          localAddr: ["localhost", 0],
          flags: AI_NUMERICHOST,
        }),
        Error,
        "getaddrinfo ENOTFOUND localhost",
      );
      yield* assertThrows(
        loop.createDatagramEndpoint(() => new Recorder("t"), {
          localAddr: ["127.0.0.1", 0],
          family: 6,
        }),
        Error,
        "getaddrinfo EAI_ADDRFAMILY 127.0.0.1 (Address family for hostname not supported)",
      );
    }));

  it("resolves a host name as getaddrinfo does (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["localhost", 0], family: 4 });
      assert.equal((server[0].getExtraInfo("sockname") as DatagramAddress)[0], "127.0.0.1");
      const client = yield* endpoint("client", [], {
        remoteAddr: ["localhost", portOf(server[0])],
        family: 4,
      });
      // asyncio parity: the remote address is kept resolved.
      assert.deepEqual(client[0].getExtraInfo("peername"), ["127.0.0.1", portOf(server[0])]);
      yield* closeAll(client, server);
    }));

  // asyncio: test_create_datagram_endpoint_cant_bind
  it("throws EADDRINUSE for an address in use, and closes its socket (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      yield* assertThrows(
        endpoint("second", [], { localAddr: ["127.0.0.1", portOf(server[0])] }),
        Error,
        /EADDRINUSE/,
      );
      yield* closeAll(server);
    }));

  it("connects to remoteAddr: peername is the peer and sendto() needs no address (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      const port = portOf(server[0]);
      const client = yield* endpoint("client", [], { remoteAddr: ["127.0.0.1", port] });
      assert.deepEqual(client[0].getExtraInfo("peername"), ["127.0.0.1", port]);
      assert.equal(server[0].getExtraInfo("peername"), null);
      client[0].sendto(bytes("a"));
      client[0].sendto(bytes("b"), ["127.0.0.1", port]);
      yield* server[1].until(() => server[1].datagrams.length === 2);
      assert.deepEqual(
        server[1].datagrams.map(([data]) => data),
        ["a", "b"],
      );
      yield* closeAll(client, server);
    }));

  // asyncio: test_create_datagram_endpoint_allow_broadcast
  it("with allowBroadcast, does not connect but still sends to remoteAddr (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      const port = portOf(server[0]);
      const client = yield* endpoint("client", [], {
        remoteAddr: ["127.0.0.1", port],
        allowBroadcast: true,
      });
      assert.equal(client[0].getExtraInfo("peername"), null);
      client[0].sendto(bytes("bc"));
      yield* server[1].until(() => server[1].datagrams.length === 1);
      assert.throws(() => {
        client[0].sendto(bytes("x"), ["127.0.0.1", port + 1]);
      }, RangeError);
      yield* closeAll(client, server);
    }));

  // asyncio: test_create_datagram_endpoint_nosoreuseport, test_create_datagram_endpoint_sockopts
  it("reusePort shares a port where Node supports it, else throws RangeError (real I/O)", () =>
    realIo(function* () {
      const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
      if (major > 22 || (major === 22 && minor >= 12)) {
        const first = yield* endpoint("a", [], { localAddr: ["127.0.0.1", 0], reusePort: true });
        const second = yield* endpoint("b", [], {
          localAddr: ["127.0.0.1", portOf(first[0])],
          reusePort: true,
        });
        assert.equal(portOf(second[0]), portOf(first[0]));
        yield* closeAll(first, second);
      } else {
        yield* assertThrows(
          endpoint("a", [], { localAddr: ["127.0.0.1", 0], reusePort: true }),
          RangeError,
          "reusePort needs Node.js 22.12 or newer",
        );
      }
    }));

  it("closes the socket when cancelled while binding (real I/O)", () =>
    realIo(function* () {
      const port = yield* deadPort();
      const log: string[] = [];
      const task = createTask(endpoint("cancelled", log, { localAddr: ["127.0.0.1", port] }));
      yield* sleep(0);
      task.cancel();
      yield* assertThrows(task, CancelledError);
      // The port is free again: the cancelled endpoint's socket was closed.
      const again = yield* endpoint("again", log, { localAddr: ["127.0.0.1", port] });
      yield* closeAll(again);
      assert.deepEqual(log, ["again made", "again lost null"]);
    }));

  it("closes the transport when cancelled while connectionMade is pending (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      let protocol: Recorder | undefined;
      const task = createTask(
        getRunningLoop().createDatagramEndpoint(
          () => {
            currentTask()!.cancel();
            protocol = new Recorder("p", log);
            return protocol;
          },
          { localAddr: ["127.0.0.1", 0] },
        ),
      );
      yield* assertThrows(task, CancelledError);
      assert.equal(yield* protocol!.lost, null);
      assert.deepEqual(log, ["p made", "p lost null"]);
      assert.ok(protocol!.transport!.isClosing());
    }));

  it("closes the socket when protocolFactory throws (real I/O)", () =>
    realIo(function* () {
      const port = yield* deadPort();
      yield* assertThrows(
        getRunningLoop().createDatagramEndpoint(
          () => {
            throw new Error("no protocol");
          },
          { localAddr: ["127.0.0.1", port] },
        ),
        Error,
        "no protocol",
      );
      const again = yield* endpoint("again", [], { localAddr: ["127.0.0.1", port] });
      yield* closeAll(again);
    }));
});

describe("DatagramTransport", () => {
  // asyncio: test_sendto_connected_addr
  it("sendto() throws RangeError for another address on a connected endpoint (real I/O)", () =>
    realIo(function* () {
      const port = yield* deadPort();
      const pair = yield* endpoint("c", [], { remoteAddr: ["127.0.0.1", port] });
      assert.throws(
        () => {
          pair[0].sendto(bytes("x"), ["127.0.0.1", port + 1]);
        },
        {
          name: "RangeError",
          message: `Invalid address: must be None or [ '127.0.0.1', ${port} ]`,
        },
      );
      yield* closeAll(pair);
    }));

  // asyncio: test_sendto_str
  it("sendto() throws TypeError for data that is not a Uint8Array (real I/O)", () =>
    realIo(function* () {
      const pair = yield* endpoint("c", [], { family: 4 });
      assert.throws(
        () => {
          pair[0].sendto("str" as unknown as Uint8Array, ["127.0.0.1", 9]);
        },
        {
          name: "TypeError",
          message: "data argument must be a bytes-like object (a Uint8Array), not 'str'",
        },
      );
      yield* closeAll(pair);
    }));

  it("sendto() throws TypeError without an address on an unconnected endpoint (real I/O)", () =>
    realIo(function* () {
      const pair = yield* endpoint("c", [], { family: 4 });
      assert.throws(
        () => {
          pair[0].sendto(bytes("x"));
        },
        {
          name: "TypeError",
          message: "sendto() needs an address: the endpoint has no remote address",
        },
      );
      assert.throws(() => {
        pair[0].sendto(bytes("x"), ["127.0.0.1", -1]);
      }, /port must be an integer from 0 to 65535, got -1/);
      assert.equal(pair[0].isClosing(), false);
      yield* closeAll(pair);
    }));

  // asyncio: test_sendto_no_data
  it("sendto() sends an empty datagram for empty data (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      const client = yield* endpoint("client", [], {
        remoteAddr: ["127.0.0.1", portOf(server[0])],
      });
      client[0].sendto(new Uint8Array(0));
      client[0].sendto(bytes("after"));
      yield* server[1].until(() => server[1].datagrams.length === 2);
      assert.deepEqual(
        server[1].datagrams.map(([data]) => data),
        ["", "after"],
      );
      yield* closeAll(client, server);
    }));

  // asyncio: test_sendto_buffer_bytearray (what is queued is a copy)
  it("sendto() copies its data, so the caller may reuse the buffer (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      // An unbound socket queues the send until Node has bound it.
      const client = yield* endpoint("client", [], { family: 4 });
      const buffer = Buffer.from("original");
      client[0].sendto(buffer, ["127.0.0.1", portOf(server[0])]);
      buffer.fill("x");
      yield* server[1].until(() => server[1].datagrams.length === 1);
      assert.equal(server[1].datagrams[0]![0], "original");
      yield* closeAll(client, server);
    }));

  // asyncio: test_sendto_closing, test_sendto_exception
  it("sendto() after close() drops the datagram, warning from the fifth one on (real I/O)", () =>
    realIo(function* () {
      const port = yield* deadPort();
      const pair = yield* endpoint("c", [], { remoteAddr: ["127.0.0.1", port] });
      pair[0].close();
      const warnings = captureConsole("warn", () => {
        for (let i = 0; i < 7; i++) pair[0].sendto(bytes("late"));
      });
      assert.deepEqual(warnings, [
        "socket.send() raised exception.",
        "socket.send() raised exception.",
        "socket.send() raised exception.",
      ]);
      yield* pair[1].lost;
      assert.equal(pair[1].errors.length, 0);
    }));

  // asyncio: test_datagram_send_to_non_listening_address
  it("keeps receiving after sending to an address nobody listens on (real I/O)", () =>
    realIo(function* () {
      const one = yield* endpoint("one", [], { localAddr: ["127.0.0.1", 0] });
      const two = yield* endpoint("two", [], { localAddr: ["127.0.0.1", 0] });
      const dead = yield* deadPort();
      one[0].sendto(bytes("a"), ["127.0.0.1", portOf(two[0])]);
      yield* two[1].until(() => two[1].datagrams.length === 1);
      one[0].sendto(bytes("c"), ["127.0.0.1", dead]);
      yield* sleep(0);
      two[0].sendto(bytes("d"), ["127.0.0.1", portOf(one[0])]);
      yield* one[1].until(() => one[1].datagrams.length === 1);
      assert.deepEqual(one[1].datagrams, [["d", ["127.0.0.1", portOf(two[0])]]]);
      yield* closeAll(one, two);
    }));

  // asyncio: test_sendto_error_received_connected
  it("errorReceived gets ECONNREFUSED when a connected peer's port is closed (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      const port = yield* deadPort();
      const pair = yield* endpoint("c", log, { remoteAddr: ["127.0.0.1", port] });
      pair[0].sendto(bytes("anyone?"));
      yield* pair[1].until(() => pair[1].errors.length > 0);
      assert.equal((pair[1].errors[0] as NodeJS.ErrnoException).code, "ECONNREFUSED");
      assert.equal(pair[0].isClosing(), false);
      yield* closeAll(pair);
      assert.deepEqual(
        [log[0], log[1], log.at(-1)],
        ["c made", "c error ECONNREFUSED", "c lost null"],
      );
    }));

  it("close() sends what was queued before connectionLost(null) (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      const server = yield* endpoint("server", log, { localAddr: ["127.0.0.1", 0] });
      const client = yield* endpoint("client", log, { family: 4 });
      client[0].sendto(bytes("last words"), ["127.0.0.1", portOf(server[0])]);
      client[0].close();
      assert.equal(client[0].isClosing(), true);
      yield* client[1].lost;
      yield* server[1].until(() => server[1].datagrams.length === 1);
      yield* closeAll(server);
      assert.deepEqual(log, [
        "server made",
        "client made",
        "client lost null",
        'server got "last words"',
        "server lost null",
      ]);
    }));

  it("abort() drops what was queued and calls connectionLost(null) (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      const server = yield* endpoint("server", log, { localAddr: ["127.0.0.1", 0] });
      const client = yield* endpoint("client", log, { family: 4 });
      const other = yield* endpoint("other", log, { localAddr: ["127.0.0.1", 0] });
      client[0].sendto(bytes("dropped"), ["127.0.0.1", portOf(server[0])]);
      client[0].abort();
      log.push("aborted");
      other[0].sendto(bytes("marker"), ["127.0.0.1", portOf(server[0])]);
      yield* server[1].until(() => server[1].datagrams.length === 1);
      yield* closeAll(server, other);
      assert.deepEqual(log, [
        "server made",
        "client made",
        "other made",
        "aborted",
        "client lost null",
        'server got "marker"',
        "server lost null",
        "other lost null",
      ]);
    }));

  it("close() is idempotent and connectionLost comes once, on a later iteration (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      const pair = yield* endpoint("t", log, { localAddr: ["127.0.0.1", 0] });
      pair[0].close();
      pair[0].close();
      pair[0].abort();
      assert.deepEqual(log, ["t made"]);
      yield* sleep(0);
      assert.deepEqual(log, ["t made", "t lost null"]);
    }));

  it("getExtraInfo() gives sockname, peername, socket, and the default otherwise (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      const port = portOf(server[0]);
      const client = yield* endpoint("client", [], { remoteAddr: ["127.0.0.1", port] });
      const socket = client[0].getExtraInfo("socket") as DgramSocket;
      assert.deepEqual(client[0].getExtraInfo("sockname"), ["127.0.0.1", socket.address().port]);
      assert.deepEqual(client[0].getExtraInfo("peername"), ["127.0.0.1", port]);
      // asyncio parity: an unconnected endpoint has a peername, and it is None.
      assert.equal(server[0].getExtraInfo("peername", "default"), null);
      assert.equal(server[0].getExtraInfo("nonsense", "default"), "default");
      assert.equal(server[0].getExtraInfo("nonsense"), undefined);
      yield* closeAll(client, server);
      assert.deepEqual(server[0].getExtraInfo("sockname"), ["127.0.0.1", port]);
      assert.deepEqual(client[0].getExtraInfo("peername"), ["127.0.0.1", port]);
    }));

  it("shows its state and write buffer in its repr (real I/O)", () =>
    realIo(function* () {
      const pair = yield* endpoint("t", [], { family: 4 });
      assert.equal(
        inspect(pair[0]),
        "<DatagramTransport open read=polling write=<idle, bufsize=0>>",
      );
      pair[0].sendto(bytes("x"), ["127.0.0.1", 9]);
      pair[0].close();
      assert.equal(
        inspect(pair[0]),
        "<DatagramTransport closing read=idle write=<idle, bufsize=0>>",
      );
      yield* pair[1].lost;
      assert.equal(inspect(pair[0]), "<DatagramTransport closed>");
    }));

  it("getWriteBufferSize() is 0 once the system took the datagram (real I/O)", () =>
    realIo(function* () {
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      const client = yield* endpoint("client", [], {
        remoteAddr: ["127.0.0.1", portOf(server[0])],
      });
      client[0].sendto(bytes("x"));
      assert.equal(client[0].getWriteBufferSize(), 0);
      yield* closeAll(client, server);
      assert.equal(client[0].getWriteBufferSize(), 0);
    }));

  it("has asyncio's write buffer limits, 16 KiB and 64 KiB (real I/O)", () =>
    realIo(function* () {
      const pair = yield* endpoint("t", [], { family: 4 });
      const transport = pair[0] as DatagramTransport & {
        getWriteBufferLimits(): [number, number];
        setWriteBufferLimits(high?: number | null, low?: number | null): void;
      };
      assert.deepEqual(transport.getWriteBufferLimits(), [16384, 65536]);
      transport.setWriteBufferLimits(1000);
      assert.deepEqual(transport.getWriteBufferLimits(), [250, 1000]);
      assert.throws(
        () => {
          transport.setWriteBufferLimits(1, 2);
        },
        {
          name: "RangeError",
          message: "high (1) must be >= low (2) must be >= 0",
        },
      );
      yield* closeAll(pair);
    }));

  it("a datagramReceived that throws goes to the exception handler; reading goes on (real I/O)", () =>
    realIo(function* () {
      const loop = getRunningLoop();
      const seen = captureExceptions(loop);
      const server = yield* endpoint("server", [], { localAddr: ["127.0.0.1", 0] });
      const client = yield* endpoint("client", [], {
        remoteAddr: ["127.0.0.1", portOf(server[0])],
      });
      const boom = new Error("boom");
      const original = server[1].datagramReceived.bind(server[1]);
      server[1].datagramReceived = (data, from): void => {
        original(data, from);
        if (text(data) === "bad") throw boom;
      };
      client[0].sendto(bytes("bad"));
      client[0].sendto(bytes("good"));
      yield* server[1].until(() => server[1].datagrams.length === 2);
      assert.equal(server[0].isClosing(), false);
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.exception, boom);
      assert.match(seen[0]!.message, /^Exception in callback /);
      yield* closeAll(client, server);
    }));

  it("a connectionMade that throws still lets createDatagramEndpoint return (real I/O)", () =>
    realIo(function* () {
      const loop = getRunningLoop();
      const seen = captureExceptions(loop);
      const boom = new Error("boom");
      const pair = yield* loop.createDatagramEndpoint(
        () => {
          const protocol = new Recorder("t");
          protocol.connectionMade = (): void => {
            throw boom;
          };
          return protocol;
        },
        { localAddr: ["127.0.0.1", 0] },
      );
      assert.deepEqual(
        seen.map((context) => context.exception),
        [boom],
      );
      yield* closeAll(pair);
    }));

  it("setProtocol() switches the protocol that receives datagrams (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      const server = yield* endpoint("first", log, { localAddr: ["127.0.0.1", 0] });
      const client = yield* endpoint("client", log, {
        remoteAddr: ["127.0.0.1", portOf(server[0])],
      });
      const second = new Recorder("second", log);
      server[0].setProtocol(second);
      assert.equal(server[0].getProtocol(), second);
      client[0].sendto(bytes("hi"));
      yield* second.until(() => second.datagrams.length === 1);
      server[0].close();
      yield* second.lost;
      yield* closeAll(client);
      assert.deepEqual(log, [
        "first made",
        "client made",
        'second got "hi"',
        "second lost null",
        "client lost null",
      ]);
    }));

  it("runs the protocol's callbacks in the Context of createDatagramEndpoint (real I/O)", () =>
    realIo(function* () {
      const where = new ContextVar<string>("where", { default: "outside" });
      const seen: string[] = [];
      where.set("endpoint");
      const server = yield* getRunningLoop().createDatagramEndpoint(
        () => {
          const protocol = new Recorder("s");
          const original = protocol.datagramReceived.bind(protocol);
          protocol.datagramReceived = (data, from): void => {
            seen.push(where.get());
            original(data, from);
          };
          return protocol;
        },
        { localAddr: ["127.0.0.1", 0] },
      );
      where.set("later");
      const client = yield* endpoint("client", [], {
        remoteAddr: ["127.0.0.1", portOf(server[0])],
      });
      client[0].sendto(bytes("x"));
      yield* server[1].until(() => server[1].datagrams.length === 1);
      assert.deepEqual(seen, ["endpoint"]);
      yield* closeAll(client, server);
    }));

  it("calls connectionLost(null) when its socket is closed behind its back (real I/O)", () =>
    realIo(function* () {
      const log: string[] = [];
      const pair = yield* endpoint("t", log, { localAddr: ["127.0.0.1", 0] });
      (pair[0].getExtraInfo("socket") as DgramSocket).close();
      assert.equal(yield* pair[1].lost, null);
      assert.equal(pair[0].isClosing(), true);
      assert.deepEqual(log, ["t made", "t lost null"]);
    }));
});

/** Await `awaitable` and check that it throws `type` with `message`. */
function* assertThrows(
  awaitable: Iterable<unknown, unknown, unknown>,
  type: abstract new (...args: never[]) => Error,
  message?: string | RegExp,
): Coro<void> {
  try {
    yield* awaitable as Coro<unknown>;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message !== undefined) assert.match(error.message, message);
    return;
  }
  assert.fail(`expected ${type.name} to be thrown`);
}
