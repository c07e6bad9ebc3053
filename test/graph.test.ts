// Tests for src/graph.ts: captureCallGraph, formatCallGraph, printCallGraph (asyncio's
// graph module, Python 3.14), on the virtual clock. Stacks are checked by function name and
// by line, each line taken from an Error made next to the awaited call.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  RuntimeError,
  captureCallGraph,
  createTask,
  formatCallGraph,
  gather,
  shield,
  getRunningLoop,
  printCallGraph,
  sleep,
  taskGroup,
  type Coro,
  Task,
  type FutureCallGraph,
} from "../src/index.ts";
import { runVirtual } from "../src/testing.ts";
import { liveTaskGroups } from "../src/taskgroups.ts";

const FILE = fileURLToPath(import.meta.url);

/** The line of the code that made `error`. */
function lineOf(error: Error): number {
  const match = /:(\d+):\d+\)?$/m.exec((error.stack ?? "").split("\n")[1] ?? "");
  return Number(match?.[1]);
}

/** The graph as names: `name <- awaiter <- ...`, one chain per path, for short asserts. */
function chains(graph: FutureCallGraph): string[] {
  const name = graph.future instanceof Task ? graph.future.getName() : "Future";
  if (graph.awaitedBy.length === 0) return [name];
  return graph.awaitedBy.flatMap((awaiter) => chains(awaiter).map((rest) => `${name} <- ${rest}`));
}

/** Run `main` with debug mode on (so suspended tasks' stacks are recorded). */
function runTracked(main: () => Coro<void>): Promise<void> {
  return runVirtual(function* () {
    getRunningLoop().setDebug(true);
    try {
      yield* main();
    } finally {
      getRunningLoop().setDebug(false);
    }
  });
}

describe("captureCallGraph", () => {
  it("gives the current task's coroutine frames, innermost first, with lines", async () => {
    let graph: FutureCallGraph | null = null;
    let innerLine = 0;
    let outerLine = 0;
    function* inner(): Coro<void> {
      const here = new Error();
      graph = captureCallGraph();
      innerLine = lineOf(here) + 1;
      yield* sleep(0);
    }
    function* outer(): Coro<void> {
      const here = new Error();
      yield* inner();
      outerLine = lineOf(here) + 1;
    }
    await runVirtual(outer);
    const captured = graph as FutureCallGraph | null;
    assert.ok(captured !== null);
    assert.deepEqual(
      captured.callStack.map((frame) => [frame.name, frame.file, frame.line]),
      [
        ["inner", FILE, innerLine],
        ["outer", FILE, outerLine],
      ],
    );
    assert.deepEqual(captured.awaitedBy, []);
  });

  it("returns null in a callback, and throws outside a running loop", async () => {
    const seen: unknown[] = [];
    await runVirtual(function* () {
      getRunningLoop().callSoon(() => seen.push(captureCallGraph()));
      yield* sleep(0);
    });
    assert.deepEqual(seen, [null]);
    assert.throws(
      () => captureCallGraph(),
      new RuntimeError(
        "captureCallGraph() is called outside of a running event loop and no future to introspect was provided",
      ),
    );
  });

  it("rejects what is not a Future, and bad options", async () => {
    await runVirtual(function* () {
      assert.throws(
        () => captureCallGraph({} as never),
        new TypeError("future must be a Future or a Task, got {}"),
      );
      assert.throws(
        () => captureCallGraph(null, { depth: 0 }),
        new RangeError("options.depth must be >= 1, got 0"),
      );
      assert.throws(
        () => captureCallGraph(null, { limit: 1.5 }),
        new TypeError("options.limit must be an integer or null, got 1.5"),
      );
      assert.throws(() => {
        printCallGraph(null, { file: 3 as never });
      }, new TypeError("options.file must be a writable stream or a function, got 3"));
      yield* sleep(0);
    });
  });

  it("shows a task awaiting another task through a plain await", async () => {
    await runVirtual(function* () {
      const child = createTask(sleep(1), { name: "child" });
      const parent = createTask(
        (function* (): Coro<void> {
          yield* child;
        })(),
        { name: "parent" },
      );
      yield* sleep(0);
      const graph = captureCallGraph(child);
      assert.ok(graph !== null);
      // The main task is running, not awaiting: the chain ends at parent.
      assert.deepEqual(chains(graph), ["child <- parent"]);
      yield* parent;
    });
  });

  it("shows gather's children awaited by the gather, awaited by the task", async () => {
    await runVirtual(function* () {
      const a = createTask(sleep(1), { name: "a" });
      const b = createTask(sleep(2), { name: "b" });
      const gatherer = createTask(
        (function* (): Coro<void> {
          yield* gather(a, b);
        })(),
        { name: "gatherer" },
      );
      yield* sleep(0);
      assert.deepEqual(chains(captureCallGraph(a) as FutureCallGraph), ["a <- Future <- gatherer"]);
      yield* sleep(1.5);
      // `a` is done: the gather awaits only `b` now.
      assert.deepEqual(chains(captureCallGraph(a) as FutureCallGraph), ["a"]);
      assert.deepEqual(chains(captureCallGraph(b) as FutureCallGraph), ["b <- Future <- gatherer"]);
      yield* gatherer;
    });
  });

  it("shows a shielded task awaited by the shield, awaited by the task", async () => {
    await runVirtual(function* () {
      const inner = createTask(sleep(1), { name: "inner" });
      const waiter = createTask(
        (function* (): Coro<void> {
          yield* shield(inner);
        })(),
        { name: "waiter" },
      );
      yield* sleep(0);
      assert.deepEqual(chains(captureCallGraph(inner) as FutureCallGraph), [
        "inner <- Future <- waiter",
      ]);
      // Cancelling the waiter leaves the inner task running, awaited by nobody.
      waiter.cancel();
      yield* sleep(0);
      assert.deepEqual(chains(captureCallGraph(inner) as FutureCallGraph), ["inner"]);
      yield* inner;
    });
  });

  it("shows a TaskGroup's children awaited by the task that entered it, nested", async () => {
    const seen: string[][] = [];
    await runVirtual(function* () {
      createTask(
        (function* (): Coro<void> {
          yield* taskGroup(function* (tg) {
            tg.createTask(
              (function* (): Coro<void> {
                yield* gather(
                  createTask(
                    (function* (): Coro<void> {
                      seen.push(chains(captureCallGraph() as FutureCallGraph));
                      yield* sleep(1);
                    })(),
                    { name: "leaf" },
                  ),
                );
              })(),
              { name: "middle" },
            );
          });
        })(),
        { name: "top" },
      );
      yield* sleep(2);
      assert.equal(liveTaskGroups(getRunningLoop()).size, 0);
    });
    assert.deepEqual(seen, [["leaf <- Future <- middle <- top"]]);
  });

  it("drops a cancelled child of a TaskGroup from the graph", async () => {
    await runVirtual(function* () {
      let child: Task<unknown> | null = null;
      const parent = createTask(
        (function* (): Coro<void> {
          yield* taskGroup(function* (tg) {
            child = tg.createTask(sleep(10), { name: "child" });
            yield* sleep(5);
          });
        })(),
        { name: "parent" },
      );
      yield* sleep(0);
      const task = child as Task<unknown> | null;
      assert.ok(task !== null);
      assert.deepEqual(chains(captureCallGraph(task) as FutureCallGraph), ["child <- parent"]);
      task.cancel();
      yield* sleep(0);
      assert.equal(task.cancelled(), true);
      assert.deepEqual(chains(captureCallGraph(task) as FutureCallGraph), ["child"]);
      yield* parent;
    });
  });

  it("gives the stacks of suspended tasks in debug mode, and none otherwise", async () => {
    let line = 0;
    function* waiting(): Coro<void> {
      line = lineOf(new Error()) + 1;
      yield* sleep(1);
    }
    await runTracked(function* () {
      const task = createTask(waiting(), { name: "waiting" });
      yield* sleep(0);
      const graph = captureCallGraph(task) as FutureCallGraph;
      assert.deepEqual(
        graph.callStack.map((frame) => [frame.name, frame.line]),
        [["waiting", line]],
      );
      yield* task;
    });
    await runVirtual(function* () {
      const task = createTask(waiting());
      yield* sleep(0);
      assert.deepEqual((captureCallGraph(task) as FutureCallGraph).callStack, []);
      yield* task;
    });
  });

  it("skips depth - 1 frames of the current task, and keeps |limit| entries", async () => {
    await runTracked(function* () {
      function helper(): FutureCallGraph {
        return captureCallGraph(null, { depth: 2 }) as FutureCallGraph;
      }
      function* c(): Coro<void> {
        const names = (options: { limit: number | null }): string[] =>
          (captureCallGraph(null, options) as FutureCallGraph).callStack.map((f) => f.name);
        assert.deepEqual(names({ limit: null }), ["names", "c", "b", "a"]);
        assert.deepEqual(names({ limit: 2 }), ["b", "a"]);
        assert.deepEqual(names({ limit: -2 }), ["names", "c"]);
        assert.deepEqual(names({ limit: 0 }), []);
        assert.deepEqual(
          helper().callStack.map((f) => f.name),
          ["c", "b", "a"],
        );
        yield* sleep(0);
      }
      function* b(): Coro<void> {
        yield* c();
      }
      function* a(): Coro<void> {
        yield* b();
      }
      // The limit applies to the awaiting tasks' stacks too.
      const task = createTask(a(), { name: "a" });
      yield* task;
      const awaited = createTask(sleep(1));
      const awaiting = createTask(
        (function* (): Coro<void> {
          yield* b2(awaited);
        })(),
      );
      yield* sleep(0);
      const graph = captureCallGraph(awaited, { limit: -1 }) as FutureCallGraph;
      assert.deepEqual(
        graph.awaitedBy[0]?.callStack.map((f) => f.name),
        ["b2"],
      );
      yield* awaiting;
    });
  });
});

function* b2(task: Task<unknown>): Coro<void> {
  yield* task;
}

describe("formatCallGraph", () => {
  it("renders Python's shape: Task, call stack, awaited by, nested", async () => {
    let text = "";
    const lines: number[] = [];
    await runTracked(function* () {
      yield* taskGroup(function* group(tg) {
        tg.createTask(
          (function* child(): Coro<void> {
            lines.push(lineOf(new Error()) + 1);
            text = formatCallGraph();
            yield* sleep(0);
          })(),
          { name: "child" },
        );
        lines.push(lineOf(new Error()) + 1);
        yield* sleep(1);
      });
    });
    const [groupLine, childLine] = lines;
    const normalized = text
      .replaceAll(FILE, "FILE")
      .replace(/id=\d+/g, "id=N")
      .replace(/name='Task-\d+'/g, "name='Task-N'");
    // Below group(): the frames of runTracked's coroutines.
    assert.equal(
      normalized.split("\n").slice(0, 7).join("\n"),
      [
        "* Task(name='child', id=N)",
        "  + Call stack:",
        `  |   File 'FILE', line ${childLine}, in child()`,
        "  + Awaited by:",
        "    * Task(name='Task-N', id=N)",
        "      + Call stack:",
        `      |   File 'FILE', line ${groupLine}, in group()`,
      ].join("\n"),
    );
  });

  it("is empty when no task is running", async () => {
    const texts: string[] = [];
    await runVirtual(function* () {
      getRunningLoop().callSoon(() => texts.push(formatCallGraph()));
      yield* sleep(0);
    });
    assert.deepEqual(texts, [""]);
  });
});

describe("printCallGraph", () => {
  it("writes the text and a newline to a function, a stream, and nowhere without a task", async () => {
    const written: string[] = [];
    await runVirtual(function* () {
      const future = getRunningLoop().createFuture();
      printCallGraph(future, { file: (text) => written.push(text) });
      printCallGraph(future, { file: { write: (text: string) => written.push(text) } });
      getRunningLoop().callSoon(() => {
        printCallGraph(null, { file: (text) => written.push(text) });
      });
      yield* sleep(0);
    });
    assert.equal(written.length, 2);
    assert.match(written[0] as string, /^\* Future\(id=\d+\)\n$/);
    assert.equal(written[1], written[0]);
  });
});
