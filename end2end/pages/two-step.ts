import { expect, type Page } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import { SignedInFrame, linkIn, newestMail, signInAsOwner } from "./account";
import { AdministratorsPage } from "./administrators";
import { openHydrated, waitForHydration } from "./base";
import { AuthenticatorApp } from "./authenticator";

export { AuthenticatorApp, totpAt } from "./authenticator";

/** The signed-in administrator turns on an authenticator app from Account settings; returns
 * the app and the first of the recovery codes shown (a second code from the app needs the next
 * 30-second step, a recovery code does not). */
export async function setUpAuthenticator(page: Page): Promise<{ app: AuthenticatorApp; recovery: string }> {
  await openHydrated(page, "/account");
  const section = page.getByRole("region", { name: "Two-step verification" });
  await section.getByRole("button", { name: "Set up an authenticator app" }).click();
  const app = new AuthenticatorApp((await section.locator("code.key").innerText()).trim());
  await section.getByLabel("6-digit code from the app").fill(await app.code());
  await section.getByRole("button", { name: "Turn on" }).click();
  const codes = section.getByRole("region", { name: "Your recovery codes" });
  const recovery = (await codes.getByRole("listitem").first().innerText()).trim();
  await codes.getByRole("button", { name: "I've saved them" }).click();
  await expect(codes).toBeHidden();
  return { app, recovery };
}

/** The owner invites an administrator, who accepts and is left signed in. */
export async function invite(page: Page, o: { first: string; last: string; email: string; role: string; password: string }) {
  await signInAsOwner(page);
  const admins = new AdministratorsPage(page);
  await admins.open();
  await admins.create(o.first, o.last, o.email, o.role);
  await new SignedInFrame(page).signOut();
  await openHydrated(page, linkIn(newestMail(`To: ${o.email}`), "/invitation/"));
  await page.getByLabel("New password").fill(o.password);
  await page.getByLabel("Type it again").fill(o.password);
  await page.getByRole("button", { name: "Save password and sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await waitForHydration(page);
}

/** Makes every session's last proof of identity `minutes` older, as if that much time had
 * passed since (the server's clock is the real one here). */
export function ageProofs(minutes: number) {
  const db = path.join(process.env.TALLY_E2E_DATA_DIR ?? "", "tally.db");
  execFileSync("python3", ["-c", `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE sessions SET verified_at = verified_at - ?", (int(sys.argv[2]),))
c.commit()
`, db, String(minutes * 60_000)]);
}
