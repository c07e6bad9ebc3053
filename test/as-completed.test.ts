// Tests for src/as-completed.ts. Ported from CPython's test_tasks.py (test_as_completed*);
// every ordering and time was checked against CPython 3.13. asyncio's plain iteration is
// `for (const next of asCompleted(aws))`; its `async for` (which gives the finished Futures)
// is `for (const next of asCompleted(aws).futures())`.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  Future,
  RuntimeError,
  Task,
  TimeoutError,
  asCompleted,
  createTask,
  ensureFuture,
  getRunningLoop,
  sleep,
  wait,
  type Coro,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";
import { now } from "./helpers/coro.ts";
import { ZeroDivisionError, caught } from "./helpers/errors.ts";

/** A coroutine that sleeps `delay` seconds and returns `value`. */
function* sleeper<T>(delay: number, value: T): Coro<T> {
  yield* sleep(delay);
  return value;
}

/** asyncio's plain iteration: await each awaitable, collect the results. */
function* tryIterator<T>(aws: Iterable<Future<T> | Coro<T>>): Coro<T[]> {
  const values: T[] = [];
  for (const next of asCompleted(aws)) values.push(yield* next);
  return values;
}

/** asyncio's `async for`: await each awaitable for a Future, collect its result. */
function* tryFutureIterator<T>(aws: Iterable<Future<T> | Coro<T>>): Coro<T[]> {
  const values: T[] = [];
  for (const next of asCompleted(aws).futures()) {
    const future = yield* next;
    assert.equal(future.done(), true);
    values.push(future.result());
  }
  return values;
}

const styles = [
  ["plain", tryIterator],
  ["futures()", tryFutureIterator],
] as const;

describe("asCompleted", () => {
  for (const [style, consume] of styles) {
    it(`gives the results in the order they complete (${style})`, () =>
      // asyncio: test_as_completed
      runVirtual(function* () {
        const b = sleeper(0.01, "b");
        const c = sleeper(0.15, "c");
        const a = sleeper(0.01, "a");
        const log: string[] = [];
        const values = yield* createTask(consume([b, c, a]));
        log.push(...values);
        assert.equal(now(), 0.15);
        // a and b complete in the same iteration, in the order their Tasks were created.
        assert.deepEqual(log, ["b", "a", "c"]);
      }));
  }

  it("gives errors in completion order by throwing them", () =>
    runVirtual(function* () {
      function* bad(): Coro<never> {
        yield* sleep(0.1);
        throw new ZeroDivisionError("z");
      }
      const log: string[] = [];
      for (const next of asCompleted<string>([bad(), sleeper(0.2, "ok")])) {
        try {
          log.push(`${yield* next} at ${now()}`);
        } catch (error) {
          log.push(`${String(error)} at ${now()}`);
        }
      }
      assert.deepEqual(log, ["ZeroDivisionError: z at 0.1", "ok at 0.2"]);
    }));

  it("gives the Tasks it was given, and new Tasks for coroutines, from futures()", () =>
    // asyncio: test_as_completed_same_tasks_in_as_out
    runVirtual(function* () {
      function* coro<T>(value: T): Coro<T> {
        yield* sleep(0);
        return value;
      }
      const coros = [coro(0), coro(1), coro(2), coro(3)];
      const out = new Set<unknown>();
      for (const next of asCompleted(coros).futures()) out.add(yield* next);
      assert.equal(out.size, 4);
      for (const future of out) {
        assert.ok(future instanceof Task);
        assert.equal(coros.includes(future.getCoro() as never), true);
      }

      const coroA = coro("a");
      const taskB = createTask(coro("b"));
      const coroC = coro("c");
      const taskD = createTask(coro("d"));
      const outputs: Future<string>[] = [];
      for (const next of asCompleted<string>([coroA, taskB, coroC, taskD]).futures()) {
        outputs.push(yield* next);
      }
      assert.equal(outputs.length, 4);
      const passed = new Set<unknown>([coroA, taskB, coroC, taskD]);
      assert.deepEqual(
        outputs.filter((future) => passed.has(future)),
        [taskB, taskD],
      );
      assert.deepEqual(outputs.map((future) => future.result()).sort(), ["a", "b", "c", "d"]);
    }));

  it("throws TimeoutError at the timeout for each awaitable still waiting (plain)", () =>
    // asyncio: test_as_completed_with_timeout (try_iterator)
    runVirtual(function* () {
      const a = createTask(sleep(0.1, "a"));
      const b = createTask(sleep(0.15, "b"));
      const c = createTask(sleep(0.2, "c"));
      const log: string[] = [];
      for (const next of asCompleted([a, b, c], { timeout: 0.12 })) {
        try {
          log.push(`${yield* next} at ${now()}`);
        } catch (error) {
          assert.ok(error instanceof TimeoutError);
          log.push(`${String(error)} at ${now()}`);
        }
      }
      assert.deepEqual(log, ["a at 0.1", "TimeoutError at 0.12", "TimeoutError at 0.12"]);
      // Nothing was cancelled: b and c go on.
      assert.equal(b.done(), false);
      yield* wait([b, c]);
      assert.equal(now(), 0.2);
    }));

  it("throws TimeoutError at the timeout (futures())", () =>
    // asyncio: test_as_completed_with_timeout (try_async_iterator)
    runVirtual(function* () {
      const a = createTask(sleep(0.1, "a"));
      const b = createTask(sleep(0.15, "b"));
      const log: string[] = [];
      try {
        for (const next of asCompleted([a, b], { timeout: 0.12 }).futures()) {
          const future = yield* next;
          assert.equal(future, a);
          log.push(`${future.result()} at ${now()}`);
        }
      } catch (error) {
        assert.ok(error instanceof TimeoutError);
        log.push(`${String(error)} at ${now()}`);
      }
      assert.deepEqual(log, ["a at 0.1", "TimeoutError at 0.12"]);
      yield* wait([b]);
    }));

  for (const style of ["plain", "futures()"] as const) {
    it(`cancels its timer when everything completes before the timeout (${style})`, () =>
      // asyncio: test_as_completed_with_unused_timeout
      runVirtual(function* () {
        const loop = getRunningLoop();
        const iterator = asCompleted([sleep(0.01, "a")], { timeout: 1 });
        assert.equal(loop._stats().timers, 1);
        const values: string[] = [];
        if (style === "plain") {
          for (const next of iterator) values.push(yield* next);
        } else {
          for (const next of iterator.futures()) values.push((yield* next).result());
        }
        assert.deepEqual(values, ["a"]);
        assert.equal(now(), 0.01);
        assert.equal(loop._stats().timers - loop._stats().cancelledTimers, 0);
      }));
  }

  it("starts no timer for an empty iterable", () =>
    runVirtual(function* () {
      const iterator = asCompleted([], { timeout: 1 });
      assert.equal(iterator.remaining, 0);
      assert.deepEqual([...iterator], []);
      assert.deepEqual([...iterator.futures()], []);
      assert.equal(getRunningLoop()._stats().timers, 0);
      yield* sleep(0);
    }));

  it("resumes where it stopped when iterated again after a break (plain)", () =>
    // asyncio: test_as_completed_resume_iterator (try_iterator)
    runVirtual(function* () {
      const iterator = asCompleted([0, 1, 2, 3].map((i) => sleeper(0, i)));
      const collected: number[] = [];
      for (const next of iterator) {
        collected.push(yield* next);
        if (collected.length === 2) break;
      }
      assert.equal(iterator.remaining, 2);
      for (const next of iterator) collected.push(yield* next);
      assert.equal(iterator.remaining, 0);
      assert.deepEqual(collected, [0, 1, 2, 3]);
    }));

  it("resumes where it stopped when iterated again after a break (futures())", () =>
    // asyncio: test_as_completed_resume_iterator (try_async_iterator)
    runVirtual(function* () {
      const iterator = asCompleted([0, 1, 2, 3].map((i) => sleeper(0, i)));
      const collected: number[] = [];
      for (const next of iterator.futures()) {
        collected.push((yield* next).result());
        if (collected.length === 2) break;
      }
      assert.equal(iterator.remaining, 2);
      // The two styles share one position.
      for (const next of iterator) collected.push(yield* next);
      assert.equal(iterator.remaining, 0);
      assert.deepEqual(collected, [0, 1, 2, 3]);
    }));

  it("gives the first completion to whichever awaitable is awaited first", () =>
    // asyncio: test_as_completed_reverse_wait
    runVirtual(function* () {
      const a = sleeper(0.05, "a");
      const b = sleeper(0.1, "b");
      const futs = [...asCompleted(new Set([a, b]))];
      assert.equal(futs.length, 2);
      const [first, second] = futs as [Coro<string>, Coro<string>];
      const x = yield* second;
      assert.equal(x, "a");
      assert.equal(now(), 0.05);
      const y = yield* first;
      assert.equal(y, "b");
      assert.equal(now(), 0.1);
    }));

  for (const style of ["plain", "futures()"] as const) {
    it(`gives awaitables that can be awaited concurrently (${style})`, () =>
      // asyncio: test_as_completed_concurrent
      runVirtual(function* () {
        const fs = new Set([sleeper(0.05, "a"), sleeper(0.05, "b")]);
        const iterator = asCompleted(fs);
        const futs: Coro<unknown>[] = style === "plain" ? [...iterator] : [...iterator.futures()];
        assert.equal(futs.length, 2);
        const [done, pending] = yield* wait(futs.map((fut) => ensureFuture(fut)));
        assert.equal(pending.size, 0);
        const results = [...done].map((future) => {
          const value = future.result();
          return value instanceof Future ? (value.result() as unknown) : value;
        });
        assert.deepEqual(new Set(results), new Set(["a", "b"]));
        assert.equal(now(), 0.05);
      }));
  }

  for (const [style, consume] of styles) {
    it(`counts an awaitable passed twice once (${style})`, () =>
      // asyncio: test_as_completed_duplicate_coroutines
      runVirtual(function* () {
        let runs = 0;
        function* coro(value: string): Coro<string> {
          runs++;
          yield* sleep(0);
          return value;
        }
        const c = coro("ham");
        const result = yield* createTask(consume([c, c, coro("spam")]));
        assert.deepEqual(result, ["ham", "spam"]);
        assert.equal(runs, 2);
        const task = createTask(coro("eggs"));
        assert.deepEqual(yield* consume([task, task]), ["eggs"]);
      }));
  }

  it("throws RuntimeError for coroutines outside a running loop", () => {
    // asyncio: test_as_completed_coroutine_without_loop
    const coro = sleeper(0, 42);
    const error = caught(() => [...asCompleted([coro])]);
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, "no running event loop");
  });

  it("wraps coroutines in Tasks of the running loop", () =>
    // asyncio: test_as_completed_coroutine_use_running_loop
    runVirtual(function* () {
      const futs = [...asCompleted([sleeper(0, 42)])];
      assert.equal(futs.length, 1);
      assert.equal(yield* futs[0] as Coro<number>, 42);
    }));

  it("throws TypeError for a Future, a coroutine or anything not iterable", () =>
    // asyncio: test_as_completed_invalid_args
    runVirtual(function* () {
      const fut = getRunningLoop().createFuture<number>();
      const fromFuture = caught(() => asCompleted(fut as never));
      assert.ok(fromFuture instanceof TypeError);
      assert.equal(fromFuture.message, "expects an iterable of awaitables, not <Future pending>");
      const coro = sleeper(0, 1);
      const fromCoro = caught(() => asCompleted(coro as never));
      assert.ok(fromCoro instanceof TypeError);
      assert.match(fromCoro.message, /^expects an iterable of awaitables, not /);
      const fromNumber = caught(() => asCompleted(5 as never));
      assert.ok(fromNumber instanceof TypeError);
      assert.equal(fromNumber.message, "expects an iterable of awaitables, not 5");
      const fromItem = caught(() => asCompleted([5] as never));
      assert.ok(fromItem instanceof TypeError);
      assert.equal(fromItem.message, "a Future, a coroutine or an awaitable is required, got 5");
      const badTimeout = caught(() => asCompleted([fut], { timeout: "1" as never }));
      assert.ok(badTimeout instanceof TypeError);
      assert.equal(badTimeout.message, "timeout must be a number or null, got '1'");
      fut.cancel();
      yield* sleep(0);
    }));

  it("counts in remaining the awaitables not yet handed out", () =>
    runVirtual(function* () {
      const iterator = asCompleted([sleeper(0.1, 1), sleeper(0.2, 2), sleeper(0.3, 3)]);
      assert.equal(iterator.remaining, 3);
      const each = iterator[Symbol.iterator]();
      const first = each.next();
      assert.equal(first.done, false);
      assert.equal(iterator.remaining, 2);
      assert.equal(yield* first.value, 1);
      const rest = [...iterator.futures()];
      assert.equal(rest.length, 2);
      assert.equal(iterator.remaining, 0);
      assert.deepEqual([...iterator], []);
      for (const next of rest) yield* next;
      assert.equal(now(), 0.3);
    }));

  it("hands a completion to the next waiter when the task it was given to is cancelled", () =>
    runVirtual(function* () {
      const a = createTask(sleep(0.1, "a"));
      const b = createTask(sleep(0.2, "b"));
      const [fut0, fut1] = [...asCompleted([a, b])] as [Coro<string>, Coro<string>];
      const log: string[] = [];
      function* consume(name: string, next: Coro<string>): Coro<void> {
        try {
          log.push(`${name} got ${yield* next} at ${now()}`);
        } catch (error) {
          log.push(`${name} cancelled at ${now()}`);
          throw error;
        }
      }
      const t1 = createTask(consume("t1", fut0));
      const t2 = createTask(consume("t2", fut1));
      yield* sleep(0);
      // Runs after asCompleted's callback has given `a` to t1, before t1 resumes.
      a.addDoneCallback(() => {
        t1.cancel();
      });
      yield* wait([t1, t2]);
      assert.deepEqual(log, ["t1 cancelled at 0.1", "t2 got a at 0.1"]);
      yield* b;
    }));

  it("keeps a completion for the next awaitable when the task it was given to is cancelled", () =>
    runVirtual(function* () {
      const a = createTask(sleep(0.1, "a"));
      const b = createTask(sleep(0.2, "b"));
      const iterator = asCompleted([a, b]);
      const each = iterator[Symbol.iterator]();
      const log: string[] = [];
      function* consume(next: Coro<string>): Coro<void> {
        try {
          log.push(`t1 got ${yield* next}`);
        } catch (error) {
          log.push(`t1 cancelled at ${now()}`);
          throw error;
        }
      }
      const t1 = createTask(consume(each.next().value as Coro<string>));
      yield* sleep(0);
      a.addDoneCallback(() => {
        t1.cancel();
      });
      yield* wait([t1]);
      assert.equal(t1.cancelled(), true);
      for (const next of iterator) log.push(`next gives ${yield* next} at ${now()}`);
      assert.deepEqual(log, ["t1 cancelled at 0.1", "next gives a at 0.1"]);
      yield* b;
    }));

  it("gives the first completion to the next waiter when a waiting task is cancelled", () =>
    runVirtual(function* () {
      const a = createTask(sleep(0.1, "a"));
      const b = createTask(sleep(0.2, "b"));
      const [fut0, fut1] = [...asCompleted([a, b])] as [Coro<string>, Coro<string>];
      const log: string[] = [];
      function* consume(name: string, next: Coro<string>): Coro<void> {
        try {
          log.push(`${name} got ${yield* next} at ${now()}`);
        } catch (error) {
          assert.ok(error instanceof CancelledError);
          log.push(`${name} cancelled at ${now()}`);
          throw error;
        }
      }
      const t1 = createTask(consume("t1", fut0));
      const t2 = createTask(consume("t2", fut1));
      getRunningLoop().callLater(0.05, () => {
        t1.cancel();
      });
      yield* wait([t1, t2, b]);
      assert.deepEqual(log, ["t1 cancelled at 0.05", "t2 got a at 0.1"]);
    }));
});
