// Tests for src/contextvars.ts: ContextVar, Token and Context as Python's contextvars
// (CPython's Lib/test/test_context.py), and how Tasks and loop callbacks use them
// (test_asyncio/test_tasks.py test_context_*).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  Context,
  ContextVar,
  LookupError,
  RuntimeError,
  Task,
  Token,
  copyContext,
  createTask,
  currentTask,
  getRunningLoop,
  sleep,
  type Coro,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";
import { throwsExactly } from "./helpers/errors.ts";

/** A test body that runs in a new empty Context, so its `set()` calls stay in there. */
function isolated(fn: () => void): () => void {
  return () => {
    new Context().run(fn);
  };
}

describe("ContextVar", () => {
  it("keeps the name it was given, read-only", () => {
    // asyncio: test_context_var_new_1
    const variable = new ContextVar<number>("aaa");
    assert.equal(variable.name, "aaa");
    assert.throws(() => {
      (variable as unknown as { name: string }).name = "bbb";
    }, TypeError);
    assert.equal(variable.name, "aaa");
  });

  it("rejects a name that is not a string", () => {
    // asyncio: test_context_var_new_1
    assert.throws(() => new ContextVar(1 as unknown as string), {
      name: "TypeError",
      message: "ContextVar name must be a string, got 1",
    });
  });

  it("shows its name and default in its repr", () => {
    // asyncio: test_context_var_repr_1
    assert.equal(String(new ContextVar("a")), "<ContextVar name='a'>");
    assert.equal(
      String(new ContextVar("a", { default: 123 })),
      "<ContextVar name='a' default=123>",
    );
  });

  it(
    "throws LookupError from get() when it has no value and no default",
    isolated(() => {
      // asyncio: test_context_getset_1
      const variable = new ContextVar<number>("c");
      throwsExactly(() => variable.get(), LookupError, "<ContextVar name='c'>");
    }),
  );

  it(
    "prefers its value, then the default given to get(), then its own default",
    isolated(() => {
      const variable = new ContextVar<number>("c", { default: 42 });
      assert.equal(variable.get(), 42);
      assert.equal(variable.get("given"), "given");
      variable.set(1);
      assert.equal(variable.get(), 1);
      assert.equal(variable.get("given"), 1);
    }),
  );

  it(
    "treats an explicit undefined default as a default",
    isolated(() => {
      const variable = new ContextVar<number | undefined>("c", { default: undefined });
      assert.equal(variable.get(), undefined);
      const bare = new ContextVar<number>("d");
      assert.equal(bare.get(undefined), undefined);
    }),
  );

  it(
    "returns the value set, and reset() restores the one before",
    isolated(() => {
      // asyncio: test_context_getset_1
      const c = new ContextVar<number | string>("c");
      const t0 = c.set(42);
      assert.equal(c.get(), 42);
      assert.equal(c.get(undefined), 42);
      assert.equal(t0.oldValue, Token.MISSING);
      assert.equal(t0.var, c);

      const t = c.set("spam");
      assert.equal(c.get(), "spam");
      assert.equal(t.oldValue, 42);
      c.reset(t);
      assert.equal(c.get(), 42);

      c.set("spam2");
      const ctx1 = copyContext();
      c.reset(t0);
      assert.equal(c.get(undefined), undefined);
      assert.throws(() => c.get(), LookupError);
      assert.equal(ctx1.get(c), "spam2");
    }),
  );

  it(
    "keeps mutable values shared but the binding per Context",
    isolated(() => {
      // asyncio: test_context_getset_5
      const c = new ContextVar<number[]>("c", { default: [42] });
      c.set([]);
      copyContext().run(() => {
        c.set([]);
        c.get().push(42);
        assert.deepEqual(c.get(), [42]);
      });
      assert.deepEqual(c.get(), []);
    }),
  );
});

describe("Token", () => {
  it(
    "records the variable and the value it replaced",
    isolated(() => {
      const c = new ContextVar<string>("c");
      const first = c.set("a");
      const second = c.set("b");
      assert.equal(first.var, c);
      assert.equal(first.oldValue, Token.MISSING);
      assert.equal(second.oldValue, "a");
      assert.equal(typeof Token.MISSING, "symbol");
    }),
  );

  it(
    "shows its variable, and whether it was used, in its repr",
    isolated(() => {
      // asyncio: test_context_var_repr_1
      const c = new ContextVar<number>("a", { default: 123 });
      const token = c.set(1);
      assert.equal(String(token), "<Token var=<ContextVar name='a' default=123>>");
      c.reset(token);
      assert.equal(String(token), "<Token used var=<ContextVar name='a' default=123>>");
    }),
  );

  it(
    "throws RuntimeError when used a second time, leaving the value alone",
    isolated(() => {
      // asyncio: test_context_getset_1
      const c = new ContextVar<string>("c");
      c.set("first");
      const token = c.set("second");
      c.reset(token);
      c.set("third");
      throwsExactly(
        () => {
          c.reset(token);
        },
        RuntimeError,
        "<Token used var=<ContextVar name='c'>> has already been used once",
      );
      assert.equal(c.get(), "third");
    }),
  );

  it(
    "throws RangeError when reset by another variable",
    isolated(() => {
      // asyncio: test_context_getset_2
      const v1 = new ContextVar<number>("v1");
      const v2 = new ContextVar<number>("v2");
      const token = v1.set(42);
      throwsExactly(
        () => {
          v2.reset(token);
        },
        RangeError,
        "<Token var=<ContextVar name='v1'>> was created by a different ContextVar",
      );
      assert.equal(v1.get(), 42);
      // The failed reset did not use the token up.
      v1.reset(token);
      assert.equal(v1.get(undefined), undefined);
    }),
  );

  it(
    "throws RangeError when reset in another Context",
    isolated(() => {
      // asyncio: test_context_getset_4
      const c = new ContextVar<number>("c", { default: 42 });
      const ctx = new Context();
      const token = ctx.run(() => c.set(1));
      throwsExactly(
        () => {
          c.reset(token);
        },
        RangeError,
        "<Token var=<ContextVar name='c' default=42>> was created in a different Context",
      );
      assert.equal(ctx.get(c), 1);
      ctx.run(() => {
        c.reset(token);
      });
      assert.equal(ctx.has(c), false);
    }),
  );

  it(
    "throws RuntimeError for a used token before checking the variable",
    isolated(() => {
      const v1 = new ContextVar<number>("v1");
      const v2 = new ContextVar<number>("v2");
      const token = v1.set(1);
      v1.reset(token);
      assert.throws(() => {
        v2.reset(token);
      }, RuntimeError);
    }),
  );

  it("rejects a value that is not a Token", () => {
    const c = new ContextVar<number>("c");
    assert.throws(
      () => {
        c.reset(1 as unknown as Token<number>);
      },
      { name: "TypeError", message: "expected a Token, got 1" },
    );
  });
});

describe("Context", () => {
  it("starts empty", () => {
    // asyncio: test_context_getset_3
    const c = new ContextVar<number>("c", { default: 42 });
    const ctx = new Context();
    assert.equal(ctx.size, 0);
    assert.deepEqual([...ctx], []);
    assert.deepEqual([...ctx.keys()], []);
    assert.equal(ctx.get(c), undefined);
    assert.equal(ctx.get(c, "spam"), "spam");
    assert.equal(ctx.has(c), false);
    assert.equal(String(ctx), "<Context vars:0>");
  });

  it("rejects a key that is not a ContextVar", () => {
    // asyncio: test_context_typerrors_1
    const ctx = new Context();
    const bad = 1 as unknown as ContextVar<unknown>;
    for (const use of [() => ctx.get(bad), () => ctx.has(bad)]) {
      assert.throws(use, {
        name: "TypeError",
        message: "a ContextVar key was expected, got 1",
      });
    }
  });

  it(
    "lists its variables and values in order of first set",
    isolated(() => {
      // asyncio: test_context_getset_1
      const a = new ContextVar<string>("a");
      const b = new ContextVar<number>("b");
      a.set("x");
      b.set(2);
      a.set("y");
      const ctx = copyContext();
      assert.equal(ctx.size, 2);
      assert.deepEqual([...ctx], [a, b]);
      assert.deepEqual([...ctx.keys()], [a, b]);
      assert.deepEqual([...ctx.values()], ["y", 2]);
      assert.deepEqual(
        [...ctx.entries()],
        [
          [a, "y"],
          [b, 2],
        ],
      );
      assert.equal(ctx.has(a), true);
      assert.equal(String(ctx), "<Context vars:2>");
    }),
  );

  it(
    "reflects set() and reset() made while it runs",
    isolated(() => {
      // asyncio: test_context_getset_3
      const c = new ContextVar<number>("c", { default: 42 });
      const ctx = new Context();
      ctx.run(() => {
        assert.equal(c.get(), 42);
        const token = c.set(1);
        assert.deepEqual([...ctx.keys()], [c]);
        assert.equal(ctx.get(c), 1);
        c.reset(token);
        assert.deepEqual([...ctx.keys()], []);
      });
    }),
  );

  it("runs a function with its arguments and returns its result", () => {
    // asyncio: test_context_run_2
    const ctx = new Context();
    assert.equal(
      ctx.run((a: number, b: string) => `${a}${b}`, 11, "bar"),
      "11bar",
    );
    assert.deepEqual(
      ctx.run(() => "no args"),
      "no args",
    );
  });

  it(
    "keeps the values set while it runs, and the caller's Context keeps its own",
    isolated(() => {
      // asyncio: test_context_run_6
      const c = new ContextVar<number>("a", { default: 0 });
      const ctx = new Context();
      ctx.run(() => {
        assert.equal(c.get(), 0);
        assert.equal(ctx.get(c), undefined);
        c.set(42);
        assert.equal(c.get(), 42);
        assert.equal(ctx.get(c), 42);
      });
      assert.equal(c.get(), 0);
      assert.equal(ctx.get(c), 42);
    }),
  );

  it(
    "restores the caller's Context when the function throws",
    isolated(() => {
      // asyncio: test_context_run_3
      // asyncio: test_context_run_5
      const variable = new ContextVar<string>("var");
      const ctx = new Context();
      const error = new RangeError("1/0");
      assert.throws(
        () =>
          ctx.run(() => {
            variable.set("spam");
            throw error;
          }),
        (thrown: unknown) => thrown === error,
      );
      assert.equal(variable.get(undefined), undefined);
      assert.equal(ctx.get(variable), "spam");
      // Not left entered: it can run again.
      assert.equal(
        ctx.run(() => variable.get()),
        "spam",
      );
    }),
  );

  it(
    "nests: an inner Context sees none of the outer one's values",
    isolated(() => {
      // asyncio: test_context_run_4
      const ctx1 = new Context();
      const ctx2 = new Context();
      const variable = new ContextVar<string>("var");
      const log: (string | undefined)[] = [];
      const returned = ctx1.run(() => {
        log.push(variable.get(undefined));
        variable.set("spam");
        ctx2.run(() => log.push(variable.get(undefined)));
        log.push(variable.get(undefined));
        return copyContext();
      });
      assert.deepEqual(log, [undefined, undefined, "spam"]);
      assert.notEqual(returned, ctx1);
      assert.equal(returned.size, 1);
      assert.equal(returned.get(variable), "spam");
      assert.equal(ctx2.size, 0);
    }),
  );

  it("throws RuntimeError when run() re-enters a Context that is running", () => {
    // asyncio: test_context_run_7
    const ctx = new Context();
    const log: string[] = [];
    ctx.run(() => {
      throwsExactly(
        () => ctx.run(() => log.push("re-entered")),
        RuntimeError,
        "cannot enter context: <Context vars:0> is already entered",
      );
      // A copy is another Context and can be entered.
      ctx.copy().run(() => log.push("copy entered"));
    });
    assert.deepEqual(log, ["copy entered"]);
  });

  it(
    "gives a snapshot from copy(): later sets in either one do not reach the other",
    isolated(() => {
      // asyncio: test_context_copy_1
      const ctx1 = new Context();
      const c = new ContextVar<number>("c", { default: 42 });
      ctx1.run(() => {
        c.set(10);
        const ctx2 = ctx1.copy();
        assert.notEqual(ctx2, ctx1);
        assert.equal(ctx2.get(c), 10);

        c.set(20);
        assert.equal(ctx1.get(c), 20);
        assert.equal(ctx2.get(c), 10);

        ctx2.run(() => {
          assert.equal(c.get(), 10);
          c.set(30);
          assert.equal(c.get(), 30);
        });
        assert.equal(ctx1.get(c), 20);
        assert.equal(ctx2.get(c), 30);
        assert.equal(c.get(), 20);
      });
    }),
  );
});

describe("copyContext", () => {
  it(
    "copies the current Context",
    isolated(() => {
      // asyncio: test_context_get_context_1
      const c = new ContextVar<string>("c");
      c.set("now");
      const snapshot = copyContext();
      assert.ok(snapshot instanceof Context);
      c.set("later");
      assert.equal(snapshot.get(c), "now");
      snapshot.run(() => c.set("in the copy"));
      assert.equal(c.get(), "later");
    }),
  );
});

describe("Context and tasks", () => {
  it("gives a child task the values at its creation, and keeps its changes to itself", () =>
    // asyncio: test_context_1
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "nope" });
      const log: string[] = [];
      function* sub(): Coro<void> {
        yield* sleep(0.01);
        log.push(`sub sees ${cvar.get()}`);
        cvar.set("something else");
      }
      assert.equal(cvar.get(), "nope");
      const subtask = createTask(sub());
      cvar.set("yes");
      assert.equal(cvar.get(), "yes");
      yield* subtask;
      log.push(`main sees ${cvar.get()}`);
      assert.deepEqual(log, ["sub sees nope", "main sees yes"]);
    }));

  it("keeps a done-callback's changes out of the task that awaited the Future", () =>
    // asyncio: test_context_2
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "nope" });
      const loop = getRunningLoop();
      function* main(): Coro<string[]> {
        const seen: string[] = [];
        const futOnDone = (): void => {
          // This change must not pollute the Context of main().
          cvar.set("something else");
        };
        seen.push(cvar.get());
        for (let j = 0; j < 2; j++) {
          const fut = loop.createFuture<undefined>();
          fut.addDoneCallback(futOnDone);
          cvar.set(`yes${j}`);
          loop.callSoon(() => {
            fut.setResult(undefined);
          });
          yield* fut;
          seen.push(cvar.get());
          for (let i = 0; i < 3; i++) {
            cvar.set(`yes${i}-${j}`);
            yield* sleep(0.001);
            seen.push(cvar.get());
          }
        }
        return seen;
      }
      const seen = yield* createTask(main());
      assert.deepEqual(seen, [
        "nope",
        "yes0",
        "yes0-0",
        "yes1-0",
        "yes2-0",
        "yes1",
        "yes0-1",
        "yes1-1",
        "yes2-1",
      ]);
      assert.equal(cvar.get(), "nope");
    }));

  it("keeps the values of many interleaved tasks apart", () =>
    // asyncio: test_context_3
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<number>("cvar", { default: -1 });
      const mismatches: string[] = [];
      function* sub(num: number): Coro<void> {
        for (let i = 0; i < 10; i++) {
          cvar.set(num + i);
          // Deterministic "random" delays between 1 and 50 ms that interleave the tasks.
          yield* sleep((((num * 7 + i * 13) % 50) + 1) / 1000);
          if (cvar.get() !== num + i) mismatches.push(`${num}/${i}: ${cvar.get()}`);
        }
      }
      const tasks: Task<void>[] = [];
      for (let n = 0; n < 100; n++) tasks.push(createTask(sub(n % 11)));
      for (const task of tasks) yield* task;
      assert.deepEqual(mismatches, []);
      assert.equal(cvar.get(), -1);
    }));

  it("runs a task created with a Context in that Context, which keeps its changes", () =>
    // asyncio: test_context_4
    // asyncio: test_context_5
    // asyncio: test_context_6
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<number>("cvar");
      function* coro(value: number): Coro<void> {
        yield* sleep(0);
        cvar.set(value);
      }
      const loop = getRunningLoop();
      const makers: [string, (c: Coro<void>, ctx: Context) => Task<void>][] = [
        ["createTask", (c, ctx) => createTask(c, { context: ctx })],
        ["loop.createTask", (c, ctx) => loop.createTask(c, { context: ctx })],
        ["new Task", (c, ctx) => new Task(c, { context: ctx })],
      ];
      for (const [how, make] of makers) {
        const ret: [string, ...(number | undefined)[]] = [how];
        const ctx = copyContext();
        ret.push(ctx.get(cvar));
        const t1 = make(coro(1), ctx);
        assert.equal(t1.getContext(), ctx);
        yield* t1;
        ret.push(ctx.get(cvar));
        yield* make(coro(2), ctx);
        ret.push(ctx.get(cvar));
        assert.deepEqual(ret, [how, undefined, 1, 2]);
      }
      assert.equal(cvar.get(undefined), undefined);
    }));

  it("gives a task created without a Context its own copy of the current one", () =>
    // asyncio: test_get_context
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar");
      cvar.set("at creation");
      const task = createTask(sleep(0));
      const context = task.getContext();
      assert.equal(context.get(cvar), "at creation");
      cvar.set("after creation");
      assert.equal(context.get(cvar), "at creation");
      yield* task;
      assert.equal(task.getContext(), context);
    }));

  it("refuses to run() the Context a task's step is running in", () =>
    runVirtual(function* (): Coro<void> {
      const ctx = copyContext();
      function* child(): Coro<unknown> {
        try {
          ctx.run(() => undefined);
        } catch (error) {
          return error;
        }
        return "entered";
      }
      const error = yield* createTask(child(), { context: ctx });
      assert.ok(error instanceof RuntimeError, `expected RuntimeError, got ${String(error)}`);
      assert.equal(error.message, `cannot enter context: ${String(ctx)} is already entered`);
    }));
});

// A Task created without a Context keeps only the mapping it copied, and its steps run in
// a borrowed Context until something needs its own: these check that nothing can tell.
describe("Context of a task created without one", () => {
  it("resets a Token in a later step of the task that set it, and not in another task", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "unset" });
      let token: Token<string> | undefined;
      function* setter(): Coro<string> {
        token = cvar.set("set");
        yield* sleep(0);
        yield* sleep(0.01);
        cvar.reset(token);
        return cvar.get();
      }
      function* stranger(): Coro<unknown> {
        yield* sleep(0.005);
        try {
          cvar.reset(token as Token<string>);
        } catch (error) {
          return error;
        }
        return "reset";
      }
      const [afterReset, strangerError] = [createTask(setter()), createTask(stranger())];
      const error = yield* strangerError;
      assert.ok(error instanceof RangeError, `expected RangeError, got ${String(error)}`);
      assert.equal(
        error.message,
        "<Token var=<ContextVar name='cvar' default='unset'>> was created in a different Context",
      );
      assert.equal(yield* afterReset, "unset");
    }));

  it("gives getContext() inside a step the Context that the step's later sets change", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<number>("cvar", { default: 0 });
      function* child(): Coro<Context> {
        const own = (currentTask() as Task<Context>).getContext();
        cvar.set(1);
        yield* sleep(0);
        cvar.set(2);
        return own;
      }
      const task = createTask(child());
      const own = yield* task;
      assert.equal(own.get(cvar), 2);
      assert.equal(task.getContext(), own);
      assert.equal(cvar.get(), 0);
    }));

  it("gives getContext() of a suspended task the Context its next steps change", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "before" });
      function* child(): Coro<void> {
        yield* sleep(0.01);
        cvar.set("after");
        yield* sleep(0.01);
      }
      const task = createTask(child());
      yield* sleep(0);
      const context = task.getContext();
      assert.equal(context.has(cvar), false);
      yield* task;
      assert.equal(context.get(cvar), "after");
      assert.equal(task.getContext(), context);
    }));

  it("refuses to run() its own Context, once asked for, inside its step", () =>
    runVirtual(function* (): Coro<void> {
      function* child(): Coro<unknown> {
        const own = (currentTask() as Task<unknown>).getContext();
        try {
          own.run(() => undefined);
        } catch (error) {
          return error;
        }
        return "entered";
      }
      const task = createTask(child());
      const error = yield* task;
      assert.ok(error instanceof RuntimeError, `expected RuntimeError, got ${String(error)}`);
      assert.equal(
        error.message,
        `cannot enter context: ${String(task.getContext())} is already entered`,
      );
    }));

  it("keeps an eager task's changes, made inside its parent's step, apart from the parent's", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "root" });
      const seen: string[] = [];
      function* eager(): Coro<void> {
        seen.push(`eager starts with ${cvar.get()}`);
        cvar.set("eager");
        yield* sleep(0);
        seen.push(`eager resumes with ${cvar.get()}`);
      }
      function* parent(): Coro<void> {
        cvar.set("parent");
        const child = createTask(eager(), { eagerStart: true });
        seen.push(`parent sees ${cvar.get()}`);
        cvar.set("parent again");
        yield* child;
        seen.push(`parent ends with ${cvar.get()}`);
      }
      yield* createTask(parent());
      assert.deepEqual(seen, [
        "eager starts with parent",
        "parent sees parent",
        "eager resumes with eager",
        "parent ends with parent again",
      ]);
      assert.equal(cvar.get(), "root");
    }));

  it("keeps the step's values when getContext() runs inside another Context's run()", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "none" });
      const seen: string[] = [];
      cvar.set("parent");
      function* child(): Coro<void> {
        yield* sleep(0);
        const me = currentTask() as Task<void>;
        new Context().run(() => me.getContext());
        seen.push(cvar.get());
        cvar.set("child");
        seen.push(cvar.get());
      }
      yield* createTask(child());
      assert.deepEqual(seen, ["parent", "child"]);
      assert.equal(cvar.get(), "parent");
    }));

  it("keeps the parent's values when an eager child asks for the parent's Context", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "none" });
      const seen: string[] = [];
      cvar.set("main");
      function* parentTask(): Coro<void> {
        yield* sleep(0);
        const parent = currentTask() as Task<void>;
        const eager = createTask(
          (function* (): Coro<void> {
            seen.push(`child reads ${String(parent.getContext().get(cvar))}`);
          })(),
          { eagerStart: true },
        );
        seen.push(`parent after ${cvar.get()}`);
        cvar.set("parent");
        seen.push(`parent set ${cvar.get()}`);
        yield* eager;
      }
      yield* createTask(parentTask());
      assert.deepEqual(seen, ["child reads main", "parent after main", "parent set parent"]);
    }));

  it("keeps the step's values after the exception handler ran for the task inside a run()", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "none" });
      const loop = getRunningLoop();
      const seen: string[] = [];
      loop.setExceptionHandler((_loop, context) => {
        seen.push(`${context.message}: ${cvar.get()}`);
      });
      cvar.set("main");
      function* child(): Coro<void> {
        yield* sleep(0);
        const me = currentTask() as Task<void>;
        new Context().run(() => {
          loop.callExceptionHandler({ message: "hello", task: me });
        });
        seen.push(`after: ${cvar.get()}`);
      }
      yield* createTask(child());
      // The task's Context is entered below the run(), so it cannot be entered again: the
      // handler runs in the Context the error was raised in (the empty one).
      assert.deepEqual(seen, ["hello: none", "after: main"]);
    }));

  it("gives a callback scheduled in a step the values of that step", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar", { default: "none" });
      const seen: string[] = [];
      const loop = getRunningLoop();
      function* child(): Coro<void> {
        yield* sleep(0);
        cvar.set("child");
        loop.callSoon(() => seen.push(cvar.get()));
        yield* sleep(0);
      }
      yield* createTask(child());
      assert.deepEqual(seen, ["child"]);
    }));
});

describe("Context and loop callbacks", () => {
  it("runs a callSoon callback in a copy of the Context current when it was scheduled", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar");
      const loop = getRunningLoop();
      const seen: string[] = [];
      cvar.set("a");
      const handle = loop.callSoon(() => {
        seen.push(cvar.get());
        cvar.set("set by the first callback");
      });
      cvar.set("b");
      loop.callSoon(() => seen.push(cvar.get()));
      cvar.set("c");
      assert.equal(handle.getContext().get(cvar), "a");
      yield* sleep(0);
      assert.deepEqual(seen, ["a", "b"]);
      assert.equal(cvar.get(), "c");
      assert.equal(handle.getContext().get(cvar), "set by the first callback");
    }));

  it("runs a callLater callback in a copy of the Context current when it was scheduled", () =>
    runVirtual(function* (): Coro<void> {
      const cvar = new ContextVar<string>("cvar");
      const loop = getRunningLoop();
      const seen: string[] = [];
      cvar.set("scheduled");
      loop.callLater(1, () => {
        seen.push(cvar.get());
        cvar.set("changed");
      });
      cvar.set("later");
      yield* sleep(2);
      assert.deepEqual(seen, ["scheduled"]);
      assert.equal(cvar.get(), "later");
    }));

  it("refuses to run() the Context a done-callback is running in", () =>
    runVirtual(function* (): Coro<void> {
      const ctx = new Context();
      const outcomes: string[] = [];
      const future = getRunningLoop().createFuture<number>();
      future.addDoneCallback(
        () => {
          try {
            ctx.run(() => outcomes.push("entered"));
          } catch (error) {
            outcomes.push(String(error));
          }
        },
        { context: ctx },
      );
      future.setResult(1);
      yield* sleep(0);
      assert.deepEqual(outcomes, [
        `RuntimeError: cannot enter context: ${String(ctx)} is already entered`,
      ]);
    }));
});
