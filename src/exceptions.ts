/**
 * Every error class tsyncio throws. Mirrors asyncio.exceptions, plus the Python builtins
 * asyncio relies on (RuntimeError, ExceptionGroup, LookupError) that JavaScript lacks.
 */
import { isIterable, validateString } from "./internal/validate.ts";

/**
 * The Future or Task was cancelled.
 *
 * Catch it only to clean up, then rethrow: a task that swallows its own cancellation keeps
 * running, and `taskGroup()` and `timeout()` can no longer stop it. JavaScript has no
 * `BaseException`, so a bare `catch (e)` catches this too; see `rethrowIfCancelled`.
 */
export class CancelledError extends Error {
  override name = "CancelledError";
}

/** The operation exceeded the given deadline. */
export class TimeoutError extends Error {
  override name = "TimeoutError";
}

/**
 * A misuse that asyncio reports with Python's `RuntimeError`: a closed loop, a loop
 * already running, a bad yield. Messages keep asyncio's words so both can be searched.
 */
export class RuntimeError extends Error {
  override name = "RuntimeError";
}

/** The operation is not allowed in this state (a Future's result read too early, set twice). */
export class InvalidStateError extends Error {
  override name = "InvalidStateError";
}

/** A key (a ContextVar with no value and no default) was not found. */
export class LookupError extends Error {
  override name = "LookupError";
}

/** Sendfile syscall is not available for the given socket or file type. */
export class SendfileNotAvailableError extends RuntimeError {
  override name = "SendfileNotAvailableError";
}

/**
 * The process is gone: a signal sent through a subprocess transport (or `Process`) after
 * the child exited and its pipes closed. Python's builtin of the same name; `code` is
 * Node's `"ESRCH"`.
 */
export class ProcessLookupError extends Error {
  override name = "ProcessLookupError";
  readonly code: string = "ESRCH";
}

/**
 * The program was interrupted with Ctrl-C (SIGINT): what `run()` and `Runner.run()` throw
 * when the main task, cancelled by the first SIGINT, ends cancelled. As in Python, it is
 * not a CancelledError: the program as a whole is being stopped.
 */
export class KeyboardInterrupt extends Error {
  override name = "KeyboardInterrupt";
}

/** The stream ended before the expected number of bytes (or the separator) arrived. */
export class IncompleteReadError extends Error {
  override name = "IncompleteReadError";
  /** The bytes read before the end of the stream. */
  readonly partial: Uint8Array;
  /** The total number of bytes expected, or `null` when reading up to a separator. */
  readonly expected: number | null;

  constructor(partial: Uint8Array, expected: number | null) {
    super(
      `${partial.length} bytes read on a total of ${expected === null ? "undefined" : String(expected)} expected bytes`,
    );
    this.partial = partial;
    this.expected = expected;
  }
}

/** The buffer limit was reached while looking for a separator. */
export class LimitOverrunError extends Error {
  override name = "LimitOverrunError";
  /** The number of bytes to consume before the separator could possibly be found. */
  readonly consumed: number;

  constructor(message: string, consumed: number) {
    super(message);
    this.consumed = consumed;
  }
}

/** `getNowait()` was called on an empty queue. */
export class QueueEmpty extends Error {
  override name = "QueueEmpty";
}

/** `putNowait()` was called on a full queue. */
export class QueueFull extends Error {
  override name = "QueueFull";
}

/** The queue was shut down: no more `put`, and `get` once it is empty. */
export class QueueShutDown extends Error {
  override name = "QueueShutDown";
}

/** The Barrier was broken (reset, or a waiter was cancelled) while tasks waited on it. */
export class BrokenBarrierError extends RuntimeError {
  override name = "BrokenBarrierError";
}

/**
 * A virtual-clock loop found that its run can never finish: nothing is ready, no timer is
 * pending and no I/O is outstanding. `tasks` holds the tasks still waiting.
 */
export class DeadlockError extends RuntimeError {
  override name = "DeadlockError";
  /** The tasks that were still pending, each blocked forever. */
  readonly tasks: readonly unknown[];

  constructor(message: string, tasks: readonly unknown[]) {
    super(message);
    this.tasks = tasks;
  }
}

/**
 * Rethrow `error` if it is a CancelledError; do nothing otherwise. Put it first in a
 * `catch` that handles errors, so the block never swallows a cancellation:
 *
 * ```ts
 * try {
 *   yield* work();
 * } catch (error) {
 *   rethrowIfCancelled(error);
 *   log(error);
 * }
 * ```
 */
export function rethrowIfCancelled(error: unknown): void {
  if (error instanceof CancelledError) throw error;
}

/** What `split` and `subgroup` accept: an error class, a list of them, or a predicate. */
export type ExceptionMatcher =
  | (abstract new (...args: never[]) => unknown)
  | readonly (abstract new (...args: never[]) => unknown)[]
  | ((error: unknown) => boolean);

/**
 * Several errors raised together, as Python's `ExceptionGroup`: a `TaskGroup` reports every
 * child failure at once. Extends `AggregateError`, so `errors` and `exceptions` are the same
 * list. `split` and `subgroup` keep the nesting of groups inside groups.
 */
export class ExceptionGroup extends AggregateError {
  override name = "ExceptionGroup";
  /** The errors, in the order they were raised. */
  readonly exceptions: readonly unknown[];

  constructor(message: string, exceptions: Iterable<unknown>) {
    validateString(message, "ExceptionGroup message");
    if (!isIterable(exceptions)) {
      throw new TypeError("second argument (exceptions) must be a sequence");
    }
    const list = Object.freeze([...exceptions]);
    if (list.length === 0) {
      throw new RangeError("second argument (exceptions) must be a non-empty sequence");
    }
    super(list, message);
    this.exceptions = list;
  }

  /** Python's `str(eg)`: the message and the count, e.g. `boom (2 sub-exceptions)`. */
  override toString(): string {
    const count = this.exceptions.length;
    return `${this.name}: ${this.message} (${count} sub-exception${count === 1 ? "" : "s"})`;
  }

  /**
   * A group like this one (same message, `cause` and class where possible) holding
   * `exceptions` instead. `split` and `subgroup` build their halves with it.
   */
  derive(exceptions: Iterable<unknown>): ExceptionGroup {
    const group = new ExceptionGroup(this.message, exceptions);
    if (this.cause !== undefined) group.cause = this.cause;
    return group;
  }

  /**
   * Split into `[match, rest]`: the errors the matcher accepts and the others, each as a
   * group with the same nesting, or `null` when empty. A group that matches as a whole
   * goes to `match` entire.
   */
  split(matcher: ExceptionMatcher): [ExceptionGroup | null, ExceptionGroup | null] {
    const test = toPredicate(matcher);
    if (test(this)) return [this, null];
    const matched: unknown[] = [];
    const rest: unknown[] = [];
    for (const error of this.exceptions) {
      if (error instanceof ExceptionGroup) {
        const [m, r] = error.split(test);
        if (m !== null) matched.push(m);
        if (r !== null) rest.push(r);
      } else if (test(error)) {
        matched.push(error);
      } else {
        rest.push(error);
      }
    }
    return [
      matched.length === 0 ? null : this.derive(matched),
      rest.length === 0 ? null : this.derive(rest),
    ];
  }

  /** The errors the matcher accepts, as a group with the same nesting, or `null`. */
  subgroup(matcher: ExceptionMatcher): ExceptionGroup | null {
    return this.split(matcher)[0];
  }
}

function toPredicate(matcher: ExceptionMatcher): (error: unknown) => boolean {
  if (Array.isArray(matcher)) {
    const classes = matcher as readonly (abstract new (...args: never[]) => unknown)[];
    return (error) => classes.some((cls) => error instanceof cls);
  }
  if (typeof matcher === "function") {
    // A class (has a prototype chain rooted in Error) matches by instanceof; any other
    // function is a predicate.
    const proto: unknown = (matcher as { prototype?: unknown }).prototype;
    if (proto === Error.prototype || proto instanceof Error) {
      const cls = matcher as abstract new (...args: never[]) => unknown;
      return (error) => error instanceof cls;
    }
    return matcher as (error: unknown) => boolean;
  }
  throw new TypeError(
    "expected an error class, a list of error classes or a predicate function as the matcher",
  );
}

/** A clause of `exceptStar`: the errors it matches, and what to do with them. */
export type ExceptStarClause = readonly [
  matcher: ExceptionMatcher,
  handler: (group: ExceptionGroup) => void,
];

/**
 * Python's `except*` for TypeScript: give each clause's handler the part of `error` it
 * matches (always as an ExceptionGroup, as `except*` does), in order, and rethrow what no
 * clause handled.
 *
 * - An error that is not a group is matched as a group of one; if no clause matches it,
 *   it is rethrown as it is.
 * - Errors thrown by handlers are rethrown together with the unhandled rest, as
 *   `ExceptionGroup("", [...])`.
 *
 * ```ts
 * try {
 *   yield* taskGroup(function* (tg) { ... });
 * } catch (error) {
 *   exceptStar(error, [
 *     [ConnectionError, (group) => log("lost peers", group.exceptions.length)],
 *     [TimeoutError, () => log("too slow")],
 *   ]);
 * }
 * ```
 */
export function exceptStar(error: unknown, clauses: readonly ExceptStarClause[]): void {
  let rest: ExceptionGroup | null =
    error instanceof ExceptionGroup ? error : new ExceptionGroup("", [error]);
  const raised: unknown[] = [];
  let matchedAny = false;
  for (const [matcher, handler] of clauses) {
    if (rest === null) break;
    const [match, remaining]: [ExceptionGroup | null, ExceptionGroup | null] = rest.split(matcher);
    rest = remaining;
    if (match === null) continue;
    matchedAny = true;
    try {
      handler(match);
    } catch (thrown) {
      // JavaScript cannot tell Python's bare `raise` from `raise eg`: whatever a handler
      // throws counts as raised by it, as `raise eg` does.
      raised.push(thrown);
    }
  }
  if (raised.length === 0) {
    // Nothing matched: the original error, naked or not, goes on unchanged.
    if (rest !== null) throw matchedAny ? rest : error;
    return;
  }
  // One error raised and nothing left over: it propagates as it is (CPython 3.13).
  if (rest === null && raised.length === 1) throw raised[0];
  throw new ExceptionGroup("", rest === null ? raised : [...raised, rest]);
}
