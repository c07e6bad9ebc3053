// `npm run bench`: every tsyncio workload, side by side with the CPython 3.13 asyncio and
// uvloop reference programs (../shared/bench-ref) run in the same invocation, since only
// ratios measured together mean something on a shared machine. Prints one table of rates,
// one of memory sizes, the comparisons with npm peers (async-mutex, p-queue), and writes
// it all to bench/results/latest.json.
//
//   npm run bench -- [FILTER...] [-n N] [--quick] [--repeat R] [--echo-seconds S]
//                    [--echo-repeat R]
//
// FILTER keeps the rows whose `workload/variant` contains one of the strings ("tasks",
// "chain1", "call_soon/"); a peer's row runs whenever the tsyncio row it is compared with
// does. -n sets every workload's count (async_tree: the biggest tree with at most n nodes);
// --quick divides the default counts by 10; --repeat sets how many runs each median is
// taken over (default 3). The echo rows (echo/1KiB, echo/10KiB, echo/100KiB; bench/echo.ts)
// run each echo server once per size, 100 KiB `--repeat` times (every size --echo-repeat
// times), for --echo-seconds each.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { isAbsolute, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { asyncTree } from "./async-tree.ts";
import { callSoon } from "./call-soon.ts";
import {
  ECHO_SIZES,
  echoLabel,
  echoRepeat,
  printEchoTable,
  runEcho,
  type EchoReport,
} from "./echo.ts";
import { writeReport } from "./report.ts";
import { event } from "./event.ts";
import { executor } from "./executor.ts";
import { lock } from "./lock.ts";
import { taskMemory } from "./memory.ts";
import { asyncMutex, asyncMutexAcquire, pQueue } from "./peers.ts";
import { promiseAll } from "./promise-all.ts";
import { queue } from "./queue.ts";
import { nodePipe, nodeSubprocess, pipe, subprocess } from "./subprocess.ts";
import { tasks } from "./tasks.ts";
import { timers } from "./timers.ts";
import { median, rate, type Emitted, type Rate, type Reference, type Workload } from "./util.ts";

/**
 * A Workload whose count is not free or whose reference program does not follow
 * bench_util.timed: async_tree runs whole trees (1 + 6 + ... + 6^L nodes), and
 * py_async_tree.py takes `--levels L` and reports `seconds_median`.
 */
interface RunnableWorkload extends Workload {
  /**
   * The least ratio to CPython this workload's rows must reach (default 10); null for a
   * workload bound by the operating system, which has none.
   */
  readonly targetVsCpython?: number | null;
  /** The count run when `n` is asked for (by default `n` itself). */
  count?(n: number): number;
  /**
   * Seconds of real waiting every run of `variant` contains whatever the loop (async_tree's
   * io variants: one 50 ms sleep), or undefined: its rows also report the ratio of the
   * time beyond that floor, the part a loop can make faster.
   */
  floorSeconds?(variant: string): number | undefined;
  readonly reference:
    | (Reference & {
        /** The arguments that replace `-n N` on the Python command line. */
        countArgs?(n: number): string[];
        /**
         * Where a variant's seconds are in the printed results (by default `seconds`, or
         * `valueKey` for a "size" workload).
         */
        secondsKey?: string;
      })
    | undefined;
}

// A peer's workload comes right after the tsyncio workload it is compared with.
const WORKLOADS: readonly RunnableWorkload[] = [
  tasks,
  callSoon,
  timers,
  promiseAll,
  asyncTree,
  queue,
  pQueue,
  lock,
  asyncMutex,
  asyncMutexAcquire,
  event,
  taskMemory,
  subprocess,
  nodeSubprocess,
  pipe,
  nodePipe,
  executor,
];

/** The tsyncio rows must reach this many times CPython's ops/s. */
const TARGET_VS_CPYTHON = 10;
/** A tsyncio task may cost at most this many Promise.all entries. */
const TARGET_TASK_OVER_PROMISE = 2;
const TASK_ROW = "tasks/create_await";
const PROMISE_ROW = "promise_all/promise_all";
/** The echo load: connections, measured seconds per run after the warm-up seconds. */
const ECHO_CONNS = 10;
const ECHO_SECONDS = 1.5;
const ECHO_WARMUP = 0.5;

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BENCH_REF = process.env.TSYNCIO_BENCH_REF ?? join(ROOT, "..", "shared", "bench-ref");
const RESULTS = join(ROOT, "bench", "results", "latest.json");

type Column = "tsyncio" | "cpython" | "uvloop";

/** A median over `repeat` runs. */
interface Sample extends Rate {
  runs: number[];
}

interface Row {
  workload: string;
  variant: string;
  unit: string;
  n: number;
  tsyncio: Sample;
  cpython: Sample | null;
  uvloop: Sample | null;
  ratio_cpython: number | null;
  ratio_uvloop: number | null;
  /** For a variant with a floor (see floorSeconds): the CPython ratio of the time beyond it. */
  beyond_floor?: { floor_seconds: number; ratio_cpython: number | null };
}

/** A median size per operation over `repeat` runs (bytes/task): lower is better. */
interface SizeSample {
  value: number;
  runs: number[];
}

interface SizeRow {
  workload: string;
  variant: string;
  unit: string;
  n: number;
  tsyncio: SizeSample;
  cpython: SizeSample | null;
  uvloop: SizeSample | null;
  /** CPython's size over tsyncio's: above 1 means tsyncio uses less. */
  cpython_over_tsyncio: number | null;
  uvloop_over_tsyncio: number | null;
}

/** A peer library's row next to the tsyncio row of the same variant. */
interface PeerComparison {
  tsyncio_row: string;
  peer_row: string;
  peer: string;
  tsyncio_ops_per_s: number | null;
  peer_ops_per_s: number | null;
  /** tsyncio's ops/s over the peer's: above 1 means tsyncio is faster. */
  ratio: number | null;
}

/** A Python interpreter and loop to run the reference programs with. */
interface Interpreter {
  readonly column: Exclude<Column, "tsyncio">;
  readonly env: Readonly<Record<string, string>>;
  readonly loop: "asyncio" | "uvloop";
  /** Why the column is skipped, or null when it runs. */
  skipped: string | null;
  /** The first JSON line it printed, for the versions it reports. */
  info: Record<string, unknown> | null;
}

function parseOptions(): {
  filters: string[];
  n: number | undefined;
  quick: boolean;
  repeat: number;
  echoSeconds: number | undefined;
  echoRepeat: number | undefined;
} {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      n: { type: "string", short: "n" },
      quick: { type: "boolean", default: false },
      repeat: { type: "string", default: "3" },
      "echo-seconds": { type: "string" },
      "echo-repeat": { type: "string" },
    },
  });
  const n = values.n === undefined ? undefined : Number(values.n);
  if (n !== undefined && !(Number.isInteger(n) && n > 0)) {
    throw new TypeError(`-n must be a positive integer, got ${values.n}`);
  }
  const repeat = Number(values.repeat);
  if (!(Number.isInteger(repeat) && repeat > 0)) {
    throw new TypeError(`--repeat must be a positive integer, got ${values.repeat}`);
  }
  const echoSeconds =
    values["echo-seconds"] === undefined ? undefined : Number(values["echo-seconds"]);
  if (echoSeconds !== undefined && !(echoSeconds > 0)) {
    throw new TypeError(`--echo-seconds must be a positive number, got ${values["echo-seconds"]}`);
  }
  const echoRepeat =
    values["echo-repeat"] === undefined ? undefined : Number(values["echo-repeat"]);
  if (echoRepeat !== undefined && !(Number.isInteger(echoRepeat) && echoRepeat > 0)) {
    throw new TypeError(`--echo-repeat must be a positive integer, got ${values["echo-repeat"]}`);
  }
  return { filters: positionals, n, quick: values.quick, repeat, echoSeconds, echoRepeat };
}

/** Run `python3 args` with `env` added; returns stdout, or throws with stderr's tail. */
function python(env: Readonly<Record<string, string>>, args: readonly string[]): string {
  const result = spawnSync("python3", args, {
    cwd: BENCH_REF,
    env: { ...process.env, TSYNCIO_BENCH_REF: BENCH_REF, ...env },
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  if (result.error !== undefined) throw result.error;
  if (result.status !== 0) {
    const tail = result.stderr.trim().split("\n").slice(-3).join("\n");
    throw new Error(`python3 ${args.join(" ")} exited with ${result.status}: ${tail}`);
  }
  return result.stdout;
}

function probe(interpreter: Interpreter): void {
  if (!existsSync(join(BENCH_REF, "bench_util.py"))) {
    interpreter.skipped = `no reference programs at ${BENCH_REF} (set TSYNCIO_BENCH_REF)`;
    return;
  }
  const code = interpreter.loop === "uvloop" ? "import uvloop" : "import asyncio";
  try {
    python(interpreter.env, ["-c", code]);
  } catch {
    interpreter.skipped =
      interpreter.loop === "uvloop"
        ? "uvloop is not installed for the system python3; install it with `apt-get install -y python3-uvloop`"
        : `python3 with ${JSON.stringify(interpreter.env)} did not start`;
  }
}

/** Run a workload's reference program once; seconds per variant. */
function runReference(
  interpreter: Interpreter,
  workload: RunnableWorkload,
  variants: readonly string[],
  n: number,
): Map<string, number> {
  const reference = workload.reference!;
  const script = isAbsolute(reference.script)
    ? reference.script
    : join(BENCH_REF, reference.script);
  const args = [
    script,
    "--loop",
    interpreter.loop,
    ...(reference.countArgs?.(n) ?? ["-n", String(n)]),
  ];
  if (reference.variantFlag) for (const variant of variants) args.push("--variant", variant);
  const lines = python(interpreter.env, args).trim().split("\n");
  const line = JSON.parse(lines[lines.length - 1]!) as Emitted;
  interpreter.info ??= line;
  const seconds = new Map<string, number>();
  const key = reference.secondsKey ?? reference.valueKey ?? "seconds";
  for (const variant of variants) {
    const result = line.results[variant] as Record<string, unknown> | undefined;
    if (result === undefined) throw new Error(`${script} printed no result for ${variant}`);
    const value = result[key];
    if (typeof value !== "number") throw new Error(`${script} printed no ${key} for ${variant}`);
    seconds.set(variant, value);
  }
  return seconds;
}

function sample(n: number, runs: readonly number[]): Sample {
  return { ...rate(n, median(runs)), runs: runs.map((seconds) => Math.round(seconds * 1e6) / 1e6) };
}

function ratio(a: Sample | null, b: Sample | null): number | null {
  if (a?.ops_per_s == null || b?.ops_per_s == null) return null;
  return Math.round((a.ops_per_s / b.ops_per_s) * 1000) / 1000;
}

function sizeSample(runs: readonly number[]): SizeSample {
  return { value: Math.round(median(runs) * 10) / 10, runs: [...runs] };
}

/** `a`'s size over `b`'s. */
function sizeRatio(a: SizeSample | null, b: SizeSample | null): number | null {
  if (a === null || b === null || b.value <= 0) return null;
  return Math.round((a.value / b.value) * 1000) / 1000;
}

function formatOps(value: number | null | undefined): string {
  if (value == null) return "-";
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

function formatRatio(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(value >= 10 ? 1 : 2)}x`;
}

function printTable(rows: readonly Row[]): void {
  const header = [
    "workload",
    "tsyncio ops/s",
    "CPython ops/s",
    "uvloop ops/s",
    "tsyncio/CPython",
    "tsyncio/uvloop",
  ];
  const body = rows.map((row) => [
    `${row.workload}/${row.variant} (n=${row.n})`,
    formatOps(row.tsyncio.ops_per_s),
    formatOps(row.cpython?.ops_per_s),
    formatOps(row.uvloop?.ops_per_s),
    formatRatio(row.ratio_cpython),
    formatRatio(row.ratio_uvloop),
  ]);
  printColumns(header, body);
}

function formatSize(sample: SizeSample | null): string {
  return sample === null ? "-" : sample.value.toFixed(0);
}

function printSizeTable(rows: readonly SizeRow[]): void {
  const header = [
    "memory (lower is better)",
    "tsyncio",
    "CPython",
    "uvloop",
    "CPython/tsyncio",
    "uvloop/tsyncio",
  ];
  const body = rows.map((row) => [
    `${row.workload}/${row.variant} (n=${row.n}, ${row.unit})`,
    formatSize(row.tsyncio),
    formatSize(row.cpython),
    formatSize(row.uvloop),
    formatRatio(row.cpython_over_tsyncio),
    formatRatio(row.uvloop_over_tsyncio),
  ]);
  printColumns(header, body);
}

function printPeers(comparisons: readonly PeerComparison[]): void {
  const header = ["tsyncio row vs peer row", "tsyncio ops/s", "peer ops/s", "tsyncio/peer"];
  const body = comparisons.map((c) => [
    `${c.tsyncio_row} vs ${c.peer_row}`,
    formatOps(c.tsyncio_ops_per_s),
    formatOps(c.peer_ops_per_s),
    formatRatio(c.ratio),
  ]);
  printColumns(header, body);
}

function printColumns(header: readonly string[], body: readonly (readonly string[])[]): void {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...body.map((cells) => cells[i]!.length)),
  );
  const format = (cells: readonly string[]): string =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!)))
      .join("  ");
  console.log(format(header));
  console.log(widths.map((width) => "-".repeat(width)).join("  "));
  for (const cells of body) console.log(format(cells));
}

async function main(): Promise<void> {
  const options = parseOptions();
  const interpreters: Interpreter[] = [
    {
      column: "cpython",
      env: { PYENV_VERSION: "3.13.0" },
      loop: "asyncio",
      skipped: null,
      info: null,
    },
    {
      column: "uvloop",
      env: { PYENV_VERSION: "system" },
      loop: "uvloop",
      skipped: null,
      info: null,
    },
  ];
  for (const interpreter of interpreters) probe(interpreter);
  for (const interpreter of interpreters) {
    if (interpreter.skipped !== null) {
      console.error(`note: the ${interpreter.column} column is skipped: ${interpreter.skipped}`);
    }
  }

  const rows: Row[] = [];
  const sizeRows: SizeRow[] = [];
  const emitted: Emitted[] = [];
  const selected = (label: string): boolean =>
    options.filters.length === 0 || options.filters.some((filter) => label.includes(filter));
  for (const workload of WORKLOADS) {
    // A peer's variant runs with the tsyncio row it is compared with.
    const variants = workload.variants.filter(
      (variant) =>
        selected(`${workload.name}/${variant}`) ||
        (workload.peerOf !== undefined && selected(`${workload.peerOf}/${variant}`)),
    );
    if (variants.length === 0) continue;
    const asked = options.n ?? (options.quick ? workload.defaultN / 10 : workload.defaultN);
    const n = workload.count?.(asked) ?? asked;
    // Interleave the runs (tsyncio, CPython, uvloop, then again), so that a burst of load
    // from other processes on the machine hits every column alike.
    const runs = new Map<string, Record<Column, number[]>>(
      variants.map((variant) => [variant, { tsyncio: [], cpython: [], uvloop: [] }]),
    );
    const references =
      workload.reference === undefined
        ? []
        : interpreters.filter((interpreter) => interpreter.skipped === null);
    const failed = new Set<Interpreter>();
    for (let r = 0; r < options.repeat; r++) {
      for (const variant of variants) {
        runs.get(variant)!.tsyncio.push(await workload.measure(variant, n));
      }
      for (const interpreter of references) {
        if (failed.has(interpreter)) continue;
        try {
          const seconds = runReference(interpreter, workload, variants, n);
          for (const [variant, value] of seconds)
            runs.get(variant)![interpreter.column].push(value);
        } catch (error) {
          failed.add(interpreter);
          console.error(
            `${workload.name}: the ${interpreter.column} reference failed: ${String(error)}`,
          );
        }
      }
    }
    if (workload.metric === "size") {
      const results: Record<string, object> = {};
      for (const variant of variants) {
        const measured = runs.get(variant)!;
        const column = (name: "cpython" | "uvloop"): SizeSample | null =>
          measured[name].length === options.repeat ? sizeSample(measured[name]) : null;
        const row: SizeRow = {
          workload: workload.name,
          variant,
          unit: workload.unit,
          n,
          tsyncio: sizeSample(measured.tsyncio),
          cpython: column("cpython"),
          uvloop: column("uvloop"),
          cpython_over_tsyncio: null,
          uvloop_over_tsyncio: null,
        };
        row.cpython_over_tsyncio = sizeRatio(row.cpython, row.tsyncio);
        row.uvloop_over_tsyncio = sizeRatio(row.uvloop, row.tsyncio);
        results[variant] = { n, [workload.reference?.valueKey ?? "value"]: row.tsyncio.value };
        const reported = [`tsyncio ${formatSize(row.tsyncio)}`];
        if (row.cpython !== null) reported.push(`CPython ${formatSize(row.cpython)}`);
        if (row.uvloop !== null) reported.push(`uvloop ${formatSize(row.uvloop)}`);
        console.error(`${workload.name}/${variant} (${workload.unit}): ${reported.join(", ")}`);
        sizeRows.push(row);
      }
      emitted.push({
        bench: workload.name,
        node: process.version,
        loop: workload.loop,
        unit: workload.unit,
        results,
      });
      continue;
    }
    const results: Record<string, Rate> = {};
    const workloadRows: Row[] = [];
    for (const variant of variants) {
      const measured = runs.get(variant)!;
      const tsyncio = sample(n, measured.tsyncio);
      results[variant] = rate(n, tsyncio.seconds);
      const column = (name: "cpython" | "uvloop"): Sample | null =>
        measured[name].length === options.repeat ? sample(n, measured[name]) : null;
      const row: Row = {
        workload: workload.name,
        variant,
        unit: workload.unit,
        n,
        tsyncio,
        cpython: column("cpython"),
        uvloop: column("uvloop"),
        ratio_cpython: null,
        ratio_uvloop: null,
      };
      const reported = [`tsyncio ${formatOps(tsyncio.ops_per_s)}/s`];
      if (row.cpython !== null) reported.push(`CPython ${formatOps(row.cpython.ops_per_s)}/s`);
      if (row.uvloop !== null) reported.push(`uvloop ${formatOps(row.uvloop.ops_per_s)}/s`);
      console.error(`${workload.name}/${variant}: ${reported.join(", ")}`);
      workloadRows.push(row);
    }
    emitted.push({
      bench: workload.name,
      node: process.version,
      loop: workload.loop,
      unit: workload.unit,
      results,
    });
    for (const row of workloadRows) {
      row.ratio_cpython = ratio(row.tsyncio, row.cpython);
      row.ratio_uvloop = ratio(row.tsyncio, row.uvloop);
      const floor = workload.floorSeconds?.(row.variant);
      if (floor !== undefined) {
        row.beyond_floor = {
          floor_seconds: floor,
          ratio_cpython: beyondFloor(row.n, floor, row.tsyncio, row.cpython),
        };
      }
    }
    rows.push(...workloadRows);
  }
  // The echo rows: every echo server, one at a time, under one load generator.
  const echoSizes = ECHO_SIZES.map(echoLabel).filter(selected);
  let echo: EchoReport | null = null;
  if (echoSizes.length > 0) {
    const skippedColumn = (column: Interpreter["column"]): string | null =>
      interpreters.find((interpreter) => interpreter.column === column)?.skipped ?? null;
    echo = await runEcho({
      benchRef: BENCH_REF,
      conns: ECHO_CONNS,
      seconds: options.echoSeconds ?? (options.quick ? 1 : ECHO_SECONDS),
      warmup: options.quick ? 0.3 : ECHO_WARMUP,
      repeat: options.echoRepeat ?? (options.quick ? 1 : echoRepeat(options.repeat)),
      skipped: { cpython: skippedColumn("cpython"), uvloop: skippedColumn("uvloop") },
      sizes: echoSizes,
    });
  }
  if (rows.length === 0 && sizeRows.length === 0 && echo === null) {
    console.error(`no workload matches ${options.filters.join(", ")}`);
    process.exitCode = 1;
    return;
  }

  console.log();
  if (rows.length > 0) {
    printTable(rows);
    console.log();
  }
  if (sizeRows.length > 0) {
    printSizeTable(sizeRows);
    console.log();
  }
  const peers: PeerComparison[] = [];
  for (const workload of WORKLOADS) {
    if (workload.peerOf === undefined) continue;
    for (const peerRow of rows.filter((row) => row.workload === workload.name)) {
      const ours = rows.find(
        (row) => row.workload === workload.peerOf && row.variant === peerRow.variant,
      );
      if (ours === undefined || ours.n !== peerRow.n) continue;
      peers.push({
        tsyncio_row: `${ours.workload}/${ours.variant}`,
        peer_row: `${peerRow.workload}/${peerRow.variant}`,
        peer: workload.loop,
        tsyncio_ops_per_s: ours.tsyncio.ops_per_s,
        peer_ops_per_s: peerRow.tsyncio.ops_per_s,
        ratio: ratio(ours.tsyncio, peerRow.tsyncio),
      });
    }
  }
  if (peers.length > 0) {
    printPeers(peers);
    console.log();
  }

  if (echo !== null && echo.rows.length > 0) {
    printEchoTable(echo);
    console.log();
  }

  const taskRow = rows.find((row) => `${row.workload}/${row.variant}` === TASK_ROW);
  const promiseRow = rows.find((row) => `${row.workload}/${row.variant}` === PROMISE_ROW);
  // Cost per operation is 1 / (ops/s): task cost over Promise.all entry cost.
  const taskOverPromise =
    taskRow !== undefined && promiseRow !== undefined && taskRow.n === promiseRow.n
      ? ratio(promiseRow.tsyncio, taskRow.tsyncio)
      : null;
  const missed: string[] = [];
  for (const row of rows) {
    const workload = WORKLOADS.find((candidate) => candidate.name === row.workload);
    const target =
      workload?.targetVsCpython === undefined ? TARGET_VS_CPYTHON : workload.targetVsCpython;
    if (target !== null && row.ratio_cpython !== null && row.ratio_cpython < target) {
      const beyond = row.beyond_floor;
      const note =
        beyond === undefined || beyond.ratio_cpython === null
          ? ""
          : `; the time beyond its ${beyond.floor_seconds * 1000} ms of real sleep: ${formatRatio(beyond.ratio_cpython)}`;
      missed.push(
        `${row.workload}/${row.variant}: ${formatRatio(row.ratio_cpython)} CPython (target >= ${target}x)${note}`,
      );
    }
  }
  if (taskOverPromise !== null) {
    console.log(
      `task cost / Promise.all entry cost: ${formatRatio(taskOverPromise)} (target <= ${TARGET_TASK_OVER_PROMISE}x)`,
    );
    if (taskOverPromise > TARGET_TASK_OVER_PROMISE) {
      missed.push(
        `task cost: ${formatRatio(taskOverPromise)} Promise.all entries (target <= ${TARGET_TASK_OVER_PROMISE}x)`,
      );
    }
  }
  if (echo !== null) {
    missed.push(...echo.missed);
    for (const note of echo.skipped) console.log(note);
  }
  for (const interpreter of interpreters) {
    if (interpreter.skipped !== null)
      console.log(`${interpreter.column} column skipped: ${interpreter.skipped}`);
  }
  console.log(
    missed.length === 0 ? "all targets met" : `targets missed:\n  ${missed.join("\n  ")}`,
  );

  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  const report = {
    date: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    cpu_model: cpus()[0]?.model ?? null,
    repeat: options.repeat,
    bench_ref: BENCH_REF,
    references: Object.fromEntries(
      interpreters.map((interpreter) => [
        interpreter.column,
        interpreter.skipped === null
          ? {
              python: interpreter.info?.python ?? null,
              executable: interpreter.info?.executable ?? null,
              uvloop: interpreter.info?.uvloop ?? null,
            }
          : { skipped: interpreter.skipped },
      ]),
    ),
    rows,
    memory_rows: sizeRows,
    peers,
    task_over_promise_all: taskOverPromise,
    echo,
    targets: {
      vs_cpython: TARGET_VS_CPYTHON,
      task_over_promise_all: TARGET_TASK_OVER_PROMISE,
      missed,
    },
    tsyncio: emitted,
  };
  writeFileSync(RESULTS, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`wrote ${RESULTS}`);
  // The docs' benchmarks page shows a full run only; `node .build/bench/report.js` forces it.
  if (options.filters.length === 0 && !options.quick && options.n === undefined) {
    console.log(`wrote ${writeReport(RESULTS, join(ROOT, "docs")).join(", ")}`);
  } else {
    console.log("docs/benchmarks.md not regenerated (a partial run): node .build/bench/report.js");
  }
}

await main();

/**
 * CPython's time beyond `floor` seconds over tsyncio's, for runs of `n` operations at the
 * two rates; null if either is missing or not above the floor.
 */
function beyondFloor(
  n: number,
  floor: number,
  tsyncio: Sample,
  cpython: Sample | null,
): number | null {
  if (cpython === null || tsyncio.ops_per_s === null || cpython.ops_per_s === null) return null;
  const ours = n / tsyncio.ops_per_s - floor;
  const theirs = n / cpython.ops_per_s - floor;
  return ours > 0 && theirs > 0 ? theirs / ours : null;
}
