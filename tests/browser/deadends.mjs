// The dashboard's former dead ends, walked in Japanese by a manager in Tokyo in real Chromium against the
// live stack (BASE_URL, its real API and worker):
// - cancelling asks first, and a running run shows "stopping…" (its actions disabled) until the worker
//   ends it; a retried method numbers its attempts;
// - the PoC list says how a partial PoC's runs ended ("3 件中 2 件が完了、1 件を中止"), not a bare percentage;
// - the PoC's share links are listed with language, dates in the reader's time zone and state, are still
//   there with copy, HTML and PDF after a reload, and a revoked one stops answering;
// - the owner deletes the PoC after a question that says what goes; the list follows, its links end.
// Prints "ok - ..." per check; exits non-zero on the first failed check.
import {
  BASE_URL,
  check,
  openBrowser,
  screenshot,
  signInIfNeeded,
} from "./browser.mjs";

const STEPS = Number(process.env.ZOPOC_BROWSER_STEPS ?? 20);
const MODEL = process.env.ZOPOC_BROWSER_MODEL ?? "tiny-bert";
const TIMEOUT = Number(process.env.ZOPOC_BROWSER_TIMEOUT_MS ?? 240_000);
const DATASET_ID = process.env.DATASET_ID;
const TIME_ZONE = "Asia/Tokyo";

const TAG = Math.random().toString(36).slice(2, 7); // PoC names unique to this run of the script
const { page, close, consoleErrors } = await openBrowser({
  timezoneId: TIME_ZONE,
});
page.setDefaultTimeout(30_000);
let failed = false;

/** Launches a PoC through the API as the signed-in browser (its session cookie and CSRF token). */
async function launch(name, methods, steps) {
  const csrf = (await page.context().cookies()).find(
    (c) => c.name === "zopoc_csrf",
  );
  const answer = await page.request.post(`${BASE_URL}/api/pocs`, {
    data: {
      name,
      model: MODEL,
      dataset_id: DATASET_ID,
      methods: methods.map((method) => ({ method })),
      steps,
    },
    headers: csrf ? { "X-CSRF-Token": csrf.value } : {},
  });
  if (answer.status() !== 201)
    throw new Error(`launch failed: ${answer.status()} ${await answer.text()}`);
  return (await answer.json()).id;
}

/** Cancels a run from its row: the button asks in place, and "中止する" confirms. */
async function cancelRun(method) {
  await page.getByRole("button", { name: `${method} の実行を中止` }).click();
  const question = page.getByRole("group", { name: `${method} の実行を中止` });
  await question.getByText(`${method} の実行を中止しますか？`).waitFor();
  await question.getByRole("button", { name: "中止する" }).click();
}

const status = async (path) =>
  (await page.request.get(new URL(path, BASE_URL).toString())).status();

try {
  check(!!DATASET_ID, "the built-in dataset's id is given (DATASET_ID)");
  await signInIfNeeded(page);
  const me = await (await page.request.get(`${BASE_URL}/api/auth/me`)).json();
  check(
    me.workspaces?.[0]?.role === "owner",
    `the manager owns the workspace (${me.workspaces?.[0]?.role})`,
  );

  // --- 1. cancel asks first, then "stopping…" until the worker ends the run; retries are numbered --
  const longName = `行き止まり ${TAG} 長い学習`;
  const longId = await launch(longName, ["lozo", "adamw"], 100_000);
  await page.goto(`${BASE_URL}/pocs/${longId}?lang=ja`);
  await page.getByRole("heading", { name: longName }).waitFor();
  await page
    .locator('tr[data-method="lozo"][data-state="running"]')
    .waitFor({ timeout: TIMEOUT });
  // Every state the LOZO row shows from now on, however briefly (the worker may end it within a second).
  await page.evaluate(() => {
    window.zopocLozoStates = [];
    const record = () => {
      const row = document.querySelector(
        'tr[data-method="lozo"][data-attempt="1"]',
      );
      const badge = row?.querySelector("td .badge[data-state]");
      if (!badge) return;
      const seen = window.zopocLozoStates;
      const state = badge.getAttribute("data-state");
      if (seen.at(-1)?.state === state) return;
      // The run's actions (a glossary word is a button too, but changes nothing).
      const buttons = [...row.querySelectorAll("button:not([data-term])")];
      seen.push({
        state,
        text: badge.textContent,
        buttons: buttons.map((b) => b.textContent),
        allDisabled: buttons.length > 0 && buttons.every((b) => b.disabled),
      });
    };
    record();
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    });
  });
  await page.getByRole("button", { name: "LOZO の実行を中止" }).click();
  const question = page.getByRole("group", { name: "LOZO の実行を中止" });
  await question
    .getByRole("button", { name: "続行する" })
    .waitFor({ timeout: 5_000 });
  check(
    (await question.innerText()).includes(
      "実行中のステップが終わると停止します",
    ),
    "cancelling asks first, in Japanese",
  );
  await question.getByRole("button", { name: "中止する" }).click();
  await page
    .locator('tr[data-method="lozo"][data-attempt="1"][data-state="cancelled"]')
    .waitFor({ timeout: 60_000 });
  const states = await page.evaluate(() => window.zopocLozoStates);
  const stopping = states.findIndex((s) => s.state === "stopping");
  check(
    stopping >= 0 &&
      states[stopping].text === "停止処理中…" &&
      states[stopping].allDisabled,
    `the run showed "停止処理中…" with its actions disabled (${JSON.stringify(states)})`,
  );
  check(
    states.findIndex((s) => s.state === "cancelled") > stopping,
    "then the worker ended it and the row says 中止",
  );

  await page.getByRole("button", { name: "LOZO をもう一度実行" }).click();
  const second = page.locator('tr[data-method="lozo"][data-attempt="2"]');
  await second.waitFor();
  const first = page.locator('tr[data-method="lozo"][data-attempt="1"]');
  check(
    (await second.innerText()).includes("2 回目") &&
      (await first.innerText()).includes("1 回目"),
    "the retried method's rows say 1 回目 and 2 回目",
  );
  await screenshot(page, "deadends-attempts-ja.png");
  // The rest ends too: the retry (queued or running) and AdamW.
  await cancelRun("LOZO");
  await page
    .locator('tr[data-method="lozo"][data-attempt="2"][data-state="cancelled"]')
    .waitFor({ timeout: 60_000 });
  await cancelRun("AdamW");
  await page
    .locator('tr[data-method="adamw"][data-state="cancelled"]')
    .waitFor({ timeout: 60_000 });
  check(true, "every run of the long PoC ended as 中止");

  // --- 2. a partial PoC in the list: counts, not a bare percentage --------------------------------
  const partName = `行き止まり ${TAG} 一部中止`;
  const partId = await launch(partName, ["lozo", "adamw", "mezo"], STEPS);
  await page.goto(`${BASE_URL}/pocs/${partId}?lang=ja`);
  await page.getByRole("heading", { name: partName }).waitFor();
  await cancelRun("MeZO");
  await page
    .locator('tr[data-method="mezo"][data-state="cancelled"]')
    .waitFor({ timeout: 60_000 });
  for (const method of ["lozo", "adamw"])
    await page
      .locator(`tr[data-method="${method}"][data-state="succeeded"]`)
      .waitFor({ timeout: TIMEOUT });
  check(true, "LOZO and AdamW finished, MeZO was cancelled");

  await page.goto(`${BASE_URL}/?lang=ja`);
  const partRow = page.locator(`tr[data-poc-id="${partId}"]`);
  await partRow.waitFor();
  const partSummary = await partRow.getByTestId("runs-summary").innerText();
  check(
    partSummary === "3 件中 2 件が完了、1 件を中止",
    `the list says how the partial PoC's runs ended (${partSummary})`,
  );
  const partState = await partRow.locator("td .badge[data-state]").innerText();
  check(
    partState === "結果が混在" &&
      // the progress cell (the key results next to it do show accuracies in %)
      !(
        await partRow
          .getByTestId("runs-summary")
          .locator("xpath=..")
          .innerText()
      ).includes("%") &&
      (await partRow.locator("progress").count()) === 0,
    `its state reads ${partState}, with no percentage or bar once nothing trains`,
  );
  const longSummary = await page
    .locator(`tr[data-poc-id="${longId}"]`)
    .getByTestId("runs-summary")
    .innerText();
  check(
    longSummary === "2 件中 0 件が完了、2 件を中止",
    `the retried PoC counts the newest attempt of each method (${longSummary})`,
  );
  await screenshot(page, "deadends-list-ja.png");

  // --- 3. share links: listed, found again after a reload, revoked ---------------------------------
  await page.goto(`${BASE_URL}/pocs/${partId}?lang=ja`);
  await page.getByRole("heading", { name: "この PoC の共有リンク" }).waitFor();
  await page.getByText("共有リンクはまだありません。").waitFor();
  check(true, "the PoC starts without share links");

  const links = page.getByTestId("share-links");
  for (const expected of [1, 2]) {
    await page.getByRole("button", { name: "共有レポートを作成" }).click();
    await page.waitForFunction(
      (n) =>
        document.querySelectorAll("[data-testid=share-links] tbody tr")
          .length === n,
      expected,
    );
  }
  check(true, "each new link is added to the list at once");
  const reports = (
    await (
      await page.request.get(`${BASE_URL}/api/pocs/${partId}/reports`)
    ).json()
  ).data; // newest first
  const tokyo = new Intl.DateTimeFormat("ja", {
    year: "numeric",
    month: "short",
    day: "numeric",
    hour: "numeric",
    minute: "2-digit",
    timeZoneName: "short",
    timeZone: TIME_ZONE,
  });

  await page.reload();
  await links.waitFor();
  const rows = links.locator("tbody tr");
  check(
    (await rows.count()) === 2,
    "after a reload both links are still listed",
  );
  for (const report of reports) {
    const row = links.locator(`tr[data-report-id="${report.id}"]`);
    const text = await row.innerText();
    const expires = tokyo.format(new Date(report.expires_at));
    check(
      text.includes("日本語") &&
        text.includes("有効") &&
        text.includes(expires) &&
        text.includes(tokyo.format(new Date(report.created_at))),
      `link ${report.token_prefix}: 日本語, 有効, created and valid until in Tokyo time (${expires})`,
    );
    const url = await row.getByLabel("リンク", { exact: true }).inputValue();
    check(
      (await status(url)) === 200,
      `link ${report.token_prefix}: its address is shown again and opens the report`,
    );
    const html = await row
      .getByRole("link", {
        name: `${report.token_prefix}… で始まるリンクを HTML でダウンロード`,
      })
      .getAttribute("href");
    check(
      (await status(html)) === 200,
      `link ${report.token_prefix}: the HTML download answers`,
    );
    check(
      /\.pdf$/.test(
        (await row
          .getByRole("link", { name: /PDF でダウンロード$/ })
          .getAttribute("href")) ?? "",
      ),
      `link ${report.token_prefix}: the PDF download is offered`,
    );
  }
  const [newer, older] = reports;
  const olderRow = links.locator(`tr[data-report-id="${older.id}"]`);
  const olderUrl = await olderRow
    .getByLabel("リンク", { exact: true })
    .inputValue();
  const newerUrl = await links
    .locator(`tr[data-report-id="${newer.id}"]`)
    .getByLabel("リンク", { exact: true })
    .inputValue();
  const revokeName = `${older.token_prefix}… で始まるリンクを無効にする`;
  await olderRow.getByRole("button", { name: revokeName }).click();
  const revokeQuestion = page.getByRole("group", { name: revokeName });
  check(
    (await revokeQuestion.innerText()).includes("このリンクを無効にしますか？"),
    "revoking asks first, in Japanese",
  );
  await revokeQuestion.getByRole("button", { name: "無効にする" }).click();
  await links
    .locator(`tr[data-report-id="${older.id}"][data-state="revoked"]`)
    .waitFor();
  check(
    (await olderRow.innerText()).includes("無効化済み") &&
      (await olderRow.getByRole("button").count()) === 0,
    "the revoked link is listed as 無効化済み, without actions",
  );
  check(
    (await status(olderUrl)) === 404 && (await status(newerUrl)) === 200,
    "the revoked link no longer opens; the other one still does",
  );
  await screenshot(page, "deadends-share-ja.png");

  // --- 4. delete: the question says what goes; back to the list; the links end --------------------
  const deleteName = `PoC「${partName}」を削除`;
  await page.getByRole("button", { name: deleteName }).click();
  const deleteQuestion = page.getByRole("group", { name: deleteName });
  const asked = await deleteQuestion.innerText();
  check(
    asked.includes("3 件の実行") &&
      asked.includes("メトリクス") &&
      asked.includes("共有リンクも使えなくなります"),
    "deleting asks first and says that runs, metrics and share links go",
  );
  await deleteQuestion.getByRole("button", { name: "削除する" }).click();
  await page.waitForURL((url) => url.pathname === "/");
  await page.getByText(`「${partName}」を削除しました。`).waitFor();
  await page.locator(`tr[data-poc-id="${longId}"]`).waitFor();
  check(
    (await page.locator(`tr[data-poc-id="${partId}"]`).count()) === 0,
    "after deleting, the list is shown without the PoC",
  );
  check(
    (await status(`/api/pocs/${partId}`)) === 404 &&
      (await status(newerUrl)) === 404,
    "the deleted PoC and its remaining share link are gone (404)",
  );

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
  await screenshot(page, "deadends-failure.png").catch(() => {});
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
