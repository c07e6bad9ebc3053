// Tests for src/sleep.ts. Ported from CPython's test_tasks.py (test_sleep*,
// test_task_cancel_sleeping_task) where a scenario applies.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  DeadlockError,
  RuntimeError,
  createTask,
  currentTask,
  getRunningLoop,
  sleep,
  wrapPromise,
  type Coro,
  type SleepWait,
  type Task,
} from "../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../src/testing.ts";
import { thrownBy } from "./helpers/coro.ts";

/** A sleep shows as the Future asyncio's sleep would wait on. */
function shown(coro: Coro<unknown>): string {
  return (coro as unknown as { toString(): string }).toString();
}

describe("sleep", () => {
  it("gives the loop exactly one iteration when the delay is 0", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* steps(name: string): Coro<void> {
        for (let i = 0; i < 3; i++) {
          log.push(`${name}${i}`);
          yield* sleep(0);
        }
      }
      const a = createTask(steps("a"));
      const b = createTask(steps("b"));
      yield* a;
      yield* b;
      assert.deepEqual(log, ["a0", "b0", "a1", "b1", "a2", "b2"]);
      assert.equal(getRunningLoop().time(), 0);
    }));

  // asyncio: test_sleep_zero
  it("resumes after the callbacks already scheduled, before those they schedule", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      loop.callSoon(() => {
        log.push("cb1");
        loop.callSoon(() => {
          log.push("cb2");
        });
      });
      assert.equal(log.length, 0);
      const result = yield* sleep(0, "x");
      log.push(`resumed ${result}`);
      yield* sleep(0);
      log.push("resumed again");
      assert.deepEqual(log, ["cb1", "resumed x", "cb2", "resumed again"]);
    }));

  it("treats a negative delay as 0", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      function* steps(name: string, delay: number): Coro<void> {
        for (let i = 0; i < 3; i++) {
          log.push(`${name}${i}`);
          yield* sleep(delay);
        }
      }
      const a = createTask(steps("a", 0));
      const b = createTask(steps("b", -1));
      yield* sleep(0);
      assert.equal(loop._stats().timers, 0);
      yield* a;
      yield* b;
      assert.deepEqual(log, ["a0", "b0", "a1", "b1", "a2", "b2"]);
      assert.equal(yield* sleep(-Infinity, "r"), "r");
      assert.equal(loop.time(), 0);
    }));

  // asyncio: test_sleep
  it("wakes when the virtual clock reaches the delay and returns the result", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      function* sleeper(dt: number, arg: string): Coro<string> {
        yield* sleep(dt / 2);
        assert.equal(loop.time(), 0.05);
        return yield* sleep(dt / 2, arg);
      }
      const task = createTask(sleeper(0.1, "yeah"));
      assert.equal(yield* task, "yeah");
      assert.equal(loop.time(), 0.1);
    }));

  it("wakes sleepers in the order of their deadlines, equal ones in creation order", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      function* sleeper(name: string, delay: number): Coro<void> {
        yield* sleep(delay);
        log.push(`${name} at ${loop.time()}`);
      }
      const tasks = [
        createTask(sleeper("c", 0.3)),
        createTask(sleeper("a", 0.1)),
        createTask(sleeper("b", 0.2)),
        createTask(sleeper("a2", 0.1)),
      ];
      for (const task of tasks) yield* task;
      assert.deepEqual(log, ["a at 0.1", "a2 at 0.1", "b at 0.2", "c at 0.3"]);
    }));

  it("returns the result argument as it is", () =>
    runVirtual(function* () {
      const value = { some: "object" };
      assert.equal(yield* sleep(1, value), value);
      assert.equal(yield* sleep(0, value), value);
      assert.equal(yield* sleep(1), undefined);
      assert.equal(yield* sleep(0), undefined);
      assert.equal(getRunningLoop().time(), 2);
    }));

  it("sleeps an hour of virtual time at once", () =>
    runVirtual(function* () {
      yield* sleep(3600);
      assert.equal(getRunningLoop().time(), 3600);
    }));

  // asyncio: test_sleep_when_delay_is_nan
  it("throws TypeError for NaN", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(sleep(NaN));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "Invalid delay: NaN (not a number)");
      assert.equal(getRunningLoop()._stats().timers, 0);
    }));

  it("throws TypeError for a delay that is not a number", () =>
    runVirtual(function* () {
      const text = yield* thrownBy(sleep("1" as unknown as number));
      assert.ok(text instanceof TypeError);
      assert.equal(text.message, "delay must be a number, got '1'");
      const missing = yield* thrownBy(sleep(undefined as unknown as number));
      assert.ok(missing instanceof TypeError);
      assert.equal(missing.message, "delay must be a number, got undefined");
      assert.equal(getRunningLoop().time(), 0);
    }));

  it("throws RuntimeError when driven outside a running loop", () => {
    assert.throws(
      () => sleep(1).next(),
      (error: unknown) => {
        assert.ok(error instanceof RuntimeError);
        assert.equal(error.message, "no running event loop");
        return true;
      },
    );
  });

  // asyncio: test_sleep_cancel
  it("cancels its timer when the sleeping task is cancelled", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const seen: ReturnType<typeof loop._stats>[] = [];
      const task = createTask(
        (function* (): Coro<string> {
          try {
            return yield* sleep(10, "yeah");
          } catch (error) {
            // sleep()'s own cleanup has run: its timer is cancelled, not yet purged.
            seen.push(loop._stats());
            throw error;
          }
        })(),
      );
      yield* sleep(0);
      assert.deepEqual(loop._stats(), { ready: 0, timers: 1, cancelledTimers: 0 });
      task.cancel();
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.deepEqual(seen, [{ ready: 0, timers: 1, cancelledTimers: 1 }]);
      // The next iteration purged it.
      assert.equal(loop._stats().timers, 0);
      assert.equal(loop._stats().cancelledTimers, 0);
      assert.equal(loop.time(), 0);
    }));

  it("cancels its timer when the sleep is closed from outside", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const coro = sleep(10, "yeah");
      const first = coro.next();
      // The first step's result is the sleep itself: not done, yielding itself.
      assert.equal(first, coro);
      assert.equal(first.done, false);
      assert.equal(first.value, coro);
      assert.equal((first.value as SleepWait).kind, "sleep");
      assert.equal(shown(coro), "<Future pending>");
      assert.deepEqual(loop._stats(), { ready: 0, timers: 1, cancelledTimers: 0 });
      assert.deepEqual(coro.return("early"), { done: true, value: "early" });
      assert.deepEqual(loop._stats(), { ready: 0, timers: 1, cancelledTimers: 1 });
      yield* sleep(20);
      assert.deepEqual(loop._stats(), { ready: 0, timers: 0, cancelledTimers: 0 });
      assert.deepEqual(coro.next(), { done: true, value: undefined });
    }));

  it("stepped by hand, returns its result once the timer fired, or fails resumed early", () =>
    runVirtual(function* () {
      const coro = sleep(1, "yeah");
      assert.equal(coro.next().done, false);
      yield* sleep(1);
      assert.equal(shown(coro), "<Future finished result='yeah'>");
      assert.deepEqual(coro.next(), { done: true, value: "yeah" });
      const early = sleep(1);
      early.next();
      assert.throws(() => early.next(), {
        name: "RuntimeError",
        message: "await wasn't used with future",
      });
      assert.equal(getRunningLoop()._stats().cancelledTimers, 1);
    }));

  // asyncio: test_task_cancel_sleeping_task
  it("ends with CancelledError when a timer cancels the sleeping task", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const sleeper = createTask(sleep(5000));
      loop.callLater(0.1, () => sleeper.cancel());
      let outcome: string;
      try {
        yield* sleeper;
        outcome = "slept in";
      } catch (error) {
        if (!(error instanceof CancelledError)) throw error;
        outcome = "cancelled";
      }
      assert.equal(outcome, "cancelled");
      assert.equal(loop.time(), 0.1);
      assert.equal(loop._stats().timers, 0);
    }));

  it("passes the cancellation message to the sleeper", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<void> {
          try {
            yield* sleep(10);
          } catch (error) {
            log.push(`${(error as Error).name}: ${(error as Error).message}`);
            throw error;
          }
        })(),
      );
      yield* sleep(1);
      task.cancel("stop");
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.deepEqual(log, ["CancelledError: stop"]);
      assert.equal(getRunningLoop().time(), 1);
    }));

  // The three ways a cancellation meets a sleeping task, as CPython 3.13 runs them:
  // ['cancel True', "cancelled ('late',) at 1", 'task cancelled 1', "self ('self',) 1",
  //  'ok', '0.5', "cancelled ('a',) at 2", "double ('a',) 2"]
  it("meets a cancellation after its timer fired, before it, and twice, as asyncio's", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      const t0 = loop.time();
      function* sleeper(): Coro<void> {
        try {
          const r = yield* sleep(1, "yeah");
          log.push(`result ${r}`);
        } catch (error) {
          if (!(error instanceof CancelledError)) throw error;
          log.push(`cancelled ${error.message} at ${(loop.time() - t0).toFixed(0)}`);
          throw error;
        }
      }
      // The timer fires first, then a callback due at the same time cancels the task: the
      // wake-up is already scheduled, so the cancellation arrives as the task's own.
      const late = createTask(sleeper());
      yield* sleep(0);
      loop.callLater(1, () => log.push(`cancel ${String(late.cancel("late"))}`));
      yield* thrownBy(late);
      log.push(`task cancelled ${late.cancelling()}`);
      // Cancelled while running, then sleeps: the sleep is cancelled at once.
      const t1 = loop.time();
      const self = createTask(
        (function* (): Coro<string> {
          const task = currentTask() as Task<string>;
          task.cancel("self");
          try {
            yield* sleep(10);
          } catch (error) {
            if (!(error instanceof CancelledError)) throw error;
            log.push(`self ${error.message} ${task.cancelling()}`);
            task.uncancel();
          }
          yield* sleep(0.5);
          return "ok";
        })(),
      );
      log.push(yield* self);
      log.push((loop.time() - t1).toFixed(1));
      // Cancelled twice while sleeping: one CancelledError, with the first message.
      const twice = createTask(sleeper());
      yield* sleep(0);
      twice.cancel("a");
      twice.cancel("b");
      const error = yield* thrownBy(twice);
      log.push(`double ${(error as Error).message} ${twice.cancelling()}`);
      assert.deepEqual(log, [
        "cancel true",
        "cancelled late at 1",
        "task cancelled 1",
        "self self 1",
        "ok",
        "0.5",
        "cancelled a at 2",
        "double a 2",
      ]);
      assert.deepEqual(loop._stats(), { ready: 0, timers: 0, cancelledTimers: 0 });
    }));

  // A task can still be cancelled after its sleep was closed from outside: asyncio's
  // sleep leaves its Future pending, and cancel() ends the task's wait on it.
  it("leaves its task cancellable when closed from outside while the task waits", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<void> {
          yield* sleep(10);
          log.push("woke");
        })(),
        { name: "t" },
      );
      yield* sleep(0);
      task.getCoro().return(undefined);
      assert.equal(
        String(task),
        "<Task pending name='t' wait_for=<Future pending cb=[Task.wakeup()]>>",
      );
      assert.equal(task.cancel("stop"), true);
      assert.equal(String(task), "<Task cancelling name='t' wait_for=<Future cancelled>>");
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "stop");
      assert.equal(task.cancelled(), true);
      assert.deepEqual(log, []);
      assert.equal(getRunningLoop().time(), 0);
    }));

  // A hand-written `yield*`: start the timer, do other work, then wait for the rest of it
  // (or for nothing, when it already fired). CPython 3.13 with types.coroutine and a
  // manual `yield`: ['got r at 1.0'] and ['got r at 2.0'].
  it("stepped by hand and yielded later, waits for what is left of it", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      function* deferred(other: () => Coro<unknown>): Coro<void> {
        const start = loop.time();
        const coro = sleep(1, "r");
        let step = coro.next();
        yield* other();
        while (step.done !== true) {
          yield step.value;
          step = coro.next();
        }
        log.push(`got ${step.value} at ${String(loop.time() - start)}`);
      }
      yield* createTask(deferred(() => sleep(0.5)));
      yield* createTask(
        deferred(function* () {
          const future = loop.createFuture<null>();
          loop.callLater(2, () => {
            future.setResult(null);
          });
          return yield* future;
        }),
      );
      assert.deepEqual(log, ["got r at 1", "got r at 2"]);
    }));

  // CPython 3.13 (a types.coroutine yielding the sleep's Future in two tasks): B gets
  // "yield was used instead of yield from in task ...", then A resumes at t=1.
  it("yielded by a second task while one waits on it is a bad yield there", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      const wait = sleep(1).next().value as SleepWait;
      const a = createTask(
        (function* (): Coro<void> {
          yield wait;
          log.push(`A resumed t=${String(loop.time())}`);
        })(),
        { name: "A" },
      );
      const b = createTask(
        (function* (): Coro<void> {
          try {
            yield wait;
            log.push("B resumed");
          } catch (error) {
            log.push(`B: ${(error as Error).name}: ${(error as Error).message}`);
          }
        })(),
        { name: "B" },
      );
      yield* a;
      yield* b;
      assert.equal(log.length, 2);
      assert.match(
        log[0] ?? "",
        /^B: RuntimeError: yield was used instead of yield\* in task <Task .*name='B'.*> with <Future pending cb=\[Task\.wakeup\(\)\]>$/,
      );
      assert.equal(log[1], "A resumed t=1");
    }));

  it("stepped by hand and dropped keeps nothing alive", async () => {
    const gc = (globalThis as { gc?: () => void }).gc;
    assert.ok(gc, "the test runner gives --expose-gc");
    let payload: WeakRef<object> | undefined;
    await runVirtual(function* () {
      (() => {
        const big = { data: new Array(1000).fill(1) };
        payload = new WeakRef(big);
        sleep(1, big).next();
      })();
      // The timer is still in the heap: it keeps the sleep and its result until it fires.
      // (A Future, not a sleep, waits it out: nothing else may take the sleep's place.)
      const loop = getRunningLoop();
      const later = loop.createFuture<null>();
      loop.callLater(2, () => {
        later.setResult(null);
      });
      yield* later;
    });
    // Let the promise machinery drop its references before collecting.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    assert.equal(payload?.deref(), undefined);
  });

  it("yielded whole (yield instead of yield*) is a bad yield", () =>
    runVirtual(function* () {
      const whole = createTask(
        (function* (): Coro<void> {
          yield sleep(1) as unknown as SleepWait;
        })(),
      );
      const bad = yield* thrownBy(whole);
      assert.ok(bad instanceof RuntimeError);
      assert.match(bad.message, /^yield was used instead of yield\* for generator in task/);
    }));

  it("started on another loop is refused by a task", async () => {
    const other = new VirtualEventLoop();
    let foreign: Coro<undefined> | undefined;
    await other.runUntilComplete(
      (function* (): Coro<void> {
        foreign = sleep(1);
        foreign.next();
        yield* sleep(0);
      })(),
    );
    other.close();
    await runVirtual(function* () {
      const elsewhere = createTask(
        (function* (): Coro<void> {
          // Started on the other loop: it yields itself to whoever awaits it next.
          yield foreign as unknown as SleepWait;
        })(),
        { name: "x" },
      );
      const error = yield* thrownBy(elsewhere);
      assert.ok(error instanceof RuntimeError);
      assert.match(
        error.message,
        /^Task <Task .*name='x'.*> got a sleep attached to a different loop$/,
      );
    });
  });

  it("sleeps forever with Infinity until cancelled", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const task = createTask(sleep(Infinity));
      yield* sleep(1);
      assert.equal(task.done(), false);
      assert.equal(loop._stats().timers, 1);
      assert.equal(task.cancel(), true);
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(loop.time(), 1);
      assert.equal(loop._stats().timers, 0);
    }));

  it("never wakes from sleep(Infinity): the virtual loop reports the deadlock", async () => {
    await assert.rejects(
      runVirtual(function* () {
        yield* sleep(Infinity);
      }),
      (error: unknown) => {
        assert.ok(error instanceof DeadlockError);
        assert.match(error.message, /^deadlock: /);
        return true;
      },
    );
  });
});

describe("sleep's result", () => {
  it("is not kept alive by a cancelled sleep whose timer is still in the heap", () =>
    runVirtual(function* () {
      const gc = (globalThis as { gc?: () => void }).gc;
      assert.ok(gc !== undefined, "run node with --expose-gc");
      const loop = getRunningLoop();
      let ref: WeakRef<object> | undefined;
      const earlier = createTask(sleep(60)); // keeps the cancelled timer off the top
      const sleeper = createTask(
        (function* (): Coro<object> {
          const big = { payload: new Uint8Array(1024) };
          ref = new WeakRef(big);
          return yield* sleep(3600, big);
        })(),
      );
      yield* sleep(0);
      sleeper.cancel();
      yield* thrownBy(sleeper);
      let collected = false;
      for (let i = 0; i < 20 && !collected; i++) {
        // A WeakRef's target lives to the end of the host job that made or read it.
        yield* wrapPromise(new Promise((resolve) => setImmediate(resolve)));
        gc();
        collected = ref?.deref() === undefined;
      }
      assert.ok(collected);
      assert.deepEqual(loop._stats(), { ready: 0, timers: 2, cancelledTimers: 1 });
      earlier.cancel();
      yield* thrownBy(earlier);
    }));
});
