import { test, expect, type Page } from "@playwright/test";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { accessibilityViolations, waitForHydration } from "../pages/base";

// A server of its own, started with --demo (an administrator of every role, users, a card and
// an invoice history), with more of everything added so every list has a second page.
test.describe.configure({ mode: "serial" });

const root = path.resolve(__dirname, "../..");
const port = Number(process.env.TALLY_E2E_DEMO_PORT ?? 3101);
const base = `http://localhost:${port}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-e2e-demo-"));
const OWNER = "admin-billing@demo.tally.test";
let server: ChildProcess;
let password = "";

test.beforeAll(async () => {
  server = spawn(path.join(root, "target", process.env.TALLY_E2E_PROFILE ?? "release", "tally"), ["--demo"], {
    env: {
      ...process.env,
      TALLY_ADDR: `127.0.0.1:${port}`,
      TALLY_DATA_DIR: dir,
      TALLY_PUBLIC_URL: base,
      LEPTOS_SITE_ROOT: path.join(root, "target/site"),
      TALLY_SIGN_IN_PER_IP_MINUTE: "1000",
      RUST_LOG: "warn",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  password = await new Promise<string>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`no demo password in: ${out}`)), 30_000);
    server.stdout!.on("data", (chunk) => {
      out += chunk.toString();
      const m = out.match(/Password for all of them: (.+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1].trim());
      }
    });
  });
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) break;
    } catch {
      if (i > 100) throw new Error("the demo server did not start");
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // A second page of users (with their count changes), administrators, invoices, runs and
  // audit events.
  execFileSync("python3", ["-c", `
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1])
c.execute("PRAGMA busy_timeout = 5000")
acct = c.execute("SELECT id FROM accounts WHERE name = 'Demo Company'").fetchone()[0]
now = int(time.time() * 1000)
for i in range(60):
    e = f"pager.user{i:02}@demo.tally.test"
    c.execute("INSERT INTO users (id, account_id, first_name, last_name, email, email_key, status, created_at, updated_at) VALUES (?, ?, 'Page', ?, ?, ?, 'active', ?, ?)", (f"pu{i}", acct, f"User{i:02}", e, e, now, now))
    c.execute("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES (?, ?, ?, 1)", (f"puc{i}", acct, now))
for i in range(55):
    e = f"pager.admin{i:02}@demo.tally.test"
    c.execute("INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, created_at, updated_at) VALUES (?, ?, ?, ?, 'Page', ?, 'read_only', 'suspended', ?, ?)", (f"pa{i}", acct, e, e, f"Admin{i:02}", now, now))
for i in range(14):
    y, m = divmod(2000 * 12 + i, 12)
    c.execute("INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, company_name, created_at) VALUES (?, ?, ?, ?, 5, 10, 500, 0, 'zero', 'Demo Company', ?)", (f"pi{i}", acct, f"OLD-{i}", f"{y:04}-{m + 1:02}", now))
c.execute("INSERT INTO commands (id, account_id, name, shell, script, created_at, updated_at) VALUES ('pcmd', ?, 'Pager check', 'bash', 'true', ?, ?)", (acct, now, now))
for i in range(25):
    c.execute("INSERT INTO command_runs (id, command_id, account_id, admin_email, status, created_at) VALUES (?, 'pcmd', ?, ?, 'succeeded', ?)", (f"pr{i}", acct, f"runner{i:02}@demo.tally.test", now - i * 1000))
for i in range(60):
    c.execute("INSERT INTO audit_events (id, account_id, at, kind, actor_email, detail, created_at) VALUES (?, ?, ?, 'user_created', ?, '', ?)", (f"pe{i}", acct, now - 5000 - i, "${OWNER}", now))
c.commit()
`, path.join(dir, "tally.db")]);
});

test.afterAll(async () => {
  server?.kill("SIGTERM");
});

async function signIn(page: Page) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(OWNER);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await waitForHydration(page);
}

async function open(page: Page, p: string) {
  await page.goto(`${base}${p}`);
  await waitForHydration(page);
}

/** The text of the definition after `term` on the Billing page's "This month" card. */
async function fact(page: Page, term: string) {
  return (await page.locator("dl.facts dt", { hasText: term }).locator("xpath=following-sibling::dd[1]").first().innerText()).trim();
}

test("the Overview's figures are the Billing page's, for the demo account", async ({ page }) => {
  await signIn(page);
  // The System section, for an Administrator With Billing: the database and its backups.
  const system = page.getByRole("region", { name: "System" });
  await expect(system).toContainText("Database: SQLite.");
  await expect(system).toContainText("keeps the last 14");
  const users = (await page.locator("#glance-users-now").innerText()).trim();
  const peak = (await page.locator("#glance-peak").innerText()).trim();
  const projected = (await page.locator("#glance-projected").innerText()).trim();
  const next = (await page.locator("#glance-next-charge").innerText()).trim();
  const card = (await page.locator("#glance-card").innerText()).trim();
  await expect(page.getByRole("region", { name: "Pending invitations" })).toBeVisible();
  const activity = page.getByRole("region", { name: "Latest activity" }).getByRole("listitem");
  await expect(activity).toHaveCount(5);
  // Each says who did it: a person, or for the demo's invoices and charges the billing run.
  for (const item of await activity.allInnerTexts()) expect(item.trim()).not.toMatch(/·$/);
  expect(await accessibilityViolations(page)).toEqual([]);
  // Each part links to its page.
  for (const [link, href] of [["Manage users", "/users"], ["See billing and invoices", "/billing"], ["Manage administrators", "/administrators"], ["Open the audit log", "/audit"]]) {
    await expect(page.getByRole("link", { name: link })).toHaveAttribute("href", href);
  }

  await page.getByRole("link", { name: "See billing and invoices" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Billing" })).toBeVisible();
  await waitForHydration(page);
  expect(await fact(page, "Users now")).toBe(users);
  const peakSoFar = await fact(page, "Peak so far");
  const billed = Number(peakSoFar) - 10;
  expect(peak).toBe(billed > 0 ? `This month's peak: ${peakSoFar} users: 10 free, ${billed} billed.` : `This month's peak: ${peakSoFar} users, within the 10 free.`);
  expect(await fact(page, "Projected charge")).toContain(projected);
  expect(await fact(page, "Next charge")).toBe(next);
  await expect(page.getByRole("region", { name: "Payment method" })).toContainText(card);
  await expect(page.locator("#month-chart svg")).toBeVisible();
  await expect(page.locator("#year-chart svg")).toBeVisible();
  await expect(page.getByRole("table", { name: /Peak users and charge of each invoiced month/ })).toBeAttached();
  expect(await accessibilityViolations(page)).toEqual([]);
});

/** Moves `pager` forward then back, checking the page it says and that rows change. */
async function forwardAndBack(page: Page, pager: ReturnType<Page["getByRole"]>, forward: string, back: string, rows: ReturnType<Page["locator"]>) {
  await expect(pager).toContainText("Page 1 of 2");
  await expect(pager.getByRole("button", { name: back })).toBeDisabled();
  const first = (await rows.first().textContent()) ?? "";
  await pager.getByRole("button", { name: forward }).click();
  await expect(pager).toContainText("Page 2 of 2");
  await expect(pager.getByRole("button", { name: forward })).toBeDisabled();
  await expect(rows.first()).not.toHaveText(first);
  await pager.getByRole("button", { name: back }).click();
  await expect(pager).toContainText("Page 1 of 2");
  await expect(rows.first()).toHaveText(first);
}

test("every pager moves forward and back", async ({ page }) => {
  await signIn(page);

  await open(page, "/users");
  await forwardAndBack(page, page.getByRole("navigation", { name: "Pages of users" }), "Next", "Previous", page.locator("tbody tr"));

  await open(page, "/administrators");
  await forwardAndBack(page, page.getByRole("navigation", { name: "Pages of administrators" }), "Next", "Previous", page.locator("tbody tr"));

  await open(page, "/billing");
  const invoices = page.getByRole("table", { name: "Invoices, newest first" }).locator("tbody tr");
  await forwardAndBack(page, page.getByRole("navigation", { name: "Pages of invoices" }), "Older", "Newer", invoices);

  await open(page, "/commands");
  const runs = page.getByRole("table", { name: "Runs, newest first" }).locator("tbody tr");
  await forwardAndBack(page, page.getByRole("navigation", { name: "Pages of runs" }), "Older", "Newer", runs);
  expect(await accessibilityViolations(page)).toEqual([]);

  // The audit log pages by address: its links.
  await open(page, "/audit");
  const pages = page.getByRole("navigation", { name: "Pages" });
  await expect(pages).toContainText(/Page 1 of [2-9]/);
  await pages.getByRole("link", { name: "Older" }).click();
  await expect(pages).toContainText(/Page 2 of [2-9]/);
  await expect(page).toHaveURL(/page=2/);
  await pages.getByRole("link", { name: "Newer" }).click();
  await expect(pages).toContainText(/Page 1 of [2-9]/);
});

test("tables read cleanly at 1280 and 375 px: actions in one cell lined up, addresses whole", async ({ page }) => {
  await signIn(page);
  for (const p of ["/administrators", "/users"]) {
    await page.setViewportSize({ width: 1280, height: 900 });
    await open(page, p);
    // Each row's actions are one menu button, in a cell as tall as its row.
    const rows = page.locator("tbody tr");
    const n = Math.min(await rows.count(), 8);
    for (let i = 0; i < n; i++) {
      const row = rows.nth(i);
      const cell = row.locator("td.row-actions");
      if ((await cell.getByRole("button").count()) === 0) {
        await expect(row).toContainText("You"); // no actions on one's own row
        continue;
      }
      await expect(cell.getByRole("button")).toHaveCount(1);
      const [r, c] = [await row.boundingBox(), await cell.boundingBox()];
      expect(Math.abs(r!.y - c!.y)).toBeLessThanOrEqual(1);
      expect(Math.abs(r!.y + r!.height - (c!.y + c!.height))).toBeLessThanOrEqual(1);
    }
    // An address breaks only after "@" or before a dot: the cells never wrap inside a word.
    const wraps = await page.locator("td.email").first().evaluate((el) => getComputedStyle(el).overflowWrap);
    expect(wraps).toBe("normal");
    // At 375 px the rows are cards: nothing wider than the screen.
    await page.setViewportSize({ width: 375, height: 800 });
    await open(page, p);
    expect(await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth)).toBeLessThanOrEqual(0);
    const first = page.locator("tbody tr").first();
    await expect(first.locator("td.email")).toBeVisible();
    expect((await first.boundingBox())!.width).toBeLessThanOrEqual(375);
    // The row menu opens inside the screen and works with the keyboard.
    const menuButton = first.getByRole("button", { name: /^Actions for / });
    if (await menuButton.count()) {
      await menuButton.focus();
      await page.keyboard.press("Enter");
      const menu = page.getByRole("menu");
      await expect(menu.getByRole("menuitem").first()).toBeFocused();
      const box = (await menu.boundingBox())!;
      expect(box.x).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width).toBeLessThanOrEqual(375);
      expect(await accessibilityViolations(page)).toEqual([]);
      await page.keyboard.press("Escape");
      await expect(menuButton).toBeFocused();
    }
  }
});
