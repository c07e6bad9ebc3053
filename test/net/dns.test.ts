import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import {
  CancelledError,
  EventLoop,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  type Coro,
} from "../../src/index.ts";
import {
  AI_CANONNAME,
  AI_NUMERICHOST,
  AI_NUMERICSERV,
  AI_PASSIVE,
  AI_V4MAPPED,
  IPPROTO_TCP,
  IPPROTO_UDP,
  NI_DGRAM,
  NI_NAMEREQD,
  NI_NUMERICHOST,
  NI_NUMERICSERV,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  getaddrinfo,
  getnameinfo,
} from "../../src/net/dns.ts";
import { runVirtual } from "../../src/testing.ts";

const noServices = existsSync("/etc/services") ? false : "no /etc/services on this machine";

/** Await `awaitable` and check that it throws `type` with `message` (and `code`). */
function* assertThrows(
  awaitable: Iterable<unknown, unknown, unknown>,
  type: abstract new (...args: never[]) => Error,
  message: string | RegExp,
  code?: string,
): Coro<void> {
  try {
    yield* awaitable as Coro<unknown>;
  } catch (error) {
    assert.ok(error instanceof type, `expected ${type.name}, got ${String(error)}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    if (code !== undefined) assert.equal((error as NodeJS.ErrnoException).code, code);
    return;
  }
  assert.fail(`expected ${type.name} to be thrown`);
}

describe("getaddrinfo", () => {
  it("resolves localhost into one result per socket kind, as the C library does", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      assert.deepEqual(yield* loop.getaddrinfo("localhost", 80, { family: 4 }), [
        [4, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 80]],
        [4, SOCK_DGRAM, IPPROTO_UDP, "", ["127.0.0.1", 80]],
        [4, SOCK_RAW, 0, "", ["127.0.0.1", 80]],
      ]);
    }));

  it("gives only the socket kind that type or proto asks for", () =>
    runVirtual(function* () {
      assert.deepEqual(yield* getaddrinfo("localhost", 53, { family: 4, type: SOCK_DGRAM }), [
        [4, SOCK_DGRAM, IPPROTO_UDP, "", ["127.0.0.1", 53]],
      ]);
      assert.deepEqual(yield* getaddrinfo("localhost", 53, { family: 4, proto: IPPROTO_TCP }), [
        [4, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 53]],
      ]);
    }));

  it("throws EAI_SOCKTYPE for a proto that does not fit the type", () =>
    runVirtual(function* () {
      yield* assertThrows(
        getaddrinfo("localhost", 80, { type: SOCK_STREAM, proto: IPPROTO_UDP }),
        Error,
        "getaddrinfo EAI_SOCKTYPE localhost (ai_socktype not supported)",
        "EAI_SOCKTYPE",
      );
    }));

  it("does not look up a numeric host, and gives it its own family", () =>
    runVirtual(function* () {
      assert.deepEqual(yield* getaddrinfo("127.0.0.1", 8080, { type: SOCK_STREAM }), [
        [4, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 8080]],
      ]);
      assert.deepEqual(yield* getaddrinfo("::1", 8080, { type: SOCK_STREAM }), [
        [6, SOCK_STREAM, IPPROTO_TCP, "", ["::1", 8080]],
      ]);
    }));

  it("throws EAI_ADDRFAMILY for a numeric host of the other family, unless AI_V4MAPPED", () =>
    runVirtual(function* () {
      yield* assertThrows(
        getaddrinfo("127.0.0.1", 80, { family: 6, type: SOCK_STREAM }),
        Error,
        "getaddrinfo EAI_ADDRFAMILY 127.0.0.1 (Address family for hostname not supported)",
        "EAI_ADDRFAMILY",
      );
      assert.deepEqual(
        yield* getaddrinfo("127.0.0.1", 80, { family: 6, type: SOCK_STREAM, flags: AI_V4MAPPED }),
        [[6, SOCK_STREAM, IPPROTO_TCP, "", ["::ffff:127.0.0.1", 80]]],
      );
    }));

  it("with AI_NUMERICHOST, throws ENOTFOUND for a name", () =>
    runVirtual(function* () {
      yield* assertThrows(
        getaddrinfo("localhost", 80, { flags: AI_NUMERICHOST }),
        Error,
        "getaddrinfo ENOTFOUND localhost",
        "ENOTFOUND",
      );
    }));

  it("gives loopback for no host, and the wildcard address with AI_PASSIVE", () =>
    runVirtual(function* () {
      assert.deepEqual(yield* getaddrinfo(null, 80, { type: SOCK_STREAM }), [
        [6, SOCK_STREAM, IPPROTO_TCP, "", ["::1", 80]],
        [4, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 80]],
      ]);
      assert.deepEqual(
        yield* getaddrinfo(null, 80, { type: SOCK_STREAM, flags: AI_PASSIVE, family: 4 }),
        [[4, SOCK_STREAM, IPPROTO_TCP, "", ["0.0.0.0", 80]]],
      );
      assert.deepEqual(yield* getaddrinfo(undefined, 80, { type: SOCK_DGRAM, flags: AI_PASSIVE }), [
        [4, SOCK_DGRAM, IPPROTO_UDP, "", ["0.0.0.0", 80]],
        [6, SOCK_DGRAM, IPPROTO_UDP, "", ["::", 80]],
      ]);
    }));

  it("throws ENOTFOUND for neither host nor port, and for an empty host", () =>
    runVirtual(function* () {
      yield* assertThrows(
        getaddrinfo(null, null),
        Error,
        "getaddrinfo ENOTFOUND null",
        "ENOTFOUND",
      );
      yield* assertThrows(getaddrinfo("", 80), Error, "getaddrinfo ENOTFOUND ", "ENOTFOUND");
    }));

  it("takes the port as a number, a numeric string, or null for 0", () =>
    runVirtual(function* () {
      const options = { family: 4, type: SOCK_STREAM } as const;
      for (const [port, expected] of [
        ["8080", 8080],
        [" 80", 80],
        ["", 0],
        [null, 0],
        [0, 0],
      ] as const) {
        assert.deepEqual(yield* getaddrinfo("localhost", port, options), [
          [4, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", expected]],
        ]);
      }
    }));

  it("looks service names up for the socket kinds that have them", { skip: noServices }, () =>
    runVirtual(function* () {
      // "exec" is 512/tcp and "biff" 512/udp, in every /etc/services.
      assert.deepEqual(yield* getaddrinfo("127.0.0.1", "exec"), [
        [4, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 512]],
      ]);
      assert.deepEqual(yield* getaddrinfo("127.0.0.1", "biff"), [
        [4, SOCK_DGRAM, IPPROTO_UDP, "", ["127.0.0.1", 512]],
      ]);
      assert.deepEqual(yield* getaddrinfo("127.0.0.1", "domain"), [
        [4, SOCK_STREAM, IPPROTO_TCP, "", ["127.0.0.1", 53]],
        [4, SOCK_DGRAM, IPPROTO_UDP, "", ["127.0.0.1", 53]],
      ]);
      yield* assertThrows(
        getaddrinfo("127.0.0.1", "exec", { type: SOCK_DGRAM }),
        Error,
        "getaddrinfo EAI_SERVICE exec (Servname not supported for ai_socktype)",
        "EAI_SERVICE",
      );
    }),
  );

  it("throws EAI_SERVICE for an unknown service, ENOTFOUND for a name with AI_NUMERICSERV", () =>
    runVirtual(function* () {
      yield* assertThrows(
        getaddrinfo("localhost", "no-such-service"),
        Error,
        "getaddrinfo EAI_SERVICE no-such-service (Servname not supported for ai_socktype)",
        "EAI_SERVICE",
      );
      yield* assertThrows(
        getaddrinfo("localhost", "http", { flags: AI_NUMERICSERV }),
        Error,
        "getaddrinfo ENOTFOUND localhost",
        "ENOTFOUND",
      );
      yield* assertThrows(
        getaddrinfo("localhost", "-1"),
        Error,
        "getaddrinfo EAI_SERVICE -1 (Servname not supported for ai_socktype)",
        "EAI_SERVICE",
      );
      yield* assertThrows(
        getaddrinfo("localhost", 80, { type: SOCK_RAW }),
        Error,
        "getaddrinfo EAI_SERVICE 80 (Servname not supported for ai_socktype)",
        "EAI_SERVICE",
      );
    }));

  it("puts the host as the canonical name of the first result with AI_CANONNAME", () =>
    runVirtual(function* () {
      assert.deepEqual(yield* getaddrinfo("localhost", 80, { family: 4, flags: AI_CANONNAME }), [
        [4, SOCK_STREAM, IPPROTO_TCP, "localhost", ["127.0.0.1", 80]],
        [4, SOCK_DGRAM, IPPROTO_UDP, "", ["127.0.0.1", 80]],
        [4, SOCK_RAW, 0, "", ["127.0.0.1", 80]],
      ]);
    }));

  it("throws TypeError and RangeError for bad arguments, before any lookup", () =>
    runVirtual(function* () {
      yield* assertThrows(
        getaddrinfo("localhost", 70000),
        RangeError,
        "port must be an integer from 0 to 65535, got 70000",
      );
      yield* assertThrows(
        getaddrinfo("localhost", 1.5),
        RangeError,
        "port must be an integer from 0 to 65535, got 1.5",
      );
      yield* assertThrows(
        getaddrinfo("localhost", 80, { family: 5 as 4 }),
        RangeError,
        "family must be 0, 4 or 6, got 5",
      );
      yield* assertThrows(
        getaddrinfo("localhost", 80, { type: 9 }),
        RangeError,
        "type must be 0, SOCK_STREAM, SOCK_DGRAM or SOCK_RAW, got 9",
      );
      yield* assertThrows(
        getaddrinfo(42 as unknown as string, 80),
        TypeError,
        "host must be a string or null, got 42",
      );
      yield* assertThrows(
        getaddrinfo("localhost", {} as unknown as number),
        TypeError,
        "port must be a number, a string or null, got {}",
      );
    }));

  it("throws CancelledError at once when its task is cancelled during a lookup", () =>
    runVirtual(function* () {
      const task = createTask(getaddrinfo("localhost", 80));
      yield* sleep(0);
      assert.equal(task.done(), false);
      task.cancel();
      yield* assertThrows(task, CancelledError, "");
      assert.equal(task.cancelled(), true);
    }));

  it("loop.getaddrinfo() throws RuntimeError on a loop that is not running", () =>
    runVirtual(function* () {
      const other = new EventLoop();
      yield* assertThrows(
        other.getaddrinfo("localhost", 80),
        RuntimeError,
        /is not the running loop/,
      );
      other.close();
    }));
});

describe("getnameinfo", () => {
  it("names a loopback address and port", { skip: noServices }, () =>
    runVirtual(function* () {
      assert.deepEqual(yield* getRunningLoop().getnameinfo(["127.0.0.1", 80]), [
        "localhost",
        "http",
      ]);
    }),
  );

  it("gives the numbers with NI_NUMERICHOST and NI_NUMERICSERV", () =>
    runVirtual(function* () {
      assert.deepEqual(yield* getnameinfo(["127.0.0.1", 80], NI_NUMERICHOST | NI_NUMERICSERV), [
        "127.0.0.1",
        "80",
      ]);
      assert.deepEqual(yield* getnameinfo(["::1", 443], NI_NUMERICHOST | NI_NUMERICSERV), [
        "::1",
        "443",
      ]);
    }));

  it("names a UDP service with NI_DGRAM, a TCP one without", { skip: noServices }, () =>
    runVirtual(function* () {
      assert.deepEqual(yield* getnameinfo(["127.0.0.1", 512], NI_NUMERICHOST), [
        "127.0.0.1",
        "exec",
      ]);
      assert.deepEqual(yield* getnameinfo(["127.0.0.1", 512], NI_NUMERICHOST | NI_DGRAM), [
        "127.0.0.1",
        "biff",
      ]);
    }),
  );

  it("gives the port number for a port without a service name", () =>
    runVirtual(function* () {
      assert.deepEqual(yield* getnameinfo(["127.0.0.1", 44444], NI_NUMERICHOST), [
        "127.0.0.1",
        "44444",
      ]);
    }));

  it("keeps a nameless address numeric, or throws ENOTFOUND with NI_NAMEREQD", () =>
    runVirtual(function* () {
      // 192.0.2.0/24 is TEST-NET-1: no name anywhere.
      assert.deepEqual(yield* getnameinfo(["192.0.2.1", 80], NI_NUMERICSERV), ["192.0.2.1", "80"]);
      yield* assertThrows(
        getnameinfo(["192.0.2.1", 80], NI_NAMEREQD),
        Error,
        /ENOTFOUND/,
        "ENOTFOUND",
      );
    }));

  it("throws ENOTFOUND for a host that is not a numeric address", () =>
    runVirtual(function* () {
      yield* assertThrows(
        getnameinfo(["localhost", 80]),
        Error,
        "getnameinfo ENOTFOUND localhost",
        "ENOTFOUND",
      );
    }));

  it("throws TypeError for a malformed address, RangeError for a port out of range", () =>
    runVirtual(function* () {
      yield* assertThrows(
        getnameinfo(["127.0.0.1"] as unknown as [string, number]),
        TypeError,
        "getnameinfo() needs a [host, port] socket address, got [ '127.0.0.1' ]",
      );
      yield* assertThrows(
        getnameinfo([1, 80] as unknown as [string, number]),
        TypeError,
        "host must be a string, got 1",
      );
      yield* assertThrows(
        getnameinfo(["127.0.0.1", 70000]),
        RangeError,
        "port must be an integer from 0 to 65535, got 70000",
      );
    }));

  it("throws CancelledError at once when its task is cancelled during a lookup", () =>
    runVirtual(function* () {
      const task = createTask(getnameinfo(["127.0.0.1", 80]));
      yield* sleep(0);
      assert.equal(task.done(), false);
      task.cancel();
      yield* assertThrows(task, CancelledError, "");
    }));
});
