/**
 * The `tsyncio/testing` entry: a loop on a virtual clock and helpers to test coroutines
 * deterministically, in microseconds.
 *
 * @module tsyncio/testing
 */

import { isCoroutine, isCoroutineFunction, type Coro } from "./coroutines.ts";
import { DeadlockError } from "./exceptions.ts";
import { describe } from "./internal/validate.ts";
import type { ExceptionContext } from "./loop/base-event-loop.ts";
import { VirtualEventLoop } from "./loop/virtual-event-loop.ts";
import { Runner } from "./runners.ts";

export { VirtualEventLoop } from "./loop/virtual-event-loop.ts";
export type { VirtualEventLoopOptions } from "./loop/virtual-event-loop.ts";
export { DeadlockError } from "./exceptions.ts";

/** Options of `runVirtual`. */
export interface RunVirtualOptions {
  /** Turn on the loop's debug mode. */
  debug?: boolean | undefined;
  /** Receives the loop, before `main` starts: to set a task factory, say. */
  setup?: ((loop: VirtualEventLoop) => void) | undefined;
}

/**
 * Run `main` (a coroutine, or a generator function to call) on a new `VirtualEventLoop`
 * and return its result. Stricter than `run()`, as a test wants: it fails when the loop's
 * exception handler was called, when tasks are still pending after `main` returns, and
 * (through `DeadlockError`) when the run can never finish.
 *
 * @example
 * ```ts
 * import { sleep, getRunningLoop } from "tsyncio";
 * import { runVirtual } from "tsyncio/testing";
 *
 * await runVirtual(function* () {
 *   yield* sleep(3600);            // an hour, in microseconds
 *   assert.equal(getRunningLoop().time(), 3600);
 * });
 * ```
 */
export async function runVirtual<T>(
  main: Coro<T> | (() => Coro<T>),
  options?: RunVirtualOptions,
): Promise<T> {
  const coro = isCoroutineFunction(main) ? (main as () => Coro<T>)() : main;
  if (!isCoroutine(coro)) {
    throw new TypeError(
      `runVirtual() expects a coroutine or a generator function, got ${describe(main)}`,
    );
  }
  const loop = new VirtualEventLoop();
  if (options?.debug !== undefined) loop.setDebug(options.debug);
  const reported: ExceptionContext[] = [];
  loop.setExceptionHandler((_loop, context) => {
    reported.push(context);
  });
  options?.setup?.(loop);
  const runner = new Runner({ loopFactory: () => loop });
  let result: T;
  let leftovers: string[];
  try {
    result = await runner.run(coro);
    leftovers = [...loop._tasks].map((task) => task.toString());
  } finally {
    await runner.close();
  }
  if (reported.length > 0) {
    const first = reported[0] as ExceptionContext;
    const lines = reported.map((context) => `  ${context.message}: ${describe(context.exception)}`);
    throw new Error(`the loop's exception handler was called:\n${lines.join("\n")}`, {
      cause: first.exception,
    });
  }
  if (leftovers.length > 0) {
    throw new Error(`tasks still pending when main returned:\n  ${leftovers.join("\n  ")}`);
  }
  return result;
}

/** Whether `error` is the DeadlockError of a virtual loop. */
export function isDeadlock(error: unknown): error is DeadlockError {
  return error instanceof DeadlockError;
}
