/**
 * Context variables, as Python's `contextvars`. A Context maps ContextVars to values; each
 * Task runs every step inside its own Context, and each callback inside the Context that
 * was current (copied) when it was scheduled.
 *
 * A Context's mapping is immutable and shared between copies: `copy()` is O(1), and
 * `ContextVar.set()` replaces the current Context's mapping with a new one (O(number of
 * variables set), which is small in practice; Python uses a HAMT for O(log n)).
 */
import { LookupError, RuntimeError } from "./exceptions.ts";
import { describe } from "./internal/validate.ts";
import { inspectAsString } from "./internal/inspect.ts";

/** @internal A Context's contents: immutable, shared between copies. */
export type Mapping = ReadonlyMap<ContextVar<unknown>, unknown>;

const EMPTY: Mapping = new Map();

/** The Context whose values `ContextVar.get()` reads right now. */
let current: Context;

/**
 * The Contexts entered (by `run` or the loop) and not yet left, innermost last: rarely
 * more than one or two. Kept here rather than as a flag in every Context, of which there
 * is one per Task and per scheduled callback.
 */
const entered: Context[] = [];

/**
 * A mapping of ContextVars to values. Run code inside it with `run()`; get a snapshot of
 * the current one with `copyContext()`.
 */
export class Context implements Iterable<ContextVar<unknown>> {
  /** @internal */
  _map: Mapping;

  /** A new, empty Context. Use `copyContext()` for a copy of the current one. */
  constructor() {
    this._map = EMPTY;
  }

  toString(): string {
    return `<Context vars:${this._map.size}>`;
  }

  /** The number of variables that have a value in this Context. */
  get size(): number {
    return this._map.size;
  }

  /** The value of `variable` in this Context, or `defaultValue` (or `undefined`). */
  get<T>(variable: ContextVar<T>): T | undefined;
  get<T, D>(variable: ContextVar<T>, defaultValue: D): T | D;
  get(variable: ContextVar<unknown>, defaultValue?: unknown): unknown {
    checkVar(variable);
    return this._map.has(variable) ? this._map.get(variable) : defaultValue;
  }

  /** Whether `variable` has a value in this Context (Python's `var in ctx`). */
  has(variable: ContextVar<unknown>): boolean {
    checkVar(variable);
    return this._map.has(variable);
  }

  /** The variables that have a value here. */
  keys(): IterableIterator<ContextVar<unknown>> {
    return this._map.keys();
  }

  /** Their values, in the same order as `keys()`. */
  values(): IterableIterator<unknown> {
    return this._map.values();
  }

  /** `[variable, value]` pairs. */
  entries(): IterableIterator<[ContextVar<unknown>, unknown]> {
    return this._map.entries();
  }

  [Symbol.iterator](): IterableIterator<ContextVar<unknown>> {
    return this._map.keys();
  }

  /** A shallow copy; O(1). */
  copy(): Context {
    const copy = new Context();
    copy._map = this._map;
    return copy;
  }

  /**
   * Call `fn(...args)` with this Context as the current one, and restore the previous
   * Context afterwards. Changes `fn` makes with `ContextVar.set()` stay in this Context.
   *
   * @throws RuntimeError if this Context is already entered (it is running `fn` further up
   *   the stack), as in Python.
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
    if (entered.includes(this)) {
      throw new RuntimeError(`cannot enter context: ${this.toString()} is already entered`);
    }
    const previous = currentContext();
    entered.push(this);
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- this Context becomes the current one
    current = this;
    try {
      return fn(...args);
    } finally {
      current = previous;
      entered.pop();
    }
  }

  /**
   * @internal `run` without the call, for the loop's handles and task steps: enter
   * `context` and return the Context to restore with `_exit`.
   *
   * @throws RuntimeError if `context` is already entered, as `run` does.
   */
  static _enter(context: Context): Context {
    if (entered.includes(context)) {
      throw new RuntimeError(`cannot enter context: ${context.toString()} is already entered`);
    }
    // Never save the borrowed Context as the one to restore: it may be taken back (adopted)
    // before this frame returns. `currentContext()` adopts it first.
    const previous = currentContext();
    entered.push(context);
    current = context;
    return previous;
  }

  /** @internal Whether `context` is entered (it is running something further up the stack). */
  static _isEntered(context: Context): boolean {
    return entered.includes(context);
  }

  /** @internal Leave `context` (entered with `_enter`) for `previous`. */
  static _exit(_context: Context, previous: Context): void {
    entered.pop();
    current = previous;
  }

  /**
   * @internal Enter the borrowed Context with `map` for a step of `owner`, a Task that
   * has no Context object of its own yet; return the Context to restore with
   * `_exitBorrowed`, or null if the borrowed Context is in use (a step inside a step: an
   * eager start), in which case the caller gets a Context of its own instead.
   */
  static _enterBorrowed(map: Mapping, owner: ContextOwner): Context | null {
    if (borrower !== null) return null;
    borrower = owner;
    borrowed._map = map;
    const previous = current;
    entered.push(borrowed);
    current = borrowed;
    return previous;
  }

  /** @internal Leave the borrowed Context (or the owner's own, if it adopted one meanwhile). */
  static _exitBorrowed(previous: Context): void {
    entered.pop();
    current = previous;
    borrower = null;
    borrowed._map = EMPTY;
  }

  /**
   * @internal `owner` needs its Context object (`getContext()`): if it is in the borrowed
   * one right now, give it its own with the same mapping, put that where the borrowed one
   * was entered, and return it; else return null.
   */
  static _adoptBorrowed(owner: ContextOwner): Context | null {
    return borrower === owner ? adopt() : null;
  }
}

/**
 * @internal A Task that keeps only the mapping it copied (most never set a variable, and a
 * Context object per Task is an allocation and 32 bytes): `_ownContext` gives it a
 * Context of its own with `map`, for when it needs one after all.
 */
export interface ContextOwner {
  _ownContext(map: Mapping): Context;
}

/**
 * The Context a step of a ContextOwner runs in: one object lent to each such step in turn,
 * holding the step's mapping. It never escapes: whatever would keep it or change it
 * (`ContextVar.set`/`reset`, `currentContext()`, the owner's `getContext()`) first makes
 * the owner adopt a Context of its own (`adopt`), so Tokens and callbacks see that one.
 */
const borrowed = new Context();
let borrower: ContextOwner | null = null;

/** The borrower gets its own Context in place of the borrowed one; returns it. */
function adopt(): Context {
  const own = (borrower as ContextOwner)._ownContext(borrowed._map);
  entered[entered.lastIndexOf(borrowed)] = own;
  if (current === borrowed) current = own;
  borrower = null;
  borrowed._map = EMPTY;
  return own;
}

current = new Context();

/**
 * @internal The Context of the library's own done-callbacks that read no context
 * variables and run no user code (gather's and TaskGroup's bookkeeping): one for all,
 * instead of a copy per gather or group. An error such a callback reports goes to the
 * handler in the Context of the task concerned.
 */
export const LIBRARY_CONTEXT: Context = new Context();

/** A copy of the current Context (Python's `contextvars.copy_context()`); O(1). */
export function copyContext(): Context {
  return current.copy();
}

/** @internal What `copyContext()` would copy, without the Context object around it. */
export function currentMapping(): Mapping {
  return current._map;
}

/** @internal The current Context itself, not a copy. */
export function currentContext(): Context {
  return current === borrowed ? adopt() : current;
}

const MISSING: unique symbol = Symbol("Token.MISSING");

/**
 * A variable whose value depends on the current Context: each Task sees the value it had
 * when the Task was created, and changes made inside the Task do not leak out of it.
 */
export class ContextVar<T> {
  readonly #name: string;
  readonly #hasDefault: boolean;
  readonly #default: T | undefined;

  /**
   * @param name - shown in `toString()` and error messages.
   * @param options.default - returned by `get()` when the variable has no value.
   */
  constructor(name: string, options?: { default?: T }) {
    if (typeof name !== "string") {
      throw new TypeError(`ContextVar name must be a string, got ${describe(name)}`);
    }
    this.#name = name;
    this.#hasDefault = options !== undefined && "default" in options;
    this.#default = options?.default;
  }

  /** The name given at construction. */
  get name(): string {
    return this.#name;
  }

  toString(): string {
    const def = this.#hasDefault ? ` default=${describe(this.#default)}` : "";
    return `<ContextVar name='${this.#name}'${def}>`;
  }

  /**
   * The value in the current Context; else `defaultValue` if given; else the variable's
   * default.
   *
   * @throws LookupError when there is none of the three.
   */
  get(): T;
  get<D>(defaultValue: D): T | D;
  get(...args: unknown[]): unknown {
    const map = current._map;
    if (map.has(this)) return map.get(this);
    if (args.length > 0) return args[0];
    if (this.#hasDefault) return this.#default;
    throw new LookupError(this.toString());
  }

  /** Set the value in the current Context; the Token undoes it with `reset()`. */
  set(value: T): Token<T> {
    const context = currentContext();
    const self = this as ContextVar<unknown>;
    const old = context._map.has(self) ? context._map.get(self) : MISSING;
    const map = new Map(context._map);
    map.set(self, value);
    context._map = map;
    return new Token(context, this, old as T | typeof MISSING);
  }

  /**
   * Restore the value the variable had before the `set()` that returned `token`.
   *
   * @throws RuntimeError if the token was already used; RangeError if it belongs to
   *   another variable or another Context.
   */
  reset(token: Token<T>): void {
    if (!(token instanceof Token)) {
      throw new TypeError(`expected a Token, got ${describe(token)}`);
    }
    if (token._used) {
      throw new RuntimeError(`${token.toString()} has already been used once`);
    }
    if (token.var !== this) {
      throw new RangeError(`${token.toString()} was created by a different ContextVar`);
    }
    if (token._context !== currentContext()) {
      throw new RangeError(`${token.toString()} was created in a different Context`);
    }
    token._used = true;
    const map = new Map(current._map);
    const self = this as ContextVar<unknown>;
    if (token._old === MISSING) map.delete(self);
    else map.set(self, token._old);
    current._map = map;
  }
}

/** What `ContextVar.set()` returns: the means to undo that set with `reset()`. */
export class Token<T> {
  /** `Token.MISSING`: the `oldValue` of a Token whose variable had no value before. */
  static readonly MISSING: typeof MISSING = MISSING;
  /** The variable that was set. */
  readonly var: ContextVar<T>;
  /** @internal */
  readonly _context: Context;
  /** @internal */
  readonly _old: T | typeof MISSING;
  /** @internal */
  _used = false;

  /** @internal Tokens come from `ContextVar.set()`. */
  constructor(context: Context, variable: ContextVar<T>, old: T | typeof MISSING) {
    this._context = context;
    this.var = variable;
    this._old = old;
  }

  /** The value before the set, or `Token.MISSING`. */
  get oldValue(): T | typeof MISSING {
    return this._old;
  }

  toString(): string {
    return `<Token${this._used ? " used" : ""} var=${this.var.toString()}>`;
  }
}

function checkVar(variable: unknown): void {
  if (!(variable instanceof ContextVar)) {
    throw new TypeError(`a ContextVar key was expected, got ${describe(variable)}`);
  }
}

inspectAsString(Context);
inspectAsString(ContextVar);
inspectAsString(Token);
