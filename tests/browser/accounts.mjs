// The account screens in real Chromium against the live stack (BASE_URL), with the real API:
// the administrator creates an API token in the dashboard and the token shown works as
// Authorization: Bearer; invites a person into the workspace (the invitation is listed as pending),
// whose link opens the invitation page (in a second browser, where the person creates an account, signs
// in and makes a token of their own; the invitation is then no longer pending); inviting them again
// offers to add them instead, which is refused in words (already a member); then makes that person an
// administrator and removes the rights again from the administration screen (their token gains and loses
// the administration at once), disables them, and the API refuses their token; the used invitation link
// is then refused wholly in Japanese.
// Prints "ok - ..." per check; exits non-zero on the first failed check.
import {
  BASE_URL,
  check,
  openBrowser,
  screenshot,
  signInIfNeeded,
} from "./browser.mjs";

const TAG = Math.random().toString(36).slice(2, 7); // names unique to this run of the script
const PERSON = `person-${TAG}@example.com`;
const PERSON_PASSWORD = `a long password ${TAG}`;

/** GET /api/auth/me with only a Bearer token (no cookies): the status and the e-mail it answers. */
async function whoIsToken(token) {
  const response = await fetch(`${BASE_URL}/api/auth/me`, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  const body = response.ok ? await response.json() : null;
  return { status: response.status, email: body?.email ?? null };
}

/** GET /api/admin/users with only a Bearer token: 200 for an administrator, 403 for anyone else. */
async function adminStatus(token) {
  const response = await fetch(`${BASE_URL}/api/admin/users`, {
    headers: { Authorization: `Bearer ${token}`, Accept: "application/json" },
  });
  return response.status;
}

/** Opens the account menu (the button carries the user's name) and follows one of its links. */
async function openFromMenu(page, link) {
  await page.getByRole("button", { name: /^Account menu of / }).click();
  await page
    .getByRole("navigation", { name: "Account" })
    .getByRole("link", { name: link })
    .click();
}

/** Creates a token on /account/tokens and returns the value the page shows once. */
async function createToken(page, name) {
  await page.getByLabel("Token name").fill(name);
  await page.getByRole("button", { name: "Create token" }).click();
  const shown = page.getByTestId("new-token");
  const token = await shown.getByLabel("API token").inputValue();
  return { shown, token };
}

const admin = await openBrowser();
admin.page.setDefaultTimeout(20_000);
let person = null;
let failed = false;
try {
  const { page } = admin;
  check(
    await signInIfNeeded(page),
    "the server has accounts; signed in as the administrator",
  );
  await page.context().grantPermissions(["clipboard-read", "clipboard-write"], {
    origin: BASE_URL,
  });

  // --- 1. my API tokens: shown once, and it works against the API -------------------------------
  await openFromMenu(page, "My API tokens");
  await page
    .getByRole("heading", { name: "My API tokens", level: 1 })
    .waitFor();
  check(
    new URL(page.url()).pathname === "/account/tokens",
    "the user menu leads to /account/tokens",
  );
  const { shown, token: adminToken } = await createToken(
    page,
    `browser ${TAG}`,
  );
  check(
    /you will not see it again/.test(await shown.innerText()),
    "the new token comes with “you will not see it again”",
  );
  // What the button hands to the real clipboard (reading the clipboard back needs window focus, which
  // headless Chromium does not always give); "Copied" shows only once the clipboard accepted it.
  await page.bringToFront();
  await page.evaluate(() => {
    const clipboard = navigator.clipboard;
    const write = clipboard.writeText.bind(clipboard);
    clipboard.writeText = (text) => {
      window.__zopocCopied = text;
      return write(text);
    };
  });
  await shown.getByRole("button", { name: "Copy", exact: true }).click();
  // exact: a name match is a case-insensitive substring by default, and "I have copied it" contains
  // "copied": the wait returned at once, before the clipboard had the token, whenever that button matched.
  await shown.getByRole("button", { name: "Copied", exact: true }).waitFor();
  const copied = await page.evaluate(() => window.__zopocCopied);
  check(
    copied === adminToken,
    "the copy button puts the token on the clipboard",
  );
  const adminWho = await whoIsToken(adminToken);
  check(
    adminWho.status === 200 && adminWho.email === process.env.ADMIN_EMAIL,
    `the token shown works as Authorization: Bearer (${adminWho.status} ${adminWho.email})`,
  );
  const row = page.locator("tr", {
    has: page.getByRole("rowheader", { name: `browser ${TAG}` }),
  });
  await row.waitFor();
  check(
    (await row.innerText()).includes(adminToken.slice(0, 8)) &&
      !(await row.innerText()).includes(adminToken),
    "the list shows the token's prefix, never the token",
  );
  await screenshot(page, "account-tokens.png");
  await shown.getByRole("button", { name: "I have copied it" }).click();
  await shown.waitFor({ state: "detached" });
  check(
    !(await page.content()).includes(adminToken),
    "once dismissed, the token is nowhere on the page",
  );

  // --- 2. invite a person into the workspace ----------------------------------------------------
  await openFromMenu(page, "Workspace members");
  await page.getByRole("heading", { name: /^Members of / }).waitFor();
  await page.getByRole("combobox", { name: "Role of Administrator" }).waitFor();
  check(true, "the owner sees the role controls");
  await page.getByLabel("Their e-mail address").fill(PERSON);
  await page.getByLabel("Role", { exact: true }).selectOption("editor");
  await page.getByRole("button", { name: "Create invitation link" }).click();
  const link = await page
    .getByTestId("invite-link")
    .getByLabel("Invitation link")
    .inputValue();
  check(
    link.startsWith(`${BASE_URL}/invite#`) &&
      link.length > `${BASE_URL}/invite#`.length + 10,
    `the full invitation link is shown (${link.slice(0, BASE_URL.length + 12)}…)`,
  );
  await page.locator(`tr[data-invite-email="${PERSON}"]`).waitFor();
  check(true, "the new invitation is listed as pending");
  await screenshot(page, "workspace-members.png");
  await page.getByRole("button", { name: "I have copied it" }).click();

  // --- 3. the person opens the link in their own browser ----------------------------------------
  person = await openBrowser();
  const them = person.page;
  them.setDefaultTimeout(20_000);
  await them.goto(`${link.replace(/#/, "?lang=en#")}`);
  await them.getByRole("heading", { name: "Join zopoc" }).waitFor();
  check(true, "the shown link opens the invitation page");
  await them
    .getByLabel("Your name (shown to colleagues)")
    .fill(`Person ${TAG}`);
  await them.getByLabel("Password", { exact: true }).fill(PERSON_PASSWORD);
  await them.getByLabel("Password again").fill(PERSON_PASSWORD);
  await them.getByRole("button", { name: "Create my account" }).click();
  await them.getByText("Your account is ready.").waitFor();
  await them.getByLabel("Password").fill(PERSON_PASSWORD);
  await them.getByRole("button", { name: "Sign in" }).click();
  await them.getByRole("heading", { name: "Proof-of-concept runs" }).waitFor();
  check(true, "the invited person created an account and signed in");
  await openFromMenu(them, "My API tokens");
  const { token: personToken } = await createToken(them, "their script");
  const personWho = await whoIsToken(personToken);
  check(
    personWho.status === 200 && personWho.email === PERSON,
    `the person's own token works (${personWho.status} ${personWho.email})`,
  );
  await openFromMenu(them, "Workspace members");
  await them.getByRole("rowheader", { name: /^Administrator/ }).waitFor();
  await them.getByRole("button", { name: /^Account menu of / }).click();
  const theirMenu = them.getByRole("navigation", { name: "Account" });
  await theirMenu.getByRole("link", { name: "My API tokens" }).waitFor();
  check(
    (await them.getByRole("combobox").count()) === 0 &&
      (await theirMenu
        .getByRole("link", { name: "Administration" })
        .count()) === 0,
    "an editor sees the members without role controls, and no administration",
  );

  // The accepted invitation is no longer pending (once the list has loaded again).
  await page.reload();
  const pendingList = page.locator('section[aria-labelledby="pending-title"]');
  await pendingList
    .getByRole("heading", { name: "Pending invitations" })
    .waitFor();
  await pendingList.getByRole("status").waitFor({ state: "detached" });
  check(
    (await page.locator(`tr[data-invite-email="${PERSON}"]`).count()) === 0,
    "an accepted invitation is no longer pending",
  );

  // Inviting an address that now has an account: the 409 in words, not JSON, and the offer to add
  // them instead, which the server refuses in turn: they are a member already.
  await page.getByLabel("Their e-mail address").fill(PERSON);
  await page.getByRole("button", { name: "Create invitation link" }).click();
  const conflict = await page.getByRole("alert").innerText();
  check(
    conflict.includes(`${PERSON} already has a zopoc account`) &&
      !conflict.includes("{"),
    "the server's 409 (already has an account) is shown in words",
  );
  await page.getByRole("button", { name: "Add them to the workspace" }).click();
  await page
    .getByRole("alert")
    .getByText(`${PERSON} is already a member of this workspace.`)
    .waitFor();
  check(true, "adding someone who is already a member is refused in words");

  // --- 4. disable the person from the administration screen -------------------------------------
  await openFromMenu(page, "Administration");
  await page
    .getByRole("heading", { name: "Administration", level: 1 })
    .waitFor();
  const personRow = page.locator(`tr[data-user-email="${PERSON}"]`);
  await personRow.waitFor();
  check(
    (await page
      .locator(`tr[data-user-email="${process.env.ADMIN_EMAIL}"]`)
      .getByRole("button")
      .count()) === 0,
    "the administrator is not offered to disable themselves",
  );
  // Administrator rights: granted and withdrawn after a confirmation, effective at the next request.
  await page
    .getByRole("button", { name: `Make ${PERSON} an administrator` })
    .click();
  await page.getByRole("button", { name: "Yes, make administrator" }).click();
  await page
    .locator(`tr[data-user-email="${PERSON}"][data-admin="true"]`)
    .waitFor();
  const granted = await adminStatus(personToken);
  check(
    granted === 200,
    `a new administrator's token reaches the administration at once (${granted})`,
  );
  await page
    .getByRole("button", {
      name: `Remove administrator rights from ${PERSON}`,
    })
    .click();
  await page.getByRole("button", { name: "Yes, remove" }).click();
  await page
    .locator(`tr[data-user-email="${PERSON}"][data-admin="false"]`)
    .waitFor();
  const withdrawn = await adminStatus(personToken);
  check(
    withdrawn === 403,
    `withdrawn administrator rights are refused at once (${withdrawn})`,
  );

  await page.getByRole("button", { name: `Disable ${PERSON}` }).click();
  await page.getByRole("button", { name: "Yes, disable" }).click();
  await page
    .locator(`tr[data-user-email="${PERSON}"][data-disabled="true"]`)
    .waitFor();
  check(
    /Disabled since/.test(await personRow.innerText()),
    "the user is shown as disabled",
  );
  await page
    .locator("tr", { has: page.getByRole("rowheader", { name: /^Default/ }) })
    .waitFor();
  check(true, "the administration lists the workspaces");
  await screenshot(page, "administration.png");

  const refused = await whoIsToken(personToken);
  check(
    refused.status === 401,
    `the API refuses the disabled user's token (${refused.status})`,
  );
  check(
    (await whoIsToken(adminToken)).status === 200,
    "the administrator's token still works",
  );
  await them.reload();
  await them.waitForURL(/\/login\?next=/);
  check(true, "the disabled user's browser session is over");

  // The same screen in Japanese.
  await page.goto(`${BASE_URL}/admin?lang=ja`);
  await page.getByRole("heading", { name: "管理", level: 1 }).waitFor();
  await page.getByRole("heading", { name: "ユーザー" }).waitFor();
  await page
    .locator(`tr[data-user-email="${PERSON}"]`)
    .getByText(/から無効/)
    .waitFor();
  await screenshot(page, "administration-ja.png");
  check(true, "the administration screen is in Japanese with ?lang=ja");

  // The used invitation link, opened again by a Japanese reader: the refusal is wholly Japanese.
  await them.goto(`${link.replace(/#/, "?lang=ja#")}`);
  await them.getByRole("heading", { name: "zopoc に参加" }).waitFor();
  await them.getByLabel("パスワード", { exact: true }).fill(PERSON_PASSWORD);
  await them.getByLabel("パスワード（確認）").fill(PERSON_PASSWORD);
  await them.getByRole("button", { name: "アカウントを作成" }).click();
  const usedText = await them.getByRole("alert").innerText();
  check(
    usedText.includes("この招待はすでに使われ") && !/[A-Za-z]/.test(usedText),
    `a used invitation is refused wholly in Japanese (${usedText})`,
  );

  const relevant = [...admin.consoleErrors, ...person.consoleErrors].filter(
    (e) => !/Failed to load resource/.test(e),
  );
  check(
    relevant.length === 0,
    `no errors in the browser console (${relevant.join(" | ")})`,
  );
} catch (error) {
  failed = true;
  console.error(String(error?.stack ?? error));
  await screenshot(admin.page, "accounts-failure.png").catch(() => {});
  if (person)
    await screenshot(person.page, "accounts-failure-person.png").catch(
      () => {},
    );
} finally {
  await admin.close();
  if (person) await person.close();
}
process.exit(failed ? 1 : 0);
