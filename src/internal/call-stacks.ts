/**
 * Where suspended tasks are: JavaScript cannot walk a suspended generator's frames, but
 * when a coroutine suspends, the awaitable's `next()` runs inside the whole generator
 * chain, so an Error created there records every coroutine frame of the task. The
 * awaitables (FutureIterator, sleep's iterators) call `recordSuspension()` only while
 * `tracking` is on: while an inspector listens or a loop is in debug mode. Off, the cost
 * is one module-variable test per suspension.
 */
import { _getRunningLoop } from "../events.ts";

/** Whether suspensions are recorded: read by the awaitables on every suspension. */
export let tracking = false;

let inspectors = 0;
let debugLoops = 0;

/** The Error made at each task's last suspension, while tracking was on. */
const suspensions = new WeakMap<object, Error>();

/** How many frames a recorded stack keeps: each coroutine level takes two. */
const STACK_FRAMES = 200;

/** Record where the current task suspends (a no-op outside a task). */
export function recordSuspension(): void {
  const task = _getRunningLoop()?._currentTask;
  if (task == null) return;
  suspensions.set(task, captureError());
}

/** What the awaitables said of the Futures they yield (`sleep 1.5s`), while tracking. */
const waits = new WeakMap<object, string>();

/** Say what waiting for `future` means, for the inspector's "awaits" column. */
export function describeWait(future: object, text: string): void {
  waits.set(future, text);
}

/** What `describeWait` said of `future`, if anything. */
export function waitDescription(future: object): string | undefined {
  return waits.get(future);
}

/** The Error of `task`'s last recorded suspension, if any. */
export function lastSuspension(task: object): Error | undefined {
  return suspensions.get(task);
}

/** An Error whose stack holds up to STACK_FRAMES frames (V8 keeps 10 by default). */
export function captureError(): Error {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_FRAMES;
  const error = new Error();
  Error.stackTraceLimit = limit;
  return error;
}

/** One more (or one fewer, with -1) listening inspector. */
export function _inspectorListening(delta: 1 | -1): void {
  inspectors += delta;
  tracking = inspectors > 0 || debugLoops > 0;
}

/** One more (or one fewer, with -1) loop in debug mode. */
export function _debugLoop(delta: 1 | -1): void {
  debugLoops += delta;
  tracking = inspectors > 0 || debugLoops > 0;
}
