import { test, expect } from "@playwright/test";
import { accessibilityViolations } from "../pages/base";
import { LoginPage, OWNER, OWNER_RESET_PASSWORD, linkIn, waitForMail } from "../pages/account";

// The visitor's pages are the server's plain HTML: they load no wasm and no script of the
// app, and they work with JavaScript turned off.
test.describe.configure({ mode: "serial" });

test("the sign-in page and its subresources carry no wasm and no app script", async ({ page }) => {
  const fetched: string[] = [];
  page.on("request", (r) => fetched.push(new URL(r.url()).pathname));
  const res = await page.goto("/login");
  const html = await res!.text();
  expect(html).not.toMatch(/<script|\.wasm/);
  await expect(page.getByRole("heading", { name: "Sign in to Tally" })).toBeVisible();
  expect(fetched.filter((p) => p.endsWith(".wasm") || p.endsWith(".js"))).toEqual([]);
  expect(fetched.filter((p) => p.startsWith("/pkg/") && !p.endsWith(".css"))).toEqual([]);
  expect(await accessibilityViolations(page)).toEqual([]);
  // The page with a message next to a field: the same plain HTML, checked the same way.
  await page.getByLabel("Email").fill("nobody@nowhere.test");
  await page.getByLabel("Password").fill("not the right password");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.locator("#password-error")).toHaveText("Email or password is incorrect.");
  expect(await accessibilityViolations(page)).toEqual([]);
  for (const path of ["/forgot-password", "/reset-password/not-a-link"]) {
    const other = await page.goto(path);
    expect(await other!.text()).not.toMatch(/<script|\.wasm/);
    expect(await accessibilityViolations(page)).toEqual([]);
  }
});

test.describe("with JavaScript turned off", () => {
  test.use({ javaScriptEnabled: false });

  test("sign in: a wrong password's message next to the field, then in", async ({ page }) => {
    const login = new LoginPage(page);
    await login.open();
    await login.signIn(OWNER.email, "not the right password");
    await expect(page.locator("#password-error")).toHaveText("Email or password is incorrect.");
    await expect(page.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
    await expect(page.getByLabel("Email")).toHaveValue(OWNER.email);
    await expect(page.getByLabel("Password")).toHaveValue("");
    for (const password of [OWNER.password, OWNER_RESET_PASSWORD]) {
      await login.signIn(OWNER.email, password);
      if (await page.getByRole("heading", { name: "Overview" }).isVisible()) break;
    }
    await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  });

  test("forgot password, then a reset link from the outbox sets a new password", async ({ page }) => {
    await page.goto("/forgot-password");
    await page.getByLabel("Email").fill(OWNER.email);
    await page.getByRole("button", { name: "Send the link" }).click();
    await expect(page.getByRole("status")).toContainText("we've sent them a link");
    const mail = await waitForMail("reset-password/");
    const link = linkIn(mail, "/reset-password/");
    await page.goto(link);
    await expect(page.getByText(OWNER.email)).toBeVisible();
    // Too short: the browser's own check stops it; the server's message for a weak one.
    await expect(page.getByLabel("New password")).toHaveAttribute("minlength", "12");
    await page.getByLabel("New password").fill("password1234");
    await page.getByLabel("Type it again").fill("password1234");
    await page.getByRole("button", { name: "Save password and sign in" }).click();
    await expect(page.locator("#password-error")).not.toBeEmpty();
    await expect(page.getByLabel("New password")).toHaveValue("");
    await page.getByLabel("New password").fill(OWNER_RESET_PASSWORD);
    await page.getByLabel("Type it again").fill(OWNER_RESET_PASSWORD);
    await page.getByRole("button", { name: "Save password and sign in" }).click();
    await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
    OWNER.password = OWNER_RESET_PASSWORD;
  });
});
