// TCP echo server on tsyncio, the counterpart of ../shared/bench-ref/py_echo_server.py and
// node_echo_server.mjs, for the `echo` rows of `npm run bench` (bench/echo.ts).
//
//   --mode streams  : startServer; per connection `read(65536)` -> `write()` -> `drain()`
//                     until EOF (`--read exactly` reads `readExactly(--size)` instead, as
//                     py_echo_server.py's streams mode does).
//   --mode protocol : a Protocol whose dataReceived writes the chunk back.
//
// Listens on 127.0.0.1 only. Announces itself on stderr with one JSON line
// {"event":"listening","port":P}. Stops on SIGTERM/SIGINT, or by itself after --max-seconds
// (a hard bound), and then prints one JSON result line on stdout with the reference
// servers' fields: bytes echoed, connections, server-side elapsed and CPU time. CPU time is
// process.cpuUsage() (user + system, every thread of the process, as node_echo_server.mjs
// and Python's time.process_time()) from "listening" to the stop.
//
//   node .build/bench/echo-server.js --mode protocol [--port P] [--max-seconds S]
import { parseArgs } from "node:util";
import {
  IncompleteReadError,
  getRunningLoop,
  run,
  startServer,
  type Coro,
  type Protocol,
  type StreamReader,
  type StreamWriter,
  type Transport,
} from "../src/index.ts";

type Mode = "streams" | "protocol";

interface Stats {
  bytes: number;
  conns: number;
}

/** A connection error (reset, broken pipe): the client going away, not a server bug. */
function isConnectionError(error: unknown): boolean {
  return (
    error instanceof IncompleteReadError ||
    (error instanceof Error && typeof (error as { code?: unknown }).code === "string")
  );
}

function streamsHandler(
  stats: Stats,
  readExactly: number | null,
): (reader: StreamReader, writer: StreamWriter) => Coro<void> {
  return function* handle(reader, writer) {
    stats.conns++;
    try {
      for (;;) {
        const data =
          readExactly === null ? yield* reader.read(65536) : yield* reader.readExactly(readExactly);
        if (data.length === 0) break;
        writer.write(data);
        yield* writer.drain();
        stats.bytes += data.length;
      }
    } catch (error) {
      if (!isConnectionError(error)) throw error;
    } finally {
      writer.close();
    }
  };
}

class EchoProtocol implements Protocol {
  readonly #stats: Stats;
  #transport: Transport | null = null;

  constructor(stats: Stats) {
    this.#stats = stats;
  }

  connectionMade(transport: Transport): void {
    this.#transport = transport;
    this.#stats.conns++;
  }

  dataReceived(data: Uint8Array): void {
    this.#transport!.write(data);
    this.#stats.bytes += data.length;
  }

  connectionLost(): void {
    this.#transport = null;
  }
}

function* serve(
  mode: Mode,
  port: number,
  readExactly: number | null,
  maxSeconds: number,
): Coro<Record<string, unknown>> {
  const loop = getRunningLoop();
  const stats: Stats = { bytes: 0, conns: 0 };
  const stop = loop.createFuture<string>();
  const onSignal = (): void => {
    loop.callSoonThreadsafe(() => {
      if (!stop.done()) stop.setResult("signal");
    });
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  const timer = loop.callLater(maxSeconds, () => {
    if (!stop.done()) stop.setResult("max_seconds");
  });
  const server =
    mode === "streams"
      ? yield* startServer(streamsHandler(stats, readExactly), "127.0.0.1", port)
      : yield* loop.createServer(() => new EchoProtocol(stats), "127.0.0.1", port);
  const address = server.sockets[0]!.getsockname();
  if (typeof address === "string") throw new Error(`not a TCP socket: ${address}`);
  process.stderr.write(`${JSON.stringify({ event: "listening", port: address[1] })}\n`);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const reason = yield* stop;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  timer.cancel();
  process.off("SIGTERM", onSignal);
  process.off("SIGINT", onSignal);
  server.close();
  server.abortClients();
  yield* server.waitClosed();
  return {
    bytes_echoed: stats.bytes,
    connections: stats.conns,
    server_seconds: Math.round(seconds * 1000) / 1000,
    server_cpu_seconds: Math.round((cpu.user + cpu.system) / 1000) / 1000,
    stopped_by: reason,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mode: { type: "string", default: "streams" },
      port: { type: "string", default: "0" },
      size: { type: "string", default: "1024" },
      read: { type: "string", default: "chunk" },
      "max-seconds": { type: "string", default: "120" },
    },
  });
  const mode = values.mode;
  if (mode !== "streams" && mode !== "protocol") {
    throw new TypeError(`--mode must be streams|protocol, got ${mode}`);
  }
  if (values.read !== "chunk" && values.read !== "exactly") {
    throw new TypeError(`--read must be chunk|exactly, got ${values.read}`);
  }
  const size = Number(values.size);
  const readExactly = values.read === "exactly" ? size : null;
  const result = await run(
    serve(mode, Number(values.port), readExactly, Number(values["max-seconds"])),
  );
  console.log(
    JSON.stringify({
      bench: "echo_server",
      runtime: "tsyncio",
      loop: "tsyncio",
      node: process.version,
      mode,
      size,
      read: values.read,
      results: { [mode]: result },
    }),
  );
}

await main();
