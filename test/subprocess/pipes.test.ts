// Tests for src/subprocess/pipes.ts through loop.connectReadPipe and loop.connectWritePipe,
// over Node PassThrough streams (in memory) and a real child's pipe. Ported from CPython's
// test_unix_events.py (UnixReadPipeTransportTests, UnixWritePipeTransportTests): callback
// order, pause/resume, flow control, close and abort.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { PassThrough } from "node:stream";
import { getRunningLoop, sleep, type Coro, type Future, type Protocol } from "../../src/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { captureConsole } from "../helpers/capture.ts";
import { thrownBy } from "../helpers/coro.ts";

/** A protocol that logs its callbacks; `lost` settles at connectionLost. */
class Recorder implements Protocol {
  readonly log: string[] = [];
  readonly lost: Future<undefined> = getRunningLoop().createFuture<undefined>();
  connectionMade(): void {
    this.log.push("made");
  }
  dataReceived(data: Uint8Array): void {
    this.log.push(`data ${Buffer.from(data).toString()}`);
  }
  eofReceived(): void {
    this.log.push("eof");
  }
  pauseWriting(): void {
    this.log.push("pause");
  }
  resumeWriting(): void {
    this.log.push("resume");
  }
  connectionLost(error: Error | null): void {
    this.log.push(`lost ${error === null ? "null" : String((error as { code?: string }).code)}`);
    this.lost.setResult(undefined);
  }
}

/** Let Node deliver what is pending, then the loop run what that scheduled. */
function* settle(): Coro<void> {
  for (let i = 0; i < 3; i++) yield* sleep(0.001);
}

describe("loop.connectReadPipe", () => {
  // asyncio: test_ctor, test__read_ready, test__read_ready_eof
  it("delivers data, then eofReceived, then connectionLost(null) (real I/O)", () =>
    runVirtual(function* () {
      const pipe = new PassThrough();
      const [transport, protocol] = yield* getRunningLoop().connectReadPipe(
        () => new Recorder(),
        pipe,
      );
      assert.deepEqual(protocol.log, ["made"]);
      assert.equal(transport.getExtraInfo("pipe"), pipe);
      pipe.write("one");
      yield* settle();
      pipe.end("two");
      yield* protocol.lost;
      assert.deepEqual(protocol.log, ["made", "data one", "data two", "eof", "lost null"]);
      assert.equal(transport.isClosing(), true);
    }));

  // asyncio: test_pause_reading, test_resume_reading
  it("pauseReading holds data back until resumeReading (real I/O)", () =>
    runVirtual(function* () {
      const pipe = new PassThrough();
      const [transport, protocol] = yield* getRunningLoop().connectReadPipe(
        () => new Recorder(),
        pipe,
      );
      transport.pauseReading();
      transport.pauseReading();
      assert.equal(transport.isReading(), false);
      pipe.write("held");
      yield* settle();
      assert.deepEqual(protocol.log, ["made"]);
      transport.resumeReading();
      transport.resumeReading();
      assert.equal(transport.isReading(), true);
      yield* settle();
      assert.deepEqual(protocol.log, ["made", "data held"]);
      transport.close();
      yield* protocol.lost;
    }));

  // asyncio: test_close, test__close
  it("close() stops reading and calls connectionLost(null) once (real I/O)", () =>
    runVirtual(function* () {
      const pipe = new PassThrough();
      const [transport, protocol] = yield* getRunningLoop().connectReadPipe(
        () => new Recorder(),
        pipe,
      );
      transport.close();
      transport.close();
      assert.equal(transport.isReading(), false);
      yield* protocol.lost;
      yield* settle();
      assert.deepEqual(protocol.log, ["made", "lost null"]);
      assert.equal(pipe.destroyed, true);
    }));

  // asyncio: test__read_ready_error
  it("a read error goes to the exception handler and to connectionLost (real I/O)", () =>
    runVirtual(function* () {
      const loop = getRunningLoop();
      const messages: string[] = [];
      loop.setExceptionHandler((_loop, context) => messages.push(context.message));
      const pipe = new PassThrough();
      const [, protocol] = yield* loop.connectReadPipe(() => new Recorder(), pipe);
      pipe.destroy(Object.assign(new Error("boom"), { code: "EBOOM" }));
      yield* protocol.lost;
      assert.deepEqual(protocol.log, ["made", "lost EBOOM"]);
      assert.deepEqual(messages, ["Fatal read error on pipe transport"]);
      loop.setExceptionHandler(null);
    }));

  it("reads a child's stdout given as a plain Node stream (real I/O)", () =>
    runVirtual(function* () {
      const child = spawn("sh", ["-c", "echo hi"], { stdio: ["ignore", "pipe", "ignore"] });
      const [, protocol] = yield* getRunningLoop().connectReadPipe(
        () => new Recorder(),
        child.stdout,
      );
      yield* protocol.lost;
      assert.deepEqual(protocol.log, ["made", "data hi\n", "eof", "lost null"]);
    }));

  it("rejects what is not a readable stream", () =>
    runVirtual(function* () {
      const error = yield* thrownBy(
        getRunningLoop().connectReadPipe(() => new Recorder(), {} as never),
      );
      assert.ok(error instanceof TypeError);
      assert.match(error.message, /pipe must be a Node Readable stream/);
    }));
});

describe("loop.connectWritePipe", () => {
  // asyncio: test_write, test_write_eof
  it("writes in order and writeEof ends the stream after the data (real I/O)", () =>
    runVirtual(function* () {
      const pipe = new PassThrough();
      const received: string[] = [];
      pipe.on("data", (chunk: Buffer) => received.push(chunk.toString()));
      const [transport, protocol] = yield* getRunningLoop().connectWritePipe(
        () => new Recorder(),
        pipe,
      );
      transport.write(Buffer.from("a"));
      transport.writelines([Buffer.from("b"), Buffer.from("c")]);
      transport.write(Buffer.alloc(0));
      transport.writeEof();
      assert.equal(transport.isClosing(), true);
      yield* protocol.lost;
      assert.deepEqual(received.join(""), "abc");
      assert.deepEqual(protocol.log, ["made", "lost null"]);
    }));

  // asyncio: test_write_buffer / flow control of _FlowControlMixin
  it("pauses the protocol above the high-water mark and resumes at the low one (real I/O)", () =>
    runVirtual(function* () {
      const pipe = new PassThrough({ highWaterMark: 16 });
      const [transport, protocol] = yield* getRunningLoop().connectWritePipe(
        () => new Recorder(),
        pipe,
      );
      transport.setWriteBufferLimits(100, 10);
      assert.deepEqual(transport.getWriteBufferLimits(), [10, 100]);
      transport.write(Buffer.alloc(300));
      assert.ok(transport.getWriteBufferSize() > 100);
      assert.deepEqual(protocol.log, ["made", "pause"]);
      pipe.resume();
      yield* settle();
      assert.deepEqual(protocol.log, ["made", "pause", "resume"]);
      transport.abort();
      yield* protocol.lost;
    }));

  // asyncio: test_abort
  it("abort() drops the buffer and calls connectionLost(null) (real I/O)", () =>
    runVirtual(function* () {
      const pipe = new PassThrough({ highWaterMark: 4 });
      const [transport, protocol] = yield* getRunningLoop().connectWritePipe(
        () => new Recorder(),
        pipe,
      );
      transport.write(Buffer.from("never read"));
      transport.abort();
      yield* protocol.lost;
      assert.equal(pipe.destroyed, true);
      assert.equal(transport.getWriteBufferSize(), 0);
      assert.deepEqual(protocol.log, ["made", "lost null"]);
    }));

  // asyncio: test_write_err / writes after close are dropped with a warning after 5
  it("drops writes after closing and warns once they keep coming (real I/O)", () =>
    runVirtual(function* () {
      const pipe = new PassThrough();
      const [transport, protocol] = yield* getRunningLoop().connectWritePipe(
        () => new Recorder(),
        pipe,
      );
      transport.close();
      const warnings = captureConsole("warn", () => {
        for (let i = 0; i < 5; i++) transport.write(Buffer.from("x"));
      });
      assert.deepEqual(warnings, ["pipe closed by peer or os.write(pipe, data) raised exception."]);
      yield* protocol.lost;
    }));

  // asyncio: test_write_no_data / bytes only
  it("rejects data that is not bytes", () =>
    runVirtual(function* () {
      const [transport, protocol] = yield* getRunningLoop().connectWritePipe(
        () => new Recorder(),
        new PassThrough(),
      );
      assert.throws(() => {
        transport.write("text" as never);
      }, TypeError);
      transport.abort();
      yield* protocol.lost;
    }));

  // asyncio: test__write_ready_err (EPIPE once the reader is gone)
  it("a reader that went away ends the transport with EPIPE (real I/O)", () =>
    runVirtual(function* () {
      const child = spawn("sh", ["-c", "exit 0"], { stdio: ["pipe", "ignore", "ignore"] });
      const [transport, protocol] = yield* getRunningLoop().connectWritePipe(
        () => new Recorder(),
        child.stdin,
      );
      while (!transport.isClosing()) {
        transport.write(Buffer.alloc(65536));
        yield* sleep(0.001);
      }
      yield* protocol.lost;
      assert.match(protocol.log.at(-1) ?? "", /^lost (EPIPE|null)$/);
    }));
});
