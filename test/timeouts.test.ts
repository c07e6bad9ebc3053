// Tests for src/timeouts.ts. Ported from CPython 3.13's test_timeouts.py on the virtual clock;
// each expected trace was first recorded by running the same scenario on CPython 3.13.0 with a
// virtual-clock loop. Deliberate differences: JavaScript has no implicit `__context__`, so
// where 3.13 inserts a TimeoutError into the context chain of a foreign error, the foreign
// error passes unchanged (the TimeoutError's `cause` is still the CancelledError); ValueError
// becomes TypeError; `None` in a repr is `null`; numbers print as JavaScript prints them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  ExceptionGroup,
  RuntimeError,
  Timeout,
  TimeoutError,
  createTask,
  getRunningLoop,
  moveOnAfter,
  moveOnAt,
  sleep,
  taskGroup,
  timeout,
  timeoutAt,
  type Coro,
} from "../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../src/testing.ts";
import { now, self, thrownBy } from "./helpers/coro.ts";
import { KeyError, ZeroDivisionError, nameOf } from "./helpers/errors.ts";

function virtualLoop(): VirtualEventLoop {
  const loop = getRunningLoop();
  assert.ok(loop instanceof VirtualEventLoop);
  return loop;
}

/**
 * What console.warn printed while `run()` (a whole loop run) went on; console.debug (where a
 * debug loop says "Close ...") is silenced meanwhile.
 */
async function warnings(run: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const { warn, debug } = console;
  console.warn = (...args: unknown[]): void => {
    lines.push(args.map(String).join(" "));
  };
  console.debug = (): void => {};
  try {
    await run();
  } finally {
    console.warn = warn;
    console.debug = debug;
  }
  return lines;
}

describe("timeout", () => {
  // asyncio: test_timeout_basic
  it("throws TimeoutError at the deadline and marks the Timeout expired", () =>
    runVirtual(function* () {
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(0.01, function* (scope) {
          cm = scope;
          assert.equal(String(scope), "<Timeout [active] when=0.01>");
          yield* sleep(10);
        }),
      );
      assert.ok(error instanceof TimeoutError);
      assert.equal(now(), 0.01);
      assert.equal(String(cm), "<Timeout [expired]>");
      assert.equal(cm!.expired(), true);
      assert.equal(self().cancelling(), 0);
    }));

  // asyncio: test_timeout_exception_cause
  it("gives the TimeoutError the CancelledError as its cause", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(() =>
        timeout(0, function* () {
          yield* sleep(1);
        }),
      );
      assert.ok(error instanceof TimeoutError);
      assert.ok(error.cause instanceof CancelledError);
      assert.equal(error.message, "");
    }));

  // asyncio: test_waiter_cancelled
  it("cancels the body where it waits, with a CancelledError it can see", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const error = yield* thrownBy(() =>
        timeout(0.01, function* () {
          try {
            yield* sleep(10);
          } catch (cancelled) {
            log.push(`${nameOf(cancelled)} ${now()} c=${self().cancelling()}`);
            throw cancelled;
          }
        }),
      );
      log.push(`${nameOf(error)} ${now()} c=${self().cancelling()}`);
      assert.deepEqual(log, ["CancelledError 0.01 c=1", "TimeoutError 0.01 c=0"]);
    }));

  // asyncio: test_nested_timeouts
  it("raises TimeoutError only from the outermost of nested timeouts with one deadline", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const deadline = now() + 0.01;
      let cm1: Timeout | undefined;
      let cm2: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeoutAt(deadline, function* (outer) {
          cm1 = outer;
          try {
            yield* timeoutAt(deadline, function* (inner) {
              cm2 = inner;
              yield* sleep(10);
            });
          } catch (cancelled) {
            log.push(`inner ${nameOf(cancelled)} ${String(cm1)} ${String(cm2)}`);
            log.push(`c=${self().cancelling()}`);
            throw cancelled;
          }
        }),
      );
      log.push(`outer ${nameOf(error)} ${now()} ${String(cm1)} ${String(cm2)}`);
      log.push(`c=${self().cancelling()}`);
      assert.deepEqual(log, [
        "inner CancelledError <Timeout [expiring]> <Timeout [expired]>",
        "c=1",
        "outer TimeoutError 0.01 <Timeout [expired]> <Timeout [expired]>",
        "c=0",
      ]);
      assert.equal(cm1!.expired(), true);
      assert.equal(cm2!.expired(), true);
    }));

  // asyncio: test_timeout_not_called
  it("returns the body's result and stays unexpired when the deadline is not reached", () =>
    runVirtual(function* () {
      let cm: Timeout | undefined;
      const result = yield* timeout(10, function* (scope) {
        cm = scope;
        yield* sleep(0.01);
        return "done";
      });
      assert.equal(result, "done");
      assert.equal(now(), 0.01);
      assert.equal(cm!.expired(), false);
      assert.equal(cm!.when(), 10);
      assert.equal(String(cm), "<Timeout [finished]>");
    }));

  // asyncio: test_timeout_disabled
  it("never fires with a null delay", () =>
    runVirtual(function* () {
      const cm = yield* timeout(null, function* (scope) {
        assert.equal(String(scope), "<Timeout [active] when=null>");
        yield* sleep(3600);
        return scope;
      });
      assert.equal(now(), 3600);
      assert.equal(cm.expired(), false);
      assert.equal(cm.when(), null);
      assert.equal(String(cm), "<Timeout [finished]>");
    }));

  // asyncio: test_timeout_zero
  it("expires at once with a delay of 0", () =>
    runVirtual(function* () {
      const log: string[] = [];
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(0, function* (scope) {
          cm = scope;
          log.push(String(scope));
          yield* sleep(10);
          log.push("after sleep");
        }),
      );
      log.push(`${nameOf(error)} ${now()} ${String(cm)} when=${cm!.when()}`);
      assert.deepEqual(log, [
        "<Timeout [active] when=0>",
        "TimeoutError 0 <Timeout [expired]> when=0",
      ]);
    }));

  // asyncio: test_timeout_zero_sleep_zero
  it("expires at once with a delay of 0 even if the body only gives one iteration", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const error = yield* thrownBy(() =>
        timeout(0, function* (cm) {
          log.push(String(cm));
          yield* sleep(0);
          log.push("after sleep");
        }),
      );
      log.push(`${nameOf(error)} ${now()}`);
      assert.deepEqual(log, ["<Timeout [active] when=0>", "TimeoutError 0"]);
    }));

  // asyncio: test_timeout_in_the_past_sleep_zero
  it("expires at once with a negative delay", () =>
    runVirtual(function* () {
      const log: string[] = [];
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(-11, function* (scope) {
          cm = scope;
          log.push(String(scope));
          yield* sleep(0);
          log.push("after sleep");
        }),
      );
      log.push(`${nameOf(error)} ${now()} ${String(cm)} when=${cm!.when()}`);
      assert.deepEqual(log, [
        "<Timeout [active] when=-11>",
        "TimeoutError 0 <Timeout [expired]> when=-11",
      ]);
    }));

  // asyncio: test_foreign_exception_passed
  it("lets an error of the body pass unchanged, unexpired", () =>
    runVirtual(function* () {
      const thrown = new KeyError("k");
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(0.01, function* (scope) {
          cm = scope;
          throw thrown;
        }),
      );
      assert.equal(error, thrown);
      assert.equal(cm!.expired(), false);
      assert.equal(String(cm), "<Timeout [finished]>");
    }));

  // asyncio: test_timeout_exception_context
  it("turns a CancelledError that replaced an earlier error into a TimeoutError", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(() =>
        timeout(0.01, function* () {
          try {
            throw new ZeroDivisionError("division by zero");
          } finally {
            yield* sleep(1);
          }
        }),
      );
      assert.ok(error instanceof TimeoutError);
      assert.equal(now(), 0.01);
      // 3.13 also has the ZeroDivisionError as the CancelledError's __context__; JavaScript
      // has no implicit context: the cause is the CancelledError, and that is all.
      assert.ok(error.cause instanceof CancelledError);
      assert.equal(error.cause.cause, undefined);
    }));

  // asyncio: test_foreign_exception_on_timeout
  it("lets an error thrown while the body unwinds from the timeout pass unchanged", () =>
    runVirtual(function* () {
      function* crash(): Coro<void> {
        try {
          yield* sleep(1);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw new ZeroDivisionError("division by zero");
        }
      }
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(0.01, function* (scope) {
          cm = scope;
          yield* crash();
        }),
      );
      assert.ok(error instanceof ZeroDivisionError);
      // No __context__ in JavaScript: 3.13 would chain a TimeoutError in here.
      assert.equal(error.cause, undefined);
      assert.equal(now(), 0.01);
      assert.equal(String(cm), "<Timeout [expired]>");
      assert.equal(self().cancelling(), 0);
    }));

  // asyncio: test_foreign_exception_on_timeout_2
  it("lets the last of several errors thrown while unwinding pass unchanged", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(() =>
        timeout(0.01, function* () {
          try {
            try {
              throw new TypeError("value");
            } finally {
              yield* sleep(1);
            }
          } finally {
            try {
              // eslint-disable-next-line no-unsafe-finally
              throw new KeyError("key");
            } finally {
              // eslint-disable-next-line no-unsafe-finally
              throw new ZeroDivisionError("division by zero");
            }
          }
        }),
      );
      assert.ok(error instanceof ZeroDivisionError);
      assert.equal(error.cause, undefined);
      assert.equal(self().cancelling(), 0);
    }));

  // asyncio: test_foreign_cancel_doesnt_timeout_if_not_expired
  it("lets a cancellation from outside pass as CancelledError, unexpired", () =>
    runVirtual(function* () {
      const log: string[] = [];
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(10, function* (scope) {
          cm = scope;
          self().cancel();
          log.push(`c=${self().cancelling()}`);
          yield* sleep(10);
        }),
      );
      log.push(`${nameOf(error)} ${now()} ${String(cm)} ${cm!.expired()}`);
      log.push(`c=${self().cancelling()}`);
      assert.deepEqual(log, ["c=1", "CancelledError 0 <Timeout [finished]> false", "c=1"]);
      self().uncancel();
    }));

  it("lets an outside cancellation pass when it comes in the same iteration as the deadline", () =>
    runVirtual(function* () {
      const task = self();
      // Scheduled before the Timeout's own timer, so it runs first in the same iteration.
      getRunningLoop().callAt(1, () => task.cancel());
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(1, function* (scope) {
          cm = scope;
          yield* sleep(10);
        }),
      );
      assert.ok(error instanceof CancelledError);
      assert.equal(now(), 1);
      assert.equal(String(cm), "<Timeout [expired]>");
      assert.equal(task.cancelling(), 1);
      task.uncancel();
    }));

  // asyncio: test_outer_task_is_not_cancelled
  it("leaves the task that handled its TimeoutError uncancelled", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<number> {
          try {
            yield* timeout(0.001, function* () {
              yield* sleep(10);
            });
          } catch (error) {
            log.push(`${nameOf(error)} ${now()}`);
          }
          return 5;
        })(),
      );
      assert.equal(yield* task, 5);
      assert.deepEqual(log, ["TimeoutError 0.001"]);
      assert.equal(task.cancelled(), false);
      assert.equal(task.cancelling(), 0);
    }));

  // asyncio: test_nested_timeouts_concurrent
  it("lets an outer timeout that expired first win over an inner one", () =>
    runVirtual(function* () {
      const loop = virtualLoop();
      const log: string[] = [];
      let inner: Timeout | undefined;
      let outer: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(0.002, function* (scope) {
          outer = scope;
          try {
            yield* timeout(0.1, function* (scope2) {
              inner = scope2;
              loop.advance(0.01); // Pretend we crunch some numbers.
              yield* sleep(1);
            });
          } catch (cancelled) {
            log.push(`inner ${nameOf(cancelled)} ${now()} ${String(inner)} ${String(outer)}`);
            throw cancelled;
          }
        }),
      );
      log.push(`outer ${nameOf(error)} ${now()} c=${self().cancelling()} ${String(outer)}`);
      assert.deepEqual(log, [
        "inner CancelledError 0.01 <Timeout [finished]> <Timeout [expiring]>",
        "outer TimeoutError 0.01 c=0 <Timeout [expired]>",
      ]);
    }));

  // asyncio: test_nested_timeouts_loop_busy
  it("lets the outer timeout win when both expire in one iteration of a busy loop", () =>
    runVirtual(function* () {
      const loop = virtualLoop();
      const log: string[] = [];
      const error = yield* thrownBy(() =>
        timeout(0.1, function* (outer) {
          let inner: Timeout | undefined;
          try {
            yield* timeout(0.01, function* (scope) {
              inner = scope;
              loop.advance(0.1); // Pretend the loop is busy for a while.
              yield* sleep(1);
            });
          } catch (cancelled) {
            // Both timers ran in the same iteration: the inner Timeout sees the outer's
            // request still pending and lets the CancelledError through (as CPython does).
            log.push(`inner ${nameOf(cancelled)} ${now()} ${String(inner)} ${String(outer)}`);
            log.push(`c=${self().cancelling()}`);
            throw cancelled;
          }
          yield* sleep(10);
        }),
      );
      log.push(`outer ${nameOf(error)} ${now()} c=${self().cancelling()}`);
      assert.deepEqual(log, [
        "inner CancelledError 0.1 <Timeout [expired]> <Timeout [expiring]>",
        "c=1",
        "outer TimeoutError 0.1 c=0",
      ]);
    }));

  it("lets an outer timeout interrupt the next wait after an inner one expired", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const error = yield* thrownBy(() =>
        timeout(0.1, function* () {
          try {
            yield* timeout(0.01, function* () {
              yield* sleep(1);
            });
          } catch (inner) {
            log.push(`inner ${nameOf(inner)} ${now()} c=${self().cancelling()}`);
          }
          yield* sleep(10);
        }),
      );
      log.push(`outer ${nameOf(error)} ${now()} c=${self().cancelling()}`);
      assert.deepEqual(log, ["inner TimeoutError 0.01 c=0", "outer TimeoutError 0.1 c=0"]);
    }));

  // asyncio: test_nested_timeout_in_finally
  it("works in a finally block of a body that its outer timeout cancelled", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const error = yield* thrownBy(() =>
        timeout(0.01, function* () {
          try {
            yield* sleep(1);
          } finally {
            try {
              yield* timeout(0.01, function* () {
                yield* sleep(10);
              });
            } catch (inner) {
              log.push(`inner ${nameOf(inner)} ${now()} c=${self().cancelling()}`);
              // eslint-disable-next-line no-unsafe-finally
              throw inner;
            }
          }
        }),
      );
      log.push(`outer ${nameOf(error)} ${now()} c=${self().cancelling()}`);
      assert.deepEqual(log, ["inner TimeoutError 0.02 c=1", "outer TimeoutError 0.02 c=0"]);
      // The inner TimeoutError has its own CancelledError as cause, not the outer's.
      assert.ok(error instanceof TimeoutError);
      assert.ok(error.cause instanceof CancelledError);
    }));

  // asyncio: test_timeout_after_cancellation
  it("expires in cleanup code after a swallowed cancellation", () =>
    runVirtual(function* () {
      const log: string[] = [];
      try {
        self().cancel();
        yield* sleep(1);
      } catch (error) {
        log.push(`caught ${nameOf(error)} c=${self().cancelling()}`);
      } finally {
        try {
          yield* timeout(0, function* () {
            yield* sleep(1);
          });
        } catch (error) {
          log.push(`${nameOf(error)} ${now()} c=${self().cancelling()}`);
        }
      }
      assert.deepEqual(log, ["caught CancelledError c=1", "TimeoutError 0 c=1"]);
      self().uncancel();
    }));

  // asyncio: test_cancel_in_timeout_after_cancellation
  it("lets an explicit cancel pass in cleanup code after a swallowed cancellation", () =>
    runVirtual(function* () {
      const log: string[] = [];
      try {
        self().cancel();
        yield* sleep(1);
      } catch (error) {
        log.push(`caught ${nameOf(error)} c=${self().cancelling()}`);
      } finally {
        try {
          yield* timeout(1, function* () {
            self().cancel();
            yield* sleep(2);
          });
        } catch (error) {
          log.push(`${nameOf(error)} ${now()} c=${self().cancelling()}`);
        }
      }
      assert.deepEqual(log, ["caught CancelledError c=1", "CancelledError 0 c=2"]);
      self().uncancel();
      self().uncancel();
    }));

  it("returns the body's result when the body swallows the timeout's cancellation", () =>
    runVirtual(function* () {
      const log: string[] = [];
      let cm: Timeout | undefined;
      const result = yield* timeout(1, function* (scope) {
        cm = scope;
        try {
          yield* sleep(10);
        } catch (error) {
          log.push(`${nameOf(error)} ${now()} ${String(scope)} c=${self().cancelling()}`);
        }
        yield* sleep(1);
        return 7;
      });
      log.push(`${result} ${now()} ${String(cm)} ${cm!.expired()} c=${self().cancelling()}`);
      assert.deepEqual(log, [
        "CancelledError 1 <Timeout [expiring]> c=1",
        "7 2 <Timeout [expired]> true c=0",
      ]);
    }));

  // asyncio: test_timeout_taskgroup
  it("lets the ExceptionGroup of a TaskGroup it cancelled pass", () =>
    runVirtual(function* () {
      function* task(): Coro<void> {
        try {
          yield* sleep(2);
        } finally {
          // eslint-disable-next-line no-unsafe-finally
          throw new ZeroDivisionError("division by zero"); // Crash in cleanup.
        }
      }
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeout(0.01, function* (scope) {
          cm = scope;
          yield* taskGroup(function* (tg) {
            tg.createTask(task());
            try {
              throw new TypeError("value");
            } finally {
              yield* sleep(1);
            }
          });
        }),
      );
      assert.ok(error instanceof ExceptionGroup);
      assert.equal(error.exceptions.length, 1);
      assert.ok(error.exceptions[0] instanceof ZeroDivisionError);
      // No __context__ chain to insert a TimeoutError into: the errors pass unchanged.
      assert.equal(error.cause, undefined);
      assert.equal(error.exceptions[0].cause, undefined);
      assert.equal(now(), 0.01);
      assert.equal(String(cm), "<Timeout [expired]>");
      assert.equal(self().cancelling(), 0);
    }));

  it("leaves no cancellation behind for debug mode to warn about when the body swallows it", async () => {
    const lines = await warnings(() =>
      runVirtual(
        function* () {
          const task = createTask(
            timeout(1, function* () {
              try {
                yield* sleep(10);
              } catch {
                // Swallowed; the Timeout uncancels the task on exit.
              }
              return "late";
            }),
          );
          assert.equal(yield* task, "late");
          assert.equal(task.cancelling(), 0);
        },
        { debug: true },
      ),
    );
    assert.deepEqual(lines, []);
  });

  it("lets debug mode warn about a task that swallows a cancellation from outside instead", async () => {
    const lines = await warnings(() =>
      runVirtual(
        function* () {
          const task = createTask(
            (function* (): Coro<string> {
              try {
                yield* sleep(10);
              } catch {
                // Swallowed without uncancel(): debug mode warns when the task returns.
              }
              return "swallowed";
            })(),
            { name: "swallower" },
          );
          yield* sleep(1);
          task.cancel();
          assert.equal(yield* task, "swallowed");
          assert.equal(task.cancelling(), 1);
        },
        { debug: true },
      ),
    );
    assert.deepEqual(lines, [
      "<Task cancelling name='swallower' cb=[Task.wakeup()]> returned normally while cancelling() is 1: " +
        "a catch block may have swallowed its CancelledError; rethrow it " +
        "(rethrowIfCancelled) or call uncancel() if going on is intended",
    ]);
  });

  it("rejects a delay that is neither a number nor null with a TypeError", () =>
    runVirtual(function* () {
      const body = function* (): Coro<void> {};
      for (const delay of [Number.NaN, "1", undefined]) {
        const error = yield* thrownBy(() => timeout(delay as number, body));
        assert.ok(error instanceof TypeError);
        assert.match(error.message, /^delay must be a number or null, got /);
      }
      assert.equal(self().cancelling(), 0);
    }));

  // As asyncio.timeout(), which reads loop.time() when called.
  it("needs a running loop when it is called", () => {
    assert.throws(() => timeout(1, function* () {}), {
      name: "RuntimeError",
      message: "no running event loop",
    });
  });
});

describe("timeoutAt", () => {
  // asyncio: test_timeout_at_basic
  it("throws TimeoutError at the given loop time, which when() returns", () =>
    runVirtual(function* () {
      yield* sleep(1);
      const deadline = now() + 0.01;
      let cm: Timeout | undefined;
      const error = yield* thrownBy(() =>
        timeoutAt(deadline, function* (scope) {
          cm = scope;
          yield* sleep(10);
        }),
      );
      assert.ok(error instanceof TimeoutError);
      assert.equal(now(), deadline);
      assert.equal(cm!.expired(), true);
      assert.equal(cm!.when(), deadline);
    }));

  // asyncio: test_timeout_at_disabled
  it("never fires with a null deadline", () =>
    runVirtual(function* () {
      const cm = yield* timeoutAt(null, function* (scope) {
        yield* sleep(0.01);
        return scope;
      });
      assert.equal(cm.expired(), false);
      assert.equal(cm.when(), null);
    }));

  it("rejects a deadline that is neither a number nor null with a TypeError", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(() => timeoutAt(Number.NaN, function* () {}));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "when must be a number or null, got NaN");
    }));
});

describe("Timeout", () => {
  // asyncio: test_reschedule
  it("moves or removes its deadline with reschedule()", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const fut = loop.createFuture<Timeout>();
      const deadline1 = now() + 10;
      const deadline2 = deadline1 + 20;
      const task = createTask(
        timeoutAt(deadline1, function* (cm) {
          fut.setResult(cm);
          yield* sleep(50);
        }),
      );
      const cm = yield* fut;
      assert.equal(cm.when(), deadline1);
      assert.equal(String(cm), "<Timeout [active] when=10>");
      cm.reschedule(deadline2);
      assert.equal(cm.when(), deadline2);
      assert.equal(String(cm), "<Timeout [active] when=30>");
      cm.reschedule(null);
      assert.equal(cm.when(), null);
      assert.equal(String(cm), "<Timeout [active] when=null>");
      task.cancel();
      const error = yield* thrownBy(() => task);
      assert.ok(error instanceof CancelledError);
      assert.equal(now(), 0);
      assert.equal(cm.expired(), false);
      assert.equal(String(cm), "<Timeout [finished]>");
    }));

  it("expires at the new deadline after reschedule(), or at once for one already past", () =>
    runVirtual(function* () {
      const log: string[] = [];
      for (const when of [1.5, 0]) {
        const error = yield* thrownBy(() =>
          timeout(10, function* (cm) {
            yield* sleep(1);
            cm.reschedule(when === 0 ? 0 : now() + 0.5);
            log.push(String(cm));
            yield* sleep(10);
          }),
        );
        log.push(`${nameOf(error)} ${now()}`);
      }
      assert.deepEqual(log, [
        "<Timeout [active] when=1.5>",
        "TimeoutError 1.5",
        "<Timeout [active] when=0>",
        "TimeoutError 2.5",
      ]);
    }));

  // asyncio: test_repr_active
  it("shows its state and deadline, rounded to 3 decimals, while active", () =>
    runVirtual(function* () {
      yield* sleep(1.23456);
      yield* timeout(10, function* (cm) {
        assert.equal(String(cm), "<Timeout [active] when=11.235>");
      });
      const cm = new Timeout(2);
      assert.equal(String(cm), "<Timeout [created]>");
    }));

  // asyncio: test_repr_expired
  it("shows [expired] after its deadline passed", () =>
    runVirtual(function* () {
      const cm = new Timeout(now() + 0.01);
      const error = yield* thrownBy(() =>
        cm.run(function* () {
          yield* sleep(10);
        }),
      );
      assert.ok(error instanceof TimeoutError);
      assert.equal(String(cm), "<Timeout [expired]>");
    }));

  // asyncio: test_repr_finished
  it("shows [finished] after an exit before its deadline", () =>
    runVirtual(function* () {
      const cm = yield* timeout(10, function* (scope) {
        yield* sleep(0);
        return scope;
      });
      assert.equal(String(cm), "<Timeout [finished]>");
    }));

  // asyncio: test_repr_disabled
  it("shows when=null while active without a deadline", () =>
    runVirtual(function* () {
      yield* timeout(null, function* (cm) {
        assert.equal(String(cm), "<Timeout [active] when=null>");
      });
    }));

  // asyncio: test_timeout_already_entered
  it("cannot be entered again while active", () =>
    runVirtual(function* () {
      yield* timeout(0.01, function* (cm) {
        const error = yield* thrownBy(() => cm.run(function* () {}));
        assert.ok(error instanceof RuntimeError);
        assert.equal(error.message, "Timeout has already been entered");
      });
    }));

  // asyncio: test_timeout_double_enter
  it("cannot be entered again once finished", () =>
    runVirtual(function* () {
      const cm = yield* timeout(0.01, function* (scope) {
        return scope;
      });
      const error = yield* thrownBy(() => cm.run(function* () {}));
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "Timeout has already been entered");
    }));

  // asyncio: test_timeout_finished
  it("cannot be rescheduled once finished", () =>
    runVirtual(function* () {
      const cm = yield* timeout(0.01, function* (scope) {
        return scope;
      });
      assert.throws(
        () => {
          cm.reschedule(0.02);
        },
        {
          name: "RuntimeError",
          message: "Cannot change state of finished Timeout",
        },
      );
    }));

  // asyncio: test_timeout_expired
  it("cannot be rescheduled once expired", () =>
    runVirtual(function* () {
      const cm = new Timeout(now() + 0.01);
      yield* thrownBy(() =>
        cm.run(function* () {
          yield* sleep(1);
        }),
      );
      assert.throws(
        () => {
          cm.reschedule(0.02);
        },
        {
          name: "RuntimeError",
          message: "Cannot change state of expired Timeout",
        },
      );
    }));

  // asyncio: test_timeout_expiring
  it("cannot be rescheduled while expiring", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const cm = yield* timeout(0.01, function* (scope) {
        try {
          yield* sleep(1);
        } catch (error) {
          log.push(`${nameOf(error)} ${String(scope)} ${scope.expired()} c=${self().cancelling()}`);
        }
        try {
          scope.reschedule(0.02);
        } catch (error) {
          log.push(`${nameOf(error)}: ${(error as Error).message}`);
        }
        return scope;
      });
      log.push(`${String(cm)} ${cm.expired()} c=${self().cancelling()}`);
      assert.deepEqual(log, [
        "CancelledError <Timeout [expiring]> true c=1",
        "RuntimeError: Cannot change state of expiring Timeout",
        "<Timeout [expired]> true c=0",
      ]);
    }));

  // asyncio: test_timeout_not_entered
  it("cannot be rescheduled before it is entered", () => {
    const cm = new Timeout(0.01);
    assert.throws(
      () => {
        cm.reschedule(0.02);
      },
      {
        name: "RuntimeError",
        message: "Timeout has not been entered",
      },
    );
  });

  // asyncio: test_timeout_without_task
  it("cannot be entered outside a task", () =>
    runVirtual(function* () {
      const cm = new Timeout(now() + 0.01);
      const loop = getRunningLoop();
      const done = loop.createFuture<unknown>();
      loop.callSoon(() => {
        try {
          cm.enter().next();
          done.setResult(null);
        } catch (error) {
          done.setResult(error);
        }
      });
      const error = yield* done;
      assert.ok(error instanceof RuntimeError);
      assert.equal(error.message, "Timeout should be used inside a task");
      assert.throws(
        () => {
          cm.reschedule(0.02);
        },
        { message: "Timeout has not been entered" },
      );
    }));

  it("rejects a deadline that is neither a number nor null with a TypeError", () => {
    assert.throws(() => new Timeout(Number.NaN), {
      name: "TypeError",
      message: "when must be a number or null, got NaN",
    });
    assert.throws(() => new Timeout("1" as unknown as number), { name: "TypeError" });
  });

  it("rejects a bad deadline in reschedule() with a TypeError and keeps the old one", () =>
    runVirtual(function* () {
      yield* timeout(5, function* (cm) {
        assert.throws(
          () => {
            cm.reschedule(Number.NaN);
          },
          { name: "TypeError" },
        );
        assert.equal(cm.when(), 5);
        yield* sleep(1);
      });
    }));

  it("works with enter() and exit() called directly", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const cm = new Timeout(now() + 1);
      assert.equal(yield* cm.enter(), cm);
      log.push(String(cm));
      try {
        yield* sleep(10);
        log.push("not reached");
      } catch (error) {
        log.push(`body ${nameOf(error)} ${now()} c=${self().cancelling()}`);
        try {
          yield* cm.exit(true, error);
        } catch (converted) {
          log.push(`exit ${nameOf(converted)} cause=${nameOf((converted as Error).cause)}`);
        }
      }
      log.push(`${String(cm)} c=${self().cancelling()}`);

      const ok = new Timeout(now() + 1);
      yield* ok.enter();
      yield* sleep(0.5);
      yield* ok.exit(false);
      log.push(`${String(ok)} ${now()}`);
      // The exit cancelled the timer: nothing fires at 2.
      yield* sleep(1);
      log.push(`c=${self().cancelling()}`);
      assert.deepEqual(log, [
        "<Timeout [active] when=1>",
        "body CancelledError 1 c=1",
        "exit TimeoutError cause=CancelledError",
        "<Timeout [expired]> c=0",
        "<Timeout [finished]> 1.5",
        "c=0",
      ]);
    }));

  it("converts nothing on exit() without an error, even after it expired", () =>
    runVirtual(function* () {
      const cm = new Timeout(now() + 1);
      yield* cm.enter();
      try {
        yield* sleep(10);
      } catch {
        // Swallowed: the block ends normally.
      }
      yield* cm.exit(false);
      assert.equal(String(cm), "<Timeout [expired]>");
      assert.equal(cm.expired(), true);
      assert.equal(self().cancelling(), 0);
    }));
});

describe("moveOnAfter", () => {
  it("returns undefined when the deadline passes, with the Timeout expired", () =>
    runVirtual(function* () {
      const log: string[] = [];
      let cm: Timeout | undefined;
      const result = yield* moveOnAfter(1, function* (scope) {
        cm = scope;
        try {
          yield* sleep(10);
        } catch (error) {
          log.push(`${nameOf(error)} ${now()}`);
          throw error;
        }
        return "done";
      });
      assert.equal(result, undefined);
      assert.deepEqual(log, ["CancelledError 1"]);
      assert.equal(now(), 1);
      assert.equal(String(cm), "<Timeout [expired]>");
      assert.equal(self().cancelling(), 0);
    }));

  it("returns the body's result before the deadline", () =>
    runVirtual(function* () {
      const result = yield* moveOnAfter(1, function* () {
        yield* sleep(0.5);
        return "done";
      });
      assert.equal(result, "done");
      assert.equal(now(), 0.5);
      // The timer is gone: nothing cancels the task later.
      yield* sleep(1);
      assert.equal(self().cancelling(), 0);
    }));

  it("never expires with a null delay", () =>
    runVirtual(function* () {
      const result = yield* moveOnAfter(null, function* (cm) {
        yield* sleep(100);
        return cm.when();
      });
      assert.equal(result, null);
    }));

  it("does not absorb the TimeoutError of a nested timeout", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const error = yield* thrownBy(() =>
        moveOnAfter(10, function* () {
          yield* timeout(1, function* () {
            yield* sleep(5);
          });
          log.push("not reached");
        }),
      );
      assert.ok(error instanceof TimeoutError);
      assert.equal(now(), 1);
      assert.deepEqual(log, []);
      assert.equal(self().cancelling(), 0);
    }));

  it("does not absorb a TimeoutError the body throws itself", () =>
    runVirtual(function* () {
      const thrown = new TimeoutError("mine");
      const error = yield* thrownBy(() =>
        moveOnAfter(10, function* () {
          yield* sleep(1);
          throw thrown;
        }),
      );
      assert.equal(error, thrown);
    }));

  it("lets a nested moveOnAfter that expires first absorb only its own deadline", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const outer = yield* moveOnAfter(10, function* () {
        const inner = yield* moveOnAfter(1, function* () {
          yield* sleep(5);
          return "inner";
        });
        log.push(`inner ${String(inner)} ${now()}`);
        yield* sleep(1);
        return "outer";
      });
      log.push(`outer ${String(outer)} ${now()} c=${self().cancelling()}`);
      assert.deepEqual(log, ["inner undefined 1", "outer outer 2 c=0"]);
    }));

  it("lets an outer timeout with the same deadline throw TimeoutError", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const error = yield* thrownBy(() =>
        timeout(1, function* () {
          const result = yield* moveOnAfter(1, function* () {
            yield* sleep(5);
          });
          log.push(`moved on ${String(result)}`);
        }),
      );
      log.push(`${nameOf(error)} ${now()} c=${self().cancelling()}`);
      assert.deepEqual(log, ["TimeoutError 1 c=0"]);
    }));

  it("lets a cancellation from outside propagate", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        moveOnAfter(10, function* (cm) {
          try {
            yield* sleep(5);
          } finally {
            log.push(`finally ${now()} ${cm.expired()}`);
          }
        }),
      );
      yield* sleep(1);
      task.cancel();
      const error = yield* thrownBy(() => task);
      assert.ok(error instanceof CancelledError);
      assert.equal(task.cancelled(), true);
      assert.deepEqual(log, ["finally 1 false"]);
    }));

  it("lets an error of the body propagate", () =>
    runVirtual(function* () {
      const thrown = new KeyError("k");
      const error = yield* thrownBy(() =>
        moveOnAfter(1, function* () {
          yield* sleep(0.5);
          throw thrown;
        }),
      );
      assert.equal(error, thrown);
      assert.equal(self().cancelling(), 0);
    }));

  it("rejects a delay that is neither a number nor null with a TypeError", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(() => moveOnAfter(Number.NaN, function* () {}));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "delay must be a number or null, got NaN");
    }));
});

describe("moveOnAt", () => {
  it("returns undefined at the given loop time", () =>
    runVirtual(function* () {
      yield* sleep(1);
      const result = yield* moveOnAt(2.5, function* () {
        yield* sleep(10);
        return "done";
      });
      assert.equal(result, undefined);
      assert.equal(now(), 2.5);
      assert.equal(self().cancelling(), 0);
    }));

  it("returns the body's result before the deadline", () =>
    runVirtual(function* () {
      const result = yield* moveOnAt(2, function* (cm) {
        yield* sleep(1);
        return cm.when();
      });
      assert.equal(result, 2);
    }));

  it("moves on at once for a deadline already past", () =>
    runVirtual(function* () {
      yield* sleep(1);
      const log: string[] = [];
      const result = yield* moveOnAt(0, function* () {
        log.push("started");
        yield* sleep(0);
        log.push("not reached");
      });
      assert.equal(result, undefined);
      assert.deepEqual(log, ["started"]);
      assert.equal(now(), 1);
    }));

  it("rejects a deadline that is neither a number nor null with a TypeError", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(() => moveOnAt("2" as unknown as number, function* () {}));
      assert.ok(error instanceof TypeError);
      assert.equal(error.message, "when must be a number or null, got '2'");
    }));
});
