/**
 * BaseEventLoop: asyncio's `BaseEventLoop` on Node.js.
 *
 * Design note. The loop owns a FIFO ready queue of Handles and a heap of TimerHandles.
 * One iteration (`#runOnce`, asyncio's `_run_once`) purges cancelled timers, moves the due
 * timers to the ready queue, then runs exactly the handles that were ready when it began;
 * handles scheduled meanwhile run in the next iteration. Task steps, done-callbacks,
 * timers and I/O results are all Handles, so their order is FIFO and deterministic.
 *
 * Node cannot block, so the loop is driven by host callbacks: `_drive` runs iterations
 * until nothing is ready (or a small time budget is spent, so that Node can deliver I/O),
 * then returns to Node after arranging to be called again. What "arranging" means is the
 * subclass's business (`_idle`): the Node loop arms one host timer for the earliest
 * TimerHandle; the virtual-clock loop jumps its clock to that timer instead, and reports a
 * deadlock when there is nothing left to wait for. Work scheduled from outside a drive (a
 * Promise settling, a socket event) asks the host for a drive with `setImmediate`.
 *
 * While a run is active a ref'd host interval keeps the process alive, as a blocked asyncio
 * program is alive; nothing of the loop keeps it alive once the run ends.
 */
import { Context, copyContext } from "../contextvars.ts";
import { _getRunningLoop, _setRunningLoop } from "../events.ts";
import { _debugLoop } from "../internal/call-stacks.ts";
import { RuntimeError } from "../exceptions.ts";
import { Future } from "../futures.ts";
import { ensureFuture, Task, type TaskOptions } from "../tasks.ts";
import type { Awaitable, Coro } from "../coroutines.ts";
import { TaskList } from "../internal/task-list.ts";
import { formatExceptionContext, reportException } from "./exception-context.ts";
import { describe } from "../internal/validate.ts";
import {
  Handle,
  TimerHandle,
  describeCallback,
  type Runnable,
  type TimerEntry,
} from "./handles.ts";
import { TimerHeap } from "./timer-heap.ts";
import { inspectAsString } from "../internal/inspect.ts";

/** What the exception handler receives, as asyncio's context dict (keys in camelCase). */
export interface ExceptionContext {
  message: string;
  exception?: unknown;
  future?: Future<unknown>;
  task?: Task<unknown>;
  handle?: Handle;
  sourceTraceback?: string;
  [key: string]: unknown;
}

/** A custom exception handler: `(loop, context) => void`. */
export type ExceptionHandler = (loop: BaseEventLoop, context: ExceptionContext) => void;

/** A task factory, as `loop.setTaskFactory` takes: builds the Task for `createTask`. */
export type TaskFactory = (
  loop: BaseEventLoop,
  coro: Coro<unknown>,
  options: TaskOptions,
) => Task<unknown>;

/** Longest host timer: asyncio caps its poll timeout at a day. */
const MAX_HOST_DELAY_MS = 24 * 3600 * 1000;
const KEEP_ALIVE_MS = 2 ** 31 - 1;
const NONE: unique symbol = Symbol("none");

function noop(): void {}

/**
 * The event loop. Use `EventLoop` (real time, on Node's own loop) or `VirtualEventLoop`
 * (from `tsyncio/testing`, virtual time); most programs never touch a loop directly and
 * use `run()` instead.
 */
export abstract class BaseEventLoop {
  /** Callbacks slower than this many seconds are logged in debug mode. */
  slowCallbackDuration = 0.1;
  /** @internal Read on hot paths, so a plain field. */
  _debug: boolean;
  /** @internal The task whose step is running, as asyncio's `_current_tasks[loop]`. */
  _currentTask: Task<unknown> | null = null;
  /** @internal Every task of this loop that is not done yet. */
  readonly _tasks: TaskList<Task<unknown>> = new TaskList();

  /**
   * The ready queue: entries [0, #readyLength) of #ready. Two arrays swap each iteration
   * and keep their storage (slots are cleared, never truncated), so a busy loop does not
   * reallocate its queue.
   */
  #ready: (Runnable | undefined)[] = [];
  #readyLength = 0;
  #spare: (Runnable | undefined)[] = [];
  readonly #timers = new TimerHeap();
  #timerSeq = 0;
  #hostOps = 0;
  #running = false;
  #stopping = false;
  #closed = false;
  #inDrive = false;
  #hostImmediate: NodeJS.Immediate | null = null;
  #keepAlive: NodeJS.Timeout | null = null;
  #settleRun: ((error: unknown) => void) | null = null;
  #exceptionHandler: ExceptionHandler | null = null;
  #taskFactory: TaskFactory | null = null;
  /** What `createTask(coro)` passes to `new Task`, which reads it and keeps nothing. */
  readonly #taskOptions: { loop: BaseEventLoop } = { loop: this };

  constructor() {
    this._debug = debugFromEnvironment();
    if (this._debug) _debugLoop(1);
  }

  toString(): string {
    return `<${this.constructor.name} running=${this.#running} closed=${this.#closed} debug=${this._debug}>`;
  }

  /** The loop's clock: monotonic seconds. */
  abstract time(): number;

  // ---- running and stopping ----------------------------------------------------------

  /** Whether a run (`runForever`/`runUntilComplete`) is in progress. */
  isRunning(): boolean {
    return this.#running;
  }

  /** Whether `close()` was called. */
  isClosed(): boolean {
    return this.#closed;
  }

  /**
   * Run until `stop()` is called. The Promise settles when the run ends: after the
   * iteration in which `stop()` was called (or after one iteration if `stop()` came first).
   *
   * @throws RuntimeError at once if the loop is closed or already running, or if another
   *   loop is running the caller.
   */
  runForever(): Promise<void> {
    this.#checkClosed();
    this.#checkNotRunning();
    return new Promise<void>((resolve, reject) => {
      this.#running = true;
      this.#settleRun = (error) => {
        if (error === NONE) resolve();
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- any thrown value
        else reject(error);
      };
      this.#keepAlive = setInterval(noop, KEEP_ALIVE_MS);
      this._drive();
    });
  }

  /**
   * Run until `future` (a Future, or a coroutine, which is wrapped in a Task) is done, and
   * return its result or throw its exception.
   *
   * @throws RuntimeError `Event loop stopped before Future completed.` when `stop()` ends
   *   the run first; TypeError for a value that cannot be awaited; RangeError for a Future
   *   of another loop.
   */
  runUntilComplete<T>(future: Future<T> | Awaitable<T>): Promise<T> {
    this.#checkClosed();
    this.#checkNotRunning();
    const isNewTask = !(future instanceof Future);
    const target = ensureFuture(future, this);
    const onDone = (): void => {
      this.stop();
    };
    target.addDoneCallback(onDone);
    const finish = (): void => {
      target.removeDoneCallback(onDone);
      // A task we created and whose error we will throw: don't also log it as unretrieved.
      if (isNewTask && target.done() && !target.cancelled()) target.exception();
    };
    return this.runForever().then(
      () => {
        finish();
        if (!target.done()) {
          throw new RuntimeError("Event loop stopped before Future completed.");
        }
        return target.result();
      },
      (error: unknown) => {
        finish();
        throw error;
      },
    );
  }

  /** End the run after the current iteration. Does nothing when not running. */
  stop(): void {
    this.#stopping = true;
    if (this.#running && !this.#inDrive) this.#wakeHost();
  }

  /**
   * Close the loop: drop every pending callback and timer. Idempotent.
   *
   * @throws RuntimeError `Cannot close a running event loop`.
   */
  close(): void {
    if (this.#running) throw new RuntimeError("Cannot close a running event loop");
    if (this.#closed) return;
    if (this._debug) {
      console.debug(`Close ${this.toString()}`);
      _debugLoop(-1);
    }
    this.#closed = true;
    this.#ready = [];
    this.#readyLength = 0;
    this.#timers.clear();
    this._closeHost();
    const hooks = [...this._closeHooks];
    this._closeHooks.clear();
    for (const hook of hooks) hook();
  }

  /**
   * @internal What `close()` runs last, once: the modules outside the kernel (signal
   * handlers, child processes) let go of what they hold for this loop.
   */
  readonly _closeHooks: Set<() => void> = new Set();

  // ---- scheduling ---------------------------------------------------------------------

  /**
   * Run `callback(...args)` on the next iteration, after the callbacks already scheduled,
   * in a copy of the current Context.
   */
  callSoon<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle {
    this.#checkClosed();
    this.#checkCallback(callback, "callSoon");
    return this._callSoon(callback, args.length === 0 ? undefined : args, copyContext());
  }

  /**
   * As `callSoon`. Node has no threads that share a loop, so this is the same operation;
   * it exists for code ported from asyncio, and like `callSoon` it wakes a loop that is
   * waiting for I/O.
   */
  callSoonThreadsafe<A extends unknown[]>(callback: (...args: A) => unknown, ...args: A): Handle {
    return this.callSoon(callback, ...args);
  }

  /** Run `callback(...args)` after `delay` seconds (0 or negative: on the next iteration). */
  callLater<A extends unknown[]>(
    delay: number,
    callback: (...args: A) => unknown,
    ...args: A
  ): TimerHandle {
    if (typeof delay !== "number" || Number.isNaN(delay)) {
      throw new TypeError(`delay must be a number, got ${describe(delay)}`);
    }
    return this.#callAt(this.time() + delay, callback, args, "callLater");
  }

  /** Run `callback(...args)` when `time()` reaches `when`. */
  callAt<A extends unknown[]>(
    when: number,
    callback: (...args: A) => unknown,
    ...args: A
  ): TimerHandle {
    if (typeof when !== "number" || Number.isNaN(when)) {
      throw new TypeError(`when must be a number, got ${describe(when)}`);
    }
    return this.#callAt(when, callback, args, "callAt");
  }

  /** A new pending Future bound to this loop. */
  createFuture<T>(): Future<T> {
    return new Future<T>({ loop: this });
  }

  /**
   * Wrap `coro` in a Task scheduled on this loop (through the task factory, if one is
   * set).
   *
   * @throws RuntimeError if the loop is closed (the coroutine is closed first); TypeError
   *   if `coro` is not a coroutine.
   */
  createTask<T>(coro: Coro<T>, options?: TaskOptions): Task<T> {
    if (this.#closed) {
      closeCoroutine(coro);
      this.#checkClosed();
    }
    const factory = this.#taskFactory;
    if (factory === null) {
      if (options === undefined) return new Task(coro, this.#taskOptions);
      return new Task(coro, {
        loop: this,
        name: options.name,
        context: options.context,
        eagerStart: options.eagerStart,
      });
    }
    const { name, ...rest } = options ?? {};
    const task = factory(this, coro, rest) as Task<T>;
    if (name !== undefined) task.setName(name);
    return task;
  }

  /** Set the factory `createTask` uses; `null` restores the default (`new Task`). */
  setTaskFactory(factory: TaskFactory | null): void {
    if (factory !== null && typeof factory !== "function") {
      throw new TypeError(`task factory must be a callable or null, got ${describe(factory)}`);
    }
    this.#taskFactory = factory;
  }

  /** The factory set with `setTaskFactory`, or `null`. */
  getTaskFactory(): TaskFactory | null {
    return this.#taskFactory;
  }

  // ---- errors and debug ----------------------------------------------------------------

  /** Set the handler for errors nobody else could receive; `null` restores the default. */
  setExceptionHandler(handler: ExceptionHandler | null): void {
    if (handler !== null && typeof handler !== "function") {
      throw new TypeError(`A callable object or null is expected, got ${describe(handler)}`);
    }
    this.#exceptionHandler = handler;
  }

  /** The handler set with `setExceptionHandler`, or `null`. */
  getExceptionHandler(): ExceptionHandler | null {
    return this.#exceptionHandler;
  }

  /**
   * Log `context` to stderr: the message, the other keys sorted, then the error's stack.
   * This is what happens to errors when no handler is set.
   */
  defaultExceptionHandler(context: ExceptionContext): void {
    console.error(formatExceptionContext(context));
  }

  /**
   * Report an error nobody could receive: to the custom handler (run in the Context of the
   * task, future or handle concerned), else to `defaultExceptionHandler`. A failing handler
   * is itself reported to the default handler; nothing here throws.
   */
  callExceptionHandler(context: ExceptionContext): void {
    const owner = context.task ?? context.future ?? context.handle;
    const ownerContext =
      owner !== undefined && "getContext" in owner && typeof owner.getContext === "function"
        ? owner.getContext()
        : undefined;
    this._callExceptionHandlerIn(context, ownerContext);
  }

  /** @internal `callExceptionHandler`, with the custom handler run in `runIn` if given. */
  _callExceptionHandlerIn(context: ExceptionContext, runIn: Context | undefined): void {
    reportException(this, this.#exceptionHandler, context, runIn);
  }

  /** Whether debug mode is on (default: the TSYNCIO_DEBUG environment variable is set). */
  getDebug(): boolean {
    return this._debug;
  }

  /**
   * Turn debug mode on or off: creation tracebacks for handles and futures, slow-callback
   * warnings, stricter argument checks, warnings for swallowed cancellations.
   */
  setDebug(enabled: boolean): void {
    const debug = Boolean(enabled as unknown);
    // Call stacks of suspended tasks are recorded while a loop that is not closed is in debug mode.
    if (debug !== this._debug && !this.#closed) _debugLoop(debug ? 1 : -1);
    this._debug = debug;
  }

  // ---- internals shared with futures, tasks and the subclasses -----------------------------

  /** @internal Schedule without checks: the hot path for task steps and done-callbacks. */
  _callSoon(
    callback: (...args: never[]) => unknown,
    args: readonly unknown[] | undefined,
    context: Context,
  ): Handle {
    const handle = new Handle(callback, args, this, context);
    this.#ready[this.#readyLength++] = handle;
    if (!this.#inDrive && this.#running) this.#wakeHost();
    return handle;
  }

  /**
   * @internal An event Node delivered (socket data, a connection): schedule its callback
   * like any other and, if the loop is idle between host callbacks, run it now rather
   * than one host turn later. The order is asyncio's: after what is already ready.
   */
  _callSoonFromHost(
    callback: (...args: never[]) => unknown,
    args: readonly unknown[] | undefined,
    context: Context,
  ): void {
    if (this.#closed) return;
    this.#ready[this.#readyLength++] = new Handle(callback, args, this, context);
    if (this.#running && !this.#inDrive) this._drive();
  }

  /** @internal Put `entry` (a Task scheduling its own step) on the ready queue. */
  _schedule(entry: Runnable): void {
    this.#ready[this.#readyLength++] = entry;
    if (!this.#inDrive && this.#running) this.#wakeHost();
  }

  /**
   * @internal Put `entry` in the timer heap (a sleep's Future, its own timer), numbered
   * after every timer scheduled so far.
   *
   * @throws RuntimeError if the loop is closed.
   */
  _addTimer(entry: TimerEntry & { _seq: number }, when: number): void {
    this.#checkClosed();
    entry._seq = this.#timerSeq++;
    this.#timers.push(entry, when);
    if (!this.#inDrive && this.#running) this.#wakeHost();
  }

  /** @internal */
  _timerHandleCancelled(handle: TimerEntry): void {
    if (handle._scheduled) this.#timers.noteCancelled();
  }

  /**
   * @internal An outside operation (a Promise, a socket) began that will schedule a
   * callback when it ends: the virtual clock must not jump, nor report a deadlock, while
   * one is outstanding.
   */
  _hostOpStarted(): void {
    this.#hostOps++;
  }

  /** @internal */
  _hostOpFinished(): void {
    this.#hostOps--;
  }

  /** @internal The number of outstanding outside operations. */
  get _hostOps(): number {
    return this.#hostOps;
  }

  /** @internal Numbers of ready handles, timers and cancelled timers, for tests. */
  _stats(): { ready: number; timers: number; cancelledTimers: number } {
    return {
      ready: this.#readyLength,
      timers: this.#timers.size,
      cancelledTimers: this.#timers.cancelledCount,
    };
  }

  /**
   * @internal Run iterations until the run stops or must wait for the host. Called by
   * `runForever` and then by host callbacks (immediates and timers) only.
   */
  readonly _drive = (): void => {
    if (this.#hostImmediate !== null) {
      clearImmediate(this.#hostImmediate);
      this.#hostImmediate = null;
    }
    if (!this.#running || this.#inDrive) return;
    const previousLoop = _setRunningLoop(this);
    this.#inDrive = true;
    let outcome: unknown = NONE;
    try {
      const started = this._batchStart();
      let iterations = 0;
      for (;;) {
        this.#runOnce();
        if (this.#stopping) break;
        if (this.#readyLength > 0) {
          if ((++iterations & 63) === 0 && this._batchExpired(started)) {
            this.#wakeHost();
            return;
          }
          continue;
        }
        this.#timers.purge();
        if (!this._idle(this.#timers.peekWhen())) return;
      }
    } catch (error) {
      outcome = error;
    } finally {
      this.#inDrive = false;
      _setRunningLoop(previousLoop);
    }
    this.#finishRun(outcome);
  };

  /** @internal A mark `_batchExpired` measures from. */
  _batchStart(): number {
    return 0;
  }

  /** @internal Whether a drive has run long enough that Node should get a turn. */
  _batchExpired(_started: number): boolean {
    return false;
  }

  /**
   * @internal Nothing is ready. Return true to iterate again at once (a timer is due, or
   * the clock jumped), false to return to the host, having arranged to be driven again.
   * `nextWhen` is when the earliest timer is due (Infinity for none). May throw to end the
   * run (a deadlock).
   */
  abstract _idle(nextWhen: number): boolean;

  /** @internal The run ended or the loop closed: release host timers. */
  _closeHost(): void {}

  /** @internal The longest host timer, in milliseconds. */
  static readonly _maxHostDelayMs: number = MAX_HOST_DELAY_MS;

  // ---- private ----------------------------------------------------------------------------

  #runOnce(): void {
    const timers = this.#timers;
    if (timers.size > 0) {
      timers.purge();
      if (timers.size > 0) {
        const now = this.time();
        while (timers.peekWhen() <= now) {
          this.#ready[this.#readyLength++] = timers.pop();
        }
      }
    }
    const ready = this.#ready;
    const count = this.#readyLength;
    if (count === 0) return;
    // Swap in the spare queue: what runs now schedules into it, for the next iteration.
    this.#ready = this.#spare;
    this.#readyLength = 0;
    const debug = this._debug;
    for (let i = 0; i < count; i++) {
      const handle = ready[i] as Runnable;
      ready[i] = undefined;
      if (debug) this.#runTimed(handle);
      else if (!handle._cancelled) handle._run();
    }
    this.#spare = ready;
  }

  #runTimed(handle: Runnable): void {
    if (handle._cancelled) return;
    const started = performance.now();
    handle._run();
    const seconds = (performance.now() - started) / 1000;
    if (seconds >= this.slowCallbackDuration) {
      console.warn(`Executing ${describeHandle(handle)} took ${seconds.toFixed(3)} seconds`);
    }
  }

  #callAt(
    when: number,
    callback: (...args: never[]) => unknown,
    args: readonly unknown[],
    method: string,
  ): TimerHandle {
    this.#checkClosed();
    this.#checkCallback(callback, method);
    const handle = new TimerHandle(
      when,
      this.#timerSeq++,
      callback,
      args.length === 0 ? undefined : args,
      this,
      copyContext(),
    );
    this.#timers.push(handle, when);
    if (!this.#inDrive && this.#running) this.#wakeHost();
    return handle;
  }

  #wakeHost(): void {
    if (this.#hostImmediate === null) this.#hostImmediate = setImmediate(this._drive);
  }

  #finishRun(outcome: unknown): void {
    this.#stopping = false;
    this.#running = false;
    if (this.#hostImmediate !== null) {
      clearImmediate(this.#hostImmediate);
      this.#hostImmediate = null;
    }
    if (this.#keepAlive !== null) {
      clearInterval(this.#keepAlive);
      this.#keepAlive = null;
    }
    this._closeHost();
    const settle = this.#settleRun;
    this.#settleRun = null;
    settle?.(outcome);
  }

  #checkClosed(): void {
    if (this.#closed) throw new RuntimeError("Event loop is closed");
  }

  #checkNotRunning(): void {
    if (this.#running) throw new RuntimeError("This event loop is already running");
    if (_getRunningLoop() !== null) {
      throw new RuntimeError("Cannot run the event loop while another loop is running");
    }
  }

  #checkCallback(callback: unknown, method: string): void {
    if (typeof callback !== "function") {
      throw new TypeError(
        `a callable object was expected by ${method}(), got ${describe(callback)}`,
      );
    }
    if (this._debug && callback.constructor.name === "GeneratorFunction") {
      throw new TypeError(`coroutines cannot be used with ${method}()`);
    }
  }
}

/** A task's step shows as the task, as asyncio's `_format_handle`. */
function describeHandle(entry: Runnable): string {
  if (entry instanceof Handle && !entry._cancelled) {
    return `<Handle ${describeCallback(entry._callback)}>`;
  }
  return entry.toString();
}

function closeCoroutine(coro: unknown): void {
  if (
    typeof coro === "object" &&
    coro !== null &&
    Object.prototype.toString.call(coro) === "[object Generator]"
  ) {
    (coro as Generator).return(undefined);
  }
}

function debugFromEnvironment(): boolean {
  const value = process.env.TSYNCIO_DEBUG;
  return value !== undefined && value !== "" && value !== "0";
}

inspectAsString(BaseEventLoop);
