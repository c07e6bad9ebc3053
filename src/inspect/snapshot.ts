/**
 * What the inspector answers: the pending tasks of the inspected loops as plain JSON
 * data, for `tsyncio ps` and `tsyncio pstree`.
 */
import { Future } from "../futures.ts";
import { GatheringFuture } from "../gather.ts";
import {
  awaitersOf,
  futureId,
  isOwnFrame,
  parseStack,
  suspendedStack,
  type FrameCallGraphEntry,
} from "../graph.ts";
import { lastSuspension, waitDescription } from "../internal/call-stacks.ts";
import type { BaseEventLoop } from "../loop/base-event-loop.ts";
import { liveTaskGroups } from "../taskgroups.ts";
import { Task } from "../tasks.ts";

/** One pending task. */
export interface TaskSnapshot {
  /** A number naming the task for as long as it lives (the `id=` of `formatCallGraph`). */
  id: number;
  name: string;
  /** `waiting` on a Future, `ready` to run on the next iteration, or `cancelling`. */
  state: "waiting" | "ready" | "cancelling";
  /** What it waits for: `sleep 1.5s`, `task 'worker' (id 4)`, `gather of 3`, ... */
  awaits: string;
  /** Where it is suspended, innermost frame first (empty when not recorded). */
  stack: FrameCallGraphEntry[];
  /** The ids of the tasks awaiting it (through gathers), in no particular order. */
  awaitedBy: number[];
  /** The id of the task whose TaskGroup the task belongs to, or null. */
  taskGroup: number | null;
}

/** The inspector's answer. */
export interface Snapshot {
  pid: number;
  /** The program's command line. */
  argv: string[];
  tasks: TaskSnapshot[];
}

/** The tasks of `loops` now; call it between loop iterations. */
export function takeSnapshot(loops: Iterable<BaseEventLoop>): Snapshot {
  const tasks: TaskSnapshot[] = [];
  for (const loop of loops) {
    if (loop.isClosed()) continue;
    const awaiters = awaitersOf(loop);
    const groupOf = new Map<Task<unknown>, Task<unknown>>();
    const exitWaiters = new Map<Future<unknown>, number>();
    for (const group of liveTaskGroups(loop)) {
      const parent = group._parentTask;
      if (parent === null) continue;
      const children = group._pendingChildren();
      for (const child of children) groupOf.set(child, parent);
      const waiter = group._exitWaiter;
      if (waiter !== null) exitWaiters.set(waiter, children.length);
    }
    for (const task of loop._tasks) {
      const group = groupOf.get(task);
      tasks.push({
        id: futureId(task),
        name: task.getName(),
        state: task.cancelling() > 0 ? "cancelling" : task._waiter === null ? "ready" : "waiting",
        awaits: describeAwait(task, exitWaiters),
        stack: suspendedStack(task),
        awaitedBy: awaitingTasks(task, awaiters).map(futureId),
        taskGroup: group === undefined ? null : futureId(group),
      });
    }
  }
  return { pid: process.pid, argv: process.argv, tasks };
}

/** The tasks awaiting `future`, directly or through Futures that are not tasks (gathers). */
function awaitingTasks(
  future: Future<unknown>,
  awaiters: Map<Future<unknown>, Future<unknown>[]>,
  seen: Set<Future<unknown>> = new Set(),
): Task<unknown>[] {
  const tasks: Task<unknown>[] = [];
  for (const awaiter of awaiters.get(future) ?? []) {
    if (seen.has(awaiter)) continue;
    seen.add(awaiter);
    if (awaiter instanceof Task) tasks.push(awaiter);
    else tasks.push(...awaitingTasks(awaiter, awaiters, seen));
  }
  return tasks;
}

function describeAwait(task: Task<unknown>, exitWaiters: Map<Future<unknown>, number>): string {
  const waiter = task._waiter;
  if (waiter === null) return "";
  if (!(waiter instanceof Future)) {
    return waiter._waitDone() ? "" : (waitDescription(waiter) ?? "sleep");
  }
  if (waiter.done()) return "";
  if (waiter instanceof Task) return `task '${waiter.getName()}' (id ${futureId(waiter)})`;
  if (waiter instanceof GatheringFuture) {
    const pending = waiter._children.filter((child) => !child.done()).length;
    return `gather (${pending} of ${waiter._children.length} pending)`;
  }
  const children = exitWaiters.get(waiter);
  if (children !== undefined) return `TaskGroup (${children} ${children === 1 ? "task" : "tasks"})`;
  const described = waitDescription(waiter);
  if (described !== undefined) return described;
  // The tsyncio function the program called to wait, as the recorded stack shows it:
  // `Lock.acquire` for a frame `Lock._acquireSlow`.
  const frames = parseStack(lastSuspension(task)?.stack);
  const firstUser = frames.findIndex((frame) => !isOwnFrame(frame));
  for (let index = firstUser - 1; index >= 0; index--) {
    const name = (frames[index] as FrameCallGraphEntry).name;
    if (GENERIC_FRAMES.has(name) || name.endsWith(".next")) continue;
    return name.replace(/\._?(\w+?)Slow$/, ".$1").replace(/^Object\./, "");
  }
  return `Future (id ${futureId(waiter)})`;
}

/** Frames that say nothing of what a task waits for. */
const GENERIC_FRAMES = new Set(["captureError", "recordSuspension"]);
