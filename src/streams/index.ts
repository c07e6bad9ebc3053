// Streams: StreamReader, StreamWriter, StreamReaderProtocol and the functions that open
// and serve stream connections, as asyncio's `streams` module.
export { StreamReader } from "./reader.ts";
export type { StreamWriter, StreamStartTlsOptions } from "./writer.ts";
export { StreamReaderProtocol } from "./reader-protocol.ts";
export type { ClientConnectedCallback } from "./reader-protocol.ts";
export { openConnection, openUnixConnection, startServer, startUnixServer } from "./connect.ts";
export type {
  OpenConnectionOptions,
  OpenUnixConnectionOptions,
  StartServerOptions,
  StartUnixServerOptions,
  StreamLimitOption,
} from "./connect.ts";
