import { expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { AuthenticatorApp } from "./authenticator";
import { openHydrated, waitForHydration } from "./base";

/** The seller set-up makes, and its first operator (an Owner). */
export const SELLER = {
  legalName: "Tally Seller Ltd",
  contactEmail: "billing@seller.test",
  first: "Olive",
  last: "Ng",
  email: "olive@seller.test",
  password: "olive's long console passphrase",
};

/** A server under test: its address ("" for the run's own) and data folder. */
export type Server = { url: string; dir: string };

export const mainServer = (): Server => ({ url: "", dir: process.env.TALLY_E2E_DATA_DIR ?? "" });

/** The code the server printed at its first start, from its data folder. */
export function setupCode(server: Server): string {
  return fs.readFileSync(path.join(server.dir, "setup-code"), "utf8").trim();
}

/** Fills `/setup`'s form (the default plan is left as it is). */
export async function fillSellerSetup(page: Page, code: string, o = { ...SELLER }) {
  await page.getByLabel("Set-up code").fill(code);
  await page.getByLabel("Legal name").fill(o.legalName);
  await page.getByLabel("Contact email for customers").fill(o.contactEmail);
  // A country without states: its fields are all drawn before the page is live too.
  await page.getByLabel("Country").selectOption("GB");
  await page.getByLabel("Street address").fill("10 Downing St");
  await page.getByLabel("City").fill("London");
  await page.getByLabel(/^Post(al )?code/).fill("SW1A 2AA");
  await page.getByLabel("Your first name").fill(o.first);
  await page.getByLabel("Your last name").fill(o.last);
  await page.getByLabel("Your email").fill(o.email);
  await page.getByLabel("Choose a password").fill(o.password);
}

/** The operator's authenticator app, kept in the server's data folder: a worker restarted
 * after a failed test forgets its variables. */
function appFile(server: Server, who = "operator") {
  return path.join(server.dir, `e2e-${who}-key`);
}

/** A code from the operator's app: each a newer step than the last given in this run. */
export async function operatorCode(server: Server = mainServer(), who = "operator"): Promise<string> {
  // The key as the page shows it (in groups, with spaces), then the last step, a line each.
  const [key, last] = fs.readFileSync(appFile(server, who), "utf8").trim().split("\n");
  const app = new AuthenticatorApp(key, Number(last ?? 0));
  const code = await app.code();
  fs.writeFileSync(appFile(server, who), `${key}\n${app.last}`);
  return code;
}

/** The Owner signs in to the console with their password and a code. */
export async function signInAsOperator(page: Page, server: Server = mainServer()) {
  await page.goto(`${server.url}/operator/login`);
  await waitForHydration(page);
  await page.getByLabel("Email").fill(SELLER.email);
  await page.getByLabel("Password").fill(SELLER.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Two-step verification" })).toBeVisible();
  await page.getByLabel("Code").fill(await operatorCode(server));
  await page.getByRole("button", { name: "Verify" }).click();
  await expect(page.getByRole("heading", { name: "Customer accounts" })).toBeVisible();
  await waitForHydration(page);
}

/** On `/operator/two-step`, the signed-in operator sets up an authenticator app; returns it. */
export async function enrolOperator(page: Page, server: Server = mainServer(), who = "operator"): Promise<AuthenticatorApp> {
  await expect(page).toHaveURL(/\/operator\/two-step$/);
  await waitForHydration(page);
  await page.getByRole("button", { name: "Set up an authenticator app" }).click();
  const key = (await page.locator("code.key").innerText()).trim();
  const app = new AuthenticatorApp(key);
  await page.getByLabel("6-digit code from the app").fill(await app.code());
  await page.getByRole("button", { name: "Turn on" }).click();
  const codes = page.getByRole("region", { name: "Your recovery codes" });
  await expect(codes.getByRole("listitem")).toHaveCount(10);
  await codes.getByRole("button", { name: "I've saved them" }).click();
  fs.writeFileSync(appFile(server, who), `${key}\n${app.last}`);
  return app;
}

/** An operator of `role` added beside the Owner (`<role>@seller.test`, the Owner's password),
 * as the operators page will: straight into the server's database. */
export function addOperator(role: "finance" | "support" | "read_only", server: Server = mainServer()): string {
  const email = `${role}@seller.test`;
  execFileSync("python3", ["-c", `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("INSERT INTO operators (id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) "
          "SELECT ?, ?, ?, 'E2e', ?, ?, 'active', password_hash, created_at, updated_at FROM operators WHERE role = 'owner' "
          "AND NOT EXISTS (SELECT 1 FROM operators WHERE email_key = ?) LIMIT 1", ("op-e2e-" + sys.argv[2], sys.argv[3], sys.argv[3], sys.argv[2], sys.argv[2], sys.argv[3]))
c.commit()
`, path.join(server.dir, "tally.db"), role, email]);
  return email;
}

/** An added operator signs in with the Owner's password, sets up their own app (kept apart
 * from the Owner's), and is on the console. */
export async function firstSignInAs(page: Page, email: string, server: Server = mainServer()) {
  await page.goto(`${server.url}/operator/login`);
  await waitForHydration(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(SELLER.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await enrolOperator(page, server, email.split("@")[0]);
}

/** The console's list of customer accounts. */
export async function openAccounts(page: Page, server: Server = mainServer()) {
  await openHydrated(page, `${server.url}/operator/accounts`);
  await expect(page.getByRole("heading", { name: "Customer accounts" })).toBeVisible();
}

/** "+ Create account" on the console's list: `company` and its first administrator (an
 * Administrator With Billing), who is invited by email. */
export async function createCustomerAccount(
  page: Page,
  company: string,
  admin: { first: string; last: string; email: string },
  server: Server = mainServer(),
  /** The plan's currency's code; the default plan's when left out. */
  currency?: string,
) {
  await openAccounts(page, server);
  await page.getByRole("button", { name: "+ Create account" }).click();
  const dialog = page.getByRole("dialog", { name: "Create a customer account" });
  if (currency) {
    await dialog.getByLabel("Currency").selectOption(currency);
    await expect(dialog.getByLabel(`Price per user per month (${currency})`)).toBeVisible();
  }
  await dialog.getByLabel("Company name").fill(company);
  await dialog.getByLabel("First name").fill(admin.first);
  await dialog.getByLabel("Last name").fill(admin.last);
  await dialog.getByLabel("Email").fill(admin.email);
  await dialog.getByRole("button", { name: "Create account", exact: true }).click();
  await expect(page.locator("p.notice")).toHaveText(`${company} is created; an invitation went to ${admin.email}.`);
}

/** The newest message in `server`'s outbox containing `needle`, waiting for the worker. */
export async function mailTo(server: Server, needle: string): Promise<string> {
  const dir = path.join(server.dir, "outbox");
  for (let i = 0; i < 200; i++) {
    const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith(".eml")).sort().reverse() : [];
    for (const f of files) {
      const text = fs.readFileSync(path.join(dir, f), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "=");
      if (text.includes(needle)) return text;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no mail containing ${needle} in ${dir}`);
}

/** The invited administrator opens their invitation and chooses `password`: signed in. */
export async function acceptInvitation(page: Page, email: string, password: string, server: Server = mainServer()) {
  const mail = await mailTo(server, `To: ${email}`);
  const link = mail.match(/\/invitation\/[A-Za-z0-9_-]+/);
  if (!link) throw new Error("no invitation link");
  await openHydrated(page, `${server.url}${link[0]}`);
  await page.getByLabel("New password").fill(password);
  await page.getByLabel("Type it again").fill(password);
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await waitForHydration(page);
}

/** A fresh installation made ready the way a real one is: the seller set up, its Owner's
 * second step, `company` created from the console, and its first administrator accepting the
 * invitation (left signed in as them, on the Overview). */
export async function firstAccount(
  page: Page,
  company: string,
  admin: { first: string; last: string; email: string; password: string },
  server: Server = mainServer(),
) {
  await openHydrated(page, `${server.url}/setup`);
  await fillSellerSetup(page, setupCode(server));
  await page.getByRole("button", { name: "Set up Tally" }).click();
  await enrolOperator(page, server);
  await createCustomerAccount(page, company, admin, server);
  await acceptInvitation(page, admin.email, admin.password, server);
}
