// Fails when the committed src/api/schema.gen.ts is not what the backend's OpenAPI schema generates now,
// so a changed API route or schema cannot reach the dashboard untyped.
//
//   node scripts/check-api.mjs [--against FILE] [--openapi FILE_OR_URL]
//
// --against: the file to check (default src/api/schema.gen.ts); --openapi: an OpenAPI document instead of
// importing the FastAPI app (as ZOPOC_OPENAPI_URL).
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { parseArgs } from "node:util";
import { FRONTEND, firstDifference, generateTypes, loadOpenApi, SCHEMA_FILE } from "./openapi.mjs";

const { values } = parseArgs({ options: { against: { type: "string" }, openapi: { type: "string" } } });
const committedFile = values.against ?? SCHEMA_FILE;
const generated = await generateTypes(await loadOpenApi(values.openapi));
const fresh = join(mkdtempSync(join(tmpdir(), "zopoc-schema-")), "schema.gen.ts");
writeFileSync(fresh, generated);

const difference = firstDifference(readFileSync(committedFile, "utf8"), generated);
if (difference) {
  const shown = relative(FRONTEND, committedFile);
  console.error(
    [
      `${shown} is stale: it does not match the backend's current OpenAPI schema.`,
      `  first difference at line ${difference.line}:`,
      `    committed: ${difference.committed.trim()}`,
      `    generated: ${difference.generated.trim()}`,
      `  the freshly generated file: ${fresh}`,
      "Run `npm run gen:api` in frontend/ and commit the result (then fix what the type check reports).",
    ].join("\n"),
  );
  process.exit(1);
}
console.log(`${relative(FRONTEND, committedFile)} matches the backend's OpenAPI schema.`);
