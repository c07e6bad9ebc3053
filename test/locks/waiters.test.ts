// Tests for src/locks/waiters.ts: the FIFO waiter queue and the hold() plumbing.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  Event,
  Lock,
  Semaphore,
  createTask,
  getRunningLoop,
  sleep,
  type Coro,
} from "../../src/index.ts";
import { Waiters, hold, type Holdable } from "../../src/locks/waiters.ts";
import { runVirtual } from "../../src/testing.ts";

/** A Holdable that records its calls. */
function recorder(log: string[]): Holdable {
  return {
    *acquire(): Coro<true> {
      log.push("acquire");
      yield* sleep(0);
      return true;
    },
    release(): void {
      log.push("release");
    },
  };
}

describe("Waiters", () => {
  it("counts queued waiters, woken or cancelled ones included, until deleted", () =>
    runVirtual(function* () {
      const waiters = new Waiters<number>();
      const loop = getRunningLoop();
      const a = waiters.add(loop);
      const b = waiters.add(loop);
      assert.equal(waiters.size, 2);
      a.cancel();
      b.setResult(1);
      assert.equal(waiters.size, 2);
      assert.equal(waiters.first(), a);
      waiters.delete(a);
      waiters.delete(a);
      assert.equal(waiters.size, 1);
      assert.equal(waiters.first(), b);
      waiters.delete(b);
      assert.equal(waiters.first(), undefined);
    }));

  it("wakeFirst() wakes the oldest waiter that is not done", () =>
    runVirtual(function* () {
      const waiters = new Waiters<string>();
      const loop = getRunningLoop();
      const [a, b, c] = [waiters.add(loop), waiters.add(loop), waiters.add(loop)];
      a.cancel();
      assert.equal(waiters.wakeFirst("x"), true);
      assert.equal(b.result(), "x");
      assert.equal(c.done(), false);
      assert.equal(waiters.wakeFirst("y"), true);
      assert.equal(c.result(), "y");
      assert.equal(waiters.wakeFirst("z"), false);
      assert.equal(waiters.size, 3);
    }));

  it("hasActive() ignores cancelled waiters but counts woken ones", () =>
    runVirtual(function* () {
      const waiters = new Waiters<null>();
      const loop = getRunningLoop();
      assert.equal(waiters.hasActive(), false);
      const a = waiters.add(loop);
      a.cancel();
      assert.equal(waiters.hasActive(), false);
      const b = waiters.add(loop);
      b.setResult(null);
      assert.equal(waiters.hasActive(), true);
    }));

  it("wakeUpTo() and wakeAll() wake waiters that are not done, oldest first", () =>
    runVirtual(function* () {
      const waiters = new Waiters<number>();
      const loop = getRunningLoop();
      const futures = [0, 1, 2, 3, 4].map(() => waiters.add(loop));
      futures[1]!.cancel();
      waiters.wakeUpTo(2, 7);
      assert.deepEqual(
        futures.map((f) => (f.done() && !f.cancelled() ? f.result() : null)),
        [7, null, 7, null, null],
      );
      waiters.wakeUpTo(0, 8);
      assert.equal(futures[3]!.done(), false);
      waiters.wakeAll(9);
      assert.deepEqual(
        futures.map((f) => (f.cancelled() ? "c" : f.result())),
        [7, "c", 7, 9, 9],
      );
      assert.equal(waiters.size, 5);
    }));

  it("shiftWake() drops done waiters from the front and removes the one it wakes", () =>
    runVirtual(function* () {
      const waiters = new Waiters<undefined>();
      const loop = getRunningLoop();
      const [a, b, c] = [waiters.add(loop), waiters.add(loop), waiters.add(loop)];
      a.cancel();
      assert.equal(waiters.shiftWake(undefined), true);
      assert.equal(b.done(), true);
      assert.equal(waiters.size, 1);
      assert.equal(waiters.first(), c);
      c.cancel();
      assert.equal(waiters.shiftWake(undefined), false);
      assert.equal(waiters.size, 0);
    }));

  it("shiftWakeAll() empties the queue, waking every waiter not done", () =>
    runVirtual(function* () {
      const waiters = new Waiters<number>();
      const loop = getRunningLoop();
      const [a, b] = [waiters.add(loop), waiters.add(loop)];
      a.cancel();
      waiters.shiftWakeAll(3);
      assert.equal(b.result(), 3);
      assert.equal(waiters.size, 0);
    }));

  it("lets a task wait on a waiter and resume with its value", () =>
    runVirtual(function* () {
      const waiters = new Waiters<string>();
      const future = waiters.add(getRunningLoop());
      const task = createTask(
        (function* (): Coro<string> {
          return yield* future;
        })(),
      );
      yield* sleep(0);
      waiters.wakeFirst("done");
      assert.equal(yield* task, "done");
    }));
});

describe("hold", () => {
  it("without a body, returns a Disposable that releases once", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const target = recorder(log);
      const held = yield* hold<never>(target, undefined);
      assert.deepEqual(log, ["acquire"]);
      held[Symbol.dispose]();
      held[Symbol.dispose]();
      assert.deepEqual(log, ["acquire", "release"]);
    }));

  it("with a body, releases after it returns or throws", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const target = recorder(log);
      const result = yield* hold(target, function* () {
        log.push("body");
        return 5;
      });
      assert.equal(result, 5);
      try {
        yield* hold(target, function* (): Coro<never> {
          throw new Error("boom");
        });
      } catch (error) {
        log.push((error as Error).message);
      }
      assert.deepEqual(log, ["acquire", "body", "release", "acquire", "release", "boom"]);
    }));

  it("releases when the body is cancelled, not when the acquire is", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const target = recorder(log);
      const inBody = createTask(
        hold(target, function* () {
          log.push("body");
          yield* sleep(10);
        }),
      );
      yield* sleep(1);
      inBody.cancel();
      try {
        yield* inBody;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
      }
      const inAcquire = createTask(hold(target, undefined));
      yield* sleep(0); // the recorder's acquire is suspended in sleep(0)
      inAcquire.cancel();
      try {
        yield* inAcquire;
      } catch (error) {
        assert.ok(error instanceof CancelledError);
      }
      assert.deepEqual(log, ["acquire", "body", "release", "acquire"]);
    }));

  it("checks the body before acquiring", () =>
    runVirtual(function* () {
      const log: string[] = [];
      try {
        yield* hold(recorder(log), "nope" as unknown as () => Coro<void>);
        assert.fail("expected a TypeError");
      } catch (error) {
        assert.ok(error instanceof TypeError);
        assert.equal(error.message, "body must be a function, got 'nope'");
      }
      assert.deepEqual(log, []);
    }));
});

/** A wait started now gets what `free()` gives: nothing was left to a closed wait. */
function* nextWaiterGetsIt(wait: () => Coro<true>, free: () => void): Coro<void> {
  const next = createTask(wait());
  yield* sleep(0);
  free();
  assert.equal(yield* next, true);
}

// Event.wait, Lock.acquire and Semaphore.acquire are hand-written coroutines (WaitCoro):
// these check the generator protocol they replace, where a driver other than a Task can
// tell the difference.
describe("a primitive's wait coroutine", () => {
  const cases: {
    name: string;
    /** A primitive whose wait blocks, and how to make it ready again. */
    blocked: () => { primitive: { toString(): string }; wait: () => Coro<true>; free: () => void };
    /** A primitive whose wait completes at once, and what tells that it did. */
    ready: () => { wait: () => Coro<true>; taken: () => boolean };
  }[] = [
    {
      name: "Event.wait",
      blocked: () => {
        const event = new Event();
        return {
          primitive: event,
          wait: () => event.wait(),
          free: () => {
            event.set();
          },
        };
      },
      ready: () => {
        const event = new Event();
        event.set();
        return { wait: () => event.wait(), taken: () => false };
      },
    },
    {
      name: "Lock.acquire",
      blocked: () => {
        const lock = new Lock();
        lock.acquire().next();
        return {
          primitive: lock,
          wait: () => lock.acquire(),
          free: () => {
            lock.release();
          },
        };
      },
      ready: () => {
        const lock = new Lock();
        return { wait: () => lock.acquire(), taken: () => lock.locked() };
      },
    },
    {
      name: "Semaphore.acquire",
      blocked: () => {
        const semaphore = new Semaphore(0);
        return {
          primitive: semaphore,
          wait: () => semaphore.acquire(),
          free: () => {
            semaphore.release();
          },
        };
      },
      ready: () => {
        const semaphore = new Semaphore(1);
        return { wait: () => semaphore.acquire(), taken: () => semaphore.locked() };
      },
    },
  ];

  for (const { name, blocked, ready } of cases) {
    it(`${name}: does nothing until stepped, and returns at once when it need not wait`, () =>
      runVirtual(function* () {
        const { wait, taken } = ready();
        const thrown = new RangeError("before start");
        assert.throws(
          () => wait().throw(thrown),
          (error) => error === thrown,
        );
        assert.deepEqual({ ...wait().return(true) }, { done: true, value: true });
        assert.equal(taken(), false);
        const step = wait().next();
        assert.deepEqual({ done: step.done, value: step.value }, { done: true, value: true });
        yield* sleep(0);
      }));

    it(`${name}: closing a blocked wait takes its waiter out and takes nothing`, () =>
      runVirtual(function* () {
        const { primitive, wait, free } = blocked();
        const coro = wait();
        const first = coro.next();
        assert.equal(first.done, false);
        assert.match(String(primitive), /waiters:1\]>$/);
        assert.deepEqual({ ...coro.return(true) }, { done: true, value: true });
        assert.doesNotMatch(String(primitive), /waiters/);
        // The permit or the flag goes to the next waiter, not to the closed one.
        yield* nextWaiterGetsIt(wait, free);
      }));

    it(`${name}: next() on a wait still blocked throws, and takes its waiter out`, () =>
      runVirtual(function* () {
        const { primitive, wait, free } = blocked();
        const coro = wait();
        coro.next();
        assert.throws(() => coro.next(), { message: "await wasn't used with future" });
        assert.doesNotMatch(String(primitive), /waiters/);
        assert.deepEqual({ ...coro.next() }, { done: true, value: undefined });
        yield* nextWaiterGetsIt(wait, free);
      }));

    it(`${name}: an error thrown into a blocked wait takes its waiter out and propagates`, () =>
      runVirtual(function* () {
        const { primitive, wait, free } = blocked();
        const coro = wait();
        coro.next();
        const thrown = new RangeError("into the wait");
        assert.throws(
          () => coro.throw(thrown),
          (error) => error === thrown,
        );
        assert.doesNotMatch(String(primitive), /waiters/);
        assert.deepEqual({ ...coro.next() }, { done: true, value: undefined });
        yield* nextWaiterGetsIt(wait, free);
      }));
  }
});

describe("hold() without a body", () => {
  it("acquires nothing if disposed before it is stepped, and leaves the queue if disposed while waiting", () =>
    runVirtual(function* () {
      const lock = new Lock();
      const unstarted = lock.hold();
      unstarted[Symbol.dispose]();
      assert.equal(lock.locked(), false);
      assert.deepEqual({ ...unstarted.next() }, { done: true, value: undefined });

      const held = yield* lock.hold();
      const waiting = lock.hold();
      assert.equal(waiting.next().done, false);
      assert.equal(String(lock), "<Lock [locked, waiters:1]>");
      waiting[Symbol.dispose]();
      assert.equal(String(lock), "<Lock [locked]>");
      held[Symbol.dispose]();
      assert.equal(lock.locked(), false);
    }));

  it("returns itself as the Disposable once it holds, through the slow path too", () =>
    runVirtual(function* () {
      const semaphore = new Semaphore(0);
      const task = createTask(
        (function* (): Coro<boolean> {
          const hold = semaphore.hold();
          const held = yield* hold;
          return held === (hold as unknown);
        })(),
      );
      yield* sleep(0);
      semaphore.release();
      assert.equal(yield* task, true);
      assert.equal(semaphore.locked(), true);
    }));
});
