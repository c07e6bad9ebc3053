import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import { Context, ContextVar } from "../../src/index.ts";
import { VirtualEventLoop } from "../../src/testing.ts";
import { captureExceptions } from "../helpers/capture.ts";
import { runOnce } from "../helpers/loop.ts";

function noop(): void {}

function newLoop(debug = false): VirtualEventLoop {
  const loop = new VirtualEventLoop();
  loop.setDebug(debug);
  return loop;
}

describe("Handle", () => {
  // asyncio: test_handle_repr
  it("shows the callback's name in its repr", () => {
    const loop = newLoop();
    const handle = loop.callSoon(noop);
    assert.equal(String(handle), "<Handle noop()>");
    assert.equal(inspect(handle), "<Handle noop()>");
    loop.close();
  });

  it("shows an anonymous callback as <anonymous>() and a bound one by its name", () => {
    const loop = newLoop();
    assert.equal(String(loop.callSoon(() => {})), "<Handle <anonymous>()>");
    const target = {
      method(): void {},
    };
    assert.equal(String(loop.callSoon(target.method.bind(target))), "<Handle method()>");
    loop.close();
  });

  // asyncio: test_handle_repr (cancelled)
  it("shows only 'cancelled' once cancelled", () => {
    const loop = newLoop();
    const handle = loop.callSoon(noop);
    handle.cancel();
    assert.equal(String(handle), "<Handle cancelled>");
    loop.close();
  });

  // asyncio: test_handle_repr_debug
  it("keeps the callback in its repr when cancelled in debug mode", () => {
    const loop = newLoop(true);
    const handle = loop.callSoon(noop);
    handle.cancel();
    assert.equal(String(handle), "<Handle cancelled noop()>");
    loop.close();
  });

  it("cancel() is idempotent and drops the callback and its arguments", () => {
    const loop = newLoop();
    const handle = loop.callSoon((value: object) => value, { big: true });
    assert.equal(handle.cancelled(), false);
    handle.cancel();
    assert.equal(handle.cancelled(), true);
    assert.equal(handle._callback, null);
    assert.equal(handle._args, undefined);
    handle.cancel();
    assert.equal(handle.cancelled(), true);
    loop.close();
  });

  // asyncio: test_handle (callback called with its args)
  it("runs its callback once with its arguments", async () => {
    const loop = newLoop();
    const calls: unknown[][] = [];
    const handle = loop.callSoon((...args: unknown[]) => calls.push(args), 1, "two");
    await runOnce(loop);
    assert.deepEqual(calls, [[1, "two"]]);
    assert.equal(handle.cancelled(), false);
    await runOnce(loop);
    assert.deepEqual(calls, [[1, "two"]]);
    loop.close();
  });

  it("getContext() returns the Context the callback runs in", async () => {
    const loop = newLoop();
    const variable = new ContextVar<string>("variable", { default: "none" });
    const seen: string[] = [];
    const handle = loop.callSoon(() => {
      seen.push(variable.get());
      variable.set("set by callback");
    });
    const context = handle.getContext();
    assert.ok(context instanceof Context);
    context.run(() => variable.set("prepared"));
    await runOnce(loop);
    assert.deepEqual(seen, ["prepared"]);
    assert.equal(context.get(variable), "set by callback");
    assert.equal(variable.get(), "none");
    loop.close();
  });

  it("reports its callback's error to the loop with itself as the handle", async () => {
    const loop = newLoop();
    const seen = captureExceptions(loop);
    const error = new RangeError("bad");
    const handle = loop.callSoon(function fails(_a: number) {
      throw error;
    }, 1);
    await runOnce(loop);
    assert.deepEqual(seen, [
      { message: "Exception in callback fails()", exception: error, handle },
    ]);
    loop.close();
  });

  // asyncio: test_handle_source_traceback
  it("records where it was created in debug mode", () => {
    const loop = newLoop(true);
    const handle = loop.callSoon(noop);
    assert.match(handle._sourceTraceback ?? "", /handles\.test\.js/);
    loop.close();
  });
});

describe("TimerHandle", () => {
  // asyncio: test_when
  it("when() is the loop time it is scheduled for", () => {
    const loop = newLoop();
    assert.equal(loop.callAt(123, noop).when(), 123);
    assert.equal(loop.callLater(5, noop).when(), 5);
    loop.advance(2);
    assert.equal(loop.callLater(1.5, noop).when(), 3.5);
    assert.equal(loop.callLater(-1, noop).when(), 1);
    loop.close();
  });

  // asyncio: test_timer_repr
  it("shows its time and callback in its repr", () => {
    const loop = newLoop();
    const handle = loop.callAt(5, noop);
    assert.equal(String(handle), "<TimerHandle when=5 noop()>");
    assert.equal(inspect(handle), "<TimerHandle when=5 noop()>");
    handle.cancel();
    assert.equal(String(handle), "<TimerHandle cancelled when=5>");
    loop.close();
  });

  // asyncio: test_timer_repr_debug
  it("keeps the callback in its repr when cancelled in debug mode", () => {
    const loop = newLoop(true);
    const handle = loop.callAt(5, noop);
    handle.cancel();
    assert.equal(String(handle), "<TimerHandle cancelled when=5 noop()>");
    loop.close();
  });

  it("cancel() tells the loop once, so the heap counts it as cancelled", () => {
    const loop = newLoop();
    const handle = loop.callLater(10, noop);
    assert.equal(loop._stats().cancelledTimers, 0);
    handle.cancel();
    assert.equal(handle.cancelled(), true);
    assert.equal(loop._stats().cancelledTimers, 1);
    handle.cancel();
    assert.equal(loop._stats().cancelledTimers, 1);
    loop.close();
  });

  it("cancel() after the timer ran does not count as a cancelled timer", async () => {
    const loop = newLoop();
    const log: string[] = [];
    const handle = loop.callLater(0, () => log.push("ran"));
    await runOnce(loop);
    handle.cancel();
    assert.deepEqual(log, ["ran"]);
    assert.deepEqual(loop._stats(), { ready: 0, timers: 0, cancelledTimers: 0 });
    loop.close();
  });

  // asyncio: test_timer
  it("runs its callback with its arguments when its time comes", async () => {
    const loop = newLoop();
    const calls: [number, string][] = [];
    loop.callLater(2, (a: number, b: string) => calls.push([a, b]), 1, "x");
    loop.callLater(2, () => {
      loop.stop();
    });
    await loop.runForever();
    assert.deepEqual(calls, [[1, "x"]]);
    assert.equal(loop.time(), 2);
    loop.close();
  });
});
