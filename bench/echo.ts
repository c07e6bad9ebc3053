// The TCP echo rows of `npm run bench`: one load generator (../shared/bench-ref's
// echo_client.mjs, a closed loop of C connections, each sending one S-byte message and
// waiting for all S bytes back) against, in turn, every echo server on 127.0.0.1:
//
//   tsyncio streams   bench/echo-server.ts --mode streams   (read(65536), write, drain)
//   tsyncio protocol  bench/echo-server.ts --mode protocol  (dataReceived -> write)
//   Node net          node_echo_server.mjs --mode data      (raw `net`: on('data') -> write)
//   CPython streams   py_echo_server.py --loop asyncio --mode streams (readexactly, write, drain)
//   CPython protocol  py_echo_server.py --loop asyncio --mode protocol
//   uvloop streams    the same with Debian's python3 and --loop uvloop
//   uvloop protocol
//
// for S = 1 KiB, 10 KiB and 100 KiB. Every server is a fresh process; the client warms up,
// then measures for a fixed time. Reported per server: the client's req/s, MB/s, p50 and
// p99 round-trip latency, and the server's CPU time per request: the CPU seconds the server
// reports (user + system, from listening to SIGTERM, as the reference servers do) over the
// requests it echoed (bytes echoed / S, warm-up included). The client alone can saturate a
// core, so req/s may measure the client; CPU per request compares the servers themselves.
//
// On its own (after `npm run compile`): node .build/bench/echo.js [--seconds 2] [--repeat R]
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { median } from "./util.ts";

/** The message sizes, in row order. */
export const ECHO_SIZES: readonly { label: string; bytes: number }[] = [
  { label: "1KiB", bytes: 1024 },
  { label: "10KiB", bytes: 10 * 1024 },
  { label: "100KiB", bytes: 100 * 1024 },
];

/** The sizes whose results swing between runs: they run `repeat` times by default. */
const SWINGING_SIZE = 100 * 1024;

/** The row label of a size, what `npm run bench -- FILTER` matches. */
export function echoLabel(size: { label: string }): string {
  return `echo/${size.label}`;
}

export type EchoServerName =
  | "tsyncio streams"
  | "tsyncio protocol"
  | "Node net"
  | "CPython streams"
  | "CPython protocol"
  | "uvloop streams"
  | "uvloop protocol";

interface EchoServer {
  readonly name: EchoServerName;
  /** Which reference column it needs: its row is skipped when that column is. */
  readonly needs: "tsyncio" | "node" | "cpython" | "uvloop";
  command(size: number, maxSeconds: number): { args: string[]; env: Record<string, string> };
}

export interface EchoOptions {
  /** Where echo_client.mjs, node_echo_server.mjs and py_echo_server.py are. */
  benchRef: string;
  /** Connections the client keeps busy. */
  conns: number;
  /** Measured seconds per run, after `warmup` seconds unmeasured. */
  seconds: number;
  warmup: number;
  /** Runs per size (the median is reported); by default 1, and 3 for 100 KiB. */
  repeat: ((bytes: number) => number) | number;
  /** Why a Python column is skipped, or null when it runs. */
  skipped: { cpython: string | null; uvloop: string | null };
  /** The labels (echoLabel) to run. */
  sizes: readonly string[];
}

/** One run of the client against one server. */
export interface EchoRun {
  requests_per_s: number;
  mb_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  client_cpu_util: number;
  server_cpu_seconds: number;
  server_seconds: number;
  /** Requests the server echoed, warm-up included: bytes echoed / size. */
  server_requests: number;
  server_cpu_us_per_request: number;
}

/** A server at one size: the median of each field over its runs. */
export interface EchoRow {
  size: string;
  bytes: number;
  server: EchoServerName;
  requests_per_s: number;
  mb_per_s: number;
  p50_ms: number | null;
  p99_ms: number | null;
  client_cpu_util: number;
  server_cpu_us_per_request: number;
  runs: EchoRun[];
  /** For the tsyncio rows: req/s over the reference's (above 1: tsyncio is faster). */
  rps_vs_node: number | null;
  rps_vs_uvloop: number | null;
  /**
   * For the tsyncio rows: the reference's server CPU per request over tsyncio's (requests
   * per CPU second, tsyncio over the reference: above 1, tsyncio spends less CPU).
   */
  cpu_vs_node: number | null;
  cpu_vs_uvloop: number | null;
}

export interface EchoReport {
  conns: number;
  seconds: number;
  warmup: number;
  node_mode: string;
  rows: EchoRow[];
  skipped: string[];
  missed: string[];
  /** The 1-minute load average before and after, and the CPU count: how busy the machine was. */
  load: { before: number; after: number; cpus: number };
}

/** tsyncio protocol must stay within 10% of raw Node. */
const WITHIN = 0.1;

/** node_echo_server.mjs's mode: `data` matched or beat `pipe` in trials at every size. */
const NODE_MODE = "data";

const ECHO_SERVER_JS = fileURLToPath(new URL("./echo-server.js", import.meta.url));

function servers(benchRef: string): EchoServer[] {
  const tsyncio = (mode: string): EchoServer["command"] => {
    return (size, maxSeconds) => ({
      args: [
        ECHO_SERVER_JS,
        "--mode",
        mode,
        "--size",
        String(size),
        "--max-seconds",
        String(maxSeconds),
      ],
      env: {},
    });
  };
  const python = (
    loop: string,
    env: Record<string, string>,
    mode: string,
  ): EchoServer["command"] => {
    return (size, maxSeconds) => ({
      args: [
        join(benchRef, "py_echo_server.py"),
        "--loop",
        loop,
        "--mode",
        mode,
        "--size",
        String(size),
        "--max-seconds",
        String(maxSeconds),
      ],
      env,
    });
  };
  const cpython = { PYENV_VERSION: "3.13.0" };
  const system = { PYENV_VERSION: "system" };
  return [
    { name: "tsyncio streams", needs: "tsyncio", command: tsyncio("streams") },
    { name: "tsyncio protocol", needs: "tsyncio", command: tsyncio("protocol") },
    {
      name: "Node net",
      needs: "node",
      command: (_size, maxSeconds) => ({
        args: [
          join(benchRef, "node_echo_server.mjs"),
          "--mode",
          NODE_MODE,
          "--max-seconds",
          String(maxSeconds),
        ],
        env: {},
      }),
    },
    { name: "CPython streams", needs: "cpython", command: python("asyncio", cpython, "streams") },
    { name: "CPython protocol", needs: "cpython", command: python("asyncio", cpython, "protocol") },
    { name: "uvloop streams", needs: "uvloop", command: python("uvloop", system, "streams") },
    { name: "uvloop protocol", needs: "uvloop", command: python("uvloop", system, "protocol") },
  ];
}

function executable(server: EchoServer): string {
  return server.needs === "cpython" || server.needs === "uvloop" ? "python3" : process.execPath;
}

/** The whole stdout of a process, once it exits with status 0. */
function collect(
  child: ReturnType<typeof spawn>,
  what: string,
): Promise<{ stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => {
      if (code === 0) resolve({ stdout, stderr });
      else {
        const tail = stderr.trim().split("\n").slice(-3).join("\n");
        reject(new Error(`${what} exited with ${code ?? signal ?? "?"}: ${tail}`));
      }
    });
  });
}

function lastJsonLine(text: string, what: string): Record<string, unknown> {
  const lines = text.trim().split("\n");
  const last = lines[lines.length - 1];
  if (last === undefined || last === "") throw new Error(`${what} printed nothing`);
  return JSON.parse(last) as Record<string, unknown>;
}

/** Start a server; resolves with its port once it printed its listening line on stderr. */
function startServer(
  server: EchoServer,
  size: number,
  options: EchoOptions,
): { child: ReturnType<typeof spawn>; port: Promise<number>; done: Promise<{ stdout: string }> } {
  const maxSeconds = Math.ceil(options.warmup + options.seconds + 30);
  const { args, env } = server.command(size, maxSeconds);
  const child = spawn(executable(server), args, {
    cwd: options.benchRef,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const done = collect(child, `${server.name} server`);
  const port = new Promise<number>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      reject(new Error(`${server.name} server did not listen within 15 s`));
    }, 15_000);
    const onData = (chunk: string): void => {
      seen += chunk;
      for (const line of seen.split("\n")) {
        if (!line.includes('"listening"')) continue;
        const event = JSON.parse(line) as { port?: unknown };
        if (typeof event.port !== "number") continue;
        clearTimeout(timer);
        child.stderr.off("data", onData);
        resolve(event.port);
        return;
      }
    };
    child.stderr.on("data", onData);
    done.then(
      () => {
        clearTimeout(timer);
        reject(new Error(`${server.name} server exited before listening`));
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
  return { child, port, done };
}

async function runOnce(server: EchoServer, size: number, options: EchoOptions): Promise<EchoRun> {
  const started = startServer(server, size, options);
  try {
    const port = await started.port;
    const client = spawn(
      process.execPath,
      [
        join(options.benchRef, "echo_client.mjs"),
        "--port",
        String(port),
        "--conns",
        String(options.conns),
        "--size",
        String(size),
        "--duration",
        String(options.seconds),
        "--warmup",
        String(options.warmup),
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const { stdout } = await collect(client, "echo_client.mjs");
    const line = lastJsonLine(stdout, "echo_client.mjs") as {
      connected: number;
      requests: number;
      requests_per_s: number;
      mb_per_s: number;
      latency_ms: { p50: number | null; p99: number | null };
      client_cpu_util: number;
      errors: number;
      mismatches: number;
    };
    if (line.connected !== options.conns || line.errors !== 0 || line.mismatches !== 0) {
      throw new Error(
        `${server.name}: ${line.connected} connected, ${line.errors} errors, ${line.mismatches} mismatched replies`,
      );
    }
    if (line.requests === 0) throw new Error(`${server.name}: no request completed`);
    started.child.kill("SIGTERM");
    const { stdout: serverOut } = await started.done;
    const result = Object.values(
      lastJsonLine(serverOut, `${server.name} server`).results as Record<
        string,
        { bytes_echoed: number; server_cpu_seconds: number; server_seconds: number }
      >,
    )[0]!;
    const serverRequests = result.bytes_echoed / size;
    return {
      requests_per_s: line.requests_per_s,
      mb_per_s: line.mb_per_s,
      p50_ms: line.latency_ms.p50,
      p99_ms: line.latency_ms.p99,
      client_cpu_util: line.client_cpu_util,
      server_cpu_seconds: result.server_cpu_seconds,
      server_seconds: result.server_seconds,
      server_requests: Math.round(serverRequests),
      server_cpu_us_per_request:
        Math.round((result.server_cpu_seconds / serverRequests) * 1e6 * 100) / 100,
    };
  } finally {
    if (started.child.exitCode === null && started.child.signalCode === null) {
      started.child.kill("SIGKILL");
    }
    await started.done.catch(() => undefined);
  }
}

function medianOf(runs: readonly EchoRun[], field: keyof EchoRun): number | null {
  const values = runs.map((run) => run[field]).filter((value): value is number => value !== null);
  return values.length === 0 ? null : median(values);
}

function round3(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  return a == null || b == null || b === 0 ? null : round3(a / b);
}

/** Run every server at every selected size; rows in size, then server order. */
export async function runEcho(options: EchoOptions): Promise<EchoReport> {
  const skipped: string[] = [];
  const all = servers(options.benchRef);
  const loadBefore = round3(loadavg()[0]!);
  const client = join(options.benchRef, "echo_client.mjs");
  if (!existsSync(client)) {
    return {
      conns: options.conns,
      seconds: options.seconds,
      warmup: options.warmup,
      node_mode: NODE_MODE,
      rows: [],
      skipped: [`echo: no load generator at ${client} (set TSYNCIO_BENCH_REF)`],
      missed: [],
      load: { before: loadBefore, after: loadBefore, cpus: cpus().length },
    };
  }
  const running = all.filter((server) => {
    if (server.needs === "cpython" || server.needs === "uvloop") {
      const reason = options.skipped[server.needs];
      if (reason !== null) {
        skipped.push(`echo ${server.name}: ${reason}`);
        return false;
      }
    }
    return true;
  });
  const rows: EchoRow[] = [];
  const failed = new Set<EchoServerName>();
  for (const size of ECHO_SIZES) {
    if (!options.sizes.includes(echoLabel(size))) continue;
    const repeat = typeof options.repeat === "number" ? options.repeat : options.repeat(size.bytes);
    const runs = new Map<EchoServerName, EchoRun[]>(running.map((server) => [server.name, []]));
    // Interleaved (every server once, then again), so that a burst of load from elsewhere
    // on the machine hits every server alike.
    for (let r = 0; r < repeat; r++) {
      for (const server of running) {
        if (failed.has(server.name)) continue;
        try {
          const run = await runOnce(server, size.bytes, options);
          runs.get(server.name)!.push(run);
          console.error(
            `${echoLabel(size)} ${server.name}: ${formatRps(run.requests_per_s)} req/s, ` +
              `${run.server_cpu_us_per_request.toFixed(1)} µs server CPU/req, ` +
              `client CPU ${run.client_cpu_util.toFixed(2)}`,
          );
        } catch (error) {
          failed.add(server.name);
          skipped.push(`echo ${server.name} failed: ${String(error)}`);
          console.error(`${echoLabel(size)} ${server.name} failed: ${String(error)}`);
        }
      }
    }
    const sizeRows: EchoRow[] = [];
    for (const server of running) {
      const measured = runs.get(server.name)!;
      if (measured.length === 0) continue;
      sizeRows.push({
        size: size.label,
        bytes: size.bytes,
        server: server.name,
        requests_per_s: medianOf(measured, "requests_per_s")!,
        mb_per_s: medianOf(measured, "mb_per_s")!,
        p50_ms: medianOf(measured, "p50_ms"),
        p99_ms: medianOf(measured, "p99_ms"),
        client_cpu_util: medianOf(measured, "client_cpu_util")!,
        server_cpu_us_per_request: medianOf(measured, "server_cpu_us_per_request")!,
        runs: measured,
        rps_vs_node: null,
        rps_vs_uvloop: null,
        cpu_vs_node: null,
        cpu_vs_uvloop: null,
      });
    }
    const find = (name: EchoServerName): EchoRow | undefined =>
      sizeRows.find((row) => row.server === name);
    const node = find("Node net");
    for (const style of ["streams", "protocol"] as const) {
      const ours = find(`tsyncio ${style}`);
      if (ours === undefined) continue;
      const uvloop = find(`uvloop ${style}`);
      ours.rps_vs_node = ratio(ours.requests_per_s, node?.requests_per_s);
      ours.rps_vs_uvloop = ratio(ours.requests_per_s, uvloop?.requests_per_s);
      ours.cpu_vs_node = ratio(node?.server_cpu_us_per_request, ours.server_cpu_us_per_request);
      ours.cpu_vs_uvloop = ratio(uvloop?.server_cpu_us_per_request, ours.server_cpu_us_per_request);
    }
    rows.push(...sizeRows);
  }
  return {
    conns: options.conns,
    seconds: options.seconds,
    warmup: options.warmup,
    node_mode: NODE_MODE,
    rows,
    skipped,
    missed: echoMissed(rows),
    load: { before: loadBefore, after: round3(loadavg()[0]!), cpus: cpus().length },
  };
}

/**
 * The issue's targets: tsyncio protocol within 10% of raw Node (req/s at least 0.9x, and
 * server CPU per request at most 1.1x), tsyncio streams ahead of uvloop streams (more
 * req/s and less server CPU per request), at every size.
 */
function echoMissed(rows: readonly EchoRow[]): string[] {
  const missed: string[] = [];
  for (const row of rows) {
    const label = `echo/${row.size} ${row.server}`;
    if (row.server === "tsyncio protocol") {
      if (row.rps_vs_node !== null && row.rps_vs_node < 1 - WITHIN) {
        missed.push(`${label}: ${formatRatio(row.rps_vs_node)} Node's req/s (target >= 0.90x)`);
      }
      if (row.cpu_vs_node !== null && 1 / row.cpu_vs_node > 1 + WITHIN) {
        missed.push(
          `${label}: ${formatRatio(1 / row.cpu_vs_node)} Node's server CPU/req (target <= 1.10x)`,
        );
      }
    } else if (row.server === "tsyncio streams") {
      if (row.rps_vs_uvloop !== null && row.rps_vs_uvloop <= 1) {
        missed.push(
          `${label}: ${formatRatio(row.rps_vs_uvloop)} uvloop streams' req/s (target > 1x)`,
        );
      }
      if (row.cpu_vs_uvloop !== null && 1 / row.cpu_vs_uvloop >= 1) {
        missed.push(
          `${label}: ${formatRatio(1 / row.cpu_vs_uvloop)} uvloop streams' server CPU/req (target < 1x)`,
        );
      }
    }
  }
  return missed;
}

function formatRps(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(2)}M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(1)}k`;
  return value.toFixed(0);
}

function formatRatio(value: number | null): string {
  return value === null ? "-" : `${value.toFixed(2)}x`;
}

function formatMs(value: number | null): string {
  return value === null ? "-" : value.toFixed(3);
}

/** The echo table: one line per server and size. */
export function printEchoTable(report: EchoReport): void {
  const header = [
    `echo (C=${report.conns}, ${report.seconds} s)`,
    "req/s",
    "MB/s",
    "p50 ms",
    "p99 ms",
    "srv µs/req",
    "client CPU",
    "req/s t/Node",
    "req/s t/uvloop",
    "CPU t/Node",
    "CPU t/uvloop",
  ];
  const body = report.rows.map((row) => [
    `echo/${row.size} ${row.server}${row.runs.length > 1 ? ` (${row.runs.length} runs)` : ""}`,
    formatRps(row.requests_per_s),
    row.mb_per_s.toFixed(1),
    formatMs(row.p50_ms),
    formatMs(row.p99_ms),
    row.server_cpu_us_per_request.toFixed(1),
    row.client_cpu_util.toFixed(2),
    formatRatio(row.rps_vs_node),
    formatRatio(row.rps_vs_uvloop),
    formatRatio(row.cpu_vs_node),
    formatRatio(row.cpu_vs_uvloop),
  ]);
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
  const { before, after, cpus: count } = report.load;
  console.log(
    `Node net runs node_echo_server.mjs --mode ${report.node_mode}; ${report.warmup} s warm-up per run; ` +
      `load average ${before.toFixed(2)} before, ${after.toFixed(2)} after, on ${count} CPUs`,
  );
}

/** The default number of runs for a size: 1, and `repeat` where results swing. */
export function echoRepeat(repeat: number): (bytes: number) => number {
  return (bytes) => (bytes >= SWINGING_SIZE ? repeat : 1);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seconds: { type: "string", default: "2" },
      warmup: { type: "string", default: "0.5" },
      conns: { type: "string", default: "10" },
      repeat: { type: "string" },
      size: { type: "string", multiple: true },
    },
  });
  const root = fileURLToPath(new URL("../../", import.meta.url));
  const report = await runEcho({
    benchRef: process.env.TSYNCIO_BENCH_REF ?? join(root, "..", "shared", "bench-ref"),
    conns: Number(values.conns),
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
    repeat: values.repeat === undefined ? echoRepeat(3) : Number(values.repeat),
    skipped: { cpython: null, uvloop: null },
    sizes: (values.size ?? ECHO_SIZES.map((size) => size.label)).map((label) => `echo/${label}`),
  });
  printEchoTable(report);
  for (const note of report.skipped) console.log(note);
  console.log(
    report.missed.length === 0
      ? "echo targets met"
      : `echo targets missed:\n  ${report.missed.join("\n  ")}`,
  );
}

const script = process.argv[1];
if (script !== undefined && pathToFileURL(script).href === import.meta.url) await main();
