/**
 * The pool shared by WorkerPoolExecutor (threads) and ProcessPoolExecutor (processes): a
 * FIFO queue of jobs, at most `maxWorkers` workers started as jobs arrive, one job per
 * worker at a time. A subclass only says how to start a worker (`_spawn`).
 *
 * Invariants: a worker is in #idle iff it is alive, not stopping and has no job; a worker
 * keeps the process alive (is ref'd) iff it has a job or is stopping; #live counts the
 * workers that are not stopping.
 */
import { availableParallelism } from "node:os";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import type { Transferable } from "node:worker_threads";
import { CancelledError, RuntimeError } from "../exceptions.ts";
import { describe, describeError, validateInteger, validateOptions } from "../internal/validate.ts";
import {
  BrokenWorkerError,
  SHUTDOWN_MESSAGE,
  describeTarget,
  type AnyModule,
  type ExportArgs,
  type ExportName,
  type ExportResult,
  type JobTarget,
  type ModuleExecutor,
  type ShutdownOptions,
} from "./executor.ts";
import { functionSource } from "./function-source.ts";
import {
  deserializeThrown,
  takeTransferList,
  type JobMessage,
  type ResultMessage,
} from "./wire.ts";

/** Options of `new WorkerPoolExecutor()` and `new ProcessPoolExecutor()`. */
export interface PoolOptions {
  /** The most workers alive at once; default `os.availableParallelism()`. */
  maxWorkers?: number | undefined;
  /** Node options for each worker; default the parent's `process.execArgv`. */
  execArgv?: readonly string[] | undefined;
}

/** What a pool needs of one worker, thread or process. */
export interface PoolWorker {
  post(message: JobMessage, transferList: Transferable[]): void;
  ref(): void;
  unref(): void;
  /** Stop it now, whatever it is doing; `onExit` follows. */
  kill(): void;
  /** Let it end once idle; `onExit` follows. */
  close(): void;
}

/** How a worker reports to its pool. */
export interface PoolWorkerEvents {
  onMessage(message: ResultMessage): void;
  /** An error escaped every job; the worker is about to exit. */
  onFatal(error: unknown): void;
  /** It has exited: `how` reads "exited with code 3", "was killed by SIGKILL". */
  onExit(how: string): void;
}

interface Job {
  readonly id: number;
  readonly target: string;
  readonly isSource: boolean;
  readonly label: string;
  readonly args: unknown[];
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | null;
  slot: Slot | null;
}

interface Slot {
  readonly id: number;
  readonly worker: PoolWorker;
  job: Job | null;
  stopping: boolean;
  fatal: unknown;
}

/** @internal The engine of the two pool executors. */
export abstract class PoolExecutor<M = AnyModule> implements ModuleExecutor<M> {
  /** @internal Type only. */
  declare readonly _moduleType?: M;
  readonly #kind: string;
  readonly #moduleUrl: string | null;
  readonly #maxWorkers: number;
  readonly #execArgv: readonly string[] | undefined;
  readonly #queue: Job[] = [];
  readonly #workers = new Set<Slot>();
  readonly #idle: Slot[] = [];
  #live = 0;
  #nextJob = 1;
  #nextWorker = 1;
  #shutdown = false;
  #drained: (() => void)[] = [];

  constructor(kind: string, module: string | URL | null | undefined, options?: PoolOptions) {
    this.#kind = kind;
    if (module === null || module === undefined) {
      this.#moduleUrl = null;
    } else if (module instanceof URL || typeof module === "string") {
      this.#moduleUrl = moduleHref(module);
    } else {
      throw new TypeError(`module must be a URL or a string, got ${describe(module)}`);
    }
    validateOptions(options, "options");
    const maxWorkers = options?.maxWorkers ?? availableParallelism();
    validateInteger(maxWorkers, "maxWorkers", 1);
    this.#maxWorkers = maxWorkers;
    const execArgv = options?.execArgv;
    if (execArgv !== undefined && !Array.isArray(execArgv)) {
      throw new TypeError(`execArgv must be an array of strings, got ${describe(execArgv)}`);
    }
    this.#execArgv = execArgv;
  }

  toString(): string {
    const module =
      this.#moduleUrl === null ? "" : ` module=${this.#moduleUrl.split("/").pop() ?? ""}`;
    const busy = [...this.#workers].filter((slot) => slot.job !== null).length;
    const state = this.#shutdown ? " shutdown" : "";
    return `<${this.#kind}${module} workers=${this.#live}/${this.#maxWorkers} busy=${busy} queued=${this.#queue.length}${state}>`;
  }

  /** The most workers alive at once. */
  get maxWorkers(): number {
    return this.#maxWorkers;
  }

  /** The URL of the module whose exports jobs call by name, or null. */
  get moduleUrl(): string | null {
    return this.#moduleUrl;
  }

  /**
   * Queue `target(...args)`: an export name of the module, or a function, which is sent as
   * source code (so it can use only its parameters and globals). Jobs start in the order
   * they were submitted. Aborting `signal` drops a queued job; a running job's worker is
   * terminated (the only way to stop JavaScript that is running) and replaced. Either way
   * the Promise rejects with the signal's reason.
   *
   * @throws RuntimeError after `shutdown()`; TypeError for a target that cannot be sent.
   */
  submit(target: JobTarget, args: readonly unknown[] = [], signal?: AbortSignal): Promise<unknown> {
    if (this.#shutdown) throw new RuntimeError(SHUTDOWN_MESSAGE);
    let isSource: boolean;
    let text: string;
    if (typeof target === "string") {
      if (this.#moduleUrl === null) {
        throw new TypeError(
          `${this.#kind} has no module to call '${target}' in: pass a function, or create it with a module URL`,
        );
      }
      isSource = false;
      text = target;
    } else if (typeof target === "function") {
      isSource = true;
      text = functionSource(target, "runInExecutor");
    } else {
      throw new TypeError(
        `a callable object was expected by runInExecutor(), got ${describe(target)}`,
      );
    }
    if (!Array.isArray(args)) throw new TypeError(`args must be an array, got ${describe(args)}`);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    return new Promise<unknown>((resolve, reject) => {
      const job: Job = {
        id: this.#nextJob++,
        target: text,
        isSource,
        label: describeTarget(target),
        args: args.slice(),
        resolve,
        reject,
        signal,
        onAbort: null,
        slot: null,
      };
      if (signal !== undefined) {
        job.onAbort = () => {
          this.#abort(job);
        };
        signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.#queue.push(job);
      this.#dispatch();
    });
  }

  /**
   * `submit(name, args)`, typed by the module: `pool.call("countPrimes", 0, 1000)`.
   * For plain async code; a coroutine uses `loop.runInExecutor(pool, name, ...args)`,
   * which also cancels the job when the waiting task is cancelled.
   */
  call<K extends ExportName<M>>(name: K, ...args: ExportArgs<M, K>): Promise<ExportResult<M, K>> {
    return this.submit(name, args) as Promise<ExportResult<M, K>>;
  }

  /**
   * Stop accepting jobs; let queued and running jobs finish (or, with `cancelFutures`,
   * fail the queued ones with CancelledError), then end every worker. With `wait` (the
   * default) the Promise settles once every worker has exited; without, at once, and the
   * workers end when their jobs do. Idle workers never keep the process alive, before or
   * after; a running job does, until it ends. Calling it again is harmless.
   */
  shutdown(wait = true, options?: ShutdownOptions): Promise<void> {
    validateOptions(options, "options");
    this.#shutdown = true;
    if (options?.cancelFutures === true) {
      for (const job of this.#queue.splice(0)) {
        this.#settle(job, false, new CancelledError(`${this.#kind} was shut down`));
      }
    }
    this.#closeIfDrained();
    if (!wait || this.#workers.size === 0) return Promise.resolve();
    return new Promise<void>((resolve) => this.#drained.push(resolve));
  }

  /** @internal Start a worker for this pool. */
  abstract _spawn(
    moduleUrl: string | null,
    execArgv: readonly string[] | undefined,
    id: number,
    events: PoolWorkerEvents,
  ): PoolWorker;

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#idle.pop();
      if (slot === undefined) {
        if (this.#live >= this.#maxWorkers) return;
        slot = this.#start();
      }
      const job = this.#queue.shift() as Job;
      this.#assign(slot, job);
    }
    this.#closeIfDrained();
  }

  #assign(slot: Slot, job: Job): void {
    job.slot = slot;
    slot.job = job;
    slot.worker.ref();
    const message: JobMessage = {
      id: job.id,
      target: job.target,
      isSource: job.isSource,
      label: job.label,
      args: job.args,
    };
    try {
      slot.worker.post(message, takeTransferList(job.args));
    } catch (error) {
      // Structured clone refused an argument (a function, a detached buffer): the worker
      // never saw the job and is still good.
      const reason = error instanceof Error ? error.message : String(error);
      this.#release(slot);
      this.#settle(
        job,
        false,
        new TypeError(`the arguments of ${job.label} cannot be sent to a worker: ${reason}`, {
          cause: error,
        }),
      );
    }
  }

  #start(): Slot {
    const id = this.#nextWorker++;
    const events: PoolWorkerEvents = {
      onMessage: (message) => {
        this.#onResult(slot, message);
      },
      onFatal: (error) => {
        slot.fatal ??= error;
      },
      onExit: (how) => {
        this.#onExit(slot, how);
      },
    };
    const slot: Slot = {
      id,
      worker: this._spawn(this.#moduleUrl, this.#execArgv, id, events),
      job: null,
      stopping: false,
      fatal: undefined,
    };
    this.#workers.add(slot);
    this.#live++;
    return slot;
  }

  #onResult(slot: Slot, message: ResultMessage): void {
    const job = slot.job;
    if (job === null || job.id !== message.id) return;
    this.#release(slot);
    if (message.ok) this.#settle(job, true, message.value);
    else this.#settle(job, false, deserializeThrown(message.error));
    this.#dispatch();
  }

  /** The slot's job is over: back to the idle list, not keeping the process alive. */
  #release(slot: Slot): void {
    if (slot.job !== null) slot.job.slot = null;
    slot.job = null;
    slot.worker.unref();
    if (!slot.stopping) this.#idle.push(slot);
  }

  #onExit(slot: Slot, how: string): void {
    this.#workers.delete(slot);
    const index = this.#idle.indexOf(slot);
    if (index !== -1) this.#idle.splice(index, 1);
    if (!slot.stopping) this.#live--;
    slot.stopping = true;
    const job = slot.job;
    if (job !== null) {
      slot.job = null;
      job.slot = null;
      const fatal = slot.fatal;
      const message =
        fatal === undefined
          ? `the worker running ${job.label} ${how}`
          : `the worker running ${job.label} crashed: ${fatal instanceof Error ? describeError(fatal) : describe(fatal)}`;
      this.#settle(
        job,
        false,
        new BrokenWorkerError(message, fatal === undefined ? undefined : { cause: fatal }),
      );
    }
    // A replacement starts if jobs are waiting.
    this.#dispatch();
    if (this.#workers.size === 0) {
      for (const resolve of this.#drained.splice(0)) resolve();
    }
  }

  #abort(job: Job): void {
    const reason = job.signal?.reason as unknown;
    const slot = job.slot;
    if (slot === null) {
      const index = this.#queue.indexOf(job);
      if (index === -1) return;
      this.#queue.splice(index, 1);
      this.#settle(job, false, reason);
      this.#closeIfDrained();
      return;
    }
    // Running: JavaScript cannot be interrupted, but a worker can be ended.
    slot.job = null;
    job.slot = null;
    this.#stop(slot, true);
    this.#settle(job, false, reason);
    this.#dispatch();
  }

  #stop(slot: Slot, kill: boolean): void {
    if (slot.stopping) return;
    slot.stopping = true;
    this.#live--;
    const index = this.#idle.indexOf(slot);
    if (index !== -1) this.#idle.splice(index, 1);
    // Until it has exited, so that `await pool.shutdown()` sees it go.
    slot.worker.ref();
    if (kill) slot.worker.kill();
    else slot.worker.close();
  }

  #settle(job: Job, ok: boolean, value: unknown): void {
    if (job.onAbort !== null) {
      job.signal?.removeEventListener("abort", job.onAbort);
      job.onAbort = null;
    }
    if (ok) job.resolve(value);
    else job.reject(value);
  }

  /** After shutdown, once nothing is queued: end the idle workers (busy ones end later). */
  #closeIfDrained(): void {
    if (!this.#shutdown || this.#queue.length > 0) return;
    for (const slot of [...this.#idle]) this.#stop(slot, false);
  }
}

function moduleHref(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (isAbsolute(module)) return pathToFileURL(module).href;
  if (/^[a-z][a-z0-9+.-]*:/i.test(module)) return module;
  throw new TypeError(
    `module must be a URL (new URL("./jobs.js", import.meta.url)), a URL string or an absolute path, got ${describe(module)}`,
  );
}
