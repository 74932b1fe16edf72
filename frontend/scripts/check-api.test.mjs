// @vitest-environment node
// The schema check against the real backend: it passes on the committed schema.gen.ts and fails, saying
// what to do, on a stale one (here: the committed file with one route's schema edited away).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { firstDifference, loadOpenApi, SCHEMA_FILE } from "./openapi.mjs";

const CHECK = new URL("./check-api.mjs", import.meta.url).pathname;
const folder = mkdtempSync(join(tmpdir(), "zopoc-check-api-"));
const openapi = join(folder, "openapi.json");

const check = (...args) => spawnSync(process.execPath, [CHECK, "--openapi", openapi, ...args], { encoding: "utf8" });

describe("npm run check:api", () => {
  beforeAll(async () => {
    // The backend's OpenAPI document once, from the FastAPI app (as the check itself does by default).
    writeFileSync(openapi, JSON.stringify(await loadOpenApi()));
  }, 60_000);

  it("passes when schema.gen.ts is what the backend generates", () => {
    const result = check();
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/matches the backend's OpenAPI schema/);
  });

  it("fails on a stale schema.gen.ts, naming the first difference and the fix", () => {
    const committed = readFileSync(SCHEMA_FILE, "utf8");
    const stale = committed.replace('"/api/limits": {', '"/api/limits-old": {');
    expect(stale).not.toBe(committed);
    const staleFile = join(folder, "schema.gen.ts");
    writeFileSync(staleFile, stale);

    const result = check("--against", staleFile);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/is stale: it does not match the backend's current OpenAPI schema/);
    expect(result.stderr).toMatch(/committed: "\/api\/limits-old": \{/);
    expect(result.stderr).toMatch(/generated: "\/api\/limits": \{/);
    expect(result.stderr).toMatch(/Run `npm run gen:api`/);
  });
});

describe("firstDifference", () => {
  it("finds the first differing line, or nothing for equal texts", () => {
    expect(firstDifference("a\nb\nc", "a\nb\nc")).toBeNull();
    expect(firstDifference("a\nb\nc", "a\nx\nc")).toEqual({ line: 2, committed: "b", generated: "x" });
    expect(firstDifference("a", "a\nb")).toEqual({ line: 2, committed: "(end of file)", generated: "b" });
  });
});
