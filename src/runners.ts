/**
 * run() and Runner: the entry points of a tsyncio program, as asyncio's `runners`.
 * Both return Promises: Node cannot block, so `await run(main())` is `asyncio.run(main())`.
 */
import type { Context } from "./contextvars.ts";
import { copyContext } from "./contextvars.ts";
import { isCoroutine, isCoroutineFunction, type Coro } from "./coroutines.ts";
import { _getRunningLoop } from "./events.ts";
import { CancelledError, KeyboardInterrupt, RuntimeError } from "./exceptions.ts";
import { isMainThread } from "node:worker_threads";
import type { Future } from "./futures.ts";
import { describe } from "./internal/validate.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import { EventLoop } from "./loop/node-event-loop.ts";
import { hasDefaultExecutor } from "./executors/loop-methods.ts";
import type { Task } from "./tasks.ts";
import { inspectAsString } from "./internal/inspect.ts";
import { startInspecting, stopInspecting } from "./inspect/server.ts";

/** Options of `run()` and `new Runner()`. */
export interface RunOptions {
  /** Set the loop's debug mode; default: leave it (the TSYNCIO_DEBUG environment variable). */
  debug?: boolean | undefined;
  /** Build the loop; default `new EventLoop()`. `() => new VirtualEventLoop()` for virtual time. */
  loopFactory?: (() => BaseEventLoop) | undefined;
  /**
   * Let `tsyncio ps PID` and `tsyncio pstree PID` (the same user only) look at the tasks
   * while the Runner lives; default: the TSYNCIO_INSPECT environment variable.
   */
  inspect?: boolean | undefined;
}

/**
 * Run `main` on a new loop and return its result: the whole life of a program.
 *
 * When `main` ends, every task still alive is cancelled and waited for, errors they end
 * with go to the exception handler, and the loop is closed.
 *
 * @example
 * ```ts
 * import { run, sleep, type Coro } from "tsyncio";
 *
 * function* main(): Coro<string> {
 *   yield* sleep(0.1);
 *   return "done";
 * }
 * console.log(await run(main()));
 * ```
 *
 * @throws RuntimeError at once when called from a running loop; TypeError when `main` is
 *   not a coroutine.
 */
export function run<T>(main: Coro<T>, options?: RunOptions): Promise<T> {
  if (_getRunningLoop() !== null) {
    throw new RuntimeError("run() cannot be called from a running event loop");
  }
  checkCoroutine(main);
  const runner = new Runner(options);
  return (async () => {
    try {
      return await runner.run(main);
    } finally {
      await runner.close();
    }
  })();
}

/**
 * Several top-level coroutines on one loop, sharing one Context, as asyncio's `Runner`.
 * The loop is created by the first `run()` or `getLoop()`; `close()` (or `await using`)
 * cancels what is left and closes it.
 */
export class Runner implements AsyncDisposable {
  #state: "created" | "initialized" | "closed" = "created";
  #loop: BaseEventLoop | null = null;
  #context: Context | null = null;
  readonly #debug: boolean | undefined;
  readonly #loopFactory: (() => BaseEventLoop) | undefined;
  readonly #inspect: boolean;

  constructor(options?: RunOptions) {
    this.#debug = options?.debug;
    this.#inspect = options?.inspect ?? inspectFromEnvironment();
    this.#loopFactory = options?.loopFactory;
    if (this.#loopFactory !== undefined && typeof this.#loopFactory !== "function") {
      throw new TypeError(`loopFactory must be a function, got ${describe(this.#loopFactory)}`);
    }
  }

  toString(): string {
    return `<Runner ${this.#state}>`;
  }

  /**
   * Run `coro` to completion in a Task on this Runner's loop, in `options.context` or the
   * Runner's own Context (shared by every `run`).
   *
   * Ctrl-C: in the main thread, when nothing else listens for SIGINT, the first SIGINT
   * cancels the task; if it then ends cancelled (and did not `uncancel()`), the Promise
   * rejects with KeyboardInterrupt. A second SIGINT ends the process at once, as Ctrl-C
   * does by default.
   *
   * @throws TypeError when `coro` is not a coroutine; RuntimeError at once when called from
   *   a running loop or after `close()`.
   */
  run<T>(coro: Coro<T>, options?: { context?: Context | undefined }): Promise<T> {
    checkCoroutine(coro);
    if (_getRunningLoop() !== null) {
      throw new RuntimeError("Runner.run() cannot be called from a running event loop");
    }
    const loop = this.#lazyInit();
    const context = options?.context ?? (this.#context as Context);
    const task = loop.createTask(coro, { context });
    // As asyncio 3.11+: in the main thread, with SIGINT at its default, the first Ctrl-C
    // cancels the main task; a second one ends the process as Ctrl-C does by default.
    if (!isMainThread || process.listenerCount("SIGINT") !== 0) return loop.runUntilComplete(task);
    let interrupts = 0;
    const onSigint = (): void => {
      interrupts++;
      if (interrupts === 1 && !task.done()) {
        task.cancel();
        return;
      }
      process.off("SIGINT", onSigint);
      process.kill(process.pid, "SIGINT");
    };
    process.on("SIGINT", onSigint);
    return loop.runUntilComplete(task).then(
      (result) => {
        process.off("SIGINT", onSigint);
        return result;
      },
      (error: unknown) => {
        process.off("SIGINT", onSigint);
        if (error instanceof CancelledError && interrupts > 0 && task.uncancel() === 0) {
          throw new KeyboardInterrupt();
        }
        throw error;
      },
    );
  }

  /**
   * The Runner's loop, created now if needed.
   *
   * @throws RuntimeError `Runner is closed`.
   */
  getLoop(): BaseEventLoop {
    return this.#lazyInit();
  }

  /**
   * Cancel every task still alive, wait for them, report their errors to the exception
   * handler, shut the default executor down (waiting up to 300 seconds for its jobs), and
   * close the loop. Does nothing unless the loop was created; idempotent.
   */
  async close(): Promise<void> {
    if (this.#state !== "initialized") return;
    const loop = this.#loop as BaseEventLoop;
    try {
      await cancelAllTasks(loop);
      if (hasDefaultExecutor(loop)) {
        await loop.runUntilComplete(loop.shutdownDefaultExecutor(THREAD_JOIN_TIMEOUT));
      }
    } finally {
      if (this.#inspect) stopInspecting(loop);
      loop.close();
      this.#loop = null;
      this.#state = "closed";
    }
  }

  /** `await using runner = new Runner()` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #lazyInit(): BaseEventLoop {
    if (this.#state === "closed") throw new RuntimeError("Runner is closed");
    if (this.#state === "initialized") return this.#loop as BaseEventLoop;
    const loop = this.#loopFactory === undefined ? new EventLoop() : this.#loopFactory();
    if (this.#debug !== undefined) loop.setDebug(this.#debug);
    if (this.#inspect) startInspecting(loop);
    this.#loop = loop;
    this.#context = copyContext();
    this.#state = "initialized";
    return loop;
  }
}

/** How long close() waits for the default executor's jobs, as asyncio's THREAD_JOIN_TIMEOUT. */
const THREAD_JOIN_TIMEOUT = 300;

/** Cancel the loop's remaining tasks, wait until they are done, report their errors. */
async function cancelAllTasks(loop: BaseEventLoop): Promise<void> {
  const tasks = [...loop._tasks];
  if (tasks.length === 0) return;
  for (const task of tasks) task.cancel();
  await loop.runUntilComplete(allDone(loop, tasks));
  for (const task of tasks) {
    if (task.cancelled()) continue;
    const error = task.exception();
    if (error !== null) {
      loop.callExceptionHandler({
        message: "unhandled exception during run() shutdown",
        exception: error,
        task,
      });
    }
  }
}

/** A Future that is done once every task is, whatever their outcomes. */
function allDone(loop: BaseEventLoop, tasks: readonly Task<unknown>[]): Future<undefined> {
  const done = loop.createFuture<undefined>();
  let remaining = tasks.length;
  const countDown = (): void => {
    if (--remaining === 0 && !done.done()) done.setResult(undefined);
  };
  for (const task of tasks) task.addDoneCallback(countDown);
  return done;
}

function inspectFromEnvironment(): boolean {
  const value = process.env.TSYNCIO_INSPECT;
  return value !== undefined && value !== "" && value !== "0";
}

function checkCoroutine(value: unknown): void {
  if (!isCoroutine(value)) {
    const hint = isCoroutineFunction(value) ? "; call it to get a coroutine: run(main())" : "";
    throw new TypeError(`a coroutine was expected, got ${describe(value)}${hint}`);
  }
}

inspectAsString(Runner);
