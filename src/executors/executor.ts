/**
 * The Executor contract: what `loop.runInExecutor` hands work to, as concurrent.futures'
 * `Executor` is for asyncio. Node has no threads that share memory, so a job is either a
 * function (run where the executor runs it: inline, or shipped as source to a worker) or
 * the name of an export of the executor's module.
 */
import { RuntimeError } from "../exceptions.ts";

/** What a job runs: a function, or the name of an export of the executor's module. */
export type JobTarget = ((...args: never[]) => unknown) | string;

/** Options of `Executor.shutdown`. */
export interface ShutdownOptions {
  /** Fail the jobs that have not started with a CancelledError; default false. */
  cancelFutures?: boolean | undefined;
}

/**
 * Something that runs jobs away from the event loop: `WorkerPoolExecutor`,
 * `ProcessPoolExecutor`, `InlineExecutor`, or your own.
 *
 * `submit` returns a Promise of the job's result. Aborting `signal` cancels the job: one
 * that has not started is dropped and its Promise rejects with the signal's reason; what
 * happens to one that has started is the executor's to document. After `shutdown()`,
 * `submit` throws `RuntimeError`.
 */
export interface Executor {
  /** Start (or queue) `target(...args)`; the Promise settles with its outcome. */
  submit(target: JobTarget, args: readonly unknown[], signal?: AbortSignal): Promise<unknown>;
  /**
   * Accept no more jobs and release the executor's resources once its jobs are done.
   * With `wait` (the default) the Promise settles when that has happened; without, at once.
   */
  shutdown(wait?: boolean, options?: ShutdownOptions): Promise<void>;
}

/**
 * The worker (thread or process) running a job died before answering: it called
 * `process.exit()`, an error escaped outside the job, or it ran out of memory. The job
 * fails with this error (the worker's own error, if it had one, is the `cause`) and the
 * pool replaces the worker; the other jobs are not affected. concurrent.futures' closest
 * counterpart is `BrokenProcessPool`, which breaks the whole pool instead.
 */
export class BrokenWorkerError extends RuntimeError {
  override name = "BrokenWorkerError";
}

/** Whether `value` looks like an Executor (has `submit` and `shutdown` methods). */
export function isExecutor(value: unknown): value is Executor {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Partial<Executor>).submit === "function" &&
    typeof (value as Partial<Executor>).shutdown === "function"
  );
}

/** The message of submitting after shutdown, concurrent.futures' words. */
export const SHUTDOWN_MESSAGE = "cannot schedule new futures after shutdown";

/** How a job is named in messages: `countPrimes()`, `<function f>()`. */
export function describeTarget(target: JobTarget): string {
  if (typeof target === "string") return `${target}()`;
  return target.name === "" ? "<anonymous function>()" : `${target.name}()`;
}

/** A callable export of a module type `M`. */
type ExportedFunction = (...args: never[]) => unknown;

/** The names of the exports of module type `M` that are functions. */
export type ExportName<M> = {
  [K in keyof M]: M[K] extends ExportedFunction ? K : never;
}[keyof M] &
  string;

/** The parameters of `M[K]`. */
export type ExportArgs<M, K extends keyof M> = M[K] extends (...args: infer A) => unknown
  ? A
  : never;

/** What awaiting `M[K](...)` gives. */
export type ExportResult<M, K extends keyof M> = M[K] extends (...args: never[]) => infer R
  ? Awaited<R>
  : never;

/** The module type of an executor created without one: any name, any arguments. */
export type AnyModule = Record<string, (...args: unknown[]) => unknown>;

/** An executor bound to a module of type `M`, whose exports jobs call by name. */
export interface ModuleExecutor<M> extends Executor {
  /** @internal Never set: carries `M` so that `runInExecutor` can infer it. */
  readonly _moduleType?: M;
  call<K extends ExportName<M>>(name: K, ...args: ExportArgs<M, K>): Promise<ExportResult<M, K>>;
}
