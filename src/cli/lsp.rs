use super::{Error, Exit, Outcome};

#[derive(clap::Args)]
pub struct Args {
    /// Talk over standard input and output (the only way; accepted because clients pass it).
    #[arg(long, hide = true)]
    stdio: bool,
}

/// `ipvsc lsp`: serves one editor over standard input and output until it exits: status 0 after
/// `shutdown` and `exit`, 1 after a protocol error or an `exit` without `shutdown`.
pub fn run(_args: Args) -> Outcome {
    crate::lsp::run_stdio()
        .map(|()| Exit::Ok)
        .map_err(|e| Error::Input(format!("lsp: {e}")))
}
