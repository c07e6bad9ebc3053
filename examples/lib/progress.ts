// A small progress bar for the examples. On a terminal it redraws one line in place; when
// stdout is a file or a pipe (CI, the smoke tests) it prints a line every second instead,
// so logs stay readable.

/** Where a progress bar writes: process.stdout, or anything with `write` (and `isTTY`). */
export interface ProgressOutput {
  write(text: string): unknown;
  isTTY?: boolean | undefined;
}

/** Options of a ProgressBar. */
export interface ProgressOptions {
  /** Where to draw; default process.stdout. */
  out?: ProgressOutput | undefined;
  /** How to show a count (default: as is), e.g. bytes as megabytes. */
  format?: ((count: number) => string) | undefined;
}

/**
 * A progress bar for `total` steps; `total` may change while it runs (a crawl's frontier).
 * Its clock starts at the first step.
 */
export class ProgressBar {
  readonly #label: string;
  readonly #out: ProgressOutput;
  readonly #tty: boolean;
  readonly #width = 30;
  readonly #format: (count: number) => string;
  #started: number | null = null;
  #total: number;
  #done = 0;
  #lastDraw = performance.now();
  #finished = false;

  constructor(label: string, total: number, options: ProgressOptions = {}) {
    this.#label = label;
    this.#total = total;
    this.#out = options.out ?? process.stdout;
    this.#format = options.format ?? String;
    this.#tty = this.#out.isTTY === true;
  }

  get done(): number {
    return this.#done;
  }

  set total(total: number) {
    this.#total = total;
    this.#draw();
  }

  /** Count `n` more steps done. */
  advance(n = 1): void {
    this.#started ??= performance.now();
    this.#done += n;
    this.#draw();
  }

  /**
   * Print `text` as a line of its own, above the bar: on a terminal the bar is cleared,
   * the line written, and the bar drawn again below it; in a log, just the line.
   */
  log(text: string): void {
    if (!this.#tty || this.#finished) {
      this.#out.write(`${text}\n`);
      return;
    }
    this.#lastDraw = performance.now();
    this.#out.write(`\r\x1b[2K${text}\n${this.#line()}`);
  }

  /** Close the bar with its final line, and an optional note after it. */
  finish(note = ""): void {
    if (this.#finished) return;
    this.#finished = true;
    const line = this.#line() + (note === "" ? "" : `  ${note}`);
    this.#out.write(this.#tty ? `\r\x1b[2K${line}\n` : `${line}\n`);
  }

  #draw(): void {
    if (this.#finished) return;
    // A redraw costs a write: at most every 50 ms on a terminal, every second in a log.
    const now = performance.now();
    if (now - this.#lastDraw < (this.#tty ? 50 : 1000)) return;
    this.#lastDraw = now;
    this.#out.write(this.#tty ? `\r\x1b[2K${this.#line()}` : `${this.#line()}\n`);
  }

  #line(): string {
    const fraction = this.#total > 0 ? Math.min(1, this.#done / this.#total) : 1;
    const filled = Math.round(fraction * this.#width);
    const bar = "#".repeat(filled) + ".".repeat(this.#width - filled);
    const now = performance.now();
    const seconds = ((now - (this.#started ?? now)) / 1000).toFixed(1);
    const percent = String(Math.floor(fraction * 100)).padStart(3);
    const counts = `${this.#format(this.#done)}/${this.#format(this.#total)}`;
    return `${this.#label.padEnd(8)} [${bar}] ${percent}% ${counts} ${seconds}s`;
  }
}
