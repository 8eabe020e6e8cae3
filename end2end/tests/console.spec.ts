import { test, expect } from "@playwright/test";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { LoginPage, signInAsOwner } from "../pages/account";
import { setUpAuthenticator } from "../pages/two-step";
import * as fs from "node:fs";
import * as path from "node:path";
import { acceptInvitation, createCustomerAccount, mailTo, mainServer, openAccounts, signInAsOperator } from "../pages/console";

const GIL = { first: "Gil", last: "Moss", email: "gil@globex.test", password: "gil's long globex passphrase" };

test("the seller suspends an account, whose administrator sees why and whom to ask; reactivates it; closes it", async ({ browser, page }) => {
  await signInAsOwner(page); // a set-up installation, whichever spec runs first
  await page.context().clearCookies();
  await signInAsOperator(page);
  // The revenue page, from the invoices (none yet in this run's month but the specs' own).
  await page.getByRole("link", { name: "Revenue" }).click();
  await expect(page.getByRole("heading", { name: "Revenue", level: 1 })).toBeVisible();
  // US dollars' table first (another currency's follows once a spec has invoiced in one).
  await expect(page.getByRole("table", { name: /Invoiced and collected/ }).first().getByRole("row")).toHaveCount(13);
  expect(await accessibilityViolations(page)).toEqual([]);
  await createCustomerAccount(page, "Globex", GIL);
  // Gil's invitation sent again from the account's page: the newest link is the one that works.
  await page.getByRole("link", { name: "Globex" }).click();
  await expect(page.getByRole("heading", { name: "Globex", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole("button", { name: "Resend invitation to Gil Moss" }).click();
  await expect(page.getByRole("status").filter({ hasText: "invitation" })).toHaveText("A new invitation went to Gil Moss.");
  expect(await accessibilityViolations(page)).toEqual([]);
  const outbox = path.join(mainServer().dir, "outbox");
  const toGil = () => fs.readdirSync(outbox).filter((f) => fs.readFileSync(path.join(outbox, f), "utf8").includes(`To: ${GIL.email}`)).length;
  await expect.poll(toGil).toBe(2);
  await openAccounts(page);
  // Gil accepts in a browser of their own.
  const gil = await (await browser.newContext()).newPage();
  await acceptInvitation(gil, GIL.email, GIL.password);

  // Gil turns on an authenticator app, loses the phone and asks the seller: its staff reset
  // the two-step verification, Gil's session ends, and the password alone signs Gil in again.
  await setUpAuthenticator(gil);
  await page.getByRole("link", { name: "Globex" }).click();
  await expect(page.getByRole("heading", { name: "Globex", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByRole("row", { name: /Gil Moss/ })).toContainText("two-step on");
  await page.getByRole("button", { name: "Reset two-step verification of Gil Moss" }).click();
  await page.getByRole("button", { name: "Reset it: Gil Moss asked" }).click();
  await expect(page.getByRole("status").filter({ hasText: "two-step" })).toHaveText("Gil Moss's two-step verification is reset; they are emailed.");
  await expect(page.getByRole("row", { name: /Gil Moss/ })).not.toContainText("two-step on");
  expect(await accessibilityViolations(page)).toEqual([]);
  const login = new LoginPage(gil);
  await login.open();
  await login.signIn(GIL.email, GIL.password);
  await expect(gil.getByRole("heading", { name: "Overview" })).toBeVisible();
  await openAccounts(page);

  // Suspended, with a reason: Gil's pages say so, and who to ask; Billing still opens.
  await page.getByRole("link", { name: "Globex" }).click();
  await expect(page.getByRole("heading", { name: "Globex", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await page.getByRole("button", { name: "Suspend account" }).click();
  await expect(page.locator("#reason-error")).toHaveText("Say why: the account's administrators are shown it.");
  await page.getByLabel("Reason (shown to the account's administrators)").fill("Three invoices unpaid");
  await page.getByRole("button", { name: "Suspend account" }).click();
  await expect(page.locator("#account-status")).toHaveText("Suspended");
  expect(await accessibilityViolations(page)).toEqual([]);
  await openHydrated(gil, "/users");
  await expect(gil.getByRole("heading", { name: "This account is suspended" })).toBeVisible();
  await expect(gil.getByText("The reason given: Three invoices unpaid")).toBeVisible();
  await expect(gil.getByText(/Questions go to Tally Seller Ltd/)).toBeVisible();
  expect(await accessibilityViolations(gil)).toEqual([]);
  await gil.getByRole("link", { name: "go to Billing" }).click();
  await expect(gil.getByRole("heading", { name: "Billing", level: 1 })).toBeVisible();

  // Active again, then closed: readable, never changed.
  await page.getByRole("button", { name: "Reactivate account" }).click();
  await expect(page.locator("#account-status")).toHaveText("Active");
  await openHydrated(gil, "/users");
  await expect(gil.getByRole("heading", { name: "Users", exact: true })).toBeVisible();
  await page.getByLabel("Reason (shown to the account's administrators)").fill("Moved to another provider");
  await page.getByRole("button", { name: "Close account…" }).click();
  await page.getByRole("button", { name: "Close account for good" }).click();
  await expect(page.locator("#account-status")).toHaveText("Closed");
  // Its last invoice (no users: nothing to pay) and its log, where the seller's staff act.
  await expect(page.getByRole("table", { name: /latest invoices/ }).getByRole("row")).toHaveCount(2);
  await expect(page.getByRole("table", { name: /latest audit events/ }).getByRole("row", { name: /Account closed/ })).toContainText("(the seller's staff)");
  expect(await accessibilityViolations(page)).toEqual([]);
  await openHydrated(gil, "/users");
  await expect(gil.getByText("This account is closed: you can read it, not change it.")).toBeVisible();
  expect(await accessibilityViolations(gil)).toEqual([]);
  await gil.context().close();
});

test("the Owner sets the seller's retries and automatic suspension, each field checked as typed", async ({ page }) => {
  await signInAsOperator(page);
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Settings" }).click();
  await expect(page.getByRole("heading", { name: "Settings", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByLabel("Legal name")).toHaveValue("Tally Seller Ltd");
  await expect(page.getByLabel("Try again after these days")).toHaveValue("1, 3, 7");
  await page.getByLabel("Try again after these days").fill("3, 1");
  await page.getByLabel("Try again after these days").blur();
  await expect(page.locator("#retry_days-error")).toHaveText("List the days in order, each later than the one before, such as 1, 3, 7.");
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("Try again after these days").fill("2, 5, 9");
  await page.getByLabel("Suspend an account automatically after this many days unpaid").fill("45");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status").filter({ hasText: "saved" })).toHaveText("The settings are saved.");
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByLabel("Try again after these days")).toHaveValue("2, 5, 9");
  await expect(page.getByLabel("Suspend an account automatically after this many days unpaid")).toHaveValue("45");
  // Back as the other specs expect it: the standard schedule, never suspended automatically.
  await page.getByLabel("Try again after these days").fill("1, 3, 7");
  await page.getByLabel("Suspend an account automatically after this many days unpaid").fill("");
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status").filter({ hasText: "saved" })).toHaveText("The settings are saved.");
  expect(await accessibilityViolations(page)).toEqual([]);
});

test("the Owner invites an operator, who sets a password and a passkey; changes their role, resets it, suspends them", async ({ browser, page }) => {
  test.setTimeout(60_000); // two browsers, and the Owner's next code waits for a step of its own
  // A run-unique name: a retried test invites another operator rather than the same again.
  const n = Date.now() % 100000;
  const rae = { first: "Rae", last: `Quinn${n}`, email: `rae${n}@seller.test`, password: "rae's long console passphrase" };
  const name = `${rae.first} ${rae.last}`;
  await signInAsOwner(page); // a set-up installation, whichever spec runs first
  await page.context().clearCookies();
  await signInAsOperator(page);
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Operators" }).click();
  await expect(page.getByRole("heading", { name: "Operators", level: 1 })).toBeVisible();
  await waitForHydration(page);
  await expect(page.getByRole("row", { name: /\(you\)/ })).toContainText("Owner");
  expect(await accessibilityViolations(page)).toEqual([]);

  // Each missing field is named beside itself; then the invitation goes.
  await page.getByRole("button", { name: "+ Invite operator" }).click();
  const dialog = page.getByRole("dialog", { name: "Invite an operator" });
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await expect(dialog.locator("#role-error")).toHaveText("Choose a role.");
  await expect(dialog.locator("#email-error")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await dialog.getByLabel("First name").fill(rae.first);
  await dialog.getByLabel("Last name").fill(rae.last);
  await dialog.getByLabel("Email").fill(rae.email);
  await dialog.getByLabel("Role").selectOption("support");
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await expect(page.locator("p.notice")).toHaveText(`An invitation went to ${rae.email}.`);
  await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("Invited · link valid until");

  // Rae, in a browser of their own: the link of the operators' own, a password, then a
  // second step before anything else; Support sees no Operators page.
  const mail = await mailTo(mainServer(), `To: ${rae.email}`);
  const link = mail.match(/\/operator\/invitation\/[A-Za-z0-9_-]+/);
  expect(link).not.toBeNull();
  const raePage = await (await browser.newContext()).newPage();
  const cdp = await raePage.context().newCDPSession(raePage);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await openHydrated(raePage, link![0]);
  await expect(raePage.getByText(`You'll sign in to the operator console as ${rae.email}`)).toBeVisible();
  expect(await accessibilityViolations(raePage)).toEqual([]);
  await raePage.getByLabel("New password").fill(rae.password);
  await raePage.getByLabel("Type it again").fill(rae.password);
  await raePage.getByRole("button", { name: "Save password and continue" }).click();
  // Rae's second step is a passkey (Chromium's virtual authenticator), with recovery codes.
  await expect(raePage).toHaveURL(/\/operator\/two-step$/);
  await waitForHydration(raePage);
  const passkeys = raePage.getByRole("region", { name: "Passkeys" });
  await passkeys.getByLabel(/Name of a new passkey/).fill("Rae's laptop");
  await passkeys.getByRole("button", { name: "Add a passkey" }).click();
  await expect(raePage.getByRole("status").filter({ hasText: "passkey" })).toHaveText("The passkey \u201cRae's laptop\u201d is added.");
  const codes = raePage.getByRole("region", { name: "Your recovery codes" });
  await expect(codes.getByRole("listitem")).toHaveCount(10);
  expect(await accessibilityViolations(raePage)).toEqual([]);
  await codes.getByRole("button", { name: "I've saved them" }).click();
  // Signed out and in again: the password, then the passkey.
  await raePage.getByRole("button", { name: "Sign out" }).click();
  await expect(raePage.getByRole("heading", { name: "Sign in to the operator console" })).toBeVisible();
  await waitForHydration(raePage);
  await raePage.getByLabel("Email").fill(rae.email);
  await raePage.getByLabel("Password").fill(rae.password);
  await raePage.getByRole("button", { name: "Sign in" }).click();
  await expect(raePage.getByRole("heading", { name: "Two-step verification" })).toBeVisible();
  await waitForHydration(raePage);
  await raePage.getByRole("button", { name: "Use a passkey" }).click();
  await expect(raePage.getByRole("heading", { name: "Customer accounts" })).toBeVisible();
  await waitForHydration(raePage);
  const nav = raePage.getByRole("navigation", { name: "Console" });
  await expect(nav.getByRole("link", { name: "Customer accounts" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Operators" })).toHaveCount(0);

  // A new role; a lost device reset (Rae is signed out); suspended (the password opens nothing).
  await page.reload();
  await waitForHydration(page);
  await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("Active · two-step on");
  await page.getByRole("button", { name: `Change role of ${name}` }).click();
  const role = page.getByRole("dialog", { name: `Change the role of ${name}` });
  await role.getByLabel("Role").selectOption("read_only");
  await role.getByRole("button", { name: "Save role" }).click();
  await expect(page.locator("p.notice")).toHaveText(`${name} is now Read-only.`);
  await page.getByRole("button", { name: `Reset two-step verification of ${name}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Reset two-step verification" }).click();
  await expect(page.locator("p.notice")).toContainText(`${name}'s two-step verification is reset`);
  await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("Read-only");
  await raePage.reload();
  await expect(raePage.getByRole("heading", { name: "Sign in to the operator console" })).toBeVisible();
  await page.getByRole("button", { name: `Suspend ${name}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Suspend" }).click();
  await expect(page.locator("p.notice")).toHaveText(`${name} is suspended; they are emailed.`);
  await expect(page.getByRole("row", { name: new RegExp(name) })).toContainText("Suspended");
  expect(await accessibilityViolations(page)).toEqual([]);
  await waitForHydration(raePage);
  await raePage.getByLabel("Email").fill(rae.email);
  await raePage.getByLabel("Password").fill(rae.password);
  await raePage.getByRole("button", { name: "Sign in" }).click();
  await expect(raePage.getByText("Email or password is incorrect.")).toBeVisible();
  await raePage.context().close();
});
