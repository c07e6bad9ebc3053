// A data-processing pipeline: read a large CSV file, parse, transform and write it in
// stages that run concurrently, connected by bounded queues. A full queue makes the stage
// before it wait (backpressure), so however large the file, only a few batches are in
// memory at once. File I/O is Node's fs/promises, brought in with wrapPromise().
//
//   npm run example -- pipeline                     generate 400000 rows in a temporary
//                                                   file, then process them
//   npm run example -- pipeline --rows 2000000
//   npm run example -- pipeline --input data.csv --output out.csv
import { open, rm, mkdtemp, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Queue, run, taskGroup, wrapPromise, type Coro } from "../src/index.ts";
import { isMain, parseFlags, secondsSince } from "./lib/cli.ts";
import { ProgressBar } from "./lib/progress.ts";

/** One reading: `timestamp,sensor,celsius` in the input file. */
interface Reading {
  timestamp: string;
  sensor: string;
  celsius: number;
}

/** Per sensor: how many readings, their range and their sum (for the mean). */
export interface SensorStats {
  count: number;
  min: number;
  max: number;
  sum: number;
}

export interface PipelineReport {
  bytes: number;
  rows: number;
  malformed: number;
  written: number;
  anomalies: number;
  sensors: Map<string, SensorStats>;
  seconds: string;
}

/** Write a CSV of `rows` sensor readings to `path`, one line in 1000 malformed. */
export function* generateInput(path: string, rows: number): Coro<void> {
  const file = yield* wrapPromise(open(path, "w"));
  try {
    let seed = 7;
    const random = (): number => (seed = (seed * 16807) % 2147483647) / 2147483647;
    const start = Date.UTC(2024, 0, 1);
    for (let row = 0; row < rows; row += 10_000) {
      const lines: string[] = [];
      for (let n = row; n < Math.min(rows, row + 10_000); n++) {
        const time = new Date(start + n * 1000).toISOString();
        const sensor = `sensor-${String(n % 12).padStart(2, "0")}`;
        const celsius = (15 + 10 * Math.sin(n / 5000) + 4 * random()).toFixed(2);
        lines.push(n % 1000 === 999 ? `${time},${sensor},n/a` : `${time},${sensor},${celsius}`);
      }
      yield* wrapPromise(file.write(lines.join("\n") + "\n"));
    }
  } finally {
    yield* wrapPromise(file.close());
  }
}

/**
 * Run the pipeline from `input` to `output`: read -> parse -> transform -> write, four
 * tasks in a TaskGroup (an error in one cancels the others), each queue holding at most
 * `queueSize` batches. `progress` counts bytes read.
 */
export function* processFile(
  input: string,
  output: string,
  queueSize: number,
  progress?: ProgressBar,
): Coro<PipelineReport> {
  const began = performance.now();
  const report: PipelineReport = {
    bytes: (yield* wrapPromise(stat(input))).size,
    rows: 0,
    malformed: 0,
    written: 0,
    anomalies: 0,
    sensors: new Map(),
    seconds: "",
  };
  if (progress !== undefined) progress.total = report.bytes;
  const lines = new Queue<string[]>(queueSize);
  const readings = new Queue<Reading[]>(queueSize);
  const chunks = new Queue<string>(queueSize);

  // Stage 1: the file, 256 KiB at a time, cut into batches of whole lines.
  function* read(): Coro<void> {
    const file = yield* wrapPromise(open(input, "r"));
    try {
      const buffer = Buffer.alloc(256 * 1024);
      let carry = "";
      for (;;) {
        const { bytesRead } = yield* wrapPromise(file.read(buffer, 0, buffer.length));
        if (bytesRead === 0) break;
        progress?.advance(bytesRead);
        const text = carry + buffer.toString("latin1", 0, bytesRead);
        const end = text.lastIndexOf("\n");
        carry = text.slice(end + 1);
        yield* lines.put(text.slice(0, end).split("\n")); // waits while the queue is full
      }
      if (carry !== "") yield* lines.put([carry]);
    } finally {
      yield* wrapPromise(file.close());
    }
    lines.shutdown(); // parse() takes what is left, then its consume() returns
  }

  // Stage 2: text to readings; malformed lines are counted and skipped.
  function* parse(): Coro<void> {
    yield* lines.consume(function* (batch) {
      const parsed: Reading[] = [];
      for (const line of batch) {
        const [timestamp = "", sensor = "", value = ""] = line.split(",");
        const celsius = Number(value);
        if (sensor === "" || value === "" || Number.isNaN(celsius)) report.malformed++;
        else parsed.push({ timestamp, sensor, celsius });
      }
      report.rows += batch.length;
      yield* readings.put(parsed);
    });
    readings.shutdown();
  }

  // Stage 3: statistics per sensor, Fahrenheit, and a flag for unusual readings.
  function* transform(): Coro<void> {
    yield* readings.consume(function* (batch) {
      const out: string[] = [];
      for (const { timestamp, sensor, celsius } of batch) {
        let stats = report.sensors.get(sensor);
        if (stats === undefined) {
          stats = { count: 0, min: Infinity, max: -Infinity, sum: 0 };
          report.sensors.set(sensor, stats);
        }
        stats.count++;
        stats.sum += celsius;
        stats.min = Math.min(stats.min, celsius);
        stats.max = Math.max(stats.max, celsius);
        const anomaly = celsius > 28 || celsius < 6;
        if (anomaly) report.anomalies++;
        const fahrenheit = (celsius * 9) / 5 + 32;
        out.push(`${timestamp},${sensor},${celsius},${fahrenheit.toFixed(2)},${anomaly ? 1 : 0}\n`);
      }
      report.written += out.length;
      yield* chunks.put(out.join(""));
    });
    chunks.shutdown();
  }

  // Stage 4: the output file.
  function* write(): Coro<void> {
    const file = yield* wrapPromise(open(output, "w"));
    try {
      yield* wrapPromise(file.write("timestamp,sensor,celsius,fahrenheit,anomaly\n"));
      yield* chunks.consume(function* (chunk) {
        yield* wrapPromise(file.write(chunk));
      });
    } finally {
      yield* wrapPromise(file.close());
    }
  }

  yield* taskGroup(function* (tg) {
    tg.createTask(read(), { name: "read" });
    tg.createTask(parse(), { name: "parse" });
    tg.createTask(transform(), { name: "transform" });
    tg.createTask(write(), { name: "write" });
  });
  report.seconds = secondsSince(began);
  return report;
}

/** Generate `rows` rows in a temporary directory, process them, and clean up. */
export function* pipelineDemo(rows: number, progress?: ProgressBar): Coro<PipelineReport> {
  const dir = yield* wrapPromise(mkdtemp(join(tmpdir(), "tsyncio-pipeline-")));
  try {
    const input = join(dir, "readings.csv");
    yield* generateInput(input, rows);
    return yield* processFile(input, join(dir, "out.csv"), 4, progress);
  } finally {
    yield* wrapPromise(rm(dir, { recursive: true, force: true }));
  }
}

export function describePipeline(report: PipelineReport): string[] {
  const mb = (report.bytes / 1e6).toFixed(1);
  const lines = [
    `${report.rows} rows (${mb} MB) in ${report.seconds}s: ${report.written} written, ` +
      `${report.malformed} malformed skipped, ${report.anomalies} anomalies flagged`,
  ];
  const sensors = [...report.sensors].sort(([a], [b]) => a.localeCompare(b)).slice(0, 3);
  for (const [sensor, stats] of sensors) {
    const mean = (stats.sum / stats.count).toFixed(2);
    lines.push(`  ${sensor}: ${stats.count} readings, ${stats.min}..${stats.max} °C, mean ${mean}`);
  }
  if (report.sensors.size > 3) lines.push(`  ... and ${report.sensors.size - 3} more sensors`);
  return lines;
}

/** Bytes as megabytes, for the progress bar. */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

const usage = `usage: pipeline [--rows 400000] [--input file.csv --output out.csv] [--queue 4]`;

export function* main(): Coro<void> {
  const flags = parseFlags({ rows: 400_000, input: "", output: "", queue: 4 }, usage);
  const progress = new ProgressBar("pipeline", 1, { format: megabytes });
  let report: PipelineReport;
  if (flags.input !== "") {
    const output = flags.output === "" ? `${flags.input}.out.csv` : flags.output;
    report = yield* processFile(flags.input, output, flags.queue, progress);
    progress.finish(`-> ${output}`);
  } else {
    report = yield* pipelineDemo(flags.rows, progress);
    progress.finish();
  }
  for (const line of describePipeline(report)) console.log(line);
}

if (isMain(import.meta.url)) await run(main());
