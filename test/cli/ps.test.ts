// Tests for src/cli/ps.ts: `tsyncio ps PID` and `tsyncio pstree PID` against the fixture
// program test/fixtures/inspect/tree.ts, started with inspection on.
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { relative } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { runtimeDirectory, startProgram, tsyncio } from "../helpers/inspect.ts";

const TREE_PATH = fileURLToPath(new URL("../fixtures/inspect/tree.js", import.meta.url));
const TREE = relative(process.cwd(), TREE_PATH);

/** `file:line` of the compiled fixture's first line that contains `code`. */
function at(code: string): string {
  const lines = readFileSync(TREE_PATH, "utf8").split("\n");
  return `${TREE}:${lines.findIndex((line) => line.includes(code)) + 1}`;
}

/** The cells of a `ps` table row. */
function cells(row: string): string[] {
  return row.split(/ {2,}/);
}

describe("tsyncio ps", () => {
  it("lists the tasks: id, name, state, awaits, location, awaited by (real I/O)", async (t) => {
    const runtime = runtimeDirectory();
    t.after(() => {
      rmSync(runtime, { recursive: true, force: true });
    });
    const env = { XDG_RUNTIME_DIR: runtime };
    const program = await startProgram({ ...env, TSYNCIO_INSPECT: "1" });
    try {
      const result = await tsyncio(["ps", String(program.pid)], env);
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      const [header, rule, ...rows] = result.stdout.trimEnd().split("\n");
      assert.deepEqual(cells(header as string), [
        "id",
        "name",
        "state",
        "awaits",
        "location",
        "awaited by",
      ]);
      assert.match(rule as string, /^-+( {2}-+){5}$/);
      const table = rows.map(cells);
      const ids = new Map(table.map((row) => [row[1], row[0]]));
      const main = `Task-1 (${ids.get("Task-1")})`;
      assert.deepEqual(
        table.map((row) => row.slice(1)),
        [
          ["Task-1", "waiting", "TaskGroup (4 tasks)", at("yield* taskGroup("), "-"],
          ["sleeper", "waiting", "sleep 60s", at("yield* sleep(60)"), main],
          ["gatherer", "waiting", "gather (2 of 2 pending)", at("yield* gather("), main],
          ["locker", "waiting", "Lock.acquire", at("yield* lock.acquire()"), main],
          ["stdin", "waiting", "a Promise (wrapPromise)", at("wrapPromise(stdinClosed)"), main],
          [
            "fetch-a",
            "waiting",
            "sleep 60s",
            at("yield* sleep(60)"),
            `gatherer (${ids.get("gatherer")})`,
          ],
          [
            "fetch-b",
            "waiting",
            "sleep 60s",
            at("yield* sleep(60)"),
            `gatherer (${ids.get("gatherer")})`,
          ],
        ],
      );
    } finally {
      await program.stop();
    }
  });

  it("explains a missing process, a process that did not opt in, and a bad PID (real I/O)", async (t) => {
    const runtime = runtimeDirectory();
    t.after(() => {
      rmSync(runtime, { recursive: true, force: true });
    });
    const env = { XDG_RUNTIME_DIR: runtime };
    const program = await startProgram(env);
    try {
      const closed = await tsyncio(["ps", String(program.pid)], env);
      assert.equal(closed.code, 1);
      assert.equal(
        closed.stderr,
        `tsyncio ps: process ${program.pid} is not inspectable: start it with TSYNCIO_INSPECT=1 or run(main, { inspect: true })\n`,
      );
    } finally {
      await program.stop();
    }
    const missing = await tsyncio(["pstree", "99999999"], env);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "tsyncio pstree: no process with PID 99999999\n");
    const usage = await tsyncio(["ps", "x"], env);
    assert.equal(usage.code, 2);
    assert.equal(usage.stderr, "usage: tsyncio ps PID\n");
  });
});

describe("tsyncio pstree", () => {
  it("draws the await tree: each task over its frames and the tasks it awaits (real I/O)", async (t) => {
    const runtime = runtimeDirectory();
    t.after(() => {
      rmSync(runtime, { recursive: true, force: true });
    });
    const env = { XDG_RUNTIME_DIR: runtime };
    // Opted in by run(main, { inspect: true }) this time.
    const program = await startProgram(env, ["--inspect"]);
    try {
      const result = await tsyncio(["pstree", String(program.pid)], env);
      assert.equal(result.stderr, "");
      assert.equal(result.code, 0);
      const sleep60 = at("yield* sleep(60)");
      assert.equal(
        result.stdout,
        [
          "└── (T) Task-1",
          `    └── main ${at("yield* taskGroup(")}`,
          "        ├── (T) sleeper",
          `        │   └── fetchPage ${sleep60}`,
          "        ├── (T) gatherer",
          `        │   └── gatherPages ${at("yield* gather(")}`,
          "        │       ├── (T) fetch-a",
          `        │       │   └── fetchPage ${sleep60}`,
          "        │       └── (T) fetch-b",
          `        │           └── fetchPage ${sleep60}`,
          "        ├── (T) locker",
          `        │   └── useLock ${at("yield* lock.acquire()")}`,
          "        └── (T) stdin",
          `            └── watchStdin ${at("wrapPromise(stdinClosed)")}`,
          "",
        ].join("\n"),
      );
    } finally {
      await program.stop();
    }
  });
});
