// Every example runs, so none can rot. Examples use real time, so each is kept short: the
// ones that take flags run in their self-driving demo mode, at a small size.
import assert from "node:assert/strict";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";

const examplesDir = fileURLToPath(new URL("../examples/", import.meta.url));

/**
 * How each example runs in the smoke test, and its exit code if not 0; the others run with
 * no arguments.
 */
const invocations: Record<string, { args: string[]; input?: string; status?: number }> = {
  "tcp-server.js": { args: ["--demo", "--clients", "500"] },
  "chat-server.js": { args: ["--demo"] },
  "chat-client.js": {
    args: ["--demo", "--name", "ada"],
    input: "hello\n/join games\nhi there\n/who\n/nope\n",
  },
  "live-feed.js": { args: ["--subscribers", "20", "--ticks", "100000"] },
  "pipeline.js": { args: ["--rows", "100000"] },
  // Some of its jobs fail, so it exits with 1.
  "automation.js": { args: ["--concurrency", "15"], status: 1 },
};

const results = new Map<string, SpawnSyncReturns<string> & { seconds: number }>();

/** Run an example once (later calls reuse its result), and check that it succeeded. */
function runExample(file: string): string {
  let result = results.get(file);
  if (result === undefined) {
    const { args = [], input } = invocations[file] ?? {};
    const started = performance.now();
    result = {
      ...spawnSync(process.execPath, [examplesDir + file, ...args], {
        encoding: "utf8",
        timeout: 20_000,
        ...(input === undefined ? {} : { input }),
      }),
      seconds: (performance.now() - started) / 1000,
    };
    results.set(file, result);
  }
  assert.equal(result.error, undefined);
  assert.equal(result.status, invocations[file]?.status ?? 0, `stderr:\n${result.stderr}`);
  assert.equal(result.stderr, "", "an example reports no errors");
  return result.stdout;
}

describe("examples", () => {
  // Only the programs: examples/lib/ holds their shared helpers.
  const files = readdirSync(examplesDir).filter((name) => name.endsWith(".js"));

  it("there is the main demo, the showcase and an example per use case", () => {
    for (const name of [
      "demo.js",
      "showcase.js",
      "tcp-server.js",
      "chat-server.js",
      "chat-client.js",
      "live-feed.js",
      "crawler.js",
      "pipeline.js",
      "automation.js",
    ]) {
      assert.ok(files.includes(name), `${name} is missing; examples found: ${files.join(", ")}`);
    }
  });

  for (const file of files) {
    it(`${file} runs to completion with exit code ${invocations[file]?.status ?? 0} (real I/O)`, () => {
      assert.notEqual(runExample(file).trim(), "", "an example prints what it does");
    });
  }

  it("examples/readme-example.ts is the README's first example, word for word", () => {
    const root = new URL("../../", import.meta.url);
    const readme = readFileSync(new URL("README.md", root), "utf8");
    const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? "";
    const example = readFileSync(new URL("examples/readme-example.ts", root), "utf8");
    assert.equal(example.replace(/^\/\/.*\n/, "").replace('"../src/index.ts"', '"tsyncio"'), block);
  });

  it("the demo shows cancellation, the task group timeout and context isolation (real I/O)", () => {
    const stdout = runExample("demo.js");
    assert.match(stdout, /slow: cleaning up/);
    assert.match(stdout, /slow task ended: CancelledError \(no longer needed\)/);
    assert.match(stdout, /task group timed out after 0\.1s/);
    assert.doesNotMatch(stdout, /tg-slow: done/);
    assert.match(stdout, /task group failed: PageError: page 3 is broken/);
    assert.match(stdout, /context var in main is still -/);
  });

  it("the TCP server holds every client at once and drops the silent one (real I/O)", () => {
    assert.match(
      runExample("tcp-server.js"),
      /^500 clients were connected at once \(peak 500 open connections\); 1500 round trips; 1 silent client dropped by its idle timeout; /m,
    );
  });

  it("the chat demo delivers every message and drops the slow user (real I/O)", () => {
    const stdout = runExample("chat-server.js");
    assert.match(stdout, /^30 users in 3 rooms sent 600 messages; .* the users read 6000$/m);
    assert.match(
      stdout,
      /^dropped for being too slow: slowpoke \(after \d+\.\d MB it did not read\)/m,
    );
  });

  it("the chat client sends its input and prints the server's lines in order (real I/O)", () => {
    assert.equal(
      runExample("chat-client.js"),
      [
        "welcome, ada! /join <room>, /who, /rooms, /quit",
        "* ada joined #lobby",
        "[#lobby] ada: hello",
        "* ada joined #games",
        "[#games] ada: hi there",
        "* in #games: ada",
        "error: unknown command /nope",
        "bye",
        "",
      ].join("\n"),
    );
  });

  it("the live feed loses nothing for fast subscribers and the oldest for a stalled one (real I/O)", () => {
    const stdout = runExample("live-feed.js");
    assert.match(stdout, /^the 19 subscribers that kept up missed 0 ticks$/m);
    const match =
      /^the stalled subscriber got (\d+) ticks and missed (\d+): .*dropped (\d+) old/m.exec(stdout);
    assert.ok(match !== null, stdout);
    const [, received, missed, dropped] = match.map(Number);
    assert.equal(received! + missed!, 100000);
    assert.equal(missed, dropped);
    assert.ok(missed! > 0, "the stalled subscriber fell behind");
  });

  it("the crawler fetches, retries and gives up exactly as the site dictates (real I/O)", () => {
    assert.match(
      runExample("crawler.js"),
      /^crawled: 196 pages fetched, 19 not found, 4 given up; 29 retried after 23 timeouts and 14 server errors; /m,
    );
  });

  it("the crawler cancelled by its deadline reports what it did so far (real I/O)", () => {
    const result = spawnSync(
      process.execPath,
      [`${examplesDir}crawler.js`, "--max-seconds", "0.2"],
      { encoding: "utf8", timeout: 20_000 },
    );
    assert.equal(result.status, 0, `stderr:\n${result.stderr}`);
    assert.equal(result.stderr, "");
    assert.match(result.stdout, /^stopped after 0\.2s: \d+ pages fetched, /m);
    assert.match(result.stdout, / 0 given up;/); // the slow pages had no time to run out of retries
  });

  it("the pipeline processes every row and skips the malformed ones (real I/O)", () => {
    const stdout = runExample("pipeline.js");
    assert.match(
      stdout,
      /^100000 rows \(4\.1 MB\) in [\d.]+s: 99900 written, 100 malformed skipped, /m,
    );
    assert.match(stdout, /^ {2}sensor-00: 8334 readings, /m);
  });

  it("the automation script streams every job's output and stops the slow ones (real I/O)", () => {
    const stdout = runExample("automation.js");
    const summary = stdout.slice(stdout.indexOf("\nfinished in "));
    assert.match(summary, /^\nfinished in [\d.]+s\njob {12}status {18}seconds\n/);
    const rows = summary
      .split("\n")
      .slice(3, -2)
      .map((row) => row.replace(/ +\d+\.\d\d$/, "").trimEnd());
    assert.deepEqual(rows, [
      "lint           ok",
      "typecheck      ok",
      "unit-1         ok",
      "unit-2         failed (exit 1)",
      "unit-3         ok",
      "build-web      ok",
      "migrate-db     timed out (terminated)",
      "unit-4         ok",
      "e2e-login      ok",
      "oom-victim     killed by SIGKILL",
      "unit-5         ok",
      "docs           ok",
      "build-api      ok",
      "flaky-test     failed (exit 3)",
      "package        ok",
      "sync-assets    timed out (killed)",
      "i18n           ok",
      "unit-6         ok",
      "unit-7         ok",
      "e2e-cart       ok",
      "e2e-checkout   ok",
      "audit          ok",
      "license-check  ok",
      "coverage       failed (exit 1)",
      "images         ok",
      "sitemap        ok",
      "changelog      ok",
      "bench-smoke    ok",
      "smoke-test     ok",
      "notify         ok",
    ]);
    assert.match(summary, /\n30 jobs: 24 ok, 3 failed, 2 timed out, 1 killed by a signal\n$/);
    // The output of each job, in its order, prefixed with its name: | stdout, ! stderr,
    // * what the runner did.
    const linesOf = (job: string): string[] =>
      stdout
        .slice(0, stdout.indexOf("\nfinished in "))
        .split("\n")
        .filter((line) => line.startsWith(`${job.padEnd(13)} `))
        .map((line) => line.slice(14).replace(/pid \d+$/, "pid N"));
    assert.deepEqual(linesOf("unit-2"), [
      "* started, pid N",
      "| step 1/3",
      "| step 2/3",
      "| step 3/3",
      "! FAIL: expected 3, got 4",
      "* failed (exit 1)",
    ]);
    assert.deepEqual(
      linesOf("migrate-db").filter((line) => line !== "! Terminated"), // sh may say so
      [
        "* started, pid N",
        "| waiting for the database lock",
        "* timed out after 1.5s: SIGTERM",
        "| got SIGTERM: rolling back",
        "* timed out (terminated)",
      ],
    );
    assert.deepEqual(linesOf("sync-assets"), [
      "* started, pid N",
      "| uploading (SIGTERM is ignored)",
      "* timed out after 1.5s: SIGTERM",
      "* still running 0.3s after SIGTERM: SIGKILL",
      "* timed out (killed)",
    ]);
    assert.deepEqual(linesOf("oom-victim"), [
      "* started, pid N",
      "| allocating 8 GB",
      "* killed by SIGKILL",
    ]);
  });

  // A bound: a job left running (a shell's `sleep 30`) would keep the runner waiting.
  it(
    "the automation script on Ctrl-C stops and reaps every job, then reports (real I/O)",
    {
      timeout: 10_000,
    },
    async () => {
      const dir = mkdtempSync(join(tmpdir(), "tsyncio-automation-"));
      const jobsFile = join(dir, "jobs.txt");
      writeFileSync(
        jobsFile,
        [
          "# run without a shell, split into arguments",
          "sleep 30",
          `sh -c "trap '' TERM; echo ignoring SIGTERM; sleep 30"`,
          `sh -c 'echo "in sh"; sleep 30; echo never'`,
          "",
          "echo not started",
        ].join("\n"),
      );
      const child = spawn(
        process.execPath,
        [`${examplesDir}automation.js`, "--jobs", jobsFile, "--concurrency", "3"],
        { stdio: ["ignore", "pipe", "pipe"] },
      );
      let stdout = "";
      let stderr = "";
      child.stderr.on("data", (data: Buffer) => (stderr += data.toString()));
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      // Once all three run (and the trap is set), Ctrl-C.
      await new Promise<void>((resolve) => {
        child.stdout.on("data", (data: Buffer) => {
          stdout += data.toString();
          if (/ignoring SIGTERM/.test(stdout) && /in sh/.test(stdout)) resolve();
        });
      });
      child.kill("SIGINT");
      const status = await exited;
      rmSync(dir, { recursive: true });
      assert.equal(stderr, "");
      assert.equal(status, 130, stdout);
      const summary = stdout.slice(stdout.indexOf("\ninterrupted after "));
      assert.match(summary, /^\ninterrupted after [\d.]+s\njob {6}status {20}seconds\n/);
      assert.deepEqual(
        summary
          .split("\n")
          .slice(3)
          .map((row) => row.replace(/ +\d+\.\d\d$/, " S")),
        [
          "sleep-1  interrupted (terminated) S",
          "sh-2     interrupted (killed) S",
          "sh-3     interrupted (terminated) S",
          "echo-4   not started                     -",
          "4 jobs: 3 interrupted, 1 not started",
          "",
        ],
      );
      assert.match(stdout, /^sh-2 {4}\* still running 0\.3s after SIGTERM: SIGKILL$/m);
      // Every job was reaped, and everything it started (its process group) is gone: dead, if
      // maybe not yet reaped by init (ps's state Z), since the jobs' children are not ours.
      const pids = [...stdout.matchAll(/started, pid (\d+)$/gm)].map((match) => Number(match[1]));
      assert.equal(pids.length, 3);
      for (const pid of pids) assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
      const ps = spawnSync("ps", ["-A", "-o", "pid=,pgid=,stat=,args="], { encoding: "utf8" });
      const survivors = ps.stdout.split("\n").filter((line) => {
        const [, pgid, state] = line.trim().split(/\s+/);
        return pids.includes(Number(pgid)) && state?.startsWith("Z") === false;
      });
      assert.deepEqual(survivors, []);
    },
  );

  it("the showcase drives the examples end to end, well under 20 s (real I/O)", () => {
    const stdout = runExample("showcase.js");
    const seconds = results.get("showcase.js")!.seconds;
    assert.ok(seconds < 15, `the showcase took ${seconds}s`);
    assert.match(stdout, /^ {3}2000 clients connected at once \(peak 2000 open on the server\)$/m);
    assert.match(stdout, /^ {3}every user read all 6000 lines said in their room$/m);
    assert.match(stdout, /^ {3}99 subscribers kept up and missed 0 ticks$/m);
    assert.match(stdout, /^ {3}196 pages fetched, 19 not found, 4 given up; 29 retried /m);
    assert.match(stdout, /^ {3}400000 rows \(16\.3 MB\) in [\d.]+s: 399600 written, /m);
    assert.match(stdout, /^ {3}12 jobs: 9 ok, 1 failed, 1 timed out, 1 killed by a signal; /m);
    assert.match(stdout, /^ {3}migrate-db: timed out \(terminated\)$/m);
    assert.match(stdout, /^all done in [\d.]+s, on one thread\.$/m);
  });
});
