// Shared helpers for tsyncio's benchmarks, as ../shared/bench-ref/bench_util.py is for the
// Python reference programs: the same warm-up rule, the same JSON fields.
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { run, type Coro } from "../src/index.ts";

/** One measured variant, as bench_util.rate: `{ n, seconds, ops_per_s }`. */
export interface Rate {
  n: number;
  seconds: number;
  ops_per_s: number | null;
}

/** The line a benchmark program prints, as bench_util.emit. */
export interface Emitted {
  bench: string;
  unit: string;
  /** Per variant: a Rate, or a size metric's own fields (memory.ts's TaskMemory). */
  results: Record<string, object>;
  [key: string]: unknown;
}

/** A Python reference program for a workload. */
export interface Reference {
  /** Absolute path of the program, or a path relative to the bench-ref directory. */
  script: string;
  /** Whether it takes `--variant NAME` (py_tasks does, py_call_soon runs every variant). */
  variantFlag: boolean;
  /** For a "size" workload: the result field holding the measured size per operation. */
  valueKey?: string;
}

/** One workload: a set of variants measured on the same `n`, as one Python program. */
export interface Workload {
  /** The `bench` field of the JSON line, and the row prefix in the table. */
  readonly name: string;
  readonly unit: string;
  /** The `loop` field of the JSON line: "tsyncio", or what runs the workload instead. */
  readonly loop: string;
  readonly defaultN: number;
  /** Variant names, in the order they run; the same names as the Python reference. */
  readonly variants: readonly string[];
  /**
   * Warm up with n/10, then time one run of `n`; returns seconds. Checks the result. For a
   * "size" workload, returns the size per operation instead (bytes/task).
   */
  measure(variant: string, n: number): Promise<number>;
  readonly reference: Reference | undefined;
  /**
   * "rate" (the default): `measure` returns seconds, the table shows ops/s, higher is
   * better. "size": `measure` returns a size per operation, lower is better.
   */
  readonly metric?: "rate" | "size";
  /**
   * For a peer library's workload (async-mutex, p-queue): the name of the tsyncio workload
   * whose variants of the same name it is compared with.
   */
  readonly peerOf?: string;
}

/** A coroutine benchmark: does `n` operations and returns a value to sanity-check. */
export type CoroBench = (n: number) => Coro<number>;

/**
 * bench_util.timed for tsyncio: in one fresh `run()` (a real EventLoop), warm up with
 * `n / warmupDiv` operations, then time one run of `n` with `performance.now()`.
 * Returns seconds and the timed run's value.
 */
export async function timed(
  bench: CoroBench,
  n: number,
  warmupDiv = 10,
): Promise<{ seconds: number; value: number }> {
  function* main(): Coro<{ seconds: number; value: number }> {
    if (warmupDiv > 0) yield* bench(Math.max(1, Math.floor(n / warmupDiv)));
    const t0 = performance.now();
    const value = yield* bench(n);
    return { seconds: (performance.now() - t0) / 1000, value };
  }
  return run(main());
}

/** `timed` for plain async functions: no event loop of tsyncio's involved. */
export async function timedAsync(
  bench: (n: number) => Promise<number>,
  n: number,
  warmupDiv = 10,
): Promise<{ seconds: number; value: number }> {
  if (warmupDiv > 0) await bench(Math.max(1, Math.floor(n / warmupDiv)));
  const t0 = performance.now();
  const value = await bench(n);
  return { seconds: (performance.now() - t0) / 1000, value };
}

/** Throw unless a benchmark returned what it should have. */
export function check(name: string, actual: number, expected: number): void {
  if (actual !== expected) throw new Error(`${name}: got ${actual}, expected ${expected}`);
}

/** 0 + 1 + ... + (n - 1), what the task workloads return. */
export function sumBelow(n: number): number {
  return (n * (n - 1)) / 2;
}

/** bench_util.rate. */
export function rate(n: number, seconds: number): Rate {
  return {
    n,
    seconds: Math.round(seconds * 1e6) / 1e6,
    ops_per_s: seconds > 0 ? Math.round((n / seconds) * 10) / 10 : null,
  };
}

/** The median of a non-empty list. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Let a workload file run on its own, as the Python programs do:
 * `node .build/bench/tasks.js [-n N] [--variant NAME]...` prints one JSON line per workload
 * (a file may declare several; `--variant` picks from the union of their variants).
 */
export async function mainIfRunDirectly(
  moduleUrl: string,
  ...workloads: readonly Workload[]
): Promise<void> {
  const script = process.argv[1];
  if (script === undefined || pathToFileURL(script).href !== moduleUrl) return;
  const { values } = parseArgs({
    options: { n: { type: "string", short: "n" }, variant: { type: "string", multiple: true } },
  });
  for (const variant of values.variant ?? []) {
    if (!workloads.some((workload) => workload.variants.includes(variant))) {
      throw new Error(`unknown variant: ${variant}`);
    }
  }
  for (const workload of workloads) {
    const n = values.n === undefined ? workload.defaultN : Number(values.n);
    const variants =
      values.variant === undefined
        ? workload.variants
        : workload.variants.filter((variant) => values.variant!.includes(variant));
    if (variants.length === 0) continue;
    const results: Record<string, Rate> = {};
    for (const variant of variants) {
      results[variant] = rate(n, await workload.measure(variant, n));
    }
    const line: Emitted = {
      bench: workload.name,
      node: process.version,
      loop: workload.loop,
      unit: workload.unit,
      results,
    };
    console.log(JSON.stringify(line));
  }
}
