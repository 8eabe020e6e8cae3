import { test, expect, type Browser, type Page } from "@playwright/test";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { SignedInFrame, linkIn, signInAsOwner, waitForMail } from "../pages/account";
import { AdministratorsPage } from "../pages/administrators";
import { setUpAuthenticator } from "../pages/two-step";
import { SELLER, fillSellerSetup, firstAccount } from "../pages/console";

// Every form of the product, three ways (docs/architecture.md, "Forms"):
// (a) typed into before the page is live: the app's code is held back until every field is
//     filled, and what was typed is still there (and is what is sent) once it is live;
// (b) with scripts off: sent once with a mistake — the server draws the page again with the
//     message beside the field and what was typed (never a password) — and once right;
// (c) no page a person is sent to is JSON.
test.describe.configure({ mode: "serial" });

/** Holds the app's code (its wasm) until the returned function is called: the page is the
 * server's, on screen and not yet live. That function lets it load and waits until it is. */
async function holdTheApp(page: Page): Promise<() => Promise<void>> {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await page.route(/\.wasm$/, async (route) => {
    await held;
    await route.continue();
  });
  return async () => {
    await expect(page.locator("body")).not.toHaveAttribute("data-hydrated", "true");
    release();
    await waitForHydration(page);
    await page.unroute(/\.wasm$/);
  };
}

/** Records the content type of every page the browser is sent to (c). */
function watchPages(page: Page): { types: string[]; expectNoJson: () => void } {
  const types: string[] = [];
  page.on("response", (r) => {
    if (r.request().isNavigationRequest() && r.request().frame() === page.mainFrame()) {
      types.push(`${r.status()} ${r.url()} ${r.headers()["content-type"] ?? ""}`);
    }
  });
  return {
    types,
    expectNoJson: () => {
      expect(types.length).toBeGreaterThan(0);
      expect(types.filter((t) => t.includes("json"))).toEqual([]);
    },
  };
}

/** The plain sign-in page, filled in (the caller presses Sign in). */
async function fillSignIn(page: Page, email: string, password: string) {
  await page.goto("/login");
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
}

/** A page in a browser with scripts off; signed in as `signedIn` is, if given (its cookies:
 * each sign-in of an address counts against that address's allowance). */
async function withoutScripts(browser: Browser, signedIn?: Page): Promise<Page> {
  const context = await browser.newContext({ javaScriptEnabled: false });
  if (signedIn) await context.addCookies(await signedIn.context().cookies());
  return context.newPage();
}

/** axe-core's verdict on what a page with scripts off shows: axe runs as a script, so its
 * HTML is checked in a second page (scripts on for axe, the app's own code kept out). */
async function accessibilityWithoutScripts(browser: Browser, page: Page) {
  const html = await page.content();
  const url = page.url();
  const context = await browser.newContext();
  const checker = await context.newPage();
  await checker.route("**/*", (r) => {
    const asked = r.request().url();
    if (asked === url) return r.fulfill({ body: html, contentType: "text/html; charset=utf-8" });
    if (/\.(js|wasm)$/.test(asked)) return r.abort();
    return r.continue();
  });
  await checker.goto(url);
  const violations = await accessibilityViolations(checker);
  await context.close();
  return violations;
}

/** A second server with an empty data folder: set-up happens once per installation. */
async function freshServer(port: number): Promise<{ url: string; dir: string; stop: () => void }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-e2e-setup-"));
  const url = `http://localhost:${port}`;
  const root = path.resolve(__dirname, "..", "..");
  const server = spawn(path.join(root, "target", process.env.TALLY_E2E_PROFILE ?? "release", "tally"), [], {
    env: {
      ...process.env,
      TALLY_ADDR: `127.0.0.1:${port}`,
      TALLY_DATA_DIR: dir,
      TALLY_PUBLIC_URL: url,
      LEPTOS_SITE_ROOT: path.join(root, "target/site"),
      RUST_LOG: "warn",
    },
    stdio: "ignore",
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error("the second server did not start");
    await new Promise((r) => setTimeout(r, 50));
  }
  return { url, dir, stop: () => server.kill() };
}

const setupCode = (dir: string) => fs.readFileSync(path.join(dir, "setup-code"), "utf8").trim();

async function fillSetup(page: Page, code: string, email: string) {
  await fillSellerSetup(page, code, { ...SELLER, legalName: "Early Ltd", first: "Eve", last: "Early", email, password: "a long early passphrase" });
}

test("set-up: typed before the page is live, kept, and sent", async ({ page }) => {
  const server = await freshServer(3101);
  try {
    const pages = watchPages(page);
    const live = await holdTheApp(page);
    await page.goto(`${server.url}/setup`, { waitUntil: "domcontentloaded" });
    await fillSetup(page, setupCode(server.dir), "eve@early.test");
    await live();
    await expect(page.getByLabel("Legal name")).toHaveValue("Early Ltd");
    await expect(page.getByLabel("Country")).toHaveValue("GB");
    await expect(page.getByLabel("Your email")).toHaveValue("eve@early.test");
    await expect(page.getByLabel("Choose a password")).toHaveValue("a long early passphrase");
    await expect(page.getByLabel("Choose a password")).toBeFocused();
    await page.getByRole("button", { name: "Set up Tally" }).click();
    await expect(page.getByRole("heading", { name: "Your two-step verification" })).toBeVisible();
    pages.expectNoJson();
  } finally {
    server.stop();
  }
});

test("set-up with scripts off: a mistake is shown beside its field, then the account is made", async ({ browser }) => {
  const server = await freshServer(3102);
  const page = await withoutScripts(browser);
  try {
    const pages = watchPages(page);
    await page.goto(`${server.url}/setup`);
    await fillSetup(page, setupCode(server.dir), "eve@");
    await page.getByRole("button", { name: "Set up Tally" }).click();
    await expect(page.locator("#email-error")).not.toBeEmpty();
    await expect(page.getByLabel("Your email")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Your email")).toHaveValue("eve@");
    await expect(page.getByLabel("Legal name")).toHaveValue("Early Ltd");
    await expect(page.getByLabel("City")).toHaveValue("London");
    await expect(page.getByLabel("Choose a password"), "a password is never written back").toHaveValue("");
    expect(await page.content()).not.toContain("a long early passphrase");
    expect(await accessibilityWithoutScripts(browser, page)).toEqual([]);

    await page.getByLabel("Your email").fill("eve@early.test");
    await page.getByLabel("Choose a password").fill("a long early passphrase");
    await page.getByRole("button", { name: "Set up Tally" }).click();
    await expect(page.getByRole("heading", { name: "Your two-step verification" })).toBeVisible();
    await expect(page).toHaveURL(`${server.url}/operator/two-step`);
    pages.expectNoJson();
  } finally {
    await page.context().close();
    server.stop();
  }
});

/** The owner invites administrators; returns their invitations' paths. */
async function invitations(page: Page, people: { first: string; email: string; role: string }[]): Promise<string[]> {
  await signInAsOwner(page);
  const admins = new AdministratorsPage(page);
  await admins.open();
  const links = [];
  for (const p of people) {
    await admins.create(p.first, "Form", p.email, p.role);
    links.push(linkIn(await waitForMail(`To: ${p.email}`), "/invitation/"));
  }
  await new SignedInFrame(page).signOut();
  return links;
}

/** Gus's and Wes's invitations, made with Fay's (one sign-in of the owner for all three: each
 * sign-in of an address counts against its allowance, and the suite signs the owner in often). */
let gusInvitation = "";
let wesInvitation = "";
const WES = { email: "wes@acme.test", password: "wes manages from here" };

const FAY = { email: "fay@acme.test", password: "fay types before it loads" };

test("an invitation's password, typed before the page is live, is kept and sent", async ({ page }) => {
  const [link, gus, wes] = await invitations(page, [
    { first: "Fay", email: FAY.email, role: "Administrator" },
    { first: "Gus", email: "gus@acme.test", role: "Administrator" },
    { first: "Wes", email: WES.email, role: "Administrator With Billing" },
  ]);
  gusInvitation = gus;
  wesInvitation = wes;
  const pages = watchPages(page);
  const live = await holdTheApp(page);
  await page.goto(link, { waitUntil: "domcontentloaded" });
  await page.getByLabel("New password").fill(FAY.password);
  await page.getByLabel("Type it again").fill(FAY.password);
  await live();
  await expect(page.getByLabel("New password")).toHaveValue(FAY.password);
  await expect(page.getByLabel("Type it again")).toHaveValue(FAY.password);
  await expect(page.getByLabel("Type it again")).toBeFocused();
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  pages.expectNoJson();
});

test("an invitation with scripts off: two different passwords are refused beside the field, then it is set", async ({ browser }) => {
  const plain = await withoutScripts(browser);
  const pages = watchPages(plain);
  await plain.goto(gusInvitation);
  await plain.getByLabel("New password").fill("gus has a sturdy passphrase");
  await plain.getByLabel("Type it again").fill("gus has a sturdy passphrasf");
  await plain.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(plain.locator("#confirm_password-error")).toHaveText("The two passwords don't match.");
  await expect(plain.getByLabel("New password")).toHaveValue("");
  expect(await accessibilityWithoutScripts(browser, plain)).toEqual([]);
  await plain.getByLabel("New password").fill("gus has a sturdy passphrase");
  await plain.getByLabel("Type it again").fill("gus has a sturdy passphrase");
  await plain.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(plain.getByRole("heading", { name: "Overview" })).toBeVisible();
  pages.expectNoJson();
  await plain.context().close();
});

test("account settings: a name typed before the page is live is kept and saved", async ({ page }) => {
  await fillSignIn(page, FAY.email, FAY.password);
  const pages = watchPages(page);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const live = await holdTheApp(page);
  await page.goto("/account", { waitUntil: "domcontentloaded" });
  await page.getByLabel("First name").fill("Faye");
  await page.getByLabel("Current password").fill(FAY.password);
  await live();
  await expect(page.getByLabel("First name")).toHaveValue("Faye");
  await expect(page.getByLabel("Current password")).toHaveValue(FAY.password);
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByText("Your name is saved.")).toBeVisible();
  await page.reload();
  await expect(page.getByLabel("First name")).toHaveValue("Faye");
  pages.expectNoJson();
});

test("account settings with scripts off: both forms refuse beside the field, then save", async ({ browser }) => {
  const page = await withoutScripts(browser);
  const pages = watchPages(page);
  await fillSignIn(page, FAY.email, FAY.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.goto("/account");

  await page.getByLabel("First name").fill("");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.locator("#first_name-error")).toHaveText("Enter the first name.");
  await expect(page.getByLabel("Last name")).toHaveValue("Form");
  await page.getByLabel("First name").fill("Fay");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page).toHaveURL(/\/account$/);
  await expect(page.getByLabel("First name")).toHaveValue("Fay");

  await page.getByLabel("Current password").fill("not her password at all");
  await page.getByLabel("New password", { exact: true }).fill("fay has a newer passphrase");
  await page.getByLabel("Type the new password again").fill("fay has a newer passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#current_password-error")).not.toBeEmpty();
  await expect(page.getByLabel("Current password")).toHaveValue("");
  expect(await accessibilityWithoutScripts(browser, page)).toEqual([]);
  await page.getByLabel("Current password").fill(FAY.password);
  await page.getByLabel("New password", { exact: true }).fill("fay has a newer passphrase");
  await page.getByLabel("Type the new password again").fill("fay has a newer passphrase");
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page).toHaveURL(/\/account$/);
  FAY.password = "fay has a newer passphrase";
  pages.expectNoJson();
  await page.context().close();
});

test("the second step: a code typed before the page is live is kept; with scripts off a wrong one is said beside the field", async ({ page, browser }) => {
  // Fay sets up an authenticator app (the live page).
  await fillSignIn(page, FAY.email, FAY.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  const { app, recovery } = await setUpAuthenticator(page);
  await new SignedInFrame(page).signOut();

  // (a) The code typed as soon as the field shows.
  const pages = watchPages(page);
  await page.getByLabel("Email").fill(FAY.email);
  await page.getByLabel("Password").fill(FAY.password);
  const live = await holdTheApp(page);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page).toHaveURL(/\/login\/two-step/);
  const code = await app.code();
  await page.getByLabel("Code").fill(code);
  await live();
  await expect(page.getByLabel("Code")).toHaveValue(code);
  await expect(page.getByLabel("Code")).toBeFocused();
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  pages.expectNoJson();

  // (b) Scripts off.
  const plain = await withoutScripts(browser);
  const plainPages = watchPages(plain);
  await fillSignIn(plain, FAY.email, FAY.password);
  await plain.getByRole("button", { name: "Sign in" }).click();
  await plain.getByLabel("Code").fill("000000");
  await plain.getByRole("button", { name: "Verify" }).click();
  await expect(plain.locator("#code-error")).toHaveText("That didn't work. Check the code (or use a recovery code) and try again.");
  await expect(plain.getByLabel("Code")).toHaveValue("000000");
  expect(await accessibilityWithoutScripts(browser, plain)).toEqual([]);
  await plain.getByLabel("Code").fill(recovery);
  await plain.getByRole("button", { name: "Verify" }).click();
  await expect(plain.getByRole("heading", { name: "Overview" })).toBeVisible();
  plainPages.expectNoJson();
  await plain.context().close();
});

test("forms that need the live page say Loading… and send nothing until it is; search forms work with scripts off", async ({ page, browser }) => {
  await openHydrated(page, wesInvitation);
  await page.getByLabel("New password").fill(WES.password);
  await page.getByLabel("Type it again").fill(WES.password);
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const live = await holdTheApp(page);
  await page.goto("/users", { waitUntil: "domcontentloaded" });
  const importButton = page.getByRole("button", { name: "Import" });
  await expect(importButton).toBeDisabled();
  await expect(page.getByRole("region", { name: "Import users from CSV" }).getByText("Loading…")).toBeVisible();
  await live();
  await expect(importButton).toBeEnabled();
  await expect(page.getByRole("region", { name: "Import users from CSV" }).getByText("Loading…")).toBeHidden();

  const plain = await withoutScripts(browser, page);
  const pages = watchPages(plain);
  await plain.goto("/users");
  await expect(plain.getByRole("button", { name: "Import" })).toBeDisabled();
  const importForm = plain.getByRole("region", { name: "Import users from CSV" });
  await expect(importForm.getByText("Loading…")).toBeVisible();
  // (Playwright's text search skips <noscript>, which the browser shows: scripts are off.)
  await expect(importForm.locator("noscript")).toHaveCount(1);
  expect(await plain.content()).toContain("This form needs JavaScript, which is turned off in this browser.");
  await expect(plain.getByRole("search").getByRole("button", { name: "Search" })).toBeDisabled();
  await plain.goto("/audit");
  await plain.getByLabel("Actor email contains").fill("ann@");
  await plain.getByRole("button", { name: "Filter" }).click();
  await expect(plain).toHaveURL(/\/audit\?.*actor=ann%40/);
  await expect(plain.getByLabel("Actor email contains")).toHaveValue("ann@");
  pages.expectNoJson();
  await plain.context().close();
});

/** A fresh server set up by `page` (its customer account's owner signed in there): tests
 * that add users and administrators leave the main server's account as the other specs
 * expect it. */
async function freshAccount(page: Page, port: number) {
  const server = await freshServer(port);
  await firstAccount(page, "Fresh Ltd", { first: "Fran", last: "Fresh", email: "owner@fresh.test", password: "a long fresh passphrase" }, server);
  return server;
}

test("a page's dialog opened by its address: typed into before the page is live, kept, and saved", async ({ page }) => {
  const server = await freshAccount(page, 3103);
  try {
    const pages = watchPages(page);
    const live = await holdTheApp(page);
    await page.goto(`${server.url}/users?dialog=add`, { waitUntil: "domcontentloaded" });
    const dialog = page.getByRole("dialog", { name: "Add a user" });
    await dialog.getByLabel("First name").fill("Early");
    await dialog.getByLabel("Last name").fill("Bird");
    await dialog.getByLabel("Email").fill("early.bird@fresh.test");
    await live();
    await expect(dialog.getByLabel("First name")).toHaveValue("Early");
    await expect(dialog.getByLabel("Email")).toHaveValue("early.bird@fresh.test");
    await expect(dialog.getByLabel("Email")).toBeFocused();
    await dialog.getByRole("button", { name: "Save user" }).click();
    await expect(page.getByRole("status")).toHaveText("Early Bird is saved.");
    await expect(page.getByRole("row", { name: /Early Bird/ })).toBeVisible();
    pages.expectNoJson();
  } finally {
    server.stop();
  }
});

test("the Users, Administrators and Commands dialogs with scripts off: refused beside the field, then saved", async ({ browser }) => {
  // Made ready with scripts on (setting up the operator's authenticator app needs them);
  // everything after, with them off.
  const ready = await (await browser.newContext()).newPage();
  const server = await freshAccount(ready, 3104);
  const plain = await withoutScripts(browser, ready);
  await ready.context().close();
  try {
    const pages = watchPages(plain);

    // Users: "+ Add user" loads the page with its dialog open.
    await plain.goto(`${server.url}/users`);
    await plain.getByRole("button", { name: "+ Add user" }).click();
    await expect(plain).toHaveURL(/\/users\?dialog=add$/);
    let dialog = plain.getByRole("dialog", { name: "Add a user" });
    await dialog.getByLabel("First name").fill("Plain");
    await dialog.getByLabel("Last name").fill("Jane");
    await dialog.getByLabel("Email").fill("plain.jane@");
    await dialog.getByRole("button", { name: "Save user" }).click();
    await expect(dialog.locator("#email-error")).toHaveText("Enter a single email address, like name@example.com.");
    await expect(dialog.getByLabel("First name")).toHaveValue("Plain");
    expect(await accessibilityWithoutScripts(browser, plain)).toEqual([]);
    await dialog.getByLabel("Email").fill("plain.jane@fresh.test");
    await dialog.getByRole("button", { name: "Save user" }).click();
    await expect(plain).toHaveURL(/\/users$/);
    await expect(plain.getByRole("row", { name: /Plain Jane/ })).toBeVisible();

    // Administrators: the role is a radio button.
    await plain.getByRole("link", { name: "Administrators" }).first().click();
    await plain.getByRole("button", { name: "+ Create Admin" }).click();
    dialog = plain.getByRole("dialog", { name: "Create an administrator" });
    await dialog.getByLabel("First name").fill("Nora");
    await dialog.getByLabel("Last name").fill("Script");
    await dialog.getByLabel("Email").fill("nora@fresh.test");
    await dialog.getByRole("button", { name: "Send invitation" }).click();
    await expect(dialog.locator("#role-error")).not.toBeEmpty();
    await expect(dialog.getByLabel("Email")).toHaveValue("nora@fresh.test");
    await dialog.getByLabel("Help Desk").check();
    await dialog.getByRole("button", { name: "Send invitation" }).click();
    await expect(plain).toHaveURL(/\/administrators$/);
    await expect(plain.getByRole("row", { name: /Nora Script/ })).toContainText("Invited");

    // Commands: the script is a text area.
    await plain.goto(`${server.url}/commands`);
    await plain.getByRole("button", { name: "+ Add command" }).click();
    dialog = plain.getByRole("dialog", { name: "Add a command" });
    await dialog.getByLabel("Name", { exact: true }).fill("Plain restart");
    await dialog.getByRole("button", { name: "Save command" }).click();
    await expect(dialog.locator("#script-error")).toHaveText("Enter the script to run.");
    await expect(dialog.getByLabel("Name", { exact: true })).toHaveValue("Plain restart");
    await dialog.getByLabel("Script", { exact: true }).fill("systemctl restart agent");
    await dialog.getByRole("button", { name: "Save command" }).click();
    await expect(plain).toHaveURL(/\/commands$/);
    await expect(plain.getByRole("region", { name: "Plain restart" })).toBeVisible();
    pages.expectNoJson();
  } finally {
    await plain.context().close();
    server.stop();
  }
});
