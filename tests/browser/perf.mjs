// Render time of the comparison view for a large PoC (POC_ID, seeded by the pytest side with 3 runs of
// 100,000 steps): from the moment the metrics answer has arrived and is parsed ("zopoc:metrics-arrived")
// until every chart has been drawn by Plotly ("zopoc:charts-drawn"). Prints render_ms=<ms>.
import {
  BASE_URL,
  chartTraces,
  check,
  openBrowser,
  screenshot,
  signInIfNeeded,
} from "./browser.mjs";

const POC_ID = process.env.POC_ID;
const STEPS = Number(process.env.PERF_STEPS ?? 100_000);
if (!POC_ID) throw new Error("POC_ID is required");

const { page, close } = await openBrowser();
let failed = false;
try {
  await signInIfNeeded(page);
  const started = Date.now();
  const metricsResponse = page.waitForResponse((r) =>
    r.url().includes(`/api/pocs/${POC_ID}/metrics`),
  );
  await page.goto(`${BASE_URL}/pocs/${POC_ID}?lang=en`);
  const response = await metricsResponse;
  const body = await response.body();
  await page.waitForFunction(
    () => performance.getEntriesByName("zopoc:compare-render").length > 0,
    null,
    { timeout: 60_000 },
  );
  const renderMs = await page.evaluate(
    () => performance.getEntriesByName("zopoc:compare-render")[0].duration,
  );
  const charts = await chartTraces(page);
  for (const id of ["loss", "accuracy", "memory"]) {
    const traces = charts[id].traces;
    check(
      traces.length === 3 && charts[id].drawnPaths === 3,
      `${id}: 3 traces drawn`,
    );
    check(
      traces.every((t) => t.n > 0 && t.n <= 2000),
      `${id}: at most 2,000 points per trace (${traces.map((t) => t.n)})`,
    );
  }
  check(
    charts.loss.traces.every((t) => t.xMax === STEPS - 1 || t.xMax === STEPS),
    `the loss chart spans the whole run (to step ${charts.loss.traces[0].xMax})`,
  );
  await screenshot(page, "large-comparison.png");
  const marks = await page.evaluate(() =>
    Object.fromEntries(
      performance
        .getEntriesByType("mark")
        .filter((m) => m.name.startsWith("zopoc:"))
        .map((m) => [m.name, Math.round(m.startTime)]),
    ),
  );
  console.log(`marks_ms=${JSON.stringify(marks)}`);
  console.log(`metrics_bytes=${body.length}`);
  console.log(`page_to_drawn_ms=${Date.now() - started}`);
  console.log(`render_ms=${renderMs.toFixed(0)}`);
} catch (error) {
  failed = true;
  console.error(String(error?.stack ?? error));
  await screenshot(page, "perf-failure.png").catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
