//! The `tally` command: serve the portal, or run one month's billing. Settings come from the
//! environment (see the README); the command line only picks what to do.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tally_core::billing::BillingMonth;
use tally_services::platform::{backup, config::Settings, secrets::Rotated, telemetry};

/// mimalloc instead of glibc's allocator: requests allocate on tokio's threads and free on
/// SQLite's worker threads and back, which glibc's allocator handles slowly
/// (docs/performance.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Tally: a self-hosted admin and billing portal.
#[derive(Debug, Parser)]
#[command(
    name = "tally",
    version,
    after_help = "Settings are environment variables; see the README."
)]
struct Cli {
    /// On an empty database, seed a demo account first (also TALLY_DEMO=1).
    #[arg(long)]
    demo: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Make a new secret key and seal the database's keys under it (see the README).
    RotateSecret {
        /// Also make a new data key and seal the authenticator apps' secrets again under it.
        #[arg(long)]
        data_key: bool,
    },
    /// Print the effective configuration and check the database, migrations, mail and secret
    /// key; exits non-zero with one line per problem.
    Check,
    /// Write a consistent copy of the embedded database to FILE, while servers run.
    Backup {
        /// Where to write the copy (must not exist yet).
        file: std::path::PathBuf,
    },
    /// Replace the embedded database with the backup FILE; every server must be stopped.
    Restore {
        /// A file written by `tally backup`.
        file: std::path::PathBuf,
    },
    /// Make an API key for the seller's systems and print it (shown this once); as an Owner
    /// does on the console's API keys page.
    ApiKey {
        /// What the key is for, e.g. "CRM sync".
        #[arg(long)]
        name: String,
        /// A scope the key has (accounts:read, accounts:write, users:read, users:write,
        /// invoices:read, credit_notes:write); repeat for more.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
    },
    /// Make a SCIM token for a customer account's identity provider and print it (shown this
    /// once); as the account's administrators do on its Users page.
    ScimToken {
        /// The account's id.
        #[arg(long)]
        account: String,
    },
    /// Invoice every account for a month that has ended, charge and email, then exit.
    Bill {
        /// The month, as YYYY-MM.
        #[arg(long, value_parser = month)]
        month: BillingMonth,
    },
}

fn month(text: &str) -> Result<BillingMonth, String> {
    BillingMonth::parse(text).ok_or_else(|| format!("{text:?} is not a month as YYYY-MM"))
}

fn main() -> ExitCode {
    // Before any thread or file: everything Tally and SQLite create is the owner's alone.
    tally_services::platform::files::private_from_now_on();
    let cli = Cli::parse();
    sqlite_without_memory_statistics();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(serve(cli))
}

async fn serve(cli: Cli) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tally: cannot start: configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(&settings.log_format);
    match cli.command {
        Some(Command::RotateSecret { data_key }) => {
            match tally_server::rotate_secret(settings, data_key).await {
                Ok((rotated, resealed)) => {
                    if let Some(n) = resealed {
                        println!("rotated the data key: {n} authenticator secrets sealed again under a new one; restart every server");
                    }
                    report_rotation(rotated)
                }
                Err(e) => {
                    eprintln!("tally rotate-secret: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Check) => {
            let report = tally_server::cli::check::run(&settings).await;
            println!("Configuration:");
            for (name, value) in &report.settings {
                println!("  {name} = {value}");
            }
            for line in &report.passed {
                println!("ok: {line}");
            }
            for line in &report.problems {
                eprintln!("problem: {line}");
            }
            if report.problems.is_empty() {
                println!("Everything checked is ready.");
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some(Command::Backup { file }) => match backup::backup(&settings, &file).await {
            Ok(summary) => {
                println!("backed up to {summary}");
                println!("Keep the secret key with it: without the key its sealed data cannot be opened.");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tally backup: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::Restore { file }) => match backup::restore(&settings, &file).await {
            Ok(r) => {
                println!("restored {}", r.summary);
                if let Some(previous) = r.previous {
                    println!("the database it replaced is kept as {}", previous.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tally restore: {e}");
                ExitCode::FAILURE
            }
        },
        Some(Command::ApiKey { name, scopes }) => {
            match tally_server::make_api_key(settings, name, scopes).await {
                Ok(Ok(key)) => {
                    println!("{key}");
                    eprintln!("Keep this key in the system that uses it: it is not shown again.");
                    ExitCode::SUCCESS
                }
                Ok(Err(refused)) => {
                    for (field, message) in refused.iter() {
                        eprintln!("tally api-key: {field}: {message}");
                    }
                    ExitCode::FAILURE
                }
                Err(e) => {
                    eprintln!("tally api-key: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::ScimToken { account }) => {
            match tally_server::make_scim_token(settings, account).await {
                Ok(token) => {
                    println!("{token}");
                    eprintln!("Give this token to the identity provider: it is not shown again.");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("tally scim-token: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Some(Command::Bill { month }) => match tally_server::bill(settings, month).await {
            Ok(r) => {
                println!(
                    "billed {}: {} accounts, {} invoices created, {} charged, {} failed, {} emails sent",
                    r.month, r.accounts, r.invoices_created, r.charged, r.failed, r.mail_sent
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tally bill: {e}");
                ExitCode::FAILURE
            }
        },
        None => {
            let demo =
                cli.demo || std::env::var("TALLY_DEMO").is_ok_and(|v| v == "1" || v == "true");
            match tally_server::run(settings, demo).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("tally: cannot start: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// SQLite without its allocation statistics, set before its first connection.
///
/// By default SQLite counts every allocation and free under one process-wide mutex. Its rows
/// are copied on sqlx's worker threads and freed on tokio's, so under load those threads
/// queued on that mutex (docs/performance.md). Tally never reads the statistics.
fn sqlite_without_memory_statistics() {
    // SAFETY: called once at start-up, on one thread, before any SQLite connection exists,
    // the only time sqlite3_config may be called; this option takes one int.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_config(
            libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
            0 as std::ffi::c_int,
        )
    };
    assert_eq!(rc, libsqlite3_sys::SQLITE_OK, "sqlite3_config(MEMSTATUS)");
}

/// Prints what `tally rotate-secret` did to the secret key.
fn report_rotation(rotated: Rotated) -> ExitCode {
    match rotated {
        Rotated::File { path, sealed } => {
            println!(
                "rotated: the {sealed} sealed keys now open with the new key in {}; back it up in place of the old one",
                path.display()
            );
        }
        Rotated::Environment { new_key, sealed } => {
            println!(
                "rotated: {sealed} sealed keys now open only with this key. Set TALLY_SECRET_KEY to it on every server and restart them, and back it up:\n{}",
                new_key.to_text()
            );
        }
    }
    ExitCode::SUCCESS
}
