// Tests for src/shield.ts. Ported from CPython's test_tasks.py (test_shield_*,
// test_gather_shield); every ordering and time was checked against CPython 3.13.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  RuntimeError,
  createTask,
  gather,
  getRunningLoop,
  shield,
  sleep,
  type Coro,
} from "../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../src/testing.ts";
import { reportsAfterCollecting } from "./helpers/capture.ts";
import { now, thrownBy } from "./helpers/coro.ts";
import { ZeroDivisionError, caught } from "./helpers/errors.ts";

describe("shield", () => {
  it("gives the inner Future's result", () =>
    // asyncio: test_shield_result
    runVirtual(function* () {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      assert.notEqual(outer, inner);
      inner.setResult(42);
      assert.equal(yield* outer, 42);
    }));

  it("fails with the inner Future's error", () =>
    // asyncio: test_shield_exception
    runVirtual(function* () {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      yield* sleep(0);
      const error = new RuntimeError("expected");
      inner.setException(error);
      yield* sleep(0);
      assert.equal(outer.exception(), error);
    }));

  it("passes the inner Task's error to the task awaiting it", () =>
    runVirtual(function* () {
      function* bad(): Coro<never> {
        yield* sleep(0.1);
        throw new ZeroDivisionError("zz");
      }
      const error = yield* thrownBy(shield(bad()));
      assert.ok(error instanceof ZeroDivisionError);
      assert.equal(error.message, "zz");
      assert.equal(now(), 0.1);
    }));

  it("is cancelled, without the message, when the inner Future is cancelled", () =>
    // asyncio: test_shield_cancel_inner
    runVirtual(function* () {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      yield* sleep(0);
      inner.cancel("msg");
      yield* sleep(0);
      assert.equal(outer.cancelled(), true);
      const error = caught(() => outer.result());
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "");
    }));

  it("is cancelled alone and drops its callback from the inner Future when cancelled", () =>
    // asyncio: test_shield_cancel_outer
    runVirtual(function* () {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      assert.equal(outer.toString(), "<Future pending cb=[onOuterDone()]>");
      assert.equal(inner.toString(), "<Future pending cb=[onInnerDone()]>");
      yield* sleep(0);
      assert.equal(outer.cancel("outer msg"), true);
      yield* sleep(0);
      assert.equal(outer.cancelled(), true);
      assert.equal(outer.toString(), "<Future cancelled>");
      assert.equal(inner.toString(), "<Future pending>");
      assert.equal(outer.cancel(), false);
      const error = caught(() => outer.result());
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "outer msg");
      inner.setResult(1);
      yield* sleep(0);
      assert.equal(outer.cancelled(), true);
    }));

  it("returns a Future that is done already as is", () =>
    // asyncio: test_shield_shortcut
    runVirtual(function* () {
      const fut = getRunningLoop().createFuture<number>();
      fut.setResult(42);
      const same = shield(fut);
      assert.equal(same, fut);
      assert.equal(yield* same, 42);
      const failed = getRunningLoop().createFuture<number>();
      failed.setException(new ZeroDivisionError());
      assert.equal(shield(failed), failed);
      failed.exception();
    }));

  it("lets the inner coroutine finish when the task awaiting the shield is cancelled", () =>
    // asyncio: test_shield_effect
    runVirtual(function* () {
      let proof = 0;
      const waiter = getRunningLoop().createFuture<undefined>();
      function* inner(): Coro<void> {
        yield* waiter;
        proof += 1;
      }
      function* outer(): Coro<void> {
        yield* shield(inner());
        proof += 100;
      }
      const f = createTask(outer());
      yield* sleep(0);
      f.cancel();
      assert.ok((yield* thrownBy(f)) instanceof CancelledError);
      waiter.setResult(undefined);
      yield* sleep(0);
      assert.equal(proof, 1);
    }));

  it("cancels the awaiting task at once while the inner Task runs to its end", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* work(): Coro<string> {
        yield* sleep(0.2);
        log.push(`work done at ${now()}`);
        return "w";
      }
      const w = createTask(work());
      function* waiter(): Coro<string> {
        try {
          return yield* shield(w);
        } catch (error) {
          log.push(`waiter cancelled at ${now()} ${String(error)}`);
          throw error;
        }
      }
      const wt = createTask(waiter());
      getRunningLoop().callLater(0.1, () => {
        wt.cancel("bye");
      });
      const error = yield* thrownBy(wt);
      assert.ok(error instanceof CancelledError);
      log.push(`main sees cancel at ${now()}`);
      assert.equal(yield* w, "w");
      assert.deepEqual(log, [
        "waiter cancelled at 0.1 CancelledError: bye",
        "main sees cancel at 0.1",
        "work done at 0.2",
      ]);
      assert.equal(now(), 0.2);
    }));

  it("keeps a gather running when the shield around it is cancelled", () =>
    // asyncio: test_shield_gather
    runVirtual(function* () {
      const child1 = getRunningLoop().createFuture<number>();
      const child2 = getRunningLoop().createFuture<number>();
      const parent = gather(child1, child2);
      const outer = shield(parent);
      yield* sleep(0);
      outer.cancel();
      yield* sleep(0);
      assert.equal(outer.cancelled(), true);
      child1.setResult(1);
      child2.setResult(2);
      yield* sleep(0);
      assert.deepEqual(parent.result(), [1, 2]);
    }));

  it("cancels the shields but not what they protect when a gather of shields is cancelled", () =>
    // asyncio: test_gather_shield
    runVirtual(function* () {
      const child1 = getRunningLoop().createFuture<number>();
      const child2 = getRunningLoop().createFuture<number>();
      const inner1 = shield(child1);
      const inner2 = shield(child2);
      const parent = gather(inner1, inner2);
      yield* sleep(0);
      assert.equal(parent.cancel(), true);
      // This cancels inner1 and inner2 but not child1 and child2.
      yield* sleep(0);
      assert.ok(parent.exception() instanceof CancelledError);
      assert.equal(parent.cancelled(), false);
      assert.equal(inner1.cancelled(), true);
      assert.equal(inner2.cancelled(), true);
      assert.equal(child1.cancelled(), false);
      assert.equal(child2.cancelled(), false);
      child1.setResult(1);
      child2.setResult(2);
      yield* sleep(0);
    }));

  it("wraps a coroutine in a Task of the running loop", () =>
    // asyncio: test_shield_coroutine_use_running_loop
    runVirtual(function* () {
      function* coro(): Coro<number> {
        yield* sleep(0);
        return 42;
      }
      const outer = shield(coro());
      assert.equal(outer.getLoop(), getRunningLoop());
      assert.equal(yield* outer, 42);
    }));

  it("binds to the loop of the Future it protects", () => {
    const loop = new VirtualEventLoop();
    const inner = loop.createFuture<number>();
    const outer = shield(inner);
    assert.equal(outer.getLoop(), loop);
    inner.cancel();
    loop.close();
  });

  it("throws RuntimeError for a coroutine outside a running loop", () => {
    // asyncio: test_shield_coroutine_without_loop
    const error = caught(() => shield(sleep(0, 42)));
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, "no running event loop");
  });

  it("throws TypeError for something not awaitable", () =>
    runVirtual(function* () {
      const error = caught(() => shield(5 as never));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "a Future, a coroutine or an awaitable is required, got 5");
      yield* sleep(0);
    }));

  it("marks the inner error retrieved when it fails in the iteration the shield is cancelled", async () => {
    const reports = await reportsAfterCollecting(function* () {
      const inner = getRunningLoop().createFuture<number>();
      const outer = shield(inner);
      outer.cancel();
      inner.setException(new RuntimeError("same iteration"));
      yield* sleep(0);
      yield* sleep(0);
      assert.equal(outer.cancelled(), true);
    });
    assert.deepEqual(reports, []);
  });

  it("leaves the inner error unretrieved when it fails after the shield was cancelled", async () => {
    // As asyncio: the shield no longer watches the inner Task; whoever keeps it must read it.
    const reports = await reportsAfterCollecting(function* () {
      function* inner(): Coro<never> {
        yield* sleep(0.1);
        throw new RuntimeError("inner fails");
      }
      function* outer(): Coro<void> {
        yield* shield(inner());
      }
      const task = createTask(outer());
      yield* sleep(0);
      task.cancel();
      assert.ok((yield* thrownBy(task)) instanceof CancelledError);
      yield* sleep(0.2);
    });
    assert.deepEqual(
      reports.map((context) => `${context.message}: ${String(context.exception)}`),
      ["Task exception was never retrieved: RuntimeError: inner fails"],
    );
  });
});
