// The benchmarks page generator: bench/results/latest.json in, docs/benchmarks.md and SVG
// charts out. Checked on a small fixture, since CI never runs the benchmarks.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  ECHO_CHART,
  RATIO_CHART,
  barChart,
  renderReport,
  writeReport,
  type BenchResults,
} from "../../bench/report.ts";
import type { EchoRow } from "../../bench/echo.ts";

function row(workload: string, variant: string, ops: number, cpython: number | null) {
  return {
    workload,
    variant,
    unit: "tasks/s",
    n: 1000,
    tsyncio: { ops_per_s: ops },
    cpython: cpython === null ? null : { ops_per_s: cpython },
    uvloop: null,
    ratio_cpython: cpython === null ? null : ops / cpython,
    ratio_uvloop: null,
  };
}

function echoRow(size: string, server: EchoRow["server"], rps: number): EchoRow {
  return {
    size,
    bytes: 1024,
    server,
    requests_per_s: rps,
    mb_per_s: rps / 1000,
    p50_ms: 0.5,
    p99_ms: null,
    client_cpu_util: 0.9,
    server_cpu_us_per_request: 20,
    runs: [],
    rps_vs_node: null,
    rps_vs_uvloop: null,
    cpu_vs_node: null,
    cpu_vs_uvloop: null,
  };
}

function fixture(): BenchResults {
  return {
    date: "2026-01-02T03:04:05.000Z",
    node: "v20.0.0",
    cpus: 2,
    cpu_model: "Test CPU",
    repeat: 3,
    references: {
      cpython: { python: "3.13.0", uvloop: null },
      uvloop: { skipped: "uvloop is not installed" },
    },
    rows: [
      row("tasks", "create_await", 1_200_000, 100_000),
      row("call_soon", "chain1", 3_000_000, 1_000_000),
      row("promise_all", "promise_all", 5_000_000, null),
    ],
    memory_rows: [],
    peers: [
      {
        tsyncio_row: "lock/lock_contended",
        peer_row: "async_mutex/lock_contended",
        peer: "async-mutex",
        tsyncio_ops_per_s: 2000,
        peer_ops_per_s: 1000,
        ratio: 2,
      },
    ],
    task_over_promise_all: 1.5,
    echo: {
      conns: 10,
      seconds: 1.5,
      warmup: 0.5,
      node_mode: "data",
      rows: [
        echoRow("1KiB", "Node net", 20_000),
        echoRow("1KiB", "tsyncio protocol", 19_000),
        echoRow("10KiB", "Node net", 10_000),
        echoRow("10KiB", "tsyncio protocol", 9_000),
      ],
      skipped: [],
      missed: [],
      load: { before: 1, after: 1, cpus: 2 },
    },
    targets: { vs_cpython: 10, task_over_promise_all: 2, missed: ["call_soon/chain1: 3.00x"] },
  };
}

/** Tags balance and nest, attributes are quoted, text has no raw `<` or `&`: XML-ish. */
function assertWellFormed(svg: string): void {
  const stack: string[] = [];
  const tag =
    /<(\/?)([a-zA-Z][\w:-]*)((?:\s+[\w:-]+="[^"<]*")*)\s*(\/?)>|<|&(?!(amp|lt|gt|quot);)/g;
  for (let match = tag.exec(svg); match !== null; match = tag.exec(svg)) {
    const [text, closing, name, , selfClosing] = match;
    assert.ok(name !== undefined, `stray ${JSON.stringify(text)} at ${match.index}`);
    if (closing === "/") assert.equal(stack.pop(), name, `</${name}> at ${match.index}`);
    else if (selfClosing !== "/") stack.push(name);
  }
  assert.deepEqual(stack, []);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
}

describe("renderReport", () => {
  it("puts every row, peer and echo row in the page, with its numbers", () => {
    const { markdown } = renderReport(fixture());
    for (const name of ["tasks/create_await", "call_soon/chain1", "promise_all/promise_all"]) {
      assert.match(markdown, new RegExp(`\\| \`${name}\` \\|`));
    }
    assert.match(
      markdown,
      /\| `tasks\/create_await` \| tasks\/s \| 1000 \| 1,200,000 \| 100,000 \| – \| 12\.00x \| – \|/,
    );
    assert.match(markdown, /\| `lock\/lock_contended` \| async-mutex \| .* \| 2\.00x \|/);
    assert.match(markdown, /\| 10KiB \| tsyncio protocol \| 9,000 \|.*\| 0\.90x \|/);
    assert.match(markdown, /2026-01-02T03:04:05\.000Z/);
    assert.match(markdown, /2 × Test CPU/);
    assert.match(markdown, /uvloop column \| skipped \(uvloop is not installed\)/);
    assert.match(markdown, /- call_soon\/chain1: 3\.00x/);
    assert.match(markdown, new RegExp(`!\\[[^\\]]*\\]\\(assets/${RATIO_CHART}\\)`));
    assert.match(markdown, new RegExp(`!\\[[^\\]]*\\]\\(assets/${ECHO_CHART}\\)`));
  });

  it("draws one bar per row with a CPython ratio, and the 1x and target lines", () => {
    const svg = renderReport(fixture()).charts.get(RATIO_CHART) ?? "";
    assertWellFormed(svg);
    assert.equal(svg.match(/<rect class="bar"/g)?.length, 2);
    assert.match(svg, /tasks\/create_await: 12\.00x/);
    assert.match(svg, /call_soon\/chain1: 3\.00x/);
    assert.equal(svg.match(/<line class="mark"/g)?.length, 2);
    assert.match(svg, />target 10x</);
  });

  it("draws one bar per echo row, relative to raw Node at the same size", () => {
    const svg = renderReport(fixture()).charts.get(ECHO_CHART) ?? "";
    assertWellFormed(svg);
    assert.equal(svg.match(/<rect class="bar"/g)?.length, 4);
    assert.match(svg, /1KiB tsyncio protocol: 0\.95x/);
  });

  it("leaves out the sections and charts a partial run has no data for", () => {
    const partial = { ...fixture(), peers: [], echo: null, task_over_promise_all: null };
    const report = renderReport(partial);
    assert.deepEqual([...report.charts.keys()], [RATIO_CHART]);
    assert.doesNotMatch(report.markdown, /## TCP echo|## Against other/);
  });

  it("escapes text for XML", () => {
    const svg = barChart({
      title: "a < b & c",
      bars: [{ label: '"x" <y>', value: 2 }],
      marks: [{ value: 1, label: "one" }],
      log: false,
    });
    assertWellFormed(svg);
    assert.match(svg, /a &lt; b &amp; c/);
    assert.match(svg, /&quot;x&quot; &lt;y&gt;/);
  });
});

describe("writeReport", () => {
  it("writes the page and the charts from a results file", () => {
    const dir = mkdtempSync(join(tmpdir(), "tsyncio-bench-report-"));
    try {
      const results = join(dir, "latest.json");
      writeFileSync(results, JSON.stringify(fixture()));
      const written = writeReport(results, join(dir, "docs"));
      assert.deepEqual(written, [
        join(dir, "docs", "benchmarks.md"),
        join(dir, "docs", "assets", RATIO_CHART),
        join(dir, "docs", "assets", ECHO_CHART),
      ]);
      assert.match(readFileSync(join(dir, "docs", "benchmarks.md"), "utf8"), /^# Benchmarks\n/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
