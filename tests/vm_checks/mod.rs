//! What the VM test checks in the guest's output, beside the harness in tests/vm.rs.

pub mod converge;
pub mod listings;
