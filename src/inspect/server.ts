/**
 * The inspector: a server on a Unix socket that answers `tsyncio ps PID` and `tsyncio
 * pstree PID` with a snapshot of the program's tasks. Opt-in (`run(main, { inspect: true
 * })` or TSYNCIO_INSPECT=1); nothing listens otherwise.
 *
 * Only the same user can connect: the socket lives in a directory of their own, mode
 * 0700 (a directory owned by someone else, or open to others, is refused), and the
 * socket itself is mode 0600. The server never keeps the process alive, and its socket
 * file is removed when the last inspected loop closes or the process exits.
 *
 * Protocol: the client sends one line of JSON, `{"command":"tasks"}`; the server answers
 * one line of JSON (a Snapshot, or `{"error": "..."}`) and closes the connection. The
 * answer is computed in a Node callback, hence between two iterations of the loop.
 */
import { chmodSync, lstatSync, mkdirSync, unlinkSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { _inspectorListening } from "../internal/call-stacks.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import { takeSnapshot } from "./snapshot.ts";

/** The directory of the current user's inspector sockets. */
export function socketDirectory(): string {
  const base = process.env.XDG_RUNTIME_DIR ?? tmpdir();
  return join(base === "" ? tmpdir() : base, `tsyncio-${userId()}`);
}

/** The socket a process `pid` of the current user listens on when inspectable. */
export function socketPath(pid: number): string {
  return join(socketDirectory(), `${pid}.sock`);
}

/**
 * Throw unless `directory` is a directory (not a link) owned by the current user and
 * closed to everyone else.
 */
export function checkPrivateDirectory(directory: string): void {
  const stats = lstatSync(directory);
  if (!stats.isDirectory()) throw new Error(`${directory} is not a directory`);
  if (stats.uid !== userId()) throw new Error(`${directory} belongs to another user`);
  if ((stats.mode & 0o077) !== 0) {
    throw new Error(
      `${directory} is open to other users (mode ${(stats.mode & 0o777).toString(8)})`,
    );
  }
}

function userId(): number {
  return process.getuid?.() ?? 0;
}

/** The loops inspected now; the server runs while there is one. */
const loops = new Set<BaseEventLoop>();
let server: Server | null = null;
let listeningPath: string | null = null;

/**
 * @internal Answer inspector requests about `loop` until `stopInspecting(loop)`. The
 * first loop starts the server; failing to start it is reported on stderr, never thrown.
 */
export function startInspecting(loop: BaseEventLoop): void {
  if (loops.has(loop)) return;
  loops.add(loop);
  if (loops.size === 1) listen();
}

/** @internal Stop answering about `loop`; the last one closes the server. */
export function stopInspecting(loop: BaseEventLoop): void {
  if (!loops.delete(loop) || loops.size > 0) return;
  close();
}

function listen(): void {
  const path = socketPath(process.pid);
  const directory = socketDirectory();
  try {
    mkdirSync(directory, { mode: 0o700, recursive: true });
    checkPrivateDirectory(directory);
    // A socket left by an earlier process with the same pid.
    unlinkStale(path);
  } catch (error) {
    process.stderr.write(`tsyncio: the inspector cannot listen: ${(error as Error).message}\n`);
    return;
  }
  const created = createServer({ allowHalfOpen: true }, answer);
  created.on("error", (error) => {
    process.stderr.write(`tsyncio: the inspector cannot listen: ${error.message}\n`);
    if (server === created) close();
  });
  // A Unix socket is bound inside listen(), so it is restricted before anyone can connect
  // (the 0700 directory keeps others out meanwhile anyway).
  created.listen(path);
  try {
    chmodSync(path, 0o600);
  } catch {
    // Not bound: the error event reports why.
  }
  created.unref();
  server = created;
  listeningPath = path;
  process.on("exit", removeSocket);
  _inspectorListening(1);
}

function close(): void {
  const closing = server;
  if (closing === null) return;
  server = null;
  closing.close();
  removeSocket();
  process.off("exit", removeSocket);
  _inspectorListening(-1);
}

function removeSocket(): void {
  if (listeningPath === null) return;
  try {
    unlinkSync(listeningPath);
  } catch {
    // Already gone.
  }
  listeningPath = null;
}

function unlinkStale(path: string): void {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return;
  }
  if (!isSocket) throw new Error(`${path} exists and is not a socket`);
  unlinkSync(path);
}

/** Read one request line, answer it, close. */
function answer(socket: Socket): void {
  socket.unref();
  socket.setTimeout(5000, () => socket.destroy());
  socket.on("error", () => {
    // The client went away.
  });
  let received = "";
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => {
    received += chunk;
    const end = received.indexOf("\n");
    if (end < 0) {
      if (received.length > 4096) socket.destroy();
      return;
    }
    socket.removeAllListeners("data");
    socket.end(`${JSON.stringify(respond(received.slice(0, end)))}\n`);
  });
}

function respond(line: string): unknown {
  let request: unknown;
  try {
    request = JSON.parse(line);
  } catch {
    return { error: "the request is not JSON" };
  }
  const command = (request as { command?: unknown } | null)?.command;
  if (command !== "tasks") return { error: `unknown command: ${String(command)}` };
  return takeSnapshot(loops);
}
