/**
 * Imports one of the app's self-contained TypeScript modules (no `@/` imports) into a
 * `node --test` file: Node 20 cannot load `.ts`, so the module is transpiled with the
 * project's own TypeScript into a temporary ES module first.
 */

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import ts from "typescript";

const WEB_DIR = fileURLToPath(new URL("..", import.meta.url));

/** `relativePath` is from web/, e.g. `lib/safe-next.ts`. */
export async function importTs(relativePath) {
  const source = readFileSync(path.join(WEB_DIR, relativePath), "utf8");
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    fileName: relativePath,
  });
  const scratch = mkdtempSync(path.join(tmpdir(), "echoes-web-test-"));
  const file = path.join(scratch, `${path.basename(relativePath, ".ts")}.mjs`);
  try {
    writeFileSync(file, outputText);
    return await import(pathToFileURL(file).href);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
