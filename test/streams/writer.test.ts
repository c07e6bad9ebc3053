// Tests for src/streams/writer.ts: StreamWriter over a fake transport and a real
// StreamReaderProtocol on the virtual clock. The same behaviours over real sockets (and
// startTls) are in connect.test.ts.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  createTask,
  getRunningLoop,
  sleep,
  type BaseProtocol,
  type Coro,
  type Future,
  type Transport,
} from "../../src/index.ts";
import { StreamReader, StreamReaderProtocol } from "../../src/streams/index.ts";
import { StreamWriter, type WriterProtocol } from "../../src/streams/writer.ts";
import { runVirtual } from "../../src/testing.ts";
import { thrownBy } from "../helpers/coro.ts";
import { ZeroDivisionError } from "../helpers/errors.ts";

const b = (text: string): Buffer => Buffer.from(text);

/**
 * A transport that logs what is done to it. `close()` calls the protocol's
 * `connectionLost(null)` on the next loop iteration, or, with `slowClose`, only when the
 * test calls `finishClose()` (a transport still flushing its buffer).
 */
class FakeTransport implements Transport {
  readonly log: string[] = [];
  readonly extra: Record<string, unknown> = { peername: ["127.0.0.1", 1234] };
  slowClose = false;
  #protocol: BaseProtocol;
  #closing = false;

  constructor(protocol: BaseProtocol) {
    this.#protocol = protocol;
  }
  toString(): string {
    return "<FakeTransport>";
  }
  getExtraInfo(name: string, defaultValue?: unknown): unknown {
    return name in this.extra ? this.extra[name] : defaultValue;
  }
  isClosing(): boolean {
    return this.#closing;
  }
  close(): void {
    this.log.push("close");
    if (this.#closing) return;
    this.#closing = true;
    if (!this.slowClose) {
      getRunningLoop().callSoon(() => {
        this.finishClose();
      });
    }
  }
  finishClose(error: Error | null = null): void {
    this.#protocol.connectionLost?.(error);
  }
  abort(): void {
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
  pauseReading(): void {}
  resumeReading(): void {}
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
    this.log.push(`writelines:${[...chunks].map((c) => Buffer.from(c).toString()).join("|")}`);
  }
  writeEof(): void {
    this.log.push("writeEof");
  }
  canWriteEof(): boolean {
    return false;
  }
}

interface Connection {
  reader: StreamReader;
  writer: StreamWriter;
  protocol: StreamReaderProtocol;
  transport: FakeTransport;
}

/** A client-side stream pair over a fake transport, as openConnection makes one. */
function open(): Connection {
  const reader = new StreamReader();
  const protocol = new StreamReaderProtocol(reader);
  const transport = new FakeTransport(protocol);
  protocol.connectionMade(transport);
  return { reader, writer: new StreamWriter(transport, protocol, reader), protocol, transport };
}

/** Whether `coro` finishes without suspending; runs it to its first suspension. */
function finishesAtOnce(coro: Coro<unknown>): boolean {
  return coro.next().done === true;
}

describe("StreamWriter", () => {
  it("passes writes, EOF, close and queries through to the transport", () =>
    runVirtual(function* () {
      const { writer, transport } = open();
      assert.equal(writer.transport, transport);
      writer.write(b("a"));
      writer.writelines([b("b"), b("c")]);
      assert.equal(writer.canWriteEof(), false);
      writer.writeEof();
      assert.deepEqual(writer.getExtraInfo("peername"), ["127.0.0.1", 1234]);
      assert.equal(writer.getExtraInfo("nothing"), undefined);
      assert.equal(writer.getExtraInfo("nothing", 7), 7);
      assert.equal(writer.isClosing(), false);
      writer.close();
      assert.equal(writer.isClosing(), true);
      yield* writer.waitClosed();
      assert.deepEqual(transport.log, ["write:a", "writelines:b|c", "writeEof", "close"]);
    }));

  it("shows its transport and reader", () =>
    runVirtual(function* () {
      const { writer, reader } = open();
      const expected =
        "<StreamWriter transport=<FakeTransport> reader=<StreamReader transport=<FakeTransport>>>";
      assert.equal(String(writer), expected);
      assert.equal(inspect(writer), expected);
      reader.feedData(b("xy"));
      assert.equal(
        String(new StreamWriter(writer.transport, open().protocol, null)),
        "<StreamWriter transport=<FakeTransport>>",
      );
    }));

  describe("drain()", () => {
    it("returns without suspending while writing is not paused", () =>
      runVirtual(function* () {
        const { writer } = open();
        assert.equal(finishesAtOnce(writer.drain()), true);
      }));

    it("waits while writing is paused, and several tasks may wait", () =>
      runVirtual(function* () {
        const { writer, protocol } = open();
        protocol.pauseWriting();
        const log: string[] = [];
        function* drainer(name: string): Coro<void> {
          yield* writer.drain();
          log.push(name);
        }
        const tasks = [createTask(drainer("a")), createTask(drainer("b"))];
        yield* sleep(5);
        assert.deepEqual(log, []);
        protocol.resumeWriting();
        for (const task of tasks) yield* task;
        assert.deepEqual(log, ["a", "b"]);
      }));

    it("throws the reader's exception first", () =>
      runVirtual(function* () {
        const { writer, reader, protocol } = open();
        const error = new ZeroDivisionError();
        reader.setException(error);
        protocol.connectionLost(null);
        assert.equal(yield* thrownBy(writer.drain()), error);
      }));

    // asyncio: test_async_writer_api_exception_after_close
    it("after close(), gives the loop one iteration, then throws `Connection lost`", () =>
      runVirtual(function* () {
        const { writer, transport } = open();
        writer.close();
        writer.write(b("data"));
        const error = yield* thrownBy(writer.drain());
        assert.ok(error instanceof Error);
        assert.equal(error.message, "Connection lost");
        assert.equal((error as Error & { code?: string }).code, "ECONNRESET");
        assert.deepEqual(transport.log, ["close", "write:data"]);
      }));

    it("while a close is still flushing, returns after one iteration", () =>
      runVirtual(function* () {
        const { writer, transport } = open();
        transport.slowClose = true;
        writer.close();
        const drain = writer.drain();
        assert.equal(finishesAtOnce(drain), false);
        yield* drain;
        transport.finishClose();
        yield* writer.waitClosed();
      }));

    it("throws the connection's error to a drain paused when it was lost", () =>
      runVirtual(function* () {
        const { writer, protocol, transport } = open();
        protocol.pauseWriting();
        const task = createTask(writer.drain());
        yield* sleep(0);
        const error = new ZeroDivisionError();
        transport.finishClose(error);
        assert.equal(yield* thrownBy(task), error);
      }));

    it("can be cancelled while paused; the writer stays usable", () =>
      runVirtual(function* () {
        const { writer, protocol } = open();
        protocol.pauseWriting();
        const task = createTask(writer.drain());
        yield* sleep(0);
        task.cancel();
        assert.ok((yield* thrownBy(task)) instanceof CancelledError);
        const again = createTask(writer.drain());
        yield* sleep(0);
        assert.equal(again.done(), false);
        protocol.resumeWriting();
        yield* again;
      }));
  });

  describe("waitClosed()", () => {
    it("returns once the connection is lost, for every waiter", () =>
      runVirtual(function* () {
        const { writer } = open();
        const waiters = [createTask(writer.waitClosed()), createTask(writer.waitClosed())];
        yield* sleep(1);
        assert.deepEqual(
          waiters.map((task) => task.done()),
          [false, false],
        );
        writer.close();
        for (const task of waiters) yield* task;
        yield* writer.waitClosed();
      }));

    it("throws the error the connection was lost with", () =>
      runVirtual(function* () {
        const { writer, transport } = open();
        const error = new ZeroDivisionError();
        transport.finishClose(error);
        assert.equal(yield* thrownBy(writer.waitClosed()), error);
      }));

    // Deliberate difference: in asyncio, cancelling one wait_closed() cancels the shared
    // close future, and every later wait_closed() raises CancelledError.
    // As asyncio 3.13: every wait shares one Future, so a cancelled wait cancels it and a
    // later waitClosed() throws CancelledError too; the transport is not touched.
    it("shares one Future between waits: cancelling one cancels the later ones, as asyncio", () =>
      runVirtual(function* () {
        const { writer, transport } = open();
        const task = createTask(writer.waitClosed());
        yield* sleep(0);
        task.cancel();
        assert.ok((yield* thrownBy(task)) instanceof CancelledError);
        assert.deepEqual(transport.log, []);
        writer.close();
        assert.ok((yield* thrownBy(writer.waitClosed())) instanceof CancelledError);
      }));
  });

  describe("startTls()", () => {
    it("refuses a writer whose protocol cannot switch transports", () =>
      runVirtual(function* () {
        const { transport } = open();
        const closed: Future<undefined> = getRunningLoop().createFuture();
        const protocol: WriterProtocol = {
          *_drainHelper(): Coro<void> {},
          _getCloseWaiter: () => closed,
        };
        const writer = new StreamWriter(transport, protocol, null);
        const error = yield* thrownBy(writer.startTls({}));
        assert.ok(error instanceof TypeError);
        assert.equal(error.message, "startTls() needs a writer made by the stream functions");
      }));

    it("refuses a transport that is not a socket transport, after draining", () =>
      runVirtual(function* () {
        const { writer, transport } = open();
        const error = yield* thrownBy(writer.startTls({}));
        assert.ok(error instanceof TypeError);
        assert.equal(
          error.message,
          "startTls() needs a transport made by tsyncio's TCP or Unix functions",
        );
        assert.equal(writer.transport, transport);
      }));
  });
});
