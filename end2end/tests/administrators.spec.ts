import { test, expect } from "@playwright/test";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { SignedInFrame, linkIn, newestMail, signInAsOwner } from "../pages/account";
import { AdministratorsPage } from "../pages/administrators";

// Runs after account.spec.ts on the same server: the owner (Administrator With Billing) and Bo
// (Command Runner With Billing) exist.
test.describe.configure({ mode: "serial" });

test("create an admin in the dialog → accept the invitation → the menu and navigation follow the role", async ({ page }) => {
  await signInAsOwner(page);
  const frame = new SignedInFrame(page);
  expect(await frame.menuItems()).toEqual(["Payments", "Administrators", "Account settings", "Sign out"]);
  expect(await frame.navLinks()).toEqual(["Overview", "Users", "Commands", "Administrators", "Billing", "Audit log"]);

  const admins = new AdministratorsPage(page);
  await admins.open();
  expect(await accessibilityViolations(page)).toEqual([]);
  await admins.openCreate();
  const dialog = admins.dialog;
  await expect(dialog.getByRole("heading", { name: "Create an administrator" })).toBeVisible();
  await expect(dialog.getByLabel("First name")).toBeFocused();
  // Every role is offered with its one-line description.
  await expect(dialog.getByRole("radio")).toHaveCount(7);
  await expect(dialog.getByRole("radio", { name: "Command Runner With Billing" })).toHaveAccessibleDescription(/billing-only/);

  // Validation is core's, in the browser: it works with the network off.
  await page.context().setOffline(true);
  await dialog.getByLabel("Email").fill("cy@");
  await dialog.getByLabel("Last name").focus();
  await expect(dialog.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  await expect(dialog.getByText("Enter a single email address, like name@example.com.")).toBeVisible();
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await expect(dialog.getByText("Choose a role.")).toBeVisible();
  await expect(dialog.getByLabel("First name")).toHaveAttribute("aria-invalid", "true");
  expect(await accessibilityViolations(page)).toEqual([]);
  // Sent while offline: the dialog says so and keeps everything typed.
  await dialog.getByLabel("First name").fill("Cy");
  await dialog.getByLabel("Last name").fill("Diaz");
  await dialog.getByLabel("Email").fill("cy@acme.test");
  await dialog.getByRole("radio", { name: "Manager", exact: true }).check();
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await expect(dialog.getByRole("alert")).toContainText("couldn't reach the server");
  await expect(dialog.getByLabel("Email")).toHaveValue("cy@acme.test");
  await page.context().setOffline(false);
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await expect(dialog).toBeHidden();
  await expect(admins.notice).toHaveText("Invitation sent to cy@acme.test.");
  await expect(admins.row("Cy Diaz")).toContainText("Invited");

  // A taken address comes back from the server next to the field.
  await admins.openCreate();
  await dialog.getByLabel("First name").fill("Bo");
  await dialog.getByLabel("Last name").fill("Again");
  await dialog.getByLabel("Email").fill("BO@acme.test");
  await dialog.getByRole("radio", { name: "Read Only", exact: true }).check();
  await dialog.getByRole("button", { name: "Send invitation" }).click();
  await expect(dialog.getByText("An administrator with this email already exists.")).toBeVisible();
  // Esc closes the dialog and focus goes back to the button that opened it.
  await page.keyboard.press("Escape");
  await expect(dialog).toBeHidden();
  await expect(page.getByRole("button", { name: "+ Create Admin" })).toBeFocused();

  // Resend: a new link; the first one stops working.
  const firstLink = linkIn(newestMail("To: cy@acme.test"), "/invitation/");
  await admins.act("Cy Diaz", "Resend invitation to Cy Diaz");
  await expect(admins.notice).toHaveText("A new invitation is on its way to cy@acme.test.");
  const link = linkIn(newestMail("To: cy@acme.test"), "/invitation/");
  expect(link).not.toEqual(firstLink);
  await frame.signOut();

  await openHydrated(page, firstLink);
  await expect(page.getByText("This link has expired.")).toBeVisible();
  await openHydrated(page, link);
  await page.getByLabel("New password").fill("cy picks a sturdy passphrase");
  await page.getByLabel("Type it again").fill("cy picks a sturdy passphrase");
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await waitForHydration(page);
  await frame.expectSignedInAs("cy@acme.test");
  // A Manager: users, but no billing, no administrators, no audit log.
  expect(await frame.menuItems()).toEqual(["Account settings", "Sign out"]);
  expect(await frame.navLinks()).toEqual(["Overview", "Users", "Commands"]);
  await openHydrated(page, "/administrators");
  await expect(page.getByRole("heading", { name: "You don't have access to this page" })).toBeVisible();
  await openHydrated(page, "/billing/payment");
  await expect(page.getByRole("heading", { name: "You don't have access to this page" })).toBeVisible();
  await expect(page.getByRole("dialog")).toHaveCount(0);
  await frame.signOut();
});

test("the email menu works with the keyboard alone and is accessible open", async ({ page }) => {
  await signInAsOwner(page);
  const frame = new SignedInFrame(page);
  const button = frame.menuButton;
  const items = frame.menu.getByRole("menuitem");
  // Reach the button with Tab: the product name, then the menu button.
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab");
  await expect(button).toBeFocused();
  await expect(button).toHaveAttribute("aria-expanded", "false");

  await page.keyboard.press("Enter");
  await expect(button).toHaveAttribute("aria-expanded", "true");
  await expect(items.first()).toBeFocused();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.keyboard.press("ArrowDown");
  await expect(items.nth(1)).toBeFocused();
  await page.keyboard.press("End");
  await expect(items.last()).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await expect(items.first()).toBeFocused(); // wraps
  await page.keyboard.press("ArrowUp");
  await expect(items.last()).toBeFocused(); // wraps back
  await page.keyboard.press("Home");
  await expect(items.first()).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(frame.menu).toBeHidden();
  await expect(button).toBeFocused();

  await page.keyboard.press("ArrowUp");
  await expect(items.last()).toBeFocused();
  await page.keyboard.press("Escape");
  await page.keyboard.press("ArrowDown");
  await expect(items.first()).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(frame.menu).toBeHidden();

  // A click elsewhere closes it too.
  await frame.openMenu();
  await page.getByRole("heading", { name: "Overview" }).click();
  await expect(frame.menu).toBeHidden();

  // Space opens; arrows reach Account settings; Enter follows it.
  await button.focus();
  await page.keyboard.press(" ");
  await expect(items.first()).toBeFocused();
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("ArrowDown");
  await expect(items.nth(2)).toHaveText("Account settings");
  await expect(items.nth(2)).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page).toHaveURL(/\/account$/);
});

test("change role, suspend, unsuspend and delete, each confirmed on the page", async ({ page }) => {
  await signInAsOwner(page);
  const admins = new AdministratorsPage(page);
  await admins.open();
  const cy = admins.row("Cy Diaz");
  // No buttons on one's own row.
  await expect(admins.row("Annie Lee").getByRole("button")).toHaveCount(0);

  await admins.act("Cy Diaz", "Change role of Cy Diaz");
  await expect(admins.dialog.getByRole("radio", { name: "Manager", exact: true })).toBeChecked();
  expect(await accessibilityViolations(page)).toEqual([]);
  await admins.dialog.getByRole("radio", { name: "Read Only", exact: true }).check();
  await admins.dialog.getByRole("button", { name: "Save role" }).click();
  await expect(admins.notice).toHaveText("Cy Diaz is now Read Only.");
  await expect(admins.notice).toBeFocused();
  await expect(cy).toContainText("Read Only");

  await admins.act("Cy Diaz", "Suspend Cy Diaz");
  await expect(admins.notice).toHaveText("Cy Diaz is suspended; their sessions have ended.");
  await expect(cy).toContainText("Suspended");
  await admins.act("Cy Diaz", "Unsuspend Cy Diaz");
  await expect(admins.notice).toHaveText("Cy Diaz can sign in again.");
  await expect(cy).toContainText("Active");

  // Delete asks first; Cancel keeps them.
  await admins.act("Cy Diaz", "Delete Cy Diaz");
  await expect(admins.dialog.getByRole("heading", { name: "Delete Cy Diaz?" })).toBeVisible();
  await expect(admins.dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  await admins.dialog.getByRole("button", { name: "Cancel" }).click();
  await expect(cy).toBeVisible();
  await admins.act("Cy Diaz", "Delete Cy Diaz");
  await admins.dialog.getByRole("button", { name: "Delete administrator" }).click();
  await expect(admins.notice).toHaveText("Cy Diaz is deleted.");
  await expect(cy).toHaveCount(0);

  await openHydrated(page, "/audit");
  for (const kind of ["Administrator role changed", "Administrator suspended", "Administrator unsuspended", "Administrator deleted"]) {
    await expect(page.getByRole("cell", { name: kind }).first()).toBeVisible();
  }
});

test("at 360 px wide the frame, the menu and the dialog fit and stay usable", async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await signInAsOwner(page);
  const admins = new AdministratorsPage(page);
  await admins.open();
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(await overflow()).toBeLessThanOrEqual(0);
  const frame = new SignedInFrame(page);
  await frame.openMenu();
  const box = await frame.menu.boundingBox();
  expect(box!.x).toBeGreaterThanOrEqual(0);
  expect(box!.x + box!.width).toBeLessThanOrEqual(360);
  await page.keyboard.press("Escape");
  await admins.openCreate();
  // Focus stays inside the dialog: Tab from its last control goes to its first, and back.
  await admins.dialog.getByRole("button", { name: "Cancel" }).focus();
  await page.keyboard.press("Tab");
  await expect(admins.dialog.getByLabel("First name")).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(admins.dialog.getByRole("button", { name: "Cancel" })).toBeFocused();
  const dbox = await admins.dialog.boundingBox();
  expect(dbox!.width).toBeLessThanOrEqual(360);
  expect(await overflow()).toBeLessThanOrEqual(0);
  expect(await accessibilityViolations(page)).toEqual([]);
});
