// Tests for src/streams/reader.ts: StreamReader fed by hand on the virtual clock (no
// sockets). Ported from CPython's test_streams.py, plus pausing a fake transport,
// cancellation that loses no data, and the forEachLine idiom.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { inspect } from "node:util";
import {
  CancelledError,
  IncompleteReadError,
  LimitOverrunError,
  RuntimeError,
  createTask,
  getRunningLoop,
  sleep,
  type BaseProtocol,
  type Coro,
  type ReadTransport,
} from "../../src/index.ts";
import { StreamReader } from "../../src/streams/index.ts";
import { runVirtual } from "../../src/testing.ts";
import { thrownBy } from "../helpers/coro.ts";
import { ValueError, throwsExactly } from "../helpers/errors.ts";

const b = (text: string): Buffer => Buffer.from(text);
const DATA = b("line1\nline2\nline3\n");

/** The bytes the reader holds. */
function buffered(reader: StreamReader): Buffer {
  return Buffer.from(reader._buffered());
}

/** A read transport that logs pauseReading/resumeReading. */
class FakeReadTransport implements ReadTransport {
  readonly log: string[] = [];
  #reading = true;

  toString(): string {
    return "<Transport>";
  }
  getExtraInfo(_name: string, defaultValue?: unknown): unknown {
    return defaultValue;
  }
  isClosing(): boolean {
    return false;
  }
  close(): void {}
  setProtocol(_protocol: BaseProtocol): void {}
  getProtocol(): BaseProtocol {
    return {};
  }
  isReading(): boolean {
    return this.#reading;
  }
  pauseReading(): void {
    this.#reading = false;
    this.log.push("pause");
  }
  resumeReading(): void {
    this.#reading = true;
    this.log.push("resume");
  }
}

/** Assert that `error` is an IncompleteReadError with these fields and message. */
function assertIncomplete(error: unknown, partial: string, expected: number | null): void {
  assert.ok(
    error instanceof IncompleteReadError,
    `expected IncompleteReadError, got ${String(error)}`,
  );
  assert.deepEqual(Buffer.from(error.partial), b(partial));
  assert.equal(error.expected, expected);
  assert.equal(
    error.message,
    `${partial.length} bytes read on a total of ${expected === null ? "undefined" : String(expected)} expected bytes`,
  );
}

/** Assert that `error` is a LimitOverrunError with this message and `consumed`. */
function assertOverrun(error: unknown, message: string, consumed: number): void {
  assert.ok(error instanceof LimitOverrunError, `expected LimitOverrunError, got ${String(error)}`);
  assert.equal(error.message, message);
  assert.equal(error.consumed, consumed);
}

const NOT_FOUND = "Separator is not found, and chunk exceed the limit";
const IS_FOUND = "Separator is found, but chunk is longer than limit";

describe("StreamReader", () => {
  describe("constructor and feeding", () => {
    // asyncio: test_invalid_limit
    it("rejects a limit <= 0 with asyncio's message", () => {
      throwsExactly(() => new StreamReader(0), RangeError, "Limit cannot be <= 0");
      throwsExactly(() => new StreamReader(-1), RangeError, "Limit cannot be <= 0");
      throwsExactly(
        () => new StreamReader("10" as unknown as number),
        TypeError,
        "limit must be a number, got '10'",
      );
      assert.equal(new StreamReader().limit, 65536);
      assert.equal(new StreamReader(3).limit, 3);
    });

    // asyncio: test_feed_empty_data
    it("ignores empty data", () => {
      const reader = new StreamReader();
      reader.feedData(b(""));
      assert.deepEqual(buffered(reader), b(""));
      assert.equal(String(reader), "<StreamReader>");
    });

    // asyncio: test_feed_nonempty_data
    it("buffers a copy of the data it is fed", () => {
      const reader = new StreamReader();
      const data = Buffer.from(DATA);
      reader.feedData(data);
      data.fill(0);
      assert.deepEqual(buffered(reader), DATA);
    });

    it("rejects data that is not a Uint8Array, and data after EOF", () => {
      const reader = new StreamReader();
      throwsExactly(
        () => {
          reader.feedData("text" as unknown as Uint8Array);
        },
        TypeError,
        "data must be a Uint8Array, got 'text'",
      );
      reader.feedEof();
      throwsExactly(
        () => {
          reader.feedData(b("x"));
        },
        RuntimeError,
        "feedData() called after feedEof()",
      );
    });

    it("accepts one transport only", () => {
      const reader = new StreamReader();
      reader.setTransport(new FakeReadTransport());
      throwsExactly(
        () => {
          reader.setTransport(new FakeReadTransport());
        },
        RuntimeError,
        "Transport already set",
      );
    });

    // asyncio: test_at_eof
    it("is at EOF once EOF was fed and the buffer is empty", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        assert.equal(reader.atEof(), false);
        reader.feedData(b("some data\n"));
        assert.equal(reader.atEof(), false);
        yield* reader.readline();
        assert.equal(reader.atEof(), false);
        reader.feedData(b("some data\n"));
        reader.feedEof();
        assert.equal(reader.atEof(), false);
        yield* reader.readline();
        assert.equal(reader.atEof(), true);
      }));

    // asyncio: test_streamreader_constructor_use_running_loop (tsyncio binds lazily)
    it("is bound to the first loop that makes a read wait", async () => {
      const reader = new StreamReader();
      await runVirtual(function* () {
        const task = createTask(reader.read(1));
        yield* sleep(0);
        reader.feedData(b("a"));
        yield* task;
      });
      await runVirtual(function* () {
        reader.feedData(b("b"));
        // Reads that need not wait work on any loop.
        assert.deepEqual(yield* reader.read(1), b("b"));
        const error = yield* thrownBy(reader.read(1));
        assert.ok(error instanceof RuntimeError);
        assert.equal(error.message, "<StreamReader> is bound to a different event loop");
      });
    });

    // asyncio: test_exception
    it("returns the exception it was given", () => {
      const reader = new StreamReader();
      assert.equal(reader.exception(), null);
      const error = new ValueError();
      reader.setException(error);
      assert.equal(reader.exception(), error);
    });
  });

  describe("read()", () => {
    // asyncio: test_read_zero
    it("returns empty bytes for n = 0 and keeps the buffer", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(DATA);
        assert.deepEqual(yield* reader.read(0), b(""));
        assert.deepEqual(buffered(reader), DATA);
      }));

    // asyncio: test_read
    it("waits for data, then returns what arrived", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const task = createTask(reader.read(30));
        getRunningLoop().callSoon(() => {
          reader.feedData(DATA);
        });
        assert.deepEqual(yield* task, DATA);
        assert.deepEqual(buffered(reader), b(""));
      }));

    // asyncio: test_read_line_breaks
    it("returns at most n bytes", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("line1"));
        reader.feedData(b("line2"));
        assert.deepEqual(yield* reader.read(5), b("line1"));
        assert.deepEqual(buffered(reader), b("line2"));
      }));

    it("joins chunks when n spans several of them", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("ab"));
        reader.feedData(b("cd"));
        reader.feedData(b("ef"));
        assert.deepEqual(yield* reader.read(5), b("abcde"));
        assert.deepEqual(buffered(reader), b("f"));
        assert.ok(Buffer.isBuffer(yield* reader.read(1)));
      }));

    // asyncio: test_read_eof
    it("returns empty bytes when EOF comes first", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const task = createTask(reader.read(1024));
        getRunningLoop().callSoon(() => {
          reader.feedEof();
        });
        assert.deepEqual(yield* task, b(""));
        assert.deepEqual(buffered(reader), b(""));
      }));

    // asyncio: test_read_until_eof
    it("reads everything until EOF when n < 0", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const task = createTask(reader.read(-1));
        getRunningLoop().callSoon(() => {
          reader.feedData(b("chunk1\n"));
          reader.feedData(b("chunk2"));
          reader.feedEof();
        });
        assert.deepEqual(yield* task, b("chunk1\nchunk2"));
        assert.deepEqual(buffered(reader), b(""));
      }));

    // asyncio: test_read_exception
    it("throws the stored exception", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("line\n"));
        assert.deepEqual(yield* reader.read(2), b("li"));
        const error = new ValueError();
        reader.setException(error);
        assert.equal(yield* thrownBy(reader.read(2)), error);
      }));

    // asyncio: test_read_limit
    it("is not capped by the limit", () =>
      runVirtual(function* () {
        const reader = new StreamReader(3);
        reader.feedData(b("chunk"));
        assert.deepEqual(yield* reader.read(5), b("chunk"));
        assert.deepEqual(buffered(reader), b(""));
      }));

    it("rejects an n that is not an integer", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const error = yield* thrownBy(reader.read(1.5));
        assert.ok(error instanceof TypeError);
        assert.equal(error.message, "n must be an integer, got 1.5");
      }));
  });

  describe("readline()", () => {
    // asyncio: test_readline
    it("waits across chunks for the newline and keeps what follows", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("chunk1 "));
        const task = createTask(reader.readline());
        getRunningLoop().callSoon(() => {
          reader.feedData(b("chunk2 "));
          reader.feedData(b("chunk3 "));
          reader.feedData(b("\n chunk4"));
        });
        assert.deepEqual(yield* task, b("chunk1 chunk2 chunk3 \n"));
        assert.deepEqual(buffered(reader), b(" chunk4"));
      }));

    // asyncio: test_readline_limit_with_existing_data
    it("over the limit, drops the line when its newline is buffered, else the whole buffer", () =>
      runVirtual(function* () {
        let reader = new StreamReader(3);
        reader.feedData(b("li"));
        reader.feedData(b("ne1\nline2\n"));
        let error = yield* thrownBy(reader.readline());
        assert.ok(error instanceof RangeError);
        assert.equal(error.message, IS_FOUND);
        assertOverrun(error.cause, IS_FOUND, 5);
        assert.deepEqual(buffered(reader), b("line2\n"));

        reader = new StreamReader(3);
        reader.feedData(b("li"));
        reader.feedData(b("ne1"));
        reader.feedData(b("li"));
        error = yield* thrownBy(reader.readline());
        assert.ok(error instanceof RangeError);
        assert.equal(error.message, NOT_FOUND);
        assert.deepEqual(buffered(reader), b(""));
      }));

    // asyncio: test_readline_limit
    it("over the limit with data arriving later, throws and drops the line", () =>
      runVirtual(function* () {
        let reader = new StreamReader(7);
        let feeder = reader;
        getRunningLoop().callSoon(() => {
          feeder.feedData(b("chunk1"));
          feeder.feedData(b("chunk2"));
          feeder.feedData(b("chunk3\n"));
          feeder.feedEof();
        });
        assert.ok((yield* thrownBy(reader.readline())) instanceof RangeError);
        assert.deepEqual(buffered(reader), b(""));

        reader = new StreamReader(7);
        feeder = reader;
        getRunningLoop().callSoon(() => {
          feeder.feedData(b("chunk1"));
          feeder.feedData(b("chunk2\n"));
          feeder.feedData(b("chunk3\n"));
          feeder.feedEof();
        });
        assert.ok((yield* thrownBy(reader.readline())) instanceof RangeError);
        assert.deepEqual(buffered(reader), b("chunk3\n"));

        // The limit is strict, and does not count the newline.
        reader = new StreamReader(7);
        reader.feedData(b("1234567\n"));
        assert.deepEqual(yield* reader.readline(), b("1234567\n"));
        assert.deepEqual(buffered(reader), b(""));
        reader.feedData(b("12345678\n"));
        assert.ok((yield* thrownBy(reader.readline())) instanceof RangeError);
        assert.deepEqual(buffered(reader), b(""));
        reader.feedData(b("12345678"));
        assert.ok((yield* thrownBy(reader.readline())) instanceof RangeError);
        assert.deepEqual(buffered(reader), b(""));
      }));

    // asyncio: test_readline_nolimit_nowait
    it("returns the first buffered line without waiting", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(DATA.subarray(0, 6));
        reader.feedData(DATA.subarray(6));
        assert.deepEqual(yield* reader.readline(), b("line1\n"));
        assert.deepEqual(buffered(reader), b("line2\nline3\n"));
      }));

    // asyncio: test_readline_eof, test_readline_empty_eof
    it("returns the partial line at EOF, then empty bytes", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("some data"));
        reader.feedEof();
        assert.deepEqual(yield* reader.readline(), b("some data"));
        assert.deepEqual(yield* reader.readline(), b(""));
      }));

    // asyncio: test_readline_read_byte_count
    it("leaves the rest for read(n)", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(DATA);
        yield* reader.readline();
        assert.deepEqual(yield* reader.read(7), b("line2\nl"));
        assert.deepEqual(buffered(reader), b("ine3\n"));
      }));

    // asyncio: test_readline_exception
    it("throws the stored exception", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("line\n"));
        assert.deepEqual(yield* reader.readline(), b("line\n"));
        const error = new ValueError();
        reader.setException(error);
        assert.equal(yield* thrownBy(reader.readline()), error);
        assert.deepEqual(buffered(reader), b(""));
      }));
  });

  describe("readUntil()", () => {
    // asyncio: test_readuntil_separator
    it("rejects an empty separator and an empty list", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const cases: [Uint8Array | Uint8Array[], string][] = [
          [b(""), "Separator should be at least one-byte string"],
          [[b("")], "Separator should be at least one-byte string"],
          [[], "Separator should contain at least one element"],
        ];
        for (const [separator, message] of cases) {
          const error = yield* thrownBy(reader.readUntil(separator));
          assert.ok(error instanceof RangeError);
          assert.equal(error.message, message);
        }
        const error = yield* thrownBy(reader.readUntil("\n" as unknown as Uint8Array));
        assert.ok(error instanceof TypeError);
        assert.equal(error.message, "separator must be a Uint8Array, got '\\n'");
      }));

    it("reads a line by default", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("a\nb"));
        assert.deepEqual(yield* reader.readUntil(), b("a\n"));
        assert.deepEqual(buffered(reader), b("b"));
      }));

    // asyncio: test_readuntil_multi_chunks
    it("returns the bytes up to and including the separator", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("lineAAA"));
        assert.deepEqual(yield* reader.readUntil(b("AAA")), b("lineAAA"));
        assert.deepEqual(buffered(reader), b(""));
        reader.feedData(b("lineAAA"));
        assert.deepEqual(yield* reader.readUntil(b("AAA")), b("lineAAA"));
        assert.deepEqual(buffered(reader), b(""));
        reader.feedData(b("lineAAAxxx"));
        assert.deepEqual(yield* reader.readUntil(b("AAA")), b("lineAAA"));
        assert.deepEqual(buffered(reader), b("xxx"));
      }));

    // asyncio: test_readuntil_multi_chunks_1
    it("finds a separator split across chunks", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const cases: [string[], string][] = [
          [["QWEaa", "XYaa", "a"], "QWEaaXYaaa"],
          [["QWEaa", "XYa", "aa"], "QWEaaXYaaa"],
          [["aaa"], "aaa"],
          [["Xaaa"], "Xaaa"],
          [["XXX", "a", "a", "a"], "XXXaaa"],
        ];
        for (const [chunks, expected] of cases) {
          for (const chunk of chunks) reader.feedData(b(chunk));
          assert.deepEqual(yield* reader.readUntil(b("aaa")), b(expected));
          assert.deepEqual(buffered(reader), b(""));
        }
      }));

    it("finds the first separator whatever the chunk boundaries", () =>
      runVirtual(function* () {
        const text = "xyABxABCyABCDz";
        const separator = b("ABCD");
        for (let first = 1; first < text.length; first++) {
          for (let second = first + 1; second < text.length; second++) {
            const reader = new StreamReader();
            reader.feedData(b(text.slice(0, first)));
            reader.feedData(b(text.slice(first, second)));
            reader.feedData(b(text.slice(second)));
            assert.deepEqual(yield* reader.readUntil(separator), b("xyABxABCyABCD"));
            assert.deepEqual(buffered(reader), b("z"));
          }
        }
      }));

    // asyncio: test_readuntil_eof
    it("at EOF before a separator, throws IncompleteReadError and clears the buffer", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("some dataAA"));
        reader.feedEof();
        assertIncomplete(yield* thrownBy(reader.readUntil(b("AAA"))), "some dataAA", null);
        assert.deepEqual(buffered(reader), b(""));
      }));

    // asyncio: test_readuntil_limit_found_sep
    it("over the limit, throws LimitOverrunError and keeps the data", () =>
      runVirtual(function* () {
        const reader = new StreamReader(3);
        reader.feedData(b("some dataAA"));
        assertOverrun(yield* thrownBy(reader.readUntil(b("AAA"))), NOT_FOUND, 9);
        assert.deepEqual(buffered(reader), b("some dataAA"));
        reader.feedData(b("A"));
        assertOverrun(yield* thrownBy(reader.readUntil(b("AAA"))), IS_FOUND, 9);
        assert.deepEqual(buffered(reader), b("some dataAAA"));
      }));

    // asyncio: test_readuntil_multi_separator
    it("with several separators, returns the shortest match", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("line 1\nline 2\r"));
        assert.deepEqual(yield* reader.readUntil([b("\r"), b("\n")]), b("line 1\n"));
        assert.deepEqual(yield* reader.readUntil([b("\r"), b("\n")]), b("line 2\r"));
        assert.deepEqual(buffered(reader), b(""));
        // The earliest end wins, even for the longer separator.
        reader.feedData(b("ABCDEFG"));
        assert.deepEqual(yield* reader.readUntil([b("DEF"), b("BCDE")]), b("ABCDE"));
        assert.deepEqual(buffered(reader), b("FG"));
      }));

    // asyncio: test_readuntil_multi_separator_limit
    it("with several separators, checks the limit against the match", () =>
      runVirtual(function* () {
        const reader = new StreamReader(3);
        reader.feedData(b("some dataA"));
        assertOverrun(yield* thrownBy(reader.readUntil([b("A"), b("ome dataA")])), IS_FOUND, 9);
        assert.deepEqual(buffered(reader), b("some dataA"));
      }));

    // asyncio: test_readuntil_multi_separator_negative_offset
    it("with a separator longer than the buffer, keeps searching from the start", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("data"));
        const task = createTask(reader.readUntil([b("A"), b("long sep")]));
        const loop = getRunningLoop();
        loop.callSoon(() => {
          reader.feedData(b("Z"));
        });
        loop.callSoon(() => {
          reader.feedData(b("Aaaa"));
        });
        assert.deepEqual(yield* task, b("dataZA"));
        assert.deepEqual(buffered(reader), b("aaa"));
      }));

    // asyncio: test_readuntil_bytearray
    it("takes any Uint8Array as separator", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("some data\r\n"));
        assert.deepEqual(yield* reader.readUntil(new Uint8Array([13, 10])), b("some data\r\n"));
        assert.deepEqual(buffered(reader), b(""));
      }));
  });

  describe("readExactly()", () => {
    // asyncio: test_readexactly_zero_or_less
    it("returns empty bytes for 0 and rejects a negative size", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(DATA);
        assert.deepEqual(yield* reader.readExactly(0), b(""));
        assert.deepEqual(buffered(reader), DATA);
        const error = yield* thrownBy(reader.readExactly(-1));
        assert.ok(error instanceof RangeError);
        assert.equal(error.message, "readexactly size can not be less than zero");
        assert.deepEqual(buffered(reader), DATA);
      }));

    // asyncio: test_readexactly
    it("waits until n bytes arrived", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const task = createTask(reader.readExactly(2 * DATA.length));
        getRunningLoop().callSoon(() => {
          reader.feedData(DATA);
          reader.feedData(DATA);
          reader.feedData(DATA);
        });
        assert.deepEqual(yield* task, Buffer.concat([DATA, DATA]));
        assert.deepEqual(buffered(reader), DATA);
      }));

    // asyncio: test_readexactly_limit
    it("is not capped by the limit", () =>
      runVirtual(function* () {
        const reader = new StreamReader(3);
        reader.feedData(b("chunk"));
        assert.deepEqual(yield* reader.readExactly(5), b("chunk"));
        assert.deepEqual(buffered(reader), b(""));
      }));

    // asyncio: test_readexactly_eof
    it("at EOF before n bytes, throws IncompleteReadError with what arrived", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const task = createTask(reader.readExactly(2 * DATA.length));
        getRunningLoop().callSoon(() => {
          reader.feedData(DATA);
          reader.feedEof();
        });
        const error = yield* thrownBy(task);
        assertIncomplete(error, DATA.toString(), 36);
        assert.equal(
          String(error),
          "IncompleteReadError: 18 bytes read on a total of 36 expected bytes",
        );
        assert.deepEqual(buffered(reader), b(""));
      }));

    // asyncio: test_readexactly_exception
    it("throws the stored exception", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("line\n"));
        assert.deepEqual(yield* reader.readExactly(2), b("li"));
        const error = new ValueError();
        reader.setException(error);
        assert.equal(yield* thrownBy(reader.readExactly(2)), error);
      }));
  });

  describe("waiting readers", () => {
    // asyncio: test_exception_waiter
    it("a waiting readline() gets the exception set meanwhile", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const task = createTask(reader.readline());
        yield* sleep(0);
        const error = new ValueError();
        reader.setException(error);
        assert.equal(yield* thrownBy(task), error);
      }));

    // asyncio: test_exception_cancel
    it("setException() after the waiting task was cancelled is harmless", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const task = createTask(reader.readline());
        yield* sleep(0);
        task.cancel();
        yield* sleep(0);
        reader.setException(new RuntimeError("message"));
        yield* sleep(0);
        assert.equal(task.cancelled(), true);
        assert.equal(String(reader), "<StreamReader exception=RuntimeError('message')>");
      }));

    it("refuses a second task waiting for data, naming the method it called", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const first = createTask(reader.read(1));
        yield* sleep(0);
        const calls: [string, () => Coro<unknown>][] = [
          ["read", () => reader.read(1)],
          ["readline", () => reader.readline()],
          ["readUntil", () => reader.readUntil(b("x"))],
          ["readExactly", () => reader.readExactly(1)],
        ];
        for (const [name, call] of calls) {
          const error = yield* thrownBy(call);
          assert.ok(error instanceof RuntimeError);
          assert.equal(
            error.message,
            `${name}() called while another coroutine is already waiting for incoming data`,
          );
        }
        reader.feedData(b("ab"));
        assert.deepEqual(yield* first, b("a"));
        assert.deepEqual(yield* reader.read(1), b("b"));
      }));

    it("cancelling a blocked read of each kind loses no data", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const reads: (() => Coro<Uint8Array>)[] = [
          () => reader.read(10),
          () => reader.read(),
          () => reader.readline(),
          () => reader.readUntil(b("!")),
          () => reader.readExactly(10),
        ];
        for (const read of reads) {
          const task = createTask(read());
          yield* sleep(0);
          reader.feedData(b("ab"));
          // The data is in; the task is cancelled before it could take it.
          task.cancel();
          assert.ok((yield* thrownBy(task)) instanceof CancelledError);
          assert.equal(String(reader), `<StreamReader 2 bytes>`);
          assert.deepEqual(yield* reader.read(2), b("ab"));
        }
      }));

    it("cancelling read() to EOF halfway puts back what it gathered", () =>
      runVirtual(function* () {
        const reader = new StreamReader(4);
        const task = createTask(reader.read());
        yield* sleep(0);
        reader.feedData(b("0123456789"));
        yield* sleep(0);
        reader.feedData(b("ab"));
        yield* sleep(0);
        task.cancel();
        assert.ok((yield* thrownBy(task)) instanceof CancelledError);
        reader.feedData(b("cd"));
        reader.feedEof();
        assert.deepEqual(yield* reader.read(), b("0123456789abcd"));
      }));

    it("can be read again after a cancelled readExactly()", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("abc"));
        const task = createTask(reader.readExactly(5));
        yield* sleep(0);
        task.cancel();
        assert.ok((yield* thrownBy(task)) instanceof CancelledError);
        reader.feedData(b("de"));
        assert.deepEqual(yield* reader.readExactly(5), b("abcde"));
      }));
  });

  describe("transport flow control", () => {
    it("pauses the transport above 2 × limit and resumes it at <= limit", () =>
      runVirtual(function* () {
        const reader = new StreamReader(4);
        const transport = new FakeReadTransport();
        reader.setTransport(transport);
        reader.feedData(b("12345678"));
        assert.deepEqual(transport.log, []);
        reader.feedData(b("9"));
        assert.deepEqual(transport.log, ["pause"]);
        assert.equal(String(reader), "<StreamReader 9 bytes limit=4 transport=<Transport> paused>");
        reader.feedData(b("abc"));
        assert.deepEqual(transport.log, ["pause"]);
        assert.deepEqual(yield* reader.read(7), b("1234567"));
        assert.deepEqual(transport.log, ["pause"]);
        assert.deepEqual(yield* reader.read(1), b("8"));
        assert.deepEqual(transport.log, ["pause", "resume"]);
        assert.equal(String(reader), "<StreamReader 4 bytes limit=4 transport=<Transport>>");
      }));

    it("resumes a paused transport when a read must wait (readExactly beyond 2 × limit)", () =>
      runVirtual(function* () {
        const reader = new StreamReader(2);
        const transport = new FakeReadTransport();
        reader.setTransport(transport);
        const task = createTask(reader.readExactly(8));
        yield* sleep(0);
        reader.feedData(b("12345"));
        assert.deepEqual(transport.log, ["pause"]);
        yield* sleep(0);
        assert.deepEqual(transport.log, ["pause", "resume"]);
        reader.feedData(b("678"));
        assert.deepEqual(yield* task, b("12345678"));
        assert.deepEqual(transport.log, ["pause", "resume", "pause", "resume"]);
      }));

    it("resumes the transport when readline() drops an overlong line", () =>
      runVirtual(function* () {
        const reader = new StreamReader(2);
        const transport = new FakeReadTransport();
        reader.setTransport(transport);
        reader.feedData(b("12345\nab"));
        assert.ok((yield* thrownBy(reader.readline())) instanceof RangeError);
        assert.deepEqual(transport.log, ["pause", "resume"]);
        assert.deepEqual(buffered(reader), b("ab"));
      }));
  });

  describe("forEachLine()", () => {
    it("calls a generator body with each line until EOF", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const log: string[] = [];
        getRunningLoop().callSoon(() => {
          reader.feedData(b("one\ntw"));
          reader.feedData(b("o\nthree"));
          reader.feedEof();
        });
        yield* reader.forEachLine(function* (line) {
          log.push(Buffer.from(line).toString());
          yield* sleep(1);
        });
        assert.deepEqual(log, ["one\n", "two\n", "three"]);
        assert.equal(getRunningLoop().time(), 3);
        assert.equal(reader.atEof(), true);
      }));

    it("calls a plain function body, and stops when the body returns false", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("GET / HTTP/1.1\r\nHost: x\r\n\r\nbody"));
        const headers: string[] = [];
        yield* reader.forEachLine((line) => {
          const text = Buffer.from(line).toString();
          if (text === "\r\n") return false;
          headers.push(text.trimEnd());
          return true;
        });
        assert.deepEqual(headers, ["GET / HTTP/1.1", "Host: x"]);
        assert.deepEqual(buffered(reader), b("body"));
      }));

    it("throws what the body throws, and what readline() throws", () =>
      runVirtual(function* () {
        let reader = new StreamReader();
        reader.feedData(b("a\nb\n"));
        const error = new ValueError("bad line");
        assert.equal(
          yield* thrownBy(
            reader.forEachLine(() => {
              throw error;
            }),
          ),
          error,
        );
        assert.deepEqual(buffered(reader), b("b\n"));

        reader = new StreamReader(2);
        reader.feedData(b("abcdef\n"));
        assert.ok((yield* thrownBy(reader.forEachLine(() => {}))) instanceof RangeError);
        throwsExactly(
          () => reader.forEachLine(null as unknown as () => void).next(),
          TypeError,
          "body must be a function, got null",
        );
      }));

    it("is cancelled while waiting for a line, losing no data", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const lines: string[] = [];
        const task = createTask(
          reader.forEachLine((line) => {
            lines.push(Buffer.from(line).toString());
          }),
        );
        reader.feedData(b("x\npartial"));
        yield* sleep(0);
        task.cancel();
        assert.ok((yield* thrownBy(task)) instanceof CancelledError);
        assert.deepEqual(lines, ["x\n"]);
        assert.deepEqual(buffered(reader), b("partial"));
      }));

    it("reads lines with the inline for-loop form too", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        reader.feedData(b("1\n2\n"));
        reader.feedEof();
        const lines: string[] = [];
        for (let line; (line = yield* reader.readline()).length > 0;) {
          lines.push(Buffer.from(line).toString());
        }
        assert.deepEqual(lines, ["1\n", "2\n"]);
      }));
  });

  describe("toString()", () => {
    // asyncio: test___repr__
    it("shows a fresh reader bare", () => {
      const reader = new StreamReader();
      assert.equal(String(reader), "<StreamReader>");
      assert.equal(inspect(reader), "<StreamReader>");
    });

    // asyncio: test___repr__nondefault_limit
    it("shows a limit that is not the default", () => {
      assert.equal(String(new StreamReader(123)), "<StreamReader limit=123>");
    });

    // asyncio: test___repr__eof
    it("shows EOF", () => {
      const reader = new StreamReader();
      reader.feedEof();
      assert.equal(String(reader), "<StreamReader eof>");
    });

    // asyncio: test___repr__data
    it("shows the number of buffered bytes", () => {
      const reader = new StreamReader();
      reader.feedData(b("data"));
      assert.equal(String(reader), "<StreamReader 4 bytes>");
    });

    // asyncio: test___repr__exception
    it("shows the exception", () => {
      const reader = new StreamReader();
      reader.setException(new RuntimeError());
      assert.equal(String(reader), "<StreamReader exception=RuntimeError()>");
    });

    // asyncio: test___repr__waiter
    it("shows the waiter while a read waits", () =>
      runVirtual(function* () {
        const reader = new StreamReader();
        const task = createTask(reader.read(1));
        yield* sleep(0);
        assert.match(String(reader), /^<StreamReader waiter=<Future pending[\S ]*>>$/);
        reader.feedData(b("x"));
        yield* task;
        assert.equal(String(reader), "<StreamReader>");
      }));

    // asyncio: test___repr__transport
    it("shows the transport", () => {
      const reader = new StreamReader();
      reader.setTransport(new FakeReadTransport());
      assert.equal(String(reader), "<StreamReader transport=<Transport>>");
    });
  });
});
