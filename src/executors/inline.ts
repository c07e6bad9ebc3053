/**
 * InlineExecutor: runs each job at once, on the loop's own thread. For tests (it needs no
 * workers and keeps virtual time deterministic) and for code that must be able to run
 * without workers; never for real CPU-bound work, which would block the loop.
 */
import { RuntimeError } from "../exceptions.ts";
import { describe } from "../internal/validate.ts";
import {
  SHUTDOWN_MESSAGE,
  type AnyModule,
  type ExportArgs,
  type ExportName,
  type ExportResult,
  type JobTarget,
  type ModuleExecutor,
} from "./executor.ts";
import { inspectAsString } from "../internal/inspect.ts";

/**
 * An executor that calls `target(...args)` synchronously inside `submit`, on the calling
 * thread, with the real arguments (no cloning). Given a module namespace object
 * (`await import("./jobs.js")`), it also resolves export names, so it stands in for a
 * `WorkerPoolExecutor` on the same module. Jobs are never queued, so cancelling one does
 * nothing (an async job's Promise settles as it would have); a signal already aborted
 * skips the job.
 */
export class InlineExecutor<M = AnyModule> implements ModuleExecutor<M> {
  /** @internal Type only. */
  declare readonly _moduleType?: M;
  readonly #module: Readonly<Record<string, unknown>> | null;
  #shutdown = false;

  constructor(module?: object | null) {
    if (module !== undefined && module !== null && typeof module !== "object") {
      throw new TypeError(`module must be a module namespace object, got ${describe(module)}`);
    }
    this.#module = (module ?? null) as Readonly<Record<string, unknown>> | null;
  }

  toString(): string {
    return `<InlineExecutor${this.#shutdown ? " shutdown" : ""}>`;
  }

  /**
   * Run `target(...args)` now; the Promise settles with its outcome (an async function's
   * when it settles).
   *
   * @throws RuntimeError after `shutdown()`; TypeError for an unknown export name, a
   *   generator function or a non-function.
   */
  submit(target: JobTarget, args: readonly unknown[] = [], signal?: AbortSignal): Promise<unknown> {
    if (this.#shutdown) throw new RuntimeError(SHUTDOWN_MESSAGE);
    const fn = this.#resolve(target);
    if (signal?.aborted === true) return Promise.reject(signal.reason as Error);
    try {
      return Promise.resolve(fn(...args));
    } catch (error) {
      // Whatever the job threw is the rejection, as a worker's job would give it.
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
      return Promise.reject(error);
    }
  }

  /** `submit(name, args)`, typed by the module. */
  call<K extends ExportName<M>>(name: K, ...args: ExportArgs<M, K>): Promise<ExportResult<M, K>> {
    return this.submit(name, args) as Promise<ExportResult<M, K>>;
  }

  /** Accept no more jobs. There is nothing to wait for. */
  shutdown(_wait = true): Promise<void> {
    this.#shutdown = true;
    return Promise.resolve();
  }

  #resolve(target: JobTarget): (...args: unknown[]) => unknown {
    if (typeof target === "string") {
      const fn = this.#module?.[target];
      if (typeof fn !== "function") {
        throw new TypeError(
          this.#module === null
            ? `InlineExecutor has no module to call '${target}' in: pass a function, or create it with a module`
            : `the module has no exported function named '${target}' (got ${typeof fn})`,
        );
      }
      return fn as (...args: unknown[]) => unknown;
    }
    if (typeof target !== "function") {
      throw new TypeError(
        `a callable object was expected by runInExecutor(), got ${describe(target)}`,
      );
    }
    const kind = (target as { constructor?: { name?: unknown } }).constructor?.name;
    if (kind === "GeneratorFunction" || kind === "AsyncGeneratorFunction") {
      throw new TypeError("coroutines cannot be used with runInExecutor()");
    }
    return target as (...args: unknown[]) => unknown;
  }
}

inspectAsString(InlineExecutor);
