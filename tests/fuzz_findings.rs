//! Every input the fuzzers found a bug with (`tests/fuzz/TARGET/`), checked again by the same
//! code as the fuzz target (`fuzz/checks.rs`), so that a fixed finding stays fixed.

#[path = "../fuzz/checks.rs"]
mod checks;

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

fn each_finding(target: &str, check: fn(&[u8])) -> usize {
    let dir = common::root().join("tests/fuzz").join(target);
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let data = std::fs::read(&path).unwrap();
        let start = Instant::now();
        if let Err(e) = std::panic::catch_unwind(|| check(&data)) {
            std::panic::resume_unwind(Box::new(format!(
                "{}: {}",
                Path::new("tests/fuzz").join(target).join(&name).display(),
                e.downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
                    .unwrap_or("panic")
            )));
        }
        // Some findings were inputs that took minutes (libFuzzer's timeouts).
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "tests/fuzz/{target}/{name} took {:?}",
            start.elapsed()
        );
        count += 1;
    }
    count
}

#[test]
fn ipvs_findings() {
    assert!(each_finding("ipvs", checks::ipvs) >= 1);
}

#[test]
fn legacy_findings() {
    each_finding("legacy", checks::legacy);
}

#[test]
fn fast_reader_findings() {
    each_finding("fast_reader", checks::fast_reader);
}

#[test]
fn lsp_findings() {
    each_finding("lsp", checks::lsp);
}

#[test]
fn netlink_findings() {
    each_finding("netlink", checks::netlink);
}

/// A netmask from a constant holding an IPv6 address with a dotted tail reached `unreachable!`.
#[test]
fn ipv6_netmask_constant_is_an_error() {
    let text = "define m = ::ffff:1.2.3.4\nservice tcp 10.0.0.1:80 { persistent; netmask $m }\n";
    let (sources, compiled) = common::compile_text("t.ipvs", text);
    let rendered = common::render_all(&sources, &compiled);
    assert!(compiled.has_errors(), "{rendered}");
    assert!(
        rendered.contains("`::ffff:1.2.3.4` is not a netmask"),
        "{rendered}"
    );
}
