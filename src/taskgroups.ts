/**
 * TaskGroup: structured concurrency, as asyncio's `taskgroups`. `async with TaskGroup() as
 * tg:` becomes `yield* taskGroup(function* (tg) { ... })`.
 *
 * No child outlives the group: the group waits for every child before it returns. When
 * a child fails (or the body throws), the other children and the body are cancelled, and
 * the failures surface together as one ExceptionGroup. The parent task's own cancellation
 * is told apart from the group's by the task's `cancelling()` count, as asyncio 3.13 does.
 */
import { CoroutineObject, type Coro, type Yielded } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError, ExceptionGroup, RuntimeError } from "./exceptions.ts";
import type { Future } from "./futures.ts";
import { recordSuspension, tracking } from "./internal/call-stacks.ts";
import { inspectAsString } from "./internal/inspect.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import type { WakeupTarget } from "./loop/handles.ts";
import { currentTask, scheduleChildDone, type Task, type TaskOptions } from "./tasks.ts";

/**
 * @internal The groups of `loop` that have a pending child, for the call graph and the
 * inspector (their parent task awaits those children): found through the children, each
 * of which has its group among its done-callbacks, so entering and leaving a group costs
 * no bookkeeping.
 */
export function liveTaskGroups(loop: BaseEventLoop): Set<TaskGroup> {
  const groups = new Set<TaskGroup>();
  for (const task of loop._tasks) {
    for (const callback of task._callbackList()) {
      if (callback instanceof TaskGroup && callback._parentTask !== null) groups.add(callback);
    }
  }
  return groups;
}

// A TaskGroup's flags, in one field.
const ENTERED = 1;
const EXITING = 2;
const ABORTING = 4;
/** The group cancelled its parent task itself (a child failed): exit takes that back. */
const PARENT_CANCEL_REQUESTED = 8;

/**
 * A group of child tasks bound to the task that entered it. Create children with
 * `createTask`; the group's exit waits for all of them.
 */
export class TaskGroup implements WakeupTarget {
  #flags = 0;
  #loop: BaseEventLoop | null = null;
  #parent: Task<unknown> | null = null;
  /**
   * The children whose done-callback has not run yet number #pending; #children holds them
   * in creation order, along with finished ones that are dropped once they are most of it.
   * (An array and a count: a Set of 100k children costs far more to grow and shrink.)
   */
  #children: Task<unknown>[] = [];
  #pending = 0;
  /** The children's errors, once there is one. */
  #errors: unknown[] | null = null;
  #onCompleted: Future<boolean> | null = null;

  toString(): string {
    let info = "";
    if (this.#pending > 0) info += ` tasks=${this.#pending}`;
    if (this.#errors !== null) info += ` errors=${this.#errors.length}`;
    if ((this.#flags & ABORTING) !== 0) info += " cancelling";
    else if ((this.#flags & ENTERED) !== 0) info += " entered";
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
    const flags = this.#flags;
    if ((flags & ENTERED) === 0) {
      closeCoroutine(coro);
      throw new RuntimeError(`TaskGroup ${this.toString()} has not been entered`);
    }
    if ((flags & EXITING) !== 0 && this.#pending === 0) {
      closeCoroutine(coro);
      throw new RuntimeError(`TaskGroup ${this.toString()} is finished`);
    }
    if ((flags & ABORTING) !== 0) {
      closeCoroutine(coro);
      throw new RuntimeError(`TaskGroup ${this.toString()} is shutting down`);
    }
    const task = (this.#loop as BaseEventLoop).createTask(coro, options);
    // Always through the done-callback, even for a task that finished eagerly: its failure
    // must not cancel the parent from inside createTask (asyncio 3.14, gh-128550).
    this.#children.push(task);
    this.#pending++;
    if (task.done()) this._wakeupFrom(task);
    else task._addCallback(this, null);
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
    this._enter();
    return this;
  }

  /** @internal `enter()`'s work, for `run`. */
  _enter(): void {
    if ((this.#flags & ENTERED) !== 0) {
      throw new RuntimeError(`TaskGroup ${this.toString()} has already been entered`);
    }
    this.#loop ??= getRunningLoop();
    this.#parent = currentTask(this.#loop);
    if (this.#parent === null) {
      throw new RuntimeError(`TaskGroup ${this.toString()} cannot determine the parent task`);
    }
    this.#flags |= ENTERED;
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
  exit(failed: boolean, error?: unknown): Coro<void> {
    return new GroupExit(this, failed, error);
  }

  /** Run `body(this)` inside the group and return its result once every child is done. */
  run<T>(body: (group: TaskGroup) => Coro<T>): Coro<T> {
    return new GroupRun(this, body);
  }

  // ---- exit, in steps: GroupExit and GroupRun drive these ------------------------------

  /**
   * @internal Exit begins: returns the CancelledError to propagate so far (the body's own,
   * if that is how it ended).
   */
  _exitBegin(failed: boolean, error: unknown): CancelledError | null {
    this.#flags |= EXITING;
    if (failed && (this.#flags & ABORTING) === 0) {
      // Our parent task is being cancelled, or the body failed:
      //
      //   yield* taskGroup(function* (tg) {
      //     tg.createTask(work());
      //     yield* sleep(1);        // <- CancelledError
      //     throw new Error("x");   // <- or this
      //   });
      this.#abort();
    }
    return failed && error instanceof CancelledError ? error : null;
  }

  /**
   * @internal The Future exit waits on next, or null once no child is pending. The wait
   * repeats, because it can be cancelled repeatedly while our parent task is being
   * cancelled (or once, while our own cancellation is in progress).
   */
  _exitWaiterNext(): Future<boolean> | null {
    this.#onCompleted = null;
    if (this.#pending === 0) return null;
    return (this.#onCompleted = (this.#loop as BaseEventLoop).createFuture<boolean>());
  }

  /**
   * @internal The wait was cancelled: returns the CancelledError to propagate from now on.
   */
  _exitCancelled(
    cancelled: CancelledError,
    propagate: CancelledError | null,
  ): CancelledError | null {
    if ((this.#flags & ABORTING) !== 0) return propagate;
    // The parent is cancelled while the body is done but children still run:
    //
    //   function* wrapper() {
    //     yield* taskGroup(function* (tg) { tg.createTask(work()); });
    //   }                         // <- wrapper task cancelled here
    this.#abort();
    return cancelled;
  }

  /** @internal Every child is done: throw what the group must, if anything. */
  _exitEnd(failed: boolean, error: unknown, propagate: CancelledError | null): void {
    const parent = this.#parent as Task<unknown>;
    if ((this.#flags & PARENT_CANCEL_REQUESTED) !== 0) {
      // We cancelled the parent ourselves: take that request back. If none is left, the
      // CancelledError was ours only and must not propagate.
      if (parent.uncancel() === 0) propagate = null;
    }
    const errors = this.#errors ?? [];
    this.#errors = null;
    this.#parent = null;
    // Other errors have priority over a CancelledError.
    if (propagate !== null && errors.length === 0) throw propagate;
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

  /**
   * @internal The body returned: if every child is done and none failed, leave now (exit
   * has nothing to wait for or throw) and return true.
   */
  _exitAtOnce(): boolean {
    if (this.#pending !== 0 || this.#errors !== null) return false;
    if ((this.#flags & PARENT_CANCEL_REQUESTED) !== 0) return false;
    this.#flags |= EXITING;
    this.#parent = null;
    return true;
  }

  #abort(): void {
    this.#flags |= ABORTING;
    for (const task of this.#children) {
      if (!task.done()) task.cancel();
    }
  }

  /**
   * @internal A child is done: schedule the group's done-callback for it (asyncio's
   * `_on_task_done`), as `addDoneCallback` would, without a callback closure per group.
   */
  _wakeupFrom(task: unknown): void {
    scheduleChildDone(this, task as Task<unknown>);
  }

  /** @internal asyncio's `_on_task_done`, for one child. */
  _onChildDone(task: Task<unknown>): void {
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
    (this.#errors ??= []).push(error);
    const parent = this.#parent as Task<unknown>;
    if (parent.done()) {
      (this.#loop as BaseEventLoop).callExceptionHandler({
        message: `Task ${task.toString()} has errored out but its parent task ${parent.toString()} is already completed`,
        exception: error,
        task,
      });
      return;
    }
    if ((this.#flags & (ABORTING | PARENT_CANCEL_REQUESTED)) === 0) {
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
      this.#flags |= PARENT_CANCEL_REQUESTED;
      parent.cancel();
    }
  }
}

// Exit's phases, and the one GroupRun adds before them.
const CREATED = 0;
const BODY = 1;
const WAITING = 2;
const CLOSED = 3;

/**
 * `exit(failed, error)` as a coroutine written by hand (a generator would cost every
 * group two objects and a register file): wait until no child is pending, then end as
 * the group must.
 */
class GroupExit<T> extends CoroutineObject<T> {
  /** @internal The Future waited on, while WAITING. */
  _waiter: Future<boolean> | null = null;
  /** @internal */
  readonly _group: TaskGroup;
  /** @internal CREATED, BODY (GroupRun only), WAITING or CLOSED. */
  _state = CREATED;
  /** @internal Whether the body failed, with `_error`. */
  _failed: boolean;
  /** @internal */
  _error: unknown;
  /** @internal The CancelledError exit will throw unless it finds something else to. */
  _propagate: CancelledError | null = null;

  constructor(group: TaskGroup, failed: boolean, error: unknown) {
    super();
    this._group = group;
    this._failed = failed;
    this._error = error;
  }

  next(): IteratorResult<Yielded, T> {
    if (this._state === CREATED) {
      this._propagate = this._group._exitBegin(this._failed, this._error);
      return this._wait();
    }
    if (this._state === WAITING) {
      if (!(this._waiter as Future<boolean>).done()) {
        // As the generator would: the error is not a cancellation, so it ends exit.
        this._state = CLOSED;
        this._waiter = null;
        throw new RuntimeError("await wasn't used with future");
      }
      return this._wait();
    }
    return { done: true, value: undefined as T };
  }

  throw(error: unknown): IteratorResult<Yielded, T> {
    if (this._state !== WAITING || !(error instanceof CancelledError)) {
      this._state = CLOSED;
      throw error;
    }
    this._propagate = this._group._exitCancelled(error, this._propagate);
    return this._wait();
  }

  return(value: T): IteratorResult<Yielded, T> {
    this._state = CLOSED;
    return { done: true, value };
  }

  /** @internal Wait for the next pending child, or end. */
  _wait(): IteratorResult<Yielded, T> {
    const waiter = this._group._exitWaiterNext();
    if (waiter !== null) {
      this._state = WAITING;
      waiter._blocking = true;
      if (tracking) recordSuspension();
      this._waiter = waiter;
      return { done: false, value: waiter };
    }
    this._waiter = null;
    this._state = CLOSED;
    this._group._exitEnd(this._failed, this._error, this._propagate);
    return this._finish();
  }

  /** @internal Exit ended without throwing. */
  _finish(): IteratorResult<Yielded, T> {
    return { done: true, value: undefined as T };
  }
}

/**
 * `run(body)` by hand: enter, delegate to the body as `yield*` does, then exit as
 * GroupExit does, and return the body's result (or rethrow its error).
 */
class GroupRun<T> extends GroupExit<T> {
  #body: ((group: TaskGroup) => Coro<T>) | null;
  #inner: Iterator<Yielded, T, unknown> | null = null;
  #result: T | undefined = undefined;

  constructor(group: TaskGroup, body: (group: TaskGroup) => Coro<T>) {
    super(group, false, undefined);
    this.#body = body;
  }

  override next(): IteratorResult<Yielded, T> {
    if (this._state === CREATED) {
      this._state = CLOSED;
      this._group._enter();
      this._state = BODY;
      const body = this.#body as (group: TaskGroup) => Coro<T>;
      this.#body = null;
      let step: IteratorResult<Yielded, T>;
      try {
        const inner = body(this._group)[Symbol.iterator]();
        this.#inner = inner;
        step = inner.next();
      } catch (error) {
        return this.#bodyFailed(error);
      }
      return this.#bodyStep(step);
    }
    if (this._state === BODY) {
      let step: IteratorResult<Yielded, T>;
      try {
        step = (this.#inner as Iterator<Yielded, T, unknown>).next();
      } catch (error) {
        return this.#bodyFailed(error);
      }
      return this.#bodyStep(step);
    }
    return super.next();
  }

  override throw(error: unknown): IteratorResult<Yielded, T> {
    if (this._state !== BODY) return super.throw(error);
    const inner = this.#inner as Iterator<Yielded, T, unknown>;
    let step: IteratorResult<Yielded, T>;
    try {
      if (inner.throw === undefined) {
        // What `yield*` does with an iterator that cannot take a throw.
        inner.return?.();
        throw new TypeError("The iterator does not provide a 'throw' method");
      }
      step = inner.throw(error);
    } catch (thrown) {
      return this.#bodyFailed(thrown);
    }
    return this.#bodyStep(step);
  }

  override return(value: T): IteratorResult<Yielded, T> {
    if (this._state !== BODY) return super.return(value);
    // As `yield*`: the body is asked to return; if it does, so does run, without exit.
    const inner = this.#inner as Iterator<Yielded, T, unknown>;
    if (inner.return === undefined) {
      this._state = CLOSED;
      return { done: true, value };
    }
    let step: IteratorResult<Yielded, T>;
    try {
      step = inner.return(value);
    } catch (error) {
      // The body's `finally` threw: the group exits with that error, as it would have.
      return this.#bodyFailed(error);
    }
    if (step.done === true) {
      this._state = CLOSED;
      this.#inner = null;
    }
    return step;
  }

  /** The body suspended, or returned. */
  #bodyStep(step: IteratorResult<Yielded, T>): IteratorResult<Yielded, T> {
    if (step.done !== true) return step;
    this.#inner = null;
    this.#result = step.value;
    if (this._group._exitAtOnce()) {
      this._state = CLOSED;
      return { done: true, value: step.value };
    }
    this._state = CREATED;
    return super.next();
  }

  /** The body threw `error`: exit with it, then rethrow it (unless exit throws instead). */
  #bodyFailed(error: unknown): IteratorResult<Yielded, T> {
    this.#inner = null;
    this._failed = true;
    this._error = error;
    this._state = CREATED;
    return super.next();
  }

  override _finish(): IteratorResult<Yielded, T> {
    if (this._failed) throw this._error;
    const result = this.#result as T;
    this.#result = undefined;
    return { done: true, value: result };
  }
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
