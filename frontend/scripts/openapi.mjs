// The dashboard's API types, generated from the backend's OpenAPI schema. One function serves both
// `npm run gen:api` (writes src/api/schema.gen.ts) and `npm run check:api` (compares with it), so the
// check can never disagree with the generator about formatting or options.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import openapiTS, { astToString, COMMENT_HEADER } from "openapi-typescript";
import ts from "typescript";

export const FRONTEND = new URL("..", import.meta.url).pathname;
export const REPO = join(FRONTEND, "..");
export const SCHEMA_FILE = join(FRONTEND, "src/api/schema.gen.ts");

/**
 * The backend's OpenAPI document. By default the FastAPI app is imported with the repository's Python
 * (no server needed); `source` (or ZOPOC_OPENAPI_URL) may name a running server's /openapi.json or a file.
 */
export async function loadOpenApi(source = process.env.ZOPOC_OPENAPI_URL) {
  if (source && /^https?:\/\//.test(source)) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`${source} answered ${response.status}`);
    return response.json();
  }
  if (source) return JSON.parse(readFileSync(source, "utf8"));
  const python = process.env.ZOPOC_PYTHON ?? join(REPO, ".venv/bin/python");
  const json = execFileSync(
    python,
    ["-c", "import json; from backend.api.main import create_app; print(json.dumps(create_app().openapi()))"],
    { cwd: REPO, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  return JSON.parse(json);
}

const BLOB = ts.factory.createTypeReferenceNode(ts.factory.createIdentifier("Blob"));

/** The TypeScript source of schema.gen.ts for an OpenAPI document. */
export async function generateTypes(document) {
  const ast = await openapiTS(document, {
    silent: true,
    // A field with a default is optional in a request body: the server fills it (a setting added to
    // RunSettings does not make every client send it).
    defaultNonNullable: false,
    transform(schema) {
      // A file part of an upload is a Blob in the browser (FastAPI marks it as an octet stream, or as
      // format "binary" in OpenAPI 3.0); left alone it would be typed as a string.
      if (schema.contentMediaType === "application/octet-stream" || schema.format === "binary") return BLOB;
      return undefined;
    },
  });
  return `${COMMENT_HEADER}${astToString(ast)}`;
}

/** The first line where two texts differ (1-based) with both versions of it, or null when equal. */
export function firstDifference(committed, generated) {
  if (committed === generated) return null;
  const a = committed.split("\n");
  const b = generated.split("\n");
  let line = 0;
  while (line < a.length && line < b.length && a[line] === b[line]) line += 1;
  return { line: line + 1, committed: a[line] ?? "(end of file)", generated: b[line] ?? "(end of file)" };
}
