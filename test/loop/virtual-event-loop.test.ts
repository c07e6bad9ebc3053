import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  CancelledError,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  wrapPromise,
  type Coro,
  type Future,
} from "../../src/index.ts";
import { DeadlockError, VirtualEventLoop, isDeadlock, runVirtual } from "../../src/testing.ts";
import { now } from "../helpers/coro.ts";

const DEADLOCK = "deadlock: nothing is ready, no timer is pending and no I/O is outstanding; ";

describe("VirtualEventLoop clock", () => {
  it("starts at 0", () => {
    const loop = new VirtualEventLoop();
    assert.equal(loop.time(), 0);
    loop.close();
  });

  it("jumps straight to the next timer when nothing is ready", () =>
    runVirtual(function* () {
      assert.equal(now(), 0);
      yield* sleep(5);
      assert.equal(now(), 5);
      yield* sleep(0.5);
      assert.equal(now(), 5.5);
    }));

  it("sleep(3600) takes no real time", async () => {
    const started = performance.now();
    await runVirtual(function* () {
      yield* sleep(3600);
      assert.equal(now(), 3600);
    });
    assert.ok(performance.now() - started < 50, "an hour of virtual time took real time");
  });

  it("does not move while callbacks are ready", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const sleeper = createTask(
        (function* (): Coro<void> {
          yield* sleep(1);
          log.push(`timer at ${now()}`);
        })(),
      );
      for (let i = 0; i < 100; i++) {
        yield* sleep(0);
        assert.equal(now(), 0);
      }
      assert.deepEqual(log, []);
      yield* sleeper;
      assert.deepEqual(log, ["timer at 1"]);
    }));

  it("wakes concurrent sleepers in order of their deadlines", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* sleeper(name: string, seconds: number): Coro<void> {
        yield* sleep(seconds);
        log.push(`${name}@${now()}`);
      }
      const tasks = [
        createTask(sleeper("c", 30)),
        createTask(sleeper("a", 10)),
        createTask(sleeper("b", 20)),
      ];
      for (const task of tasks) yield* task;
      assert.deepEqual(log, ["a@10", "b@20", "c@30"]);
    }));

  it("a run with no real I/O completes inside runUntilComplete(), before the Promise is awaited", async () => {
    const loop = new VirtualEventLoop();
    function* work(): Coro<number> {
      yield* sleep(10);
      return 1;
    }
    const task = loop.createTask(work());
    const run = loop.runUntilComplete(task);
    assert.equal(task.done(), true);
    assert.equal(loop.isRunning(), false);
    assert.equal(loop.time(), 10);
    assert.equal(await run, 1);
    loop.close();
  });
});

describe("VirtualEventLoop.advance", () => {
  it("moves the clock without running anything", () => {
    const loop = new VirtualEventLoop();
    const log: string[] = [];
    loop.callLater(1, () => log.push("timer"));
    loop.advance(2.5);
    assert.equal(loop.time(), 2.5);
    assert.deepEqual(log, []);
    assert.equal(loop.callLater(1, () => {}).when(), 3.5);
    loop.close();
  });

  it("makes timers that became due run on the next iteration", async () => {
    const loop = new VirtualEventLoop();
    const log: string[] = [];
    loop.callLater(1, () => log.push("one"));
    loop.callLater(3, () => log.push("three"));
    loop.advance(2);
    loop.stop();
    await loop.runForever();
    assert.deepEqual(log, ["one"]);
    assert.equal(loop.time(), 2);
    loop.close();
  });

  it("moves the clock past a sleeping task's deadline from inside a run", () => {
    let loop: VirtualEventLoop | undefined;
    return runVirtual(
      function* () {
        const sleeper = createTask(sleep(5, "woke"));
        yield* sleep(0);
        loop?.advance(10);
        assert.equal(yield* sleeper, "woke");
        assert.equal(now(), 10);
      },
      {
        setup: (virtual) => {
          loop = virtual;
        },
      },
    );
  });

  it("accepts 0", () => {
    const loop = new VirtualEventLoop();
    loop.advance(0);
    assert.equal(loop.time(), 0);
    loop.close();
  });

  it("rejects a negative, NaN, infinite or non-number amount", () => {
    const loop = new VirtualEventLoop();
    assert.throws(
      () => {
        loop.advance(-1);
      },
      {
        name: "RangeError",
        message: "seconds must be a finite number >= 0, got -1",
      },
    );
    assert.throws(
      () => {
        loop.advance(Number.NaN);
      },
      {
        name: "RangeError",
        message: "seconds must be a finite number >= 0, got NaN",
      },
    );
    assert.throws(
      () => {
        loop.advance(Infinity);
      },
      {
        name: "RangeError",
        message: "seconds must be a finite number >= 0, got Infinity",
      },
    );
    assert.throws(
      () => {
        loop.advance("1" as unknown as number);
      },
      {
        name: "RangeError",
        message: "seconds must be a finite number >= 0, got 1",
      },
    );
    assert.equal(loop.time(), 0);
    loop.close();
  });
});

describe("VirtualEventLoop deadlock detection", () => {
  it("fails the run with a DeadlockError listing the task and what it waits for", async () => {
    const loop = new VirtualEventLoop();
    const never = loop.createFuture<undefined>();
    function* waitForever(): Coro<void> {
      yield* never;
    }
    const task = loop.createTask(waitForever(), { name: "stuck" });
    let caught: unknown;
    try {
      await loop.runUntilComplete(task);
    } catch (error) {
      caught = error;
    }
    assert.ok(caught instanceof DeadlockError);
    assert.ok(caught instanceof RuntimeError);
    assert.equal(caught.name, "DeadlockError");
    assert.ok(
      caught.message.startsWith(`${DEADLOCK}1 task is blocked forever:\n  `),
      caught.message,
    );
    const line = caught.message.split("\n")[1] ?? "";
    assert.match(line, /^ {2}<Task pending name='stuck' wait_for=<Future pending cb=\[.*\]>.*>$/);
    assert.deepEqual(caught.tasks, [task]);
    assert.equal(loop.isRunning(), false);
    assert.equal(task.done(), false);
    // The loop is usable again: cancel the task and let it finish.
    task.cancel();
    await assert.rejects(loop.runUntilComplete(task), CancelledError);
    loop.close();
  });

  it("lists every blocked task", async () => {
    const loop = new VirtualEventLoop();
    const never = loop.createFuture<undefined>();
    function* waitForever(): Coro<void> {
      yield* never;
    }
    const first = loop.createTask(waitForever(), { name: "first" });
    const second = loop.createTask(waitForever(), { name: "second" });
    let caught: unknown;
    try {
      await loop.runUntilComplete(second);
    } catch (error) {
      caught = error;
    }
    assert.ok(isDeadlock(caught));
    const lines = caught.message.split("\n");
    assert.equal(lines[0], `${DEADLOCK}2 tasks are blocked forever:`);
    assert.match(lines[1] ?? "", /^ {2}<Task pending name='first' wait_for=<Future pending/);
    assert.match(lines[2] ?? "", /^ {2}<Task pending name='second' wait_for=<Future pending/);
    assert.deepEqual(new Set(caught.tasks), new Set([first, second]));
    never.cancel();
    await assert.rejects(loop.runUntilComplete(second), CancelledError);
    loop.close();
  });

  it("reports a run with nothing to do as a deadlock with no task", async () => {
    const loop = new VirtualEventLoop();
    await assert.rejects(loop.runForever(), {
      name: "DeadlockError",
      message: `${DEADLOCK}no task is pending`,
    });
    assert.equal(loop.isRunning(), false);
    loop.close();
  });

  it("treats a task sleeping forever as blocked", async () => {
    const loop = new VirtualEventLoop();
    const task = loop.createTask(sleep(Infinity), { name: "sleeper" });
    await assert.rejects(loop.runUntilComplete(task), (error: unknown) => {
      assert.ok(error instanceof DeadlockError);
      assert.deepEqual(error.tasks, [task]);
      return true;
    });
    task.cancel();
    await assert.rejects(loop.runUntilComplete(task), CancelledError);
    loop.close();
  });

  it("makes runVirtual() reject with the DeadlockError", async () => {
    await assert.rejects(
      runVirtual(function* () {
        const loop = getRunningLoop();
        yield* loop.createFuture<undefined>();
      }),
      (error: unknown) => isDeadlock(error) && error.tasks.length === 1,
    );
  });
});

describe("VirtualEventLoop with real I/O", () => {
  it("waits for an outstanding Promise without moving the clock (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const log: string[] = [];
      const sleeper = createTask(
        (function* (): Coro<void> {
          yield* sleep(100);
          log.push(`timer at ${now()}`);
        })(),
      );
      const started = performance.now();
      const value = yield* wrapPromise(delay(5, "io done"));
      assert.equal(value, "io done");
      assert.ok(performance.now() - started >= 4, "the Promise was not really waited for");
      assert.equal(now(), 0);
      assert.deepEqual(log, []);
      assert.equal(loop._hostOps, 0);
      yield* sleeper;
      assert.deepEqual(log, ["timer at 100"]);
    }));

  it("reports no deadlock while real I/O is outstanding (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const future: Future<string> = loop.createFuture<string>();
      setTimeout(() => {
        loop.callSoon(() => {
          future.setResult("from outside");
        });
      }, 2);
      // Nothing is ready and no timer is pending: only the outstanding Promise keeps the
      // run from being a deadlock.
      const outstanding = wrapPromise(delay(5));
      assert.equal(yield* future, "from outside");
      yield* outstanding;
      assert.equal(now(), 0);
    }));
});
