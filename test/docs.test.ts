// The documentation cannot rot: every ```ts block of docs/*.md and README.md type-checks
// against src/ (test/helpers/doc-blocks.ts states the convention), the whole programs
// among them run and print what the page says, and the site builds.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import {
  extractBlocks,
  runBlock,
  typeCheckBlocks,
  wrapBlock,
  exportedNames,
  type BlockDiagnostic,
  type DocBlock,
} from "./helpers/doc-blocks.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const buildDir = join(root, ".build");

function docFiles(): string[] {
  const docs = readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`);
  return ["README.md", ...docs];
}

const blocks = docFiles().flatMap((file) =>
  extractBlocks(file, readFileSync(join(root, file), "utf8")),
);

/** Blocks that must fail, checked in the same program as the docs (one compile for all). */
const BROKEN = [
  // A wrong type in a whole module.
  '```ts\nimport { sleep } from "tsyncio";\nconst n: string = sleep(1);\n```',
  // A fragment awaiting a Promise with yield*, and one using an undeclared name.
  "```ts\nconst x = yield* Promise.resolve(1);\n```",
  "```ts\nyield* sleep(1);\nyield* undeclared();\n```",
].join("\n\nprose\n\n");
const brokenBlocks = extractBlocks("fixtures/broken.md", BROKEN);

let checked: BlockDiagnostic[] | undefined;
/** The diagnostics of the docs' blocks and the broken fixtures, computed once. */
function diagnostics(): BlockDiagnostic[] {
  checked ??= typeCheckBlocks(root, [...blocks, ...brokenBlocks]);
  return checked;
}

function format(found: readonly BlockDiagnostic[]): string {
  return found.map((d) => `${d.file}:${d.line}: ${d.message}`).join("\n");
}

describe("the documentation's code blocks", () => {
  it("are found in the guides, the porting guide and the README", () => {
    const files = new Set(blocks.map((block) => block.file));
    for (const file of ["README.md", "docs/getting-started.md", "docs/porting-from-asyncio.md"]) {
      assert.ok(files.has(file), `no ts block found in ${file}`);
    }
    assert.deepEqual(
      blocks.filter((block) => block.skip !== null).map((b) => `${b.file}:${b.line}`),
      [],
      "no block opts out of the check",
    );
  });

  it("every ts block type-checks against src", () => {
    const found = diagnostics().filter((d) => d.file !== "fixtures/broken.md");
    assert.equal(format(found), "");
  });

  for (const block of blocks.filter((each) => each.run)) {
    it(`${block.file}:${block.line} runs and prints what the page says (real I/O)`, () => {
      const result = runBlock(buildDir, block);
      assert.equal(result.status, 0, `stdout:\n${result.stdout}\nstderr:\n${result.stderr}`);
      if (block.expectedOutput !== null) assert.equal(result.stdout, block.expectedOutput);
    });
  }
});

describe("typeCheckBlocks", () => {
  it("reports a type error at its line of the markdown file", () => {
    const found = diagnostics()
      .filter((d) => d.file === "fixtures/broken.md")
      .sort((a, b) => a.line - b.line);
    assert.deepEqual(
      found.map((d) => d.line),
      [3, 9, 16],
    );
    assert.match(
      found[0]?.message ?? "",
      /Type 'Coro<undefined>' is not assignable to type 'string'/,
    );
    assert.match(
      found[1]?.message ?? "",
      /Promise<number>.*must have a '\[Symbol\.iterator\]\(\)'/,
    );
    assert.match(found[2]?.message ?? "", /Cannot find name 'undeclared'/);
  });
});

describe("extractBlocks", () => {
  it("reads declarations, run markers and the expected output around a block", () => {
    const markdown = [
      "<!-- check: declare const proc: Process; -->",
      "<!-- check: run -->",
      "",
      "```ts",
      "yield* proc.wait();",
      "```",
      "",
      "```text",
      "done",
      "```",
    ].join("\n");
    const [block] = extractBlocks("a.md", markdown);
    assert.deepEqual(block, {
      file: "a.md",
      line: 5,
      code: "yield* proc.wait();\n",
      declarations: "declare const proc: Process;\n",
      run: true,
      skip: null,
      expectedOutput: "done\n",
    });
  });

  it("forgets a check comment once prose comes between it and the block", () => {
    const markdown = "<!-- check: run -->\n\nSome prose.\n\n```ts\nconst a = 1;\n```\n";
    assert.equal(extractBlocks("a.md", markdown)[0]?.run, false);
  });

  it("refuses a skip without a reason and an unknown check comment", () => {
    assert.throws(() => extractBlocks("a.md", "<!-- check: skip -->\n```ts\nx;\n```\n"), {
      message: 'a.md:2: "check: skip" needs ": a reason"',
    });
    assert.throws(() => extractBlocks("a.md", "<!-- check: rnu -->\n```ts\nx;\n```\n"), {
      message: 'a.md:2: unknown check comment "rnu"',
    });
  });

  it("ignores blocks in other languages", () => {
    assert.deepEqual(extractBlocks("a.md", "```sh\nnpm test\n```\n```json\n{}\n```\n"), []);
  });
});

describe("wrapBlock", () => {
  const index = exportedNames(join(root, "src", "index.ts"));
  const testing = exportedNames(join(root, "src", "testing.ts"));
  const block = (code: string): DocBlock => ({
    file: "a.md",
    line: 1,
    code,
    declarations: "",
    run: false,
    skip: null,
    expectedOutput: null,
  });

  it("checks a block that imports as the module it is", () => {
    const code = 'import { sleep } from "tsyncio";\n';
    assert.deepEqual(wrapBlock(block(code), index, testing), { text: code, offset: 0 });
  });

  it("makes a fragment with yield* the body of a coroutine, with every export in scope", () => {
    const { text, offset } = wrapBlock(block("yield* sleep(1);\n"), index, testing);
    const lines = text.split("\n");
    assert.match(lines[0] ?? "", /^import \{ .* \} from "tsyncio";$/);
    assert.match(lines[0] ?? "", /[{,] sleep,/);
    assert.match(lines[0] ?? "", /, type Coro,/);
    assert.match(lines[1] ?? "", /^import \{ .*\brunVirtual\b.* \} from "tsyncio\/testing";$/);
    assert.doesNotMatch(lines[1] ?? "", /DeadlockError/, "each name is imported once");
    assert.equal(lines[offset - 1], "export function* fragment(): Coro<any> {");
    assert.equal(lines[offset], "yield* sleep(1);");
  });

  it("keeps a fragment without yield as module code, so it may await", () => {
    const { text, offset } = wrapBlock(block("await run(main());\n"), index, testing);
    assert.equal(text.split("\n")[offset - 1], "export {};");
  });
});

describe("npm run docs", () => {
  it("builds the site: the guides and the API reference (real I/O)", () => {
    const out = mkdtempSync(join(tmpdir(), "tsyncio-site-"));
    try {
      const result = spawnSync(
        process.execPath,
        [join(root, "node_modules", "typedoc", "bin", "typedoc"), "--out", out],
        { cwd: root, encoding: "utf8", timeout: 60_000, env: { ...process.env, FORCE_COLOR: "0" } },
      );
      assert.equal(result.status, 0, `${result.stdout}\n${result.stderr}`);
      const warnings = `${result.stdout}\n${result.stderr}`
        .split("\n")
        .filter((line) => line.includes("[warning]") && !/Found \d+ errors and/.test(line));
      assert.deepEqual(warnings, []);
      const index = readFileSync(join(out, "index.html"), "utf8");
      assert.match(index, /tsyncio documentation/);
      assert.match(index, /href="documents\/getting-started\.html"/);
      const task = readFileSync(join(out, "classes", "tsyncio.Task.html"), "utf8");
      assert.match(task, /Ask the Task to cancel itself/);
      assert.doesNotMatch(task, /_wakeupFrom/, "underscored internals stay out");
      const guide = readFileSync(join(out, "documents", "structured-concurrency.html"), "utf8");
      assert.match(guide, /Task groups/);
      assert.ok(existsSync(join(out, "modules", "tsyncio_testing.html")));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
