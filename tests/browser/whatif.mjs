// The launch form's what-if for a model nobody downloaded: "Other model…" suggests the models the forecast
// knows offline, and typing one (Llama 2 7B) gives each chosen method's memory and fit on a chosen GPU, with
// no download and no Hugging Face cache. Prints "ok - ..." per check; exits non-zero on the first failure.
import {
  BASE_URL,
  check,
  openBrowser,
  screenshot,
  selectByText,
  signInIfNeeded,
} from "./browser.mjs";

const MODEL = "meta-llama/Llama-2-7b-hf";
const { page, close, consoleErrors } = await openBrowser();
page.setDefaultTimeout(30_000);
let failed = false;
try {
  await signInIfNeeded(page);
  // the sign-in flow's own 401 comes before; from here on no request may fail and no script may throw
  const errorsBefore = consoleErrors.length;
  await page.goto(`${BASE_URL}/new?lang=en`);
  await page.getByRole("heading", { name: "Launch a new PoC" }).waitFor();
  await page
    .getByLabel("Model", { exact: true })
    .selectOption({ label: "Other model…" });
  const input = page.getByLabel("Hugging Face id or folder on the server");
  await input.waitFor();
  await page.waitForFunction(
    () => document.querySelectorAll("#known-models option").length > 30,
  );
  const suggested = await page
    .locator("#known-models option")
    .evaluateAll((options) => options.map((o) => o.value));
  check(
    suggested.includes(MODEL) &&
      suggested.includes("tokyotech-llm/Swallow-7b-hf"),
    `the form suggests the models known offline (${suggested.length}, ${MODEL} among them)`,
  );

  await input.fill(MODEL);
  const gpuSelect = page.getByLabel("GPU to check against");
  await gpuSelect
    .locator("option", { hasText: "A100 80GB" })
    .waitFor({ state: "attached" });
  await selectByText(gpuSelect, /A100 80GB/);
  const fitOf = (method) =>
    page.locator(`.fit-list li[data-method="${method}"]`);
  await page.waitForFunction(
    () =>
      [...document.querySelectorAll(".fit-list li")].length > 0 &&
      [...document.querySelectorAll(".fit-list li")].every((li) =>
        ["fits", "tight", "wont_fit"].includes(li.getAttribute("data-fit")),
      ),
  );
  const lozo = await fitOf("lozo").getAttribute("data-fit");
  const adamw = await fitOf("adamw").getAttribute("data-fit");
  const lozoText = await fitOf("lozo").innerText();
  const adamwText = await fitOf("adamw").innerText();
  const gb = (text) =>
    Number(/needs\s+([\d,.]+)\s*GB/i.exec(text)?.[1]?.replace(/,/g, ""));
  check(
    lozo !== "wont_fit" &&
      adamw === "wont_fit" &&
      gb(lozoText) > 20 &&
      gb(adamwText) > 4 * gb(lozoText),
    `a 7B what-if on one A100 80GB: LOZO ${lozo} (${lozoText.replace(/\s+/g, " ")}), AdamW ${adamw} (${adamwText.replace(/\s+/g, " ")})`,
  );
  await screenshot(page, "launch-whatif-llama2-7b.png");
  // up to here no request may fail; the refusal below is a 422 the browser logs as a failed load
  const errors = consoleErrors.slice(errorsBefore);

  // a model neither shipped, cached nor known: the form says why it cannot estimate it
  await input.fill("acme/unknown-model-7b");
  const refusal = page.getByTestId("estimate-error");
  await refusal.waitFor();
  const reason = (await refusal.innerText()).replace(/\s+/g, " ");
  check(
    /acme\/unknown-model-7b/.test(reason) &&
      /catalogue|cache|download/i.test(reason),
    `a model it cannot estimate gets the reason (${reason})`,
  );
  check(
    errors.length === 0,
    `no errors in the browser console (${errors.join(" | ")})`,
  );
} catch (error) {
  failed = true;
  console.error(`not ok - ${error.message}`);
} finally {
  await close();
}
process.exit(failed ? 1 : 0);
