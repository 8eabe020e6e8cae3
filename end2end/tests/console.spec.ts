import { test, expect } from "@playwright/test";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { signInAsOwner } from "../pages/account";
import * as fs from "node:fs";
import * as path from "node:path";
import { acceptInvitation, createCustomerAccount, mainServer, openAccounts, signInAsOperator } from "../pages/console";

const GIL = { first: "Gil", last: "Moss", email: "gil@globex.test", password: "gil's long globex passphrase" };

test("the seller suspends an account, whose administrator sees why and whom to ask; reactivates it; closes it", async ({ browser, page }) => {
  await signInAsOwner(page); // a set-up installation, whichever spec runs first
  await page.context().clearCookies();
  await signInAsOperator(page);
  // The revenue page, from the invoices (none yet in this run's month but the specs' own).
  await page.getByRole("link", { name: "Revenue" }).click();
  await expect(page.getByRole("heading", { name: "Revenue", level: 1 })).toBeVisible();
  await expect(page.getByRole("table", { name: /Invoiced and collected/ }).getByRole("row")).toHaveCount(13);
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
