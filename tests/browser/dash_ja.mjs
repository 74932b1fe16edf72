// A Japanese manager's browser (locale ja-JP, no ?lang=): the PoC list's key results, stop reasons in
// Japanese, a glossary tooltip by keyboard, ETA and queue position of a live PoC, and two PoCs side by side.
// The pytest side seeds POC_A (finished, a cancelled run), POC_B (one run training, two queued) and POC_C
// (finished, a diverged run).
import {
  BASE_URL,
  chartTraces,
  check,
  openBrowser,
  screenshot,
  signInIfNeeded,
} from "./browser.mjs";

const { POC_A, POC_B, POC_C } = process.env;
if (!POC_A || !POC_B || !POC_C)
  throw new Error("POC_A, POC_B and POC_C are required");

const { page, consoleErrors, close } = await openBrowser({
  locale: "ja-JP",
  timezoneId: "Asia/Tokyo",
});
let failed = false;
const row = (pocId) => page.locator(`tr[data-poc-id="${pocId}"]`);
const runRow = (method) => page.locator(`tr[data-method="${method}"]`);
try {
  await signInIfNeeded(page);

  // The list, in the browser's language.
  await page.goto(`${BASE_URL}/`);
  await page.getByRole("heading", { name: "PoC 一覧" }).waitFor();
  check(
    (await page.evaluate(() => document.documentElement.lang)) === "ja",
    "the dashboard speaks Japanese for a ja-JP browser",
  );
  const results = row(POC_A).getByTestId("key-results");
  const adamwBest = await results
    .locator('.key-accuracy[data-method="adamw"]')
    .innerText();
  check(
    adamwBest.includes("86.0%"),
    `the PoC list shows the best accuracy per method (${adamwBest})`,
  );
  const saving = await row(POC_A).getByTestId("memory-saving").innerText();
  check(
    saving.includes("3 倍のメモリが必要"),
    `the PoC list shows the memory saving (${saving})`,
  );

  // Stop reasons, in Japanese.
  await page.goto(`${BASE_URL}/pocs/${POC_A}`);
  const cancelled = await runRow("mezo").locator(".run-error").innerText();
  check(
    cancelled.includes("依頼により中止しました") &&
      !cancelled.includes("SIGTERM"),
    `the cancelled run's reason is in Japanese (${cancelled})`,
  );
  await page.goto(`${BASE_URL}/pocs/${POC_C}`);
  const diverged = await runRow("mezo").locator(".run-error").innerText();
  check(
    diverged.includes("ステップ 12 で損失が nan になりました"),
    `the diverged run's reason is in Japanese with its step (${diverged})`,
  );

  // A glossary term reached by keyboard: focus shows the explanation.
  const zo = runRow("lozo").getByRole("button", { name: "ZO", exact: true });
  await zo.focus();
  const tip = page.getByRole("tooltip");
  await tip.waitFor();
  const tipText = await tip.innerText();
  check(
    tipText.includes("順伝播だけで学習します"),
    `keyboard focus on ZO shows its explanation in Japanese (${tipText})`,
  );
  const describedBy = await zo.getAttribute("aria-describedby");
  check(
    describedBy && describedBy === (await tip.getAttribute("id")),
    "the explanation is the word's accessible description (aria-describedby)",
  );
  await page.keyboard.press("Escape");

  // A live PoC: ETA at the run's own pace, queue position, remaining time.
  await page.goto(`${BASE_URL}/pocs/${POC_B}`);
  const eta = await runRow("lozo").getByTestId("run-timing").innerText();
  check(
    eta.includes("残り約 3 分") && eta.includes("1 ステップ 2 秒"),
    `the running run shows its ETA at its own pace (${eta})`,
  );
  const queued = await runRow("adamw").getByTestId("run-timing").innerText();
  check(
    /待ち順 [12] 番目/.test(queued),
    `the queued run shows its place in the queue (${queued})`,
  );
  const pocTiming = await page.getByTestId("poc-timing").innerText();
  check(
    pocTiming.includes("残り約 10 分") && pocTiming.includes("順番に進みます"),
    `the PoC's remaining time and the sequential note are shown (${pocTiming})`,
  );
  await screenshot(page, "ja-live-timing.png");

  // Two PoCs side by side, picked in the list.
  await page.goto(`${BASE_URL}/`);
  await row(POC_A).getByRole("checkbox").check();
  await row(POC_C).getByRole("checkbox").check();
  await page.getByRole("button", { name: "選んだ 2 つの PoC を比較" }).click();
  await page.waitForURL(/\/compare\?a=.+&b=.+/);
  const url = new URL(page.url());
  check(
    new Set([url.searchParams.get("a"), url.searchParams.get("b")]).size ===
      2 &&
      [POC_A, POC_C].includes(url.searchParams.get("a")) &&
      [POC_A, POC_C].includes(url.searchParams.get("b")),
    "two picked PoCs open at /compare?a=…&b=…",
  );
  await page.getByRole("heading", { name: "2 つの PoC の比較" }).waitFor();
  const left = page.locator('section[data-side="a"]');
  const right = page.locator('section[data-side="b"]');
  await left.getByTestId("key-results").waitFor();
  await right.getByTestId("key-results").waitFor();
  const names = [
    await left.locator("#poc-a-title").innerText(),
    await right.locator("#poc-b-title").innerText(),
  ];
  check(
    names.includes("予算 100 ステップ") && names.includes("予算 400 ステップ"),
    `both PoCs are side by side with their key results (${names.join(" | ")})`,
  );
  await page.waitForFunction(
    () =>
      document.querySelectorAll(
        "section[data-side] [data-chart] .scatterlayer .trace",
      ).length >= 4,
    null,
    { timeout: 30_000 },
  );
  const charts = await chartTraces(page);
  check(
    Object.keys(charts).length > 0,
    `both columns draw their charts (${Object.keys(charts).join(", ")})`,
  );
  await screenshot(page, "ja-two-pocs.png");
  // Script errors only: the sign-in page's first look at /api/auth/me answers 401 by design.
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
  await screenshot(page, "ja-failure.png").catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
