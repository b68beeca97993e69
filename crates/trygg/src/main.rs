//! `trygg`: one binary for the server, the operators' tools and the demo.

use clap::Parser as _;
use std::process::ExitCode;

/// mimalloc instead of the system allocator: an access decision allocates
/// a few hundred small objects, and with mimalloc it takes about 5 % less
/// time (docs/benchmarks.md, "Access decisions").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = trygg::cli::Cli::parse();
    match trygg::cli::run(cli).await {
        Ok(code) => code,
        Err(e)
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) =>
        {
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
