// Subprocess throughput: bench/ref/py_subprocess.py for tsyncio.
//
//   subprocess/spawn_wait : N processes of `true` (default 200), at most 20 at a time (a
//                           Semaphore), each started with createSubprocessExec and waited
//                           for. Reported: processes/s.
//   pipe/cat              : N MiB (default 100) written to `cat`'s stdin in 64 KiB chunks
//                           (write + drain) while its stdout is read (read(256 KiB)) at the
//                           same time, then wait(). Reported: MiB/s.
// Both are bound by the operating system and by Node's child_process (fork/exec, pipe
// copies) more than by the loop: they have no 10x target. The same shapes in plain Node
// (`child_process.spawn` and stream events, no tsyncio) run as peers of the tsyncio rows,
// to show what tsyncio adds on top of the runtime.
import {
  PIPE,
  Semaphore,
  createSubprocessExec,
  gather,
  type Coro,
  type Process,
} from "../src/index.ts";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { check, mainIfRunDirectly, timed, timedAsync, type Workload } from "./util.ts";

const CONCURRENCY = 20;
const CHUNK = Buffer.alloc(65536, "x");
const SCRIPT = new URL("../../bench/ref/py_subprocess.py", import.meta.url).pathname;

function* spawnWait(n: number): Coro<number> {
  const semaphore = new Semaphore(CONCURRENCY);
  function* one(): Coro<number> {
    yield* semaphore.acquire();
    try {
      const proc = yield* createSubprocessExec("true");
      return yield* proc.wait();
    } finally {
      semaphore.release();
    }
  }
  const codes = yield* gather(Array.from({ length: n }, one));
  return codes.filter((code) => code === 0).length;
}

function* cat(n: number): Coro<number> {
  const proc: Process = yield* createSubprocessExec("cat", [], { stdin: PIPE, stdout: PIPE });
  const { stdin, stdout } = proc;
  if (stdin === null || stdout === null) throw new Error("cat has no pipes");
  const writer = stdin;
  const reader = stdout;
  function* feed(): Coro<void> {
    for (let i = 0; i < n * 16; i++) {
      writer.write(CHUNK);
      yield* writer.drain();
    }
    writer.close();
  }
  function* consume(): Coro<number> {
    let total = 0;
    for (;;) {
      const data = yield* reader.read(262144);
      if (data.length === 0) return total;
      total += data.length;
    }
  }
  const [, total] = yield* gather(feed(), consume());
  yield* proc.wait();
  return total;
}

export const subprocess: Workload & { readonly targetVsCpython: null } = {
  name: "subprocess",
  unit: "processes/s",
  loop: "tsyncio",
  defaultN: 200,
  variants: ["spawn_wait"],
  targetVsCpython: null,
  async measure(_variant, n) {
    const { seconds, value } = await timed(spawnWait, n);
    check("subprocess spawn_wait", value, n);
    return seconds;
  },
  reference: { script: SCRIPT, variantFlag: false },
};

export const pipe: Workload & {
  readonly targetVsCpython: null;
  readonly reference: { countArgs(n: number): string[] };
} = {
  name: "pipe",
  unit: "MiB/s",
  loop: "tsyncio",
  defaultN: 100,
  variants: ["cat"],
  targetVsCpython: null,
  async measure(_variant, n) {
    const { seconds, value } = await timed(cat, n);
    check("pipe cat", value, n * 1024 * 1024);
    return seconds;
  },
  reference: {
    script: SCRIPT,
    variantFlag: false,
    countArgs: (n) => ["--bench", "pipe", "-n", String(n)],
  },
};

/** spawnWait in plain Node: 20 async workers, each spawning and awaiting `exit` in turn. */
async function nodeSpawnWait(n: number): Promise<number> {
  let started = 0;
  let ok = 0;
  async function worker(): Promise<void> {
    while (started < n) {
      started++;
      const [code] = (await once(spawn("true"), "exit")) as [number | null];
      if (code === 0) ok++;
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return ok;
}

/** cat in plain Node: write with the `drain` event, count `data` events until `end`. */
async function nodeCat(n: number): Promise<number> {
  const child = spawn("cat", [], { stdio: ["pipe", "pipe", "inherit"] });
  let total = 0;
  child.stdout.on("data", (data: Buffer) => (total += data.length));
  const ended = once(child.stdout, "end");
  for (let i = 0; i < n * 16; i++) {
    if (!child.stdin.write(CHUNK)) await once(child.stdin, "drain");
  }
  child.stdin.end();
  await ended;
  await (child.exitCode === null ? once(child, "exit") : null);
  return total;
}

export const nodeSubprocess: Workload = {
  name: "node_subprocess",
  unit: "processes/s",
  loop: "node child_process",
  defaultN: 200,
  variants: ["spawn_wait"],
  peerOf: "subprocess",
  async measure(_variant, n) {
    const { seconds, value } = await timedAsync(nodeSpawnWait, n);
    check("node_subprocess spawn_wait", value, n);
    return seconds;
  },
  reference: undefined,
};

export const nodePipe: Workload = {
  name: "node_pipe",
  unit: "MiB/s",
  loop: "node child_process",
  defaultN: 100,
  variants: ["cat"],
  peerOf: "pipe",
  async measure(_variant, n) {
    const { seconds, value } = await timedAsync(nodeCat, n);
    check("node_pipe cat", value, n * 1024 * 1024);
    return seconds;
  },
  reference: undefined,
};

await mainIfRunDirectly(import.meta.url, subprocess, pipe, nodeSubprocess, nodePipe);
