// A generation PoC end to end in real Chromium: the built-in date task chosen in the launch form shows its
// generation settings, the PoC trains a tiny decoder with LOZO and AdamW through the real worker, the
// comparison draws exact match, token F1 and the completion loss per method, the examples table shows each
// method's answers at the start and the end, and the share report carries those examples.
// Prints "ok - ..." per check; exits non-zero on the first failed check.
import {
  BASE_URL,
  chartTraces,
  check,
  openBrowser,
  screenshot,
  selectByText,
  signInIfNeeded,
} from "./browser.mjs";

const STEPS = Number(process.env.ZOPOC_BROWSER_STEPS ?? 6);
const TIMEOUT = Number(process.env.ZOPOC_BROWSER_TIMEOUT_MS ?? 300_000);
const TAG = Math.random().toString(36).slice(2, 7);
const CHARTS = ["loss", "exact_match", "f1", "eval_loss"];

const { page, close, consoleErrors } = await openBrowser();
page.setDefaultTimeout(30_000);
let failed = false;
try {
  await signInIfNeeded(page);

  // --- the launch form -------------------------------------------------------------------------
  await page.goto(`${BASE_URL}/new?lang=en`);
  await page.getByRole("heading", { name: "Launch a new PoC" }).waitFor();
  await page.getByLabel("Model", { exact: true }).selectOption("tiny-bert");
  await selectByText(page.getByLabel("Dataset", { exact: true }), /demo-dates/);
  const settings = page.getByTestId("generation-settings");
  await settings.waitFor();
  const model = await page.getByLabel("Model", { exact: true }).inputValue();
  check(
    model === "smollm2-135m",
    `choosing the date task shows the generation settings and switches the encoder to a decoder (${model})`,
  );
  check(
    (await page.getByLabel("Training examples per class").count()) === 0,
    "the classification-only settings are hidden",
  );
  await page.getByLabel("PoC name").fill(`Generation ${TAG}`);
  // the tiny random decoder keeps the browser test short; the form's choice above is what a user gets
  await page.getByLabel("Model", { exact: true }).selectOption("tiny-gpt2");
  await page.getByLabel("Tokens per answer (at most)").fill("4");
  await page.getByLabel("Number of training steps").fill(String(STEPS));
  await page.getByText("Advanced settings").click();
  await page.getByLabel("Batch size").fill("4");
  await page.getByLabel("Evaluate every (steps)").fill("3");
  await page.getByLabel("Evaluation examples").fill("8");
  await screenshot(page, "generation-form.png");
  await page.getByRole("button", { name: "Launch PoC" }).click();
  await page.waitForURL(/\/pocs\/[^/?]+/);
  const pocId = new URL(page.url()).pathname.split("/").pop();
  const poc = await (
    await page.request.get(`${BASE_URL}/api/pocs/${pocId}`)
  ).json();
  check(
    poc.settings.task_type === "generation" &&
      poc.settings.max_new_tokens === 4,
    `the PoC is a generation PoC with the form's budget (${poc.settings.task_type}, ${poc.settings.max_new_tokens})`,
  );

  // --- live, then finished ---------------------------------------------------------------------
  await page
    .getByTestId("live-status")
    .filter({ hasText: "All runs ended" })
    .waitFor({ timeout: TIMEOUT });
  const states = await page.$$eval("tr[data-run-id]", (rows) =>
    rows.map((r) => r.getAttribute("data-state")),
  );
  check(
    states.length === 2 && states.every((s) => s === "succeeded"),
    `both runs succeeded (${states})`,
  );
  await page.waitForFunction(
    (ids) =>
      ids.every((id) => {
        const gd = document.querySelector(
          `[data-chart="${id}"] .js-plotly-plot`,
        );
        return (
          gd &&
          gd.data &&
          gd.data.length === 2 &&
          gd.data.every((t) => t.x.length > 0)
        );
      }),
    CHARTS,
  );
  const charts = await chartTraces(page);
  for (const id of CHARTS) {
    const names = charts[id].traces.map((t) => t.name).sort();
    check(
      JSON.stringify(names) === '["AdamW","LOZO"]' &&
        charts[id].drawnPaths === 2,
      `${id} chart: one drawn trace per method (${names})`,
    );
  }
  check(charts.accuracy === undefined, "no accuracy chart on a generation PoC");
  const f1Points = charts.f1.traces.map((t) => t.n);
  check(
    f1Points.every((n) => n === 3),
    `F1 at every evaluation: steps 0, 3, 6 (${f1Points})`,
  );

  const examples = page.getByTestId("generation-examples");
  await examples.waitFor();
  const rows = await examples.locator("tbody tr").count();
  const cells = await examples
    .locator("td[data-method][data-at]")
    .evaluateAll((tds) =>
      tds.map(
        (td) =>
          `${td.getAttribute("data-method")}:${td.getAttribute("data-at")}`,
      ),
    );
  const kinds = [...new Set(cells)].sort().join(",");
  check(
    rows > 0 && kinds === "adamw:end,adamw:start,lozo:end,lozo:start",
    `the examples table shows each method's answer at the start and the end (${rows} prompts; ${kinds})`,
  );
  const text = await examples.innerText();
  check(
    /\d{4}-\d{2}-\d{2}/.test(text),
    "the examples table shows the references (ISO dates)",
  );
  await screenshot(page, "generation-comparison.png");

  // --- the share report ------------------------------------------------------------------------
  await page.getByRole("button", { name: "Create share report" }).click();
  const shareLink = await page
    .getByTestId("share-result")
    .locator("input")
    .inputValue();
  check(/\/r\/[^/]+$/.test(shareLink), `a share link is shown (${shareLink})`);
  const htmlHref = await page
    .getByRole("link", { name: "Download HTML" })
    .getAttribute("href");
  const report = await (
    await page.request.get(new URL(htmlHref, BASE_URL).toString())
  ).text();
  check(
    report.includes("Example answers") &&
      report.includes('id="examples"') &&
      report.includes("LOZO at end"),
    "the report carries the example answers",
  );
  check(
    report.includes("Exact match on the evaluation prompts"),
    "the report charts exact match",
  );

  // Script errors only: a failed API call shows up in the checks above and in the page itself.
  const relevant = consoleErrors.filter(
    (e) => !/Failed to load resource/.test(e),
  );
  check(
    relevant.length === 0,
    `no errors in the browser console (${relevant.join(" | ")})`,
  );
} catch (error) {
  failed = true;
  console.error(String(error?.stack ?? error));
  await screenshot(page, "generation-failure.png").catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
