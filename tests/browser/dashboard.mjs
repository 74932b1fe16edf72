// End-to-end walk through the dashboard in real Chromium against the live stack (BASE_URL):
// launch a tiny PoC from the form, watch it update live and finish, check the charts (one trace per
// method), switch the x axis, switch to Japanese, then launch a longer PoC and cancel its runs.
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

const STEPS = Number(process.env.ZOPOC_BROWSER_STEPS ?? 40);
const MODEL = process.env.ZOPOC_BROWSER_MODEL ?? "tiny-bert";
const TIMEOUT = Number(process.env.ZOPOC_BROWSER_TIMEOUT_MS ?? 240_000);

const TAG = Math.random().toString(36).slice(2, 7); // PoC names unique to this run of the script
const { page, close, consoleErrors } = await openBrowser();
page.setDefaultTimeout(30_000);
let failed = false;
try {
  // Count full page loads: live updates must arrive without any.
  let loads = 0;
  page.on("load", () => loads++);

  await signInIfNeeded(page);

  // --- 1. the launch form ----------------------------------------------------------------------
  await page.goto(`${BASE_URL}/new?lang=en`);
  await page.getByRole("heading", { name: "Launch a new PoC" }).waitFor();
  check(
    await page.getByRole("checkbox", { name: "LOZO", exact: true }).isChecked(),
    "LOZO is checked by default",
  );
  check(
    await page
      .getByRole("checkbox", { name: "AdamW", exact: true })
      .isChecked(),
    "AdamW is checked by default",
  );
  check(
    !(await page
      .getByRole("checkbox", { name: "MeZO", exact: true })
      .isChecked()),
    "MeZO is optional (unchecked)",
  );
  const modelOptions = await page
    .getByLabel("Model", { exact: true })
    .locator("option")
    .allTextContents();
  check(
    /embedded/i.test(modelOptions[0] ?? ""),
    `the embedded model comes first (${modelOptions[0]})`,
  );

  // Validation shows messages in place and does not submit; the bound is the caller's, from /api/limits.
  const limits = await (
    await page.request.get(`${BASE_URL}/api/limits`)
  ).json();
  const maxSteps = limits.run_settings.steps.maximum;
  await page.getByLabel("Number of training steps").fill("0");
  await page.getByRole("button", { name: "Launch PoC" }).click();
  await page.getByText(`Enter a value from 1 to ${maxSteps}.`).waitFor();
  check(
    page.url().endsWith("/new?lang=en"),
    "an invalid budget keeps the form open with its message",
  );

  // Upload: row errors in place, then a good file with its preview, selected in the dataset list.
  const fileInput = page.locator('input[type="file"]');
  const csv = (text) => Buffer.from(text, "utf8");
  await fileInput.setInputFiles({
    name: `bad-${TAG}.csv`,
    mimeType: "text/csv",
    buffer: csv("text,label\ngood movie,pos\nbad movie,neg\n,pos\nok film,\n"),
  });
  const errors = page.getByTestId("upload-errors");
  await errors.waitFor();
  const errorRows = await errors.locator("tbody tr").allInnerTexts();
  check(
    errorRows.length === 2 &&
      /^4\s+text/.test(errorRows[0]) &&
      /^5\s+label/.test(errorRows[1]),
    `row errors are shown in place (${errorRows.map((r) => r.replace(/\s+/g, " ")).join(" | ")})`,
  );
  await screenshot(page, "upload-errors.png");
  await fileInput.setInputFiles({
    name: `good-${TAG}.csv`,
    mimeType: "text/csv",
    buffer: csv(
      "text,label\ngood movie,pos\nbad movie,neg\ngreat film,pos\nawful film,neg\n",
    ),
  });
  const preview = page.getByTestId("upload-preview");
  await preview.waitFor();
  check(
    (await preview.locator("tbody tr").count()) === 4,
    "the uploaded file's preview is shown",
  );
  const chosen = await page
    .getByLabel("Dataset", { exact: true })
    .evaluate((el) => el.selectedOptions[0]?.textContent);
  check(
    new RegExp(`good-${TAG}`).test(chosen ?? ""),
    `the uploaded dataset is selected (${chosen})`,
  );

  await page.getByLabel("PoC name").fill(`Browser test ${TAG}: tiny PoC`);
  await page.getByLabel("Model", { exact: true }).selectOption(MODEL);
  await selectByText(
    page.getByLabel("Dataset", { exact: true }),
    /demo-sentiment/,
  );
  await page.getByLabel("Number of training steps").fill(String(STEPS));
  await page.getByText("Advanced settings").click();
  await page.getByLabel("Batch size").fill("8");
  await screenshot(page, "launch-form.png");

  // --- 2. launch and watch it live -------------------------------------------------------------
  await page.getByRole("button", { name: "Launch PoC" }).click();
  await page.waitForURL(/\/pocs\/[^/?]+/);
  const pocUrl = page.url().split("?")[0];
  console.log(`launched ${pocUrl}`);
  await page
    .getByTestId("live-status")
    .filter({ hasText: "Live" })
    .waitFor({ timeout: 60_000 });
  check(true, "the live stream is connected");

  // Points must appear and grow while the page stays as it is (no reload).
  const lossPoints = async () => {
    const charts = await chartTraces(page);
    return (charts.loss?.traces ?? []).reduce((sum, t) => sum + t.n, 0);
  };
  await page.waitForFunction(
    () => {
      const gd = document.querySelector('[data-chart="loss"] .js-plotly-plot');
      return gd && gd.data && gd.data.some((t) => t.x.length >= 2);
    },
    null,
    { timeout: TIMEOUT },
  );
  const firstCount = await lossPoints();
  const loadsBefore = loads;
  await page.waitForFunction(
    (before) => {
      const gd = document.querySelector('[data-chart="loss"] .js-plotly-plot');
      return gd && gd.data.reduce((s, t) => s + t.x.length, 0) > before;
    },
    firstCount,
    { timeout: TIMEOUT },
  );
  const laterCount = await lossPoints();
  check(
    laterCount > firstCount && loads === loadsBefore,
    `the loss chart grew live from ${firstCount} to ${laterCount} points without a reload`,
  );
  await screenshot(page, "live-comparison.png");

  // --- 3. finished: charts, summary ------------------------------------------------------------
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
  await page.waitForFunction(() =>
    ["loss", "accuracy", "memory"].every((id) => {
      const gd = document.querySelector(`[data-chart="${id}"] .js-plotly-plot`);
      return (
        gd &&
        gd.data &&
        gd.data.length === 2 &&
        gd.data.every((t) => t.x.length > 0)
      );
    }),
  );
  let charts = await chartTraces(page);
  for (const id of ["loss", "accuracy", "memory"]) {
    const names = charts[id].traces.map((t) => t.name).sort();
    check(
      JSON.stringify(names) === '["AdamW","LOZO"]' &&
        charts[id].drawnPaths === 2,
      `${id} chart: one drawn trace per method (${names})`,
    );
  }
  const colors = ["loss", "accuracy", "memory"].map((id) =>
    charts[id].traces
      .map((t) => `${t.name}=${t.color}`)
      .sort()
      .join(),
  );
  check(
    new Set(colors).size === 1,
    `each method keeps its colour in every chart (${colors[0]})`,
  );
  check(
    charts.loss.traces.every((t) => t.xMax === STEPS),
    `the step axis runs to ${STEPS}`,
  );
  check(charts.peak.drawnPaths >= 1, "peak memory is drawn as bars");
  const ratioText = await page.getByTestId("memory-ratio").innerText();
  check(
    /AdamW needs [\d.]+× the memory of LOZO/.test(ratioText),
    `the memory ratio is written out: "${ratioText.split("\n")[0]}"`,
  );
  // the finished PoC's conclusion arrives with the ROI answer
  await page
    .locator('[data-testid="accuracy-gap"][data-code]')
    .waitFor({ timeout: 30_000 });
  const gapText = await page.getByTestId("accuracy-gap").innerText();
  check(
    // finished: the server's headline, worded by McNemar's test (backend/estimates/headline.py)
    /^(No detectable difference in accuracy between LOZO and AdamW \(p [=<] [\d.]+, [\d,]+ evaluation examples\)\.|LOZO is [\d.]+ points (more|less) accurate than AdamW \(p [=<] [\d.]+, [\d,]+ evaluation examples\)\.)$/.test(
      gapText.trim(),
    ),
    `the accuracy gap is written out: "${gapText}"`,
  );
  await screenshot(page, "finished-comparison.png");

  // --- 3b. cost panel, share report, keyboard ---------------------------------------------------
  const verdict = page.getByTestId("roi-verdict");
  await verdict.waitFor();
  // an undecided comparison says what would decide it; a decided one has nothing to add
  const gapCode = await page
    .getByTestId("accuracy-gap")
    .getAttribute("data-code");
  const nextSteps = await page
    .getByTestId("roi-guidance")
    .locator("li")
    .count();
  check(
    gapCode === "no_significant_difference" ? nextSteps > 0 : nextSteps === 0,
    `the cost panel's guidance follows the verdict (${gapCode}: ${nextSteps} next steps)`,
  );
  const pocMemory = await page
    .locator("section[aria-labelledby=roi-title] tbody tr")
    .first()
    .innerText();
  await page.getByLabel("Estimate for").selectOption("7b");
  await page.waitForFunction((before) => {
    const row = document.querySelector(
      "section[aria-labelledby=roi-title] tbody tr",
    );
    return row && row.innerText !== before;
  }, pocMemory);
  check(
    true,
    "the ROI table follows the target selector (this PoC's model → 7B)",
  );
  await page.getByRole("button", { name: "Create share report" }).click();
  const shareLink = await page
    .getByTestId("share-result")
    .locator("input")
    .inputValue();
  check(/\/r\/[^/]+$/.test(shareLink), `a share link is shown (${shareLink})`);
  const shared = await page.request.get(shareLink);
  check(
    shared.ok() && /text\/html/.test(shared.headers()["content-type"] ?? ""),
    "the share link opens a page",
  );
  const htmlHref = await page
    .getByRole("link", { name: "Download HTML" })
    .getAttribute("href");
  check(
    (await page.request.get(new URL(htmlHref, BASE_URL).toString())).ok(),
    "the HTML download answers",
  );
  check(
    /\.pdf$/.test(
      (await page
        .getByRole("link", { name: "Download PDF" })
        .getAttribute("href")) ?? "",
    ),
    "a PDF download is offered",
  );
  await page.goto(`${page.url().split("?")[0]}?lang=en`);
  await page.getByRole("radio", { name: "Steps" }).waitFor();
  await page.keyboard.press("Tab");
  check(
    (await page.evaluate(() => document.activeElement?.textContent)) ===
      "Skip to main content",
    "the first Tab reaches the skip link",
  );
  await page.getByRole("radio", { name: "Steps" }).focus();
  await page.keyboard.press("Tab");
  await page.keyboard.press("Space");
  await page.waitForFunction(
    () => new URLSearchParams(location.search).get("x") === "elapsed_s",
  );
  check(true, "the x-axis switch works from the keyboard");
  // Leave ?lang= out from here on: the language switch below must be remembered across a reload.
  await page.goto(pocUrl);
  await page.getByRole("radio", { name: "Steps" }).waitFor();

  // --- 4. x axis: forward passes, then wall-clock time -----------------------------------------
  await page.getByRole("radio", { name: "Forward passes" }).click();
  await page.waitForFunction(() => {
    const gd = document.querySelector('[data-chart="loss"] .js-plotly-plot');
    return gd?.layout?.xaxis?.title?.text === "Forward passes";
  });
  charts = await chartTraces(page);
  const fp = Object.fromEntries(
    charts.loss.traces.map((t) => [t.name, t.xMax]),
  );
  // A ZO step costs two forward passes, an AdamW step one (plus a backward pass).
  check(
    fp.LOZO === 2 * STEPS && fp.AdamW === STEPS,
    `forward-pass axis: LOZO ${fp.LOZO} = 2×${STEPS}, AdamW ${fp.AdamW} = ${STEPS}`,
  );
  await page.getByRole("radio", { name: "Wall-clock time (s)" }).click();
  await page.waitForFunction(() => {
    const gd = document.querySelector(
      '[data-chart="accuracy"] .js-plotly-plot',
    );
    return gd?.layout?.xaxis?.title?.text === "Wall-clock time (s)";
  });
  charts = await chartTraces(page);
  check(
    charts.loss.traces.every((t) => t.xMax > 0 && t.xMax < 3600) &&
      charts.loss.xTitle === "Wall-clock time (s)",
    "wall-clock axis in seconds on every chart",
  );

  // --- 5. Japanese ----------------------------------------------------------------------------
  await page.getByRole("button", { name: "日本語" }).click();
  await page.getByText("学習損失", { exact: true }).waitFor();
  check(
    (await page.locator("html").getAttribute("lang")) === "ja",
    "<html lang> follows the language",
  );
  for (const label of [
    "学習の推移",
    "評価データでの精度",
    "手法ごとのピークメモリ",
    "実行状況",
    "経過時間（秒）",
    "完了",
  ]) {
    // A memory chart's title goes on with the kind of memory it shows ("… — ホストメモリ …").
    const shown = page.getByText(new RegExp(`^${label}( — .+)?$`)).first();
    check(await shown.isVisible(), `Japanese label shown: ${label}`);
  }
  await page.waitForFunction(() => {
    const gd = document.querySelector('[data-chart="loss"] .js-plotly-plot');
    return gd?.layout?.xaxis?.title?.text === "経過時間（秒）";
  });
  check(true, "chart axis titles are Japanese too");
  check(
    /AdamW は LOZO の [\d.]+ 倍のメモリを必要とします/.test(
      await page.getByTestId("memory-ratio").innerText(),
    ),
    "the memory ratio sentence is Japanese",
  );
  await page.reload();
  await page.getByText("学習損失", { exact: true }).waitFor();
  check(true, "the language choice is remembered after a reload");
  await page.waitForFunction(() =>
    ["loss", "accuracy", "memory"].every((id) => {
      const gd = document.querySelector(`[data-chart="${id}"] .js-plotly-plot`);
      return (
        gd?.layout?.xaxis?.title?.text === "経過時間（秒）" &&
        gd.data?.length === 2
      );
    }),
  );
  check(
    true,
    "after the reload the charts are drawn again with Japanese axis titles",
  );
  await screenshot(page, "finished-comparison-ja.png");
  await page.goto(`${pocUrl}?lang=en`);
  await page.getByText("Training loss", { exact: true }).waitFor();
  check(true, "?lang=en in the URL wins over the remembered choice");

  // --- 6. cancel -------------------------------------------------------------------------------
  await page.goto(`${BASE_URL}/new?lang=en`);
  await page.getByLabel("PoC name").fill(`Browser test ${TAG}: cancel me`);
  await page.getByLabel("Model", { exact: true }).selectOption(MODEL);
  await selectByText(
    page.getByLabel("Dataset", { exact: true }),
    /demo-sentiment/,
  );
  await page.getByLabel("Number of training steps").fill("100000");
  await page.getByRole("button", { name: "Launch PoC" }).click();
  await page.waitForURL(/\/pocs\/[^/?]+/);
  await page
    .locator('tr[data-method="lozo"][data-state="running"]')
    .waitFor({ timeout: TIMEOUT });
  // Cancelling asks first, in place.
  for (const method of ["LOZO", "AdamW"]) {
    await page
      .getByRole("button", { name: `Cancel the ${method} run` })
      .click();
    await page
      .getByRole("group", { name: `Cancel the ${method} run` })
      .getByRole("button", { name: "Yes, cancel it" })
      .click();
  }
  await page
    .locator('tr[data-method="lozo"][data-state="cancelled"]')
    .waitFor({ timeout: 60_000 });
  await page
    .locator('tr[data-method="adamw"][data-state="cancelled"]')
    .waitFor({ timeout: 60_000 });
  const badge = await page
    .locator('tr[data-method="lozo"] [data-state="cancelled"]')
    .innerText();
  check(badge === "Cancelled", `the cancelled run is marked "${badge}"`);
  check(
    await page.getByRole("button", { name: "Run LOZO again" }).isVisible(),
    "a cancelled run offers retry",
  );
  await screenshot(page, "cancelled.png");

  // --- 7. the list -----------------------------------------------------------------------------
  await page.goto(`${BASE_URL}/?lang=en`);
  await page
    .getByRole("link", { name: `Open Browser test ${TAG}: tiny PoC` })
    .waitFor();
  await page.getByLabel("Search by name or model").fill(`${TAG}: cancel`);
  await page.waitForFunction(
    () => document.querySelectorAll("tr[data-poc-id]").length === 1,
  );
  check(true, "the list filters by search");
  await screenshot(page, "poc-list.png");

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
  await screenshot(page, "failure.png").catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
