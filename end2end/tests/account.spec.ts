import { test, expect } from "@playwright/test";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { LoginPage, OWNER, OWNER_RESET_PASSWORD, SignedInFrame, linkIn, newestMail, waitForMail } from "../pages/account";
import { SELLER, acceptInvitation, createCustomerAccount, enrolOperator, fillSellerSetup, mainServer, operatorCode, setupCode } from "../pages/console";

// One server for the run: set-up happens once, so these run in order.
test.describe.configure({ mode: "serial" });

test("first start: /setup makes the seller and its Owner, who creates the first customer account; its administrator accepts", async ({ page }) => {
  test.setTimeout(90_000); // the whole first start, console and portal
  await page.goto("/");
  await expect(page).toHaveURL(/\/setup$/);
  await waitForHydration(page);
  expect(await accessibilityViolations(page)).toEqual([]);

  // With the network off, core's rules answer in the browser: every empty field at once,
  // then a short password as it is typed.
  await page.context().setOffline(true);
  await page.getByRole("button", { name: "Set up Tally" }).click();
  await expect(page.locator("#setup_code-error")).toHaveText("Enter the set-up code.");
  await expect(page.locator("#legal_name-error")).toHaveText("Enter the legal name.");
  await expect(page.locator("#first_name-error")).toHaveText("Enter the first name.");
  await expect(page.locator("#country-error")).toHaveText("Choose a country.");
  await expect(page.locator("#email-error")).not.toBeEmpty();
  await expect(page.getByLabel("Price per user per month (USD)"), "the article's plan, to start from").toHaveValue("5.00");
  await page.getByLabel("Price per user per month (USD)").fill("5.001");
  await expect(page.locator("#price_per_user-error")).toHaveText("Enter an amount such as 5.00: digits, with at most 2 decimals.");
  await page.getByLabel("Price per user per month (USD)").fill("5.00");
  await page.getByLabel("Choose a password").fill("short");
  await expect(page.locator("#password-error")).toHaveText("Use at least 12 characters.");
  await page.getByLabel("Legal name").fill("Tally Seller Ltd");
  await expect(page.locator("#legal_name-error")).toBeEmpty();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.context().setOffline(false);

  // A weak password is refused next to its field, and what was typed stays.
  await fillSellerSetup(page, setupCode(mainServer()), { ...SELLER, password: "password1234" });
  await page.getByRole("button", { name: "Set up Tally" }).click();
  await expect(page.getByText("This password is too easy to guess.", { exact: false }).first()).toBeVisible();
  await expect(page.getByLabel("Legal name")).toHaveValue(SELLER.legalName);
  await page.getByLabel("Choose a password").fill(SELLER.password);
  await expect(page.getByText(/Strength: (Good|Strong)/)).toBeVisible();
  await page.getByRole("button", { name: "Set up Tally" }).click();

  // The Owner's console opens on setting up the second step, and nothing else.
  await expect(page.getByRole("heading", { name: "Your two-step verification" })).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await enrolOperator(page);
  await page.getByRole("link", { name: "Go to the customer accounts" }).click();
  await expect(page.getByRole("heading", { name: "Customer accounts" })).toBeVisible();
  await waitForHydration(page);
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByRole("button", { name: "+ Create account" }).click();
  const dialog = page.getByRole("dialog", { name: "Create a customer account" });
  await dialog.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(dialog.locator("#company_name-error")).toHaveText("Enter the company name.");
  expect(await accessibilityViolations(page)).toEqual([]);
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await createCustomerAccount(page, OWNER.company, OWNER);
  await expect(page.getByRole("row", { name: new RegExp(OWNER.company) })).toBeVisible();

  // The account's page: its plan (the seller's default), changed from next month on.
  await page.getByRole("link", { name: OWNER.company }).click();
  await expect(page.getByRole("heading", { name: OWNER.company, level: 1 })).toBeVisible();
  await waitForHydration(page);
  const thisMonth = "This month: $5.00 per user per month; the first 10 users are free; each month is invoiced on the 1st of the next.";
  await expect(page.getByText(thisMonth)).toBeVisible();
  await expect(page.getByRole("row", { name: /Ann Lee/ })).toContainText("Invited");
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("Free users each month").fill("ten");
  await page.getByLabel("Free users each month").blur();
  await expect(page.locator("#free_users-error")).toHaveText("Enter a whole number of users, such as 10.");
  await page.getByLabel("Free users each month").fill("12");
  // The billing day: a day every month has.
  await page.getByLabel("Billing day").fill("31");
  await page.getByLabel("Billing day").blur();
  await expect(page.locator("#billing_day-error")).toHaveText("Choose a day from 1 to 28: every month has them.");
  await page.getByLabel("Billing day").fill("15");
  await page.getByRole("button", { name: "Save the plan" }).click();
  const nextPlan = "$5.00 per user per month; the first 12 users are free; each month is invoiced on the 15th of the next.";
  await expect(page.locator("#next-plan")).toContainText(nextPlan);
  await expect(page.getByText(thisMonth)).toBeVisible();
  await page.getByRole("link", { name: "← Customer accounts" }).click();

  // Out of the console, and back in with the second step.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/operator\/login$/);
  await waitForHydration(page);
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("Email").fill(SELLER.email);
  await page.getByLabel("Password").fill(SELLER.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Two-step verification" })).toBeVisible();
  await waitForHydration(page);
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("Code").fill(await operatorCode());
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("row", { name: new RegExp(OWNER.company) })).toBeVisible();
  // An operator is no customer administrator: the customer pages send them to sign in.
  await page.goto("/users");
  await expect(page).toHaveURL(/\/login\?next=/);
  await openHydrated(page, "/operator/accounts");
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/operator\/login$/);

  // The invited administrator accepts and is in their account's portal.
  await acceptInvitation(page, OWNER.email, OWNER.password);
  const frame = new SignedInFrame(page);
  await frame.expectSignedInAs(OWNER.email);
  expect(await accessibilityViolations(page)).toEqual([]);
  // The plan the seller set for next month is on the Billing page.
  await openHydrated(page, "/billing");
  await expect(page.locator("#next-plan")).toContainText(nextPlan);
  await expect(page.locator("#billing-day")).toHaveText("Each month is invoiced and charged on the 1st of the next.");
  // ...and their session opens no console page.
  await page.goto("/operator/accounts");
  await expect(page).toHaveURL(/\/operator\/login$/);
  await openHydrated(page, "/");

  // Sign-out is one page load of /login. A second navigation behind it (a redirect from the
  // server function, say) would interrupt whatever the administrator does next.
  const navigations: string[] = [];
  page.on("framenavigated", (f) => {
    if (f === page.mainFrame()) navigations.push(new URL(f.url()).pathname);
  });
  await frame.signOut();
  await expect(page).toHaveURL(/\/login$/);
  expect(navigations).toEqual(["/login"]);
  expect(await accessibilityViolations(page)).toEqual([]);

  const login = new LoginPage(page);
  await login.signIn(OWNER.email, OWNER.password);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await frame.expectSignedInAs(OWNER.email);

  // Set-up is gone now.
  const again = await page.goto("/setup");
  expect(again?.status()).toBe(404);
});

test("a wrong password gets the generic message", async ({ page }) => {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn(OWNER.email, "not the right password");
  await expect(page.getByText("Email or password is incorrect.")).toBeVisible();
  await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
  await login.signIn("nobody@acme.test", "not the right password");
  await expect(page.getByText("Email or password is incorrect.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
});

test("a reset link from the outbox sets a new password and signs in", async ({ page }) => {
  await page.goto("/forgot-password");
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("Email").fill(OWNER.email);
  await page.getByRole("button", { name: "Send the link" }).click();
  await expect(page.getByRole("status")).toContainText("we've sent them a link");

  const mail = await waitForMail("reset-password/");
  const link = linkIn(mail, "/reset-password/");
  await page.goto(link);
  await expect(page.getByText(OWNER.email)).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  const newPassword = OWNER_RESET_PASSWORD;
  await page.getByLabel("New password").fill(newPassword);
  await page.getByLabel("Type it again").fill(newPassword);
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  // The link works once.
  await page.goto(link);
  await expect(page.getByText("This link has already been used.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  OWNER.password = newPassword;
});

test("an invitation read from the outbox sets a password and signs the new administrator in", async ({ page, baseURL }) => {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn(OWNER.email, OWNER.password);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  // The Administrators page arrives with its own issue; its server function exists already.
  const created = await page.request.post("/api/admins/create", {
    headers: { Origin: baseURL! },
    form: { first_name: "Bo", last_name: "Chen", email: "bo@acme.test", role: "command_runner_billing" },
  });
  expect(created.status()).toBe(200);
  await new SignedInFrame(page).signOut();
  await expect(page).toHaveURL(/\/login$/);

  const mail = newestMail("To: bo@acme.test");
  const link = linkIn(mail, "/invitation/");
  await openHydrated(page, link);
  await expect(page.getByRole("heading", { name: "Set your password" })).toBeVisible();
  await expect(page.getByText("Welcome, Bo.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("New password").fill("bo picks a sturdy passphrase");
  await page.getByLabel("Type it again").fill("bo picks a sturdy passphrase");
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await new SignedInFrame(page).expectSignedInAs("bo@acme.test");
  await expect(page.getByText("Command Runner With Billing")).toBeVisible();
  // This role may not see the audit log: no link, and a clear page by URL.
  await expect(page.getByRole("link", { name: "Audit log" })).toHaveCount(0);
  await openHydrated(page, "/audit");
  await expect(page.getByRole("heading", { name: "You don't have access to this page" })).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await new SignedInFrame(page).signOut();
});

test("account settings and the audit log are accessible and work", async ({ page }) => {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn(OWNER.email, OWNER.password);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();

  await openHydrated(page, "/account");
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("First name").fill("Annie");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByText("Your name is saved.")).toBeVisible();

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Administrators" }).click();
  await expect(page.getByRole("heading", { name: "Administrators" })).toBeVisible();
  const bo = page.getByRole("row", { name: /Bo Chen/ });
  await expect(bo.getByRole("cell", { name: "Active" })).toBeVisible();
  await expect(bo.getByText("Billing only")).toBeVisible();
  await expect(page.getByRole("row", { name: /Annie Lee/ })).toContainText("You");
  expect(await accessibilityViolations(page)).toEqual([]);

  await openHydrated(page, "/audit");
  await expect(page.getByRole("heading", { name: "Audit log" })).toBeVisible();
  await expect(page.getByRole("cell", { name: "Failed sign-in" }).first()).toBeVisible();
  await expect(page.getByRole("cell", { name: "Name changed" })).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("Kind").selectOption("password_reset");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/kind=password_reset/);
  await expect(page.getByText("1 events")).toBeVisible();
});

test("sign out other sessions ends every other browser's session, not this one", async ({ page, browser }) => {
  const here = new LoginPage(page);
  await here.open();
  await here.signIn(OWNER.email, OWNER.password);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  // Another browser, signed in as the same administrator.
  const elsewhere = await browser.newContext();
  const other = await elsewhere.newPage();
  const there = new LoginPage(other);
  await there.open();
  await there.signIn(OWNER.email, OWNER.password);
  await expect(other.getByRole("heading", { name: "Overview" })).toBeVisible();

  await openHydrated(page, "/account");
  const sessions = page.getByRole("region", { name: "Sessions" });
  await sessions.getByRole("button", { name: "Sign out other sessions" }).click();
  await expect(sessions.getByRole("status")).toHaveText(/^(1 other session has|\d+ other sessions have) ended\.$/);
  expect(await accessibilityViolations(page)).toEqual([]);

  // The other browser is signed out at its next step; this one is not.
  await other.goto("/account");
  await expect(other).toHaveURL(/\/login/);
  await elsewhere.close();
  await page.reload();
  await expect(page.getByRole("heading", { name: "Account settings" })).toBeVisible();
});
