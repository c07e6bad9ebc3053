// A chat server with rooms and broadcast. Each user has an outbox (a bounded Queue) and a
// sender task that writes it to the socket at the pace the user reads: a broadcast never
// waits for anyone. A user whose outbox overflows is too slow to keep up and is dropped
// cleanly, so one stuck reader cannot make the server hold more and more memory.
//
//   npm run example -- chat-server                  serve on 127.0.0.1:7777 until Ctrl-C;
//                                                   talk to it with the chat-client example
//   npm run example -- chat-server --demo           scripted users chat in rooms, and a
//                                                   user who never reads gets dropped
//   npm run example -- chat-server --demo --users 300 --rooms 10 --messages 50
import {
  Barrier,
  Queue,
  QueueFull,
  gather,
  openConnection,
  run,
  startServer,
  taskGroup,
  type Coro,
  type Server,
  type StreamReader,
  type StreamWriter,
} from "../src/index.ts";
import { isMain, parseFlags, secondsSince } from "./lib/cli.ts";
import { ProgressBar } from "./lib/progress.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One connected user: a name, the room they are in, and their outbox. */
class Member {
  readonly name: string;
  readonly writer: StreamWriter;
  readonly outbox: Queue<string>;
  room = "";
  dropped = false;

  constructor(name: string, writer: StreamWriter, maxQueue: number) {
    this.name = name;
    this.writer = writer;
    this.outbox = new Queue<string>(maxQueue);
  }
}

/** What a ChatServer has done, for the demo's report. */
export interface ChatStats {
  messages: number;
  delivered: number;
  dropped: string[];
}

/** The chat: rooms of members, and the session run for each connection. */
export class ChatServer {
  readonly rooms: Map<string, Set<Member>> = new Map<string, Set<Member>>();
  readonly names: Set<string> = new Set<string>();
  readonly stats: ChatStats = { messages: 0, delivered: 0, dropped: [] };
  readonly #maxQueue: number;

  /** `maxQueue`: how many lines a user may have waiting before they count as too slow. */
  constructor(maxQueue = 256) {
    this.#maxQueue = maxQueue;
  }

  /** Listen on `host`:`port`: each connection runs `session` in a task of its own. */
  *listen(host: string, port: number): Coro<Server> {
    return yield* startServer((reader, writer) => this.session(reader, writer), host, port);
  }

  /**
   * One user's session: the first line is their name; then `/join <room>`, `/who`,
   * `/rooms`, `/quit`, or a message for their room. It ends when the user quits, hangs up,
   * or is dropped; or when the task is cancelled (the server shuts down).
   */
  *session(reader: StreamReader, writer: StreamWriter): Coro<void> {
    const name = decoder.decode(yield* reader.readline()).trim();
    if (!/^[\w-]{1,24}$/.test(name) || this.names.has(name)) {
      writer.write(encoder.encode(`error: bad or taken name ${JSON.stringify(name)}\n`));
      writer.close();
      return;
    }
    const member = new Member(name, writer, this.#maxQueue);
    this.names.add(name);
    try {
      yield* taskGroup((tg) => {
        // The sender: outbox -> socket. drain() makes it wait while the user reads slowly;
        // meanwhile their outbox fills up, and broadcast() drops them once it is full.
        tg.createTask(this.#send(member));
        return this.#converse(member, reader);
      });
    } finally {
      this.names.delete(name);
      writer.close();
    }
  }

  /** Read the member's lines and act on them, until they quit, hang up or are dropped. */
  *#converse(member: Member, reader: StreamReader): Coro<void> {
    try {
      this.#deliver(member, `welcome, ${member.name}! /join <room>, /who, /rooms, /quit`);
      this.#join(member, "lobby");
      for (;;) {
        let raw: Uint8Array;
        try {
          raw = yield* reader.readline();
        } catch (error) {
          if (isConnectionError(error)) break; // reset by the peer, or dropped
          throw error;
        }
        if (raw.length === 0 || member.dropped) break; // hung up, or dropped
        const line = decoder.decode(raw).trim();
        if (line === "/quit") {
          this.#deliver(member, "bye");
          break;
        }
        this.#command(member, line);
      }
    } finally {
      this.#leave(member);
      // The sender writes what is queued, then its consume() loop returns.
      member.outbox.shutdown();
    }
  }

  #command(member: Member, line: string): void {
    if (line.startsWith("/join ")) {
      this.#leave(member);
      this.#join(member, line.slice(6).trim() || "lobby");
    } else if (line === "/who") {
      const names = [...(this.rooms.get(member.room) ?? [])].map((each) => each.name);
      this.#deliver(member, `* in #${member.room}: ${names.join(", ")}`);
    } else if (line === "/rooms") {
      const rooms = [...this.rooms].map(([room, members]) => `#${room} (${members.size})`);
      this.#deliver(member, `* rooms: ${rooms.join(", ")}`);
    } else if (line.startsWith("/")) {
      this.#deliver(member, `error: unknown command ${line.split(" ")[0]}`);
    } else if (line !== "") {
      this.stats.messages++;
      this.broadcast(member.room, `[#${member.room}] ${member.name}: ${line}`);
    }
  }

  #join(member: Member, room: string): void {
    let members = this.rooms.get(room);
    if (members === undefined) this.rooms.set(room, (members = new Set()));
    members.add(member);
    member.room = room;
    this.broadcast(room, `* ${member.name} joined #${room}`);
  }

  #leave(member: Member): void {
    const members = this.rooms.get(member.room);
    if (members === undefined || !members.delete(member)) return;
    if (members.size === 0) this.rooms.delete(member.room);
    else this.broadcast(member.room, `* ${member.name} left #${member.room}`);
  }

  /** Queue `line` for every member of `room`; never waits. */
  broadcast(room: string, line: string): void {
    for (const member of [...(this.rooms.get(room) ?? [])]) this.#deliver(member, line);
  }

  #deliver(member: Member, line: string): void {
    if (member.dropped) return;
    try {
      member.outbox.putNowait(line);
      if (line.startsWith("[#")) this.stats.delivered++;
    } catch (error) {
      if (!(error instanceof QueueFull)) throw error;
      this.#drop(member);
    }
  }

  /** Drop a member who does not keep up: forget what they had queued, cut the connection. */
  #drop(member: Member): void {
    member.dropped = true;
    this.stats.dropped.push(member.name);
    member.outbox.shutdown({ immediate: true });
    // abort(), not close(): close() would wait to send a buffer they are not reading.
    member.writer.transport.abort();
    this.#leave(member);
    this.broadcast(member.room, `* ${member.name} was dropped (too slow)`);
  }

  *#send(member: Member): Coro<void> {
    const writer = member.writer;
    try {
      yield* member.outbox.consume(function* (line) {
        writer.write(encoder.encode(line + "\n"));
        yield* writer.drain();
      });
    } catch (error) {
      // A user who hung up or was dropped: nothing more to send. Anything else is a bug.
      if (!isConnectionError(error)) throw error;
    }
  }
}

/** Whether `error` is a socket's error (EPIPE, ECONNRESET, ...): the peer is gone. */
export function isConnectionError(error: unknown): boolean {
  return error instanceof Error && typeof (error as { code?: unknown }).code === "string";
}

// ---- the self-driving demo -----------------------------------------------------------------

export interface ChatDemoOptions {
  users: number;
  rooms: number;
  messages: number;
  progress?: ProgressBar | undefined;
}

export interface ChatDemoReport {
  users: number;
  rooms: number;
  sent: number;
  delivered: number;
  received: number;
  dropped: string[];
  unreadBytes: number;
  seconds: string;
}

/**
 * Scripted users join `rooms` rooms and each sends `messages` messages; everyone reads
 * everything said in their room. Meanwhile in room #firehose, "slowpoke" never reads while
 * "loud" posts big messages, until the server drops slowpoke.
 */
export function* chatDemo(options: ChatDemoOptions): Coro<ChatDemoReport> {
  const start = performance.now();
  const chat = new ChatServer(64);
  const server = yield* chat.listen("127.0.0.1", 0);
  const [, port] = server.sockets[0]!.getsockname() as [string, number];
  const { users, rooms, messages, progress } = options;
  const roomOf = (index: number): string => `room-${index % rooms}`;
  const sizeOf = (room: string): number =>
    Array.from({ length: users }, (_, index) => roomOf(index)).filter((each) => each === room)
      .length;
  if (progress !== undefined) progress.total = users;
  // Everyone is in their room before anyone speaks, and has heard everything before
  // anyone leaves: then each user hears exactly (room size) x messages lines.
  const allJoined = new Barrier(users);
  const allHeard = new Barrier(users);

  function* user(index: number): Coro<number> {
    const name = `user-${index}`;
    const room = roomOf(index);
    const [reader, writer] = yield* openConnection("127.0.0.1", port);
    const say = (line: string): void => {
      writer.write(encoder.encode(line + "\n"));
    };
    try {
      say(name);
      say(`/join ${room}`);
      yield* readUntil(reader, `* ${name} joined #${room}`);
      yield* allJoined.wait();
      for (let n = 0; n < messages; n++) say(`message ${n} from ${name}`);
      yield* writer.drain();
      const expected = sizeOf(room) * messages;
      let heard = 0;
      while (heard < expected) {
        const line = decoder.decode(yield* reader.readline());
        if (line === "") throw new Error(`${name}: the server hung up`);
        if (line.startsWith(`[#${room}] `)) heard++;
      }
      progress?.advance();
      yield* allHeard.wait();
      say("/quit");
      yield* readUntil(reader, "bye");
      return heard;
    } finally {
      writer.close();
      yield* writer.waitClosed();
    }
  }

  // The slow user joins the firehose and then reads nothing at all.
  function* slowpoke(joined: Barrier, done: Barrier): Coro<void> {
    const [reader, writer] = yield* openConnection("127.0.0.1", port);
    writer.write(encoder.encode("slowpoke\n/join firehose\n"));
    yield* readUntil(reader, "* slowpoke joined #firehose");
    yield* joined.wait();
    yield* done.wait(); // reads nothing meanwhile
    writer.close();
  }

  // Posts 16 KiB messages to the firehose until slowpoke is dropped; returns bytes sent.
  function* loud(joined: Barrier, done: Barrier): Coro<number> {
    const [reader, writer] = yield* openConnection("127.0.0.1", port);
    const big = "x".repeat(16 * 1024);
    let sent = 0;
    try {
      writer.write(encoder.encode("loud\n/join firehose\n"));
      yield* readUntil(reader, "* loud joined #firehose");
      yield* joined.wait();
      for (;;) {
        writer.write(encoder.encode(big + "\n"));
        sent += big.length + 1;
        yield* writer.drain();
        // loud reads its own messages back, so only slowpoke falls behind.
        const line = decoder.decode(yield* reader.readline());
        if (line.startsWith("* slowpoke was dropped")) break;
        if (line === "") throw new Error("loud: the server hung up");
      }
      return sent;
    } finally {
      yield* done.wait();
      writer.close();
      yield* writer.waitClosed();
    }
  }

  return yield* server.run(function* () {
    const joined = new Barrier(2);
    const done = new Barrier(2);
    const [heard, unreadBytes] = yield* gather(
      gather(Array.from({ length: users }, (_, index) => user(index))),
      loud(joined, done),
      slowpoke(joined, done),
    );
    return {
      users,
      rooms,
      sent: users * messages,
      delivered: chat.stats.delivered,
      received: heard.reduce((total, each) => total + each, 0),
      dropped: chat.stats.dropped,
      unreadBytes,
      seconds: secondsSince(start),
    };
  });
}

/** Read lines until one equals `wanted` (or the connection ends, which is an error). */
function* readUntil(reader: StreamReader, wanted: string): Coro<void> {
  for (;;) {
    const line = decoder.decode(yield* reader.readline());
    if (line === "") throw new Error(`the server hung up before ${JSON.stringify(wanted)}`);
    if (line.trimEnd() === wanted) return;
  }
}

const usage = `usage: chat-server [--port 7777] [--queue 256]
       chat-server --demo [--users 30] [--rooms 3] [--messages 20]`;

export function* main(): Coro<void> {
  const flags = parseFlags(
    { demo: false, port: 7777, queue: 256, users: 30, rooms: 3, messages: 20 },
    usage,
  );
  if (flags.demo) {
    const progress = new ProgressBar("chat", flags.users);
    const report = yield* chatDemo({ ...flags, progress });
    progress.finish();
    console.log(
      `${report.users} users in ${report.rooms} rooms sent ${report.sent} messages; the ` +
        `server delivered ${report.delivered} lines and the users read ${report.received}`,
    );
    console.log(
      `dropped for being too slow: ${report.dropped.join(", ")} (after ` +
        `${(report.unreadBytes / 1e6).toFixed(1)} MB it did not read); ${report.seconds}s`,
    );
    return;
  }
  const chat = new ChatServer(flags.queue);
  const server = yield* chat.listen("127.0.0.1", flags.port);
  console.log(`chat server on 127.0.0.1:${flags.port}; connect with:`);
  console.log(`  npm run example -- chat-client --port ${flags.port} --name alice`);
  console.log("Ctrl-C stops it");
  // Until the main task is cancelled; then the server closes and its sessions end.
  yield* server.serveForever();
}

if (isMain(import.meta.url)) await run(main());
