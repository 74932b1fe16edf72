// Regenerates src/api/schema.gen.ts from the backend's OpenAPI schema. The schema is produced by
// importing the FastAPI app (no server needed); ZOPOC_OPENAPI_URL may point at a running server instead.
import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const frontend = new URL("..", import.meta.url).pathname;
const repo = join(frontend, "..");
let source = process.env.ZOPOC_OPENAPI_URL;
if (!source) {
  const python = process.env.ZOPOC_PYTHON ?? join(repo, ".venv/bin/python");
  const json = execFileSync(
    python,
    ["-c", "import json; from backend.api.main import create_app; print(json.dumps(create_app().openapi()))"],
    { cwd: repo, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 },
  );
  source = join(mkdtempSync(join(tmpdir(), "zopoc-openapi-")), "openapi.json");
  writeFileSync(source, json);
}
execFileSync(
  join(frontend, "node_modules/.bin/openapi-typescript"),
  [source, "-o", join(frontend, "src/api/schema.gen.ts")],
  {
    stdio: "inherit",
  },
);
