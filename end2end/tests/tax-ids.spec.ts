import { test, expect, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { acceptInvitation, createCustomerAccount, mainServer, openAccounts, signInAsOperator } from "../pages/console";
import { PaymentsModal } from "../pages/payments";

/** The invoice email to `address` in the run's outbox, waiting for the mail worker (the
 * account's other notices go to the same address). */
async function invoiceMailTo(address: string): Promise<string> {
  const dir = path.join(mainServer().dir, "outbox");
  for (let i = 0; i < 200; i++) {
    for (const f of fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".eml")) : []) {
      const text = fs.readFileSync(path.join(dir, f), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
      if (text.includes(`To: ${address}`) && text.includes("Subject: Your Tally invoice")) return text;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no invoice email to ${address}`);
}

/** The Owner's VAT registrations and the seller's VAT number on the console's Settings page
 * (blank: none). */
async function saveVat(page: Page, registrations: string, taxId: string) {
  await openHydrated(page, "/operator/settings");
  await page.getByLabel("Tax ID (optional)").fill(taxId);
  const field = page.getByLabel("Countries where you charge VAT, with the rate");
  await field.fill(registrations);
  await page.getByRole("button", { name: "Save settings" }).click();
  await expect(page.getByRole("status").filter({ hasText: "saved" })).toHaveText("The settings are saved.");
}

// Tax IDs are checked in the browser by core's rules, per country, with the network off; the
// server stores the normal form and shows the official one when the form opens again. The
// seller charges VAT: the German business, billed in euros, has its estimate and invoice in
// euros and reverse charged.
test("a billing administrator's German VAT number: a missing digit and a typo explained offline, then saved; its invoice is in euros and reverse charged", async ({ page: operator, browser }) => {
  test.setTimeout(60_000); // two browsers
  const tag = Date.now().toString(36);
  const admin = { first: "Eva", last: "Muster", email: `eva.${tag}@muster.test`, password: "a long muster passphrase" };
  const company = `Muster ${tag} GmbH`;
  await signInAsOperator(operator);
  // The seller (in the UK) charges VAT: a wrong entry is explained beside the field first.
  await openHydrated(operator, "/operator/settings");
  const vat = operator.getByLabel("Countries where you charge VAT, with the rate");
  await vat.fill("GB 20 %, Atlantis 5");
  await vat.blur();
  await expect(operator.locator("#tax_registrations-error")).toHaveText("\u201cAtlantis\u201d is not a country: use its two-letter code or its name, such as DE 19 %.");
  expect(await accessibilityViolations(operator)).toEqual([]);
  await saveVat(operator, "GB 20 %", "GB 980 7806 84");
  await createCustomerAccount(operator, company, admin, mainServer(), "EUR");
  const context = await browser.newContext();
  const page = await context.newPage();
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

  // A business in another member state with a VAT number that checks out: reverse charge.
  await openHydrated(page, "/billing");
  await expect(page.locator("#projected-charge")).toContainText("VAT 0 % (reverse charge) \u20ac0.00");
  await expect(page.locator("#tax-note")).toHaveText("Reverse charge: the customer accounts for the VAT (Article 196, Directive 2006/112/EC).");
  expect(await accessibilityViolations(page)).toEqual([]);

  // Closing the account makes its last invoice now: the same treatment, printed and emailed.
  await openAccounts(operator);
  await operator.getByLabel("Search by company, an administrator's email or an invoice number").fill(company);
  await operator.getByRole("search").getByRole("button", { name: "Search" }).click();
  await operator.getByRole("link", { name: company }).click();
  await expect(operator.getByRole("heading", { name: company, level: 1 })).toBeVisible();
  await waitForHydration(operator);
  await operator.getByLabel("Reason (shown to the account's administrators)").fill("Moved to another provider");
  await operator.getByRole("button", { name: "Close account…" }).click();
  await operator.getByRole("button", { name: "Close account for good" }).click();
  await expect(operator.locator("#account-status")).toHaveText("Closed");
  await saveVat(operator, "", ""); // back as the other specs expect it: no VAT anywhere

  await openHydrated(page, "/billing");
  await page.getByRole("link", { name: /INV-\d{4}-\d{6}/ }).first().click();
  await expect(page.getByRole("heading", { name: /Invoice INV-/, level: 1 })).toBeVisible();
  await expect(page.getByRole("row", { name: /VAT 0 % \(reverse charge\)/ })).toContainText("\u20ac0.00");
  await expect(page.getByText("Article 196, Directive 2006/112/EC")).toBeVisible();
  await expect(page.getByText("Tax ID: DE136695976")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download PDF" }).click()]);
  const pdf = fs.readFileSync((await download.path())!);
  expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
  expect(pdf.includes("factur-x.xml")).toBe(true); // Factur-X: the CII inside
  const [xml] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download e-invoice (XML)" }).click()]);
  const ubl = fs.readFileSync((await xml.path())!).toString();
  expect(ubl).toContain("<cbc:ID>AE</cbc:ID>");
  expect(ubl).toContain("<cbc:CompanyID>DE136695976</cbc:CompanyID>");
  expect(ubl).toContain("<cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>");
  const mail = await invoiceMailTo(`rechnung.${tag}@muster.test`);
  expect(mail).toContain("VAT 0 % (reverse charge)");
  expect(mail).toContain("Article 196");
  expect(mail).toContain("Total: =E2=82=AC"); // "€", quoted-printable
  // Both attached (a long file name's parameter is folded: filename*0="…").
  expect(mail).toMatch(/filename(\*0)?="tally-invoice-INV-\d{4}-\d{6}\.pdf"/);
  expect(mail).toMatch(/filename(\*0)?="tally-invoice-INV-\d{4}-\d{6}\.xml"/);
  await context.close();
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
