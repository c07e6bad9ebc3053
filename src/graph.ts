/**
 * Call-graph introspection, as asyncio's `graph` module (Python 3.14): where a task is
 * suspended (its coroutine frames, innermost first) and who awaits it, up to the tasks
 * nobody awaits.
 *
 * Design note. Nothing is recorded on the hot path. "Who awaits whom" is derived when a
 * graph is captured, by scanning the loop's pending tasks (a task awaits the Future it is
 * blocked on), gather's Futures (a gather awaits its children) and the TaskGroups entered
 * and not exited (the parent task awaits the children). A suspended generator's frames
 * cannot be read in JavaScript, so the stack of a task other than the current one is the
 * one recorded at its last suspension, which the awaitables record only while tracking
 * is on: while a loop is in debug mode or an inspector listens (`run(main, { inspect:
 * true })`). Otherwise such a task's call stack is empty. The current task's stack is
 * always taken at the call.
 */
import { fileURLToPath } from "node:url";
import { _getRunningLoop } from "./events.ts";
import { RuntimeError } from "./exceptions.ts";
import { Future } from "./futures.ts";
import { GatheringFuture } from "./gather.ts";
import { captureError, lastSuspension } from "./internal/call-stacks.ts";
import { describe, validateInteger, validateOptions } from "./internal/validate.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import { shieldedBy } from "./shield.ts";
import { liveTaskGroups } from "./taskgroups.ts";
import { Task } from "./tasks.ts";

/** One frame of a call stack: a function, and where in its file it is. */
export interface FrameCallGraphEntry {
  /** The function's name as V8 reports it (`main`, `Worker.run`), or `<anonymous>`. */
  readonly name: string;
  /** The file: a path for local modules, the URL or location V8 gives otherwise. */
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/**
 * A Future (or Task) in a call graph: where it is suspended (`callStack`, innermost frame
 * first; empty for a plain Future) and the graphs of what awaits it (`awaitedBy`).
 */
export interface FutureCallGraph {
  readonly future: Future<unknown>;
  readonly callStack: readonly FrameCallGraphEntry[];
  readonly awaitedBy: readonly FutureCallGraph[];
}

/** Options of `captureCallGraph` and `formatCallGraph`. */
export interface CallGraphOptions {
  /**
   * For the current task: how many frames to skip from the top, 1 (the default) being
   * the caller of `captureCallGraph`.
   */
  depth?: number | undefined;
  /**
   * Keep at most `|limit|` entries of each call stack: the outermost ones (nearest where
   * the task started) when positive, the innermost when negative; 0 keeps none.
   */
  limit?: number | null | undefined;
}

/** Options of `printCallGraph`: those of `captureCallGraph`, and where to print. */
export interface PrintCallGraphOptions extends CallGraphOptions {
  /** A stream (`.write(text)`) or a function given the text; default stdout. */
  file?: { write(text: string): unknown } | ((text: string) => void) | undefined;
}

/**
 * The call graph of `future` (default: the current task): its call stack and, recursively,
 * what awaits it.
 *
 * Returns null when no future is given and no task is running (in a plain callback).
 *
 * @example
 * ```ts
 * function* worker(): Coro<void> {
 *   const graph = captureCallGraph();
 *   console.log(graph?.callStack[0]?.name); // "worker"
 *   yield* sleep(0);
 * }
 * ```
 *
 * @throws RuntimeError outside a running loop when no future is given; TypeError when
 *   `future` is not a Future.
 */
export function captureCallGraph(
  future?: Future<unknown> | null,
  options?: CallGraphOptions,
): FutureCallGraph | null {
  const { depth, limit } = readOptions(options);
  const loop = _getRunningLoop();
  if (future != null) {
    if (!(future instanceof Future)) {
      throw new TypeError(`future must be a Future or a Task, got ${describe(future)}`);
    }
    if (loop === null || future !== loop._currentTask) {
      return buildGraph(future, awaitersOf(future.getLoop()), limit, null);
    }
  } else {
    if (loop === null) {
      throw new RuntimeError(
        "captureCallGraph() is called outside of a running event loop and no future to introspect was provided",
      );
    }
    future = loop._currentTask;
    if (future === null) return null;
  }
  const frames = ownFramesTrimmed(taskFrames(parseStack(captureError().stack))).slice(depth - 1);
  return buildGraph(future, awaitersOf(loop), limit, userFrames(frames));
}

/**
 * `captureCallGraph(future, options)` as text, in Python's shape:
 *
 * ```text
 * * Task(name='worker', id=3)
 *   + Call stack:
 *   |   File '/app/main.js', line 12, in worker()
 *   + Awaited by:
 *       * Task(name='Task-1', id=1)
 *         + Call stack:
 *         |   File '/app/main.js', line 20, in main()
 * ```
 *
 * An empty string when there is no current task and no future is given.
 */
export function formatCallGraph(
  future?: Future<unknown> | null,
  options?: CallGraphOptions,
): string {
  const { depth, limit } = readOptions(options);
  // tsyncio's own frames (this one) are skipped anyway: `depth` counts the caller's frames.
  const graph = captureCallGraph(future, { depth, limit });
  if (graph === null) return "";
  const lines: string[] = [];
  renderGraph(graph, 0, lines);
  return lines.join("\n");
}

/**
 * Print `formatCallGraph(future, options)` and a newline to `options.file` (default
 * stdout). Prints nothing when there is no current task and no future is given.
 *
 * @example
 * ```ts
 * yield* taskGroup(function* (tg) {
 *   tg.createTask(
 *     (function* child(): Coro<void> {
 *       printCallGraph(); // child, awaited by the task running the group
 *       yield* sleep(0);
 *     })(),
 *   );
 * });
 * ```
 */
export function printCallGraph(
  future?: Future<unknown> | null,
  options?: PrintCallGraphOptions,
): void {
  validateOptions(options, "options");
  const file = options?.file;
  if (file !== undefined && typeof file !== "function" && typeof file.write !== "function") {
    throw new TypeError(
      `options.file must be a writable stream or a function, got ${describe(file)}`,
    );
  }
  const { depth, limit } = readOptions(options);
  const text = formatCallGraph(future, { depth, limit });
  if (text === "") return;
  if (file === undefined) process.stdout.write(`${text}\n`);
  else if (typeof file === "function") file(`${text}\n`);
  else file.write(`${text}\n`);
}

// ---- internals shared with the inspector ---------------------------------------------------

const ids = new WeakMap<object, number>();
let lastId = 0;

/** @internal A number that names `future` for as long as it lives (the `id=` of the graph). */
export function futureId(future: object): number {
  let id = ids.get(future);
  if (id === undefined) {
    id = ++lastId;
    ids.set(future, id);
  }
  return id;
}

/**
 * @internal Who awaits each Future of `loop`, derived now: a task awaits the Future it is
 * blocked on, a gather awaits its children, a shield what it mirrors, a TaskGroup's parent task awaits its children.
 */
export function awaitersOf(loop: BaseEventLoop): Map<Future<unknown>, Future<unknown>[]> {
  const awaiters = new Map<Future<unknown>, Future<unknown>[]>();
  const add = (awaited: Future<unknown>, awaiter: Future<unknown>): void => {
    const list = awaiters.get(awaited);
    if (list === undefined) awaiters.set(awaited, [awaiter]);
    else if (!list.includes(awaiter)) list.push(awaiter);
  };
  // A gather awaits its children and a shield the Future it mirrors: follow them, and
  // the gathers and shields among them, down.
  const composites: Future<unknown>[] = [];
  for (const task of loop._tasks) {
    const waiter = task._waiter;
    // A sleep's timer is awaited by its task alone: nothing to follow.
    if (!(waiter instanceof Future) || waiter.done()) continue;
    add(waiter, task);
    composites.push(waiter);
  }
  const seen = new Set<Future<unknown>>();
  for (let outer = composites.pop(); outer !== undefined; outer = composites.pop()) {
    if (seen.has(outer)) continue;
    seen.add(outer);
    for (const inner of innerFutures(outer)) {
      if (inner.done()) continue;
      add(inner, outer);
      composites.push(inner);
    }
  }
  for (const group of liveTaskGroups(loop)) {
    const parent = group._parentTask;
    if (parent === null || parent.done()) continue;
    for (const child of group._pendingChildren()) add(child, parent);
  }
  return awaiters;
}

/** The Futures `outer` waits for on behalf of whoever awaits it: a gather's, a shield's. */
function innerFutures(outer: Future<unknown>): readonly Future<unknown>[] {
  if (outer instanceof GatheringFuture) return outer._children;
  const inner = shieldedBy(outer);
  return inner === undefined ? [] : [inner];
}

/**
 * @internal The frames of a V8 stack, innermost first; lines that name no file (a
 * generator's `next (<anonymous>)`, native frames) are left out.
 */
export function parseStack(stack: string | undefined): FrameCallGraphEntry[] {
  const frames: FrameCallGraphEntry[] = [];
  if (stack === undefined) return frames;
  for (const line of stack.split("\n")) {
    const match = FRAME.exec(line);
    if (match === null) continue;
    const [, name, location, lineText, columnText] = match;
    frames.push({
      name: name === undefined || name === "" ? "<anonymous>" : name,
      file: toPath(location as string),
      line: Number(lineText),
      column: Number(columnText),
    });
  }
  return frames;
}

/** `    at name (file:line:column)` or `    at file:line:column`. */
const FRAME = /^\s*at (?:(?:async )?(.*?) \()?([^()]*?):(\d+):(\d+)\)?$/;

function toPath(location: string): string {
  if (!location.startsWith("file://")) return location;
  try {
    return fileURLToPath(location);
  } catch {
    return location;
  }
}

/** The directory of tsyncio's own modules (src/, .build/src/ or dist/). */
const OWN_DIRECTORY = fileURLToPath(new URL(".", import.meta.url));

/** @internal Whether a frame is tsyncio's own or Node's, not the program's. */
export function isOwnFrame(frame: FrameCallGraphEntry): boolean {
  return (
    frame.file.startsWith(OWN_DIRECTORY) ||
    frame.file.startsWith("node:") ||
    frame.file === "<anonymous>"
  );
}

/** @internal The program's frames of `frames`. */
export function userFrames(frames: readonly FrameCallGraphEntry[]): FrameCallGraphEntry[] {
  return frames.filter((frame) => !isOwnFrame(frame));
}

/** @internal The stack `task` was last seen suspended with (empty when not tracked). */
export function suspendedStack(task: Task<unknown>): FrameCallGraphEntry[] {
  const error = lastSuspension(task);
  return error === undefined ? [] : userFrames(taskFrames(parseStack(error.stack)));
}

/**
 * The frames of the task's own coroutines: those above the step that runs them (below it
 * are the loop's, or, for an eagerly started task, the frames of the task that created it).
 */
function taskFrames(frames: FrameCallGraphEntry[]): FrameCallGraphEntry[] {
  const step = frames.findIndex(
    (frame) => frame.name.endsWith("._runAndHandle") && isOwnFrame(frame),
  );
  return step < 0 ? frames : frames.slice(0, step);
}

/** The frames after the leading tsyncio ones (captureCallGraph and its callers here). */
function ownFramesTrimmed(frames: FrameCallGraphEntry[]): FrameCallGraphEntry[] {
  let start = 0;
  while (start < frames.length && isOwnFrame(frames[start] as FrameCallGraphEntry)) start++;
  return frames.slice(start);
}

function buildGraph(
  future: Future<unknown>,
  awaiters: Map<Future<unknown>, Future<unknown>[]>,
  limit: number | null,
  stack: FrameCallGraphEntry[] | null,
  path: Set<Future<unknown>> = new Set(),
): FutureCallGraph {
  let callStack = stack ?? (future instanceof Task ? suspendedStack(future) : []);
  if (limit !== null) {
    callStack = limit > 0 ? callStack.slice(-limit) : callStack.slice(0, -limit);
  }
  path.add(future);
  const awaitedBy: FutureCallGraph[] = [];
  for (const awaiter of awaiters.get(future) ?? []) {
    // A cycle (a TaskGroup child awaiting its parent) ends here.
    if (!path.has(awaiter)) awaitedBy.push(buildGraph(awaiter, awaiters, limit, null, path));
  }
  path.delete(future);
  return { future, callStack, awaitedBy };
}

function readOptions(options: CallGraphOptions | undefined): {
  depth: number;
  limit: number | null;
} {
  validateOptions(options, "options");
  const depth = options?.depth ?? 1;
  validateInteger(depth, "options.depth", 1);
  const limit = options?.limit ?? null;
  if (limit !== null && (typeof limit !== "number" || !Number.isInteger(limit))) {
    throw new TypeError(`options.limit must be an integer or null, got ${describe(limit)}`);
  }
  return { depth, limit };
}

function renderGraph(graph: FutureCallGraph, level: number, lines: string[]): void {
  const indent = "    ".repeat(level);
  const future = graph.future;
  if (future instanceof Task) {
    lines.push(`${indent}* Task(name=${quote(future.getName())}, id=${futureId(future)})`);
  } else {
    lines.push(`${indent}* Future(id=${futureId(future)})`);
  }
  if (graph.callStack.length > 0) {
    lines.push(`${indent}  + Call stack:`);
    for (const frame of graph.callStack) {
      lines.push(
        `${indent}  |   File ${quote(frame.file)}, line ${frame.line}, in ${frame.name}()`,
      );
    }
  }
  if (graph.awaitedBy.length > 0) {
    lines.push(`${indent}  + Awaited by:`);
    for (const awaiter of graph.awaitedBy) renderGraph(awaiter, level + 1, lines);
  }
}

/** Python's repr of a string: single quotes unless the text holds one. */
function quote(text: string): string {
  if (text.includes("'") && !text.includes('"')) return `"${text}"`;
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}
