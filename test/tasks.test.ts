import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  Context,
  ContextVar,
  Future,
  RuntimeError,
  Task,
  allTasks,
  copyContext,
  createEagerTaskFactory,
  createTask,
  currentTask,
  eagerTaskFactory,
  ensureFuture,
  getRunningLoop,
  isCoroutine,
  sleep,
  type Coro,
  type TaskConstructorOptions,
  type TaskFactory,
  type Yielded,
} from "../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../src/testing.ts";
import { captureExceptions, collectUntil } from "./helpers/capture.ts";
import { thrownBy } from "./helpers/coro.ts";
import { caught } from "./helpers/errors.ts";

/** Yield `value` to the driving Task as it is, as a hand-written generator-based coroutine would. */
function* yieldRaw(value: unknown): Coro<void> {
  yield value as Yielded;
}

/** Wait until `future` is done without retrieving its outcome (asyncio.wait([future])). */
function* waitDone(future: Future<unknown>): Coro<void> {
  const done = getRunningLoop().createFuture<undefined>();
  future.addDoneCallback(function onDone() {
    done.setResult(undefined);
  });
  yield* done;
}

/** The number N of a `Task-N` name. */
function taskNumber(task: Task<unknown>): number {
  const match = /^Task-(\d+)$/.exec(task.getName());
  assert.ok(match, `unexpected default name ${task.getName()}`);
  return Number(match[1]);
}

const eager = {
  setup: (loop: VirtualEventLoop) => {
    loop.setTaskFactory(eagerTaskFactory);
  },
};

describe("Task", () => {
  // asyncio: test_task_basics
  it("does not run at creation and has run after one iteration", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* () {
          log.push("ran");
          return 1;
        })(),
      );
      assert.deepEqual(log, []);
      assert.equal(task.done(), false);
      yield* sleep(0);
      assert.deepEqual(log, ["ran"]);
      assert.equal(task.done(), true);
      assert.equal(task.result(), 1);
    }));

  // asyncio: test_task_basics
  it("runs awaited coroutines inline, without creating tasks", () =>
    runVirtual(function* () {
      let tasksSeen = -1;
      function* inner1(): Coro<number> {
        return 42;
      }
      function* inner2(): Coro<number> {
        tasksSeen = allTasks().size;
        return 1000;
      }
      function* outer(): Coro<number> {
        const a = yield* inner1();
        const b = yield* inner2();
        return a + b;
      }
      assert.equal(yield* outer(), 1042);
      assert.equal(tasksSeen, 1);
    }));

  // asyncio: test_task_class
  it("completes with what its coroutine returns, on the loop it was created on", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<string> {
          return "ok";
        })(),
      );
      assert.equal(yield* task, "ok");
      assert.equal(task.done(), true);
      assert.equal(task.result(), "ok");
      assert.equal(task.getLoop(), getRunningLoop());
    }));

  it("fails with what its coroutine throws", () =>
    runVirtual(function* () {
      const boom = new Error("boom");
      const task = createTask(
        (function* (): Coro<void> {
          throw boom;
        })(),
      );
      yield* waitDone(task);
      assert.equal(task.cancelled(), false);
      assert.equal(task.exception(), boom);
      assert.throws(
        () => {
          task.result();
        },
        (error) => error === boom,
      );
    }));

  // asyncio: test_create_task_with_noncoroutine
  it("throws TypeError for something that is not a coroutine", () =>
    runVirtual(function* () {
      const notCoro = 123 as unknown as Coro<number>;
      assert.throws(() => createTask(notCoro), {
        name: "TypeError",
        message: "a coroutine was expected, got 123",
      });
      // Twice: nothing is cached wrongly.
      assert.throws(() => createTask(notCoro), {
        name: "TypeError",
        message: "a coroutine was expected, got 123",
      });
      assert.throws(() => new Task(notCoro, { loop: getRunningLoop() }), {
        name: "TypeError",
        message: "a coroutine was expected, got 123",
      });
      assert.equal(allTasks().size, 1);
    }));

  it("throws RuntimeError from createTask outside a running loop", () => {
    function* coro(): Coro<number> {
      return 1;
    }
    const error = caught(() => createTask(coro()));
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, "no running event loop");
  });

  // asyncio: test_task_set_methods
  it("refuses setResult and setException", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<string> {
          return "ko";
        })(),
      );
      const setResultError = caught(() => task.setResult("ok"));
      assert.ok(setResultError instanceof RuntimeError);
      assert.equal(setResultError.message, "Task does not support setResult operation");
      const setExceptionError = caught(() => task.setException(new Error("x")));
      assert.ok(setExceptionError instanceof RuntimeError);
      assert.equal(setExceptionError.message, "Task does not support setException operation");
      assert.equal(yield* task, "ko");
    }));

  // asyncio: test_step_result_future
  it("waits on a future its coroutine awaits and resumes with its result", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<object>();
      const value = {};
      let got: object | undefined;
      const task = createTask(
        (function* (): Coro<void> {
          got = yield* future;
        })(),
      );
      yield* sleep(0);
      assert.equal(task._waiter, future);
      future.setResult(value);
      yield* sleep(0);
      assert.equal(got, value);
      assert.equal(task.done(), true);
      assert.equal(task.exception(), null);
    }));
});

describe("Task names", () => {
  // asyncio: test_task_repr_autogenerated
  it("names tasks Task-N with an increasing counter", () =>
    runVirtual(function* () {
      function* noop(): Coro<void> {}
      const t1 = createTask(noop());
      const t2 = createTask(noop());
      assert.equal(taskNumber(t2), taskNumber(t1) + 1);
      assert.notEqual(String(t1), String(t2));
      yield* t1;
      yield* t2;
    }));

  // asyncio: test_bare_create_named_task
  it("takes the name given to createTask", () =>
    runVirtual(function* () {
      const task = createTask((function* (): Coro<void> {})(), { name: "No-op" });
      assert.equal(task.getName(), "No-op");
      yield* task;
    }));

  // asyncio: test_task_set_name_pylong
  it("converts names given to setName to strings", () =>
    runVirtual(function* () {
      const task = createTask((function* (): Coro<void> {})(), { name: "first" });
      task.setName(123456789);
      assert.equal(task.getName(), "123456789");
      task.setName("renamed");
      assert.equal(task.getName(), "renamed");
      assert.equal(String(task), "<Task pending name='renamed'>");
      yield* task;
    }));
});

describe("Task.getCoro and Task.getContext", () => {
  // asyncio: test_get_coro
  it("returns the coroutine the task drives", () =>
    runVirtual(function* () {
      const coro = (function* (): Coro<number> {
        return 1;
      })();
      const task = createTask(coro);
      assert.equal(task.getCoro(), coro);
      yield* task;
      assert.equal(task.getCoro(), coro);
    }));

  // asyncio: test_get_context
  it("returns the context given to createTask", () =>
    runVirtual(function* () {
      const context = copyContext();
      const task = createTask((function* (): Coro<void> {})(), { context });
      assert.equal(task.getContext(), context);
      yield* task;
    }));

  it("runs the task in a copy of the current context by default", () =>
    runVirtual(function* () {
      const variable = new ContextVar<number>("v", { default: 0 });
      variable.set(1);
      const task = createTask(
        (function* (): Coro<number> {
          const seen = variable.get();
          variable.set(2);
          return seen;
        })(),
      );
      assert.ok(task.getContext() instanceof Context);
      assert.equal(yield* task, 1);
      assert.equal(variable.get(), 1);
      assert.equal(task.getContext().get(variable as ContextVar<unknown>), 2);
    }));
});

describe("Task repr", () => {
  // asyncio: test_task_repr
  it("shows the state and the name", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<number> {
          yield* sleep(0);
          return 1;
        })(),
        { name: "x" },
      );
      assert.equal(String(task), "<Task pending name='x'>");
      yield* task;
      assert.equal(String(task), "<Task finished name='x' result=1>");
    }));

  // asyncio: test_task_repr_wait_for
  it("shows the future the task waits for", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<undefined>();
      const task = createTask(
        (function* (): Coro<undefined> {
          return yield* future;
        })(),
        { name: "x" },
      );
      yield* sleep(0);
      assert.equal(
        String(task),
        "<Task pending name='x' wait_for=<Future pending cb=[Task.wakeup()]>>",
      );
      future.setResult(undefined);
      yield* task;
      assert.equal(String(task), "<Task finished name='x' result=undefined>");
    }));

  it("shows a waited-for task and the done-callbacks", () =>
    runVirtual(function* () {
      const inner = createTask(sleep(10), { name: "inner" });
      const outer = createTask(
        (function* (): Coro<void> {
          yield* inner;
        })(),
        { name: "outer" },
      );
      yield* sleep(0);
      assert.equal(
        String(outer),
        "<Task pending name='outer' wait_for=<Task pending name='inner' " +
          "wait_for=<Future pending cb=[Task.wakeup()]> cb=[Task.wakeup()]>>",
      );
      outer.cancel();
      inner.cancel();
      yield* waitDone(outer);
    }));

  // asyncio: test_task_repr
  it("says cancelling after cancel() and cancelled once it ended", () =>
    runVirtual(function* () {
      const task = createTask(sleep(10), { name: "x" });
      task.cancel();
      assert.equal(String(task), "<Task cancelling name='x'>");
      yield* waitDone(task);
      assert.equal(String(task), "<Task cancelled name='x'>");
    }));
});

describe("Task bad yields", () => {
  it("throws a bad yield back into the coroutine on the next iteration", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const a = createTask(
        (function* (): Coro<void> {
          log.push("a1");
          try {
            yield* yieldRaw(42);
          } catch (error) {
            assert.ok(error instanceof RuntimeError);
            log.push(`caught: ${error.message}`);
          }
          log.push("a2");
        })(),
      );
      const b = createTask(
        (function* (): Coro<void> {
          log.push("b1");
          yield* sleep(0);
          log.push("b2");
          yield* sleep(0);
          log.push("b3");
        })(),
      );
      yield* a;
      yield* b;
      assert.deepEqual(log, ["a1", "b1", "caught: Task got bad yield: 42", "a2", "b2", "b3"]);
    }));

  it("tells to use wrapPromise when a Promise is yielded", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<void> {
          yield* yieldRaw(Promise.resolve(1));
        })(),
      );
      yield* waitDone(task);
      const error = task.exception();
      assert.ok(error instanceof RuntimeError);
      assert.equal(
        error.message,
        "Task got bad yield: Promise { 1 }; use yield* wrapPromise(promise) to wait for a Promise",
      );
    }));

  it("rejects a yielded generator", () =>
    runVirtual(function* () {
      function* inner(): Coro<void> {}
      const task = createTask(
        (function* (): Coro<void> {
          yield* yieldRaw(inner());
        })(),
        { name: "x" },
      );
      yield* waitDone(task);
      const error = task.exception();
      assert.ok(error instanceof RuntimeError);
      assert.match(
        error.message,
        /^yield was used instead of yield\* for generator in task <Task pending name='x' cb=\[onDone\(\)\]> with /,
      );
    }));

  it("says yield was used instead of yield* for a future yielded without *", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<undefined>();
      const task = createTask(
        (function* (): Coro<void> {
          yield future;
        })(),
        { name: "x" },
      );
      yield* waitDone(task);
      const error = task.exception();
      assert.ok(error instanceof RuntimeError);
      assert.equal(
        error.message,
        "yield was used instead of yield* in task <Task pending name='x' cb=[onDone()]> with <Future pending>",
      );
      assert.equal(future.done(), false);
    }));

  // asyncio: test_other_loop_future
  it("rejects a future of another loop", async () => {
    const otherLoop = new VirtualEventLoop();
    try {
      await runVirtual(function* () {
        const future = new Future<undefined>({ loop: otherLoop });
        const task = createTask(
          (function* (): Coro<void> {
            yield* future;
          })(),
          { name: "x" },
        );
        yield* waitDone(task);
        const error = task.exception();
        assert.ok(error instanceof RuntimeError);
        assert.equal(
          error.message,
          "Task <Task pending name='x' cb=[onDone()]> got Future <Future pending> " +
            "attached to a different loop",
        );
      });
    } finally {
      otherLoop.close();
    }
  });

  // asyncio: test_task_awaits_on_itself
  it("rejects a task awaiting itself", () =>
    runVirtual(function* () {
      function* awaitItself(): Coro<void> {
        yield* task;
      }
      const task = createTask(awaitItself(), { name: "x" });
      const error = yield* thrownBy(task);
      assert.ok(error instanceof RuntimeError);
      assert.equal(
        error.message,
        "Task cannot await on itself: <Task pending name='x' cb=[Task.wakeup()]>",
      );
    }));
});

describe("Task.cancel", () => {
  // asyncio: test_cancelling
  it("returns true on every call while pending and counts the requests", () =>
    runVirtual(function* () {
      const task = createTask(sleep(10));
      assert.equal(task.cancelling(), 0);
      assert.equal(String(task).includes(" cancelling "), false);
      assert.equal(task.cancel(), true);
      assert.equal(task.cancelling(), 1);
      assert.equal(task.cancel(), true);
      assert.equal(task.cancelling(), 2);
      assert.ok(String(task).startsWith("<Task cancelling "));
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelled(), true);
    }));

  // asyncio: test_cancel
  it("cancels a sleeping task from a callback; cancel() then returns false", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<number> {
          yield* sleep(10);
          return 12;
        })(),
      );
      getRunningLoop().callSoon(() => task.cancel());
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.done(), true);
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancel(), false);
      assert.equal(getRunningLoop().time(), 0);
    }));

  // asyncio: test_cancel_yield
  it("cancels a task at its bare yield", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<number> {
          log.push("start");
          yield* sleep(0);
          log.push("never");
          return 12;
        })(),
      );
      yield* sleep(0);
      task.cancel();
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancel(), false);
      assert.deepEqual(log, ["start"]);
    }));

  // asyncio: test_cancel_with_message_then_future_result
  it("passes its message to the CancelledError that result() throws", () =>
    runVirtual(function* () {
      for (const [message, expected] of [
        [undefined, ""],
        ["my message", "my message"],
      ] as const) {
        const task = createTask(sleep(10));
        yield* sleep(0);
        task.cancel(message);
        yield* waitDone(task);
        const error = caught(() => {
          task.result();
        });
        assert.ok(error instanceof CancelledError);
        assert.equal(error.message, expected);
      }
    }));

  // asyncio: test_cancel_with_message_then_future_exception
  it("passes its message to the CancelledError that exception() throws", () =>
    runVirtual(function* () {
      for (const [message, expected] of [
        [undefined, ""],
        ["my message", "my message"],
      ] as const) {
        const task = createTask(sleep(10));
        yield* sleep(0);
        task.cancel(message);
        yield* waitDone(task);
        const error = caught(() => task.exception());
        assert.ok(error instanceof CancelledError);
        assert.equal(error.message, expected);
      }
    }));

  // asyncio: test_cancel_with_message_before_starting_task
  it("cancels with its message a task that has not started", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<void> {
          log.push("never");
          yield* sleep(10);
        })(),
        { name: "x" },
      );
      task.cancel("my message");
      assert.equal(String(task), "<Task cancelling name='x'>");
      assert.equal(task.cancelling(), 1);
      yield* waitDone(task);
      const error = caught(() => task.exception());
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "my message");
      assert.equal(task.cancelled(), true);
      assert.deepEqual(log, []);
    }));

  // asyncio: test_cancellation_exception_context
  it("gives the message to the task awaiting the cancelled task", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const started = loop.createFuture<undefined>();
      const inner = createTask(
        (function* (): Coro<void> {
          started.setResult(undefined);
          yield* sleep(10);
        })(),
      );
      yield* started;
      loop.callSoon(() => inner.cancel("msg"));
      const error = yield* thrownBy(inner);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "msg");
    }));

  // asyncio: test_cancel_inner_future
  it("ends cancelled when the future it awaits is cancelled", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<undefined>();
      const task = createTask(
        (function* (): Coro<number> {
          yield* future;
          return 12;
        })(),
      );
      yield* sleep(0);
      future.cancel();
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(future.cancelled(), true);
      assert.equal(task.cancelled(), true);
    }));

  // asyncio: test_cancel_both_task_and_inner_future
  it("ends cancelled when both it and its future are cancelled", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<undefined>();
      const task = createTask(
        (function* (): Coro<number> {
          yield* future;
          return 12;
        })(),
      );
      yield* sleep(0);
      future.cancel();
      task.cancel();
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.done(), true);
      assert.equal(future.cancelled(), true);
      assert.equal(task.cancelled(), true);
    }));

  // asyncio: test_task_cancel_waiter_future
  it("cancels the future the task waits for", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<undefined>();
      const task = createTask(
        (function* (): Coro<void> {
          yield* future;
        })(),
      );
      yield* sleep(0);
      assert.equal(task._waiter, future);
      task.cancel();
      assert.equal(future.cancelled(), true);
      yield* waitDone(task);
      assert.equal(task.cancelled(), true);
      assert.equal(task._waiter, null);
    }));

  // asyncio: test_cancel_task_catching
  it("lets a coroutine that catches the CancelledError return a value", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const fut1 = loop.createFuture<undefined>();
      const fut2 = loop.createFuture<undefined>();
      const task = createTask(
        (function* (): Coro<number | undefined> {
          yield* fut1;
          try {
            yield* fut2;
          } catch (error) {
            if (error instanceof CancelledError) return 42;
            throw error;
          }
          return undefined;
        })(),
      );
      yield* sleep(0);
      assert.equal(task._waiter, fut1);
      fut1.setResult(undefined);
      yield* sleep(0);
      assert.equal(task._waiter, fut2);
      assert.equal(task.cancel(), true);
      assert.equal(fut2.cancelled(), true);
      assert.equal(yield* task, 42);
      assert.equal(task.cancelled(), false);
      // The request was never withdrawn.
      assert.equal(task.cancelling(), 1);
    }));

  // asyncio: test_cancel_task_ignoring
  it("lets a coroutine that ignores the CancelledError await another future", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const fut1 = loop.createFuture<undefined>();
      const fut2 = loop.createFuture<undefined>();
      const fut3 = loop.createFuture<number>();
      const task = createTask(
        (function* (): Coro<number> {
          yield* fut1;
          try {
            yield* fut2;
          } catch (error) {
            if (!(error instanceof CancelledError)) throw error;
          }
          return yield* fut3;
        })(),
      );
      yield* sleep(0);
      fut1.setResult(undefined);
      yield* sleep(0);
      assert.equal(task._waiter, fut2);
      task.cancel();
      assert.equal(fut2.cancelled(), true);
      yield* sleep(0);
      assert.equal(task._waiter, fut3);
      fut3.setResult(42);
      assert.equal(yield* task, 42);
      assert.equal(fut3.cancelled(), false);
      assert.equal(task.cancelled(), false);
    }));

  // asyncio: test_cancel_current_task
  it("cancels at once the sleep that follows a self-cancel", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* cancelSelf(): Coro<number> {
        task.cancel();
        log.push("cancel requested");
        try {
          yield* sleep(100);
        } catch (error) {
          log.push(`${(error as Error).name} at ${getRunningLoop().time()}`);
          throw error;
        }
        return 12;
      }
      const task = createTask(cancelSelf());
      assert.equal(task.cancelled(), false);
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.deepEqual(log, ["cancel requested", "CancelledError at 0"]);
      assert.equal(task.done(), true);
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancel(), false);
    }));

  // asyncio: test_cancel_at_end
  it("ends cancelled when the coroutine returns right after a self-cancel", () =>
    runVirtual(function* () {
      function* cancelSelf(): Coro<number> {
        task.cancel();
        return 12;
      }
      const task = createTask(cancelSelf());
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.done(), true);
      assert.equal(task.cancelled(), true);
      assert.equal(task.cancel(), false);
    }));

  // asyncio: test_cancel_awaited_task
  it("cancels the task awaited right after a self-cancel, and what it awaits", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<undefined>();
      let nested: Task<void> | undefined;
      function* cancelSelfThenAwait(): Coro<void> {
        nested = createTask(
          (function* (): Coro<void> {
            yield* future;
          })(),
        );
        yield* sleep(0);
        task.cancel();
        yield* nested;
      }
      const task = createTask(cancelSelfThenAwait());
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.equal(nested!.cancelled(), true);
      assert.equal(future.cancelled(), true);
    }));

  // asyncio: test_yield_future_passes_cancel
  it("reaches the future awaited through nested coroutines", () =>
    runVirtual(function* () {
      let proof = 0;
      const waiter = getRunningLoop().createFuture<undefined>();
      function* inner(): Coro<void> {
        try {
          yield* waiter;
        } catch (error) {
          proof += 1;
          throw error;
        }
        assert.fail("got past the waiter in inner()");
      }
      function* outer(): Coro<void> {
        try {
          yield* inner();
          proof += 10;
        } catch (error) {
          if (!(error instanceof CancelledError)) throw error;
          proof += 100;
        }
      }
      const task = createTask(outer());
      yield* sleep(0);
      task.cancel();
      yield* task;
      assert.equal(proof, 101);
      assert.equal(waiter.cancelled(), true);
    }));

  it("cancels the task it awaits, with the same message, in order", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const inner = createTask(
        (function* (): Coro<void> {
          try {
            yield* sleep(10);
          } catch (error) {
            log.push(`inner ${(error as Error).message}`);
            throw error;
          }
        })(),
        { name: "inner" },
      );
      const outer = createTask(
        (function* (): Coro<void> {
          try {
            yield* inner;
          } catch (error) {
            log.push(`outer ${(error as Error).message} ${inner.cancelled()}`);
            throw error;
          }
        })(),
        { name: "outer" },
      );
      yield* sleep(0);
      assert.equal(outer.cancel("m"), true);
      assert.equal(outer.cancelling(), 1);
      assert.equal(inner.cancelling(), 1);
      const error = yield* thrownBy(outer);
      assert.ok(error instanceof CancelledError);
      log.push(`main ${error.message}`);
      assert.deepEqual(log, ["inner m", "outer m true", "main m"]);
      assert.equal(outer.cancelled(), true);
    }));

  it("lets a task swallow the cancellation and return a value", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<string> {
          try {
            yield* sleep(10);
          } catch (error) {
            if (error instanceof CancelledError) return "swallowed";
            throw error;
          }
          return "slept";
        })(),
      );
      yield* sleep(0);
      assert.equal(task.cancel(), true);
      assert.equal(yield* task, "swallowed");
      assert.equal(task.cancelled(), false);
      assert.equal(task.cancelling(), 1);
      assert.equal(getRunningLoop().time(), 0);
    }));

  // asyncio: test_baseexception_during_cancel
  it("ends with the error a coroutine throws while handling the CancelledError", () =>
    runVirtual(function* () {
      const replacement = new Error("boom");
      const task = createTask(
        (function* (): Coro<void> {
          try {
            yield* sleep(10);
          } catch (error) {
            if (error instanceof CancelledError) throw replacement;
            throw error;
          }
        })(),
        { name: "x" },
      );
      yield* sleep(0);
      task.cancel();
      assert.equal(task.done(), false);
      const error = yield* thrownBy(task);
      assert.equal(error, replacement);
      assert.equal(task.done(), true);
      assert.equal(task.cancelled(), false);
      assert.equal(task.exception(), replacement);
    }));

  // asyncio: test_stop_while_run_in_complete
  it("is still pending when stop() ends runUntilComplete, and can be cancelled then", async () => {
    const loop = new VirtualEventLoop();
    try {
      let x = 0;
      const task = new Task(
        (function* (): Coro<void> {
          while (x < 10) {
            yield* sleep(0.1);
            x += 1;
            if (x === 2) loop.stop();
          }
        })(),
        { loop },
      );
      await assert.rejects(loop.runUntilComplete(task), {
        name: "RuntimeError",
        message: "Event loop stopped before Future completed.",
      });
      assert.equal(task.done(), false);
      assert.equal(x, 2);
      // asyncio's test loop reads 0.3 here: it advances its clock after each iteration
      // that schedules a timer. The virtual clock stands where the stop happened.
      assert.equal(loop.time(), 0.2);
      task.cancel();
      await assert.rejects(loop.runUntilComplete(task), CancelledError);
      assert.equal(task.cancelled(), true);
    } finally {
      loop.close();
    }
  });
});

describe("Task.uncancel", () => {
  // asyncio: test_uncancel_basic
  it("lets a task go on after it caught a cancellation", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<void> {
          try {
            yield* sleep(10);
          } catch (error) {
            if (!(error instanceof CancelledError)) throw error;
            currentTask()!.uncancel();
            yield* sleep(10);
          }
        })(),
        { name: "x" },
      );
      yield* sleep(0.01);
      assert.equal(task.cancel(), true);
      assert.equal(String(task), "<Task cancelling name='x' wait_for=<Future cancelled>>");
      assert.equal(task.cancelling(), 1);
      assert.equal(task.cancelled(), false);
      yield* sleep(0.01);
      assert.equal(String(task).includes("cancelling"), false);
      assert.equal(task.cancelling(), 0);
      assert.equal(task.done(), false);

      assert.equal(task.cancel(), true);
      assert.equal(task.cancelling(), 1);
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      // After the end, uncancel() changes the count only.
      assert.equal(task.uncancel(), 0);
      assert.equal(task.cancelled(), true);
      assert.equal(task.done(), true);
    }));

  // asyncio: test_uncancel_resets_must_cancel
  it("withdraws a cancellation not delivered yet when the count reaches zero", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<undefined>();
      const task = createTask(
        (function* (): Coro<number> {
          yield* future;
          return 42;
        })(),
      );
      yield* sleep(0);
      future.setResult(undefined);
      assert.equal(task.cancel(), true);
      assert.equal(task.cancelling(), 1);
      assert.equal(task.uncancel(), 0);
      assert.equal(task.cancelling(), 0);
      assert.equal(yield* task, 42);
    }));

  it("withdraws a cancellation requested at a bare yield", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<number> {
          log.push("start");
          yield* sleep(0);
          log.push("resumed");
          return 42;
        })(),
      );
      yield* sleep(0);
      task.cancel();
      assert.equal(task.uncancel(), 0);
      assert.equal(task.uncancel(), 0);
      assert.equal(yield* task, 42);
      assert.deepEqual(log, ["start", "resumed"]);
    }));

  it("keeps the cancellation while requests remain", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<number> {
          yield* sleep(0);
          return 1;
        })(),
      );
      yield* sleep(0);
      task.cancel();
      task.cancel();
      assert.equal(task.uncancel(), 1);
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelling(), 1);
    }));
});

describe("Task.getStack and Task.printStack", () => {
  function* failing(): Coro<void> {
    throw new Error("boom");
  }

  it("returns no frames for a pending, a successful or a cancelled task", () =>
    runVirtual(function* () {
      const pending = createTask(sleep(1));
      assert.deepEqual(pending.getStack(), []);
      yield* pending;
      assert.deepEqual(pending.getStack(), []);
      const cancelled = createTask(sleep(1));
      cancelled.cancel();
      yield* waitDone(cancelled);
      assert.deepEqual(cancelled.getStack(), []);
    }));

  it("returns the frames of the error a failed task ended with", () =>
    runVirtual(function* () {
      const task = createTask(failing());
      yield* waitDone(task);
      const frames = task.getStack();
      assert.ok(frames.length > 1);
      assert.ok(frames.every((frame) => frame.startsWith("at ")));
      assert.match(frames[0]!, /^at failing /);
      assert.deepEqual(task.getStack({ limit: 1 }), [frames[0]]);
      assert.deepEqual(task.getStack({ limit: 0 }), []);
    }));

  it("returns no frames for a task that failed with a non-Error", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<void> {
          // eslint-disable-next-line @typescript-eslint/only-throw-error
          throw 5;
        })(),
      );
      yield* waitDone(task);
      assert.deepEqual(task.getStack(), []);
      assert.equal(task.exception(), 5);
    }));

  it("prints 'No stack for' a task without frames", () =>
    runVirtual(function* () {
      const task = createTask(sleep(0), { name: "z" });
      const printed: string[] = [];
      task.printStack({ write: (text) => printed.push(text) });
      yield* task;
      task.printStack({ write: (text) => printed.push(text) });
      assert.deepEqual(printed, [
        "No stack for <Task pending name='z'>",
        "No stack for <Task finished name='z' result=undefined>",
      ]);
    }));

  it("prints the traceback of a failed task, to stderr by default", () =>
    runVirtual(function* () {
      const task = createTask(failing(), { name: "y" });
      yield* waitDone(task);
      const printed: string[] = [];
      task.printStack({ write: (text) => printed.push(text), limit: 1 });
      assert.equal(printed.length, 1);
      const lines = printed[0]!.split("\n");
      assert.match(
        lines[0]!,
        /^Traceback for <Task finished name='y' exception=Error\('boom'\)> \(most recent call first\):$/,
      );
      const header = lines.findIndex((line) => line.endsWith("(most recent call first):"));
      assert.ok(header >= 0);
      assert.match(lines[header + 1]!, /^ {2}at failing /);
      assert.ok(printed[0]!.includes("Error: boom"));

      const written: string[] = [];
      const original = process.stderr.write.bind(process.stderr);
      process.stderr.write = (chunk: string | Uint8Array): boolean => {
        written.push(String(chunk));
        return true;
      };
      try {
        task.printStack({ limit: 1 });
      } finally {
        process.stderr.write = original;
      }
      assert.deepEqual(written, [`${printed[0]!}\n`]);
    }));
});

describe("ensureFuture", () => {
  // asyncio: test_ensure_future_future
  it("returns a future as it is", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<string>();
      future.setResult("ko");
      assert.equal(ensureFuture(future), future);
      assert.equal(ensureFuture(future, getRunningLoop()), future);
      assert.equal(yield* ensureFuture(future), "ko");
    }));

  // asyncio: test_ensure_future_task
  it("returns a task as it is", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<string> {
          return "ok";
        })(),
      );
      assert.equal(ensureFuture(task), task);
      assert.equal(yield* ensureFuture(task), "ok");
    }));

  // asyncio: test_ensure_future_error_msg
  it("throws RangeError for a future of another loop than the one given", () =>
    runVirtual(function* () {
      const otherLoop = new VirtualEventLoop();
      try {
        const future = getRunningLoop().createFuture<undefined>();
        assert.throws(() => ensureFuture(future, otherLoop), {
          name: "RangeError",
          message:
            "The future belongs to a different loop than the one specified as the loop argument",
        });
      } finally {
        otherLoop.close();
      }
    }));

  // asyncio: test_ensure_future_coroutine
  it("wraps a coroutine in a task on the running loop", () =>
    runVirtual(function* () {
      const coro = (function* (): Coro<string> {
        return "ok";
      })();
      const task = ensureFuture(coro);
      assert.ok(task instanceof Task);
      assert.equal(task.getCoro(), coro);
      assert.equal(task.getLoop(), getRunningLoop());
      assert.equal(task.done(), false);
      assert.equal(yield* task, "ok");
    }));

  // asyncio: test_ensure_future_coroutine
  it("throws RuntimeError for a coroutine outside a running loop", () => {
    const coro = (function* (): Coro<string> {
      return "ok";
    })();
    const error = caught(() => ensureFuture(coro));
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, "no running event loop");
  });

  // asyncio: test_ensure_future_task_awaitable
  it("wraps an awaitable in a task that awaits it", () =>
    runVirtual(function* () {
      const awaitable = {
        *[Symbol.iterator](): Coro<string> {
          return yield* sleep(0, "ok");
        },
      };
      const task = ensureFuture(awaitable);
      assert.ok(task instanceof Task);
      assert.ok(isCoroutine(task.getCoro()));
      assert.equal(yield* task, "ok");
    }));

  // asyncio: test_ensure_future_neither
  it("throws TypeError for anything else", () =>
    runVirtual(function* () {
      assert.throws(() => ensureFuture("ok" as unknown as Coro<string>), {
        name: "TypeError",
        message: "a Future, a coroutine or an awaitable is required, got 'ok'",
      });
      assert.throws(() => ensureFuture(null as unknown as Coro<string>), {
        name: "TypeError",
        message: "a Future, a coroutine or an awaitable is required, got null",
      });
    }));
});

describe("currentTask", () => {
  // asyncio: test_current_task
  it("returns the task running now, and null outside tasks", async () => {
    const loop = new VirtualEventLoop();
    try {
      assert.equal(currentTask(loop), null);
      const seen: (Task<unknown> | null)[] = [];
      const task = new Task(
        (function* (): Coro<void> {
          seen.push(currentTask());
          yield* sleep(0);
          seen.push(currentTask(), currentTask(loop));
        })(),
        { loop },
      );
      await loop.runUntilComplete(task);
      assert.deepEqual(seen, [task, task, task]);
      assert.equal(currentTask(loop), null);
    } finally {
      loop.close();
    }
  });

  it("returns null in a callback", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const seen = loop.createFuture<Task<unknown> | null>();
      loop.callSoon(() => {
        seen.setResult(currentTask());
      });
      assert.equal(yield* seen, null);
    }));

  it("throws RuntimeError without a loop outside a running loop", () => {
    const error = caught(() => currentTask());
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.message, "no running event loop");
  });

  // asyncio: test_current_task_with_interleaving_tasks
  it("follows interleaving tasks", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const main = currentTask();
      const fut1 = loop.createFuture<boolean>();
      const fut2 = loop.createFuture<boolean>();
      const log: string[] = [];
      function* coro1(): Coro<void> {
        log.push(`1 ${currentTask() === task1}`);
        yield* fut1;
        log.push(`1 ${currentTask() === task1}`);
        fut2.setResult(true);
      }
      function* coro2(): Coro<void> {
        log.push(`2 ${currentTask() === task2}`);
        fut1.setResult(true);
        yield* fut2;
        log.push(`2 ${currentTask() === task2}`);
      }
      const task1 = createTask(coro1());
      const task2 = createTask(coro2());
      assert.equal(currentTask(), main);
      yield* task1;
      assert.equal(currentTask(), main);
      yield* task2;
      assert.deepEqual(log, ["1 true", "2 true", "1 true", "2 true"]);
    }));
});

describe("allTasks", () => {
  it("returns the tasks that are not done", () =>
    runVirtual(function* () {
      const main = currentTask()!;
      const sleeper = createTask(sleep(1));
      const quick = createTask((function* (): Coro<void> {})());
      assert.deepEqual(allTasks(), new Set([main, sleeper, quick]));
      yield* sleep(0);
      assert.deepEqual(allTasks(), new Set([main, sleeper]));
      assert.deepEqual(allTasks(getRunningLoop()), new Set([main, sleeper]));
      yield* sleeper;
      assert.deepEqual(allTasks(), new Set([main]));
    }));

  it("returns a new set each time", () =>
    runVirtual(function* () {
      const tasks = allTasks();
      tasks.clear();
      assert.equal(allTasks().size, 1);
    }));

  it("lists the tasks of a loop that is not running", async () => {
    const loop = new VirtualEventLoop();
    try {
      const task = new Task(sleep(0), { loop });
      assert.deepEqual(allTasks(loop), new Set([task]));
      await loop.runUntilComplete(task);
      assert.deepEqual(allTasks(loop), new Set());
    } finally {
      loop.close();
    }
  });
});

describe("Task exception never retrieved", () => {
  it("reports a failed task nobody asked to the exception handler when collected", async () => {
    const loop = new VirtualEventLoop();
    const seen = captureExceptions(loop);
    const boom = new Error("never retrieved");
    try {
      await loop.runUntilComplete(
        (function* (): Coro<void> {
          createTask(
            (function* (): Coro<void> {
              throw boom;
            })(),
          );
          yield* sleep(0);
          yield* sleep(0);
        })(),
      );
      const reported = await collectUntil(() => seen.length > 0);
      assert.ok(reported, "the task was never collected");
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.message, "Task exception was never retrieved");
      assert.equal(seen[0]!.exception, boom);
    } finally {
      loop.close();
    }
  });

  // asyncio: test_tb_logger_not_called_after_cancel
  it("does not report a failed task whose error was retrieved or that cancel() was called on", async () => {
    const loop = new VirtualEventLoop();
    const seen = captureExceptions(loop);
    const refs: WeakRef<Task<void>>[] = [];
    // Counts collected tasks without deref(), which would keep them alive for the job.
    let collected = 0;
    const registry = new FinalizationRegistry<undefined>(() => {
      collected += 1;
    });
    // Plain functions, so that no generator frame keeps a task alive.
    const start = (): void => {
      for (const error of [new Error("retrieved"), new TypeError("cancel() after the end")]) {
        const task = createTask(
          (function* (): Coro<void> {
            throw error;
          })(),
        );
        refs.push(new WeakRef(task));
        registry.register(task, undefined);
      }
    };
    const settle = (): void => {
      assert.ok(refs[0]!.deref()!.exception() instanceof Error);
      assert.equal(refs[1]!.deref()!.cancel(), false);
    };
    try {
      await loop.runUntilComplete(
        (function* (): Coro<void> {
          start();
          yield* sleep(0.05);
          settle();
        })(),
      );
      refs.length = 0;
      assert.ok(await collectUntil(() => collected === 2), "the tasks were never collected");
      // Finalization callbacks run in later host turns.
      await collectUntil(() => false, 3);
      assert.deepEqual(seen, []);
    } finally {
      loop.close();
    }
  });
});

describe("eagerTaskFactory", () => {
  // asyncio: test_eager_task_factory_set
  it("is the task factory createTask uses once set", () =>
    runVirtual(function* () {
      assert.equal(getRunningLoop().getTaskFactory(), eagerTaskFactory);
      const task = getRunningLoop().createTask((function* (): Coro<void> {})());
      assert.ok(task instanceof Task);
      yield* task;
    }, eager));

  // asyncio: test_await_future_during_eager_step
  it("runs the first step inside createTask", () =>
    runVirtual(function* () {
      const future = getRunningLoop().createFuture<string>();
      const task = createTask(
        (function* (): Coro<void> {
          future.setResult("my message");
        })(),
      );
      assert.equal(task.done(), true);
      assert.equal(future.done(), true);
      assert.equal(yield* future, "my message");
    }, eager));

  // asyncio: test_eager_completion
  it("returns a task already done when the coroutine does not suspend", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<string> {
          return "hello";
        })(),
        { name: "e" },
      );
      assert.equal(task.done(), true);
      assert.equal(String(task), "<Task finished name='e' result='hello'>");
      assert.equal(getRunningLoop()._stats().ready, 0);
      assert.equal(yield* task, "hello");
    }, eager));

  it("returns a task already failed when the coroutine throws at once", () =>
    runVirtual(function* () {
      const boom = new Error("boom");
      const task = createTask(
        (function* (): Coro<void> {
          throw boom;
        })(),
      );
      assert.equal(task.done(), true);
      assert.equal(task.exception(), boom);
    }, eager));

  // asyncio: test_block_after_eager_step
  it("schedules the rest of a coroutine that suspends", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<string> {
          log.push("start");
          yield* sleep(0.1);
          log.push("resume");
          return "finished after blocking";
        })(),
      );
      log.push(`after-create ${task.done()}`);
      assert.equal(yield* task, "finished after blocking");
      assert.equal(task.done(), true);
      assert.deepEqual(log, ["start", "after-create false", "resume"]);
      assert.equal(getRunningLoop().time(), 0.1);
    }, eager));

  // asyncio: test_cancellation_after_eager_completion
  it("cannot cancel a task that finished in its eager step", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<string> {
          return "finished without blocking";
        })(),
      );
      assert.equal(task.cancel(), false);
      assert.equal(yield* task, "finished without blocking");
      assert.equal(task.cancelled(), false);
    }, eager));

  // asyncio: test_cancellation_after_eager_step_blocks
  it("cancels with its message a task blocked after its eager step", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<string> {
          yield* sleep(0.1);
          return "finished after blocking";
        })(),
      );
      task.cancel("cancellation message");
      assert.equal(task.cancelling(), 1);
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
      assert.equal(error.message, "cancellation message");
      assert.equal(getRunningLoop().time(), 0);
    }, eager));

  // asyncio: test_current_task
  it("makes the new task the current task during the eager step", () =>
    runVirtual(function* () {
      const main = currentTask();
      let captured: Task<unknown> | null = null;
      const task = createTask(
        (function* (): Coro<void> {
          captured = currentTask();
          yield* sleep(0.1);
          assert.equal(currentTask(), captured);
        })(),
      );
      assert.equal(captured, task);
      assert.equal(currentTask(), main);
      yield* task;
    }, eager));

  // asyncio: test_all_tasks_with_eager_completion
  it("lists the task in allTasks during the eager step, not after it completed", () =>
    runVirtual(function* () {
      let captured = new Set<Task<unknown>>();
      const task = createTask(
        (function* (): Coro<void> {
          captured = allTasks();
        })(),
      );
      assert.ok(captured.has(task));
      assert.equal(allTasks().has(task), false);
    }, eager));

  // asyncio: test_all_tasks_with_blocking
  it("lists a task blocked after its eager step in allTasks until it ends", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const fut1 = loop.createFuture<undefined>();
      const fut2 = loop.createFuture<undefined>();
      let captured = new Set<Task<unknown>>();
      const task = createTask(
        (function* (): Coro<void> {
          captured = allTasks();
          yield* fut1;
          fut2.setResult(undefined);
        })(),
      );
      assert.ok(captured.has(task));
      assert.ok(allTasks().has(task));
      fut1.setResult(undefined);
      yield* fut2;
      assert.equal(allTasks().has(task), false);
    }, eager));

  // asyncio: test_context_vars
  it("runs the eager step in the task's own context", () =>
    runVirtual(function* () {
      const variable = new ContextVar<number>("cv", { default: 0 });
      const log: string[] = [];
      variable.set(1);
      const task = createTask(
        (function* (): Coro<void> {
          log.push(`first step sees ${variable.get()}`);
          variable.set(2);
          yield* sleep(0.1);
          log.push(`second step sees ${variable.get()}`);
          variable.set(3);
        })(),
      );
      log.push(`caller sees ${variable.get()}`);
      yield* task;
      log.push(`caller sees ${variable.get()}`);
      assert.deepEqual(log, [
        "first step sees 1",
        "caller sees 1",
        "second step sees 2",
        "caller sees 1",
      ]);
    }, eager));

  // asyncio: test_awaitables_chain
  it("creates no scheduled task for a chain of awaited coroutines", async () => {
    function* chain(depth: number): Coro<number> {
      if (depth === 0) return 0;
      return 1 + (yield* chain(depth - 1));
    }
    for (const isEager of [false, true]) {
      let scheduled = 0;
      class CountingTask<T> extends Task<T> {
        constructor(coro: Coro<T>, options: TaskConstructorOptions) {
          super(coro, options);
          if (options.eagerStart !== true) scheduled += 1;
        }
      }
      const factory: TaskFactory = isEager
        ? createEagerTaskFactory(CountingTask)
        : (loop, coro, options) => new CountingTask(coro, { ...options, loop });
      const depth = await runVirtual(chain(100), {
        setup: (loop) => {
          loop.setTaskFactory(factory);
        },
      });
      assert.equal(depth, 100);
      assert.equal(scheduled, isEager ? 0 : 1);
    }
  });
});

describe("createEagerTaskFactory", () => {
  it("builds tasks of the given class, started eagerly", () =>
    runVirtual(
      function* () {
        const log: string[] = [];
        const task = createTask(
          (function* (): Coro<void> {
            log.push("step");
            yield* sleep(0);
          })(),
          { name: "named" },
        );
        assert.ok(task instanceof MarkedTask);
        assert.equal(task.getName(), "named");
        assert.deepEqual(log, ["step"]);
        yield* task;
      },
      {
        setup: (loop) => {
          loop.setTaskFactory(createEagerTaskFactory(MarkedTask));
        },
      },
    ));

  it("throws TypeError for something that is not a class", () => {
    assert.throws(() => createEagerTaskFactory(5 as unknown as typeof Task), {
      name: "TypeError",
      message: "taskConstructor must be a function, got 5",
    });
  });
});

class MarkedTask<T> extends Task<T> {}

describe("createTask with eagerStart", () => {
  it("runs the first step at once without a task factory", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* coro(n: number): Coro<void> {
        log.push(`start ${n}`);
        yield* sleep(0);
        log.push(`resume ${n}`);
      }
      const lazy = createTask(coro(1));
      const eagerTask = createTask(coro(2), { eagerStart: true });
      log.push("created");
      yield* lazy;
      yield* eagerTask;
      assert.deepEqual(log, ["start 2", "created", "start 1", "resume 2", "resume 1"]);
    }));

  it("returns a finished task for a coroutine that does not suspend", () =>
    runVirtual(function* () {
      const task = createTask(
        (function* (): Coro<number> {
          return 1;
        })(),
        { name: "e", eagerStart: true },
      );
      assert.equal(String(task), "<Task finished name='e' result=1>");
      assert.equal(task.result(), 1);
    }));

  it("schedules the first step normally when the loop is not running", async () => {
    const loop = new VirtualEventLoop();
    try {
      const log: string[] = [];
      const task = new Task(
        (function* (): Coro<number> {
          log.push("step");
          return 1;
        })(),
        { loop, eagerStart: true },
      );
      assert.deepEqual(log, []);
      assert.equal(task.done(), false);
      assert.equal(await loop.runUntilComplete(task), 1);
      assert.deepEqual(log, ["step"]);
    } finally {
      loop.close();
    }
  });
});

describe("Task cancellation count", () => {
  it("counts past 2^24 requests and back down (it shares a number with the Task's flags)", () =>
    runVirtual(function* () {
      const task = createTask(sleep(10));
      yield* sleep(0);
      const requests = 2 ** 24 + 3;
      for (let i = 0; i < requests; i++) task.cancel();
      assert.equal(task.cancelling(), requests);
      assert.match(String(task), /^<Task cancelling /);
      let wrong = 0;
      for (let i = requests - 1; i >= 0; i--) if (task.uncancel() !== i) wrong++;
      assert.equal(wrong, 0);
      assert.equal(task.cancelling(), 0);
      assert.equal(task.uncancel(), 0);
      // The sleep's Future was cancelled by the first request: the task still ends cancelled.
      const error = yield* thrownBy(task);
      assert.ok(error instanceof CancelledError);
    }));
});
