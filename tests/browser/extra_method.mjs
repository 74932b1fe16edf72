// A method added by a plug-in (tests/support/extra_method.py: ZO-Sign, #123456), against a live stack started
// with ZOPOC_METHOD_PLUGINS naming it: the API lists it, the launch form offers it, a PoC runs it, and the
// comparison's chart legend, badges and the share report show it in its colour, with nothing else changed.
// Prints "ok - ..." per check; exits non-zero on the first failed check.
import {
  BASE_URL,
  check,
  openBrowser,
  screenshot,
  signInIfNeeded,
} from "./browser.mjs";

const METHOD = "zo_sign";
const LABEL = "ZO-Sign";
const RGB = "rgb(18, 52, 86)"; // #123456 as the browser computes it
const STEPS = Number(process.env.ZOPOC_BROWSER_STEPS ?? 6);
const TIMEOUT = Number(process.env.ZOPOC_BROWSER_TIMEOUT_MS ?? 240_000);

const TAG = Math.random().toString(36).slice(2, 7);
const { page, close, consoleErrors } = await openBrowser();
page.setDefaultTimeout(30_000);
let failed = false;
try {
  await signInIfNeeded(page);

  // --- the API's registry ----------------------------------------------------------------------
  const methods = await (
    await page.request.get(`${BASE_URL}/api/methods`)
  ).json();
  const listed = methods.data.find((m) => m.method === METHOD);
  check(
    listed?.label === LABEL && listed?.color === "#123456",
    `the API lists the plug-in's method (${JSON.stringify(listed && { label: listed.label, color: listed.color })})`,
  );

  // --- the launch form -------------------------------------------------------------------------
  await page.goto(`${BASE_URL}/new?lang=en`);
  await page.getByRole("heading", { name: "Launch a new PoC" }).waitFor();
  const choice = page.getByRole("checkbox", { name: LABEL, exact: true });
  const border = await page
    .locator(`label.check-card[data-method="${METHOD}"]`)
    .evaluate((el) => getComputedStyle(el).borderTopColor);
  check(
    (await choice.count()) === 1 &&
      !(await choice.isChecked()) &&
      border === RGB,
    `the launch form offers ${LABEL} in its colour (${border}), unchecked`,
  );

  await page.getByLabel("PoC name").fill(`Plug-in method ${TAG}`);
  await page.getByLabel("Model", { exact: true }).selectOption("tiny-bert");
  await page.getByRole("checkbox", { name: "LOZO", exact: true }).uncheck();
  await choice.check();
  await page.getByLabel("Number of training steps").fill(String(STEPS));
  await page.getByText("Advanced settings").click();
  await page.getByLabel("Batch size").fill("8");
  await page.getByLabel("Evaluate every (steps)").fill("3");
  await page.getByLabel("Evaluation examples").fill("64");
  check(
    (await page
      .getByLabel(`${LABEL} Perturbation ε`)
      .getAttribute("placeholder")) !== null,
    `the plug-in's hyperparameters are offered from the registry`,
  );
  await screenshot(page, "plugin-method-form.png");
  await page.getByRole("button", { name: "Launch PoC" }).click();
  await page.waitForURL(/\/pocs\/[^/?]+/);
  const pocId = new URL(page.url()).pathname.split("/").pop();
  const settings = (
    await (await page.request.get(`${BASE_URL}/api/pocs/${pocId}`)).json()
  ).settings;
  check(
    settings.eval_every === 3 && settings.eval_size === 64,
    `the advanced settings reached the PoC (eval_every=${settings.eval_every}, eval_size=${settings.eval_size})`,
  );

  // --- the PoC that ran it ---------------------------------------------------------------------
  await page
    .getByTestId("live-status")
    .filter({ hasText: "All runs ended" })
    .waitFor({ timeout: TIMEOUT });
  const rows = await page.$$eval("tr[data-run-id]", (trs) =>
    trs.map(
      (tr) =>
        `${tr.getAttribute("data-method")}=${tr.getAttribute("data-state")}`,
    ),
  );
  check(
    rows.length === 2 &&
      rows.includes(`${METHOD}=succeeded`) &&
      rows.includes("adamw=succeeded"),
    `both runs succeeded, the plug-in's method trained by the engine (${rows})`,
  );
  const badge = await page
    .locator(`tr[data-method="${METHOD}"] .method-badge`)
    .evaluate((el) => ({
      text: el.textContent,
      color: getComputedStyle(el).borderTopColor,
    }));
  check(
    badge.text === LABEL && badge.color === RGB,
    `the runs table badges it ${badge.text} in ${badge.color}`,
  );

  // Plotly's own legend of the loss chart: the entry's text and the colour of its line sample.
  await page.waitForFunction(() => {
    const legend = document.querySelectorAll(
      '[data-chart="loss"] .legend .traces',
    );
    return legend.length === 2;
  });
  const legend = await page.$$eval(
    '[data-chart="loss"] .legend .traces',
    (items) =>
      items.map((item) => ({
        text: item.querySelector(".legendtext")?.textContent,
        stroke: getComputedStyle(
          item.querySelector(".legendlines path, .legendpoints path"),
        ).stroke,
      })),
  );
  const entry = legend.find((l) => l.text === LABEL);
  check(
    entry?.stroke === RGB,
    `the loss chart's legend shows ${LABEL} in its colour (${JSON.stringify(legend)})`,
  );
  const ratio = await page.getByTestId("memory-ratio").innerText();
  check(
    new RegExp(`AdamW needs [\\d.]+× the memory of ${LABEL}`).test(ratio),
    `the summary compares it with the baseline: "${ratio.split("\n")[0]}"`,
  );
  await screenshot(page, "plugin-method-comparison.png");

  // --- the share report ------------------------------------------------------------------------
  await page.getByRole("button", { name: "Create share report" }).click();
  const shareLink = await page
    .getByTestId("share-result")
    .locator("input")
    .inputValue();
  await page.goto(shareLink);
  const reportLegend = await page.$$eval("#legend span", (spans) =>
    spans.map((span) => ({
      text: span.textContent,
      color: getComputedStyle(span.querySelector("i")).backgroundColor,
    })),
  );
  const reported = reportLegend.find((l) => l.text === LABEL);
  check(
    reported?.color === RGB,
    `the report's legend shows ${LABEL} in its colour (${JSON.stringify(reportLegend)})`,
  );
  await screenshot(page, "plugin-method-report.png");

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
  await screenshot(page, "plugin-method-failure.png").catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
