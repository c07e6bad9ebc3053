// A web crawler: fetch every page of a site, many at once but at most `--concurrency` at a
// time, each request under a timeout, retrying server errors and timeouts with backoff.
// Ctrl-C (or `--max-seconds`) cancels the crawl: every worker is cancelled where it waits,
// and every open connection is closed on the way out.
//
// It runs offline: it starts its own site, a tiny HTTP server on tsyncio streams, whose
// pages link to each other, some slow, some failing. The HTTP client is tsyncio streams too.
//
//   npm run example -- crawler                      crawl the 200-page local site
//   npm run example -- crawler --pages 1000 --concurrency 50 --timeout 0.5
//   npm run example -- crawler --max-seconds 0.5    stop early: the crawl is cancelled
import {
  CancelledError,
  Queue,
  TimeoutError,
  moveOnAfter,
  openConnection,
  run,
  sleep,
  startServer,
  taskGroup,
  timeout,
  type Coro,
  type Server,
  type StreamReader,
  type StreamWriter,
} from "../src/index.ts";
import { isMain, parseFlags, secondsSince } from "./lib/cli.ts";
import { ProgressBar } from "./lib/progress.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// ---- a tiny HTTP/1.1 client ----------------------------------------------------------------

export interface HttpResponse {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** A response with a status of 500 or more: worth retrying. */
export class ServerError extends Error {
  override name = "ServerError";
}

/**
 * GET `path` from `host`:`port` over a fresh connection (`Connection: close`). Reads the
 * status line, the headers, and a body of `Content-Length` bytes (or up to EOF). Cancelling
 * it (a timeout, Ctrl-C) closes the connection.
 */
export function* httpGet(host: string, port: number, path: string): Coro<HttpResponse> {
  const [reader, writer] = yield* openConnection(host, port);
  try {
    const request = `GET ${path} HTTP/1.1\r\nHost: ${host}:${port}\r\nConnection: close\r\n\r\n`;
    writer.write(encoder.encode(request));
    yield* writer.drain();
    const statusLine = decoder.decode(yield* reader.readline());
    const match = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine);
    if (match === null) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const headers = yield* readHeaders(reader);
    const length = headers.get("content-length");
    const body =
      length === undefined ? yield* reader.read() : yield* reader.readExactly(Number(length));
    return { status: Number(match[1]), headers, body: decoder.decode(body) };
  } finally {
    writer.close();
  }
}

/** Header lines up to the blank line, names lowercased. */
function* readHeaders(reader: StreamReader): Coro<Map<string, string>> {
  const headers = new Map<string, string>();
  for (;;) {
    const line = decoder.decode(yield* reader.readline()).trimEnd();
    if (line === "") return headers;
    const colon = line.indexOf(":");
    headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
}

// ---- the local site ------------------------------------------------------------------------

/** What page `n` does: most answer at once; some fail or stall, on the first try or always. */
export function pageKind(n: number): "ok" | "flaky" | "slow-once" | "slow" {
  if (n % 47 === 20) return "slow"; // never answers in time
  if (n % 17 === 8) return "slow-once"; // slow the first time only
  if (n % 13 === 5) return "flaky"; // 500 the first time only
  return "ok";
}

/**
 * Serve a site of `pages` pages: /page/0 ... /page/N-1, each linking to a few others
 * (every tenth also to a page that does not exist). Slow pages take `slowSeconds`.
 */
export function* startSite(pages: number, slowSeconds: number): Coro<Server> {
  const attempts = new Map<string, number>();
  return yield* startServer(
    function* (reader: StreamReader, writer: StreamWriter) {
      const [, path = "/"] = decoder.decode(yield* reader.readline()).split(" ");
      yield* readHeaders(reader);
      const attempt = (attempts.get(path) ?? 0) + 1;
      attempts.set(path, attempt);
      const match = /^\/page\/(\d+)$/.exec(path);
      const n = match === null ? -1 : Number(match[1]);
      const kind = n >= 0 && n < pages ? pageKind(n) : "missing";
      if (kind === "slow" || (kind === "slow-once" && attempt === 1)) {
        // Stall, but stop as soon as the client hangs up (read() returns at its EOF).
        const hungUp = yield* moveOnAfter(slowSeconds, () => reader.read());
        if (hungUp !== undefined) {
          writer.close();
          return;
        }
      }
      let status = 200;
      let body: string;
      if (kind === "missing") {
        status = 404;
        body = "<h1>not found</h1>";
      } else if (kind === "flaky" && attempt === 1) {
        status = 500;
        body = "<h1>try again</h1>";
      } else {
        const links = [n + 1, n + 2, (n * 7 + 3) % pages].filter((each) => each < pages);
        const hrefs = links.map((each) => `<a href="/page/${each}">page ${each}</a>`);
        if (n % 10 === 0) hrefs.push(`<a href="/page/${n}/gone">gone</a>`);
        body = `<h1>page ${n}</h1>\n${hrefs.join("\n")}\n`;
      }
      const bytes = encoder.encode(body);
      const reason = status === 200 ? "OK" : status === 404 ? "Not Found" : "Internal Server Error";
      writer.write(
        encoder.encode(
          `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/html\r\n` +
            `Content-Length: ${bytes.length}\r\nConnection: close\r\n\r\n`,
        ),
      );
      writer.write(bytes);
      writer.close();
    },
    "127.0.0.1",
    0,
    { backlog: 1024 },
  );
}

// ---- the crawler ---------------------------------------------------------------------------

export interface CrawlOptions {
  concurrency: number;
  /** Seconds one request may take. */
  timeout: number;
  /** Retries after the first attempt, for timeouts and server errors. */
  retries: number;
  progress?: ProgressBar | undefined;
}

/** What the crawl did; filled in as it goes, so a cancelled crawl still reports. */
export interface CrawlReport {
  fetched: number;
  notFound: number;
  failed: number;
  retried: number;
  timeouts: number;
  serverErrors: number;
  seconds: string;
}

/**
 * Crawl from `start` on `host`:`port`: `concurrency` workers take paths from a queue (the
 * frontier) and add the links they find. The crawl is over when every path put in the
 * queue has been processed (`join()`); shutting the queue down then ends the workers.
 */
export function* crawl(
  host: string,
  port: number,
  start: string,
  options: CrawlOptions,
  report: CrawlReport,
): Coro<void> {
  const began = performance.now();
  const seen = new Set([start]);
  const frontier = new Queue<string>();
  frontier.putNowait(start);
  const { progress } = options;

  function* visit(path: string): Coro<void> {
    let response: HttpResponse;
    try {
      response = yield* fetchWithRetries(path);
    } catch (error) {
      if (!(error instanceof TimeoutError || error instanceof ServerError)) throw error;
      report.failed++; // out of retries
      return;
    } finally {
      progress?.advance();
    }
    if (response.status === 404) {
      report.notFound++;
      return;
    }
    report.fetched++;
    for (const [, link] of response.body.matchAll(/href="([^"]+)"/g)) {
      if (link === undefined || seen.has(link)) continue;
      seen.add(link);
      frontier.putNowait(link);
    }
    if (progress !== undefined) progress.total = seen.size;
  }

  function* fetchWithRetries(path: string): Coro<HttpResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        const response = yield* timeout(options.timeout, () => httpGet(host, port, path));
        if (response.status >= 500) throw new ServerError(`${path}: ${response.status}`);
        return response;
      } catch (error) {
        if (error instanceof TimeoutError) report.timeouts++;
        else if (error instanceof ServerError) report.serverErrors++;
        else throw error; // a bug, or the site is down: not worth retrying here
        if (attempt === options.retries) throw error;
        if (attempt === 0) report.retried++;
        yield* sleep(0.02 * 2 ** attempt); // back off a little more each time
      }
    }
  }

  try {
    yield* taskGroup(function* (tg) {
      for (let n = 0; n < options.concurrency; n++) tg.createTask(frontier.consume(visit));
      yield* frontier.join(); // every discovered page visited
      frontier.shutdown(); // the workers' consume() loops return
    });
  } finally {
    report.seconds = secondsSince(began);
  }
}

/** Start the local site, crawl it, close it. */
export function* crawlDemo(
  pages: number,
  options: CrawlOptions,
  report: CrawlReport = newReport(),
): Coro<CrawlReport> {
  const site = yield* startSite(pages, 4 * options.timeout);
  const [, port] = site.sockets[0]!.getsockname() as [string, number];
  yield* site.run(() => crawl("127.0.0.1", port, "/page/0", options, report));
  return report;
}

export function newReport(): CrawlReport {
  return {
    fetched: 0,
    notFound: 0,
    failed: 0,
    retried: 0,
    timeouts: 0,
    serverErrors: 0,
    seconds: "0",
  };
}

export function describeCrawl(report: CrawlReport): string {
  return (
    `${report.fetched} pages fetched, ${report.notFound} not found, ${report.failed} given up; ` +
    `${report.retried} retried after ${report.timeouts} timeouts and ${report.serverErrors} ` +
    `server errors; ${report.seconds}s`
  );
}

const usage = `usage: crawler [--pages 200] [--concurrency 20] [--timeout 0.25] [--retries 2] [--max-seconds 0]`;

export function* main(): Coro<void> {
  const flags = parseFlags(
    { pages: 200, concurrency: 20, timeout: 0.25, retries: 2, "max-seconds": 0 },
    usage,
  );
  const progress = new ProgressBar("crawl", 1);
  const report = newReport();
  const options = { ...flags, progress };
  try {
    if (flags["max-seconds"] > 0) {
      // moveOnAfter cancels the crawl at the deadline, exactly as Ctrl-C would.
      const done = yield* moveOnAfter(flags["max-seconds"], () =>
        crawlDemo(flags.pages, options, report),
      );
      if (done === undefined) {
        progress.finish();
        console.log(`stopped after ${flags["max-seconds"]}s: ${describeCrawl(report)}`);
        return;
      }
    } else {
      yield* crawlDemo(flags.pages, options, report);
    }
  } catch (error) {
    if (error instanceof CancelledError) console.log(`\ncancelled: ${describeCrawl(report)}`);
    throw error;
  }
  progress.finish();
  console.log(`crawled: ${describeCrawl(report)}`);
}

if (isMain(import.meta.url)) await run(main());
