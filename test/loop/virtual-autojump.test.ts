// Tests for VirtualEventLoop's autojump (src/loop/virtual-event-loop.ts): with real I/O
// outstanding, the virtual clock stands still while the I/O may deliver, and jumps to the next
// timer only after autojumpThreshold seconds of real time in which nothing happened.
import assert from "node:assert/strict";
import { afterEach, describe, it } from "node:test";
import { setTimeout as delay } from "node:timers/promises";
import {
  TimeoutError,
  getRunningLoop,
  sleep,
  waitFor,
  wrapPromise,
  type Coro,
} from "../../src/index.ts";
import { VirtualEventLoop, runVirtual } from "../../src/testing.ts";
import { captureExceptions } from "../helpers/capture.ts";
import { now, thrownBy } from "../helpers/coro.ts";
import {
  RecordingProtocol,
  assertNoHostOps,
  cleanupAll,
  nodeServer,
} from "../helpers/recording-protocol.ts";

afterEach(cleanupAll);

const LOCALHOST = "127.0.0.1";

/** Run `main` on a VirtualEventLoop made with `threshold`; fails on exception-handler calls. */
async function runWithThreshold<T>(threshold: number, main: () => Coro<T>): Promise<T> {
  const loop = new VirtualEventLoop({ autojumpThreshold: threshold });
  const seen = captureExceptions(loop);
  try {
    return await loop.runUntilComplete(main());
  } finally {
    loop.close();
    assert.deepEqual(seen, []);
  }
}

/** Connect a RecordingProtocol to a Node peer that runs `onConnection`. */
function* connectToPeer(
  onConnection: Parameters<typeof nodeServer>[0],
): Coro<{ protocol: RecordingProtocol; close: () => void }> {
  const peer = yield* nodeServer(onConnection);
  const [transport, protocol] = yield* getRunningLoop().createConnection(
    () => new RecordingProtocol(),
    LOCALHOST,
    peer.port,
  );
  return {
    protocol,
    close: () => {
      transport.abort();
      peer.close();
    },
  };
}

describe("VirtualEventLoop autojump", () => {
  it("fires a timeout around a read from a silent peer after about autojumpThreshold of real time (real I/O)", () =>
    runVirtual(function* () {
      const { protocol, close } = yield* connectToPeer(() => {});
      try {
        const started = performance.now();
        const error = yield* thrownBy(waitFor(protocol.receivedAtLeast(1), 10));
        const elapsed = performance.now() - started;
        assert.ok(error instanceof TimeoutError);
        // Virtual time went to the deadline; real time only waited for the threshold (50 ms).
        assert.equal(now(), 10);
        assert.ok(elapsed >= 45, `jumped after ${elapsed.toFixed(1)} ms`);
        assert.ok(elapsed < 1000, `took ${elapsed.toFixed(1)} ms`);
        assert.deepEqual(protocol.log, ["connectionMade"]);
      } finally {
        close();
      }
      yield* sleep(0);
      assertNoHostOps();
    }));

  it("does not jump while data keeps arriving more often than the threshold (real I/O)", () =>
    runWithThreshold(0.03, function* () {
      const stamps: number[] = [];
      const { protocol, close } = yield* connectToPeer((socket) => {
        let sent = 0;
        const timer = setInterval(() => {
          socket.write(String(sent++));
          if (sent === 8) clearInterval(timer);
        }, 5);
        socket.on("close", () => {
          clearInterval(timer);
        });
      });
      try {
        const plain = protocol.dataReceived.bind(protocol);
        protocol.dataReceived = (data: Uint8Array) => {
          stamps.push(now());
          plain(data);
        };
        const started = performance.now();
        const error = yield* thrownBy(waitFor(protocol.receivedAtLeast(9), 10));
        const elapsed = performance.now() - started;
        assert.ok(error instanceof TimeoutError);
        assert.equal(protocol.text, "01234567");
        assert.ok(stamps.length > 0);
        assert.ok(
          stamps.every((stamp) => stamp === 0),
          `the clock moved while data came: ${stamps.join(", ")}`,
        );
        assert.equal(now(), 10);
        // 8 chunks 5 ms apart, then the 30 ms threshold of silence.
        assert.ok(elapsed >= 60, `jumped after ${elapsed.toFixed(1)} ms`);
      } finally {
        close();
      }
      yield* sleep(0);
    }));

  it("does not jump while a read is outstanding and no timer is pending (real I/O)", () =>
    runVirtual(function* () {
      const { protocol, close } = yield* connectToPeer((socket) => {
        setTimeout(() => socket.write("late"), 70);
      });
      try {
        yield* protocol.receivedAtLeast(4);
        assert.equal(protocol.text, "late");
        assert.equal(now(), 0);
      } finally {
        close();
      }
    }));

  it("never jumps with autojumpThreshold Infinity while I/O is outstanding (real I/O)", () =>
    runWithThreshold(Infinity, function* () {
      const { protocol, close } = yield* connectToPeer((socket) => {
        setTimeout(() => socket.write("late"), 60);
      });
      try {
        // With the default threshold this 1 s timeout would fire after 50 ms of real time.
        yield* waitFor(protocol.receivedAtLeast(4), 1);
        assert.equal(protocol.text, "late");
        assert.equal(now(), 0);
      } finally {
        close();
      }
      yield* sleep(0);
    }));

  it("jumps to timers at once when no I/O is outstanding", () =>
    runWithThreshold(Infinity, function* () {
      const started = performance.now();
      yield* sleep(100);
      assert.equal(now(), 100);
      assert.ok(performance.now() - started < 20);
    }));

  it("moves the clock to the next timer only, not past it (real I/O)", () =>
    runWithThreshold(0.01, function* () {
      const { protocol, close } = yield* connectToPeer(() => {});
      try {
        const log: number[] = [];
        const loop = getRunningLoop();
        loop.callLater(3, () => log.push(now()));
        loop.callLater(7, () => log.push(now()));
        const error = yield* thrownBy(waitFor(protocol.receivedAtLeast(1), 10));
        assert.ok(error instanceof TimeoutError);
        assert.deepEqual(log, [3, 7]);
        assert.equal(now(), 10);
      } finally {
        close();
      }
      yield* sleep(0);
    }));

  it("waits for a wrapped Promise that settles before the threshold without moving (real I/O)", () =>
    runVirtual(function* () {
      const result = yield* waitFor(wrapPromise(delay(10, "in time")), 5);
      assert.equal(result, "in time");
      assert.equal(now(), 0);
    }));

  it("rejects a negative or non-number autojumpThreshold", () => {
    assert.throws(() => new VirtualEventLoop({ autojumpThreshold: -1 }), {
      name: "RangeError",
      message: "autojumpThreshold must be a number >= 0, got -1",
    });
    assert.throws(() => new VirtualEventLoop({ autojumpThreshold: Number.NaN }), {
      name: "RangeError",
      message: "autojumpThreshold must be a number >= 0, got NaN",
    });
  });
});
