use std::path::PathBuf;

use super::{Error, Exit, Outcome};
use crate::kernel::{Kernel, MemoryKernel, Op};

#[derive(clap::Args)]
pub struct Args {
    /// A JSON array of operations (`-` for standard input).
    file: PathBuf,
    /// Run them on the in-memory model of the kernel instead of the real one.
    #[arg(long)]
    memory: bool,
    /// Hand them to the kernel as one batch (over netlink: requests in flight together).
    #[arg(long)]
    batch: bool,
}

/// Runs each operation and prints its result (`ok` or the errno's name), then `@@ table` and
/// the final table as JSON: the two halves of the differential test print the same.
pub fn run(args: Args) -> Outcome {
    let text = crate::source::read_input(&args.file)
        .map_err(|e| Error::usage(format!("cannot read {}: {e}", args.file.display())))?;
    let ops: Vec<Op> = crate::wire::ops_from_json(&text)
        .map_err(|e| Error::usage(format!("{}: {e}", args.file.display())))?;
    let mut kernel: Box<dyn Kernel> = if args.memory {
        Box::new(MemoryKernel::new())
    } else {
        super::open_kernel()?
    };
    let transcript = if args.batch {
        crate::kernel::transcript_batch(kernel.as_mut(), &ops)
    } else {
        crate::kernel::transcript(kernel.as_mut(), &ops)
    };
    print!("{transcript}");
    Ok(Exit::Ok)
}
