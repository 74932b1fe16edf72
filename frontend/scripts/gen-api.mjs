// Regenerates src/api/schema.gen.ts from the backend's OpenAPI schema (see openapi.mjs for the source).
import { writeFileSync } from "node:fs";
import { relative } from "node:path";
import { FRONTEND, generateTypes, loadOpenApi, SCHEMA_FILE } from "./openapi.mjs";

writeFileSync(SCHEMA_FILE, await generateTypes(await loadOpenApi()));
console.log(`wrote ${relative(FRONTEND, SCHEMA_FILE)}`);
