use super::EXIT_USAGE;
use crate::kernel::Op;
use crate::model::ServiceKey;

#[derive(clap::Args)]
pub struct Args {
    /// One service, like `tcp 10.0.0.1:80` or `fwmark 1`; without it, every service.
    service: Vec<String>,
}

/// `ipvsc zero [SERVICE]`: reset counters and rates (`ipvsadm -Z`).
pub fn run(args: Args) -> i32 {
    match service_arg(&args.service) {
        Ok(service) => super::apply_one(Op::Zero(service)),
        Err(code) => code,
    }
}

/// The optional SERVICE words of `zero` and `list` (`tcp 10.0.0.1:80`, `fwmark 1 ipv6`); `Err`
/// carries the exit status after saying what is wrong.
pub(super) fn service_arg(words: &[String]) -> Result<Option<ServiceKey>, i32> {
    if words.is_empty() {
        return Ok(None);
    }
    words
        .join(" ")
        .parse::<ServiceKey>()
        .map(Some)
        .map_err(|e| {
            eprintln!("ipvsc: {e}");
            EXIT_USAGE
        })
}
