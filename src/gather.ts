/**
 * gather(): run awaitables concurrently and collect their results in order, as asyncio's
 * `tasks.gather`.
 */
import type { Awaitable } from "./coroutines.ts";
import { getRunningLoop } from "./events.ts";
import { CancelledError } from "./exceptions.ts";
import { Future } from "./futures.ts";
import { validateOptions } from "./internal/validate.ts";
import type { BaseEventLoop } from "./loop/base-event-loop.ts";
import type { WakeupTarget } from "./loop/handles.ts";
import { ensureFuture, scheduleChildDone } from "./tasks.ts";

/** The result type of one awaitable: what `yield*` on it returns. */
export type AwaitedResult<A> = A extends Awaitable<infer R> ? R : never;

/** Options of the list form of `gather`. */
export interface GatherOptions {
  /**
   * Collect errors (and `CancelledError`s of cancelled children) into the result list
   * instead of failing at the first one.
   */
  returnExceptions?: boolean | undefined;
}

/**
 * Run `aws` concurrently (coroutines are wrapped in Tasks) and return a Future of their
 * results, in argument order. `yield* gather(a(), b())` has the tuple type of the results.
 *
 * - The first error (or a child's cancellation, as a CancelledError) fails the gather at
 *   once; the other children keep running.
 * - With `returnExceptions` (list form: `gather(list, { returnExceptions: true })`), errors
 *   and CancelledErrors take their place in the result list.
 * - Cancelling the gather cancels every unfinished child; the gather then fails with
 *   CancelledError, even with `returnExceptions`.
 * - An awaitable passed twice runs once and appears twice in the results.
 *
 * @throws RangeError for Futures of different loops.
 */
export function gather<T>(
  aws: readonly Awaitable<T>[] | ReadonlySet<Awaitable<T>>,
  options: GatherOptions & { returnExceptions: true },
): Future<(T | Error)[]>;
export function gather<T>(
  aws: readonly Awaitable<T>[] | ReadonlySet<Awaitable<T>>,
  options?: GatherOptions,
): Future<T[]>;
export function gather<const A extends readonly Awaitable<unknown>[]>(
  ...aws: A
): Future<{ -readonly [K in keyof A]: AwaitedResult<A[K]> }>;
export function gather(...args: unknown[]): Future<unknown[]> {
  let aws: unknown[];
  let returnExceptions = false;
  if (args.length >= 1 && args.length <= 2 && isListForm(args[0])) {
    aws = Array.isArray(args[0]) ? (args[0] as unknown[]) : [...(args[0] as Iterable<unknown>)];
    validateOptions(args[1], "options");
    const options = args[1] as GatherOptions | undefined;
    returnExceptions = options?.returnExceptions === true;
  } else {
    aws = args;
  }
  if (aws.length === 0) {
    const outer = getRunningLoop().createFuture<unknown[]>();
    outer.setResult([]);
    return outer;
  }

  const children: Future<unknown>[] = [];
  // Duplicates run once: short lists look them up by scanning, long ones through a Map.
  const byArg = aws.length > 8 ? new Map<unknown, Future<unknown>>() : null;
  let alreadyDone: Future<unknown>[] | null = null;
  let outer: GatheringFuture | null = null;
  let loop: BaseEventLoop | undefined;
  try {
    for (let i = 0; i < aws.length; i++) {
      const aw = aws[i];
      let child: Future<unknown> | undefined;
      if (byArg !== null) {
        child = byArg.get(aw);
      } else {
        const index = aws.indexOf(aw);
        if (index < i) child = children[index];
      }
      if (child === undefined) {
        child = ensureFuture(aw as Awaitable<unknown>, loop);
        loop ??= child.getLoop();
        outer ??= new GatheringFuture(children, loop, returnExceptions);
        outer._unique++;
        if (child.done()) (alreadyDone ??= []).push(child);
        else child._addCallback(outer, null);
        if (byArg !== null) byArg.set(aw, child);
      }
      children.push(child);
    }
  } catch (error) {
    // A later argument failed to wrap: gather throws, and the outcomes of the children
    // started so far go nowhere.
    outer?._abandon();
    throw error;
  }
  const gathering = outer as GatheringFuture;
  // Children that were done already report now: if all of them are, the gather completes
  // before it is returned.
  if (alreadyDone !== null) for (const child of alreadyDone) gathering._onChildDone(child);
  return gathering;
}

/**
 * The Future `gather` returns: cancelling it cancels the children. It is also what each
 * child's done-callback reports to (asyncio's `_done_callback`), as a WakeupTarget: no
 * closure, no callback list per gather.
 */
export class GatheringFuture extends Future<unknown[]> implements WakeupTarget {
  readonly #children: readonly Future<unknown>[];
  readonly #returnExceptions: boolean;
  /** @internal How many distinct children there are. */
  _unique = 0;
  #finished = 0;
  /** gather threw before returning this Future: children report to nobody. */
  #abandoned = false;
  /** @internal */
  _cancelRequested = false;

  constructor(
    children: readonly Future<unknown>[],
    loop: BaseEventLoop,
    returnExceptions: boolean,
  ) {
    super({ loop });
    this.#children = children;
    this.#returnExceptions = returnExceptions;
  }

  /** @internal The awaitables it gathers, for the call graph ("the gather awaits them"). */
  get _children(): readonly Future<unknown>[] {
    return this.#children;
  }

  /**
   * Cancel every unfinished child; returns whether any accepted. The gather then fails
   * with CancelledError once the children are done.
   */
  override cancel(msg?: string): boolean {
    if (this.done()) return false;
    let accepted = false;
    for (const child of this.#children) {
      if (child.cancel(msg)) accepted = true;
    }
    if (accepted) this._cancelRequested = true;
    return accepted;
  }

  /** @internal */
  _abandon(): void {
    this.#abandoned = true;
  }

  /** @internal A child is done: its done-callback runs on the next iteration, as asyncio's. */
  _wakeupFrom(child: unknown): void {
    scheduleChildDone(this, child as Future<unknown>);
  }

  /** @internal asyncio's `gather._done_callback`, for one child. */
  _onChildDone(child: Future<unknown>): void {
    this.#finished++;
    if (this.#abandoned || this.done()) {
      // Mark the child's error retrieved: the gather already has its outcome.
      if (!child.cancelled()) child.exception();
      return;
    }
    if (!this.#returnExceptions) {
      if (child.cancelled()) {
        this.setException(child._makeCancelledError());
        return;
      }
      const error = child.exception();
      if (error !== null) {
        this.setException(error);
        return;
      }
    }
    if (this.#finished === this._unique) {
      const results = this.#children.map((each) => {
        if (each.cancelled()) return new CancelledError(each._cancelMessage ?? "");
        const error = each.exception();
        return error === null ? each.result() : error;
      });
      if (this._cancelRequested) {
        // The gather was cancelled: propagate it whatever returnExceptions says (bpo-32684).
        this.setException(child._makeCancelledError());
      } else {
        this.setResult(results);
      }
    }
  }
}

/** The list form takes an array or a Set; anything else is one awaitable of the spread form. */
function isListForm(value: unknown): boolean {
  return Array.isArray(value) || value instanceof Set;
}
