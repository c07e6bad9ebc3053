/**
 * TaskGroup: structured concurrency, as asyncio's `taskgroups`. `async with TaskGroup() as
 * tg:` becomes `yield* taskGroup(function* (tg) { ... })`.
 *
 * No child outlives the group: the group waits for every child before it returns. When
 * a child fails (or the body throws), the other children and the body are cancelled, and
 * the failures surface together as one ExceptionGroup. The parent task's own cancellation
 * is told apart from the group's by the task's `cancelling()` count, as asyncio 3.13 does.
 */
import { copyContext, type Context } from "./contextvars.ts";
import type { Coro } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError, ExceptionGroup, RuntimeError } from "./exceptions.ts";
import type { DoneCallback, Future } from "./futures.ts";
import { inspectAsString } from "./internal/inspect.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import { currentTask, type Task, type TaskOptions } from "./tasks.ts";

/**
 * @internal The groups entered and not yet exited, for the call graph (their parent task
 * awaits their children): one add and one delete per group.
 */
export const liveTaskGroups: Set<TaskGroup> = new Set();

/**
 * A group of child tasks bound to the task that entered it. Create children with
 * `createTask`; the group's exit waits for all of them.
 */
export class TaskGroup {
  #entered = false;
  #exiting = false;
  #aborting = false;
  #loop: BaseEventLoop | null = null;
  #parent: Task<unknown> | null = null;
  #parentCancelRequested = false;
  /**
   * The children whose done-callback has not run yet number #pending; #children holds them
   * in creation order, along with finished ones that are dropped once they are most of it.
   * (An array and a count: a Set of 100k children costs far more to grow and shrink.)
   */
  #children: Task<unknown>[] = [];
  #pending = 0;
  #errors: unknown[] = [];
  #onCompleted: Future<boolean> | null = null;
  /** The Context of the group's done-callbacks, which read no context variables. */
  readonly #context: Context = copyContext();

  toString(): string {
    let info = "";
    if (this.#pending > 0) info += ` tasks=${this.#pending}`;
    if (this.#errors.length > 0) info += ` errors=${this.#errors.length}`;
    if (this.#aborting) info += " cancelling";
    else if (this.#entered) info += " entered";
    return `<TaskGroup${info}>`;
  }

  /**
   * Start a child task in the group. The task is not awaited here: the group waits for
   * it on exit. Its failure cancels the rest of the group.
   *
   * @throws RuntimeError when the group `has not been entered`, `is finished` or `is
   *   shutting down` (after a failure); the coroutine is closed first.
   */
  createTask<T>(coro: Coro<T>, options?: TaskOptions): Task<T> {
    if (!this.#entered) {
      closeCoroutine(coro);
      throw new RuntimeError(`TaskGroup ${this.toString()} has not been entered`);
    }
    if (this.#exiting && this.#pending === 0) {
      closeCoroutine(coro);
      throw new RuntimeError(`TaskGroup ${this.toString()} is finished`);
    }
    if (this.#aborting) {
      closeCoroutine(coro);
      throw new RuntimeError(`TaskGroup ${this.toString()} is shutting down`);
    }
    const task = (this.#loop as BaseEventLoop).createTask(coro, options);
    // Always through the done-callback, even for a task that finished eagerly: its failure
    // must not cancel the parent from inside createTask (asyncio 3.14, gh-128550).
    this.#children.push(task);
    this.#pending++;
    task._addDoneCallbackIn(this.#onTaskDone as DoneCallback<unknown>, this.#context);
    return task;
  }

  /**
   * Enter the group (asyncio's `__aenter__`) in the current task; pair it with `exit`.
   * `run()` does both.
   *
   * @throws RuntimeError `has already been entered`, or `cannot determine the parent task`
   *   outside a task.
   */
  *enter(): Coro<this> {
    return this.#enter();
  }

  #enter(): this {
    if (this.#entered) {
      throw new RuntimeError(`TaskGroup ${this.toString()} has already been entered`);
    }
    this.#loop ??= getRunningLoop();
    this.#parent = currentTask(this.#loop);
    if (this.#parent === null) {
      throw new RuntimeError(`TaskGroup ${this.toString()} cannot determine the parent task`);
    }
    this.#entered = true;
    liveTaskGroups.add(this);
    return this;
  }

  /** @internal The task that entered the group, until it exits. */
  get _parentTask(): Task<unknown> | null {
    return this.#parent;
  }

  /** @internal The Future the parent task waits on in `exit`, while it does. */
  get _exitWaiter(): Future<boolean> | null {
    return this.#onCompleted;
  }

  /** @internal The children that are not done. */
  _pendingChildren(): Task<unknown>[] {
    return this.#children.filter((child) => !child.done());
  }

  /**
   * Leave the group (asyncio's `__aexit__`), with the error the body ended with if
   * `failed`: wait for every child, then throw what the group must (an ExceptionGroup of
   * the failures, or the parent's CancelledError).
   */
  *exit(failed: boolean, error?: unknown): Coro<void> {
    this.#exiting = true;
    const parent = this.#parent as Task<unknown>;
    let propagateCancellation: CancelledError | null =
      failed && error instanceof CancelledError ? error : null;

    if (failed && !this.#aborting) {
      // Our parent task is being cancelled, or the body failed:
      //
      //   yield* taskGroup(function* (tg) {
      //     tg.createTask(work());
      //     yield* sleep(1);        // <- CancelledError
      //     throw new Error("x");   // <- or this
      //   });
      this.#abort();
    }

    // A loop, because the wait can be cancelled repeatedly while our parent task is being
    // cancelled (or once, while our own cancellation is in progress).
    while (this.#pending > 0) {
      this.#onCompleted ??= (this.#loop as BaseEventLoop).createFuture<boolean>();
      try {
        yield* this.#onCompleted;
      } catch (cancelled) {
        if (!(cancelled instanceof CancelledError)) throw cancelled;
        if (!this.#aborting) {
          // The parent is cancelled while the body is done but children still run:
          //
          //   function* wrapper() {
          //     yield* taskGroup(function* (tg) { tg.createTask(work()); });
          //   }                         // <- wrapper task cancelled here
          propagateCancellation = cancelled;
          this.#abort();
        }
      }
      this.#onCompleted = null;
    }

    if (this.#parentCancelRequested) {
      // We cancelled the parent ourselves: take that request back. If none is left, the
      // CancelledError was ours only and must not propagate.
      if (parent.uncancel() === 0) propagateCancellation = null;
    }

    const errors = this.#errors;
    this.#errors = [];
    this.#parent = null;
    liveTaskGroups.delete(this);
    // Other errors have priority over a CancelledError.
    if (propagateCancellation !== null && errors.length === 0) throw propagateCancellation;
    if (failed && !(error instanceof CancelledError)) errors.push(error);
    if (errors.length > 0) {
      // If the parent is being cancelled from outside, un-cancel and re-cancel it, so its
      // cancelling() count stays what the outside made it (asyncio 3.13).
      if (parent.cancelling() > 0) {
        parent.uncancel();
        parent.cancel();
      }
      throw new ExceptionGroup("unhandled errors in a TaskGroup", errors);
    }
  }

  /** Run `body(this)` inside the group and return its result once every child is done. */
  *run<T>(body: (group: TaskGroup) => Coro<T>): Coro<T> {
    this.#enter();
    let result: T;
    try {
      result = yield* body(this);
    } catch (error) {
      yield* this.exit(true, error);
      throw error;
    }
    if (this.#pending === 0 && this.#errors.length === 0 && !this.#parentCancelRequested) {
      // Every child is done and none failed: exit has nothing to wait for or throw.
      this.#exiting = true;
      this.#parent = null;
      liveTaskGroups.delete(this);
      return result;
    }
    yield* this.exit(false);
    return result;
  }

  #abort(): void {
    this.#aborting = true;
    for (const task of this.#children) {
      if (!task.done()) task.cancel();
    }
  }

  readonly #onTaskDone = (task: Task<unknown>): void => {
    this.#pending--;
    if (this.#pending === 0) this.#children = [];
    else if (this.#children.length > 2 * this.#pending + 16) {
      this.#children = this.#children.filter((child) => !child.done());
    }
    if (this.#onCompleted !== null && this.#pending === 0 && !this.#onCompleted.done()) {
      this.#onCompleted.setResult(true);
    }
    if (task.cancelled()) return;
    const error = task.exception();
    if (error === null) return;
    this.#errors.push(error);
    const parent = this.#parent as Task<unknown>;
    if (parent.done()) {
      (this.#loop as BaseEventLoop).callExceptionHandler({
        message: `Task ${task.toString()} has errored out but its parent task ${parent.toString()} is already completed`,
        exception: error,
        task,
      });
      return;
    }
    if (!this.#aborting && !this.#parentCancelRequested) {
      // The parent is not being cancelled: cancel it ourselves, to stop what the body is
      // waiting on, and mark it "not cancelled" again on exit:
      //
      //   try {
      //     yield* taskGroup(function* (tg) {
      //       tg.createTask(crashSoon());
      //       yield* something();     // <- must be cancelled by the group
      //     });
      //   } catch { /* ignore the group's errors */ }
      //   yield* somethingElse();     // must still run
      this.#abort();
      this.#parentCancelRequested = true;
      parent.cancel();
    }
  };
}

inspectAsString(TaskGroup);

/**
 * Run `body` with a new TaskGroup and return its result once every child task is done.
 *
 * If a child fails or the body throws, the other children and the body are cancelled and
 * every failure is thrown together as an `ExceptionGroup` ("unhandled errors in a
 * TaskGroup"); cancelled children add nothing. If the task running the group is
 * cancelled from outside, the children are cancelled, waited for, and the CancelledError
 * propagates.
 *
 * @example
 * ```ts
 * const [a, b] = yield* taskGroup(function* (tg) {
 *   const a = tg.createTask(fetchPage(1));
 *   const b = tg.createTask(fetchPage(2));
 *   return [a, b];
 * });
 * console.log(a.result(), b.result()); // both done here
 * ```
 */
export function taskGroup<T>(body: (group: TaskGroup) => Coro<T>): Coro<T> {
  return new TaskGroup().run(body);
}

function closeCoroutine(coro: unknown): void {
  if (typeof coro === "object" && coro !== null && "return" in coro) {
    (coro as Generator).return(undefined);
  }
}
