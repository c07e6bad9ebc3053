// A live data feed: one producer publishes price ticks, and a server fans them out over TCP
// to many subscribers, each to the symbols it asked for. Every subscriber has a bounded
// buffer; when a subscriber falls behind, its oldest ticks are dropped (a live feed wants
// the latest price, not a growing backlog), so the server's memory stays bounded however
// slow a subscriber is, and the fast ones never wait for it.
//
//   npm run example -- live-feed                    the demo: 100 subscribers, one of which
//                                                   stalls, 60000 ticks
//   npm run example -- live-feed --subscribers 500 --ticks 100000 --buffer 500
import {
  Condition,
  Event,
  Queue,
  QueueShutDown,
  gather,
  openConnection,
  run,
  sleep,
  startServer,
  type Coro,
  type StreamReader,
  type StreamWriter,
} from "../src/index.ts";
import { isMain, parseFlags, secondsSince } from "./lib/cli.ts";
import { ProgressBar } from "./lib/progress.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** One subscriber's buffer of tick lines: bounded, dropping the oldest when full. */
class Subscription {
  readonly queue: Queue<string>;
  dropped = 0;

  constructor(size: number) {
    this.queue = new Queue<string>(size);
  }

  offer(line: string): void {
    if (this.queue.full()) {
      this.queue.getNowait(); // the oldest tick goes
      this.dropped++;
    }
    this.queue.putNowait(line);
  }
}

/** The fan-out: who wants which symbol, and each subscriber's session. */
export class Feed {
  readonly #bySymbol = new Map<string, Set<Subscription>>();
  readonly #everything = new Set<Subscription>();
  readonly #bufferSize: number;
  /** How many ticks were dropped from slow subscribers' buffers. */
  dropped = 0;
  /** How many subscribers there are; `changed` is notified when it changes. */
  size = 0;
  readonly changed: Condition = new Condition();

  /** `bufferSize`: how many ticks a subscriber may have waiting before old ones are dropped. */
  constructor(bufferSize: number) {
    this.#bufferSize = bufferSize;
  }

  /** Hand a tick to every subscriber of its symbol; never waits. */
  publish(symbol: string, line: string): void {
    for (const subscription of this.#everything) subscription.offer(line);
    for (const subscription of this.#bySymbol.get(symbol) ?? []) subscription.offer(line);
  }

  /** The feed is over: each session sends what it has buffered, then END, then closes. */
  end(): void {
    for (const subscription of this.#subscriptions()) subscription.queue.shutdown();
  }

  /**
   * A subscriber's session: it sends `SUB <symbol> <symbol>...` (or `SUB *`), gets `OK`,
   * then one line per tick, and `END` when the feed ends.
   */
  *session(reader: StreamReader, writer: StreamWriter): Coro<void> {
    const request = decoder
      .decode(yield* reader.readline())
      .trim()
      .split(/\s+/);
    if (request[0] !== "SUB" || request.length < 2) {
      writer.write(encoder.encode("error: expected SUB <symbols> or SUB *\n"));
      writer.close();
      return;
    }
    const subscription = new Subscription(this.#bufferSize);
    const symbols = request.slice(1);
    if (symbols.includes("*")) this.#everything.add(subscription);
    for (const symbol of symbols) {
      let set = this.#bySymbol.get(symbol);
      if (set === undefined) this.#bySymbol.set(symbol, (set = new Set()));
      set.add(subscription);
    }
    yield* this.#setSize(this.size + 1);
    try {
      writer.write(encoder.encode("OK\n"));
      for (;;) {
        let line: string;
        try {
          line = yield* subscription.queue.get();
        } catch (error) {
          if (error instanceof QueueShutDown) break; // end() was called: all sent
          throw error;
        }
        // Take everything that piled up while we waited, and send it in one write.
        const batch = [line];
        while (!subscription.queue.empty()) batch.push(subscription.queue.getNowait());
        writer.write(encoder.encode(batch.join("")));
        yield* writer.drain(); // a slow reader makes us wait here, while its buffer fills
      }
      writer.write(encoder.encode("END\n"));
      yield* writer.drain();
    } finally {
      this.#everything.delete(subscription);
      for (const symbol of symbols) this.#bySymbol.get(symbol)?.delete(subscription);
      this.dropped += subscription.dropped;
      writer.close();
      this.size--;
    }
  }

  *#setSize(size: number): Coro<void> {
    using _ = yield* this.changed.hold(); // notifyAll() needs the condition's lock
    this.size = size;
    this.changed.notifyAll();
  }

  *#subscriptions(): Generator<Subscription> {
    yield* this.#everything;
    for (const set of this.#bySymbol.values()) yield* set;
  }
}

/** The symbols of the demo market: AAA, AAB, ... */
export function symbolNames(count: number): string[] {
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
  return Array.from(
    { length: count },
    (_, n) =>
      `${letters[Math.floor(n / 676) % 26]}${letters[Math.floor(n / 26) % 26]}${letters[n % 26]}`,
  );
}

/**
 * The producer: `ticks` price ticks (a random walk, with a 3-level order book), published
 * in bursts of `burst`, letting the senders run between bursts. Each line carries its
 * symbol's sequence number, so a subscriber can tell what it missed.
 */
export function* produce(
  feed: Feed,
  symbols: string[],
  ticks: number,
  burst: number,
  progress?: ProgressBar,
): Coro<void> {
  let seed = 42;
  const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const prices = symbols.map(() => 50 + 100 * random());
  const sequence = symbols.map(() => 0);
  for (let n = 0; n < ticks; n++) {
    const index = Math.floor(random() * symbols.length);
    const price = (prices[index] = Math.max(1, prices[index]! + (random() - 0.5) / 4));
    const levels = [1, 2, 3].map((level) => {
      const size = 100 * Math.ceil(random() * 9);
      return `${(price - level / 100).toFixed(2)}x${size} ${(price + level / 100).toFixed(2)}x${size}`;
    });
    const symbol = symbols[index]!;
    feed.publish(
      symbol,
      `${symbol} ${++sequence[index]!} ${price.toFixed(2)} ${levels.join(" ")}\n`,
    );
    if ((n + 1) % burst === 0) {
      progress?.advance(burst);
      yield* sleep(0); // the senders' turn
    }
  }
  progress?.advance(ticks % burst);
}

/** What a subscriber saw: ticks received, and ticks missed (gaps in the sequence). */
export interface Reception {
  received: number;
  missed: number;
}

/**
 * A demo subscriber: subscribe, then read ticks until END, counting gaps. A `stall` Event
 * makes it stop reading after its first 10 ticks until the Event is set.
 */
function* subscriber(port: number, symbols: string[], stall?: Event): Coro<Reception> {
  const [reader, writer] = yield* openConnection("127.0.0.1", port);
  try {
    writer.write(encoder.encode(`SUB ${symbols.join(" ")}\n`));
    if (decoder.decode(yield* reader.readline()) !== "OK\n") throw new Error("not subscribed");
    const last = new Map<string, number>();
    const seen: Reception = { received: 0, missed: 0 };
    for (;;) {
      const line = decoder.decode(yield* reader.readline());
      if (line === "END\n" || line === "") break;
      const [symbol = "", seq = ""] = line.split(" ", 2);
      seen.missed += Number(seq) - (last.get(symbol) ?? 0) - 1;
      last.set(symbol, Number(seq));
      seen.received++;
      if (stall !== undefined && seen.received === 10) yield* stall.wait();
    }
    return seen;
  } finally {
    writer.close();
  }
}

export interface FeedDemoOptions {
  subscribers: number;
  ticks: number;
  symbols: number;
  buffer: number;
  progress?: ProgressBar | undefined;
}

export interface FeedDemoReport {
  subscribers: number;
  ticks: number;
  delivered: number;
  fastMissed: number;
  slow: Reception;
  dropped: number;
  seconds: string;
}

/**
 * The demo: `subscribers` subscribers (each to two symbols, and one to everything that
 * stalls until the producer is done), `ticks` ticks over `symbols` symbols.
 */
export function* feedDemo(options: FeedDemoOptions): Coro<FeedDemoReport> {
  const start = performance.now();
  const feed = new Feed(options.buffer);
  const server = yield* startServer(
    (reader, writer) => feed.session(reader, writer),
    "127.0.0.1",
    0,
  );
  const [, port] = server.sockets[0]!.getsockname() as [string, number];
  const symbols = symbolNames(options.symbols);
  const produced = new Event();
  if (options.progress !== undefined) options.progress.total = options.ticks;

  return yield* server.run(function* () {
    const fast = Array.from({ length: options.subscribers - 1 }, (_, n) => [
      symbols[n % symbols.length]!,
      symbols[(n * 7 + 3) % symbols.length]!,
    ]);
    // gather() wraps each subscriber in a task, running now; the producer starts once
    // every one of them is subscribed.
    const everyone = gather(
      subscriber(port, ["*"], produced),
      ...fast.map((wanted) => subscriber(port, wanted)),
    );
    yield* feed.changed.hold(() => feed.changed.waitFor(() => feed.size === options.subscribers));
    yield* produce(feed, symbols, options.ticks, 200, options.progress);
    produced.set(); // the stalled subscriber reads again
    feed.end();
    const [slow, ...others] = yield* everyone;
    return {
      subscribers: options.subscribers,
      ticks: options.ticks,
      delivered: [slow, ...others].reduce((total, each) => total + each.received, 0),
      fastMissed: others.reduce((total, each) => total + each.missed, 0),
      slow,
      dropped: feed.dropped,
      seconds: secondsSince(start),
    };
  });
}

const usage = `usage: live-feed [--subscribers 100] [--ticks 60000] [--symbols 50] [--buffer 1000]`;

export function* main(): Coro<void> {
  const flags = parseFlags({ subscribers: 100, ticks: 60000, symbols: 50, buffer: 1000 }, usage);
  const progress = new ProgressBar("feed", flags.ticks);
  const report = yield* feedDemo({ ...flags, progress });
  progress.finish();
  console.log(
    `${report.ticks} ticks fanned out to ${report.subscribers} subscribers: ` +
      `${report.delivered} lines delivered in ${report.seconds}s`,
  );
  console.log(
    `the ${report.subscribers - 1} subscribers that kept up missed ${report.fastMissed} ticks`,
  );
  console.log(
    `the stalled subscriber got ${report.slow.received} ticks and missed ${report.slow.missed}: ` +
      `its buffer kept the latest ${flags.buffer} (the server dropped ${report.dropped} old ticks)`,
  );
}

if (isMain(import.meta.url)) await run(main());
