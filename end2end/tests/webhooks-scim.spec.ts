import { test, expect } from "@playwright/test";
import * as http from "node:http";
import { createHmac } from "node:crypto";
import type { AddressInfo } from "node:net";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { signInAsOwner } from "../pages/account";
import { createCustomerAccount, signInAsOperator } from "../pages/console";

type Delivery = { headers: http.IncomingHttpHeaders; body: string };

/** A receiver on loopback that records every POST and answers 200. */
async function receiver(): Promise<{ url: string; got: Delivery[]; close: () => void }> {
  const got: Delivery[] = [];
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      got.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/hook`, got, close: () => server.close() };
}

/** Whether `d` carries the Standard Webhooks signature of its body under `secret`. */
function signedWith(d: Delivery, secret: string): boolean {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  const content = `${d.headers["webhook-id"]}.${d.headers["webhook-timestamp"]}.${d.body}`;
  const expected = createHmac("sha256", key).update(content).digest("base64");
  return String(d.headers["webhook-signature"]).split(" ").includes(`v1,${expected}`);
}

test("the Owner adds a webhook endpoint, which receives a signed event, listed and sent again", async ({ page }) => {
  const hook = await receiver();
  try {
    await signInAsOwner(page); // a set-up installation, whichever spec runs first
    await page.context().clearCookies();
    await signInAsOperator(page);
    await page.getByRole("navigation", { name: "Console" }).getByRole("link", { name: "Webhooks" }).click();
    await expect(page.getByRole("heading", { name: "Webhooks", level: 1 })).toBeVisible();
    await waitForHydration(page);
    await page.getByRole("button", { name: "+ Add endpoint" }).click();
    const dialog = page.getByRole("dialog", { name: "Add a webhook endpoint" });
    // Nothing given: each message beside its field.
    await dialog.getByRole("button", { name: "Add endpoint" }).click();
    await expect(dialog.locator("#url-error")).toHaveText(
      "Enter the address your system receives events at, e.g. https://example.com/tally/events.",
    );
    await expect(dialog.locator("#events-error")).toHaveText("Choose at least one event.");
    expect(await accessibilityViolations(page)).toEqual([]);
    await dialog.getByLabel("Endpoint address").fill(hook.url);
    await dialog.getByLabel("account.created").check();
    await dialog.getByRole("button", { name: "Add endpoint" }).click();
    await expect(dialog).toBeHidden();
    // The secret, this once.
    const shown = page.getByRole("region", { name: `The signing secret for ${hook.url}` });
    const secret = (await shown.locator("#new-secret").innerText()).trim();
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(await accessibilityViolations(page)).toEqual([]);
    await shown.getByRole("button", { name: "I have copied it" }).click();

    // A customer account made in the console is told to the endpoint, signed.
    const company = `Hooked ${Date.now().toString(36)}`;
    await createCustomerAccount(page, company, { first: "Hal", last: "Hook", email: `hal.${Date.now().toString(36)}@hooked.test` });
    await expect.poll(() => hook.got.length, { timeout: 15_000 }).toBe(1);
    const first = hook.got[0];
    expect(signedWith(first, secret)).toBe(true);
    const event = JSON.parse(first.body);
    expect(event.type).toBe("account.created");
    expect(event.data.name).toBe(company);

    // Listed with its answer, and sent again with the same webhook-id.
    await openHydrated(page, "/operator/webhooks");
    await page.getByRole("button", { name: `Deliveries to ${hook.url}` }).click();
    const deliveries = page.getByRole("dialog", { name: `Deliveries to ${hook.url}` });
    const row = deliveries.getByRole("row").filter({ hasText: "account.created" });
    await expect(row).toContainText("Delivered");
    await expect(row.getByRole("cell").nth(3)).toHaveText("200");
    expect(await accessibilityViolations(page)).toEqual([]);
    await row.getByRole("button", { name: `Redeliver account.created ${first.headers["webhook-id"]}` }).click();
    await expect(page.getByRole("status").filter({ hasText: "again" })).toHaveText("Sent again.");
    await expect.poll(() => hook.got.length, { timeout: 15_000 }).toBe(2);
    expect(hook.got[1].headers["webhook-id"]).toBe(first.headers["webhook-id"]);
    expect(signedWith(hook.got[1], secret)).toBe(true);

    // Removed: nothing more is sent to it.
    await page.getByRole("button", { name: `Remove ${hook.url}` }).click();
    await page.getByRole("dialog", { name: `Remove ${hook.url}?` }).getByRole("button", { name: "Remove" }).click();
    await expect(page.getByRole("status").filter({ hasText: "removed" })).toHaveText(`${hook.url} is removed.`);
  } finally {
    hook.close();
  }
});

test("an administrator connects an identity provider, which provisions and deactivates a user", async ({ page }) => {
  await signInAsOwner(page);
  await openHydrated(page, "/users");
  const section = page.getByRole("region", { name: "Identity provider (SCIM)" });
  await section.getByRole("button", { name: "Create SCIM token" }).click();
  const token = (await section.locator("#new-scim-token").innerText()).trim();
  expect(token).toMatch(/^scim_[A-Za-z0-9]{40}$/);
  const base = (await section.locator("#scim-base-url").innerText()).trim();
  expect(base).toMatch(/\/scim\/v2$/);
  expect(await accessibilityViolations(page)).toEqual([]);
  await section.getByRole("button", { name: "I have copied it" }).click();

  // The provider adds a user, who is on the Users page; then deactivates them.
  const auth = { Authorization: `Bearer ${token}`, "Content-Type": "application/scim+json" };
  const email = `ida.${Date.now().toString(36)}@provisioned.test`;
  const created = await page.request.post(`${base}/Users`, {
    headers: auth,
    data: JSON.stringify({
      schemas: ["urn:ietf:params:scim:schemas:core:2.0:User"],
      userName: email,
      name: { givenName: "Ida", familyName: "Provisioned" },
      emails: [{ value: email, primary: true }],
      active: true,
    }),
  });
  expect(created.status(), await created.text()).toBe(201);
  const id = (await created.json()).id;
  await openHydrated(page, "/users");
  await page.getByLabel("Search by name or email").fill(email);
  await page.getByLabel("Search by name or email").press("Enter");
  const row = page.getByRole("row").filter({ hasText: email });
  await expect(row).toContainText("Active");
  const patched = await page.request.patch(`${base}/Users/${id}`, {
    headers: auth,
    data: JSON.stringify({
      schemas: ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
      Operations: [{ op: "replace", path: "active", value: false }],
    }),
  });
  expect(patched.status()).toBe(200);
  await page.reload();
  await waitForHydration(page);
  await page.getByLabel("Search by name or email").fill(email);
  await page.getByLabel("Search by name or email").press("Enter");
  await expect(page.getByRole("row").filter({ hasText: email })).toContainText("Deactivated by the identity provider");

  // Revoked: the provider is refused from then on.
  const tokens = page.getByRole("region", { name: "Identity provider (SCIM)" });
  await tokens.getByRole("button", { name: `Revoke ${token.slice(0, 13)}…` }).click();
  await page.getByRole("dialog", { name: `Revoke ${token.slice(0, 13)}…?` }).getByRole("button", { name: "Revoke" }).click();
  await expect(tokens.getByRole("row").filter({ hasText: token.slice(0, 13) })).toContainText("Revoked");
  const refused = await page.request.get(`${base}/Users`, { headers: auth });
  expect(refused.status()).toBe(401);
  expect(await accessibilityViolations(page)).toEqual([]);
});
