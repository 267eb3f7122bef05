use super::{Error, Outcome};
use crate::kernel::Op;
use crate::model::ServiceKey;

#[derive(clap::Args)]
pub struct Args {
    /// One service, like `tcp 10.0.0.1:80` or `fwmark 1`; without it, every service.
    service: Vec<String>,
}

/// `ipvsc zero [SERVICE]`: reset counters and rates (`ipvsadm -Z`).
pub fn run(args: Args) -> Outcome {
    super::apply_one(Op::Zero(service_arg(&args.service)?))
}

/// The optional SERVICE words of `zero` and `list` (`tcp 10.0.0.1:80`, `fwmark 1 ipv6`); `Err`
/// carries the exit status after saying what is wrong.
pub(super) fn service_arg(words: &[String]) -> Result<Option<ServiceKey>, Error> {
    if words.is_empty() {
        return Ok(None);
    }
    words
        .join(" ")
        .parse::<ServiceKey>()
        .map(Some)
        .map_err(|e| Error::usage(e.to_string()))
}
