/**
 * `tsyncio run FILE`: import FILE (TypeScript through the `tsx` loader when it is
 * installed) and run its default-exported or `main` coroutine function with `run()`.
 */
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { isCoroutine, isCoroutineFunction } from "../coroutines.ts";
import { KeyboardInterrupt } from "../exceptions.ts";
import { run } from "../runners.ts";

const TYPESCRIPT = new Set([".ts", ".mts", ".cts", ".tsx"]);

/** The exit code of a program ended by Ctrl-C, by the shell's convention (128 + SIGINT). */
export const EXIT_INTERRUPTED = 130;

/** `tsyncio run`: resolves to the process's exit code. */
export async function runCommand(args: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      options: { debug: { type: "boolean" } },
      allowPositionals: true,
    });
  } catch (error) {
    console.error(`tsyncio run: ${(error as Error).message}`);
    return 2;
  }
  const [file, ...programArgs] = parsed.positionals;
  if (file === undefined) {
    console.error("usage: tsyncio run FILE [--debug] [-- ARGS...]");
    return 2;
  }
  const path = resolve(file);
  if (!existsSync(path)) {
    console.error(`tsyncio run: no such file: ${file}`);
    return 2;
  }
  if (TYPESCRIPT.has(extname(path)) && !(await registerTypeScript())) {
    console.error(
      `tsyncio run: ${file} is TypeScript, and running it needs the tsx loader: ` +
        "npm install --save-dev tsx (or compile it to JavaScript and run the .js file)",
    );
    return 2;
  }
  // The program's own arguments follow argv[1] (this command), where a program started
  // directly finds them; argv[1] stays this command, so a module that runs itself only
  // when it is the entry point (`process.argv[1] === its file`) does not run twice.
  process.argv = [process.argv[0] ?? "node", process.argv[1] ?? "tsyncio", ...programArgs];
  const module = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  const entry = pickEntry(module);
  if (entry === null) {
    console.error(
      `tsyncio run: ${file} exports no coroutine function: export default function* main() ` +
        "{ ... } (or export a function* named main)",
    );
    return 2;
  }
  const coro = isCoroutine(entry) ? entry : (entry as () => unknown)();
  if (!isCoroutine(coro)) {
    console.error(`tsyncio run: ${file}'s main did not return a coroutine`);
    return 2;
  }
  try {
    const options = parsed.values.debug === true ? { debug: true } : {};
    await run(coro, options);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof KeyboardInterrupt) {
      console.error("KeyboardInterrupt");
      return EXIT_INTERRUPTED;
    }
    console.error(error);
    return 1;
  }
}

/** The default export, else the export named `main`: a coroutine function or a coroutine. */
function pickEntry(module: Record<string, unknown>): unknown {
  for (const candidate of [module.default, module.main]) {
    if (isCoroutineFunction(candidate) || isCoroutine(candidate)) return candidate;
  }
  return null;
}

/** Register tsx's ESM loader, found from the working directory or from tsyncio itself. */
async function registerTypeScript(): Promise<boolean> {
  for (const base of [join(process.cwd(), "noop.js"), import.meta.filename]) {
    let manifest: string;
    try {
      manifest = createRequire(base).resolve("tsx/package.json");
    } catch {
      continue;
    }
    const pkg = JSON.parse(readFileSync(manifest, "utf8")) as {
      exports?: Record<string, { import?: { default?: string } } | string>;
    };
    const entry = pkg.exports?.["./esm/api"];
    const relative = typeof entry === "object" ? entry.import?.default : undefined;
    if (relative === undefined) continue;
    const api = join(dirname(manifest), relative);
    const tsx = (await import(pathToFileURL(api).href)) as { register: () => unknown };
    tsx.register();
    return true;
  }
  return false;
}
