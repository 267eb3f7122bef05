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
    let service = if args.service.is_empty() {
        None
    } else {
        match args.service.join(" ").parse::<ServiceKey>() {
            Ok(key) => Some(key),
            Err(e) => {
                eprintln!("ipvsc: {e}");
                return EXIT_USAGE;
            }
        }
    };
    super::apply_one(Op::Zero(service))
}
