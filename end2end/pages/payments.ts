import { expect, type Page } from "@playwright/test";
import { SignedInFrame } from "./account";

/** Billing information as a spec types it: Acme's US address unless given another. */
export type BillingInformation = {
  company: string;
  contact: string;
  email: string;
  country: string;
  street: string;
  city: string;
  /** A state or province, for countries that have them. */
  region?: string;
  postalCode: string;
};

export const ACME_BILLING: BillingInformation = {
  company: "Acme Corp",
  contact: "Dana Park",
  email: "billing@acme.test",
  country: "US",
  street: "1 Main St",
  city: "Springfield",
  region: "IL",
  postalCode: "62701",
};

/** The Billing & Payments modal. */
export class PaymentsModal {
  constructor(readonly page: Page) {}

  get dialog() {
    return this.page.getByRole("dialog", { name: "Billing & Payments" });
  }

  /** Opens the modal from the email menu (*Payments*). */
  static async open(page: Page): Promise<PaymentsModal> {
    const frame = new SignedInFrame(page);
    await frame.openMenu();
    await frame.menu.getByRole("menuitem", { name: "Payments" }).click();
    const modal = new PaymentsModal(page);
    await expect(modal.dialog).toBeVisible();
    return modal;
  }

  tab(name: string) {
    return this.dialog.getByRole("tab", { name });
  }

  async fillBillingInformation(o: BillingInformation = ACME_BILLING) {
    const d = this.dialog;
    await d.getByLabel("Company name").fill(o.company);
    await d.getByLabel("Name", { exact: true }).fill(o.contact);
    await d.getByLabel("Email", { exact: true }).fill(o.email);
    await d.getByLabel("Country").selectOption(o.country);
    await d.getByLabel("Street address").fill(o.street);
    await d.getByLabel("City").fill(o.city);
    if (o.region) await d.getByLabel(/^(State|Province or territory)$/).selectOption(o.region);
    await d.getByLabel(/^(ZIP code|Postal code)$/).fill(o.postalCode);
  }

  async fillCard(number: string, expiry: string, cvc: string) {
    const d = this.dialog;
    await d.getByLabel("Card number").fill("");
    await d.getByLabel("Card number").pressSequentially(number);
    await d.getByLabel("Expiration date").fill("");
    await d.getByLabel("Expiration date").pressSequentially(expiry);
    await d.getByLabel(/Security code/).fill(cvc);
  }
}
