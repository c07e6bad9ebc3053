// What every example shares to be a program: "am I the entry point?" and its flags.
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/**
 * Whether the module at `url` (pass `import.meta.url`) is the program `node` was started
 * with, rather than imported by the showcase or a test.
 */
export function isMain(url: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(url));
  } catch {
    return false;
  }
}

/** The flags an example takes: each a number, a string or a boolean, with its default. */
export type FlagSpec = Record<string, number | string | boolean>;

/**
 * Parse `--name value` flags by the defaults in `spec` (their types give the flags' types),
 * or print usage and exit on a bad flag.
 */
export function parseFlags<S extends FlagSpec>(
  spec: S,
  usage: string,
  argv: string[] = process.argv.slice(2),
): { -readonly [K in keyof S]: S[K] extends boolean ? boolean : S[K] } {
  const options: Record<string, { type: "string" | "boolean" }> = {};
  for (const [name, value] of Object.entries(spec)) {
    options[name] = { type: typeof value === "boolean" ? "boolean" : "string" };
  }
  options["help"] = { type: "boolean" };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true }).values;
  } catch (error) {
    return fail(usage, error instanceof Error ? error.message : String(error));
  }
  if (values["help"] === true) {
    console.log(usage);
    process.exit(0);
  }
  const result: Record<string, number | string | boolean> = {};
  for (const [name, fallback] of Object.entries(spec)) {
    const given = values[name];
    if (given === undefined) {
      result[name] = fallback;
    } else if (typeof fallback === "number") {
      const number = Number(given);
      if (typeof given !== "string" || given.trim() === "" || !Number.isFinite(number)) {
        return fail(usage, `--${name} expects a number, got ${JSON.stringify(given)}`);
      }
      result[name] = number;
    } else {
      result[name] = given;
    }
  }
  return result as { -readonly [K in keyof S]: S[K] extends boolean ? boolean : S[K] };
}

function fail(usage: string, message: string): never {
  console.error(`${message}\n\n${usage}`);
  process.exit(2);
}

/** Seconds since `start` (a `performance.now()`), for reports. */
export function secondsSince(start: number): string {
  return ((performance.now() - start) / 1000).toFixed(2);
}
