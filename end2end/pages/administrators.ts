import { expect, type Page } from "@playwright/test";
import { openHydrated } from "./base";

/** `/administrators`: the table, its row buttons and its dialogs. */
export class AdministratorsPage {
  constructor(readonly page: Page) {}

  async open() {
    await openHydrated(this.page, "/administrators");
    await expect(this.page.getByRole("heading", { level: 1, name: "Administrators" })).toBeVisible();
  }

  row(name: string) {
    return this.page.getByRole("row", { name: new RegExp(name) });
  }

  /** Opens a row's Actions menu and picks the item named `item` ("Suspend Cy Diaz"). */
  async act(name: string, item: string) {
    await this.row(name).getByRole("button", { name: `Actions for ${name}` }).click();
    await this.page.getByRole("menu").getByRole("menuitem", { name: item }).click();
  }

  get dialog() {
    return this.page.getByRole("dialog");
  }

  get notice() {
    return this.page.getByRole("status").filter({ hasText: /./ });
  }

  async openCreate() {
    await this.page.getByRole("button", { name: "+ Create Admin" }).click();
    await expect(this.dialog).toBeVisible();
  }

  async create(first: string, last: string, email: string, role: string) {
    await this.openCreate();
    const d = this.dialog;
    await d.getByLabel("First name").fill(first);
    await d.getByLabel("Last name").fill(last);
    await d.getByLabel("Email").fill(email);
    await d.getByRole("radio", { name: role, exact: true }).check();
    await d.getByRole("button", { name: "Send invitation" }).click();
    await expect(this.dialog).toBeHidden();
    await expect(this.notice).toHaveText(`Invitation sent to ${email}.`);
  }
}
