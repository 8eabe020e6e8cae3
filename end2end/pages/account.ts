import { expect, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { openHydrated } from "./base";

export const OWNER = {
  company: "Acme Corp",
  first: "Ann",
  last: "Lee",
  email: "ann@acme.test",
  password: "correct horse battery staple",
};

/** `/setup`: the first account. */
export class SetupPage {
  constructor(readonly page: Page) {}

  async open() {
    await openHydrated(this.page, "/setup");
  }

  async createAccount(o = OWNER) {
    const p = this.page;
    await p.getByLabel("Company name").fill(o.company);
    await p.getByLabel("Your first name").fill(o.first);
    await p.getByLabel("Your last name").fill(o.last);
    await p.getByLabel("Your email").fill(o.email);
    await p.getByLabel("Choose a password").fill(o.password);
    await p.getByRole("button", { name: "Create account" }).click();
  }
}

/** `/login`. */
export class LoginPage {
  constructor(readonly page: Page) {}

  async open() {
    await openHydrated(this.page, "/login");
  }

  async signIn(email: string, password: string) {
    await this.page.getByLabel("Email").fill(email);
    await this.page.getByLabel("Password").fill(password);
    await this.page.getByRole("button", { name: "Sign in" }).click();
  }
}

/** The frame around signed-in pages. */
export class SignedInFrame {
  constructor(readonly page: Page) {}

  async expectSignedInAs(email: string) {
    await expect(this.page.getByRole("banner").getByText(email)).toBeVisible();
  }

  async signOut() {
    await this.page.getByRole("button", { name: "Sign out" }).click();
  }
}

/** The newest message in the server's outbox whose text contains `needle`. */
export function newestMail(needle: string): string {
  const dir = path.join(process.env.TALLY_E2E_DATA_DIR ?? "", "outbox");
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".eml")).sort() : [];
  for (const f of files.reverse()) {
    const text = fs
      .readFileSync(path.join(dir, f), "utf8")
      .replace(/=\r?\n/g, "")
      .replace(/=3D/g, "=");
    if (text.includes(needle)) return text;
  }
  throw new Error(`no mail containing ${needle} in ${dir}`);
}

export function linkIn(mail: string, prefix: string): string {
  const m = mail.match(new RegExp(`${prefix.replace(/[/.]/g, "\\$&")}[A-Za-z0-9_-]+`));
  if (!m) throw new Error(`no link ${prefix} in mail`);
  return m[0];
}
