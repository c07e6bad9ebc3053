// A TCP server that handles thousands of connections at once: one task per client, each
// with its own idle timeout. Two handlers, from the simplest to a small line protocol.
//
//   npm run example -- tcp-server                       serve on 127.0.0.1:8888 until Ctrl-C
//                                                       (try: nc 127.0.0.1 8888, then "help")
//   npm run example -- tcp-server --demo                2000 clients connect at once, then
//                                                       each does a few round trips
//   npm run example -- tcp-server --demo --clients 5000 --rounds 10
import { readFileSync } from "node:fs";
import {
  Event,
  TimeoutError,
  gather,
  openConnection,
  run,
  startServer,
  timeout,
  type Coro,
  type Server,
  type StreamReader,
  type StreamWriter,
} from "../src/index.ts";
import { isMain, parseFlags, secondsSince } from "./lib/cli.ts";
import { ProgressBar } from "./lib/progress.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The simplest server: send back every byte, until the client closes. */
export function* echo(reader: StreamReader, writer: StreamWriter): Coro<void> {
  for (;;) {
    const data = yield* reader.read(65536);
    if (data.length === 0) break; // EOF
    writer.write(data);
    yield* writer.drain(); // a client that does not read makes us wait here: memory stays bounded
  }
  writer.close();
  yield* writer.waitClosed();
}

/** What the line-protocol server counts, for the demo's report. */
export interface ServerStats {
  open: number;
  peak: number;
  commands: number;
  idleTimeouts: number;
}

/**
 * A line protocol: `echo <text>`, `upper <text>`, `sum <numbers...>`, `idle <seconds>`,
 * `help`, `quit`. A client silent for `idleSeconds` (or the time it chose with `idle`) is
 * told so and disconnected; the others are unaffected, as every client has its own task
 * and its own timeout.
 */
export function lineProtocol(
  idleSeconds: number,
  stats: ServerStats,
): (reader: StreamReader, writer: StreamWriter) => Coro<void> {
  return function* (reader, writer) {
    stats.open++;
    stats.peak = Math.max(stats.peak, stats.open);
    let idle = idleSeconds;
    const send = (text: string): void => {
      writer.write(encoder.encode(text + "\n"));
    };
    try {
      for (;;) {
        let raw: Uint8Array;
        try {
          // The timeout covers one read: each new line restarts the clock.
          raw = yield* timeout(idle, () => reader.readline());
        } catch (error) {
          if (!(error instanceof TimeoutError)) throw error;
          stats.idleTimeouts++;
          send(`bye: idle for ${idle}s`);
          break;
        }
        if (raw.length === 0) break; // the client closed its side
        stats.commands++;
        const line = decoder.decode(raw).trim();
        const space = line.indexOf(" ");
        const command = space < 0 ? line : line.slice(0, space);
        const rest = space < 0 ? "" : line.slice(space + 1);
        if (command === "quit") {
          send("bye");
          break;
        } else if (command === "echo") {
          send(rest);
        } else if (command === "upper") {
          send(rest.toUpperCase());
        } else if (command === "sum") {
          send(String(rest.split(/\s+/).reduce((total, each) => total + Number(each), 0)));
        } else if (command === "idle") {
          const seconds = Number(rest);
          if (rest === "" || !(seconds > 0 && seconds <= idleSeconds)) {
            send(`error: idle takes seconds, at most ${idleSeconds}`);
          } else {
            idle = seconds;
            send(`ok: idle timeout ${idle}s`);
          }
        } else if (command === "help") {
          send("commands: echo <text>, upper <text>, sum <numbers...>, idle <seconds>, help, quit");
        } else {
          send(`error: unknown command ${JSON.stringify(command)}`);
        }
        yield* writer.drain();
      }
    } finally {
      stats.open--;
      writer.close();
      try {
        yield* writer.waitClosed();
      } catch {
        // The peer may have reset the connection: it is closed either way.
      }
    }
  };
}

/** The open-file limit (`ulimit -n`) where the system tells it (Linux), else null. */
export function openFileLimit(): number | null {
  try {
    const limits = readFileSync("/proc/self/limits", "utf8");
    const match = /^Max open files\s+(\d+|unlimited)/m.exec(limits);
    if (match?.[1] === undefined) return null;
    return match[1] === "unlimited" ? Infinity : Number(match[1]);
  } catch {
    return null;
  }
}

export interface TcpDemoOptions {
  clients: number;
  rounds: number;
  progress?: ProgressBar | undefined;
}

export interface TcpDemoReport {
  clients: number;
  connected: number;
  refused: number;
  peak: number;
  roundTrips: number;
  idleTimeouts: number;
  seconds: string;
  note: string;
}

/**
 * The self-driving demo: a line-protocol server, `clients` clients connecting at once
 * (all connections are open together before anyone talks), `rounds` round trips each,
 * and one client that asks for a short idle timeout, says nothing, and is dropped.
 */
export function* tcpDemo(options: TcpDemoOptions): Coro<TcpDemoReport> {
  // Each loopback connection costs two file descriptors in this process (both ends).
  let clients = options.clients;
  let note = "";
  const limit = openFileLimit();
  if (limit !== null && 2 * clients + 64 > limit) {
    clients = Math.max(1, Math.floor((limit - 64) / 2));
    note =
      `the open-file limit (ulimit -n) is ${limit}: running ${clients} clients instead of ` +
      `${options.clients}; raise it with \`ulimit -n ${2 * options.clients + 64}\``;
  }
  const stats: ServerStats = { open: 0, peak: 0, commands: 0, idleTimeouts: 0 };
  const start = performance.now();
  // The server accepts a connection a little after the client sees it connected: the
  // demo waits for this Event before anyone talks, so that all are open together.
  const handler = lineProtocol(30, stats);
  const everyoneIn = new Event();
  let expected = clients;
  const server: Server = yield* startServer(
    function* (reader, writer) {
      if (stats.open + 1 >= expected) everyoneIn.set();
      yield* handler(reader, writer);
    },
    "127.0.0.1",
    0,
    { backlog: clients }, // so that a burst of connects is not held back by the listen queue
  );
  const [, port] = server.sockets[0]!.getsockname() as [string, number];
  const progress = options.progress;
  if (progress !== undefined) progress.total = 2 * clients;

  return yield* server.run(function* () {
    // Phase 1: everyone connects. gather() with returnExceptions: a refused connection
    // (EMFILE when out of file descriptors) is counted, not fatal.
    const connections = yield* gather(
      Array.from({ length: clients }, () => connect(port, progress)),
      { returnExceptions: true },
    );
    const open = connections.filter((each) => !(each instanceof Error)) as [
      StreamReader,
      StreamWriter,
    ][];
    const refused = connections.length - open.length;
    if (refused > 0) {
      const first = connections.find((each) => each instanceof Error);
      note += `${note === "" ? "" : "; "}${refused} connections failed (${String(first)})`;
    }
    expected = open.length;
    if (stats.open >= expected) everyoneIn.set();
    yield* everyoneIn.wait();
    const peak = stats.peak;

    // Phase 2: every client talks at once, plus one that stays silent.
    const results = yield* gather(
      silentClient(port),
      ...open.map(([reader, writer], index) =>
        talk(reader, writer, index, options.rounds, progress),
      ),
    );
    const [silentReply, ...roundTrips] = results;
    if (!silentReply.startsWith("bye: idle")) throw new Error(`silent client got ${silentReply}`);
    return {
      clients: options.clients,
      connected: open.length,
      refused,
      peak,
      roundTrips: roundTrips.reduce((total, each) => total + each, 0),
      idleTimeouts: stats.idleTimeouts,
      seconds: secondsSince(start),
      note,
    };
  });
}

function* connect(
  port: number,
  progress: ProgressBar | undefined,
): Coro<[StreamReader, StreamWriter]> {
  const connection = yield* openConnection("127.0.0.1", port);
  progress?.advance();
  return connection;
}

/** One client's conversation: `rounds` commands, each answer checked, then quit. */
function* talk(
  reader: StreamReader,
  writer: StreamWriter,
  index: number,
  rounds: number,
  progress: ProgressBar | undefined,
): Coro<number> {
  try {
    for (let round = 0; round < rounds; round++) {
      writer.write(encoder.encode(`sum ${index} ${round}\n`));
      yield* writer.drain();
      const answer = decoder.decode(yield* reader.readline()).trim();
      if (answer !== String(index + round)) throw new Error(`client ${index} got ${answer}`);
    }
    writer.write(encoder.encode("quit\n"));
    yield* reader.readline(); // "bye"
    progress?.advance();
    return rounds;
  } finally {
    writer.close();
    yield* writer.waitClosed();
  }
}

/** A client that asks for a short idle timeout, then says nothing more. */
function* silentClient(port: number): Coro<string> {
  const [reader, writer] = yield* openConnection("127.0.0.1", port);
  try {
    writer.write(encoder.encode("idle 0.2\n"));
    yield* reader.readline(); // "ok: idle timeout 0.2s"
    return decoder.decode(yield* reader.readline()).trim();
  } finally {
    writer.close();
    yield* writer.waitClosed();
  }
}

const usage = `usage: tcp-server [--port 8888] [--idle 30] [--echo]
       tcp-server --demo [--clients 2000] [--rounds 3]`;

export function* main(): Coro<void> {
  const flags = parseFlags(
    { demo: false, echo: false, port: 8888, clients: 2000, rounds: 3, idle: 30 },
    usage,
  );
  if (flags.demo) {
    const progress = new ProgressBar("tcp", 2 * flags.clients);
    const report = yield* tcpDemo({ ...flags, progress });
    progress.finish();
    if (report.note !== "") console.log(`note: ${report.note}`);
    console.log(
      `${report.connected} clients were connected at once (peak ${report.peak} open ` +
        `connections); ${report.roundTrips} round trips; ${report.idleTimeouts} silent ` +
        `client dropped by its idle timeout; ${report.seconds}s`,
    );
    return;
  }
  const stats: ServerStats = { open: 0, peak: 0, commands: 0, idleTimeouts: 0 };
  const handler = flags.echo ? echo : lineProtocol(flags.idle, stats);
  const server = yield* startServer(handler, "127.0.0.1", flags.port, { backlog: 1024 });
  console.log(`listening on 127.0.0.1:${flags.port}; try: nc 127.0.0.1 ${flags.port}`);
  console.log("Ctrl-C stops it");
  // Runs until the main task is cancelled; then the server closes and waits for its clients.
  yield* server.serveForever();
}

if (isMain(import.meta.url)) await run(main());
