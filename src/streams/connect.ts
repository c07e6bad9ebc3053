/**
 * openConnection, startServer and their Unix-socket twins: the stream-level wrappers of
 * the loop's createConnection/createServer, as asyncio's `streams` functions.
 */
import type { Coro } from "../coroutines.ts";
import { getRunningLoop } from "../events.ts";
import { validateFunction } from "../internal/validate.ts";
import type { ConnectionOptions, ServerOptions, UnixServerOptions } from "../net/connect.ts";
import "../net/loop-methods.ts";
import type { Server } from "../net/server.ts";
import { DEFAULT_LIMIT, StreamReader, validateLimit } from "./reader.ts";
import { StreamReaderProtocol, type ClientConnectedCallback } from "./reader-protocol.ts";
import { StreamWriter } from "./writer.ts";

/** The StreamReader's `limit` (default 64 KiB), for every stream function. */
export interface StreamLimitOption {
  /** The reader's line length limit and half its buffer bound; default 65536. */
  limit?: number | undefined;
}

/** Options of `openConnection`: `limit` and createConnection's options. */
export interface OpenConnectionOptions extends StreamLimitOption, ConnectionOptions {}

/** Options of `startServer`: `limit` and createServer's options. */
export interface StartServerOptions extends StreamLimitOption, ServerOptions {}

/** Options of `openUnixConnection`. */
export interface OpenUnixConnectionOptions
  extends
    StreamLimitOption,
    Omit<ConnectionOptions, "family" | "localAddr" | "happyEyeballsDelay" | "allErrors"> {}

/** Options of `startUnixServer`. */
export interface StartUnixServerOptions extends StreamLimitOption, UnixServerOptions {}

/**
 * Connect to `host`:`port` and return `[reader, writer]`. Takes createConnection's options
 * (`ssl`, `serverHostname`, `localAddr`, `sock`, ...) and the reader's `limit`. Cancelling
 * it while connecting closes the socket.
 *
 * @example
 * ```ts
 * const [reader, writer] = yield* openConnection("127.0.0.1", 8888);
 * writer.write(new TextEncoder().encode("ping\n"));
 * yield* writer.drain();
 * const line = yield* reader.readline();
 * writer.close();
 * yield* writer.waitClosed();
 * ```
 *
 * @throws the connection's error (an Error with `code` ECONNREFUSED, ...); RangeError
 *   `Limit cannot be <= 0`; createConnection's argument errors.
 */
export function* openConnection(
  host?: string | null,
  port?: number | null,
  options: OpenConnectionOptions = {},
): Coro<[StreamReader, StreamWriter]> {
  const { limit = DEFAULT_LIMIT, ...rest } = options;
  const reader = new StreamReader(limit);
  const protocol = new StreamReaderProtocol(reader);
  const [transport] = yield* getRunningLoop().createConnection(() => protocol, host, port, rest);
  return [reader, new StreamWriter(transport, protocol, reader)];
}

/**
 * Listen on `host`:`port` and call `clientConnected(reader, writer)` for each connection;
 * returns the Server. A generator function runs in a Task per connection: its error is
 * reported to the loop's exception handler (`Unhandled exception in client_connected_cb`)
 * and closes that connection; its cancellation closes it silently.
 *
 * @example
 * ```ts
 * function* echo(reader: StreamReader, writer: StreamWriter): Coro<void> {
 *   yield* reader.forEachLine(function* (line) {
 *     writer.write(line);
 *     yield* writer.drain();
 *   });
 *   writer.close();
 *   yield* writer.waitClosed();
 * }
 * const server = yield* startServer(echo, "127.0.0.1", 8888);
 * yield* server.serveForever();
 * ```
 *
 * @throws the listening error (EADDRINUSE, ...); TypeError unless `clientConnected` is a
 *   function; RangeError `Limit cannot be <= 0`.
 */
export function* startServer(
  clientConnected: ClientConnectedCallback,
  host?: string | readonly string[] | null,
  port?: number | null,
  options: StartServerOptions = {},
): Coro<Server> {
  validateFunction(clientConnected, "clientConnected");
  const { limit = DEFAULT_LIMIT, ...rest } = options;
  validateLimit(limit);
  const factory = (): StreamReaderProtocol =>
    new StreamReaderProtocol(new StreamReader(limit), clientConnected);
  return yield* getRunningLoop().createServer(factory, host, port, rest);
}

/** As `openConnection`, over the Unix domain socket at `path`. */
export function* openUnixConnection(
  path?: string | null,
  options: OpenUnixConnectionOptions = {},
): Coro<[StreamReader, StreamWriter]> {
  const { limit = DEFAULT_LIMIT, ...rest } = options;
  const reader = new StreamReader(limit);
  const protocol = new StreamReaderProtocol(reader);
  const [transport] = yield* getRunningLoop().createUnixConnection(() => protocol, path, rest);
  return [reader, new StreamWriter(transport, protocol, reader)];
}

/** As `startServer`, on the Unix domain socket at `path`. */
export function* startUnixServer(
  clientConnected: ClientConnectedCallback,
  path: string,
  options: StartUnixServerOptions = {},
): Coro<Server> {
  validateFunction(clientConnected, "clientConnected");
  const { limit = DEFAULT_LIMIT, ...rest } = options;
  validateLimit(limit);
  const factory = (): StreamReaderProtocol =>
    new StreamReaderProtocol(new StreamReader(limit), clientConnected);
  return yield* getRunningLoop().createUnixServer(factory, path, rest);
}
