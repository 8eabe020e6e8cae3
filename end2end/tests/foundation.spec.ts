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
