// pyperformance's async_tree: ../shared/bench-ref/py_async_tree.py for tsyncio.
//
// A tree of `levels` recursion levels and `branches` (6) children per node. An inner node
// runs its children concurrently, with `yield* gather(list)` or, in the `*_tg` variants,
// `yield* taskGroup(...)`, and waits for them; a leaf does the variant's work:
//   none         : nothing (returns at once)
//   sleep0       : one `yield* sleep(0)`
//   io           : `yield* sleep(0.05)`
//   memoization  : draw k in 1..100; if k <= 90 and k was seen before, return at once,
//                  else remember it and sleep like "io"
//   cpu_io_mixed : with probability 0.5 compute factorial(500) (a BigInt), otherwise behave
//                  like "memoization"
// The draws come from Python's own generator, MT19937 seeded as `random.Random(0)`, with
// `randint` and `random` computed as CPython does: both sides draw the same numbers in the
// same order, so the same leaves hit the cache and the same leaves sleep.
//
// As in py_async_tree.py, one Tree (one memo cache, one random stream) serves every run of
// a variant, in one fresh `run()`: a warm-up run (which fills the cache), then `inner` (45)
// timed runs; the variant's time is their median. Reported: nodes/s (9,331 nodes at the
// default 5 levels).
//
// `npm run bench` measures it through `asyncTree.measure`; on its own it takes the Python
// program's options and prints its JSON fields (`seconds_median`, `seconds_min`,
// `nodes_per_s`):
//   node .build/bench/async-tree.js --levels 5 --variant none --variant io_tg
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { gather, run, sleep, taskGroup, type Coro } from "../src/index.ts";
import { median, type Reference, type Workload } from "./util.ts";

/** The issue asks for depth 5; pyperformance itself uses 6 (55,987 nodes). */
const LEVELS = 5;
const BRANCHES = 6;
const SEED = 0;
const IO_SLEEP = 0.05;
const MEMO_PERCENT = 90;
const CPU_PROBABILITY = 0.5;
const FACTORIAL_N = 500;
/**
 * Timed runs per variant after the warm-up run, py_async_tree.py's `--inner`, the same
 * on both sides. A 9,331-node tree takes tsyncio a few milliseconds. With 3 runs the
 * median swung twofold between invocations (a young-generation collection lands in some
 * runs and not others). With 15 it held, but it sat in V8's warm-up: tsyncio's first
 * 8-10 trees run 2-9x slower than the rest, while the code is not yet optimized and the
 * heap still grows. With 45 the median is the steady state on both sides (CPython's
 * median is the same with 15 or 45).
 */
const INNER = 45;

/**
 * MT19937 seeded as CPython's `random.Random(seed)` for a small non-negative int seed
 * (`init_by_array([seed])`), with `random()` and `randint()` as Modules/_randommodule.c and
 * random.py compute them.
 */
class PythonRandom {
  private readonly state = new Uint32Array(624);
  private index = 624;

  constructor(seed: number) {
    const mt = this.state;
    mt[0] = 19650218;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = Math.imul(1812433253, prev) + i;
    }
    const key = [seed >>> 0];
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (mt[i]! ^ Math.imul(prev, 1664525)) + key[j]! + j;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30);
      mt[i] = (mt[i]! ^ Math.imul(prev, 1566083941)) - i;
      i++;
      if (i >= 624) {
        mt[0] = mt[623]!;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** genrand_uint32. */
  private next(): number {
    const mt = this.state;
    if (this.index >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k]! & 0x80000000) | (mt[(k + 1) % 624]! & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624]! ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    let y = mt[this.index++]!;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random.random()`: 53 random bits, uniform in [0, 1). */
  random(): number {
    const a = this.next() >>> 5;
    const b = this.next() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /** `random.randint(a, b)` for b - a < 2**31: `_randbelow` with `getrandbits`. */
  randint(a: number, b: number): number {
    const n = b - a + 1;
    const shift = Math.clz32(n); // 32 - n.bit_length()
    let r = this.next() >>> shift;
    while (r >= n) r = this.next() >>> shift;
    return a + r;
  }
}

/**
 * factorial(n) as a BigInt, the way math.factorial works: products of small factors in
 * machine arithmetic (here while they stay below 2^53), then those products multiplied as
 * a balanced tree, so that the big multiplications are few and of similar sizes. (A plain
 * `result *= BigInt(i)` loop takes about 4 times as long.)
 */
function factorial(n: number): bigint {
  const parts: bigint[] = [];
  let word = 1;
  for (let i = 2; i <= n; i++) {
    if (word * i > Number.MAX_SAFE_INTEGER) {
      parts.push(BigInt(word));
      word = i;
    } else {
      word *= i;
    }
  }
  parts.push(BigInt(word));
  return product(parts, 0, parts.length);
}

/** parts[lo] * ... * parts[hi - 1], for hi > lo. */
function product(parts: readonly bigint[], lo: number, hi: number): bigint {
  if (hi - lo === 1) return parts[lo]!;
  const mid = (lo + hi) >>> 1;
  return product(parts, lo, mid) * product(parts, mid, hi);
}

type Leaf = (tree: Tree) => Coro<unknown>;
type Node = (tree: Tree, depth: number) => Coro<undefined>;

class Tree {
  readonly memo = new Map<number, boolean>();
  readonly rng = new PythonRandom(SEED);
  /** Leaves reached, for the check that every run visited the whole tree. */
  leaves = 0;
  readonly leaf: Leaf;
  readonly node: Node;
  readonly levels: number;
  readonly branches: number;
  readonly ioSleep: number;

  constructor(leaf: Leaf, node: Node, levels: number, branches: number, ioSleep: number) {
    this.leaf = leaf;
    this.node = node;
    this.levels = levels;
    this.branches = branches;
    this.ioSleep = ioSleep;
  }
}

// leaf workloads -------------------------------------------------------------------------

function* leafNone(_tree: Tree): Coro<undefined> {
  return undefined;
}

function* leafSleep0(_tree: Tree): Coro<undefined> {
  yield* sleep(0);
  return undefined;
}

function* leafIo(tree: Tree): Coro<undefined> {
  yield* sleep(tree.ioSleep);
  return undefined;
}

function* leafMemoization(tree: Tree): Coro<number> {
  const k = tree.rng.randint(1, 100);
  if (k <= MEMO_PERCENT) {
    if (tree.memo.get(k) === true) return k;
    tree.memo.set(k, true);
  }
  yield* sleep(tree.ioSleep);
  return k;
}

function* leafCpuIoMixed(tree: Tree): Coro<bigint | number> {
  if (tree.rng.random() < CPU_PROBABILITY) return factorial(FACTORIAL_N);
  return yield* leafMemoization(tree);
}

const LEAVES: Readonly<Record<string, Leaf>> = {
  none: leafNone,
  sleep0: leafSleep0,
  io: leafIo,
  memoization: leafMemoization,
  cpu_io_mixed: leafCpuIoMixed,
};

// inner nodes ----------------------------------------------------------------------------

function* nodeGather(tree: Tree, depth: number): Coro<undefined> {
  if (depth === 0) {
    tree.leaves++;
    yield* tree.leaf(tree);
    return undefined;
  }
  const children: Coro<undefined>[] = [];
  for (let i = 0; i < tree.branches; i++) children.push(nodeGather(tree, depth - 1));
  yield* gather(children);
  return undefined;
}

function* nodeTaskGroup(tree: Tree, depth: number): Coro<undefined> {
  if (depth === 0) {
    tree.leaves++;
    yield* tree.leaf(tree);
    return undefined;
  }
  yield* taskGroup(function* (tg) {
    for (let i = 0; i < tree.branches; i++) tg.createTask(nodeTaskGroup(tree, depth - 1));
  });
  return undefined;
}

// harness --------------------------------------------------------------------------------

const VARIANTS: readonly string[] = [
  ...Object.keys(LEAVES),
  ...Object.keys(LEAVES).map((leaf) => `${leaf}_tg`),
];

/** 1 + b + b^2 + ... + b^levels: py_async_tree.node_count. */
function nodeCount(levels: number, branches: number): number {
  let total = 0;
  for (let depth = 0; depth <= levels; depth++) total += branches ** depth;
  return total;
}

/** The most levels (at least 1) whose tree has at most `n` nodes. */
function levelsFor(n: number): number {
  let levels = 1;
  while (nodeCount(levels + 1, BRANCHES) <= n) levels++;
  return levels;
}

interface TreeOptions {
  levels: number;
  branches: number;
  ioSleep: number;
  inner: number;
}

/** py_async_tree.bench_variant in one fresh `run()`: seconds of each timed run. */
async function benchVariant(variant: string, options: TreeOptions): Promise<number[]> {
  const useTaskGroup = variant.endsWith("_tg");
  const leaf = LEAVES[useTaskGroup ? variant.slice(0, -3) : variant];
  if (leaf === undefined || !VARIANTS.includes(variant)) {
    throw new RangeError(`unknown variant: ${variant}`);
  }
  const { levels, branches, ioSleep, inner } = options;
  const tree = new Tree(leaf, useTaskGroup ? nodeTaskGroup : nodeGather, levels, branches, ioSleep);
  const expected = branches ** levels;
  function* runOnce(): Coro<undefined> {
    tree.leaves = 0;
    yield* tree.node(tree, tree.levels);
    if (tree.leaves !== expected) {
      throw new Error(`async_tree ${variant}: reached ${tree.leaves} leaves, expected ${expected}`);
    }
    return undefined;
  }
  function* main(): Coro<number[]> {
    yield* runOnce(); // warm-up (fills the memo cache)
    const times: number[] = [];
    for (let i = 0; i < inner; i++) {
      const t0 = performance.now();
      yield* runOnce();
      times.push((performance.now() - t0) / 1000);
    }
    return times;
  }
  return run(main());
}

/**
 * util.ts's Workload, plus what run.ts needs for a count that is not free: a tree has
 * 1 + 6 + ... + 6^L nodes, and py_async_tree.py takes `--levels L`, not `-n N`.
 */
interface TreeWorkload extends Workload {
  /** See run.ts's RunnableWorkload. */
  floorSeconds(variant: string): number | undefined;
  /** The node count run when `n` is asked for: the biggest tree with at most `n` nodes. */
  count(n: number): number;
  readonly reference: Reference & {
    /** The arguments that replace `-n N` on the Python command line. */
    countArgs(n: number): string[];
    /** Where a variant's seconds are in the Python program's results. */
    secondsKey: string;
  };
}

export const asyncTree: TreeWorkload = {
  name: "async_tree",
  unit: "nodes/s",
  loop: "tsyncio",
  defaultN: nodeCount(LEVELS, BRANCHES),
  variants: VARIANTS,
  count: (n) => nodeCount(levelsFor(n), BRANCHES),
  // Every leaf of the io and memoization trees sleeps IO_SLEEP (at once, concurrently),
  // or is memoized: no tree can finish sooner, on any loop.
  floorSeconds: (variant) => (/^(io|memoization)(_tg)?$/.test(variant) ? IO_SLEEP : undefined),
  async measure(variant, n) {
    const levels = levelsFor(n);
    if (nodeCount(levels, BRANCHES) !== n) {
      throw new RangeError(`async_tree: n must be the node count of a tree, got ${n}`);
    }
    const times = await benchVariant(variant, {
      levels,
      branches: BRANCHES,
      ioSleep: IO_SLEEP,
      inner: INNER,
    });
    return median(times);
  },
  reference: {
    script: "py_async_tree.py",
    variantFlag: true,
    countArgs: (n) => ["--levels", String(levelsFor(n)), "--inner", String(INNER)],
    secondsKey: "seconds_median",
  },
};

/** py_async_tree.main: the same options, the same JSON line. */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      levels: { type: "string", default: String(LEVELS) },
      branches: { type: "string", default: String(BRANCHES) },
      "io-sleep": { type: "string", default: String(IO_SLEEP) },
      inner: { type: "string", default: String(INNER) },
      variant: { type: "string", multiple: true },
    },
  });
  const options: TreeOptions = {
    levels: Number(values.levels),
    branches: Number(values.branches),
    ioSleep: Number(values["io-sleep"]),
    inner: Number(values.inner),
  };
  for (const key of ["levels", "branches", "inner"] as const) {
    if (!(Number.isInteger(options[key]) && options[key] > 0)) {
      throw new TypeError(`--${key} must be a positive integer, got ${options[key]}`);
    }
  }
  const nodes = nodeCount(options.levels, options.branches);
  const results: Record<string, unknown> = {};
  for (const variant of values.variant ?? VARIANTS) {
    const times = await benchVariant(variant, options);
    const med = median(times);
    results[variant] = {
      seconds_median: Math.round(med * 1e6) / 1e6,
      seconds_min: Math.round(Math.min(...times) * 1e6) / 1e6,
      nodes_per_s: Math.round((nodes / med) * 10) / 10,
    };
  }
  const line = {
    bench: "async_tree",
    node: process.version,
    loop: "tsyncio",
    levels: options.levels,
    branches: options.branches,
    nodes,
    io_sleep: options.ioSleep,
    inner: options.inner,
    results,
  };
  console.log(JSON.stringify(line));
}

const script = process.argv[1];
if (script !== undefined && pathToFileURL(script).href === import.meta.url) await main();
