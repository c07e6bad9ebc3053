/**
 * Make `console.log` and `util.inspect` show an object as its `toString()` (asyncio's
 * reprs), without a computed class member (which `isolatedDeclarations` cannot type).
 */
import { inspect } from "node:util";

export function inspectAsString(cls: abstract new (...args: never[]) => unknown): void {
  Object.defineProperty(cls.prototype, inspect.custom, {
    value(this: { toString(): string }): string {
      return this.toString();
    },
    configurable: true,
    writable: true,
  });
}
