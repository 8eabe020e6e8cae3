import { test, expect, type Page } from "@playwright/test";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { LoginPage, SignedInFrame, linkIn, newestMail, signInAsOwner } from "../pages/account";
import { AdministratorsPage } from "../pages/administrators";

// Runs after account.spec.ts and administrators.spec.ts on the same server.
test.describe.configure({ mode: "serial" });

const DEE = { email: "dee@acme.test", password: "dee runs the billing and more" };

async function signInAsDee(page: Page) {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn(DEE.email, DEE.password);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await waitForHydration(page);
}

test("a billing-only administrator: Payments and no commands, until bound to one they can run", async ({ page }) => {
  await signInAsOwner(page);
  const admins = new AdministratorsPage(page);
  await admins.open();
  await admins.create("Dee", "Runner", DEE.email, "Command Runner With Billing");
  await new SignedInFrame(page).signOut();
  await openHydrated(page, linkIn(newestMail(`To: ${DEE.email}`), "/invitation/"));
  await page.getByLabel("New password").fill(DEE.password);
  await page.getByLabel("Type it again").fill(DEE.password);
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await waitForHydration(page);
  const frame = new SignedInFrame(page);
  expect(await frame.menuItems()).toEqual(["Payments", "Account settings", "Sign out"]);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Commands" }).click();
  await expect(page.getByText("No commands are bound to you.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await frame.signOut();

  // The billing admin sees the label, makes a command, binds Dee after the warning.
  await signInAsOwner(page);
  await admins.open();
  await expect(admins.row("Dee Runner")).toContainText("Billing only");
  await openHydrated(page, "/commands");
  await page.getByRole("button", { name: "+ Add command" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByRole("button", { name: "Save command" }).click();
  await expect(dialog.getByText("Enter the script to run.")).toBeVisible();
  await dialog.getByLabel("Name", { exact: true }).fill("Restart agent");
  await dialog.getByLabel("Shell").selectOption("powershell");
  await dialog.getByLabel("Script", { exact: true }).fill("Restart-Service agent");
  await dialog.getByRole("button", { name: "Save command" }).click();
  await expect(page.getByRole("status")).toHaveText("“Restart agent” is saved.");
  const card = page.getByRole("region", { name: "Restart agent" });
  await card.getByLabel("Bind a runner").selectOption({ label: "Dee Runner (Command Runner With Billing), billing only" });
  await card.getByRole("button", { name: "Bind", exact: true }).click();
  await expect(dialog.getByText("they will be able to run “Restart agent”")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await dialog.getByRole("button", { name: "Bind and allow running" }).click();
  await expect(page.getByRole("status")).toHaveText("Dee Runner can run “Restart agent” now.");
  await admins.open();
  await expect(admins.row("Dee Runner")).not.toContainText("Billing only");
  // From the Administrators page too: unbind (the label is back), then bind again.
  await admins.act("Dee Runner", "Commands Dee Runner runs");
  await expect(admins.dialog.getByText("Restart agent — runs it")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await admins.dialog.getByRole("button", { name: "Unbind from Restart agent" }).click();
  await expect(admins.dialog.getByText("Restart agent — does not run it")).toBeVisible();
  await expect(admins.row("Dee Runner")).toContainText("Billing only");
  await expect(admins.dialog.getByText("Binding a command lets them run it", { exact: false })).toBeVisible();
  // Binding a billing-only administrator asks first, as the Commands page does.
  await admins.dialog.getByRole("button", { name: "Bind to Restart agent" }).click();
  const confirm = admins.dialog.getByRole("group", { name: "Bind Dee Runner to “Restart agent”?" });
  await expect(confirm).toContainText("they will no longer be billing only");
  await expect(confirm.getByRole("button", { name: "Cancel" })).toBeFocused();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.keyboard.press("Enter"); // Cancel: nothing bound
  await expect(admins.dialog.getByText("Restart agent — does not run it")).toBeVisible();
  await admins.dialog.getByRole("button", { name: "Bind to Restart agent" }).click();
  await admins.dialog.getByRole("button", { name: "Bind and allow running" }).click();
  await expect(admins.dialog.getByText("Restart agent — runs it")).toBeVisible();
  await admins.dialog.getByRole("button", { name: "Done" }).click();
  await expect(admins.row("Dee Runner")).not.toContainText("Billing only");
  await new SignedInFrame(page).signOut();

  // After a page load Dee sees it and runs it; the run is in the history.
  await signInAsDee(page);
  await openHydrated(page, "/commands");
  const mine = page.getByRole("region", { name: "Restart agent" });
  await expect(mine.getByText("Restart-Service agent")).toBeVisible();
  await expect(mine.getByRole("button", { name: "Edit" })).toHaveCount(0);
  await mine.getByRole("button", { name: "Run" }).click();
  await expect(page.getByRole("status")).toHaveText("“Restart agent” is queued to run.");
  await expect(mine.getByRole("row", { name: /dee@acme\.test/ })).toContainText("queued");
  expect(await accessibilityViolations(page)).toEqual([]);
});
