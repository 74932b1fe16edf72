// Prints the size of the production bundle (raw and gzip) per file and in total, so every build
// reports it; the Plotly chunk is listed separately because it is loaded only when a chart is shown.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
let raw = 0;
let gz = 0;
let initialGz = 0;
const rows = walk(dist)
  .filter((p) => /\.(js|css|html)$/.test(p))
  .map((path) => {
    const bytes = readFileSync(path);
    const z = gzipSync(bytes).length;
    raw += bytes.length;
    gz += z;
    const lazy = /plotly|PlotlyChart/i.test(path);
    if (!lazy) initialGz += z;
    return { file: path.slice(dist.length), raw: bytes.length, gzip: z, lazy };
  })
  .sort((a, b) => b.raw - a.raw);

console.log("\nzopoc bundle size (frontend/dist)");
for (const r of rows) {
  console.log(
    `  ${r.file.padEnd(48)} ${kb(r.raw).padStart(12)} ${kb(r.gzip).padStart(12)} gzip${r.lazy ? "  (lazy: charts)" : ""}`,
  );
}
console.log(`  total ${kb(raw)} raw, ${kb(gz)} gzip; loaded before any chart: ${kb(initialGz)} gzip\n`);
