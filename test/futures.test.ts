// Tests for src/futures.ts: Future state, callbacks, reprs, awaiting (yield* and then), and
// the "exception was never retrieved" report. Ported from CPython's test_futures.py and
// test_futures2.py where a scenario applies.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  Context,
  ContextVar,
  Future,
  InvalidStateError,
  RuntimeError,
  createTask,
  getRunningLoop,
  isFuture,
  sleep,
  wrapPromise,
  type BaseEventLoop,
  type Coro,
  type ExceptionContext,
} from "../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../src/testing.ts";
import { captureExceptions, collectUntil } from "./helpers/capture.ts";
import { thrownBy } from "./helpers/coro.ts";
import { throwsExactly } from "./helpers/errors.ts";

/** A pending Future on a loop that is not running. */
function idleFuture<T>(): Future<T> {
  return new VirtualEventLoop().createFuture<T>();
}

describe("Future", () => {
  it("throws RuntimeError when constructed with no running loop and no loop given", () => {
    // asyncio: test_constructor_without_loop
    throwsExactly(() => new Future<number>(), RuntimeError, "no running event loop");
  });

  it("binds to the running loop when constructed inside one", () =>
    // asyncio: test_constructor_use_running_loop
    runVirtual(function* (): Coro<void> {
      const future = new Future<number>();
      assert.equal(future.getLoop(), getRunningLoop());
      future.cancel();
    }));

  it("binds to the loop given in the options", () => {
    const loop = new VirtualEventLoop();
    const future = new Future<number>({ loop });
    assert.equal(future.getLoop(), loop);
    assert.equal(loop.createFuture().getLoop(), loop);
  });

  it("starts pending: not done, not cancelled", () => {
    // asyncio: test_initial_state
    const future = idleFuture<number>();
    assert.equal(future.done(), false);
    assert.equal(future.cancelled(), false);
    future.cancel();
    assert.equal(future.cancelled(), true);
  });

  it("throws InvalidStateError from result() and exception() while pending", () => {
    // asyncio: test_result
    const future = idleFuture<number>();
    throwsExactly(() => future.result(), InvalidStateError, "Result is not ready.");
    throwsExactly(() => future.exception(), InvalidStateError, "Exception is not set.");
  });

  it("is cancelled by cancel(), which then returns false", () => {
    // asyncio: test_cancel
    const future = idleFuture<number>();
    assert.equal(future.cancel(), true);
    assert.equal(future.cancelled(), true);
    assert.equal(future.done(), true);
    assert.throws(() => future.result(), CancelledError);
    assert.throws(() => future.exception(), CancelledError);
    throwsExactly(
      () => {
        future.setResult(1);
      },
      InvalidStateError,
      "CANCELLED: <Future cancelled>",
    );
    throwsExactly(
      () => {
        future.setException(new Error("x"));
      },
      InvalidStateError,
      "CANCELLED: <Future cancelled>",
    );
    assert.equal(future.cancel(), false);
  });

  it("holds the result given to setResult", () => {
    // asyncio: test_result
    const future = idleFuture<number>();
    future.setResult(42);
    assert.equal(future.cancelled(), false);
    assert.equal(future.done(), true);
    assert.equal(future.result(), 42);
    assert.equal(future.exception(), null);
    throwsExactly(
      () => {
        future.setResult(1);
      },
      InvalidStateError,
      "FINISHED: <Future finished result=42>",
    );
    throwsExactly(
      () => {
        future.setException(new Error("x"));
      },
      InvalidStateError,
      "FINISHED: <Future finished result=42>",
    );
    assert.equal(future.cancel(), false);
    assert.equal(future.result(), 42);
  });

  it("holds the error given to setException and throws it from result()", () => {
    // asyncio: test_exception
    const error = new RuntimeError("boom");
    const future = idleFuture<number>();
    future.setException(error);
    assert.equal(future.cancelled(), false);
    assert.equal(future.done(), true);
    assert.throws(
      () => future.result(),
      (thrown: unknown) => thrown === error,
    );
    assert.equal(future.exception(), error);
    assert.throws(() => {
      future.setResult(1);
    }, InvalidStateError);
    assert.throws(() => {
      future.setException(new Error("x"));
    }, InvalidStateError);
    assert.equal(future.cancel(), false);
  });

  it("instantiates an error class given to setException", () => {
    // asyncio: test_exception_class
    const future = idleFuture<number>();
    future.setException(RuntimeError);
    const error = future.exception();
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, "");
  });

  it("stores a falsy non-Error value given to setException as the error", () => {
    const future = idleFuture<number>();
    future.setException(0);
    assert.equal(future.exception(), 0);
    assert.throws(
      () => future.result(),
      (thrown: unknown) => thrown === 0,
    );
  });

  it("carries the cancel() message into every CancelledError", () => {
    // asyncio: test_future_cancel_message_getter
    const future = idleFuture<number>();
    future.cancel("my message");
    for (const read of [() => future.result(), () => future.exception()]) {
      throwsExactly(read, CancelledError, "my message");
    }
  });

  it("raises a CancelledError with an empty message when cancelled without one", () => {
    const future = idleFuture<number>();
    future.cancel();
    throwsExactly(() => future.result(), CancelledError, "");
  });

  it("raises a new CancelledError on every read", () => {
    const future = idleFuture<number>();
    future.cancel("again");
    const errors: unknown[] = [];
    for (let i = 0; i < 2; i++) {
      try {
        future.result();
      } catch (error) {
        errors.push(error);
      }
    }
    assert.equal(errors.length, 2);
    assert.notEqual(errors[0], errors[1]);
  });

  it("throws the cancel() message into a task that awaits it", () =>
    // asyncio: test_future_cancel_message_getter
    runVirtual(function* (): Coro<void> {
      const future = getRunningLoop().createFuture<number>();
      getRunningLoop().callSoon(() => future.cancel("my message"));
      const error = yield* thrownBy(future);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "my message");
    }));

  it("rejects a non-function callback", () => {
    const future = idleFuture<number>();
    assert.throws(
      () => {
        future.addDoneCallback(1 as unknown as () => void);
      },
      { name: "TypeError", message: "callback must be a function, got 1" },
    );
  });
});

describe("Future repr", () => {
  function firstCb(): void {}
  function lastCb(): void {}
  function fakeFunc(): void {}

  it("shows the state and the result", () => {
    // asyncio: test_future_repr
    const pending = idleFuture<number>();
    assert.equal(String(pending), "<Future pending>");
    const cancelled = idleFuture<number>();
    cancelled.cancel();
    assert.equal(String(cancelled), "<Future cancelled>");
    const finished = idleFuture<number>();
    finished.setResult(4);
    assert.equal(String(finished), "<Future finished result=4>");
    const text = idleFuture<string>();
    text.setResult("abc");
    assert.equal(String(text), "<Future finished result='abc'>");
  });

  it("shows the error on one line, as asyncio's repr of it", () => {
    // asyncio: test_future_repr
    const bare = idleFuture<number>();
    bare.setException(new RuntimeError());
    assert.equal(String(bare), "<Future finished exception=RuntimeError()>");
    const withMessage = idleFuture<number>();
    withMessage.setException(new RuntimeError("boom"));
    assert.equal(String(withMessage), "<Future finished exception=RuntimeError('boom')>");
  });

  it("lists one or two pending callbacks by name", () => {
    // asyncio: test_future_repr
    const one = idleFuture<number>();
    one.addDoneCallback(fakeFunc);
    assert.equal(String(one), "<Future pending cb=[fakeFunc()]>");
    one.cancel();
    assert.equal(String(one), "<Future cancelled>");
    const two = idleFuture<number>();
    two.addDoneCallback(firstCb);
    two.addDoneCallback(lastCb);
    assert.equal(String(two), "<Future pending cb=[firstCb(), lastCb()]>");
  });

  it("abbreviates more than two callbacks to first, count, last", () => {
    // asyncio: test_future_repr
    const three = idleFuture<number>();
    three.addDoneCallback(firstCb);
    three.addDoneCallback(fakeFunc);
    three.addDoneCallback(lastCb);
    assert.equal(String(three), "<Future pending cb=[firstCb(), <1 more>, lastCb()]>");
    const many = idleFuture<number>();
    many.addDoneCallback(firstCb);
    for (let i = 0; i < 8; i++) many.addDoneCallback(fakeFunc);
    many.addDoneCallback(lastCb);
    assert.equal(String(many), "<Future pending cb=[firstCb(), <8 more>, lastCb()]>");
    many.cancel();
    assert.equal(String(many), "<Future cancelled>");
  });
});

describe("isFuture", () => {
  it("is true for Futures and Tasks only", () =>
    // asyncio: test_isfuture
    runVirtual(function* (): Coro<void> {
      const future = getRunningLoop().createFuture<number>();
      assert.equal(isFuture(future), true);
      assert.equal(isFuture(Future), false);
      assert.equal(isFuture(1), false);
      assert.equal(isFuture({ then() {} }), false);
      assert.equal(isFuture(Promise.resolve(1)), false);
      const task = createTask(sleep(0));
      assert.equal(isFuture(task), true);
      yield* task;
      future.cancel();
    }));
});

describe("Future.addDoneCallback", () => {
  function bagAppender(bag: unknown[], thing: unknown): () => void {
    return function bagAppender() {
      bag.push(thing);
    };
  }

  it("runs the callbacks on the next iteration, in registration order, never inside setResult", () =>
    // asyncio: test_callbacks_invoked_on_set_result
    runVirtual(function* (): Coro<void> {
      const bag: number[] = [];
      const future = getRunningLoop().createFuture<string>();
      future.addDoneCallback(bagAppender(bag, 42));
      future.addDoneCallback(bagAppender(bag, 17));
      future.setResult("foo");
      assert.deepEqual(bag, []);
      yield* sleep(0);
      assert.deepEqual(bag, [42, 17]);
      assert.equal(future.result(), "foo");
    }));

  it("runs the callbacks on the next iteration after setException", () =>
    // asyncio: test_callbacks_invoked_on_set_exception
    runVirtual(function* (): Coro<void> {
      const bag: number[] = [];
      const future = getRunningLoop().createFuture<string>();
      future.addDoneCallback(bagAppender(bag, 100));
      const error = new RuntimeError();
      future.setException(error);
      assert.deepEqual(bag, []);
      yield* sleep(0);
      assert.deepEqual(bag, [100]);
      assert.equal(future.exception(), error);
    }));

  it("runs the callbacks on the next iteration after cancel", () =>
    runVirtual(function* (): Coro<void> {
      const seen: boolean[] = [];
      const future = getRunningLoop().createFuture<string>();
      future.addDoneCallback((f) => seen.push(f.cancelled()));
      future.cancel();
      assert.deepEqual(seen, []);
      yield* sleep(0);
      assert.deepEqual(seen, [true]);
    }));

  it("passes the Future itself to the callback", () =>
    runVirtual(function* (): Coro<void> {
      const future = getRunningLoop().createFuture<number>();
      const got: Future<number>[] = [];
      future.addDoneCallback((f) => got.push(f));
      future.setResult(1);
      yield* sleep(0);
      assert.equal(got.length, 1);
      assert.equal(got[0], future);
    }));

  it("schedules a callback added to a done Future for the next iteration", () =>
    runVirtual(function* (): Coro<void> {
      const log: string[] = [];
      const loop = getRunningLoop();
      const future = loop.createFuture<number>();
      future.setResult(1);
      loop.callSoon(() => log.push("earlier callSoon"));
      future.addDoneCallback(() => log.push("done-callback"));
      assert.deepEqual(log, []);
      yield* sleep(0);
      assert.deepEqual(log, ["earlier callSoon", "done-callback"]);
    }));

  it("runs the callback in the Context given", () =>
    runVirtual(function* (): Coro<void> {
      const variable = new ContextVar<string>("variable", { default: "outer" });
      const context = new Context();
      context.run(() => variable.set("inside"));
      const seen: string[] = [];
      const future = getRunningLoop().createFuture<number>();
      future.addDoneCallback(
        () => {
          seen.push(variable.get());
          variable.set("changed by callback");
        },
        { context },
      );
      future.setResult(1);
      yield* sleep(0);
      assert.deepEqual(seen, ["inside"]);
      assert.equal(context.get(variable), "changed by callback");
      assert.equal(variable.get(), "outer");
    }));

  it("runs the callback in a copy of the Context current when it was added", () =>
    runVirtual(function* (): Coro<void> {
      const variable = new ContextVar<string>("variable");
      variable.set("at add");
      const seen: string[] = [];
      const future = getRunningLoop().createFuture<number>();
      future.addDoneCallback(() => {
        seen.push(variable.get());
        variable.set("changed by callback");
      });
      variable.set("at setResult");
      future.setResult(1);
      yield* sleep(0);
      assert.deepEqual(seen, ["at add"]);
      assert.equal(variable.get(), "at setResult");
    }));

  it("survives a callback that removes other callbacks while they are scheduled", () =>
    // asyncio: test_schedule_callbacks_list_mutation_1
    runVirtual(function* (): Coro<void> {
      const log: string[] = [];
      const future = getRunningLoop().createFuture<number>();
      const other = (): void => {
        log.push("other");
      };
      future.addDoneCallback((f) => {
        log.push(`removed ${f.removeDoneCallback(other)}`);
      });
      future.addDoneCallback(other);
      future.addDoneCallback(other);
      future.setResult(1);
      yield* sleep(0);
      assert.deepEqual(log, ["removed 0", "other", "other"]);
    }));

  it("schedules a callback added from another done-callback for the following iteration", () =>
    runVirtual(function* (): Coro<void> {
      const log: string[] = [];
      const future = getRunningLoop().createFuture<number>();
      future.addDoneCallback((f) => {
        log.push("first");
        f.addDoneCallback(() => log.push("added late"));
      });
      future.addDoneCallback(() => log.push("second"));
      future.setResult(1);
      yield* sleep(0);
      assert.deepEqual(log, ["first", "second"]);
      yield* sleep(0);
      assert.deepEqual(log, ["first", "second", "added late"]);
    }));
});

describe("Future.removeDoneCallback", () => {
  function bagAppender(bag: unknown[], thing: unknown): () => void {
    return () => {
      bag.push(thing);
    };
  }

  function* removeAndRun(remove: readonly number[]): Coro<number[]> {
    const bag: number[] = [];
    const future = getRunningLoop().createFuture<string>();
    const callbacks = [bagAppender(bag, 42), bagAppender(bag, 17), bagAppender(bag, 100)];
    for (const callback of callbacks) future.addDoneCallback(callback);
    for (const index of remove) future.removeDoneCallback(callbacks[index]!);
    assert.deepEqual(bag, []);
    future.setResult("foo");
    yield* sleep(0);
    assert.equal(future.result(), "foo");
    return bag;
  }

  it("removes the first callback", () =>
    // asyncio: test_callbacks_remove_first_callback
    runVirtual(function* (): Coro<void> {
      assert.deepEqual(yield* removeAndRun([0, 0]), [17, 100]);
    }));

  it("removes the first and second callbacks", () =>
    // asyncio: test_callbacks_remove_first_and_second_callback
    runVirtual(function* (): Coro<void> {
      assert.deepEqual(yield* removeAndRun([0, 1, 0]), [100]);
    }));

  it("removes the third callback", () =>
    // asyncio: test_callbacks_remove_third_callback
    runVirtual(function* (): Coro<void> {
      assert.deepEqual(yield* removeAndRun([2, 2]), [42, 17]);
    }));

  it("removes every registration of the callback and returns how many there were", () =>
    // asyncio: test_remove_done_callback
    runVirtual(function* (): Coro<void> {
      const bag: number[] = [];
      const future = getRunningLoop().createFuture<string>();
      const cb1 = bagAppender(bag, 1);
      const cb2 = bagAppender(bag, 2);
      const cb3 = bagAppender(bag, 3);
      future.addDoneCallback(cb1);
      future.addDoneCallback(cb2);
      assert.equal(future.removeDoneCallback(cb2), 1);
      assert.equal(future.removeDoneCallback(cb3), 0);
      future.addDoneCallback(cb2);
      for (let i = 0; i < 5; i++) future.addDoneCallback(cb1);
      assert.equal(future.removeDoneCallback(cb1), 6);
      assert.deepEqual(bag, []);
      future.setResult("foo");
      yield* sleep(0);
      assert.deepEqual(bag, [2]);
      assert.equal(future.result(), "foo");
    }));

  it("returns 0 once the callbacks were scheduled", () =>
    runVirtual(function* (): Coro<void> {
      const bag: number[] = [];
      const future = getRunningLoop().createFuture<string>();
      const callback = bagAppender(bag, 1);
      future.addDoneCallback(callback);
      future.setResult("foo");
      assert.equal(future.removeDoneCallback(callback), 0);
      yield* sleep(0);
      assert.deepEqual(bag, [1]);
    }));
});

describe("Future iteration (yield*)", () => {
  it("yields a pending Future once, and each later yield* returns the result at once", () => {
    // asyncio: test_yield_from_twice
    const future = idleFuture<number>();
    function* fixture(): Generator<unknown, void, unknown> {
      yield "A";
      const x = yield* future;
      yield ["B", x];
      const y = yield* future;
      yield ["C", y];
    }
    const gen = fixture();
    assert.equal(gen.next().value, "A");
    assert.equal(gen.next().value, future);
    future.setResult(42);
    assert.deepEqual(gen.next().value, ["B", 42]);
    assert.deepEqual(gen.next().value, ["C", 42]);
    assert.equal(gen.next().done, true);
  });

  it("yields the Future itself, then throws RuntimeError if resumed while still pending", () => {
    // asyncio: test_iter
    const future = idleFuture<number>();
    const iterator = future[Symbol.iterator]();
    assert.deepEqual(step(iterator.next()), { done: false, value: future });
    throwsExactly(() => iterator.next(), RuntimeError, "await wasn't used with future");
    future.cancel();
  });

  it("throws RuntimeError when a coroutine awaiting it is iterated without a Task", () => {
    // asyncio: test_iter
    const future = idleFuture<number>();
    function* coro(): Coro<number> {
      return yield* future;
    }
    throwsExactly(
      () => {
        const [_first, _second] = coro();
      },
      RuntimeError,
      "await wasn't used with future",
    );
    future.cancel();
  });

  it("returns the result on the next step once the Future is done", () => {
    const future = idleFuture<number>();
    const iterator = future[Symbol.iterator]();
    assert.equal(iterator.next().value, future);
    future.setResult(7);
    assert.deepEqual(step(iterator.next()), { done: true, value: 7 });
  });

  it("returns a done Future's result without yielding", () => {
    // asyncio: test_future_stop_iteration_args
    const future = idleFuture<[number, number]>();
    future.setResult([1, 2]);
    assert.deepEqual(step(future[Symbol.iterator]().next()), { done: true, value: [1, 2] });
  });

  it("throws a failed Future's error without yielding", () => {
    const error = new RuntimeError("boom");
    const future = idleFuture<number>();
    future.setException(error);
    assert.throws(
      () => future[Symbol.iterator]().next(),
      (thrown: unknown) => thrown === error,
    );
  });

  it("throws CancelledError for a cancelled Future without yielding", () => {
    const future = idleFuture<number>();
    future.cancel("stop");
    throwsExactly(() => future[Symbol.iterator]().next(), CancelledError, "stop");
  });

  it("lets an error thrown into the iterator propagate", () => {
    // asyncio: test_future_iter_throw
    const future = idleFuture<number>();
    const iterator = future[Symbol.iterator]();
    iterator.next();
    const error = new Error("zebra");
    assert.throws(
      () => iterator.throw(error),
      (thrown: unknown) => thrown === error,
    );
    future.cancel();
  });

  it("suspends a task until the Future is done and returns its result", () =>
    runVirtual(function* (): Coro<void> {
      const loop = getRunningLoop();
      const log: string[] = [];
      const future = loop.createFuture<number>();
      loop.callLater(1, () => {
        log.push("set");
        future.setResult(5);
      });
      const value = yield* future;
      log.push(`got ${value}`);
      assert.deepEqual(log, ["set", "got 5"]);
      assert.equal(loop.time(), 1);
    }));

  it("throws the same error, with an unchanged stack, each time a failed task is awaited", () =>
    // asyncio: test_future_traceback
    runVirtual(function* (): Coro<void> {
      function* raiseExc(): Coro<never> {
        yield* sleep(0);
        throw new TypeError("42");
      }
      const task = createTask(raiseExc());
      const errors: unknown[] = [];
      const stacks: (string | undefined)[] = [];
      for (let i = 0; i < 5; i++) {
        const error = yield* thrownBy(task);
        assert.ok(error instanceof TypeError);
        errors.push(error);
        stacks.push(error.stack);
      }
      assert.ok(errors.every((error) => error === errors[0]));
      assert.ok(stacks.every((stack) => stack === stacks[0]));
      assert.equal(stacks[0]?.match(/at raiseExc \(/g)?.length, 1);
    }));
});

describe("Future.then", () => {
  it("lets async code await a pending Future until the loop sets its result", () =>
    runVirtual(function* (): Coro<void> {
      const loop = getRunningLoop();
      const future = loop.createFuture<number>();
      const viaAsync = (async () => (await future) + 1)();
      loop.callSoon(() => {
        future.setResult(41);
      });
      assert.equal(yield* wrapPromise(viaAsync), 42);
    }));

  it("rejects async code with the Future's error", () =>
    runVirtual(function* (): Coro<void> {
      const loop = getRunningLoop();
      const error = new RuntimeError("boom");
      const future = loop.createFuture<number>();
      const viaAsync = (async () => {
        try {
          await future;
        } catch (thrown) {
          return thrown;
        }
        return "no error";
      })();
      loop.callSoon(() => {
        future.setException(error);
      });
      assert.equal(yield* wrapPromise(viaAsync), error);
    }));

  it("rejects async code with CancelledError, with the message, when the Future is cancelled", () =>
    runVirtual(function* (): Coro<void> {
      const loop = getRunningLoop();
      const future = loop.createFuture<number>();
      const viaAsync = (async () => {
        try {
          await future;
        } catch (thrown) {
          return thrown;
        }
        return "no error";
      })();
      loop.callSoon(() => future.cancel("bye"));
      const error = yield* wrapPromise(viaAsync);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "bye");
    }));

  it("settles only once the loop has run the Future's callbacks", async () => {
    const loop = new VirtualEventLoop();
    const future = loop.createFuture<number>();
    const log: string[] = [];
    const settled = future.then((value) => log.push(`then ${value}`));
    future.addDoneCallback(() => log.push("done-callback"));
    future.setResult(3);
    for (let i = 0; i < 5; i++) await Promise.resolve();
    assert.deepEqual(log, []);
    await loop.runUntilComplete(sleep(0));
    await settled;
    assert.deepEqual(log, ["done-callback", "then 3"]);
    loop.close();
  });

  it("settles with a done Future's result without the loop running", async () => {
    const future = idleFuture<string>();
    future.setResult("ready");
    assert.equal(await future, "ready");
    const failed = idleFuture<string>();
    const error = new RuntimeError("boom");
    failed.setException(error);
    await assert.rejects(
      async () => failed,
      (thrown: unknown) => thrown === error,
    );
    const cancelled = idleFuture<string>();
    cancelled.cancel("gone");
    await assert.rejects(async () => cancelled, { name: "CancelledError", message: "gone" });
  });

  it("counts as retrieving the error, so it is not reported when collected", async () => {
    const reports = await reportsAfterDropping((loop) => {
      const future = loop.createFuture<number>();
      future.setException(new RuntimeError("handled by then"));
      future.then(undefined, () => undefined);
      return { future };
    });
    assert.deepEqual(reports, []);
  });
});

interface Made {
  future: Future<unknown>;
}

/**
 * Let `make` build a Future (returned in an object: `await` would adopt a bare Future) and
 * drop it; collect garbage until it is gone and a control Future with an unretrieved error
 * was reported; return every report but the control's. (helpers/capture.ts has
 * reportsAfterCollecting, which runs a coroutine instead and does not wait for one Future.)
 */
async function reportsAfterDropping(
  make: (loop: BaseEventLoop) => Made | Promise<Made>,
): Promise<ExceptionContext[]> {
  const loop = new VirtualEventLoop();
  const seen = captureExceptions(loop);
  const control = new RuntimeError("control");
  // A registry, not a WeakRef: deref() would keep the Future alive through the next gc().
  let gone = false;
  const watcher = new FinalizationRegistry<undefined>(() => {
    gone = true;
  });
  await (async () => {
    watcher.register((await make(loop)).future, undefined);
    loop.createFuture<number>().setException(control);
  })();
  const collected = await collectUntil(
    () => gone && seen.some((context) => context.exception === control),
  );
  assert.ok(collected, "garbage collection could not be forced (run node with --expose-gc)");
  // Give a report of the Future under test every chance to arrive too.
  await collectUntil(() => false, 3);
  loop.close();
  return seen.filter((context) => context.exception !== control);
}

describe("Future exception was never retrieved", () => {
  it("reaches the exception handler once the failed Future is collected", async () => {
    // asyncio: test_tb_logger_exception_unretrieved
    // asyncio: test_future_exception_never_retrieved
    const loop = new VirtualEventLoop();
    const seen = captureExceptions(loop);
    const error = new RuntimeError("boom");
    (() => {
      loop.createFuture<number>().setException(error);
    })();
    const reported = await collectUntil(() => seen.length > 0);
    assert.ok(reported, "garbage collection could not be forced (run node with --expose-gc)");
    assert.deepEqual(seen, [{ message: "Future exception was never retrieved", exception: error }]);
    loop.close();
  });

  it("reaches the exception handler when the error was created in a callback that holds the Future", async () => {
    // V8 keeps the frames of an Error whose stack was never read, and their closures; the
    // report must not depend on the stack having been read.
    const loop = new VirtualEventLoop();
    const seen = captureExceptions(loop);
    const messages: string[] = [];
    (() => {
      const future = loop.createFuture<number>();
      loop.callSoon(() => {
        future.setException(new RuntimeError("from a callback"));
      });
    })();
    await loop.runUntilComplete(sleep(0));
    const reported = await collectUntil(() => seen.length > 0);
    for (const context of seen) messages.push(`${context.message}: ${String(context.exception)}`);
    assert.ok(reported, "the failed Future was never collected, or never reported");
    assert.deepEqual(messages, [
      "Future exception was never retrieved: RuntimeError: from a callback",
    ]);
    loop.close();
  });

  it("is not reported when exception() retrieved the error", async () => {
    // asyncio: test_tb_logger_exception_retrieved
    const reports = await reportsAfterDropping((loop) => {
      const future = loop.createFuture<number>();
      future.setException(new RuntimeError("boom"));
      future.exception();
      return { future };
    });
    assert.deepEqual(reports, []);
  });

  it("is not reported when result() threw the error", async () => {
    // asyncio: test_tb_logger_exception_result_retrieved
    const reports = await reportsAfterDropping((loop) => {
      const future = loop.createFuture<number>();
      future.setException(new RuntimeError("boom"));
      assert.throws(() => future.result(), RuntimeError);
      return { future };
    });
    assert.deepEqual(reports, []);
  });

  it("is not reported when a task awaited the failed Future", async () => {
    const reports = await reportsAfterDropping(async (loop) => {
      const future = loop.createFuture<number>();
      function* main(): Coro<unknown> {
        loop.callSoon(() => {
          future.setException(new RuntimeError("boom"));
        });
        return yield* thrownBy(future);
      }
      assert.ok((await loop.runUntilComplete(main())) instanceof RuntimeError);
      return { future };
    });
    assert.deepEqual(reports, []);
  });

  it("is not reported when only a result was set, retrieved or not", async () => {
    // asyncio: test_tb_logger_result_unretrieved
    // asyncio: test_tb_logger_result_retrieved
    const unread = await reportsAfterDropping((loop) => {
      const future = loop.createFuture<number>();
      future.setResult(42);
      return { future };
    });
    const read = await reportsAfterDropping((loop) => {
      const future = loop.createFuture<number>();
      future.setResult(42);
      future.result();
      return { future };
    });
    assert.deepEqual([unread, read], [[], []]);
  });

  it("is not reported for a pending Future that is abandoned", async () => {
    // asyncio: test_tb_logger_abandoned
    const reports = await reportsAfterDropping((loop) => ({
      future: loop.createFuture<number>(),
    }));
    assert.deepEqual(reports, []);
  });

  it("is not reported when cancel() was called after setException", async () => {
    // asyncio: test_tb_logger_not_called_after_cancel
    const reports = await reportsAfterDropping((loop) => {
      const future = loop.createFuture<number>();
      future.setException(new Error("boom"));
      assert.equal(future.cancel(), false);
      return { future };
    });
    assert.deepEqual(reports, []);
  });
});

describe("exception handler context", () => {
  it("runs the handler in the Context of the callback that failed", () =>
    // asyncio: test_handle_exc_handler_correct_context
    runVirtual(function* (): Coro<void> {
      const name = new ContextVar<string>("name", { default: "foo" });
      const loop = getRunningLoop();
      const seen: string[] = [];
      loop.setExceptionHandler((_loop, context) => {
        seen.push(`${context.message} / ${name.get()}`);
      });
      loop.callSoon(function callback() {
        name.set("bar");
        throw new RangeError("1/0");
      });
      yield* sleep(0);
      assert.deepEqual(seen, ["Exception in callback callback() / bar"]);
      assert.equal(name.get(), "foo");
    }));

  for (const debug of [false, true]) {
    it(`reports a failing done-callback as a Handle's error, in its Context (debug ${debug})`, () =>
      runVirtual(function* (): Coro<void> {
        const name = new ContextVar<string>("name", { default: "foo" });
        const loop = getRunningLoop();
        loop.setDebug(debug);
        const seen: string[] = [];
        loop.setExceptionHandler((_loop, context) => {
          seen.push(`${context.message} / ${name.get()} / ${String(context.handle)}`);
        });
        const future = loop.createFuture<number>();
        future.addDoneCallback(function onDone() {
          name.set("bar");
          throw new RangeError("1/0");
        });
        future.setResult(1);
        const after = loop.createFuture<number>();
        after.setResult(2);
        after.addDoneCallback(function late() {
          throw new TypeError("late");
        });
        yield* sleep(0);
        loop.setDebug(false);
        assert.deepEqual(seen, [
          "Exception in callback onDone() / bar / <Handle onDone()>",
          "Exception in callback late() / foo / <Handle late()>",
        ]);
        assert.equal(name.get(), "foo");
      }));
  }

  it("runs the handler in the Context of a collected task whose error nobody retrieved", async () => {
    // asyncio: test_task_exc_handler_correct_context
    const name = new ContextVar<string>("name", { default: "foo" });
    const loop = new VirtualEventLoop();
    const seen: string[] = [];
    loop.setExceptionHandler((_loop, context) => {
      seen.push(`${context.message} / ${name.get()}`);
    });
    function* failing(): Coro<void> {
      name.set("bar");
      const error = new RangeError("1/0");
      // Reading the stack releases the frames V8 keeps for it, which hold the Task; this
      // test is about the Context (see "Future exception was never retrieved" for that).
      assert.ok(error.stack !== undefined);
      throw error;
    }
    function* main(): Coro<void> {
      createTask(failing());
      yield* sleep(0);
      yield* sleep(0);
    }
    await loop.runUntilComplete(main());
    const reported = await collectUntil(() => seen.length > 0);
    assert.ok(reported, "garbage collection could not be forced (run node with --expose-gc)");
    assert.deepEqual(seen, ["Task exception was never retrieved / bar"]);
    loop.close();
  });
});

/** An IteratorResult's two fields as a plain object (a FutureIterator is its own result). */
function step<Y, R>(result: IteratorResult<Y, R>): { done: boolean | undefined; value: Y | R } {
  return { done: result.done, value: result.value };
}

describe("Future's shapes", () => {
  it("has at most three subclasses in the library: four shapes in all", async () => {
    // V8's inline caches handle up to four object shapes at a site; past that, every read
    // of a Future's fields in Future's own methods goes through the slow megamorphic path.
    // A fifth subclass (a sleep's Future, once) made locks and events up to 2x slower in
    // any program that also slept.
    const { readdir, readFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const root = join(import.meta.dirname, "..", "..", "src");
    const found: string[] = [];
    for (const entry of await readdir(root, { recursive: true })) {
      if (!entry.endsWith(".ts")) continue;
      const text = await readFile(join(root, entry), "utf8");
      for (const match of text.matchAll(/class (\w+)(?:<[^>]*>)? extends (\w+)</g)) {
        if (["Future", "Task", "GatheringFuture", "WaiterFuture"].includes(match[2]!)) {
          found.push(`${match[1]!} extends ${match[2]!}`);
        }
      }
    }
    assert.deepEqual(found.sort(), [
      "GatheringFuture extends Future",
      "Task extends Future",
      "WaiterFuture extends Future",
    ]);
  });
});
