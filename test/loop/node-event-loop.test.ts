import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { describe, it } from "node:test";
import {
  EventLoop,
  createTask,
  getRunningLoop,
  newEventLoop,
  run,
  sleep,
  wrapPromise,
  type Coro,
} from "../../src/index.ts";
import { runFixture } from "../helpers/loop.ts";

/** A loop that counts the times it found nothing ready (each is a wait for the host). */
class CountingLoop extends EventLoop {
  idles = 0;
  override _idle(nextWhen: number): boolean {
    this.idles++;
    return super._idle(nextWhen);
  }
}

describe("EventLoop", () => {
  it("newEventLoop() gives a fresh real-time loop", () => {
    const loop = newEventLoop();
    assert.ok(loop instanceof EventLoop);
    assert.equal(loop.isRunning(), false);
    assert.equal(loop.isClosed(), false);
    loop.close();
  });

  it("time() is monotonic seconds on the real clock (real I/O)", async () => {
    const loop = new EventLoop();
    const first = loop.time();
    assert.ok(Math.abs(first - performance.now() / 1000) < 0.01);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const second = loop.time();
    assert.ok(second - first >= 0.004, `${second - first}`);
    loop.close();
  });

  it("fires timers in the order of their deadlines (real I/O)", async () => {
    const log: string[] = [];
    function* main(): Coro<void> {
      const loop = getRunningLoop();
      loop.callLater(0.003, () => log.push("c"));
      loop.callLater(0.001, () => log.push("a"));
      loop.callLater(0.002, () => log.push("b"));
      loop.callLater(0.001, () => log.push("a2"));
      yield* sleep(0.004);
    }
    await run(main());
    assert.deepEqual(log, ["a", "a2", "b", "c"]);
  });

  it("never fires callLater(0.01) before 10 ms of real time have passed (real I/O)", async () => {
    const seen: { elapsedMs: number; late: number }[] = [];
    function* main(): Coro<void> {
      const loop = getRunningLoop();
      const started = performance.now();
      const done = loop.createFuture<undefined>();
      const handle = loop.callLater(0.01, () => {
        seen.push({ elapsedMs: performance.now() - started, late: loop.time() - handle.when() });
        done.setResult(undefined);
      });
      yield* done;
    }
    await run(main());
    assert.equal(seen.length, 1);
    const [{ elapsedMs, late }] = seen as [{ elapsedMs: number; late: number }];
    assert.ok(elapsedMs >= 10, `fired after ${elapsedMs} ms`);
    assert.ok(late >= 0, `fired ${-late} s before its time`);
  });

  it("sleep() waits at least its delay in real time (real I/O)", async () => {
    function* main(): Coro<number> {
      const started = performance.now();
      yield* sleep(0.005);
      return performance.now() - started;
    }
    const elapsed = await run(main());
    assert.ok(elapsed >= 5, `slept ${elapsed} ms`);
  });

  // asyncio: test_timeout_rounding (test_events)
  it("runs many sub-millisecond sleeps without busy-looping (real I/O)", async () => {
    const loop = new CountingLoop();
    function* wait(): Coro<number> {
      const started = performance.now();
      yield* sleep(1e-3);
      yield* sleep(1e-4);
      yield* sleep(1e-5);
      yield* sleep(1e-6);
      yield* sleep(1e-8);
      yield* sleep(1e-10);
      return performance.now() - started;
    }
    const elapsed = await run(wait(), { loopFactory: () => loop });
    assert.ok(elapsed >= 1, `all the sleeps took ${elapsed} ms`);
    // Ideally two waits per sleep; asyncio tolerates up to 20 iterations.
    assert.ok(loop.idles <= 20, `${loop.idles} waits for the host`);
  });

  it("a Future completed from a Promise callback wakes an idle loop (real I/O)", async () => {
    function* main(): Coro<string> {
      const loop = getRunningLoop();
      const future = loop.createFuture<string>();
      setTimeout(() => {
        void Promise.resolve("woke").then((value) => {
          future.setResult(value);
        });
      }, 2);
      return yield* future;
    }
    assert.equal(await run(main()), "woke");
  });

  it("a callback scheduled from a microtask after the loop went idle runs (real I/O)", async () => {
    function* main(): Coro<string> {
      const loop = getRunningLoop();
      const future = loop.createFuture<string>();
      queueMicrotask(() => {
        loop.callSoon(() => {
          future.setResult("from microtask");
        });
      });
      return yield* future;
    }
    assert.equal(await run(main()), "from microtask");
  });

  it("stop() from a host timer ends an idle run (real I/O)", async () => {
    const loop = new EventLoop();
    setTimeout(() => {
      loop.stop();
    }, 2);
    await loop.runForever();
    assert.equal(loop.isRunning(), false);
    loop.close();
  });

  it("socket events interleave with the steps of a busy task (real I/O)", async () => {
    const server = createServer((socket) => {
      socket.end("hello");
    });
    let client: Socket | undefined;
    try {
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      const { port } = server.address() as AddressInfo;
      const log: string[] = [];

      function* main(): Coro<number> {
        const loop = getRunningLoop();
        const state = { received: false };
        let spins = 0;
        const spinner = createTask(
          (function* (): Coro<void> {
            while (!state.received) {
              spins++;
              yield* sleep(0);
            }
            log.push("spinner saw the data");
          })(),
        );
        client = connect(port, "127.0.0.1");
        client.setEncoding("utf8");
        client.on("data", (chunk: string) => {
          loop.callSoon(() => {
            log.push(`data ${chunk} after ${spins} spins`);
            state.received = true;
          });
        });
        const closed = wrapPromise(once(client, "close"));
        yield* spinner;
        yield* closed;
        return spins;
      }

      const spins = await run(main());
      assert.ok(spins > 0, "the task never ran while waiting for the socket");
      assert.deepEqual(log, [`data hello after ${spins} spins`, "spinner saw the data"]);
    } finally {
      client?.destroy();
      server.close();
    }
  });

  it("wrapPromise() brings a socket event into a task (real I/O)", async () => {
    const server = createServer((socket) => {
      socket.end("ping");
    });
    try {
      server.listen(0, "127.0.0.1");
      await once(server, "listening");
      const { port } = server.address() as AddressInfo;
      function* main(): Coro<string> {
        const client = connect(port, "127.0.0.1");
        client.setEncoding("utf8");
        try {
          const [chunk] = (yield* wrapPromise(once(client, "data"))) as [string];
          return chunk;
        } finally {
          client.destroy();
        }
      }
      assert.equal(await run(main()), "ping");
    } finally {
      server.close();
    }
  });
});

describe("EventLoop and the process lifetime", () => {
  it("the process exits when a loop holding a far timer is closed (real I/O)", async () => {
    const exit = await runFixture("ok.exits-after-close");
    assert.equal(exit.stderr, "");
    assert.deepEqual([exit.code, exit.signal], [0, null]);
    assert.equal(exit.stdout, "ran\nclosed\n");
  });

  it("the process exits when a run stops, even with a far timer left (real I/O)", async () => {
    const exit = await runFixture("ok.exits-after-stop");
    assert.equal(exit.stderr, "");
    assert.deepEqual([exit.code, exit.signal], [0, null]);
    assert.equal(exit.stdout, "stopped closed=false\n");
  });

  it("the process exits after run() returns, leaving no task or timer behind (real I/O)", async () => {
    const exit = await runFixture("ok.exits-after-run");
    assert.equal(exit.stderr, "");
    assert.deepEqual([exit.code, exit.signal], [0, null]);
    assert.equal(exit.stdout, "main done\n");
  });

  it("a running loop keeps the process alive while its task waits (real I/O)", async () => {
    const exit = await runFixture("ok.kept-alive-while-running");
    assert.equal(exit.stderr, "");
    assert.deepEqual([exit.code, exit.signal], [0, null]);
    assert.equal(exit.stdout, "woke\n");
  });
});
