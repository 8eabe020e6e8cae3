import { test, expect } from "@playwright/test";
import { accessibilityViolations, openHydrated } from "../pages/base";
import { SignedInFrame, linkIn, newestMail, signInAsOwner } from "../pages/account";
import { AdministratorsPage } from "../pages/administrators";
import { PaymentsModal } from "../pages/payments";

// Forms answer with core's rules in the browser, as typed, with the network off: the app's
// code is loaded, so nothing needs the server until a form is sent.
test.describe.configure({ mode: "serial" });

test("an invitation's password: its length and the second typing checked offline", async ({ page }) => {
  await signInAsOwner(page);
  const admins = new AdministratorsPage(page);
  await admins.open();
  await admins.create("Ora", "Offline", "ora@acme.test", "Administrator");
  await new SignedInFrame(page).signOut();
  await openHydrated(page, linkIn(newestMail("To: ora@acme.test"), "/invitation/"));

  await page.context().setOffline(true);
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.locator("#password-error")).toHaveText("Use at least 12 characters.");
  await expect(page.locator("#confirm_password-error")).toHaveText("Type the new password again.");
  await page.getByLabel("New password").fill("ora picks a sturdy passphrase");
  await expect(page.locator("#password-error")).toBeEmpty();
  await page.getByLabel("Type it again").fill("ora picks a sturdy passphrasf");
  await expect(page.locator("#confirm_password-error")).toHaveText("The two passwords don't match.");
  expect(await accessibilityViolations(page)).toEqual([]);

  // Back online, the same form goes through.
  await page.context().setOffline(false);
  await page.getByLabel("Type it again").fill("ora picks a sturdy passphrase");
  await expect(page.locator("#confirm_password-error")).toBeEmpty();
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
});

test("account settings: a name left empty and a new password typed twice, offline", async ({ page }) => {
  await signInAsOwner(page);
  await openHydrated(page, "/account");
  await page.context().setOffline(true);
  await page.getByLabel("First name").fill("");
  await page.getByLabel("Last name").focus();
  await expect(page.locator("#first_name-error")).toHaveText("Enter the first name.");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByText("Your name is saved.")).toHaveCount(0);

  await page.getByRole("button", { name: "Change password" }).click();
  await expect(page.locator("#current_password-error")).toHaveText("Enter your current password.");
  await expect(page.locator("#new_password-error")).toHaveText("Use at least 12 characters.");
  await page.getByLabel("New password", { exact: true }).fill("a new and sturdy passphrase");
  await page.getByLabel("Type the new password again").fill("a new and sturdy passphrasf");
  await expect(page.locator("#new_password-error")).toBeEmpty();
  await expect(page.locator("#confirm_password-error")).toHaveText("The two passwords don't match.");
  expect(await accessibilityViolations(page)).toEqual([]);

  // Online again, the name is restored and saved; nothing typed was lost meanwhile.
  await page.context().setOffline(false);
  await page.getByLabel("First name").fill("Ann");
  await page.getByRole("button", { name: "Save name" }).click();
  await expect(page.getByText("Your name is saved.")).toBeVisible();
  await expect(page.getByLabel("Type the new password again")).toHaveValue("a new and sturdy passphrasf");
});

test("a CSV file's bad lines are listed offline, before any upload", async ({ page }) => {
  await signInAsOwner(page);
  await openHydrated(page, "/users");
  const bad = "first_name,last_name,email\nAl,Bee,al@acme.test\nNo,Email,\nThree,Bad,not-an-email\n";
  await page.getByLabel("CSV file").setInputFiles({ name: "users.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
  await page.context().setOffline(true);
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByText("Nothing was imported. Fix these 2 lines")).toBeVisible();
  await expect(page.getByText("Line 3:")).toBeVisible();
  await expect(page.getByText("Line 4:")).toBeVisible();
  await expect(page.getByText("addresses already in the account are not checked yet")).toBeVisible();
  await page.context().setOffline(false);
});

test("the Billing & Payments modal opens offline once the Overview has loaded", async ({ page }) => {
  await signInAsOwner(page);
  // Fetched while the browser was idle after the page loaded: the modal's code and settings.
  await expect(page.locator("body[data-payments-ready]")).toBeAttached();
  await page.context().setOffline(true);
  const frame = new SignedInFrame(page);
  await frame.openMenu();
  await frame.menu.getByRole("menuitem", { name: "Payments" }).click();
  const modal = new PaymentsModal(page);
  const d = modal.dialog;
  await expect(d).toBeVisible();
  await expect(modal.tab("Billing Information")).toHaveAttribute("aria-selected", "true");
  await d.getByRole("button", { name: "Next" }).click();
  await expect(d.getByText("Enter the company name.", { exact: false })).toBeVisible();
  await d.getByLabel("Country").selectOption("US");
  await d.getByLabel("ZIP code").fill("1234");
  await d.getByLabel("City").focus();
  await expect(d.getByText("Enter a ZIP code like 12345 or 12345-6789.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.context().setOffline(false);
});
