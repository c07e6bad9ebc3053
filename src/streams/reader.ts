/**
 * StreamReader: the bytes a connection received, read by one task at a time, as asyncio's
 * `streams.StreamReader` (3.13). Bytes come out as Node Buffers (typed Uint8Array) that may
 * share memory with the chunks the transport delivered; the reader never modifies them.
 */
import type { Coro } from "../coroutines.ts";
import { isCoroutine } from "../coroutines.ts";
import { IncompleteReadError, LimitOverrunError, RuntimeError } from "../exceptions.ts";
import type { Future } from "../futures.ts";
import { inspectAsString } from "../internal/inspect.ts";
import { LoopBinding } from "../internal/loop-binding.ts";
import { describe, validateFunction } from "../internal/validate.ts";
import type { ReadTransport } from "../transports.ts";

/** asyncio's `_DEFAULT_LIMIT`: 64 KiB. */
export const DEFAULT_LIMIT: number = 2 ** 16;

const EMPTY: Buffer = Buffer.alloc(0);
const NEWLINE: Buffer = Buffer.from("\n");

/**
 * The receiving end of a stream: a transport (through `StreamReaderProtocol`) feeds it,
 * tasks read from it.
 *
 * Only one task may wait for data at a time (a second one gets RuntimeError). Cancelling a
 * task blocked in a read loses no data: whatever arrived stays buffered for the next read.
 * A stored exception (`setException`, or the connection's error) is thrown by every later
 * read. When more than twice `limit` bytes are buffered the transport stops reading, and
 * it reads again once reads bring the buffer down to `limit` or less.
 *
 * Bound to the first loop that makes a task wait on it.
 */
export class StreamReader {
  readonly #binding = new LoopBinding();
  readonly #limit: number;
  readonly #buffer = new Chunks();
  #eof = false;
  /** The future a read waits on, while one does. */
  #waiter: Future<undefined> | null = null;
  #exception: Error | null = null;
  #transport: ReadTransport | null = null;
  /** Whether this reader paused the transport's reading. */
  #paused = false;

  /**
   * A reader whose lines (and `readUntil` chunks) may be at most `limit` bytes long, not
   * counting the separator; it also bounds the buffer to about 2 × `limit`.
   *
   * @throws RangeError `Limit cannot be <= 0`; TypeError when `limit` is not a number.
   */
  constructor(limit: number = DEFAULT_LIMIT) {
    validateLimit(limit);
    this.#limit = limit;
  }

  toString(): string {
    const info = ["StreamReader"];
    if (this.#buffer.size > 0) info.push(`${this.#buffer.size} bytes`);
    if (this.#eof) info.push("eof");
    if (this.#limit !== DEFAULT_LIMIT) info.push(`limit=${this.#limit}`);
    if (this.#waiter !== null) info.push(`waiter=${this.#waiter.toString()}`);
    if (this.#exception !== null) info.push(`exception=${describe(this.#exception)}`);
    if (this.#transport !== null) info.push(`transport=${describe(this.#transport)}`);
    if (this.#paused) info.push("paused");
    return `<${info.join(" ")}>`;
  }

  // ---- queries ---------------------------------------------------------------------------

  /** The line and chunk length limit the reader was made with. */
  get limit(): number {
    return this.#limit;
  }

  /** The exception set by `setException` (or the connection's error), else null. */
  exception(): Error | null {
    return this.#exception;
  }

  /** Whether EOF was fed and every byte was read. */
  atEof(): boolean {
    return this.#eof && this.#buffer.size === 0;
  }

  // ---- the feeding side ------------------------------------------------------------------

  /**
   * Make every later read throw `error`; a task waiting for data gets it at once. Bytes
   * still buffered stay unreadable.
   */
  setException(error: Error): void {
    this.#exception = error;
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      if (!waiter.cancelled()) waiter.setException(error);
    }
  }

  /**
   * Attach the transport whose reading the reader pauses and resumes.
   *
   * @throws RuntimeError `Transport already set`.
   */
  setTransport(transport: ReadTransport): void {
    if (this.#transport !== null) throw new RuntimeError("Transport already set");
    this.#transport = transport;
  }

  /**
   * Append `data` (copied) to the buffer and wake the waiting read. Empty data is ignored.
   *
   * @throws TypeError unless `data` is a Uint8Array; RuntimeError after `feedEof()`.
   */
  feedData(data: Uint8Array): void {
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(`data must be a Uint8Array, got ${describe(data)}`);
    }
    this._feedOwned(Buffer.from(data));
  }

  /** The peer will send nothing more: wake the waiting read. Idempotent. */
  feedEof(): void {
    this.#eof = true;
    this.#wakeup();
  }

  /**
   * @internal `feedData` without the copy, for a chunk the reader may keep (a transport's
   * `dataReceived` chunk belongs to its protocol).
   */
  _feedOwned(data: Uint8Array): void {
    if (this.#eof) throw new RuntimeError("feedData() called after feedEof()");
    if (data.length === 0) return;
    this.#buffer.push(
      Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
    );
    this.#wakeup();
    const transport = this.#transport;
    if (transport !== null && !this.#paused && this.#buffer.size > 2 * this.#limit) {
      transport.pauseReading();
      this.#paused = true;
    }
  }

  /**
   * @internal The connection now runs over `transport` (after `startTls`), which reads
   * until told otherwise.
   */
  _replaceTransport(transport: ReadTransport): void {
    this.#transport = transport;
    this.#paused = false;
  }

  /** @internal A copy of the buffered bytes, for tests. */
  _buffered(): Uint8Array {
    return this.#buffer.peekAll();
  }

  // ---- reading ---------------------------------------------------------------------------

  /**
   * Read up to `n` bytes: as soon as at least one byte is buffered, return what there is
   * (at most `n`); an empty array at EOF. `n` = 0 returns an empty array at once; `n` < 0
   * (the default) reads until EOF and returns everything. `limit` does not cap `n`.
   *
   * Cancelling `read()` (n < 0) puts back what it had gathered.
   *
   * @throws the stored exception; RuntimeError when another task is waiting for data;
   *   TypeError unless `n` is an integer.
   */
  *read(n = -1): Coro<Uint8Array> {
    validateSize(n, "n");
    if (this.#exception !== null) throw this.#exception;
    if (n === 0) return EMPTY;
    if (n < 0) {
      // Read `limit` bytes at a time, so that the transport may resume reading while the
      // buffer drains (asyncio's fix for readers of more than 2 × limit bytes).
      const blocks: Buffer[] = [];
      try {
        for (;;) {
          const block = (yield* this.read(this.#limit)) as Buffer;
          if (block.length === 0) break;
          blocks.push(block);
        }
      } catch (error) {
        // Cancelled (or the connection failed) halfway: no byte is lost.
        this.#buffer.unshift(blocks);
        throw error;
      }
      return blocks.length === 1 ? (blocks[0] as Buffer) : Buffer.concat(blocks);
    }
    if (this.#buffer.size === 0 && !this.#eof) yield* this.#waitForData("read");
    const data = this.#buffer.take(Math.min(n, this.#buffer.size));
    this.#maybeResumeTransport();
    return data;
  }

  /**
   * Read one line, up to and including `\n`. At EOF, return the partial line without a
   * newline, or an empty array when nothing is left.
   *
   * @throws RangeError (asyncio's ValueError) with LimitOverrunError's message when the line
   *   is longer than `limit`: the line is dropped from the buffer if its end was received,
   *   else the whole buffer is; the stored exception; RuntimeError when another task is
   *   waiting for data.
   */
  *readline(): Coro<Uint8Array> {
    try {
      return yield* this.#readUntil([NEWLINE], "readline");
    } catch (error) {
      if (error instanceof IncompleteReadError) return error.partial;
      if (error instanceof LimitOverrunError) {
        if (this.#buffer.startsWith(NEWLINE, error.consumed)) {
          this.#buffer.discard(error.consumed + NEWLINE.length);
        } else {
          this.#buffer.clear();
        }
        this.#maybeResumeTransport();
        throw new RangeError(error.message, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Read until `separator` and return the bytes up to and including it. Given several
   * separators, the shortest result wins: the one whose separator ends first.
   *
   * @throws IncompleteReadError (`partial`: everything buffered, which is cleared;
   *   `expected`: null) at EOF before a separator; LimitOverrunError (`consumed`; the data
   *   stays buffered) when no separator is found within `limit` bytes (`Separator is not
   *   found, and chunk exceed the limit`) or the bytes before it are longer than `limit`
   *   (`Separator is found, but chunk is longer than limit`); RangeError for an empty
   *   separator or list; the stored exception; RuntimeError when another task is waiting.
   */
  *readUntil(separator: Uint8Array | readonly Uint8Array[] = NEWLINE): Coro<Uint8Array> {
    return yield* this.#readUntil(normalizeSeparators(separator), "readUntil");
  }

  /**
   * Read exactly `n` bytes (`limit` does not cap `n`).
   *
   * @throws IncompleteReadError (`partial`: the bytes received, which are consumed;
   *   `expected`: n) at EOF before `n` bytes; RangeError `readexactly size can not be less
   *   than zero`; the stored exception; RuntimeError when another task is waiting.
   */
  *readExactly(n: number): Coro<Uint8Array> {
    validateSize(n, "n");
    if (n < 0) throw new RangeError("readexactly size can not be less than zero");
    if (this.#exception !== null) throw this.#exception;
    if (n === 0) return EMPTY;
    while (this.#buffer.size < n) {
      if (this.#eof) throw new IncompleteReadError(this.#buffer.takeAll(), n);
      yield* this.#waitForData("readExactly");
    }
    const data = this.#buffer.take(n);
    this.#maybeResumeTransport();
    return data;
  }

  /**
   * Call `body` with each line until EOF: asyncio's `async for line in reader`. `body` may
   * be a generator function (awaited before the next line is read) or a plain function;
   * returning `false` stops the loop, as `break` would. The same loop written inline:
   *
   * ```ts
   * for (let line; (line = yield* reader.readline()).length > 0; ) { ... }
   * ```
   *
   * @throws whatever `readline()` or `body` throws.
   */
  *forEachLine(body: (line: Uint8Array) => unknown): Coro<void> {
    validateFunction(body, "body");
    for (;;) {
      const line = yield* this.readline();
      if (line.length === 0) return;
      let outcome = body(line);
      if (isCoroutine(outcome)) outcome = yield* outcome;
      if (outcome === false) return;
    }
  }

  // ---- internals -------------------------------------------------------------------------

  *#readUntil(separators: Buffer[], funcName: string): Coro<Uint8Array> {
    if (this.#exception !== null) throw this.#exception;
    const buffer = this.#buffer;
    const minLength = (separators[0] as Buffer).length;
    const maxLength = (separators[separators.length - 1] as Buffer).length;
    // Invariant: no separator starts before `offset` (bytes already searched).
    let offset = 0;
    let matchStart = -1;
    let matchEnd = -1;
    for (;;) {
      const size = buffer.size;
      if (size - offset >= minLength) {
        for (const separator of separators) {
          const at = buffer.indexOf(separator, offset);
          if (at === -1) continue;
          const end = at + separator.length;
          if (matchEnd === -1 || end < matchEnd) {
            matchStart = at;
            matchEnd = end;
          }
        }
        if (matchEnd !== -1) break;
        // The last maxLength - 1 bytes may begin a separator that is still arriving.
        offset = Math.max(0, size + 1 - maxLength);
        if (offset > this.#limit) {
          throw new LimitOverrunError("Separator is not found, and chunk exceed the limit", offset);
        }
      }
      // A complete separator may have come with the last chunk before EOF, so EOF is
      // checked only after searching.
      if (this.#eof) throw new IncompleteReadError(buffer.takeAll(), null);
      yield* this.#waitForData(funcName);
    }
    if (matchStart > this.#limit) {
      throw new LimitOverrunError("Separator is found, but chunk is longer than limit", matchStart);
    }
    const chunk = buffer.take(matchEnd);
    this.#maybeResumeTransport();
    return chunk;
  }

  /** Wait until `feedData`, `feedEof` or `setException` is called. */
  *#waitForData(funcName: string): Coro<void> {
    // One waiter: with two, which one would get the next bytes?
    if (this.#waiter !== null) {
      throw new RuntimeError(
        `${funcName}() called while another coroutine is already waiting for incoming data`,
      );
    }
    const loop = this.#binding.loop(this);
    // Waiting while paused would wait forever (readExactly(n) with n > 2 × limit).
    if (this.#paused) {
      this.#paused = false;
      this.#transport?.resumeReading();
    }
    const waiter = loop.createFuture<undefined>();
    this.#waiter = waiter;
    try {
      yield* waiter;
    } finally {
      if (this.#waiter === waiter) this.#waiter = null;
    }
  }

  #wakeup(): void {
    const waiter = this.#waiter;
    if (waiter !== null) {
      this.#waiter = null;
      if (!waiter.cancelled()) waiter.setResult(undefined);
    }
  }

  #maybeResumeTransport(): void {
    if (this.#paused && this.#buffer.size <= this.#limit) {
      this.#paused = false;
      this.#transport?.resumeReading();
    }
  }
}

inspectAsString(StreamReader);

/** @internal Throw unless `limit` is a number > 0 (asyncio's check and message). */
export function validateLimit(limit: unknown): asserts limit is number {
  if (typeof limit !== "number" || Number.isNaN(limit)) {
    throw new TypeError(`limit must be a number, got ${describe(limit)}`);
  }
  if (limit <= 0) throw new RangeError("Limit cannot be <= 0");
}

function validateSize(n: unknown, name: string): asserts n is number {
  if (typeof n !== "number" || !Number.isInteger(n)) {
    throw new TypeError(`${name} must be an integer, got ${describe(n)}`);
  }
}

/** The separators as Buffers, shortest first; checked as asyncio checks them. */
function normalizeSeparators(separator: Uint8Array | readonly Uint8Array[]): Buffer[] {
  const list: readonly unknown[] = Array.isArray(separator) ? separator : [separator];
  if (list.length === 0) throw new RangeError("Separator should contain at least one element");
  const separators = list.map((each) => {
    if (!(each instanceof Uint8Array)) {
      throw new TypeError(`separator must be a Uint8Array, got ${describe(each)}`);
    }
    return Buffer.isBuffer(each) ? each : Buffer.from(each.buffer, each.byteOffset, each.length);
  });
  // Stable: among separators of one length, the first given is tried first.
  separators.sort((a, b) => a.length - b.length);
  if ((separators[0] as Buffer).length === 0) {
    throw new RangeError("Separator should be at least one-byte string");
  }
  return separators;
}

/**
 * The buffered bytes as a queue of chunks, so that a read of what one chunk holds returns
 * it (or a view of it) without copying. Searches run across chunk boundaries.
 */
class Chunks {
  #chunks: Buffer[] = [];
  /** Invariant: the sum of the chunks' lengths; no chunk is empty. */
  size = 0;

  push(chunk: Buffer): void {
    this.#chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Put `chunks` back at the front, in order. */
  unshift(chunks: Buffer[]): void {
    const kept = chunks.filter((chunk) => chunk.length > 0);
    for (const chunk of kept) this.size += chunk.length;
    this.#chunks = kept.concat(this.#chunks);
  }

  /** Remove and return the first `n` bytes (n <= size). */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const chunks = this.#chunks;
    const first = chunks[0] as Buffer;
    this.size -= n;
    if (n === first.length) {
      chunks.shift();
      return first;
    }
    if (n < first.length) {
      chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = chunks[0] as Buffer;
      const wanted = n - filled;
      if (chunk.length <= wanted) {
        out.set(chunk, filled);
        filled += chunk.length;
        chunks.shift();
      } else {
        out.set(chunk.subarray(0, wanted), filled);
        chunks[0] = chunk.subarray(wanted);
        filled = n;
      }
    }
    return out;
  }

  takeAll(): Buffer {
    return this.take(this.size);
  }

  discard(n: number): void {
    this.take(n);
  }

  clear(): void {
    this.#chunks = [];
    this.size = 0;
  }

  peekAll(): Buffer {
    return Buffer.concat(this.#chunks);
  }

  /** The position of the first `separator` at or after `from`, or -1. */
  indexOf(separator: Buffer, from: number): number {
    const chunks = this.#chunks;
    let base = 0;
    for (let i = 0; i < chunks.length; i++) {
      const chunk = chunks[i] as Buffer;
      const length = chunk.length;
      if (from < base + length) {
        const start = Math.max(0, from - base);
        const at = chunk.indexOf(separator, start);
        if (at !== -1) return base + at;
        // A match that begins in this chunk's last bytes and runs into the next ones.
        for (let s = Math.max(start, length - separator.length + 1); s < length; s++) {
          if (this.#matchesAt(i, s, separator)) return base + s;
        }
      }
      base += length;
    }
    return -1;
  }

  /** Whether the bytes at `position` are `separator`. */
  startsWith(separator: Buffer, position: number): boolean {
    const chunks = this.#chunks;
    let base = 0;
    for (let i = 0; i < chunks.length; i++) {
      const length = (chunks[i] as Buffer).length;
      if (position < base + length) return this.#matchesAt(i, position - base, separator);
      base += length;
    }
    return false;
  }

  /** Whether `separator` starts at `offset` in chunk `index`, continuing into later chunks. */
  #matchesAt(index: number, offset: number, separator: Buffer): boolean {
    const chunks = this.#chunks;
    let i = index;
    let chunk = chunks[i] as Buffer;
    let at = offset;
    for (const byte of separator) {
      while (at >= chunk.length) {
        i++;
        if (i >= chunks.length) return false;
        chunk = chunks[i] as Buffer;
        at = 0;
      }
      if (chunk[at] !== byte) return false;
      at++;
    }
    return true;
  }
}
