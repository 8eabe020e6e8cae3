import { expect, type Page } from "@playwright/test";

/** The Billing & Payments modal. */
export class PaymentsModal {
  constructor(readonly page: Page) {}

  get dialog() {
    return this.page.getByRole("dialog", { name: "Billing & Payments" });
  }

  tab(name: string) {
    return this.dialog.getByRole("tab", { name });
  }

  async fillBillingInformation() {
    const d = this.dialog;
    await d.getByLabel("Company name").fill("Acme Corp");
    await d.getByLabel("Name", { exact: true }).fill("Dana Park");
    await d.getByLabel("Email", { exact: true }).fill("billing@acme.test");
    await d.getByLabel("Country").selectOption("US");
    await d.getByLabel("Street address").fill("1 Main St");
    await d.getByLabel("City").fill("Springfield");
    await d.getByLabel("State").selectOption("IL");
    await d.getByLabel("ZIP code").fill("62701");
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
