import { defineConfig } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";
import * as fs from "node:fs";

// The server under test: the build `scripts/test.sh` leaves in target/ (the release build
// with its split wasm; TALLY_E2E_PROFILE=debug for the debug one), on its own port and a fresh
// data folder, so a developer's instance on :3000 is left alone.
const profile = process.env.TALLY_E2E_PROFILE ?? "release";
process.env.TALLY_E2E_PROFILE = profile; // the specs run the same build's subcommands
const port = Number(process.env.TALLY_E2E_PORT ?? 3100);
// A host name, not an IP address: browsers offer passkeys only at one. `localhost` is this
// machine's loopback, where the server listens.
const baseURL = `http://localhost:${port}`;
process.env.TALLY_E2E_BASE_URL = baseURL; // for the subcommands the specs run
const root = path.resolve(__dirname, "..");
// The config is evaluated again in each worker: keep the folder the runner created.
const dataDir = process.env.TALLY_E2E_DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "tally-e2e-"));
process.env.TALLY_E2E_DATA_DIR = dataDir;

export default defineConfig({
  testDir: "./tests",
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: "list",
  timeout: 30_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: "off",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
      ],
    },
  },
  projects: [{ name: "chromium", use: { browserName: "chromium" } }],
  webServer: {
    command: `${path.join(root, "target", profile, "tally")}`,
    url: `http://127.0.0.1:${port}/healthz`,
    timeout: 60_000,
    reuseExistingServer: false,
    stdout: "ignore",
    stderr: "pipe",
    env: {
      TALLY_ADDR: `127.0.0.1:${port}`,
      TALLY_DATA_DIR: dataDir,
      TALLY_PUBLIC_URL: baseURL,
      // Every test signs in from this one address, many times a minute.
      TALLY_SIGN_IN_PER_IP_MINUTE: "1000",
      // …and the owner's address, dozens of times in a run.
      TALLY_SIGN_IN_PER_ADDRESS: "1000",
      // Spend alerts checked every 2 seconds, so a spec sees one fire.
      TALLY_SPEND_ALERT_SECONDS: "2",
      LEPTOS_SITE_ROOT: path.join(root, "target/site"),
      RUST_LOG: "warn",
    },
  },
});
