// Opens a shared report in real Chromium, twice: the share page (REPORT_URL, from the live server) and the
// downloaded self-contained HTML file (HTML_FILE, from disk with every network request blocked). Checks
// the verdict (EXPECT_VERDICT) and that Plotly drew the three charts with one line per method; saves
// screenshots. Prints "ok - ..." per check; exits non-zero on the first failed check.
import { check, openBrowser, screenshot } from "../browser/browser.mjs";

const REPORT_URL = process.env.REPORT_URL;
const HTML_FILE = process.env.HTML_FILE;
const EXPECT_VERDICT = process.env.EXPECT_VERDICT;
const EXPECT_CONCLUSION = process.env.EXPECT_CONCLUSION;
const METHODS = (process.env.EXPECT_METHODS ?? "AdamW,LOZO").split(",");

async function checkStates(page, label) {
  // each run's state on one line: the column never wraps a word one letter per line
  const states = await page.$$eval("#final-metrics td.state", (cells) =>
    cells.map((td) => {
      const range = document.createRange();
      range.selectNodeContents(td);
      const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
      return { text: td.innerText, lines: tops.size };
    }),
  );
  check(
    states.length >= METHODS.length && states.every((c) => c.lines === 1),
    `${label}: the state column keeps each state on one line (${states.map((c) => `${c.text}: ${c.lines}`).join(", ")})`,
  );
}

async function checkReport(page, label) {
  await page.waitForSelector('body[data-charts-ready="1"]', {
    timeout: 30_000,
  });
  const verdict = await page.locator("#verdict").innerText();
  check(verdict.includes(EXPECT_VERDICT), `${label}: the verdict reads "${EXPECT_VERDICT}"`);
  const charts = await page.$$eval(".chart", (divs) =>
    divs.map((div) => ({
      id: div.getAttribute("data-chart"),
      names: (div.data || []).map((t) => t.name),
      points: (div.data || []).map((t) => (t.x || []).length),
      drawn: div.querySelectorAll(".scatterlayer .trace path.js-line").length,
    })),
  );
  check(
    charts.map((c) => c.id).join(",") === "loss,accuracy,memory",
    `${label}: three charts (loss, accuracy, memory)`,
  );
  await checkStates(page, label);
  if (EXPECT_CONCLUSION) {
    const conclusion = await page.locator("#conclusion").innerText();
    check(conclusion.startsWith(EXPECT_CONCLUSION), `${label}: the conclusion reads "${conclusion}"`);
  }
  for (const chart of charts) {
    check(
      METHODS.every((m) => chart.names.includes(m)) &&
        chart.drawn >= METHODS.length &&
        chart.points.every((n) => n > 1),
      `${label}: ${chart.id} chart draws a line per method (${chart.names.join(", ")}; ${chart.points.join("/")} points)`,
    );
  }
}

const { page, close, consoleErrors } = await openBrowser({
  width: 900,
  height: 1300,
});
let failed = false;
try {
  // 1. the share page, served by the app, no login
  const response = await page.goto(REPORT_URL);
  check(response.status() === 200, `share page answers 200 (${REPORT_URL})`);
  await checkReport(page, "share page");
  await screenshot(page, "share-page-en.png");

  // 1b. the same page in Japanese in a narrow window (a split screen): Japanese may break between any two
  // characters, so a squeezed state column would stack 成功 one character per line
  await page.setViewportSize({ width: 560, height: 1300 });
  await page.goto(`${REPORT_URL}?lang=ja`);
  await page.waitForSelector('body[data-charts-ready="1"]', {
    timeout: 30_000,
  });
  await checkStates(page, "share page, Japanese, 560 px");
  await screenshot(page, "share-page-ja-narrow.png");
  await page.setViewportSize({ width: 900, height: 1300 });

  // 2. the downloaded HTML file, offline: any request leaving the file is refused and counted
  const outside = [];
  await page.route("**/*", (route) => {
    const url = route.request().url();
    if (url.startsWith("file:")) return route.continue();
    outside.push(url);
    return route.abort();
  });
  await page.goto(`file://${HTML_FILE}`);
  await checkReport(page, "HTML file");
  check(outside.length === 0, `HTML file needs no network (${outside.length} requests: ${outside.join(" ")})`);
  await screenshot(page, "html-file-en.png");
  check(consoleErrors.length === 0, `no console errors (${consoleErrors.join(" | ")})`);
} catch (error) {
  console.error(String(error));
  failed = true;
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
