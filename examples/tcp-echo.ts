// A TCP echo server with streams, and clients talking to it on loopback: one line each,
// a per-client timeout on the server, and a clean shutdown. Run: node .build/examples/tcp-echo.js
import {
  TimeoutError,
  gather,
  openConnection,
  run,
  startServer,
  taskGroup,
  timeout,
  type Coro,
  type StreamReader,
  type StreamWriter,
} from "../src/index.ts";
import { isMain } from "./lib/cli.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The server's handler: one task per connection, echoing lines until EOF. */
function* handle(reader: StreamReader, writer: StreamWriter): Coro<void> {
  const peer = writer.getExtraInfo("peername") as [string, number];
  try {
    // A client that says nothing for 2 seconds is dropped.
    yield* timeout(2, function* () {
      yield* reader.forEachLine(function* (line) {
        writer.write(encoder.encode(`echo: ${decoder.decode(line)}`));
        yield* writer.drain();
      });
    });
  } catch (error) {
    if (!(error instanceof TimeoutError)) throw error;
    console.log(`server: ${peer[1]} was silent too long`);
  } finally {
    writer.close();
    yield* writer.waitClosed();
  }
}

function* client(port: number, name: string): Coro<string> {
  const [reader, writer] = yield* openConnection("127.0.0.1", port);
  writer.write(encoder.encode(`hello from ${name}\n`));
  yield* writer.drain();
  const reply = decoder.decode(yield* reader.readline()).trimEnd();
  writer.close();
  yield* writer.waitClosed();
  return reply;
}

export function* main(): Coro<void> {
  const server = yield* startServer(handle, "127.0.0.1", 0);
  const [, port] = server.sockets[0]!.getsockname() as [string, number];
  console.log(`server: listening on 127.0.0.1:${port}`);
  yield* server.run(function* () {
    const replies = yield* gather(client(port, "a"), client(port, "b"), client(port, "c"));
    for (const reply of replies) console.log(`client got: ${reply}`);
    yield* taskGroup(function* (tg) {
      tg.createTask(client(port, "d"));
      tg.createTask(client(port, "e"));
    });
  });
  console.log("server: closed, every connection gone");
}

if (isMain(import.meta.url)) await run(main());
