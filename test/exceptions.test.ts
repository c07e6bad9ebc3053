import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BrokenBarrierError,
  CancelledError,
  DeadlockError,
  ExceptionGroup,
  IncompleteReadError,
  InvalidStateError,
  LimitOverrunError,
  LookupError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  SendfileNotAvailableError,
  TimeoutError,
} from "../src/index.ts";

describe("error classes", () => {
  const direct: [string, new (message?: string) => Error][] = [
    ["CancelledError", CancelledError],
    ["TimeoutError", TimeoutError],
    ["RuntimeError", RuntimeError],
    ["InvalidStateError", InvalidStateError],
    ["LookupError", LookupError],
    ["QueueEmpty", QueueEmpty],
    ["QueueFull", QueueFull],
    ["QueueShutDown", QueueShutDown],
  ];

  for (const [name, cls] of direct) {
    it(`${name} is an Error named ${name}`, () => {
      const error = new cls("why");
      assert.ok(error instanceof Error);
      assert.ok(error instanceof cls);
      assert.equal(error.name, name);
      assert.equal(error.message, "why");
      assert.equal(String(error), `${name}: why`);
      assert.equal(Object.getPrototypeOf(cls.prototype), Error.prototype);
    });
  }

  it("CancelledError is not a RuntimeError nor a TimeoutError", () => {
    const error = new CancelledError();
    assert.ok(!(error instanceof RuntimeError));
    assert.ok(!(error instanceof TimeoutError));
    assert.equal(error.message, "");
  });

  it("stack traces start with the class name", () => {
    assert.equal(new TimeoutError("late").stack?.split("\n")[0], "TimeoutError: late");
    assert.equal(new BrokenBarrierError("x").stack?.split("\n")[0], "BrokenBarrierError: x");
  });

  it("BrokenBarrierError is a RuntimeError", () => {
    const error = new BrokenBarrierError("Barrier aborted");
    assert.ok(error instanceof RuntimeError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "BrokenBarrierError");
    assert.equal(String(error), "BrokenBarrierError: Barrier aborted");
  });

  it("SendfileNotAvailableError is a RuntimeError", () => {
    const error = new SendfileNotAvailableError("not a regular file");
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.name, "SendfileNotAvailableError");
  });

  it("DeadlockError is a RuntimeError that carries the blocked tasks", () => {
    const tasks = ["a", "b"];
    const error = new DeadlockError("stuck", tasks);
    assert.ok(error instanceof RuntimeError);
    assert.equal(error.name, "DeadlockError");
    assert.equal(error.message, "stuck");
    assert.deepEqual(error.tasks, ["a", "b"]);
  });

  it("errors keep a cause given in the options", () => {
    const cause = new CancelledError();
    const error = new TimeoutError("late", { cause });
    assert.equal(error.cause, cause);
  });
});

describe("IncompleteReadError", () => {
  // asyncio: test_streams test_readexactly_eof (message format)
  it("says how many bytes were read out of how many expected", () => {
    const error = new IncompleteReadError(new Uint8Array([1, 2, 3]), 5);
    assert.equal(error.message, "3 bytes read on a total of 5 expected bytes");
    assert.equal(error.name, "IncompleteReadError");
    assert.deepEqual(error.partial, new Uint8Array([1, 2, 3]));
    assert.equal(error.expected, 5);
    assert.ok(error instanceof Error);
  });

  // asyncio: test_streams test_readuntil_eof
  it("says 'undefined' when no total was expected", () => {
    const error = new IncompleteReadError(new Uint8Array([1, 2]), null);
    assert.equal(error.message, "2 bytes read on a total of undefined expected bytes");
    assert.equal(error.expected, null);
  });

  it("counts an empty partial read as 0 bytes", () => {
    const error = new IncompleteReadError(new Uint8Array(0), 1);
    assert.equal(error.message, "0 bytes read on a total of 1 expected bytes");
  });
});

describe("LimitOverrunError", () => {
  it("carries the message and the number of bytes to consume", () => {
    const error = new LimitOverrunError("Separator is not found, and chunk exceed the limit", 9);
    assert.equal(error.message, "Separator is not found, and chunk exceed the limit");
    assert.equal(error.consumed, 9);
    assert.equal(error.name, "LimitOverrunError");
    assert.ok(!(error instanceof RuntimeError));
  });
});

describe("ExceptionGroup", () => {
  class FooError extends Error {
    override name = "FooError";
  }
  class BarError extends Error {
    override name = "BarError";
  }

  it("is an AggregateError whose errors and exceptions are the same list", () => {
    const a = new FooError("a");
    const b = new BarError("b");
    const group = new ExceptionGroup("boom", [a, b]);
    assert.ok(group instanceof AggregateError);
    assert.ok(group instanceof Error);
    assert.equal(group.name, "ExceptionGroup");
    assert.equal(group.message, "boom");
    assert.deepEqual(group.exceptions, [a, b]);
    assert.deepEqual(group.errors, [a, b]);
  });

  it("renders as Python's str with the number of sub-exceptions", () => {
    const two = new ExceptionGroup("boom", [new FooError(), new BarError()]);
    assert.equal(String(two), "ExceptionGroup: boom (2 sub-exceptions)");
    const one = new ExceptionGroup("single", [new FooError()]);
    assert.equal(String(one), "ExceptionGroup: single (1 sub-exception)");
  });

  it("takes any iterable of errors and freezes its list", () => {
    const a = new FooError("a");
    const group = new ExceptionGroup("set", new Set([a]));
    assert.deepEqual(group.exceptions, [a]);
    assert.ok(Object.isFrozen(group.exceptions));
  });

  it("rejects an empty list with a RangeError", () => {
    assert.throws(() => new ExceptionGroup("empty", []), {
      name: "RangeError",
      message: "second argument (exceptions) must be a non-empty sequence",
    });
  });

  it("rejects a message that is not a string with a TypeError", () => {
    assert.throws(() => new ExceptionGroup(42 as unknown as string, [new FooError()]), {
      name: "TypeError",
      message: "ExceptionGroup message must be a string, got 42",
    });
  });

  it("rejects exceptions that are not iterable with a TypeError", () => {
    assert.throws(() => new ExceptionGroup("bad", 5 as unknown as Iterable<unknown>), {
      name: "TypeError",
      message: "second argument (exceptions) must be a sequence",
    });
  });

  it("split() with a class separates matching and other errors", () => {
    const foo = new FooError("foo");
    const bar = new BarError("bar");
    const foo2 = new FooError("foo2");
    const group = new ExceptionGroup("eg", [foo, bar, foo2]);
    const [match, rest] = group.split(FooError);
    assert.ok(match instanceof ExceptionGroup);
    assert.ok(rest instanceof ExceptionGroup);
    assert.equal(match.message, "eg");
    assert.deepEqual(match.exceptions, [foo, foo2]);
    assert.equal(rest.message, "eg");
    assert.deepEqual(rest.exceptions, [bar]);
  });

  it("split() with a list of classes matches any of them", () => {
    const foo = new FooError();
    const bar = new BarError();
    const type = new TypeError();
    const group = new ExceptionGroup("eg", [foo, type, bar]);
    const [match, rest] = group.split([FooError, BarError]);
    assert.deepEqual(match?.exceptions, [foo, bar]);
    assert.deepEqual(rest?.exceptions, [type]);
  });

  it("split() with a predicate calls it on each leaf error", () => {
    const a = new FooError("keep");
    const b = new FooError("drop");
    const group = new ExceptionGroup("eg", [a, b]);
    const [match, rest] = group.split(
      (error) => error instanceof Error && error.message === "keep",
    );
    assert.deepEqual(match?.exceptions, [a]);
    assert.deepEqual(rest?.exceptions, [b]);
  });

  it("split() returns null for an empty half", () => {
    const group = new ExceptionGroup("eg", [new FooError(), new FooError()]);
    const [match, rest] = group.split(FooError);
    assert.equal(rest, null);
    assert.deepEqual(match?.exceptions, group.exceptions);
    const [none, all] = group.split(BarError);
    assert.equal(none, null);
    assert.deepEqual(all?.exceptions, group.exceptions);
  });

  it("split() gives a group that matches as a whole to the match half, unchanged", () => {
    const group = new ExceptionGroup("eg", [new FooError()]);
    const [match, rest] = group.split(ExceptionGroup);
    assert.equal(match, group);
    assert.equal(rest, null);
  });

  it("split() keeps the structure of nested groups", () => {
    const foo1 = new FooError("1");
    const bar2 = new BarError("2");
    const foo3 = new FooError("3");
    const bar4 = new BarError("4");
    const inner = new ExceptionGroup("inner", [bar2, foo3]);
    const onlyBar = new ExceptionGroup("only-bar", [bar4]);
    const group = new ExceptionGroup("outer", [foo1, inner, onlyBar]);
    const [match, rest] = group.split(FooError);

    assert.equal(match?.message, "outer");
    assert.equal(match.exceptions.length, 2);
    assert.equal(match.exceptions[0], foo1);
    const matchInner = match.exceptions[1];
    assert.ok(matchInner instanceof ExceptionGroup);
    assert.equal(matchInner.message, "inner");
    assert.deepEqual(matchInner.exceptions, [foo3]);

    assert.equal(rest?.message, "outer");
    assert.equal(rest.exceptions.length, 2);
    const restInner = rest.exceptions[0];
    assert.ok(restInner instanceof ExceptionGroup);
    assert.equal(restInner.message, "inner");
    assert.deepEqual(restInner.exceptions, [bar2]);
    // A nested group with nothing matching goes to the rest whole, as a copy (as in Python).
    const restOnlyBar = rest.exceptions[1];
    assert.ok(restOnlyBar instanceof ExceptionGroup);
    assert.equal(restOnlyBar.message, "only-bar");
    assert.deepEqual(restOnlyBar.exceptions, onlyBar.exceptions);
  });

  it("subgroup() returns the match half, or null", () => {
    const foo = new FooError();
    const bar = new BarError();
    const group = new ExceptionGroup("eg", [foo, new ExceptionGroup("inner", [bar])]);
    const sub = group.subgroup(BarError);
    assert.equal(sub?.message, "eg");
    const inner = sub.exceptions[0];
    assert.ok(inner instanceof ExceptionGroup);
    assert.deepEqual(inner.exceptions, [bar]);
    assert.equal(group.subgroup(TypeError), null);
    assert.equal(
      group.subgroup(() => true),
      group,
    );
  });

  it("derive() builds a group with the same message and cause", () => {
    const cause = new Error("root");
    const group = new ExceptionGroup("eg", [new FooError()]);
    group.cause = cause;
    const bar = new BarError();
    const derived = group.derive([bar]);
    assert.ok(derived instanceof ExceptionGroup);
    assert.notEqual(derived, group);
    assert.equal(derived.message, "eg");
    assert.equal(derived.cause, cause);
    assert.deepEqual(derived.exceptions, [bar]);
  });

  it("split() halves keep the group's cause", () => {
    const cause = new Error("root");
    const group = new ExceptionGroup("eg", [new FooError(), new BarError()]);
    group.cause = cause;
    const [match, rest] = group.split(FooError);
    assert.equal(match?.cause, cause);
    assert.equal(rest?.cause, cause);
  });

  it("split() rejects a matcher that is neither a class, a list nor a function", () => {
    const group = new ExceptionGroup("eg", [new FooError()]);
    assert.throws(() => group.split("FooError" as unknown as () => boolean), {
      name: "TypeError",
      message:
        "expected an error class, a list of error classes or a predicate function as the matcher",
    });
  });
});
