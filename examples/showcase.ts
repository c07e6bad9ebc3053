// The showcase (`npm start`): the examples' demos one after the other on one event loop,
// over loopback and with child processes, each with a progress bar and a summary of what
// happened.
import { run, type Coro } from "../src/index.ts";
import { demoJobs, describeJobs, runJobs } from "./automation.ts";
import { chatDemo } from "./chat-server.ts";
import { crawlDemo, describeCrawl } from "./crawler.ts";
import { ProgressBar } from "./lib/progress.ts";
import { feedDemo } from "./live-feed.ts";
import { describePipeline, megabytes, pipelineDemo } from "./pipeline.ts";
import { tcpDemo } from "./tcp-server.ts";
import { isMain } from "./lib/cli.ts";

function section(number: number, title: string, file: string): void {
  console.log(`\n${number}. ${title}  (examples/${file}.ts: npm run example -- ${file})`);
}

export function* main(): Coro<void> {
  const began = performance.now();
  console.log("tsyncio showcase: six small programs on one event loop");

  section(1, "A TCP server with thousands of clients at once", "tcp-server");
  let progress = new ProgressBar("tcp", 1);
  const tcp = yield* tcpDemo({ clients: 2000, rounds: 3, progress });
  progress.finish();
  if (tcp.note !== "") console.log(`   note: ${tcp.note}`);
  console.log(
    `   ${tcp.connected} clients connected at once (peak ${tcp.peak} open on the server)`,
  );
  console.log(`   ${tcp.roundTrips} request/response round trips on the line protocol`);
  console.log(
    `   ${tcp.idleTimeouts} silent client dropped by its own idle timeout; ${tcp.seconds}s`,
  );

  section(2, "A chat server with rooms, and a user too slow to keep up", "chat-server");
  progress = new ProgressBar("chat", 1);
  const chat = yield* chatDemo({ users: 30, rooms: 3, messages: 20, progress });
  progress.finish();
  console.log(`   ${chat.users} users in ${chat.rooms} rooms sent ${chat.sent} messages;`);
  console.log(`   every user read all ${chat.received} lines said in their room`);
  console.log(
    `   dropped for being too slow: ${chat.dropped.join(", ")} (${megabytes(chat.unreadBytes)} ` +
      `unread), while the others went on; ${chat.seconds}s`,
  );

  section(3, "A live feed fanned out to 100 subscribers", "live-feed");
  progress = new ProgressBar("feed", 1);
  const feed = yield* feedDemo({
    subscribers: 100,
    ticks: 60000,
    symbols: 50,
    buffer: 1000,
    progress,
  });
  progress.finish();
  console.log(`   ${feed.ticks} ticks, ${feed.delivered} lines delivered; ${feed.seconds}s`);
  console.log(`   ${feed.subscribers - 1} subscribers kept up and missed ${feed.fastMissed} ticks`);
  console.log(
    `   a stalled subscriber missed ${feed.slow.missed} old ticks, dropped from its bounded ` +
      `buffer, and still got the latest ones`,
  );

  section(4, "A web crawler with a concurrency limit, timeouts and retries", "crawler");
  progress = new ProgressBar("crawl", 1);
  const crawl = yield* crawlDemo(200, { concurrency: 20, timeout: 0.25, retries: 2, progress });
  progress.finish();
  console.log(`   ${describeCrawl(crawl)}`);

  section(5, "A pipeline of stages joined by bounded queues", "pipeline");
  progress = new ProgressBar("pipeline", 1, { format: megabytes });
  const pipeline = yield* pipelineDemo(400_000, progress);
  progress.finish();
  for (const line of describePipeline(pipeline)) console.log(`   ${line}`);

  section(6, "An automation script: 12 commands, 4 at a time, under a timeout", "automation");
  const jobs = demoJobs().slice(0, 12);
  progress = new ProgressBar("jobs", jobs.length);
  const jobsBegan = performance.now();
  const results = yield* runJobs(jobs, { concurrency: 4, timeout: 1, grace: 0.3, progress });
  progress.finish();
  const jobsSeconds = ((performance.now() - jobsBegan) / 1000).toFixed(2);
  console.log(`   ${describeJobs(results)}; ${jobsSeconds}s`);
  for (const result of results.filter((each) => each.status !== "ok")) {
    console.log(`   ${result.job.name}: ${result.status}`);
  }

  const seconds = ((performance.now() - began) / 1000).toFixed(1);
  console.log(`\nall done in ${seconds}s, on one thread.`);
}

if (isMain(import.meta.url)) await run(main());
