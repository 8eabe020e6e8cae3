import { expect, type Page } from "@playwright/test";
import * as fs from "node:fs";
import * as path from "node:path";
import { waitForHydration } from "./base";
import { firstAccount } from "./console";

/** The owner's password after a reset test has run. */
export const OWNER_RESET_PASSWORD = "a different long passphrase";

/** Where the run keeps the owner's current password: a worker restarts after a failed test
 * and forgets its variables, and each guess at the wrong password spends a sign-in attempt
 * of the address's allowance. */
function passwordFile(): string {
  return path.join(process.env.TALLY_E2E_DATA_DIR ?? ".", "e2e-owner-password");
}

export const OWNER = {
  company: "Acme Corp",
  first: "Ann",
  last: "Lee",
  email: "ann@acme.test",
  get password(): string {
    try {
      return fs.readFileSync(passwordFile(), "utf8");
    } catch {
      return "correct horse battery staple";
    }
  },
  set password(value: string) {
    fs.writeFileSync(passwordFile(), value);
  },
};

/** `/login`: the server's plain page, no wasm (nothing to wait for). */
export class LoginPage {
  constructor(readonly page: Page) {}

  async open() {
    await this.page.goto("/login");
    await expect(this.page.getByRole("heading", { name: "Sign in to Tally" })).toBeVisible();
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

  /** The email menu button at the top right. */
  get menuButton() {
    return this.page.getByRole("banner").getByRole("button", { name: /@/ });
  }

  get menu() {
    return this.page.getByRole("menu");
  }

  /** Waits for hydration first: the menu answers clicks only once the app has hydrated,
   * which it does when the browser is idle after the page has loaded. */
  async openMenu() {
    await waitForHydration(this.page);
    await this.menuButton.click();
    await expect(this.menu).toBeVisible();
  }

  /** The menu's item names, in order. */
  async menuItems(): Promise<string[]> {
    await this.openMenu();
    const names = await this.menu.getByRole("menuitem").allInnerTexts();
    await this.page.keyboard.press("Escape");
    return names.map((n) => n.trim());
  }

  /** The main navigation's link names, in order. */
  async navLinks(): Promise<string[]> {
    const names = await this.page.getByRole("navigation", { name: "Main" }).getByRole("link").allInnerTexts();
    return names.map((n) => n.trim());
  }

  async signOut() {
    await this.openMenu();
    await this.menu.getByRole("menuitem", { name: "Sign out" }).click();
    await expect(this.page).toHaveURL(/\/login$/);
    await expect(this.page.getByRole("heading", { name: "Sign in to Tally" })).toBeVisible();
  }
}

/** Signs the first account's owner in, whichever of its two passwords the run has reached;
 * returns the password that worked. */
export async function signInAsOwner(page: Page): Promise<string> {
  // Run alone, a spec finds a fresh server: set it up first.
  await page.goto("/");
  if (page.url().endsWith("/setup")) {
    await firstAccount(page, OWNER.company, OWNER);
    return OWNER.password;
  }
  const login = new LoginPage(page);
  for (const password of [OWNER.password, OWNER_RESET_PASSWORD]) {
    // A fresh page each time, so the last attempt's message does not answer for this one.
    await login.open();
    await login.signIn(OWNER.email, password);
    const outcome = await Promise.race([
      page.getByRole("heading", { name: "Overview" }).waitFor().then(() => "in"),
      page.getByText("Email or password is incorrect.").waitFor().then(() => "wrong"),
    ]);
    if (outcome === "in") {
      await waitForHydration(page);
      OWNER.password = password;
      return password;
    }
  }
  throw new Error("the owner could not sign in");
}

/** The newest message in the server's outbox whose text contains `needle`. */
/** The newest message containing `needle`, waiting for the outbox worker to write it. */
export async function waitForMail(needle: string): Promise<string> {
  for (let i = 0; ; i++) {
    try {
      return newestMail(needle);
    } catch (e) {
      if (i >= 100) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

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
