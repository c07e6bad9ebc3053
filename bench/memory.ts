// Memory per idle task: ../shared/bench-ref/py_task_memory.py for tsyncio.
//
// Creates N tasks (default 100,000) that each run `yield* event.wait()` inside a small
// coroutine and stay blocked there. After one loop pass every task is suspended on the
// event (one waiter Future each). Measured, in a fresh `node --expose-gc` process (gc()
// before each reading, as py_task_memory.py calls gc.collect()):
//   rss_bytes_per_task  : (RSS after - RSS before) / N, from process.memoryUsage.rss().
//                         Includes the array holding the tasks (8 bytes/task) and the
//                         V8 heap's slack (pages, a young generation grown by the burst).
//   heap_bytes_per_task : V8 heapUsed after - before, / N: the live objects alone, the
//                         counterpart of py_task_memory.py's tracemalloc figure.
// Then the event is set and all tasks are awaited, to check they finish.
//
// Lower is better: run.ts prints CPython's bytes/task over tsyncio's. On its own:
//   node .build/bench/memory.js -n 100000   (restarts itself with --expose-gc if needed)
import { spawnSync } from "node:child_process";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { createTask, Event, gather, run, sleep, type Coro, type Task } from "../src/index.ts";
import { check, sumBelow, type Emitted, type Workload } from "./util.ts";

/** One idle_tasks measurement, with py_task_memory.py's field names where they exist. */
export interface TaskMemory {
  n: number;
  rss_delta_bytes: number;
  rss_bytes_per_task: number;
  heap_delta_bytes: number;
  heap_bytes_per_task: number;
  process_rss_start_bytes: number;
}

const SCRIPT = fileURLToPath(import.meta.url);

function* idle(ev: Event, i: number): Coro<number> {
  yield* ev.wait();
  return i;
}

function collect(): void {
  // Twice: a full GC can leave finalization work that frees more on the next one.
  gc!();
  gc!();
}

function* spawnBlocked(n: number): Coro<{ rss: number; heap: number }> {
  const ev = new Event();
  yield* sleep(0);
  collect();
  const rssBefore = process.memoryUsage.rss();
  const heapBefore = process.memoryUsage().heapUsed;
  const tasks: Task<number>[] = [];
  for (let i = 0; i < n; i++) tasks.push(createTask(idle(ev, i)));
  yield* sleep(0); // every task runs up to ev.wait()
  yield* sleep(0);
  if (tasks.some((task) => task.done())) throw new Error("task_memory: a task finished early");
  collect();
  const rss = process.memoryUsage.rss() - rssBefore;
  const heap = process.memoryUsage().heapUsed - heapBefore;
  ev.set();
  const results = yield* gather(tasks);
  let total = 0;
  for (const value of results) total += value;
  check("task_memory total", total, sumBelow(n));
  return { rss, heap };
}

/** Measure in this process; needs `--expose-gc`. */
async function measureHere(n: number): Promise<TaskMemory> {
  if (typeof gc !== "function") throw new Error("task_memory: run node with --expose-gc");
  const rss0 = process.memoryUsage.rss();
  const { rss, heap } = await run(spawnBlocked(n));
  return {
    n,
    rss_delta_bytes: rss,
    rss_bytes_per_task: Math.round((rss / n) * 10) / 10,
    heap_delta_bytes: heap,
    heap_bytes_per_task: Math.round((heap / n) * 10) / 10,
    process_rss_start_bytes: rss0,
  };
}

/** Measure in a fresh `node --expose-gc` process: one process per measurement. */
export function measureInChild(n: number): TaskMemory {
  const result = spawnSync(process.execPath, ["--expose-gc", SCRIPT, "-n", String(n)], {
    encoding: "utf8",
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    throw new Error(`task_memory child exited with ${result.status}: ${result.stderr.trim()}`);
  }
  const lines = result.stdout.trim().split("\n");
  const line = JSON.parse(lines[lines.length - 1]!) as Emitted;
  return line.results.idle_tasks as unknown as TaskMemory;
}

export const taskMemory: Workload = {
  name: "task_memory",
  unit: "bytes/task",
  loop: "tsyncio",
  defaultN: 100_000,
  variants: ["idle_tasks"],
  metric: "size",
  measure(_variant, n) {
    return Promise.resolve(measureInChild(n).rss_bytes_per_task);
  },
  reference: { script: "py_task_memory.py", variantFlag: false, valueKey: "rss_bytes_per_task" },
};

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: "string", short: "n" } } });
  const n = values.n === undefined ? taskMemory.defaultN : Number(values.n);
  if (!(Number.isInteger(n) && n > 0)) throw new TypeError(`-n must be a positive integer`);
  if (typeof gc !== "function") {
    // Restart with the collector exposed, as run.ts does.
    const child = spawnSync(process.execPath, ["--expose-gc", SCRIPT, "-n", String(n)], {
      stdio: "inherit",
    });
    process.exitCode = child.status ?? 1;
    return;
  }
  const line: Emitted = {
    bench: taskMemory.name,
    node: process.version,
    loop: taskMemory.loop,
    unit: taskMemory.unit,
    results: { idle_tasks: await measureHere(n) },
  };
  console.log(JSON.stringify(line));
}

const script = process.argv[1];
if (script !== undefined && pathToFileURL(script).href === import.meta.url) await main();
