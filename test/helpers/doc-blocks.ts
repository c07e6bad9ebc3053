// The code blocks of the documentation, made checkable: find every ```ts block of a
// markdown file, turn it into a TypeScript module that imports tsyncio from src/, and
// type-check all of them in one program, so that a guide cannot drift from the API.
//
// The convention (docs/index.md states it for writers):
// - A block with an `import` or `export` statement is a whole module, checked as it is.
//   "tsyncio" and "tsyncio/testing" resolve to src/index.ts and src/testing.ts.
// - Any other block is a fragment: every name tsyncio and tsyncio/testing export is in
//   scope. A fragment that uses `yield` is the body of a coroutine (`function* (): Coro`);
//   one that does not is module code (top-level `await` allowed).
// - `<!-- check: declare const proc: Process; -->` just above a block adds declarations
//   (names the prose defines) before it; several such lines may follow each other.
// - `<!-- check: run -->` above a whole module also runs it (compiled against .build/src);
//   it must exit with code 0, and if a ```text block follows it, print exactly that.
// - `<!-- check: skip: the reason -->` opts a block out; the reason is required.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import ts from "typescript";

/** One ```ts block of a markdown file. */
export interface DocBlock {
  /** The markdown file, relative to the project root. */
  file: string;
  /** The line of the block's first code line (1-based). */
  line: number;
  code: string;
  /** What `<!-- check: declare ... -->` comments above the block add. */
  declarations: string;
  run: boolean;
  /** The reason of `<!-- check: skip: reason -->`, or null. */
  skip: string | null;
  /** The ```text block right after this one, if any: the output a `run` block prints. */
  expectedOutput: string | null;
}

/** A type error in a block, located in its markdown file. */
export interface BlockDiagnostic {
  file: string;
  line: number;
  message: string;
}

const FENCE = /^```(\S*)\s*$/;
const CHECK_COMMENT = /^<!--\s*check:\s*([\s\S]*?)\s*-->\s*$/;

/** The ```ts blocks of `markdown` (the text of `file`), with their check comments. */
export function extractBlocks(file: string, markdown: string): DocBlock[] {
  const lines = markdown.split("\n");
  const blocks: DocBlock[] = [];
  let comments: string[] = [];
  let last: DocBlock | null = null;
  for (let i = 0; i < lines.length; i++) {
    const text = lines[i] as string;
    const comment = CHECK_COMMENT.exec(text);
    if (comment !== null) {
      comments.push(comment[1] as string);
      continue;
    }
    const fence = FENCE.exec(text);
    if (fence === null) {
      if (text.trim() !== "") {
        comments = [];
        last = null;
      }
      continue;
    }
    const lang = fence[1] as string;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !/^```\s*$/.test(lines[end] as string)) end++;
    if (end >= lines.length) throw new Error(`${file}:${i + 1}: a code block is never closed`);
    const code = lines.slice(start, end).join("\n") + "\n";
    i = end;
    if (lang === "text" && last !== null) {
      last.expectedOutput = code;
      last = null;
      comments = [];
      continue;
    }
    if (lang !== "ts" && lang !== "typescript") {
      comments = [];
      last = null;
      continue;
    }
    const block: DocBlock = {
      file,
      line: start + 1,
      code,
      declarations: "",
      run: false,
      skip: null,
      expectedOutput: null,
    };
    for (const each of comments) applyComment(block, each);
    comments = [];
    blocks.push(block);
    last = block;
  }
  return blocks;
}

function applyComment(block: DocBlock, comment: string): void {
  const where = `${block.file}:${block.line - 1}`;
  if (comment === "run") {
    block.run = true;
  } else if (comment.startsWith("skip")) {
    const reason = /^skip:\s*(\S[\s\S]*)$/.exec(comment)?.[1];
    if (reason === undefined) throw new Error(`${where}: "check: skip" needs ": a reason"`);
    block.skip = reason;
  } else if (comment.startsWith("declare ") || comment.startsWith("type ")) {
    block.declarations += `${comment}\n`;
  } else {
    throw new Error(`${where}: unknown check comment "${comment}"`);
  }
}

/** Whether a block is a whole module (it imports or exports) rather than a fragment. */
export function isModule(code: string): boolean {
  return /^\s*(import|export)\b/m.test(code);
}

/** Every value and type name `file` (src/index.ts, say) exports, with whether it is a type. */
export function exportedNames(file: string): Map<string, boolean> {
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const names = new Map<string, boolean>();
  for (const statement of source.statements) {
    if (ts.isExportDeclaration(statement) && statement.exportClause !== undefined) {
      if (!ts.isNamedExports(statement.exportClause)) continue;
      for (const element of statement.exportClause.elements) {
        names.set(element.name.text, statement.isTypeOnly || element.isTypeOnly);
      }
    } else if (
      (ts.isFunctionDeclaration(statement) ||
        ts.isClassDeclaration(statement) ||
        ts.isInterfaceDeclaration(statement) ||
        ts.isTypeAliasDeclaration(statement)) &&
      statement.name !== undefined &&
      statement.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword) === true
    ) {
      const isType = ts.isInterfaceDeclaration(statement) || ts.isTypeAliasDeclaration(statement);
      names.set(statement.name.text, isType);
    }
  }
  return names;
}

/** The module text a block is checked as, and the line of the wrapper its code starts at. */
export interface WrappedBlock {
  text: string;
  /** The 0-based line of `text` where the block's first line is. */
  offset: number;
}

/**
 * The module a block is checked as. `index` and `testing` are the names exported by
 * tsyncio and tsyncio/testing (see `exportedNames`).
 */
export function wrapBlock(
  block: DocBlock,
  index: Map<string, boolean>,
  testing: Map<string, boolean>,
): WrappedBlock {
  if (isModule(block.code)) {
    const head = block.declarations;
    return { text: head + block.code, offset: lineCount(head) };
  }
  const importList = (names: Map<string, boolean>, skip: Map<string, boolean>): string =>
    [...names]
      .filter(([name]) => !skip.has(name))
      .map(([name, isType]) => (isType ? `type ${name}` : name))
      .join(", ");
  let head =
    `import { ${importList(index, new Map())} } from "tsyncio";\n` +
    `import { ${importList(testing, index)} } from "tsyncio/testing";\n` +
    block.declarations;
  let tail = "";
  if (/\byield\b/.test(block.code)) {
    // `any`: a fragment may end with or without a `return`.
    head += "export function* fragment(): Coro<any> {\n";
    tail = "}\n";
  } else {
    head += "export {};\n";
  }
  return { text: head + block.code + tail, offset: lineCount(head) };
}

function lineCount(text: string): number {
  return text === "" ? 0 : text.split("\n").length - 1;
}

/**
 * Type-check `blocks` against the sources under `root` (the project root), all in one
 * program, and return every error located in its markdown file. The compiler options are
 * the project's (tsconfig.base.json) except that unused names are allowed.
 */
export function typeCheckBlocks(root: string, blocks: readonly DocBlock[]): BlockDiagnostic[] {
  const index = exportedNames(join(root, "src", "index.ts"));
  const testing = exportedNames(join(root, "src", "testing.ts"));
  const base = ts.readConfigFile(join(root, "tsconfig.base.json"), (path) => ts.sys.readFile(path));
  if (base.error !== undefined) throw new Error(flatten(base.error.messageText));
  const parsed = ts.parseJsonConfigFileContent(base.config, ts.sys, root);
  const options: ts.CompilerOptions = {
    ...parsed.options,
    noEmit: true,
    declaration: false,
    isolatedDeclarations: false,
    sourceMap: false,
    noUnusedLocals: false,
    noUnusedParameters: false,
    typeRoots: [join(root, "node_modules", "@types")],
    paths: {
      tsyncio: [join(root, "src", "index.ts")],
      "tsyncio/testing": [join(root, "src", "testing.ts")],
    },
  };
  // Virtual files inside the project, so that package.json ("type": "module") and
  // node_modules/@types apply to them as to the project's own files.
  const dir = join(root, "docs", ".check");
  const files = new Map<string, { block: DocBlock; wrapped: WrappedBlock }>();
  blocks.forEach((block, i) => {
    if (block.skip !== null) return;
    const name = block.file.replace(/[^A-Za-z0-9]+/g, "-");
    files.set(join(dir, `${name}-${block.line}-${i}.ts`), {
      block,
      wrapped: wrapBlock(block, index, testing),
    });
  });
  const host = ts.createCompilerHost(options, true);
  const readFile = host.readFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  const getSourceFile = host.getSourceFile.bind(host);
  host.readFile = (path) => files.get(resolve(path))?.wrapped.text ?? readFile(path);
  host.fileExists = (path) => files.has(resolve(path)) || fileExists(path);
  host.getSourceFile = (path, languageVersion, onError, shouldCreate) => {
    const virtual = files.get(resolve(path));
    if (virtual !== undefined) {
      return ts.createSourceFile(path, virtual.wrapped.text, languageVersion, true);
    }
    return getSourceFile(path, languageVersion, onError, shouldCreate);
  };
  const program = ts.createProgram({ rootNames: [...files.keys()], options, host });
  const found: BlockDiagnostic[] = [];
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = flatten(diagnostic.messageText);
    const path = diagnostic.file === undefined ? undefined : resolve(diagnostic.file.fileName);
    const virtual = path === undefined ? undefined : files.get(path);
    if (virtual === undefined || diagnostic.file === undefined) {
      found.push({ file: path ?? "(program)", line: 0, message });
      continue;
    }
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const inBlock = line - virtual.wrapped.offset;
    found.push({
      file: virtual.block.file,
      line: virtual.block.line + inBlock,
      message: inBlock < 0 ? `(in a check: declaration) ${message}` : message,
    });
  }
  return found;
}

function flatten(text: string | ts.DiagnosticMessageChain): string {
  return ts.flattenDiagnosticMessageText(text, "\n");
}

/** What running a block printed. */
export interface BlockRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Run a whole-module block with Node: compiled to JavaScript, with "tsyncio" and
 * "tsyncio/testing" pointing at the compiled sources in `buildDir` (.build).
 */
export function runBlock(buildDir: string, block: DocBlock, timeoutMs = 10_000): BlockRun {
  const specifier = (path: string): string => pathToFileURL(join(buildDir, path)).href;
  const js = ts
    .transpileModule(block.code, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    })
    .outputText.replace(/(from\s+)"tsyncio\/testing"/g, `$1"${specifier("src/testing.js")}"`)
    .replace(/(from\s+)"tsyncio"/g, `$1"${specifier("src/index.js")}"`);
  const dir = mkdtempSync(join(tmpdir(), "tsyncio-doc-"));
  try {
    const file = join(dir, "block.mjs");
    writeFileSync(file, js);
    const result = spawnSync(process.execPath, [file], {
      encoding: "utf8",
      timeout: timeoutMs,
      cwd: dir,
      // Not NODE_TEST_CONTEXT: a block that uses node:test reports as a program of its own.
      env: { ...process.env, TSYNCIO_DEBUG: "", NODE_TEST_CONTEXT: undefined },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
