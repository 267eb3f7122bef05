use std::path::PathBuf;

use super::{EXIT_OK, EXIT_USAGE};
use crate::kernel::{Kernel, MemoryKernel, Op};

#[derive(clap::Args)]
pub struct Args {
    /// A JSON array of operations (`-` for standard input).
    file: PathBuf,
    /// Run them on the in-memory model of the kernel instead of the real one.
    #[arg(long)]
    memory: bool,
}

/// Runs each operation and prints its result (`ok` or the errno's name), then `@@ table` and
/// the final table as JSON: the two halves of the differential test print the same.
pub fn run(args: Args) -> i32 {
    let text = match crate::source::read_input(&args.file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ipvsc: cannot read {}: {e}", args.file.display());
            return EXIT_USAGE;
        }
    };
    let ops: Vec<Op> = match crate::wire::ops_from_json(&text) {
        Ok(ops) => ops,
        Err(e) => {
            eprintln!("ipvsc: {}: {e}", args.file.display());
            return EXIT_USAGE;
        }
    };
    let mut kernel: Box<dyn Kernel> = if args.memory {
        Box::new(MemoryKernel::new())
    } else {
        match super::open_kernel() {
            Ok(k) => k,
            Err(code) => return code,
        }
    };
    print!("{}", crate::kernel::transcript(kernel.as_mut(), &ops));
    EXIT_OK
}
