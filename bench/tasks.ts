// Task spawn/complete throughput: ../shared/bench-ref/py_tasks.py for tsyncio.
//
// N tasks each do one `yield* sleep(0)` and return their index; the parent waits for all
// of them. Ways of waiting (the same names as py_tasks.py):
//   create_await : createTask() for each, then `yield*` each task in order
//   gather       : gather(list) of the coroutines (the list form: no 100k-argument spread)
//   taskgroup    : taskGroup(), results read after the block exits
import { createTask, gather, sleep, taskGroup, type Coro, type Task } from "../src/index.ts";
import {
  check,
  mainIfRunDirectly,
  sumBelow,
  timed,
  type CoroBench,
  type Workload,
} from "./util.ts";

function* leaf(i: number): Coro<number> {
  yield* sleep(0);
  return i;
}

function* createAwait(n: number): Coro<number> {
  const tasks: Task<number>[] = [];
  for (let i = 0; i < n; i++) tasks.push(createTask(leaf(i)));
  let total = 0;
  for (const task of tasks) total += yield* task;
  return total;
}

function* viaGather(n: number): Coro<number> {
  const coros: Coro<number>[] = [];
  for (let i = 0; i < n; i++) coros.push(leaf(i));
  const results = yield* gather(coros);
  let total = 0;
  for (const value of results) total += value;
  return total;
}

function* viaTaskGroup(n: number): Coro<number> {
  const tasks: Task<number>[] = [];
  yield* taskGroup(function* (tg) {
    for (let i = 0; i < n; i++) tasks.push(tg.createTask(leaf(i)));
  });
  let total = 0;
  for (const task of tasks) total += task.result();
  return total;
}

const VARIANTS: Readonly<Record<string, CoroBench>> = {
  create_await: createAwait,
  gather: viaGather,
  taskgroup: viaTaskGroup,
};

export const tasks: Workload = {
  name: "tasks",
  unit: "tasks/s",
  loop: "tsyncio",
  defaultN: 100_000,
  variants: Object.keys(VARIANTS),
  async measure(variant, n) {
    const { seconds, value } = await timed(VARIANTS[variant]!, n);
    check(`tasks ${variant}`, value, sumBelow(n));
    return seconds;
  },
  reference: { script: "py_tasks.py", variantFlag: true },
};

await mainIfRunDirectly(import.meta.url, tasks);
