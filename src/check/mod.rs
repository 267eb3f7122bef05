//! Syntax tree to validated table: typing values, expanding constants, ranges, defaults and
//! includes, and every rule the kernel and ipvsadm enforce.

pub mod builder;
pub mod drain;
pub mod lower;
pub mod suggest;
pub mod values;
