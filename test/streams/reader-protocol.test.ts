// Tests for src/streams/reader-protocol.ts: StreamReaderProtocol driven by hand over a fake
// transport on the virtual clock, and its write flow control (asyncio's FlowControlMixin).
// The same behaviours over real sockets are in connect.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CancelledError,
  RuntimeError,
  createTask,
  currentTask,
  gather,
  getRunningLoop,
  sleep,
  type BaseProtocol,
  type Coro,
  type Transport,
} from "../../src/index.ts";
import { StreamReader, StreamReaderProtocol } from "../../src/streams/index.ts";
import type { StreamWriter } from "../../src/streams/writer.ts";
import { runVirtual } from "../../src/testing.ts";
import { captureExceptions, reportsAfterCollecting } from "../helpers/capture.ts";
import { thrownBy } from "../helpers/coro.ts";
import { ZeroDivisionError, throwsExactly } from "../helpers/errors.ts";

const b = (text: string): Buffer => Buffer.from(text);

/**
 * A transport that logs what is done to it. `close()` calls the protocol's
 * `connectionLost(null)` on the next loop iteration, as a socket transport does.
 */
class FakeTransport implements Transport {
  readonly log: string[] = [];
  readonly #extra: Record<string, unknown>;
  #protocol: BaseProtocol;
  #closing = false;

  constructor(protocol: BaseProtocol, extra: Record<string, unknown> = {}) {
    this.#protocol = protocol;
    this.#extra = extra;
  }
  toString(): string {
    return "<FakeTransport>";
  }
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name in this.#extra ? this.#extra[name] : defaultValue;
  }
  isClosing(): boolean {
    return this.#closing;
  }
  close(): void {
    this.log.push("close");
    if (this.#closing) return;
    this.#closing = true;
    getRunningLoop().callSoon(() => this.#protocol.connectionLost?.(null));
  }
  abort(): void {
    this.log.push("abort");
    this.close();
  }
  setProtocol(protocol: BaseProtocol): void {
    this.#protocol = protocol;
  }
  getProtocol(): BaseProtocol {
    return this.#protocol;
  }
  isReading(): boolean {
    return true;
  }
  pauseReading(): void {
    this.log.push("pauseReading");
  }
  resumeReading(): void {
    this.log.push("resumeReading");
  }
  setWriteBufferLimits(): void {}
  getWriteBufferSize(): number {
    return 0;
  }
  getWriteBufferLimits(): [number, number] {
    return [16384, 65536];
  }
  write(data: Uint8Array): void {
    this.log.push(`write:${Buffer.from(data).toString()}`);
  }
  writelines(chunks: Iterable<Uint8Array>): void {
    for (const chunk of chunks) this.write(chunk);
  }
  writeEof(): void {
    this.log.push("writeEof");
  }
  canWriteEof(): boolean {
    return true;
  }
}

/** A protocol over a fake transport whose connectionMade already ran. */
function connected(
  reader: StreamReader | null,
  clientConnected?: (reader: StreamReader, writer: StreamWriter) => unknown,
  extra?: Record<string, unknown>,
): [StreamReaderProtocol, FakeTransport] {
  const protocol = new StreamReaderProtocol(reader, clientConnected);
  const transport = new FakeTransport(protocol, extra);
  protocol.connectionMade(transport);
  return [protocol, transport];
}

describe("StreamReaderProtocol", () => {
  // asyncio: test_streamreaderprotocol_constructor_without_loop
  it("must be created on a running loop", () => {
    throwsExactly(() => new StreamReaderProtocol(null), RuntimeError, "no running event loop");
  });

  // asyncio: test_streamreaderprotocol_constructor_use_running_loop
  it("binds to the running loop", () =>
    runVirtual(function* () {
      const [protocol] = connected(new StreamReader());
      protocol.pauseWriting();
      const task = createTask(protocol._drainHelper());
      yield* sleep(0);
      protocol.resumeWriting();
      yield* task;
    }));

  it("rejects a clientConnected that is not a function", () =>
    runVirtual(function* () {
      throwsExactly(
        () => new StreamReaderProtocol(new StreamReader(), 5 as unknown as () => void),
        TypeError,
        "clientConnected must be a function, got 5",
      );
    }));

  it("gives the reader its transport and feeds it data and EOF", () =>
    runVirtual(function* () {
      const reader = new StreamReader();
      const [protocol] = connected(reader);
      assert.equal(String(reader), "<StreamReader transport=<FakeTransport>>");
      assert.equal(String(protocol), "<StreamReaderProtocol transport=<FakeTransport>>");
      protocol.dataReceived(b("hello"));
      protocol.dataReceived(b(" world"));
      // EOF keeps the transport open for writing: a half-close.
      assert.equal(protocol.eofReceived(), true);
      assert.deepEqual(yield* reader.read(), b("hello world"));
      assert.equal(reader.atEof(), true);
    }));

  it("over TLS, lets EOF close the transport", () =>
    runVirtual(function* () {
      const reader = new StreamReader();
      const [protocol] = connected(reader, undefined, { sslcontext: {} });
      assert.equal(protocol.eofReceived(), false);
      assert.equal(reader.atEof(), true);
    }));

  it("turns connectionLost(null) into the reader's EOF and ends waitClosed()", () =>
    runVirtual(function* () {
      const reader = new StreamReader();
      const [protocol] = connected(reader);
      protocol.dataReceived(b("rest"));
      protocol.connectionLost(null);
      yield* protocol._getCloseWaiter(null as unknown as StreamWriter);
      assert.equal(String(protocol), "<StreamReaderProtocol closed>");
      assert.deepEqual(yield* reader.read(), b("rest"));
      // Later callbacks no longer reach the reader.
      protocol.eofReceived();
      assert.equal(String(reader), "<StreamReader eof transport=<FakeTransport>>");
    }));

  // asyncio: test_open_connection_error
  it("turns connectionLost(error) into the reader's exception and waitClosed()'s", () =>
    runVirtual(function* () {
      const reader = new StreamReader();
      const [protocol] = connected(reader);
      const error = new ZeroDivisionError();
      protocol.connectionLost(error);
      assert.equal(yield* thrownBy(reader.read()), error);
      assert.equal(
        yield* thrownBy(protocol._getCloseWaiter(null as unknown as StreamWriter)),
        error,
      );
    }));

  it("does not report the close error as never retrieved when nobody waits for it", async () => {
    const reports = await reportsAfterCollecting(function* () {
      const [protocol] = connected(new StreamReader());
      protocol.connectionLost(new ZeroDivisionError());
    });
    assert.deepEqual(reports, []);
  });

  describe("with clientConnected (a server's connection)", () => {
    it("runs a generator function in a task, with the reader and a writer", () =>
      runVirtual(function* () {
        const log: string[] = [];
        const reader = new StreamReader();
        const finished = getRunningLoop().createFuture<undefined>();
        const [protocol, transport] = connected(reader, function* (r, w): Coro<void> {
          log.push(`started, same reader: ${String(r === reader)}`);
          const line = yield* r.readline();
          w.write(line);
          w.close();
          yield* w.waitClosed();
          log.push("closed");
          finished.setResult(undefined);
        });
        assert.deepEqual(log, []);
        assert.match(
          String(protocol),
          /^<StreamReaderProtocol transport=<FakeTransport> task=<Task pending/,
        );
        yield* sleep(0);
        assert.deepEqual(log, ["started, same reader: true"]);
        protocol.dataReceived(b("ping\n"));
        yield* finished;
        assert.deepEqual(log, ["started, same reader: true", "closed"]);
        assert.deepEqual(transport.log, ["write:ping\n", "close"]);
      }));

    it("calls a plain function at once, and runs a coroutine it returns", () =>
      runVirtual(function* () {
        const log: string[] = [];
        function* later(): Coro<void> {
          log.push("coroutine ran");
        }
        connected(new StreamReader(), (reader, writer) => {
          log.push(`called with ${String(reader)} ${writer.toString()}`);
          return later();
        });
        assert.deepEqual(log, [
          "called with <StreamReader transport=<FakeTransport>> <StreamWriter transport=<FakeTransport> reader=<StreamReader transport=<FakeTransport>>>",
        ]);
        yield* sleep(0);
        assert.equal(log[1], "coroutine ran");
      }));

    // asyncio: test_unhandled_exception
    it("reports a failing handler and closes its transport", () =>
      runVirtual(function* () {
        const seen = captureExceptions(getRunningLoop());
        const error = new Error("test");
        const [, transport] = connected(new StreamReader(), function* (): Coro<void> {
          yield* sleep(0);
          throw error;
        });
        yield* sleep(0);
        yield* sleep(0);
        assert.deepEqual(transport.log, []);
        yield* sleep(0);
        assert.deepEqual(transport.log, ["close"]);
        assert.deepEqual(
          seen.map((context) => [context.message, context.exception, context.transport]),
          [["Unhandled exception in client_connected_cb", error, transport]],
        );
      }));

    // asyncio: test_unhandled_cancel
    it("closes the transport of a cancelled handler silently", () =>
      runVirtual(function* () {
        const [, transport] = connected(new StreamReader(), function* (_r, w): Coro<void> {
          w.close();
          currentTask()?.cancel();
          yield* sleep(0);
        });
        yield* sleep(0);
        yield* sleep(0);
        yield* sleep(0);
        assert.deepEqual(transport.log, ["close", "close"]);
      }));

    it("reports a plain function that throws and closes its transport", () =>
      runVirtual(function* () {
        const seen = captureExceptions(getRunningLoop());
        const error = new Error("sync");
        const [, transport] = connected(new StreamReader(), () => {
          throw error;
        });
        assert.deepEqual(transport.log, ["close"]);
        assert.deepEqual(
          seen.map((context) => [context.message, context.exception]),
          [["Unhandled exception in client_connected_cb", error]],
        );
        yield* sleep(0);
      }));
  });

  describe("write flow control", () => {
    // asyncio: test_multiple_drain
    it("wakes every waiting drain when writing resumes", () =>
      runVirtual(function* () {
        const [protocol] = connected(new StreamReader());
        protocol.pauseWriting();
        assert.equal(String(protocol), "<StreamReaderProtocol transport=<FakeTransport> paused>");
        getRunningLoop().callLater(0.1, () => {
          protocol.resumeWriting();
        });
        let drained = 0;
        function* drainer(): Coro<void> {
          yield* protocol._drainHelper();
          drained++;
        }
        yield* gather(...Array.from({ length: 10 }, () => drainer()));
        assert.equal(drained, 10);
        assert.equal(getRunningLoop().time(), 0.1);
      }));

    it("returns from a drain at once while writing is not paused", () =>
      runVirtual(function* () {
        const [protocol] = connected(new StreamReader());
        const drain = protocol._drainHelper();
        assert.deepEqual(drain.next(), { done: true, value: undefined });
      }));

    it("wakes paused drains with the connection's error, or without one", () =>
      runVirtual(function* () {
        let [protocol] = connected(new StreamReader());
        protocol.pauseWriting();
        const failed = [createTask(protocol._drainHelper()), createTask(protocol._drainHelper())];
        yield* sleep(0);
        const error = new ZeroDivisionError();
        protocol.connectionLost(error);
        for (const task of failed) assert.equal(yield* thrownBy(task), error);

        [protocol] = connected(new StreamReader());
        protocol.pauseWriting();
        const woken = createTask(protocol._drainHelper());
        yield* sleep(0);
        protocol.connectionLost(null);
        yield* woken;
      }));

    it("throws `Connection lost` (code ECONNRESET) from a drain after the connection is lost", () =>
      runVirtual(function* () {
        const [protocol] = connected(new StreamReader());
        protocol.connectionLost(null);
        const error = yield* thrownBy(protocol._drainHelper());
        assert.ok(error instanceof Error);
        assert.equal(error.message, "Connection lost");
        assert.equal((error as Error & { code?: string }).code, "ECONNRESET");
      }));

    it("drops a cancelled drain and still wakes the others", () =>
      runVirtual(function* () {
        const [protocol] = connected(new StreamReader());
        protocol.pauseWriting();
        const cancelled = createTask(protocol._drainHelper());
        const kept = createTask(protocol._drainHelper());
        yield* sleep(0);
        cancelled.cancel();
        assert.ok((yield* thrownBy(cancelled)) instanceof CancelledError);
        protocol.resumeWriting();
        yield* kept;
        assert.equal(kept.done(), true);
      }));
  });
});
