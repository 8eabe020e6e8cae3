import { test, expect } from "@playwright/test";
import { accessibilityViolations, openHydrated } from "../pages/base";
import { HomePage } from "../pages/home";

test("the status page renders, hydrates and shows the server's status", async ({ page }) => {
  const errors: string[] = [];
  page.on("pageerror", (e) => errors.push(e.message));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });

  const home = new HomePage(page);
  await home.open();
  await expect(home.heading).toBeVisible();
  await expect(home.status.getByText("SQLite")).toBeVisible();
  await expect(page).toHaveTitle("Welcome · Tally");
  expect(errors, "no errors in the browser console").toEqual([]);
  expect(await accessibilityViolations(page)).toEqual([]);
});

test("an unknown address shows the not-found page, accessible, with a way back", async ({ page }) => {
  const response = await page.goto("/no/such/page");
  expect(response?.status()).toBe(404);
  await expect(page.getByRole("heading", { level: 1, name: "Page not found" })).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await openHydrated(page, "/no/such/page");
  await page.getByRole("link", { name: "Go to the start page" }).click();
  await expect(page).toHaveURL(/\/(setup|login)?$/);
});

test("the script, wasm and stylesheet have hashed names the browser may keep for a year", async ({ page }) => {
  const assets: { url: string; cacheControl: string | undefined; status: number }[] = [];
  page.on("response", (r) => {
    if (new URL(r.url()).pathname.startsWith("/pkg/")) {
      assets.push({ url: r.url(), cacheControl: r.headers()["cache-control"], status: r.status() });
    }
  });
  const home = new HomePage(page);
  await home.open();
  await expect(home.status.getByText("SQLite")).toBeVisible();
  const kinds = [...new Set(assets.map((a) => new URL(a.url).pathname.split(".").pop()))].sort();
  expect(kinds).toEqual(["css", "js", "wasm"]);
  for (const a of assets) {
    expect(a.status, a.url).toBe(200);
    expect(new URL(a.url).pathname, "a content hash in the name").toMatch(
      // The app's own files, and with split wasm its loader and the chunks a page needs.
      /^\/pkg\/(tally|__wasm_split|chunk_\d+|split_\w+)\.[A-Za-z0-9_-]{16,}\.(js|wasm|css)$/,
    );
    expect(a.cacheControl, a.url).toBe("public, max-age=31536000, immutable");
  }
  // The page itself is never cached: it names the current assets.
  const res = await page.request.get("/status");
  expect(res.headers()["cache-control"]).toBe("no-store");
});
