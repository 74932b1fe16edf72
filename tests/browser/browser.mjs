// Shared helpers of the browser tests: start Debian's Chromium through playwright-core, with the
// flags this project's machines need, and small checks that print what they saw.
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";

// playwright-core is a dev dependency of the frontend: resolve it from there.
const require = createRequire(
  new URL("../../frontend/package.json", import.meta.url),
);
const { chromium } = require("playwright-core");

export const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8765";
export const SCREENSHOT_DIR =
  process.env.SCREENSHOT_DIR ??
  new URL("../../test-artifacts/screenshots/", import.meta.url).pathname;
mkdirSync(SCREENSHOT_DIR, { recursive: true });

/** Starts Chromium in a fresh profile (in ``timezoneId``'s time zone and ``locale``'s language if given);
 * returns { browser, page, close }. */
export async function openBrowser({
  width = 1280,
  height = 800,
  timezoneId = undefined,
  locale = undefined,
} = {}) {
  const profile = mkdtempSync(join(tmpdir(), "zopoc-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width, height },
    timezoneId,
    locale,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const consoleErrors = [];
  page.on("console", (msg) => {
    if (msg.type() === "error") consoleErrors.push(msg.text());
  });
  page.on("pageerror", (err) => consoleErrors.push(String(err)));
  return {
    page,
    consoleErrors,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export async function screenshot(page, name) {
  const path = join(SCREENSHOT_DIR, name);
  await page.screenshot({ path, fullPage: true });
  console.log(`screenshot ${path}`);
}

export function check(condition, message) {
  if (!condition) throw new Error(`check failed: ${message}`);
  console.log(`ok - ${message}`);
}

/** Per chart (data-chart id): the traces Plotly drew, read from the graph div Plotly owns. */
export async function chartTraces(page) {
  return page.$$eval("[data-chart]", (figures) =>
    Object.fromEntries(
      figures.map((figure) => {
        const gd = figure.querySelector(".js-plotly-plot");
        const data = gd && Array.isArray(gd.data) ? gd.data : [];
        return [
          figure.getAttribute("data-chart"),
          {
            traces: data.map((t) => ({
              name: t.name,
              type: t.type,
              n: (t.x || []).length,
              xMax: Math.max(...(t.x || [0])),
              color: t.line?.color,
            })),
            xTitle: gd?.layout?.xaxis?.title?.text ?? null,
            drawnPaths: figure.querySelectorAll(
              ".scatterlayer .trace, .barlayer .trace",
            ).length,
          },
        ];
      }),
    ),
  );
}

/** Selects the first option of a <select> whose text matches ``pattern``. */
export async function selectByText(select, pattern) {
  const options = await select
    .locator("option")
    .evaluateAll((els) =>
      els.map((o) => ({ value: o.value, text: o.textContent })),
    );
  const option = options.find((o) => pattern.test(o.text ?? ""));
  if (!option)
    throw new Error(
      `no option matches ${pattern}: ${options.map((o) => o.text).join(" | ")}`,
    );
  await select.selectOption(option.value);
}

/**
 * Signs in through the sign-in page when the server has accounts (GET /api/auth/me answers 401), with
 * ADMIN_EMAIL / ADMIN_PASSWORD from the stack; does nothing on a server without accounts (404).
 */
export async function signInIfNeeded(page) {
  const me = await page.request.get(`${BASE_URL}/api/auth/me`);
  if (me.status() === 404) {
    console.log("the server has no accounts: no sign-in");
    return false;
  }
  if (me.ok()) return true;
  const email = process.env.ADMIN_EMAIL;
  const password = process.env.ADMIN_PASSWORD;
  if (!email || !password)
    throw new Error(
      "the server asks for sign-in but ADMIN_EMAIL/ADMIN_PASSWORD are not set",
    );
  await page.goto(`${BASE_URL}/?lang=en`);
  await page.waitForURL(/\/login\?next=/);
  await page.getByLabel("E-mail address").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Proof-of-concept runs" }).waitFor();
  check(
    true,
    "signed in through the sign-in page (unknown users are sent there first)",
  );
  return true;
}
