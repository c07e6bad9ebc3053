// A terminal client for the chat-server example: what you type goes to the server, what
// the server says is printed. Two tasks, one per direction, in a TaskGroup: when the server
// hangs up the typing task is cancelled; when you end the input (Ctrl-D) it sends /quit
// and waits for the server to say bye.
//
//   npm run example -- chat-client --name alice [--host 127.0.0.1] [--port 7777]
//   npm run example -- chat-client --demo        starts a chat server in this process, then
//                                                chats with it from standard input
import {
  StreamReader,
  getRunningLoop,
  openConnection,
  run,
  taskGroup,
  type Coro,
  type StreamWriter,
} from "../src/index.ts";
import { ChatServer } from "./chat-server.ts";
import { isMain, parseFlags } from "./lib/cli.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A StreamReader fed by process.stdin. Node delivers stdin in callbacks; the loop's
 * `callSoonThreadsafe` is asyncio's way to hand data from foreign callbacks to the loop.
 * (There is no flow control: input typed by a human is small.)
 */
export function stdinReader(input: NodeJS.ReadableStream = process.stdin): StreamReader {
  const loop = getRunningLoop();
  const reader = new StreamReader();
  input.on("data", (chunk: Buffer) => {
    loop.callSoonThreadsafe(() => {
      reader.feedData(chunk);
    });
  });
  input.on("end", () => {
    loop.callSoonThreadsafe(() => {
      reader.feedEof();
    });
  });
  return reader;
}

/**
 * Chat as `name` on `host`:`port`, reading what to say from `input`, and calling `print`
 * with each line the server sends. Returns when the server closes the connection.
 */
export function* chat(
  host: string,
  port: number,
  name: string,
  input: StreamReader,
  print: (line: string) => void,
): Coro<void> {
  const [reader, writer] = yield* openConnection(host, port);
  try {
    writer.write(encoder.encode(name + "\n"));
    yield* taskGroup(function* (tg) {
      const typing = tg.createTask(type(input, writer));
      const showing = tg.createTask(show(reader, print));
      // The server hung up (or said bye): nothing more to type.
      showing.addDoneCallback(() => typing.cancel());
    });
  } finally {
    writer.close(); // also when cancelled (Ctrl-C): the connection never leaks
  }
}

function* type(input: StreamReader, writer: StreamWriter): Coro<void> {
  yield* input.forEachLine(function* (line) {
    writer.write(line);
    yield* writer.drain();
  });
  // End of input: leave politely; show() goes on until the server closes.
  writer.write(encoder.encode("/quit\n"));
  yield* writer.drain();
}

function* show(reader: StreamReader, print: (line: string) => void): Coro<void> {
  yield* reader.forEachLine((line) => {
    print(decoder.decode(line).trimEnd());
  });
}

const usage = `usage: chat-client [--name you] [--host 127.0.0.1] [--port 7777]
       chat-client --demo [--name you]     (with its own chat server, on a free port)`;

export function* main(): Coro<void> {
  const flags = parseFlags({ demo: false, name: "you", host: "127.0.0.1", port: 7777 }, usage);
  const input = stdinReader();
  try {
    if (!flags.demo) {
      try {
        yield* chat(flags.host, flags.port, flags.name, input, console.log);
      } catch (error) {
        if ((error as { code?: unknown }).code !== "ECONNREFUSED") throw error;
        console.error(`no chat server on ${flags.host}:${flags.port}; start one with`);
        console.error("  npm run example -- chat-server");
        process.exitCode = 1;
      }
      return;
    }
    const server = yield* new ChatServer().listen("127.0.0.1", 0);
    const [, port] = server.sockets[0]!.getsockname() as [string, number];
    yield* server.run(() => chat("127.0.0.1", port, flags.name, input, console.log));
  } finally {
    process.stdin.destroy(); // else the open stdin keeps the process alive
  }
}

if (isMain(import.meta.url)) await run(main());
