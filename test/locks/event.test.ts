// Tests for src/locks/event.ts. Ported from CPython's test_locks.py (EventTests).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  type Coro,
  type Task,
} from "../../src/index.ts";
import { Event } from "../../src/locks/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { thrownBy } from "../helpers/coro.ts";

describe("Event", () => {
  // asyncio: test_repr
  it("shows its flag and waiter count in its repr", () =>
    runVirtual(function* () {
      const event = new Event();
      assert.equal(String(event), "<Event [unset]>");
      assert.equal(inspect(event), "<Event [unset]>");
      const waiter = createTask(event.wait());
      yield* sleep(0);
      assert.equal(String(event), "<Event [unset, waiters:1]>");
      event.set();
      assert.equal(String(event), "<Event [set, waiters:1]>");
      yield* waiter;
      assert.equal(String(event), "<Event [set]>");
    }));

  // asyncio: test_wait
  it("wakes every waiter on set(), after a task created meanwhile that finds it set", () =>
    runVirtual(function* () {
      const event = new Event();
      assert.equal(event.isSet(), false);
      const result: number[] = [];
      function* c(n: number): Coro<void> {
        assert.equal(yield* event.wait(), true);
        result.push(n);
      }
      const t1 = createTask(c(1));
      const t2 = createTask(c(2));
      yield* sleep(0);
      assert.deepEqual(result, []);
      const t3 = createTask(c(3));
      event.set();
      yield* sleep(0);
      assert.deepEqual(result, [3, 1, 2]);
      for (const task of [t1, t2, t3]) {
        assert.equal(task.done(), true);
        assert.equal((task as Task<unknown>).result(), undefined);
      }
    }));

  // asyncio: test_wait_on_set
  it("returns true at once when the flag is already set", () =>
    runVirtual(function* () {
      const event = new Event();
      event.set();
      const loop = getRunningLoop();
      let ticked = false;
      loop.callSoon(() => {
        ticked = true;
      });
      assert.equal(yield* event.wait(), true);
      assert.equal(ticked, false);
    }));

  // asyncio: test_wait_cancel
  it("removes the waiter of a cancelled wait", () =>
    runVirtual(function* () {
      const event = new Event();
      const wait = createTask(event.wait());
      getRunningLoop().callSoon(() => wait.cancel());
      assert.ok((yield* thrownBy(wait)) instanceof CancelledError);
      assert.equal(String(event), "<Event [unset]>");
    }));

  it("a cancelled waiter leaves the other waiters in place", () =>
    runVirtual(function* () {
      const event = new Event();
      const first = createTask(event.wait());
      const second = createTask(event.wait());
      yield* sleep(0);
      first.cancel();
      yield* sleep(0);
      assert.equal(String(event), "<Event [unset, waiters:1]>");
      event.set();
      assert.equal(yield* second, true);
      assert.ok((yield* thrownBy(first)) instanceof CancelledError);
    }));

  // asyncio: test_clear
  it("clear() lowers the flag", () => {
    const event = new Event();
    assert.equal(event.isSet(), false);
    event.set();
    assert.equal(event.isSet(), true);
    event.clear();
    assert.equal(event.isSet(), false);
  });

  // asyncio: test_clear_with_waiters
  it("a waiter woken by set() returns true even if clear() runs before it does", () =>
    runVirtual(function* () {
      const event = new Event();
      const result: number[] = [];
      const task = createTask(
        (function* (): Coro<boolean> {
          assert.equal(yield* event.wait(), true);
          result.push(1);
          return true;
        })(),
      );
      yield* sleep(0);
      assert.deepEqual(result, []);
      event.set();
      event.clear();
      assert.equal(event.isSet(), false);
      event.set();
      event.set();
      assert.equal(String(event), "<Event [set, waiters:1]>");
      yield* sleep(0);
      assert.deepEqual(result, [1]);
      assert.equal(String(event), "<Event [set]>");
      assert.equal(task.result(), true);
    }));

  it("blocks wait() again after clear()", () =>
    runVirtual(function* () {
      const event = new Event();
      event.set();
      event.clear();
      const waiter = createTask(event.wait());
      yield* sleep(5);
      assert.equal(waiter.done(), false);
      event.set();
      assert.equal(yield* waiter, true);
      assert.equal(getRunningLoop().time(), 5);
    }));

  it("refuses to make a task wait on a loop other than the one it is bound to", async () => {
    const event = new Event();
    await runVirtual(function* () {
      const waiter = createTask(event.wait());
      yield* sleep(0);
      event.set();
      yield* waiter;
      event.clear();
    });
    await runVirtual(function* () {
      const error = yield* thrownBy(event.wait());
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "<Event [unset]> is bound to a different event loop");
      // Once set, wait() needs no loop.
      event.set();
      assert.equal(yield* event.wait(), true);
    });
  });

  it("throws RuntimeError when waiting outside a running loop", () => {
    const event = new Event();
    assert.throws(() => event.wait().next(), {
      name: "RuntimeError",
      message: "no running event loop",
    });
  });
});
