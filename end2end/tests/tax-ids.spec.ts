import { test, expect } from "@playwright/test";
import * as fs from "node:fs";
import { accessibilityViolations, openHydrated } from "../pages/base";
import { acceptInvitation, createCustomerAccount, signInAsOperator } from "../pages/console";
import { PaymentsModal } from "../pages/payments";

// Tax IDs are checked in the browser by core's rules, per country, with the network off; the
// server stores the normal form and shows the official one when the form opens again.
test("a billing administrator's German VAT number: a missing digit and a typo explained offline, then saved", async ({ page }) => {
  const tag = Date.now().toString(36);
  const admin = { first: "Eva", last: "Muster", email: `eva.${tag}@muster.test`, password: "a long muster passphrase" };
  await signInAsOperator(page);
  await createCustomerAccount(page, `Muster ${tag} GmbH`, admin);
  await page.context().clearCookies();
  await acceptInvitation(page, admin.email, admin.password);

  const modal = await PaymentsModal.open(page);
  const d = modal.dialog;
  await modal.fillBillingInformation({
    company: `Muster ${tag} GmbH`,
    contact: "Eva Muster",
    email: `rechnung.${tag}@muster.test`,
    country: "DE",
    street: "Hauptstr. 1",
    city: "Berlin",
    postalCode: "10115",
  });
  await expect(d.getByText("German VAT number: DE followed by 9 digits, the first not 0.")).toBeVisible();

  await page.context().setOffline(true);
  const taxId = d.getByLabel("Tax ID (optional)");
  await taxId.fill("DE 13669597");
  await d.getByLabel("Postal code").focus();
  await expect(d.getByText("This has 8 digits; a German VAT number has 9.")).toBeVisible();
  await expect(taxId).toHaveAttribute("aria-invalid", "true");
  await taxId.fill("DE 136 695 977");
  await expect(d.getByText("The check digits don't match the rest of the number: look for a mistyped digit.")).toBeVisible();
  await d.getByRole("button", { name: "Next" }).click();
  await expect(taxId).toBeFocused(); // the only field in error
  expect(await accessibilityViolations(page)).toEqual([]);
  await taxId.fill("de 136.695.976");
  await expect(taxId).not.toHaveAttribute("aria-invalid", "true");
  await page.context().setOffline(false);
  await d.getByRole("button", { name: "Next" }).click();
  await expect(modal.tab("Payment Information")).toHaveAttribute("aria-selected", "true");

  // Saved in its normal form, shown in the official one when the page is opened again.
  await openHydrated(page, "/");
  await PaymentsModal.open(page);
  await expect(d.getByLabel("Tax ID (optional)")).toHaveValue("DE136695976");
});

test("a billing administrator puts a PO number and a cost centre on the next invoices, and downloads a year of documents", async ({ page }) => {
  const tag = Date.now().toString(36);
  const admin = { first: "Pia", last: "Order", email: `pia.${tag}@orders.test`, password: "a long purchase passphrase" };
  await signInAsOperator(page);
  await createCustomerAccount(page, `Orders ${tag} Ltd`, admin);
  await page.context().clearCookies();
  await acceptInvitation(page, admin.email, admin.password);
  await openHydrated(page, "/billing");
  const card = page.getByRole("region", { name: "On your invoices" });
  await card.getByLabel("PO number (optional)").fill("4500012345");
  await card.getByLabel("Field 1 name").fill("Cost centre");
  await card.getByRole("button", { name: "Save invoice details" }).click();
  await expect(card.getByText("Enter the value, or clear the name.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await card.getByLabel("Field 1 value").fill("42");
  await card.getByRole("button", { name: "Save invoice details" }).click();
  await expect(card.getByText("Saved: the next invoice prints these.")).toBeVisible();
  await openHydrated(page, "/billing");
  await expect(card.getByLabel("PO number (optional)")).toHaveValue("4500012345");
  await expect(card.getByLabel("Field 1 value")).toHaveValue("42");

  // The download: dates checked as typed, then the browser saves the ZIP.
  const exp = page.getByRole("region", { name: "Download invoices" });
  await exp.getByLabel("From").fill("2026-12-31");
  await exp.getByLabel("To").fill("2026-01-01");
  await exp.getByRole("button", { name: "Download ZIP" }).click();
  await expect(exp.getByText("The last date can't be before the first.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await exp.getByLabel("From").fill("2026-01-01");
  await exp.getByLabel("To").fill("2026-12-31");
  const [download] = await Promise.all([
    page.waitForEvent("download"),
    exp.getByRole("button", { name: "Download ZIP" }).click(),
  ]);
  expect(download.suggestedFilename()).toBe("tally-invoices-2026-01-01-to-2026-12-31.zip");
  const zip = fs.readFileSync(await download.path());
  expect(zip.subarray(0, 2).toString()).toBe("PK");
  expect(zip.includes("invoices.csv")).toBe(true);
});
