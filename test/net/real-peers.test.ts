// Tests of tsyncio's streams against programs nobody here wrote: curl and Node's http client
// against an HTTP/1.1 server built on startServer, a real redis-server spoken to in RESP
// through openConnection, and openssl s_client and Node's tls.connect against a TLS server
// built on startServer. Every program runs on 127.0.0.1 with a free port, for a bounded
// time, and is stopped after; a test whose program is missing skips, saying why.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { Agent, request as httpRequest } from "node:http";
import { connect as netConnect } from "node:net";
import { after, before, describe, it } from "node:test";
import { connect as tlsConnect } from "node:tls";
import {
  CancelledError,
  allTasks,
  createTask,
  currentTask,
  gather,
  getRunningLoop,
  sleep,
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
import { opensslMissing, testCerts } from "../helpers/certs.ts";
import {
  freePort,
  programMissing,
  runProgram,
  runReal,
  startProgram,
  type Program,
  type ProgramExit,
} from "../helpers/programs.ts";

const b = (value: string): Buffer => Buffer.from(value);
const text = (data: Uint8Array): string => Buffer.from(data).toString();
const CRLF = b("\r\n");

/** The port of a TCP server. */
function portOf(server: Server): number {
  const name = server.sockets[0]?.getsockname();
  assert.ok(Array.isArray(name), "the server does not listen on TCP");
  return name[1];
}

/** Run a program to its end from inside a coroutine (at most `lifetimeMs`, default 3 s). */
function* exec(
  command: string,
  args: readonly string[],
  options: { input?: string | Uint8Array; lifetimeMs?: number } = {},
): Coro<ProgramExit> {
  return yield* wrapPromise(runProgram(command, args, { lifetimeMs: 3000, ...options }));
}

/** Wait until `check()` holds, polling every 5 ms, for at most `ms` milliseconds. */
function* until(check: () => Coro<boolean>, what: string, ms = 1000): Coro<void> {
  const deadline = getRunningLoop().time() + ms / 1000;
  while (!(yield* check())) {
    assert.ok(getRunningLoop().time() < deadline, `not within ${ms} ms: ${what}`);
    yield* sleep(0.005);
  }
}

/** Nothing is left of the test's connections: no task but this one, no outstanding I/O. */
function* assertNothingLeft(): Coro<void> {
  assert.deepEqual([...allTasks()].map(String), [String(currentTask())], "tasks are left");
  assert.equal(getRunningLoop()._hostOps, 0, "the loop still counts outstanding I/O");
}

// ---- an HTTP/1.1 server on startServer ------------------------------------------------------

interface HttpRequest {
  method: string;
  target: string;
  version: string;
  headers: Map<string, string>;
}

/** What the HTTP server saw. */
interface HttpStats {
  connections: number;
  /** `METHOD target length=N expect=...` for each request. */
  requests: string[];
  inFlight: number;
  maxInFlight: number;
}

const REASONS: Record<number, string> = { 200: "OK", 404: "Not Found" };

/** The request line and header fields of the next request, or null at EOF between requests. */
function* readRequest(reader: StreamReader): Coro<HttpRequest | null> {
  const requestLine = yield* reader.readline();
  if (requestLine.length === 0) return null;
  const [method = "", target = "", version = ""] = text(requestLine).trimEnd().split(" ");
  const headers = new Map<string, string>();
  for (;;) {
    const field = text(yield* reader.readUntil(CRLF));
    if (field === "\r\n") break;
    const colon = field.indexOf(":");
    headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
  }
  return { method, target, version, headers };
}

/**
 * The routes: GET /hello, GET /whoami (connection and request numbers), GET and POST
 * /delay?ms=N (answer after N ms), POST /echo.
 */
function* respond(request: HttpRequest, body: Uint8Array, who: string): Coro<[number, Buffer]> {
  const url = new URL(request.target, "http://127.0.0.1");
  const route = `${request.method} ${url.pathname}`;
  if (route === "GET /hello") return [200, b("hello\n")];
  if (route === "GET /whoami") return [200, b(`${who}\n`)];
  if (url.pathname === "/delay") {
    // GET: say how long it waited; POST: echo the body, after the wait.
    const ms = Number(url.searchParams.get("ms"));
    yield* sleep(ms / 1000);
    if (request.method === "POST") return [200, Buffer.from(body)];
    return [200, b(`waited ${ms} ms\n`)];
  }
  if (route === "POST /echo") return [200, Buffer.from(body)];
  return [404, b("not found\n")];
}

/** A handler for startServer: HTTP/1.1 with keep-alive, Content-Length bodies, GET and POST. */
function httpHandler(stats: HttpStats): (reader: StreamReader, writer: StreamWriter) => Coro<void> {
  return function* (reader, writer) {
    const connection = ++stats.connections;
    let served = 0;
    try {
      for (;;) {
        const request = yield* readRequest(reader);
        if (request === null) break;
        served++;
        const length = Number(request.headers.get("content-length") ?? "0");
        const expect = request.headers.get("expect") ?? "";
        stats.requests.push(
          `${request.method} ${request.target} length=${length} expect=${expect}`,
        );
        stats.maxInFlight = Math.max(stats.maxInFlight, ++stats.inFlight);
        let keepAlive: boolean;
        try {
          if (expect.toLowerCase() === "100-continue") {
            writer.write(b("HTTP/1.1 100 Continue\r\n\r\n"));
          }
          const body = yield* reader.readExactly(length);
          const [status, payload] = yield* respond(
            request,
            body,
            `connection ${connection} request ${served}`,
          );
          const connectionHeader = request.headers.get("connection")?.toLowerCase();
          keepAlive =
            request.version === "HTTP/1.1"
              ? connectionHeader !== "close"
              : connectionHeader === "keep-alive";
          const head =
            `HTTP/1.1 ${status} ${REASONS[status] ?? "?"}\r\n` +
            `Content-Type: application/octet-stream\r\n` +
            `Content-Length: ${payload.length}\r\n` +
            `Connection: ${keepAlive ? "keep-alive" : "close"}\r\n\r\n`;
          writer.write(Buffer.concat([b(head), payload]));
          yield* writer.drain();
        } finally {
          stats.inFlight--;
        }
        if (!keepAlive) break;
      }
    } finally {
      writer.close();
    }
    yield* writer.waitClosed();
  };
}

/** Run `body` with an HTTP server listening on 127.0.0.1; close it and wait for it after. */
function* withHttpServer<T>(body: (port: number, stats: HttpStats) => Coro<T>): Coro<T> {
  const stats: HttpStats = { connections: 0, requests: [], inFlight: 0, maxInFlight: 0 };
  const server = yield* startServer(httpHandler(stats), "127.0.0.1", 0);
  const result = yield* server.run(() => body(portOf(server), stats));
  yield* assertNothingLeft();
  return result;
}

/** curl, with no proxy from the environment and a deadline. */
function* curl(args: readonly string[], input?: Uint8Array): Coro<ProgramExit> {
  const exit = yield* exec(
    "curl",
    ["--silent", "--show-error", "--noproxy", "*", "--max-time", "2", ...args],
    input === undefined ? {} : { input },
  );
  assert.equal(exit.code, 0, `curl failed: ${exit.stderr}`);
  return exit;
}

interface HttpResponse {
  status: number;
  body: string;
  connection: string | undefined;
}

/** One request with Node's http client. */
function fetchWithNode(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  body?: string,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      { host: "127.0.0.1", port, method, path, agent, timeout: 2000 },
      (response) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("end", () => {
          resolve({
            status: response.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
            connection: response.headers.connection,
          });
        });
        response.on("error", reject);
      },
    );
    request.on("error", reject);
    request.on("timeout", () => request.destroy(new Error("no answer within 2 s")));
    request.end(body);
  });
}

describe("an HTTP/1.1 server on startServer", () => {
  const noCurl = programMissing("curl");

  it(
    "answers several requests from curl over one kept-alive connection (real I/O)",
    { skip: noCurl },
    () =>
      runReal(() =>
        withHttpServer(function* (port, stats) {
          const url = `http://127.0.0.1:${port}`;
          const exit = yield* curl([
            "--write-out",
            "%{http_code} %{num_connects}\\n",
            `${url}/whoami`,
            `${url}/whoami`,
            `${url}/hello`,
            `${url}/missing`,
          ]);
          assert.equal(
            exit.stdout.toString(),
            "connection 1 request 1\n200 1\n" +
              "connection 1 request 2\n200 0\n" +
              "hello\n200 0\n" +
              "not found\n404 0\n",
          );
          assert.equal(stats.connections, 1);
        }),
      ),
  );

  it(
    "closes after each response to an HTTP/1.0 client, which then reconnects (real I/O)",
    { skip: noCurl },
    () =>
      runReal(() =>
        withHttpServer(function* (port, stats) {
          const url = `http://127.0.0.1:${port}`;
          const exit = yield* curl([
            "--http1.0",
            "--write-out",
            "%{http_code} %{num_connects}\\n",
            `${url}/whoami`,
            `${url}/whoami`,
          ]);
          assert.equal(
            exit.stdout.toString(),
            "connection 1 request 1\n200 1\nconnection 2 request 1\n200 1\n",
          );
          assert.equal(stats.connections, 2);
        }),
      ),
  );

  it(
    "takes POST bodies from curl: a small one, and 256 KiB after `Expect: 100-continue` (real I/O)",
    { skip: noCurl },
    () =>
      runReal(() =>
        withHttpServer(function* (port, stats) {
          const url = `http://127.0.0.1:${port}/echo`;
          const small = yield* curl(["--data-binary", "a=1&b=2", url]);
          assert.equal(small.stdout.toString(), "a=1&b=2");
          const large = randomBytes(256 * 1024);
          const echoed = yield* curl(
            [
              "--data-binary",
              "@-",
              "--header",
              "Content-Type: application/octet-stream",
              "--header",
              "Expect: 100-continue",
              url,
            ],
            large,
          );
          assert.ok(echoed.stdout.equals(large), "the 256 KiB body came back changed");
          assert.deepEqual(stats.requests, [
            "POST /echo length=7 expect=",
            "POST /echo length=262144 expect=100-continue",
          ]);
        }),
      ),
  );

  it("serves concurrent requests from Node's http client over a few kept-alive connections (real I/O)", () =>
    runReal(() =>
      withHttpServer(function* (port, stats) {
        const agent = new Agent({ keepAlive: true, maxSockets: 4 });
        try {
          const requests = Array.from({ length: 24 }, (_, i) =>
            i % 2 === 0
              ? fetchWithNode(agent, port, "GET", "/delay?ms=10")
              : fetchWithNode(agent, port, "POST", "/delay?ms=10", `request ${i}`),
          );
          const responses = yield* wrapPromise(Promise.all(requests));
          assert.deepEqual(
            responses,
            Array.from({ length: 24 }, (_, i) => ({
              status: 200,
              body: i % 2 === 0 ? "waited 10 ms\n" : `request ${i}`,
              connection: "keep-alive",
            })),
          );
          const notFound = yield* wrapPromise(fetchWithNode(agent, port, "GET", "/nothing"));
          assert.deepEqual(notFound, {
            status: 404,
            body: "not found\n",
            connection: "keep-alive",
          });
        } finally {
          agent.destroy();
        }
        assert.equal(stats.requests.length, 25);
        assert.equal(stats.connections, 4);
        // Requests on different connections were served at the same time.
        assert.ok(stats.maxInFlight >= 2, `at most ${stats.maxInFlight} request at a time`);
      }),
    ));
});

// ---- a real redis-server, in RESP --------------------------------------------------------

/** A RESP reply: simple string, integer, bulk string (bytes), nil, array, or error. */
type Reply = string | number | Buffer | null | RedisError | Reply[];

class RedisError extends Error {
  override name = "RedisError";
}

/** A command as a RESP array of bulk strings. */
function command(...args: (string | Uint8Array)[]): Buffer {
  const parts: Buffer[] = [b(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = typeof arg === "string" ? b(arg) : Buffer.from(arg);
    parts.push(b(`$${bytes.length}\r\n`), bytes, CRLF);
  }
  return Buffer.concat(parts);
}

/** Read one RESP reply. */
function* readReply(reader: StreamReader): Coro<Reply> {
  const line = yield* reader.readUntil(CRLF);
  const rest = text(line.subarray(1, line.length - 2));
  switch (String.fromCharCode(line[0] ?? 0)) {
    case "+":
      return rest;
    case "-":
      return new RedisError(rest);
    case ":":
      return Number(rest);
    case "$": {
      const length = Number(rest);
      if (length < 0) return null;
      const data = yield* reader.readExactly(length + 2);
      return Buffer.from(data.subarray(0, length));
    }
    case "*": {
      const count = Number(rest);
      if (count < 0) return null;
      const items: Reply[] = [];
      for (let i = 0; i < count; i++) items.push(yield* readReply(reader));
      return items;
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(text(line))}`);
  }
}

/** A connection to redis through openConnection. */
interface Redis {
  reader: StreamReader;
  writer: StreamWriter;
}

let redisPort = 0;
let redisProgram: Program | null = null;

function* connectRedis(): Coro<Redis> {
  const [reader, writer] = yield* openConnection("127.0.0.1", redisPort);
  return { reader, writer };
}

/** Send one command and read its reply. */
function* call(redis: Redis, ...args: (string | Uint8Array)[]): Coro<Reply> {
  redis.writer.write(command(...args));
  yield* redis.writer.drain();
  return yield* readReply(redis.reader);
}

function* closeRedis(redis: Redis): Coro<void> {
  redis.writer.close();
  yield* redis.writer.waitClosed();
}

/** The `name:value` fields of `INFO section`. */
function* info(redis: Redis, section: string): Coro<Map<string, string>> {
  const reply = yield* call(redis, "INFO", section);
  assert.ok(Buffer.isBuffer(reply));
  const fields = new Map<string, string>();
  for (const line of text(reply).split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && !line.startsWith("#")) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/** Whether a redis-server answers PING on `port` (a Node client: no loop needed). */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = netConnect(port, "127.0.0.1");
    let got = "";
    socket.setEncoding("utf8");
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk: string) => {
      got += chunk;
      if (!got.includes("\r\n")) return;
      socket.destroy();
      resolve(got === "+PONG\r\n");
    });
    socket.on("error", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Start a redis-server on a free loopback port and wait until it answers PING. */
async function startRedis(): Promise<void> {
  let last = "";
  // A free port may be taken between freePort() and redis binding it: try again then.
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const program = startProgram(
      "redis-server",
      ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
      { lifetimeMs: 60_000 },
    );
    const deadline = performance.now() + 3000;
    while (program.running && performance.now() < deadline) {
      if (await answersPing(port)) {
        redisPort = port;
        redisProgram = program;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    last = program.output();
    await program.stop();
  }
  throw new Error(`redis-server did not start:\n${last}`);
}

const noRedis = programMissing("redis-server");

describe("a real redis-server through openConnection", { skip: noRedis }, () => {
  before(async () => {
    if (noRedis === undefined) await startRedis();
  });
  after(async () => {
    await redisProgram?.stop();
  });

  it("sets and gets a key, gets nil for a missing one, and reports an unknown command (real I/O)", () =>
    runReal(function* () {
      const redis = yield* connectRedis();
      assert.equal(yield* call(redis, "SET", "basic:key", "some value"), "OK");
      assert.deepEqual(yield* call(redis, "GET", "basic:key"), b("some value"));
      assert.equal(yield* call(redis, "GET", "basic:missing"), null);
      assert.equal(yield* call(redis, "DEL", "basic:key"), 1);
      const error = yield* call(redis, "NOSUCHCOMMAND", "x");
      assert.ok(error instanceof RedisError);
      assert.match(error.message, /^ERR unknown command 'NOSUCHCOMMAND'/);
      assert.equal(yield* call(redis, "PING"), "PONG");
      yield* closeRedis(redis);
      yield* assertNothingLeft();
    }));

  it("counts to 50 with INCR from 50 concurrent tasks, each on its own connection (real I/O)", () =>
    runReal(function* () {
      const admin = yield* connectRedis();
      assert.equal(yield* call(admin, "DEL", "incr:counter"), 0);
      const tasks = Array.from({ length: 50 }, () =>
        createTask(
          (function* (): Coro<Reply> {
            const redis = yield* connectRedis();
            try {
              return yield* call(redis, "INCR", "incr:counter");
            } finally {
              yield* closeRedis(redis);
            }
          })(),
        ),
      );
      const replies = yield* gather(...tasks);
      assert.deepEqual(
        [...replies].sort((x, y) => Number(x) - Number(y)),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.deepEqual(yield* call(admin, "GET", "incr:counter"), b("50"));
      yield* closeRedis(admin);
      yield* assertNothingLeft();
    }));

  it("pipelines 1000 commands in one write and reads the 1000 replies in order (real I/O)", () =>
    runReal(function* () {
      const redis = yield* connectRedis();
      assert.equal(yield* call(redis, "DEL", "pipeline:list"), 0);
      redis.writer.writelines(
        Array.from({ length: 1000 }, (_, i) => command("RPUSH", "pipeline:list", `item ${i}`)),
      );
      yield* redis.writer.drain();
      const replies: Reply[] = [];
      for (let i = 0; i < 1000; i++) replies.push(yield* readReply(redis.reader));
      assert.deepEqual(
        replies,
        Array.from({ length: 1000 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        yield* call(redis, "LRANGE", "pipeline:list", "0", "-1"),
        Array.from({ length: 1000 }, (_, i) => b(`item ${i}`)),
      );
      assert.equal(yield* call(redis, "DEL", "pipeline:list"), 1);
      yield* closeRedis(redis);
      yield* assertNothingLeft();
    }));

  it("stores and fetches a 1 MiB binary value (real I/O)", () =>
    runReal(function* () {
      const redis = yield* connectRedis();
      // Random bytes hold "\r\n" pairs: the value goes by length, not by line.
      const value = randomBytes(1024 * 1024);
      assert.equal(yield* call(redis, "SET", "large:value", value), "OK");
      assert.equal(yield* call(redis, "STRLEN", "large:value"), 1024 * 1024);
      const fetched = yield* call(redis, "GET", "large:value");
      assert.ok(Buffer.isBuffer(fetched) && fetched.equals(value), "the value came back changed");
      assert.equal(yield* call(redis, "DEL", "large:value"), 1);
      yield* closeRedis(redis);
      yield* assertNothingLeft();
    }));

  it("closes the connection cleanly when a task blocked reading a BLPOP is cancelled (real I/O)", () =>
    runReal(function* () {
      const log: string[] = [];
      const admin = yield* connectRedis();
      assert.equal(yield* call(admin, "DEL", "blpop:list"), 0);
      const clients = Number((yield* info(admin, "clients")).get("connected_clients"));
      const blocked = createTask(
        (function* (): Coro<Reply> {
          const redis = yield* connectRedis();
          try {
            log.push("waiting");
            return yield* call(redis, "BLPOP", "blpop:list", "0");
          } catch (error) {
            log.push(`read: ${error instanceof CancelledError ? "cancelled" : String(error)}`);
            throw error;
          } finally {
            log.push(`closing: ${String(redis.writer.isClosing())}`);
            yield* closeRedis(redis);
            log.push(`closed: ${String(redis.writer.isClosing())}`);
          }
        })(),
      );
      yield* until(function* () {
        return (yield* info(admin, "clients")).get("blocked_clients") === "1";
      }, "redis reports the client blocked");
      blocked.cancel();
      yield* until(function* () {
        return blocked.done();
      }, "the cancelled task ends");
      assert.equal(blocked.cancelled(), true);
      assert.deepEqual(log, ["waiting", "read: cancelled", "closing: false", "closed: true"]);
      // redis saw the connection go: nobody is blocked, and a pushed element stays.
      yield* until(function* () {
        const fields = yield* info(admin, "clients");
        return (
          fields.get("blocked_clients") === "0" &&
          fields.get("connected_clients") === String(clients)
        );
      }, "redis drops the closed client");
      assert.equal(yield* call(admin, "LPUSH", "blpop:list", "x"), 1);
      assert.equal(yield* call(admin, "LLEN", "blpop:list"), 1);
      assert.equal(yield* call(admin, "DEL", "blpop:list"), 1);
      yield* closeRedis(admin);
      yield* assertNothingLeft();
    }));
});

// ---- TLS: openssl s_client and Node's tls.connect ------------------------------------------

/** What the TLS echo server saw. */
interface TlsStats {
  handled: number;
}

/** Run `body` with a TLS server on 127.0.0.1 that echoes one line per connection. */
function* withTlsServer<T>(body: (port: number, stats: TlsStats) => Coro<T>): Coro<T> {
  const certs = testCerts();
  const stats: TlsStats = { handled: 0 };
  const server = yield* startServer(
    function* (reader, writer): Coro<void> {
      stats.handled++;
      writer.write(yield* reader.readline());
      yield* writer.drain();
      writer.close();
      yield* writer.waitClosed();
    },
    "127.0.0.1",
    0,
    { ssl: { key: certs.key, cert: certs.cert }, sslHandshakeTimeout: 2 },
  );
  const result = yield* server.run(() => body(portOf(server), stats));
  yield* assertNothingLeft();
  return result;
}

/** openssl s_client to 127.0.0.1:port, sending `input`, with extra verification options. */
function* sClient(port: number, input: string, options: readonly string[]): Coro<ProgramExit> {
  return yield* exec(
    "openssl",
    [
      "s_client",
      "-connect",
      `127.0.0.1:${port}`,
      "-verify_return_error",
      "-verify_ip",
      "127.0.0.1",
      "-quiet",
      ...options,
    ],
    { input },
  );
}

/** Send a line with Node's tls.connect and return what came back before the server closed. */
function tlsEcho(port: number, line: string, ca?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: "127.0.0.1",
      port,
      servername: "localhost",
      ...(ca !== undefined ? { ca } : {}),
    });
    let got = "";
    socket.setEncoding("utf8");
    socket.setTimeout(2000, () => socket.destroy(new Error("no answer within 2 s")));
    socket.on("secureConnect", () => socket.write(line));
    socket.on("data", (chunk: string) => (got += chunk));
    socket.on("end", () => {
      socket.end();
      resolve(got);
    });
    socket.on("error", (error: Error) => {
      socket.destroy();
      reject(error);
    });
  });
}

describe("a TLS server on startServer", { skip: opensslMissing }, () => {
  it("echoes a line to openssl s_client, which verifies the server with the test CA (real I/O)", () =>
    runReal(() =>
      withTlsServer(function* (port, stats) {
        const exit = yield* sClient(port, "hello over TLS\n", ["-CAfile", testCerts().caFile]);
        assert.equal(exit.code, 0, exit.stderr);
        assert.equal(exit.stdout.toString(), "hello over TLS\n");
        assert.match(exit.stderr, /verify return:1/);
        assert.equal(stats.handled, 1);
      }),
    ));

  it("fails openssl s_client's verification without the test CA, and goes on serving (real I/O)", () =>
    runReal(() =>
      withTlsServer(function* (port, stats) {
        const exit = yield* sClient(port, "hello\n", ["-no-CAfile", "-no-CApath", "-no-CAstore"]);
        assert.equal(exit.code, 1);
        assert.match(exit.stderr, /verify error:num=20:unable to get local issuer certificate/);
        assert.equal(exit.stdout.toString(), "");
        assert.equal(stats.handled, 0);
        const good = yield* sClient(port, "still here\n", ["-CAfile", testCerts().caFile]);
        assert.equal(good.stdout.toString(), "still here\n");
        assert.equal(stats.handled, 1);
      }),
    ));

  it("echoes a line to Node's tls.connect trusting the test CA, and fails it without (real I/O)", () =>
    runReal(() =>
      withTlsServer(function* (port, stats) {
        assert.equal(
          yield* wrapPromise(tlsEcho(port, "hello from node\n", testCerts().ca)),
          "hello from node\n",
        );
        const error = yield* wrapPromise(
          tlsEcho(port, "hello\n").then(
            () => assert.fail("the connection succeeded without the CA"),
            (reason: unknown) => reason,
          ),
        );
        assert.equal((error as { code?: string }).code, "UNABLE_TO_VERIFY_LEAF_SIGNATURE");
        assert.equal(stats.handled, 1);
      }),
    ));
});
