import { test, expect, type Locator, type Page } from "@playwright/test";
import { accessibilityViolations, openHydrated } from "../pages/base";
import { SignedInFrame, newestMail, signInAsOwner } from "../pages/account";
import { invite } from "../pages/two-step";
import { PaymentsModal } from "../pages/payments";

// Runs after account.spec.ts and administrators.spec.ts on the same server.
test.describe.configure({ mode: "serial" });

test("Payments → billing information → payment information → card: validated offline, saved once, emailed", async ({ page }) => {
  await signInAsOwner(page);
  const frame = new SignedInFrame(page);
  await frame.openMenu();
  await frame.menu.getByRole("menuitem", { name: "Payments" }).click();
  const modal = new PaymentsModal(page);
  const d = modal.dialog;
  await expect(d).toBeVisible();
  await expect(modal.tab("Billing Information")).toHaveAttribute("aria-selected", "true");
  await expect(d.getByLabel("Company name")).toBeFocused();
  expect(await accessibilityViolations(page)).toEqual([]);

  // Offline: every check is core's, in the browser.
  await page.context().setOffline(true);
  await d.getByLabel("Country").selectOption("US");
  await expect(d.getByLabel("State")).toBeVisible();
  await d.getByLabel("ZIP code").fill("1234");
  await d.getByLabel("City").focus();
  await expect(d.getByText("Enter a ZIP code like 12345 or 12345-6789.")).toBeVisible();
  await expect(d.getByLabel("ZIP code")).toHaveAttribute("aria-invalid", "true");
  await d.getByLabel("Country").selectOption("CA");
  await expect(d.getByLabel("Province or territory")).toBeVisible();
  await expect(d.getByLabel("Postal code")).toBeVisible();
  await d.getByLabel("Email", { exact: true }).fill("billing@");
  await d.getByLabel("Phone (optional)").fill("12 34");
  await d.getByRole("button", { name: "Next" }).click();
  await expect(d.getByText("Enter a postal code like A1A 1A1.")).toBeVisible();
  await expect(d.getByText("Choose a province or territory.")).toBeVisible();
  await expect(d.getByText("Enter the company name.", { exact: false })).toBeVisible();
  await expect(d.getByText("Enter a single email address, like name@example.com.")).toBeVisible();
  await expect(d.getByText("Enter a phone number of 7 to 15 digits, like +1 555 123 4567.")).toBeVisible();
  await expect(d.getByLabel("Phone (optional)")).toHaveAttribute("aria-invalid", "true");
  await expect(d.getByLabel("Company name")).toBeFocused(); // the first field in error
  expect(await accessibilityViolations(page)).toEqual([]);
  await d.getByLabel("Phone (optional)").fill("");

  await modal.fillBillingInformation();
  await d.getByRole("button", { name: "Next" }).click();
  await expect(d.getByRole("alert")).toContainText("couldn't reach the server");
  await expect(d.getByLabel("Company name")).toHaveValue("Acme Corp");
  await page.context().setOffline(false);
  await d.getByRole("button", { name: "Next" }).click();
  await expect(modal.tab("Payment Information")).toHaveAttribute("aria-selected", "true");
  await expect(d.getByLabel("Cardholder name")).toBeFocused();
  await expect(d.getByLabel(/same as the billing information/)).toBeChecked();
  await d.getByRole("button", { name: "Enter card" }).click();
  await expect(d.getByText("Enter the name on the card.")).toBeVisible();
  // A card number typed as the cardholder's name: refused in the browser, the network off.
  await page.context().setOffline(true);
  await d.getByLabel("Cardholder name").fill("4111-1111-1111-1111"); // test number
  await d.getByRole("button", { name: "Enter card" }).click();
  await expect(d.getByText("This looks like a card number. Enter card details only in the card window.")).toBeVisible();
  await expect(d.getByLabel("Cardholder name")).toHaveAttribute("aria-invalid", "true");
  await expect(d.getByLabel("Card number")).toBeHidden();
  await page.context().setOffline(false);
  await d.getByLabel("Cardholder name").fill("Dana Park");
  expect(await accessibilityViolations(page)).toEqual([]);
  await d.getByRole("button", { name: "Enter card" }).click();

  // The card window: grouped as typed, brand shown, code named per brand.
  const number = d.getByLabel("Card number");
  await expect(number).toBeFocused();
  await expect(number).toHaveAttribute("autocomplete", "cc-number");
  await expect(number).toHaveAttribute("inputmode", "numeric");
  // The brand shows as soon as only one is still possible.
  await number.pressSequentially("2");
  await expect(d.getByText("Mastercard", { exact: true })).toBeVisible();
  await number.fill("");
  await number.pressSequentially("1234");
  await expect(d.getByText("Your card number is invalid.")).toBeVisible(); // can never become valid
  await modal.fillCard("378282246310005", "1230", "1234"); // Amex test number
  await expect(number).toHaveValue("3782 822463 10005");
  await expect(d.getByText("American Express", { exact: true })).toBeVisible();
  await expect(d.getByLabel("Security code (CID)")).toHaveAttribute("maxlength", "4");
  await expect(d.getByLabel("Expiration date")).toHaveValue("12/30");
  await modal.fillCard("3530111333300000", "1230", "123"); // JCB test number
  await expect(d.getByText("We don't accept JCB cards.")).toBeVisible();
  await page.context().setOffline(true);
  await modal.fillCard("5555555555554440", "0120", "12"); // a Mastercard test number with a bad check digit
  await number.focus();
  await expect(d.getByText("Your card number is invalid.")).toBeVisible();
  await expect(d.getByText("Your card's expiration date is in the past.")).toBeVisible();
  await expect(d.getByText("Your card's security code is incomplete.")).toBeVisible();
  await modal.fillCard("4242424242424242", "1330", "123"); // test number
  await expect(d.getByText("Your card's expiration month is invalid.")).toBeVisible();
  // A mistyped Visa of 16 digits: "invalid" on submit, not "incomplete" (longer Visas exist).
  await modal.fillCard("4242424242424241", "1230", "123"); // test number, one digit off
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await expect(d.getByText("Your card number is invalid.")).toBeVisible();
  await expect(d.getByText("Your card number is incomplete.")).toBeHidden();
  await modal.fillCard("4242", "1", "");
  await d.getByLabel(/Security code/).focus();
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await expect(d.getByText("Your card number is incomplete.")).toBeVisible();
  await expect(d.getByText("Your card's expiration date is incomplete.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);

  await page.context().setOffline(false);
  // A decline is said on the card window; what was typed stays.
  await modal.fillCard("4000000000000002", "1230", "123"); // sandbox test number
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await expect(d.getByRole("alert")).toHaveText("Your card was declined. Try another card, or ask your bank why.");
  await expect(number).toHaveValue("4000 0000 0000 0002"); // sandbox test number
  // The network down on submit: said, kept, nothing saved.
  await modal.fillCard("4242424242424242", "1230", "123"); // test number
  await page.context().setOffline(true);
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await expect(d.getByRole("alert")).toContainText("couldn't reach the server");
  await expect(number).toHaveValue("4242 4242 4242 4242"); // test number
  await page.context().setOffline(false);
  await d.getByRole("button", { name: "Submit Payment Method" }).click();

  await expect(d.getByRole("status")).toHaveText("Your card is saved: Visa •••• 4242.");
  await expect(d.getByText("Visa •••• 4242", { exact: true })).toBeVisible();
  await expect(d.getByText("12/30")).toBeVisible();
  await expect(d.getByRole("button", { name: "Update" })).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  const mail = newestMail("To: billing@acme.test");
  expect(mail).toContain("Your payment method was changed");
  expect(mail).toContain("4242");
  expect(mail).not.toContain("4242 4242 4242 4242"); // test number
  expect(newestMail("To: ann@acme.test")).toContain("Your payment method was changed");

  // Esc closes; focus goes back to the menu button.
  await page.keyboard.press("Escape");
  await expect(d).toBeHidden();
  await expect(frame.menuButton).toBeFocused();
});

test("its own URL opens the modal; Update goes through the steps pre-filled, never with the card", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  await signInAsOwner(page);
  await openHydrated(page, "/billing/payment");
  const modal = new PaymentsModal(page);
  const d = modal.dialog;
  await expect(d.getByText("Visa •••• 4242", { exact: true })).toBeVisible();
  await d.getByRole("button", { name: "Update" }).click();
  await expect(d.getByLabel("Company name")).toHaveValue("Acme Corp");
  await expect(d.getByLabel("ZIP code")).toHaveValue("62701");
  // Leaving Billing Information by the tab strip goes as Next goes: what does not check out
  // keeps the step with its message; what does is saved.
  await d.getByLabel("Company name").fill("");
  await modal.tab("Payment Information").click();
  await expect(d.getByText("Enter the company name.", { exact: false })).toBeVisible();
  await expect(modal.tab("Billing Information")).toHaveAttribute("aria-selected", "true");
  await d.getByLabel("Company name").fill("Acme Corporation");
  await modal.tab("Payment Information").click();
  await expect(modal.tab("Payment Information")).toHaveAttribute("aria-selected", "true");
  await openHydrated(page, "/billing/payment");
  await d.getByRole("button", { name: "Update" }).click();
  await expect(d.getByLabel("Company name")).toHaveValue("Acme Corporation");
  // Tabs by keyboard: arrows move between them.
  await modal.tab("Billing Information").focus();
  await page.keyboard.press("ArrowRight");
  await expect(modal.tab("Payment Information")).toBeFocused();
  await expect(modal.tab("Payment Information")).toHaveAttribute("aria-selected", "true");
  await expect(d.getByLabel("Cardholder name")).toHaveValue("Dana Park");
  await d.getByRole("button", { name: "Enter card" }).click();
  // The card window is a dialog of its own, on top of the modal.
  const card = page.getByRole("dialog", { name: "Card" });
  await expect(card.getByLabel("Card number")).toBeFocused();
  await expect(card.getByLabel("Card number")).toHaveValue("");
  await expect(card.getByLabel(/Security code/)).toHaveValue("");
  expect(await accessibilityViolations(page)).toEqual([]);
  // Focus stays in it; Esc closes only it, and the focus is back on Enter card.
  await card.getByRole("button", { name: "Back" }).focus();
  await page.keyboard.press("Tab");
  await expect(card.getByRole("button", { name: "Close the card window" })).toBeFocused();
  await page.keyboard.press("Shift+Tab");
  await expect(card.getByRole("button", { name: "Back" })).toBeFocused();
  await page.keyboard.press("Escape");
  await expect(card).toBeHidden();
  await expect(d).toBeVisible();
  await expect(d.getByRole("button", { name: "Enter card" })).toBeFocused();
  await d.getByRole("button", { name: "Close", exact: true }).click();
  await expect(d).toBeHidden();
  await expect(page).toHaveURL(/\/$/);
  await expect(new SignedInFrame(page).menuButton).toBeFocused();
  // The frame behind it is still alive: the navigation works.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Administrators" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Administrators" })).toBeVisible();
  expect(errors, "no errors in the browser").toEqual([]);
});

/** Presses Tab until `target` has focus (at most 15 times). */
async function tabTo(page: Page, target: Locator) {
  for (let i = 0; i < 15; i++) {
    if (await target.evaluate((el) => el === document.activeElement)) return;
    await page.keyboard.press("Tab");
  }
  await expect(target).toBeFocused();
}

test("keyboard only: menu → Payments → Update → each step → a new card saved", async ({ page }) => {
  await signInAsOwner(page);
  const frame = new SignedInFrame(page);
  await tabTo(page, frame.menuButton);
  await page.keyboard.press("Enter");
  await expect(frame.menu.getByRole("menuitem", { name: "Payments" })).toBeFocused();
  await page.keyboard.press("Enter");
  const modal = new PaymentsModal(page);
  const d = modal.dialog;
  await expect(d.getByText("Visa •••• 4242", { exact: true })).toBeVisible();
  await tabTo(page, d.getByRole("button", { name: "Update" }));
  await page.keyboard.press("Enter");
  await expect(d.getByLabel("Company name")).toBeFocused();
  await page.keyboard.press("Enter"); // the step's form: Next
  await expect(modal.tab("Payment Information")).toHaveAttribute("aria-selected", "true");
  await expect(d.getByLabel("Cardholder name")).toBeFocused();
  await page.keyboard.press("Enter"); // Enter card
  await expect(d.getByLabel("Card number")).toBeFocused();
  await page.keyboard.type("5555555555554444"); // Mastercard test number
  await page.keyboard.press("Tab");
  await expect(d.getByLabel("Expiration date")).toBeFocused();
  await page.keyboard.type("1131");
  await page.keyboard.press("Tab");
  await expect(d.getByLabel(/Security code/)).toBeFocused();
  await page.keyboard.type("321");
  await page.keyboard.press("Enter"); // Submit Payment Method
  await expect(d.getByRole("status")).toHaveText("Your card is saved: Mastercard •••• 4444.");
  await expect(d.getByText("11/31")).toBeVisible();
  await page.keyboard.press("Escape");
  await expect(d).toBeHidden();
  await expect(frame.menuButton).toBeFocused();
});

test("at 360 px wide the modal fits", async ({ page }) => {
  await page.setViewportSize({ width: 360, height: 740 });
  await signInAsOwner(page);
  await openHydrated(page, "/billing/payment");
  const d = new PaymentsModal(page).dialog;
  await d.getByRole("button", { name: "Update" }).click();
  const box = await d.boundingBox();
  expect(box!.width).toBeLessThanOrEqual(360);
  expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
  expect(await accessibilityViolations(page)).toEqual([]);
});

test("the code of pages loads when they are first shown; the modal's once the page is idle, for billing roles only", async ({ page }) => {
  test.skip(process.env.TALLY_E2E_PROFILE === "debug", "debug builds are not split");
  test.setTimeout(60_000);
  const wasm: string[] = [];
  page.on("response", (r) => {
    const p = new URL(r.url()).pathname;
    if (p.startsWith("/pkg/") && p.endsWith(".wasm")) wasm.push(p.slice("/pkg/".length));
  });
  const loaded = (prefix: string) => wasm.some((f) => f.startsWith(prefix));

  // The sign-in page downloads no wasm at all (its own test is in public-pages.spec.ts).
  await page.goto("/login");
  expect(wasm.length).toBe(0);

  // Signed in on the Overview: no Billing page; the modal's code follows once the browser is
  // idle after the page, so it opens at once (and offline).
  await signInAsOwner(page);
  expect(loaded("split___billing_route_view_")).toBe(false);
  await expect(page.locator("body[data-payments-ready]")).toBeAttached();
  expect(loaded("split_payments_content_")).toBe(true);

  // The Billing page's chunk comes with the page.
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Billing" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Billing" })).toBeVisible();
  expect(loaded("split___billing_route_view_")).toBe(true);
  const frame = new SignedInFrame(page);
  await frame.openMenu();
  await frame.menu.getByRole("menuitem", { name: "Payments" }).click();
  const modal = new PaymentsModal(page);
  await expect(modal.dialog.getByRole("heading", { name: "Billing & Payments" })).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.keyboard.press("Escape");
  await frame.signOut();

  // An administrator without billing never downloads the modal.
  await invite(page, { first: "Nia", last: "Nobill", email: "nia@acme.test", role: "Administrator", password: "nia picks a sturdy passphrase" });
  wasm.length = 0;
  await openHydrated(page, "/");
  await page.waitForLoadState("networkidle");
  expect(wasm.length).toBeGreaterThan(0);
  expect(loaded("split_payments_content_")).toBe(false);
  await expect(page.locator("body[data-payments-ready]")).toHaveCount(0);
});

test("every render of a split page names its chunks for the browser to preload", async ({ page }) => {
  test.skip(process.env.TALLY_E2E_PROFILE === "debug", "debug builds are not split");
  await signInAsOwner(page);
  // Renders at once, so the server's tasks move between its threads while they wait on the
  // database; each page must still come with the preload link of its chunk.
  const renders = await Promise.all(
    Array.from({ length: 24 }, () => page.request.get("/billing").then((r) => r.text())),
  );
  const withPreload = renders.filter((html) => html.includes('rel="preload"') && html.includes('href="/pkg/split___billing_route_view_'));
  expect(withPreload.length).toBe(renders.length);
});
