import { test, expect, type Page } from "@playwright/test";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { LoginPage, OWNER, OWNER_RESET_PASSWORD, SignedInFrame, newestMail, signInAsOwner, waitForMail } from "../pages/account";
import { AdministratorsPage } from "../pages/administrators";
import { PaymentsModal } from "../pages/payments";
import { AuthenticatorApp, ageProofs, invite, setUpAuthenticator } from "../pages/two-step";

// Runs on the server the earlier specs set up; it adds its own administrators, and leaves the
// account's policy as it found it (off), so the owner signs in with a password alone.
test.describe.configure({ mode: "serial" });

const TIA = { first: "Tia", last: "Tan", email: "tia@acme.test", role: "Administrator With Billing", password: "tia keeps two steps" };
const PAT = { first: "Pat", last: "Kim", email: "pat@acme.test", role: "Manager", password: "pat has a passkey now" };

/** The password, then on the second step's page the code, typed and sent with the keyboard. */
async function signInWithCode(page: Page, email: string, password: string, code: string) {
  const login = new LoginPage(page);
  await login.open();
  await login.signIn(email, password);
  await expect(page).toHaveURL(/\/login\/two-step/);
  await expect(page.getByRole("heading", { name: "Two-step verification" })).toBeVisible();
  await waitForHydration(page);
  await page.getByLabel("Code").focus();
  await page.keyboard.type(code);
  await page.keyboard.press("Enter");
}

test("an authenticator app: set up with the QR code, asked for at sign-in; the policy holds others at set-up", async ({ page }) => {
  await invite(page, TIA);
  await openHydrated(page, "/account");
  const section = page.getByRole("region", { name: "Two-step verification" });
  await section.getByRole("button", { name: "Set up an authenticator app" }).click();
  await expect(section.getByRole("img", { name: "QR code with the key below" }).locator("svg")).toBeVisible();
  const key = (await section.locator("code.key").innerText()).trim();
  expect(key).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{4}){7}$/);
  expect(await accessibilityViolations(page)).toEqual([]);
  const app = new AuthenticatorApp(key);

  // A wrong code is said next to the field; the QR code and key stay.
  const codeField = section.getByLabel("6-digit code from the app");
  await codeField.fill("000000");
  await section.getByRole("button", { name: "Turn on" }).click();
  await expect(section.getByText("That code is not right. Enter the 6 digits the app shows now.")).toBeVisible();
  await expect(codeField).toHaveAttribute("aria-invalid", "true");
  await codeField.fill(await app.code());
  await section.getByRole("button", { name: "Turn on" }).click();
  await expect(section.getByRole("status")).toHaveText("Two-step verification is on: the authenticator app is set up.");
  const codes = section.getByRole("region", { name: "Your recovery codes" });
  await expect(codes.getByRole("listitem")).toHaveCount(10);
  const recovery = (await codes.getByRole("listitem").first().innerText()).trim();
  await expect(codes.getByRole("link", { name: "Download as a text file" })).toHaveAttribute("download", "tally-recovery-codes.txt");
  expect(await accessibilityViolations(page)).toEqual([]);
  await codes.getByRole("button", { name: "I've saved them" }).click();
  await expect(codes).toBeHidden();
  await expect(section.getByText("On. Codes come from the app you set up.")).toBeVisible();
  await expect(section.getByText("10 of 10 left.")).toBeVisible();
  expect(newestMail("To: tia@acme.test")).toContain("An authenticator app was set up");

  // The policy, on the Administrators page, which shows who has two steps.
  const admins = new AdministratorsPage(page);
  await admins.open();
  await expect(admins.row("Tia Tan").getByRole("cell", { name: "On", exact: true })).toBeVisible();
  await expect(admins.row("ann@acme.test").getByRole("cell", { name: "Off", exact: true })).toBeVisible();
  await page.getByLabel("Require two-step verification for every administrator").check();
  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(admins.notice).toHaveText("Two-step verification is now required of every administrator.");
  expect(await accessibilityViolations(page)).toEqual([]);
  const frame = new SignedInFrame(page);
  await frame.signOut();

  // The owner has no second step: held at Account settings until there is one.
  await signInToAccountSettings(page);
  await expect(page.getByRole("alert").filter({ hasText: "requires two-step verification" })).toBeVisible();
  await openHydrated(page, "/users");
  await expect(page).toHaveURL(/\/account$/);
  expect(await accessibilityViolations(page)).toEqual([]);
  await frame.signOut();

  // Tia: password, then a code; a wrong code first, all with the keyboard.
  await signInWithCode(page, TIA.email, TIA.password, "123456");
  await expect(page.getByText("That didn't work. Check the code (or use a recovery code) and try again.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("Code").fill("");
  await page.keyboard.type(await app.code());
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await waitForHydration(page);
  await frame.expectSignedInAs(TIA.email);
  await admins.open();
  await page.getByLabel("Require two-step verification for every administrator").uncheck();
  await page.getByRole("button", { name: "Save policy" }).click();
  await expect(admins.notice).toHaveText("Two-step verification is no longer required.");
  await frame.signOut();

  // A recovery code works once, and says how many are left.
  await signInWithCode(page, TIA.email, TIA.password, recovery);
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  expect(newestMail("To: tia@acme.test")).toContain("9 are left");
  await waitForHydration(page);
  await frame.signOut();

  // Tia's phone is lost: the owner resets her two-step verification.
  await signInAsOwner(page);
  await admins.open();
  await admins.act("Tia Tan", "Reset two-step verification of Tia Tan");
  await expect(admins.dialog.getByRole("heading", { name: "Reset the two-step verification of Tia Tan?" })).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await admins.dialog.getByRole("button", { name: "Reset two-step verification" }).click();
  await expect(admins.notice).toHaveText("Tia Tan's two-step verification is reset; they are emailed and must set it up again.");
  await expect(admins.row("Tia Tan").getByRole("cell", { name: "Off", exact: true })).toBeVisible();
  expect(newestMail("To: tia@acme.test")).toContain("reset your two-step verification");
  await frame.signOut();
});

/** Signs the owner in while the policy holds them: they land on Account settings, set up. */
async function signInToAccountSettings(page: Page) {
  const login = new LoginPage(page);
  for (const password of [OWNER.password, OWNER_RESET_PASSWORD]) {
    await login.open();
    await login.signIn(OWNER.email, password);
    const outcome = await Promise.race([
      page.getByRole("heading", { name: "Set up two-step verification" }).waitFor().then(() => "in"),
      page.getByText("Email or password is incorrect.").waitFor().then(() => "wrong"),
    ]);
    if (outcome === "in") {
      await waitForHydration(page);
      return;
    }
  }
  throw new Error("the owner could not sign in");
}

test("a passkey through Chromium's virtual authenticator: added, used to sign in, removed", async ({ page }) => {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("WebAuthn.enable");
  await cdp.send("WebAuthn.addVirtualAuthenticator", {
    options: { protocol: "ctap2", transport: "internal", hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  await invite(page, PAT);
  await openHydrated(page, "/account");
  const section = page.getByRole("region", { name: "Two-step verification" });
  await section.getByLabel(/Name of a new passkey/).fill("Work laptop");
  await section.getByRole("button", { name: "Add a passkey" }).click();
  await expect(section.getByRole("status")).toHaveText("The passkey \u201cWork laptop\u201d is added.");
  await expect(section.getByRole("region", { name: "Your recovery codes" }).getByRole("listitem")).toHaveCount(10);
  const row = section.getByRole("row", { name: /Work laptop/ });
  await expect(row).toContainText("Never");
  expect(await accessibilityViolations(page)).toEqual([]);
  expect(newestMail("To: pat@acme.test")).toContain("was added to two-step verification");
  const frame = new SignedInFrame(page);
  await frame.signOut();

  const login = new LoginPage(page);
  await login.open();
  await login.signIn(PAT.email, PAT.password);
  await expect(page).toHaveURL(/\/login\/two-step/);
  await waitForHydration(page);
  await page.getByRole("button", { name: "Use a passkey" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await waitForHydration(page);
  await frame.expectSignedInAs(PAT.email);
  await openHydrated(page, "/account");
  await expect(section.getByRole("row", { name: /Work laptop/ })).not.toContainText("Never");
  await section.getByRole("button", { name: "Remove the passkey Work laptop" }).click();
  await expect(section.getByRole("status")).toHaveText("The passkey is removed.");
  expect(newestMail("To: pat@acme.test")).toContain("was removed from two-step verification");
});

test("Billing & Payments asks to confirm it's you after 10 minutes, keeps what was typed, then saves", async ({ page }) => {
  const password = await signInAsOwner(page);
  const frame = new SignedInFrame(page);
  ageProofs(11);
  await frame.openMenu();
  await frame.menu.getByRole("menuitem", { name: "Payments" }).click();
  const modal = new PaymentsModal(page);
  const d = modal.dialog;
  await expect(d).toBeVisible();
  // With a card on file (the payments spec ran), the modal opens on it: Update.
  const update = d.getByRole("button", { name: "Update" });
  await expect(d.getByLabel("Company name").or(update)).toBeVisible();
  if (await update.isVisible()) await update.click();
  await modal.fillBillingInformation();
  await d.getByLabel("City").fill("Shelbyville");
  await d.getByRole("button", { name: "Next" }).click();

  // Asked in place, on top of the modal: the password (the owner has no second step).
  const check = page.getByRole("dialog", { name: "Confirm it's you" });
  await expect(check).toBeVisible();
  await expect(check.getByLabel("Your password")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await check.getByLabel("Your password").fill("not my password");
  await check.getByRole("button", { name: "Confirm" }).click();
  await expect(check.getByText("That didn't work. Try again.")).toBeVisible();
  // Cancelled: nothing saved, and what was typed is still there.
  await page.keyboard.press("Escape");
  await expect(check).toBeHidden();
  await expect(d).toBeVisible();
  await expect(d.getByLabel("City")).toHaveValue("Shelbyville");
  await d.getByRole("button", { name: "Next" }).click();
  await expect(check).toBeVisible();
  await check.getByLabel("Your password").focus();
  await page.keyboard.type(password);
  await page.keyboard.press("Enter");
  await expect(check).toBeHidden();
  await expect(modal.tab("Payment Information")).toHaveAttribute("aria-selected", "true");

  // The card: the check comes again when it has aged, and the card typed is kept for it.
  ageProofs(11);
  await d.getByLabel("Cardholder name").fill("Dana Park");
  await d.getByRole("button", { name: "Enter card" }).click();
  await modal.fillCard("4242424242424242", "1029", "123"); // test number
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await expect(check).toBeVisible();
  await check.getByLabel("Your password").fill(password);
  await check.getByRole("button", { name: "Confirm" }).click();
  await expect(d.getByRole("status")).toHaveText("Your card is saved: Visa •••• 4242.");
  await expect(d.getByText("10/29")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(d).toBeHidden();
});

test("with an authenticator app, a password change an aged session asks for a code first, and is emailed", async ({ page }) => {
  const PIA = { first: "Pia", last: "Moss", email: "pia@acme.test", role: "Administrator", password: "pia guards her password" };
  await invite(page, PIA);
  const { recovery } = await setUpAuthenticator(page);

  // Someone at her unlocked browser, 11 minutes later, with the password it remembers.
  ageProofs(11);
  const newPassword = "pia changed it after all";
  await page.getByLabel("Current password").fill(PIA.password);
  await page.getByLabel("New password", { exact: true }).fill(newPassword);
  await page.getByLabel("Type the new password again").fill(newPassword);
  await page.getByRole("button", { name: "Change password" }).click();
  const check = page.getByRole("dialog", { name: "Confirm it's you" });
  await expect(check).toBeVisible();
  await expect(page.getByText("Your password is changed.")).toHaveCount(0);
  expect(await accessibilityViolations(page)).toEqual([]);
  // Without a code nothing changes.
  await page.keyboard.press("Escape");
  await expect(check).toBeHidden();
  await expect(page.getByText("Your password is changed.")).toHaveCount(0);
  // With one it does, and she is told by email.
  await page.getByRole("button", { name: "Change password" }).click();
  await expect(check).toBeVisible();
  await check.getByLabel("Code from your authenticator app, or a recovery code").fill(recovery);
  await check.getByRole("button", { name: "Confirm" }).click();
  await expect(page.getByText("Your password is changed. Other sessions have ended.")).toBeVisible();
  expect(await waitForMail("Your Tally password was changed")).toContain("To: pia@acme.test");
});
