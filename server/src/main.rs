//! `tally [--demo]`: serve the portal. Settings come from the environment (see the README);
//! `--demo` (or `TALLY_DEMO=1`) seeds a demo account on an empty database.

use std::process::ExitCode;

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
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--demo" => demo = true,
            "--help" | "-h" => {
                println!(
                    "usage: tally [--demo]\n\nSettings are environment variables; see the README."
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
