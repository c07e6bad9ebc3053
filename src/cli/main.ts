#!/usr/bin/env node
/**
 * The `tsyncio` command: `run` a module's main coroutine, a `repl` whose loop keeps
 * running between inputs, and `ps`/`pstree` to look at the tasks of a running program.
 */
import { runCommand } from "./run.ts";
import { replCommand } from "./repl.ts";
import { psCommand, pstreeCommand } from "./ps.ts";

const USAGE = `usage: tsyncio <command> [options]

commands:
  run FILE [--debug] [-- ARGS...]   run FILE's default-exported (or \`main\`) coroutine
                                    function on a new event loop; Ctrl-C cancels it
  repl [--debug]                    a Node REPL whose event loop keeps running; an input
                                    that gives a coroutine, Future or Task is run on it
                                    and its result printed (\`yield* x\` works too)
  ps PID                            the tasks of the running program PID: id, name,
                                    state, what each awaits, where, and who awaits it
  pstree PID                        the same tasks as a tree: each task over the tasks
                                    it awaits
  help                              this text

Debug mode: --debug, or TSYNCIO_DEBUG=1 in the environment.
ps and pstree see only programs of the same user started with TSYNCIO_INSPECT=1 (or
run(main, { inspect: true })).`;

/** Run the command line `args` (without node and the script); resolves to the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const [command, ...rest] = args;
  switch (command) {
    case "run":
      return runCommand(rest);
    case "repl":
      return replCommand(rest);
    case "ps":
      return psCommand(rest);
    case "pstree":
      return pstreeCommand(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return command === undefined ? 2 : 0;
    default:
      console.error(`tsyncio: unknown command '${command}'\n\n${USAGE}`);
      return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
