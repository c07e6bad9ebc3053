/**
 * `tsyncio ps PID` and `tsyncio pstree PID`: the tasks of a running tsyncio program that
 * opted in to inspection, as a table and as an await tree (Python 3.14's `python -m
 * asyncio ps/pstree`).
 */
import { createConnection } from "node:net";
import { relative, sep } from "node:path";
import type { FrameCallGraphEntry } from "../graph.ts";
import { checkPrivateDirectory, socketDirectory, socketPath } from "../inspect/server.ts";
import type { Snapshot, TaskSnapshot } from "../inspect/snapshot.ts";

/** How long the program has to answer, in milliseconds. */
const ANSWER_TIMEOUT = 5000;

/** `tsyncio ps PID`: resolves to the exit code. */
export function psCommand(args: readonly string[]): Promise<number> {
  return inspectCommand("ps", args, (snapshot) => formatTable(snapshot.tasks));
}

/** `tsyncio pstree PID`: resolves to the exit code. */
export function pstreeCommand(args: readonly string[]): Promise<number> {
  return inspectCommand("pstree", args, (snapshot) => formatTree(snapshot.tasks));
}

async function inspectCommand(
  name: string,
  args: readonly string[],
  render: (snapshot: Snapshot) => string,
): Promise<number> {
  const [pidText, ...extra] = args;
  if (pidText === undefined || extra.length > 0 || !/^[1-9]\d*$/.test(pidText)) {
    console.error(`usage: tsyncio ${name} PID`);
    return 2;
  }
  let snapshot: Snapshot;
  try {
    snapshot = await requestSnapshot(Number(pidText));
  } catch (error) {
    console.error(`tsyncio ${name}: ${(error as Error).message}`);
    return 1;
  }
  const text = render(snapshot);
  if (text !== "") console.log(text);
  return 0;
}

/** Ask process `pid`'s inspector for its tasks; errors say what went wrong in words. */
export async function requestSnapshot(pid: number): Promise<Snapshot> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ESRCH") throw new Error(`no process with PID ${pid}`, { cause: error });
    if (code !== "EPERM") throw error;
    throw new Error(`permission denied: process ${pid} belongs to another user`, {
      cause: error,
    });
  }
  const notInspectable = new Error(
    `process ${pid} is not inspectable: start it with TSYNCIO_INSPECT=1 or run(main, { inspect: true })`,
  );
  try {
    checkPrivateDirectory(socketDirectory());
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw notInspectable;
    throw new Error(`refusing to connect: ${(error as Error).message}`, { cause: error });
  }
  const line = await new Promise<string>((resolve, reject) => {
    const socket = createConnection(socketPath(pid));
    let received = "";
    socket.setEncoding("utf8");
    socket.setTimeout(ANSWER_TIMEOUT, () => {
      socket.destroy();
      reject(new Error(`process ${pid} did not answer within ${ANSWER_TIMEOUT / 1000} s`));
    });
    socket.on("connect", () => socket.write('{"command":"tasks"}\n'));
    socket.on("data", (chunk: string) => (received += chunk));
    socket.on("end", () => {
      resolve(received);
    });
    socket.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT" || error.code === "ECONNREFUSED") reject(notInspectable);
      else if (error.code === "EACCES") {
        reject(new Error(`permission denied: cannot open ${socketPath(pid)}`, { cause: error }));
      } else reject(error);
    });
  });
  const answer = JSON.parse(line) as Snapshot | { error: string };
  if ("error" in answer) throw new Error(`process ${pid} answered: ${answer.error}`);
  return answer;
}

/** The table of `tsyncio ps`: one row per task. */
export function formatTable(tasks: readonly TaskSnapshot[]): string {
  const names = new Map(tasks.map((task) => [task.id, task.name]));
  const rows = [
    ["id", "name", "state", "awaits", "location", "awaited by"],
    ...tasks.map((task) => [
      String(task.id),
      task.name,
      task.state,
      task.awaits === "" ? "-" : task.awaits,
      task.stack[0] === undefined ? "-" : location(task.stack[0]),
      task.awaitedBy.length === 0
        ? "-"
        : task.awaitedBy.map((id) => `${names.get(id) ?? "?"} (${id})`).join(", "),
    ]),
  ];
  const widths = (rows[0] as string[]).map((_, column) =>
    Math.max(...rows.map((row) => (row[column] as string).length)),
  );
  const line = (row: string[]): string =>
    row
      .map((cell, column) => cell.padEnd(widths[column] as number))
      .join("  ")
      .trimEnd();
  return [
    line(rows[0] as string[]),
    line(widths.map((width) => "-".repeat(width))),
    ...rows.slice(1).map(line),
  ].join("\n");
}

/**
 * The tree of `tsyncio pstree`, as Python's: the roots are the tasks nobody awaits; under
 * a task come its coroutine frames, outermost first, and under its innermost frame the
 * tasks it awaits.
 */
export function formatTree(tasks: readonly TaskSnapshot[]): string {
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const awaited = new Map<number, TaskSnapshot[]>();
  for (const task of tasks) {
    for (const awaiter of task.awaitedBy) {
      const list = awaited.get(awaiter);
      if (list === undefined) awaited.set(awaiter, [task]);
      else list.push(task);
    }
  }
  const lines: string[] = [];
  const printed = new Set<number>();
  const renderTask = (task: TaskSnapshot, prefix: string, last: boolean): void => {
    lines.push(`${prefix}${last ? "└── " : "├── "}(T) ${task.name}`);
    let inner = prefix + (last ? "    " : "│   ");
    if (printed.has(task.id)) return;
    printed.add(task.id);
    // Each frame has one child: the next frame inward, then the awaited tasks.
    for (const frame of [...task.stack].reverse()) {
      lines.push(`${inner}└── ${frame.name} ${location(frame)}`);
      inner += "    ";
    }
    const children = (awaited.get(task.id) ?? []).filter((child) => byId.has(child.id));
    children.forEach((child, index) => {
      renderTask(child, inner, index === children.length - 1);
    });
  };
  for (const task of tasks) if (task.awaitedBy.length === 0) renderTask(task, "", true);
  // Tasks that only await each other in a cycle have no root: show them too.
  for (const task of tasks) if (!printed.has(task.id)) renderTask(task, "", true);
  return lines.join("\n");
}

/** `file:line`, the file relative to the working directory when it is inside it. */
function location(frame: FrameCallGraphEntry): string {
  const path = relative(process.cwd(), frame.file);
  const file = path !== "" && !path.startsWith("..") && !path.startsWith(sep) ? path : frame.file;
  return `${file}:${frame.line}`;
}
