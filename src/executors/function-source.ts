/**
 * Sending a function to a worker: only its source code can go, so only a function whose
 * source is a stand-alone expression qualifies, and it arrives without its closure.
 */
import { describe } from "../internal/validate.ts";

const sources = new WeakMap<object, string>();

/**
 * The source of `fn`, checked to compile as one function expression on its own.
 *
 * @throws TypeError for a generator function (`coroutines cannot be used with <method>()`,
 *   asyncio's words), a native or bound function, a class, or a method written in the
 *   shorthand form, none of which has a source that can be sent.
 */
export function functionSource(fn: (...args: never[]) => unknown, method: string): string {
  const cached = sources.get(fn);
  if (cached !== undefined) return cached;
  const kind = (fn as { constructor?: { name?: unknown } }).constructor?.name;
  if (kind === "GeneratorFunction" || kind === "AsyncGeneratorFunction") {
    throw new TypeError(`coroutines cannot be used with ${method}()`);
  }
  const source = Function.prototype.toString.call(fn);
  const problem = /\{\s*\[native code\]\s*\}\s*$/.test(source)
    ? "it is a native or bound function, which has no source code to send"
    : /^class\b/.test(source)
      ? "it is a class"
      : compiles(source)
        ? null
        : "its source is not a stand-alone function (a method? write it as `function` or an arrow function)";
  if (problem !== null) {
    throw new TypeError(`${method}() cannot send ${describe(fn)} to a worker: ${problem}`);
  }
  sources.set(fn, source);
  return source;
}

function compiles(source: string): boolean {
  try {
    // Compiled, never called: only the syntax is checked here.
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    new Function(`return (${source}\n);`);
    return true;
  } catch {
    return false;
  }
}
