/**
 * shield(): protect an awaitable from cancellation, as asyncio's `tasks.shield`.
 */
import type { Awaitable } from "./coroutines.ts";
import type { Future } from "./futures.ts";
import { ensureFuture } from "./tasks.ts";

/** Each pending shield's inner Future, for the call graph ("the shield awaits it"). */
const shielded = new WeakMap<Future<unknown>, Future<unknown>>();

/** @internal The Future that `outer`, a shield, mirrors; undefined for any other Future. */
export function shieldedBy(outer: Future<unknown>): Future<unknown> | undefined {
  return shielded.get(outer);
}

/**
 * A Future that mirrors `aw` (a coroutine is wrapped in a Task), except that cancelling
 * it leaves `aw` running. The task waiting on the shield is still cancelled: only the inner
 * work goes on. If `aw` itself is cancelled, the shield is cancelled too. An `aw` that is
 * already done is returned as is.
 *
 * Keep a reference to the inner Task if it must finish: a shield that was cancelled no
 * longer reports its outcome.
 */
export function shield<T>(aw: Future<T> | Awaitable<T>): Future<T> {
  const inner = ensureFuture(aw);
  if (inner.done()) return inner;
  const loop = inner.getLoop();
  const outer = loop.createFuture<T>();

  const onInnerDone = (): void => {
    if (outer.cancelled()) {
      // Nobody waits for the result any more: mark an error retrieved.
      if (!inner.cancelled()) inner.exception();
      return;
    }
    if (inner.cancelled()) {
      outer.cancel();
      return;
    }
    const error = inner.exception();
    if (error !== null) outer.setException(error);
    else outer.setResult(inner.result());
  };
  const onOuterDone = (): void => {
    if (!inner.done()) inner.removeDoneCallback(onInnerDone);
  };
  inner.addDoneCallback(onInnerDone);
  outer.addDoneCallback(onOuterDone);
  shielded.set(outer, inner);
  return outer;
}
