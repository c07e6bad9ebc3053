// An automation script: run many commands, at most `--concurrency` at a time, stream
// their output line by line as it comes, and stop the ones that run past `--timeout`:
// SIGTERM first, then SIGKILL if a job is still there `--grace` seconds later. At the end,
// a summary table; the exit code is 1 if any job did not succeed.
//
// Each output line is prefixed with its job's name, then `|` for stdout, `!` for stderr
// and `*` for what the runner did (started, timed out, signalled).
//
// Each job runs in a process group of its own, and the signals go to the group: what a
// job started (a shell's commands) stops with it. Ctrl-C cancels the main task: every
// running job is stopped the same way and reaped, the summary so far is printed, and the
// program exits with 130.
//
// The default jobs are a pretend build (`sh -c` snippets that print, sleep, fail, write to
// stderr, hang). `--jobs FILE` runs your commands instead, one a line: each line is split
// into arguments and run directly, without a shell, so `'...'` and `"..."` group words
// (and `\` escapes one character) but `$VAR`, `*`, `|`, `>` and `&&` reach the program as
// they are. Write `sh -c '...'` for shell syntax. Blank lines and `#` comments are skipped;
// each job is named after its program and its number (`make-3`).
//
//   npm run example -- automation                   the pretend build: 30 jobs, 8 at a time
//   npm run example -- automation --quiet           only the progress bar and the summary
//   npm run example -- automation --jobs jobs.txt --concurrency 4 --timeout 60
import { readFileSync } from "node:fs";
import { constants } from "node:os";
import { basename } from "node:path";
import {
  CancelledError,
  DEVNULL,
  KeyboardInterrupt,
  PIPE,
  Semaphore,
  createSubprocessExec,
  moveOnAfter,
  run,
  taskGroup,
  type Coro,
  type Process,
  type StreamReader,
} from "../src/index.ts";
import { isMain, parseFlags, secondsSince } from "./lib/cli.ts";
import { ProgressBar } from "./lib/progress.ts";

const decoder = new TextDecoder();

/** A command to run: a name for its output and the summary, and its argument vector. */
export interface Job {
  name: string;
  argv: string[];
}

/** How a job ended, for the summary. */
export type JobStatus =
  | "not started"
  | "running"
  | "ok"
  | `failed (exit ${number})`
  | `killed by ${string}`
  | `timed out (${"terminated" | "killed"})`
  | `interrupted (${"terminated" | "killed"})`
  | `could not start (${string})`;

/** One job's outcome; filled in as it goes, so an interrupted run still reports. */
export interface JobResult {
  job: Job;
  status: JobStatus;
  /** The process id (the job leads a process group of that id), once started. */
  pid: number | null;
  /** Seconds from start to reaped, once finished. */
  seconds: string | null;
}

export interface RunOptions {
  /** How many jobs run at once. */
  concurrency: number;
  /** Seconds a job may run before it is stopped. */
  timeout: number;
  /** Seconds between SIGTERM and SIGKILL. */
  grace: number;
  /** Print each output line (and the runner's notes); the summary is the caller's. */
  print?: ((line: string) => void) | undefined;
  /** Pad the job names in printed lines to this width, to align the output. */
  nameWidth?: number | undefined;
  /** Advanced once per finished job. */
  progress?: ProgressBar | undefined;
}

// ---- the runner ----------------------------------------------------------------------------

/**
 * Run `jobs`, at most `options.concurrency` at once (a Semaphore: they start in order), and
 * record each outcome in `results`. Cancelling it stops every running job (SIGTERM, then
 * SIGKILL after `options.grace`) and waits for each to be reaped before the cancellation
 * goes on; jobs that had not started stay "not started".
 */
export function* runJobs(
  jobs: readonly Job[],
  options: RunOptions,
  results: JobResult[] = newResults(jobs),
): Coro<JobResult[]> {
  const slots = new Semaphore(options.concurrency);
  yield* taskGroup(function* (tg) {
    jobs.forEach((job, n) => {
      tg.createTask(slots.hold(() => runJob(job, options, results[n]!)));
    });
  });
  return results;
}

/** Run one job to its end (or its timeout, or a cancellation), streaming its output. */
function* runJob(job: Job, options: RunOptions, result: JobResult): Coro<void> {
  const began = performance.now();
  const [program = "", ...args] = job.argv;
  const name = job.name.padEnd(options.nameWidth ?? 0);
  const say = (marker: string, text: string): void => {
    options.print?.(`${name} ${marker} ${text}`);
  };
  let proc: Process;
  try {
    proc = yield* createSubprocessExec(program, args, {
      stdin: DEVNULL,
      stdout: PIPE,
      stderr: PIPE,
      // Its own process group, whose id is its pid: a signal to the group reaches whatever
      // the job started too (a shell's commands), and the terminal's Ctrl-C does not reach
      // the job directly: the runner decides how jobs stop.
      startNewSession: true,
    });
  } catch (error) {
    if (error instanceof CancelledError) throw error;
    const code = (error as { code?: unknown }).code;
    result.status = `could not start (${typeof code === "string" ? code : String(error)})`;
    result.seconds = secondsSince(began);
    say("*", result.status);
    options.progress?.advance();
    return;
  }
  result.pid = proc.pid;
  result.status = "running";
  say("*", `started, pid ${proc.pid}`);
  // Whether the runner stopped it (and why, and with which signal), besides its exit code.
  const stopping: Stopping = { reason: null, by: "terminated" };
  try {
    yield* taskGroup(function* (tg) {
      // The output is read to its end whatever happens, so that a job stopping (printing
      // as it cleans up) is never blocked on a full pipe, and its last lines are shown.
      tg.createTask(
        streamLines(proc.stdout!, (line) => {
          say("|", line);
        }),
      );
      tg.createTask(
        streamLines(proc.stderr!, (line) => {
          say("!", line);
        }),
      );
      try {
        const code = yield* moveOnAfter(options.timeout, () => proc.wait());
        if (code === undefined) {
          stopping.reason = "timed out";
          say("*", `timed out after ${options.timeout}s: SIGTERM`);
          stopping.by = yield* stop(proc, options.grace, say);
        }
      } catch (error) {
        // Cancelled (Ctrl-C), or reading the output failed: the job goes too, and is reaped
        // before the cancellation goes on.
        if (proc.returncode === null) {
          stopping.reason = "interrupted";
          say("*", "interrupted: SIGTERM");
          stopping.by = yield* stop(proc, options.grace, say);
        }
        throw error;
      }
    });
  } finally {
    result.status = statusOf(proc.returncode, stopping);
    result.seconds = secondsSince(began);
    options.progress?.advance();
  }
  if (result.status !== "ok") say("*", result.status);
}

/** Whether the runner stopped a job, why, and with which signal. */
interface Stopping {
  reason: "timed out" | "interrupted" | null;
  by: "terminated" | "killed";
}

function statusOf(returncode: number | null, stopping: Stopping): JobStatus {
  if (stopping.reason !== null) return `${stopping.reason} (${stopping.by})`;
  if (returncode === null) return "running";
  if (returncode === 0) return "ok";
  if (returncode > 0) return `failed (exit ${returncode})`;
  return `killed by ${signalName(-returncode)}`;
}

/**
 * Stop a job: SIGTERM, and SIGKILL if it is still running `grace` seconds later. Returns
 * once it has exited and its pipes are closed (`wait()`), saying which signal did it.
 */
function* stop(
  proc: Process,
  grace: number,
  say: (marker: string, text: string) => void,
): Coro<"terminated" | "killed"> {
  signalJob(proc, "SIGTERM");
  if ((yield* moveOnAfter(grace, () => proc.wait())) !== undefined) return "terminated";
  say("*", `still running ${grace}s after SIGTERM: SIGKILL`);
  signalJob(proc, "SIGKILL");
  yield* proc.wait();
  return "killed";
}

/**
 * Signal the job, and the processes it started. `terminate()` and `kill()` reach the job
 * alone; a shell's commands (`sh -c 'step1; sleep 30'`) would go on running, holding the
 * output pipes open, and `wait()` waits for those to close. The job leads its own process
 * group, so `process.kill(-pid)` reaches them all.
 */
function signalJob(proc: Process, signal: "SIGTERM" | "SIGKILL"): void {
  if (proc.returncode === null) {
    if (signal === "SIGTERM") proc.terminate();
    else proc.kill();
  }
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // ESRCH: nothing is left in the group.
  }
}

/** Call `onLine` with each line of `reader` (without its newline) until EOF. */
function* streamLines(reader: StreamReader, onLine: (line: string) => void): Coro<void> {
  for (;;) {
    let line: Uint8Array;
    try {
      line = yield* reader.readline();
    } catch (error) {
      // A line longer than the reader's limit (64 KiB): it is dropped, the next one comes.
      if (!(error instanceof RangeError)) throw error;
      onLine("(a line longer than 64 KiB, not shown)");
      continue;
    }
    if (line.length === 0) return;
    onLine(decoder.decode(line).replace(/\r?\n$/, ""));
  }
}

function signalName(number: number): string {
  const names: [string, number][] = Object.entries(constants.signals);
  return names.find(([, value]) => value === number)?.[0] ?? `signal ${number}`;
}

// ---- reporting -----------------------------------------------------------------------------

export function newResults(jobs: readonly Job[]): JobResult[] {
  return jobs.map((job) => ({ job, status: "not started", pid: null, seconds: null }));
}

/** The summary table: one line per job, its status and how long it ran. */
export function summaryTable(results: readonly JobResult[]): string[] {
  const nameWidth = Math.max(3, ...results.map((result) => result.job.name.length));
  const statusWidth = Math.max(6, ...results.map((result) => result.status.length));
  const row = (name: string, status: string, seconds: string): string =>
    `${name.padEnd(nameWidth)}  ${status.padEnd(statusWidth)}  ${seconds.padStart(7)}`;
  return [
    row("job", "status", "seconds"),
    ...results.map((result) => row(result.job.name, result.status, result.seconds ?? "-")),
  ];
}

/** The counts: `30 jobs: 24 ok, 3 failed, 2 timed out, 1 killed by a signal`. */
export function describeJobs(results: readonly JobResult[]): string {
  const kinds: [string, (status: JobStatus) => boolean][] = [
    ["ok", (status) => status === "ok"],
    ["failed", (status) => status.startsWith("failed")],
    ["timed out", (status) => status.startsWith("timed out")],
    ["killed by a signal", (status) => status.startsWith("killed")],
    ["could not start", (status) => status.startsWith("could not")],
    ["interrupted", (status) => status.startsWith("interrupted")],
    ["not started", (status) => status === "not started"],
  ];
  const counts = kinds
    .map(([label, test]) => [results.filter((result) => test(result.status)).length, label])
    .filter(([count]) => count !== 0)
    .map(([count, label]) => `${count} ${label}`);
  return `${results.length} jobs: ${counts.length === 0 ? "nothing to do" : counts.join(", ")}`;
}

/** Whether every job succeeded. */
export function allOk(results: readonly JobResult[]): boolean {
  return results.every((result) => result.status === "ok");
}

// ---- the jobs ------------------------------------------------------------------------------

/** A job run by `sh -c script`. */
function sh(name: string, script: string): Job {
  return { name, argv: ["sh", "-c", script] };
}

/** A job that prints `steps` progress lines, `seconds` apart, then `last` (a command). */
function steps(name: string, count: number, seconds: number, last = "echo done"): Job {
  const lines: string[] = [];
  for (let n = 1; n <= count; n++) lines.push(`echo "step ${n}/${count}"; sleep ${seconds}`);
  return sh(name, [...lines, last].join("; "));
}

/**
 * The pretend build: 30 jobs, most of them fine; 3 fail with an exit code, one writes
 * warnings to stderr, one is killed by a signal, and two hang (one cleans up on SIGTERM,
 * one ignores it and needs SIGKILL). The first 12 have one of each but the SIGKILL one.
 */
export function demoJobs(): Job[] {
  return [
    steps("lint", 3, 0.15),
    steps("typecheck", 2, 0.25),
    steps("unit-1", 4, 0.1),
    steps("unit-2", 3, 0.1, `echo "FAIL: expected 3, got 4" >&2; exit 1`),
    steps("unit-3", 2, 0.2),
    steps("build-web", 3, 0.2, `echo "warning: bundle is 612 kB (limit 500 kB)" >&2`),
    sh(
      "migrate-db",
      `trap 'echo "got SIGTERM: rolling back"; exit 143' TERM; ` +
        `echo "waiting for the database lock"; sleep 30`,
    ),
    steps("unit-4", 3, 0.1),
    steps("e2e-login", 4, 0.15),
    sh("oom-victim", `echo "allocating 8 GB"; sleep 0.1; kill -KILL $$`),
    steps("unit-5", 2, 0.15),
    steps("docs", 3, 0.15),
    steps("build-api", 3, 0.2),
    steps("flaky-test", 2, 0.1, `echo "timeout waiting for port 8080" >&2; exit 3`),
    steps("package", 2, 0.2),
    sh("sync-assets", `trap "" TERM; echo "uploading (SIGTERM is ignored)"; sleep 30`),
    steps("i18n", 2, 0.1),
    steps("unit-6", 3, 0.1),
    steps("unit-7", 3, 0.1),
    steps("e2e-cart", 4, 0.15),
    steps("e2e-checkout", 4, 0.15),
    steps("audit", 1, 0.1, `echo "2 moderate vulnerabilities" >&2`),
    steps("license-check", 1, 0.1),
    steps("coverage", 2, 0.15, `echo "coverage 78% is below 80%" >&2; exit 1`),
    steps("images", 3, 0.1),
    steps("sitemap", 1, 0.1),
    steps("changelog", 1, 0.1),
    steps("bench-smoke", 3, 0.15),
    steps("smoke-test", 2, 0.15),
    steps("notify", 1, 0.05, `echo "sent to #builds"`),
  ];
}

/**
 * Split a command line into arguments, without a shell: whitespace separates, `'...'`
 * keeps everything literally, `"..."` too except `\"` and `\\`, and `\` outside quotes
 * escapes the next character. Nothing else is special.
 *
 * @throws SyntaxError for an unterminated quote or a trailing `\`.
 */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let word: string | null = null;
  for (let n = 0; n < line.length; n++) {
    const char = line[n]!;
    if (/\s/.test(char)) {
      if (word !== null) words.push(word);
      word = null;
    } else if (char === "'" || char === '"') {
      const end = findClosing(line, n, char);
      let quoted = line.slice(n + 1, end);
      if (char === '"') quoted = quoted.replace(/\\(["\\])/g, "$1");
      word = (word ?? "") + quoted;
      n = end;
    } else if (char === "\\") {
      if (n + 1 === line.length) throw new SyntaxError("a \\ at the end of the line");
      word = (word ?? "") + line[++n]!;
    } else {
      word = (word ?? "") + char;
    }
  }
  if (word !== null) words.push(word);
  return words;
}

function findClosing(line: string, start: number, quote: string): number {
  for (let n = start + 1; n < line.length; n++) {
    if (line[n] === "\\" && quote === '"') n++;
    else if (line[n] === quote) return n;
  }
  throw new SyntaxError(`unterminated ${quote}`);
}

/** The jobs of a file: one command a line, named after the program and the job's number. */
export function readJobs(path: string): Job[] {
  const jobs: Job[] = [];
  readFileSync(path, "utf8")
    .split("\n")
    .forEach((text, n) => {
      if (text.trim() === "" || text.trim().startsWith("#")) return;
      let argv: string[];
      try {
        argv = splitCommand(text);
      } catch (error) {
        throw new SyntaxError(`${path}:${n + 1}: ${(error as Error).message}`, { cause: error });
      }
      jobs.push({ name: `${basename(argv[0]!)}-${jobs.length + 1}`, argv });
    });
  return jobs;
}

// ---- the program ---------------------------------------------------------------------------

const usage = `usage: automation [--jobs FILE] [--concurrency 8] [--timeout 1.5] [--grace 0.3] [--quiet]`;

export function* main(): Coro<void> {
  const flags = parseFlags(
    { jobs: "", concurrency: 8, timeout: 1.5, grace: 0.3, quiet: false },
    usage,
  );
  if (!Number.isInteger(flags.concurrency) || flags.concurrency < 1) {
    exitWithUsage(`--concurrency expects a whole number of at least 1`);
  }
  if (flags.timeout <= 0 || flags.grace < 0) {
    exitWithUsage(`--timeout expects seconds above 0, --grace seconds of at least 0`);
  }
  let jobs: Job[];
  try {
    jobs = flags.jobs === "" ? demoJobs() : readJobs(flags.jobs);
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exit(2);
  }
  const began = performance.now();
  const progress = new ProgressBar("jobs", jobs.length);
  const results = newResults(jobs);
  const options: RunOptions = {
    ...flags,
    progress,
    print: flags.quiet
      ? undefined
      : (line) => {
          progress.log(line);
        },
    nameWidth: Math.max(0, ...jobs.map((job) => job.name.length)),
  };
  try {
    yield* runJobs(jobs, options, results);
  } catch (error) {
    if (error instanceof CancelledError) {
      progress.finish();
      console.log(`\ninterrupted after ${secondsSince(began)}s`);
      report(results);
    }
    throw error;
  }
  progress.finish();
  console.log(`\nfinished in ${secondsSince(began)}s`);
  report(results);
  if (!allOk(results)) process.exitCode = 1;
}

function exitWithUsage(message: string): never {
  console.error(`${message}\n\n${usage}`);
  process.exit(2);
}

function report(results: readonly JobResult[]): void {
  for (const line of summaryTable(results)) console.log(line);
  console.log(describeJobs(results));
}

if (isMain(import.meta.url)) {
  try {
    await run(main());
  } catch (error) {
    if (!(error instanceof KeyboardInterrupt)) throw error;
    process.exitCode = 130; // the shell's convention for "ended by SIGINT"
  }
}
