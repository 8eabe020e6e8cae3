import { test, expect } from "@playwright/test";
import { accessibilityViolations, waitForHydration } from "../pages/base";
import { signInAsOwner } from "../pages/account";
import { signInAsOperator } from "../pages/console";

test("the Owner makes an API key, shown once, which the API takes until it is revoked", async ({ page }) => {
  await signInAsOwner(page); // a set-up installation, whichever spec runs first
  await page.context().clearCookies();
  await signInAsOperator(page);
  await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "API keys" }).click();
  await expect(page.getByRole("heading", { name: "API keys", level: 1 })).toBeVisible();
  await waitForHydration(page);
  const name = `CRM sync ${Date.now()}`;
  await page.getByRole("button", { name: "+ Create API key" }).click();
  const dialog = page.getByRole("dialog", { name: "Create an API key" });
  await expect(dialog).toBeVisible();
  // Nothing chosen: each message beside its field.
  await dialog.getByRole("button", { name: "Create key" }).click();
  await expect(dialog.locator("#name-error")).toHaveText('Name the key after the system that uses it, e.g. "CRM sync".');
  await expect(dialog.locator("#scopes-error")).toHaveText("Choose at least one scope.");
  expect(await accessibilityViolations(page)).toEqual([]);
  await dialog.getByLabel("Name").fill(name);
  await dialog.getByLabel("accounts:read").check();
  await dialog.getByLabel("users:write").check();
  await expect(dialog.locator("#scopes-error")).toHaveText("");
  await dialog.getByRole("button", { name: "Create key" }).click();
  await expect(dialog).toBeHidden();
  // The key, this once.
  const shown = page.getByRole("region", { name: `The key for “${name}”` });
  await expect(shown).toBeVisible();
  const key = (await shown.locator("#new-key").innerText()).trim();
  expect(key).toMatch(/^tly_[A-Za-z0-9]{32}$/);
  expect(await accessibilityViolations(page)).toEqual([]);
  // The API takes it, within its scopes.
  const auth = { Authorization: `Bearer ${key}` };
  const listed = await page.request.get("/v1/accounts?limit=5", { headers: auth });
  expect(listed.status()).toBe(200);
  expect((await listed.json()).data.length).toBeGreaterThan(0);
  const outOfScope = await page.request.get("/v1/accounts/x/users", { headers: auth });
  expect(outOfScope.status()).toBe(403);
  expect(outOfScope.headers()["content-type"]).toBe("application/problem+json");
  await shown.getByRole("button", { name: "I have copied it" }).click();
  await expect(shown).toBeHidden();
  // Listed by its first characters, never whole; its use noted.
  await page.reload();
  await waitForHydration(page);
  const row = page.getByRole("row").filter({ hasText: name });
  await expect(row.getByRole("cell").nth(0)).toHaveText(`${key.slice(0, 12)}…`);
  await expect(row).toContainText("accounts:read, users:write");
  await expect(row).not.toContainText("Never");
  await expect(page.locator("body")).not.toContainText(key);
  // Revoked: refused from then on.
  await row.getByRole("button", { name: `Revoke ${name}` }).click();
  const confirm = page.getByRole("dialog", { name: `Revoke “${name}”?` });
  await confirm.getByRole("button", { name: "Revoke" }).click();
  await expect(page.getByRole("status").filter({ hasText: "revoked" })).toHaveText(`“${name}” is revoked.`);
  await expect(row).toContainText("Revoked");
  const refused = await page.request.get("/v1/accounts", { headers: auth });
  expect(refused.status()).toBe(401);
  expect(await accessibilityViolations(page)).toEqual([]);
});
