use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    // Logs go to stderr so stdout stays machine-readable (`--json`, tool results).
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("IRONCLAW_LOG").unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = ironclaw::cli::Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = runtime.block_on(ironclaw::cli::main(cli)) {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
