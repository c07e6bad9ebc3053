// Tests for exceptStar() and rethrowIfCancelled() in src/exceptions.ts (the error classes and
// ExceptionGroup.split are tested in exceptions.test.ts). Each exceptStar expectation was
// first recorded by running the same `try: ... except* ...:` on CPython 3.13.0. A handler
// that throws the group it was given stands for Python's `raise eg` (JavaScript cannot tell a
// bare `raise` apart, and src/exceptions.ts documents the `raise eg` reading).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  ExceptionGroup,
  RuntimeError,
  createTask,
  exceptStar,
  rethrowIfCancelled,
  sleep,
  taskGroup,
  type Coro,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";
import { KeyError, OSError, ValueError, caught } from "./helpers/errors.ts";

/** Python's repr of an error: `ExceptionGroup('eg', [ValueError('1')])`, `KeyError('3')`. */
function show(error: unknown): string {
  if (error instanceof ExceptionGroup) {
    return `ExceptionGroup('${error.message}', [${error.exceptions.map(show).join(", ")}])`;
  }
  if (error instanceof Error) return `${error.name}('${error.message}')`;
  return `<${typeof error} ${String(error)}>`;
}

/** Python's `raise eg` in an `except*` clause: a handler that throws the group it was given. */
function raiseEg(eg: ExceptionGroup): never {
  throw eg;
}

/** Run `fn` and return what it throws, as `show()` renders it; "no error" if nothing. */
function outcome(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    return show(error);
  }
  return "no error";
}

describe("exceptStar", () => {
  it("gives a naked error that matches to the handler as a group of one", () => {
    const log: string[] = [];
    const error = new ValueError("1");
    const result = outcome(() => {
      exceptStar(error, [
        [
          ValueError,
          (group) => {
            log.push(show(group));
            assert.equal(group.exceptions[0], error);
          },
        ],
      ]);
    });
    assert.deepEqual(log, ["ExceptionGroup('', [ValueError('1')])"]);
    assert.equal(result, "no error");
  });

  it("rethrows a naked error that no clause matches as it is", () => {
    const error = new ValueError("1");
    let handled = false;
    assert.throws(
      () => {
        exceptStar(error, [
          [
            TypeError,
            () => {
              handled = true;
            },
          ],
          [
            KeyError,
            () => {
              handled = true;
            },
          ],
        ]);
      },
      (thrown) => thrown === error,
    );
    assert.equal(handled, false);
  });

  it("rethrows a group that no clause matches with its structure and errors", () => {
    const leaf = new KeyError("1");
    const group = new ExceptionGroup("eg", [leaf]);
    const thrown = caught(() => {
      exceptStar(group, [[ValueError, () => {}]]);
    });
    // CPython raises a group of the same shape (not necessarily the same object).
    assert.equal(show(thrown), "ExceptionGroup('eg', [KeyError('1')])");
    assert.equal((thrown as ExceptionGroup).exceptions[0], leaf);
  });

  it("gives each clause the part it matches, keeping the group's message and nesting", () => {
    const log: string[] = [];
    const group = new ExceptionGroup("eg", [
      new ValueError("1"),
      new ExceptionGroup("inner", [new TypeError("2"), new ValueError("3")]),
      new KeyError("4"),
    ]);
    const result = outcome(() => {
      exceptStar(group, [[ValueError, (eg) => log.push(`v ${show(eg)}`)]]);
    });
    assert.deepEqual(log, [
      "v ExceptionGroup('eg', [ValueError('1'), ExceptionGroup('inner', [ValueError('3')])])",
    ]);
    assert.equal(
      result,
      "ExceptionGroup('eg', [ExceptionGroup('inner', [TypeError('2')]), KeyError('4')])",
    );
  });

  it("returns when the clauses handle every error", () => {
    const log: string[] = [];
    const result = outcome(() => {
      exceptStar(new ExceptionGroup("eg", [new ValueError("1"), new TypeError("2")]), [
        [ValueError, (eg) => log.push(`v ${show(eg)}`)],
        [TypeError, (eg) => log.push(`t ${show(eg)}`)],
      ]);
    });
    assert.deepEqual(log, [
      "v ExceptionGroup('eg', [ValueError('1')])",
      "t ExceptionGroup('eg', [TypeError('2')])",
    ]);
    assert.equal(result, "no error");
  });

  it("gives an error to the first clause that matches it only, in clause order", () => {
    const log: string[] = [];
    exceptStar(
      new ExceptionGroup("eg", [new ValueError("1"), new TypeError("2"), new ValueError("3")]),
      [
        [[TypeError, ValueError], (eg) => log.push(`first ${show(eg)}`)],
        [ValueError, (eg) => log.push(`second ${show(eg)}`)],
      ],
    );
    assert.deepEqual(log, [
      "first ExceptionGroup('eg', [ValueError('1'), TypeError('2'), ValueError('3')])",
    ]);
  });

  it("accepts a predicate as a matcher", () => {
    const log: string[] = [];
    const result = outcome(() => {
      exceptStar(new ExceptionGroup("eg", [new ValueError("1"), new ValueError("2")]), [
        [(error) => error instanceof Error && error.message === "2", (eg) => log.push(show(eg))],
      ]);
    });
    assert.deepEqual(log, ["ExceptionGroup('eg', [ValueError('2')])"]);
    assert.equal(result, "ExceptionGroup('eg', [ValueError('1')])");
  });

  it("matches a thrown value that is not an Error with a predicate", () => {
    const log: string[] = [];
    exceptStar("oops", [[(error) => error === "oops", (eg) => log.push(String(eg.exceptions[0]))]]);
    assert.deepEqual(log, ["oops"]);
  });

  it("throws what a handler throws together with the unhandled rest", () => {
    const result = outcome(() => {
      exceptStar(
        new ExceptionGroup("eg", [new ValueError("1"), new TypeError("2"), new KeyError("3")]),
        [
          [
            ValueError,
            () => {
              throw new RuntimeError("h");
            },
          ],
          [TypeError, () => {}],
        ],
      );
    });
    assert.equal(
      result,
      "ExceptionGroup('', [RuntimeError('h'), ExceptionGroup('eg', [KeyError('3')])])",
    );
  });

  it("throws what several handlers throw, in clause order, before the rest", () => {
    const result = outcome(() => {
      exceptStar(
        new ExceptionGroup("eg", [new ValueError("1"), new TypeError("2"), new KeyError("3")]),
        [
          [
            ValueError,
            () => {
              throw new RuntimeError("h1");
            },
          ],
          [
            TypeError,
            () => {
              throw new OSError("h2");
            },
          ],
        ],
      );
    });
    assert.equal(
      result,
      "ExceptionGroup('', [RuntimeError('h1'), OSError('h2'), ExceptionGroup('eg', [KeyError('3')])])",
    );
  });

  it("groups the errors several handlers throw when nothing else is left", () => {
    const result = outcome(() => {
      exceptStar(new ExceptionGroup("eg", [new ValueError("1"), new TypeError("2")]), [
        [
          ValueError,
          () => {
            throw new RuntimeError("h1");
          },
        ],
        [
          TypeError,
          () => {
            throw new OSError("h2");
          },
        ],
      ]);
    });
    assert.equal(result, "ExceptionGroup('', [RuntimeError('h1'), OSError('h2')])");
  });

  it("throws a group a handler rethrows as a new error, with the rest (Python's `raise eg`)", () => {
    const result = outcome(() => {
      exceptStar(new ExceptionGroup("eg", [new ValueError("1"), new TypeError("2")]), [
        [ValueError, raiseEg],
      ]);
    });
    assert.equal(
      result,
      "ExceptionGroup('', [ExceptionGroup('eg', [ValueError('1')]), ExceptionGroup('eg', [TypeError('2')])])",
    );
  });

  it("keeps the nesting of each group handlers rethrow", () => {
    const result = outcome(() => {
      exceptStar(
        new ExceptionGroup("eg", [
          new ValueError("1"),
          new ExceptionGroup("in", [new TypeError("2")]),
          new KeyError("3"),
        ]),
        [
          [ValueError, raiseEg],
          [TypeError, raiseEg],
        ],
      );
    });
    assert.equal(
      result,
      "ExceptionGroup('', [ExceptionGroup('eg', [ValueError('1')]), ExceptionGroup('eg', [ExceptionGroup('in', [TypeError('2')])]), ExceptionGroup('eg', [KeyError('3')])])",
    );
  });

  it("throws what handlers throw in clause order, rethrown groups included, then the rest", () => {
    const result = outcome(() => {
      exceptStar(
        new ExceptionGroup("eg", [new ValueError("1"), new TypeError("2"), new KeyError("3")]),
        [
          [ValueError, raiseEg],
          [
            TypeError,
            () => {
              throw new RuntimeError("h");
            },
          ],
        ],
      );
    });
    assert.equal(
      result,
      "ExceptionGroup('', [ExceptionGroup('eg', [ValueError('1')]), RuntimeError('h'), ExceptionGroup('eg', [KeyError('3')])])",
    );
  });

  // CPython 3.13: when exactly one error was thrown by the handlers and nothing is left
  // unhandled, `except*` raises that error as it is, not wrapped in a group.
  it("throws the one error a handler throws as it is when nothing else is left", () => {
    const raised = new RuntimeError("h");
    for (const error of [new ExceptionGroup("eg", [new ValueError("1")]), new ValueError("1")]) {
      assert.throws(
        () => {
          exceptStar(error, [
            [
              ValueError,
              () => {
                throw raised;
              },
            ],
          ]);
        },
        (thrown) => thrown === raised,
      );
    }
    const partly = outcome(() => {
      exceptStar(new ExceptionGroup("eg", [new ValueError("1"), new TypeError("2")]), [
        [
          ValueError,
          () => {
            throw raised;
          },
        ],
        [TypeError, () => {}],
      ]);
    });
    assert.equal(partly, "RuntimeError('h')");
  });

  it("rethrows the whole group when its only handler rethrows it", () => {
    const leaf = new ValueError("1");
    const thrown = caught(() => {
      exceptStar(new ExceptionGroup("eg", [leaf]), [[ValueError, raiseEg]]);
    });
    assert.equal(show(thrown), "ExceptionGroup('eg', [ValueError('1')])");
    assert.equal((thrown as ExceptionGroup).exceptions[0], leaf);
  });

  // CPython 3.13: re-raising in `except*` around a naked error raises it wrapped in a group
  // of one, as the handler saw it.
  it("rethrows a naked error a handler rethrows as the group of one it was given", () => {
    const leaf = new ValueError("1");
    const thrown = caught(() => {
      exceptStar(leaf, [
        [ValueError, raiseEg],
        [
          TypeError,
          () => {
            throw new RuntimeError("never");
          },
        ],
      ]);
    });
    assert.equal(show(thrown), "ExceptionGroup('', [ValueError('1')])");
    assert.equal((thrown as ExceptionGroup).exceptions[0], leaf);
  });

  it("lets a CancelledError that no clause names pass as it is", () =>
    runVirtual(function* () {
      const log: string[] = [];
      const task = createTask(
        (function* (): Coro<void> {
          try {
            yield* sleep(10);
          } catch (error) {
            exceptStar(error, [[ValueError, () => log.push("not reached")]]);
          }
          log.push("not reached either");
        })(),
      );
      yield* sleep(1);
      task.cancel();
      try {
        yield* task;
      } catch (error) {
        log.push(show(error));
      }
      assert.equal(task.cancelled(), true);
      assert.deepEqual(log, ["CancelledError('')"]);
    }));

  it("handles the ExceptionGroup of a taskGroup by error class", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* fail(delay: number, error: Error): Coro<void> {
        yield* sleep(delay);
        throw error;
      }
      try {
        yield* taskGroup(function* (tg) {
          tg.createTask(fail(1, new ValueError("a")));
          tg.createTask(fail(1, new KeyError("b")));
          tg.createTask(fail(1, new ValueError("c")));
        });
      } catch (error) {
        exceptStar(error, [
          [ValueError, (eg) => log.push(`values ${show(eg)}`)],
          [KeyError, (eg) => log.push(`keys ${show(eg)}`)],
        ]);
      }
      assert.deepEqual(log, [
        "values ExceptionGroup('unhandled errors in a TaskGroup', [ValueError('a'), ValueError('c')])",
        "keys ExceptionGroup('unhandled errors in a TaskGroup', [KeyError('b')])",
      ]);
    }));
});

describe("rethrowIfCancelled", () => {
  it("throws a CancelledError and returns for anything else", () => {
    const cancelled = new CancelledError("stop");
    assert.throws(
      () => {
        rethrowIfCancelled(cancelled);
      },
      (thrown) => thrown === cancelled,
    );
    for (const value of [
      new ValueError("x"),
      new ExceptionGroup("eg", [cancelled]),
      "x",
      null,
      undefined,
    ]) {
      assert.doesNotThrow(() => {
        rethrowIfCancelled(value);
      });
    }
  });

  it("keeps a catch block from swallowing its task's cancellation", () =>
    runVirtual(function* () {
      const log: string[] = [];
      function* worker(): Coro<void> {
        for (let i = 0; ; i++) {
          try {
            yield* sleep(1);
            if (i === 0) throw new ValueError("first");
          } catch (error) {
            rethrowIfCancelled(error);
            log.push(`handled ${show(error)}`);
          }
        }
      }
      const task = createTask(worker());
      yield* sleep(1.5);
      task.cancel();
      try {
        yield* task;
      } catch (error) {
        log.push(`task ${show(error)}`);
      }
      assert.equal(task.cancelled(), true);
      assert.deepEqual(log, ["handled ValueError('first')", "task CancelledError('')"]);
    }));
});
