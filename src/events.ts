/**
 * The running loop, as asyncio's `events` module tracks it. On Node a loop "runs" only
 * while it executes its own callbacks (one host tick), so two loops can interleave in one
 * process, and plain `async` code outside any loop sees no running loop.
 */
import { RuntimeError } from "./exceptions.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";

let running: BaseEventLoop | null = null;

/**
 * The loop running the current task or callback.
 *
 * @throws RuntimeError `no running event loop` outside the loop's callbacks and tasks.
 */
export function getRunningLoop(): BaseEventLoop {
  if (running === null) throw new RuntimeError("no running event loop");
  return running;
}

/** @internal The running loop or `null`; never throws. */
export function _getRunningLoop(): BaseEventLoop | null {
  return running;
}

/** @internal Make `loop` the running one; returns the previous one to restore. */
export function _setRunningLoop(loop: BaseEventLoop | null): BaseEventLoop | null {
  const previous = running;
  running = loop;
  return previous;
}
