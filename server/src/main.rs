//! `tally [--demo]`: serve the portal; `tally bill --month YYYY-MM`: run the billing for a month. Settings come from the environment (see the README);
//! `--demo` (or `TALLY_DEMO=1`) seeds a demo account on an empty database.

use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: requests allocate on tokio's threads and free on
/// SQLite's worker threads and back; glibc spent a quarter of a page render in malloc and
/// free doing that (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let settings = match tally_server::Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tally: cannot start: configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut demo = std::env::var("TALLY_DEMO").is_ok_and(|v| v == "1" || v == "true");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bill") {
        return bill(settings, &args[1..]).await;
    }
    for arg in args {
        match arg.as_str() {
            "--demo" => demo = true,
            "--help" | "-h" => {
                println!(
                    "usage: tally [--demo]            serve the portal\n       tally bill --month YYYY-MM   invoice every account for a month that has ended\n\nSettings are environment variables; see the README."
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("tally: unknown argument {other:?} (try --help)");
                return ExitCode::FAILURE;
            }
        }
    }
    tally_server::telemetry::init(&settings.log_format);
    match tally_server::run(settings, demo).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tally: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `tally bill --month YYYY-MM`.
async fn bill(settings: tally_server::Settings, args: &[String]) -> ExitCode {
    let month = match args {
        [flag, m] if flag == "--month" => tally_core::billing::BillingMonth::parse(m),
        _ => None,
    };
    let Some(month) = month else {
        eprintln!("tally bill: usage: tally bill --month YYYY-MM");
        return ExitCode::FAILURE;
    };
    tally_server::telemetry::init(&settings.log_format);
    match tally_server::bill(settings, month).await {
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
    }
}
