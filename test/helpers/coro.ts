// Helpers for tests that run coroutines: the loop's clock, the current task, the error an
// awaitable throws, and waiting on tasks whatever their outcome.
import assert from "node:assert/strict";
import {
  CancelledError,
  currentTask,
  getRunningLoop,
  type Awaitable,
  type Coro,
  type Task,
} from "../../src/index.ts";

/** The running loop's clock, rounded to 1e-6 to hide floating-point noise (0.1 + 0.2 is 0.3). */
export function now(): number {
  return Math.round(getRunningLoop().time() * 1e6) / 1e6;
}

/**
 * The running loop's clock as it is, noise included (0.1 + 0.2 is 0.30000000000000004), for
 * traces recorded on CPython, whose clock shows the same noise.
 */
export function rawNow(): number {
  return getRunningLoop().time();
}

/** The task running this code; fails outside a task. */
export function self(): Task<unknown> {
  const task = currentTask();
  assert.ok(task !== null, "not inside a task");
  return task;
}

/**
 * Await `awaitable` (or, given a function, what it returns) and return what that throws;
 * fails the test if it returns.
 */
export function* thrownBy(
  awaitable: Awaitable<unknown> | (() => Awaitable<unknown>),
): Coro<unknown> {
  try {
    yield* typeof awaitable === "function" ? awaitable() : awaitable;
  } catch (error) {
    return error;
  }
  return assert.fail("expected an error");
}

/** Wait for every task, whatever its outcome. */
export function* settleAll(tasks: readonly Task<unknown>[]): Coro<void> {
  for (const task of tasks) {
    try {
      yield* task;
    } catch {
      // Outcomes are checked by the caller.
    }
  }
}

/** asyncio.timeout(delay) around `body`, in the current task: whether it timed out. */
export function* timedOut(delay: number, body: Coro<unknown>): Coro<boolean> {
  const task = self();
  const timer = { fired: false };
  const handle = getRunningLoop().callLater(delay, () => {
    timer.fired = true;
    task.cancel();
  });
  try {
    yield* body;
    return false;
  } catch (error) {
    if (timer.fired && error instanceof CancelledError) {
      task.uncancel();
      return true;
    }
    throw error;
  } finally {
    handle.cancel();
  }
}
