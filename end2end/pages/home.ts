import { type Locator, type Page } from "@playwright/test";
import { openHydrated } from "./base";

/** The public status page at `/status`. */
export class HomePage {
  readonly heading: Locator;
  readonly status: Locator;

  constructor(readonly page: Page) {
    this.heading = page.getByRole("heading", { level: 1, name: "Tally" });
    this.status = page.getByRole("region", { name: "Server status" });
  }

  async open(): Promise<void> {
    await openHydrated(this.page, "/status");
  }
}
