//! `tally`: serve the portal. Settings come from the environment (see the README).

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
    tally_server::telemetry::init(&settings.log_format);
    match tally_server::run(settings).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tally: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}
