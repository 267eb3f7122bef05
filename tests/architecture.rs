//! The README's architecture section names every module under src/ and nothing that is gone;
//! the exit statuses it documents are the ones `cli/error.rs` defines; and its first command
//! runs ipvsc.

mod common;

fn readme_section(title: &str) -> String {
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let start = readme
        .find(title)
        .unwrap_or_else(|| panic!("README has {title}"));
    let rest = &readme[start + title.len()..];
    rest[..rest.find("\n## ").unwrap_or(rest.len())].to_string()
}

#[test]
fn the_architecture_section_matches_the_tree() {
    let section = readme_section("## Architecture");
    let src = common::root().join("src");
    let mut modules = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            modules.push(format!("`src/{name}/`"));
        } else if !["lib.rs", "main.rs"].contains(&name.as_str()) {
            modules.push(format!("`src/{name}`"));
        }
    }
    for m in &modules {
        assert!(
            section.contains(m.as_str()),
            "the architecture section does not name {m}"
        );
    }
    for named in section.split('`').skip(1).step_by(2) {
        if let Some(path) = named.strip_prefix("src/") {
            assert!(
                src.join(path.trim_end_matches('/')).exists(),
                "the architecture section names src/{path}, which is not there"
            );
        }
    }
}

#[test]
fn the_documented_exit_statuses_are_the_defined_ones() {
    let error_rs = std::fs::read_to_string(common::root().join("src/cli/error.rs")).unwrap();
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let documented = &readme[readme
        .find("Exit status: 0 success")
        .expect("README lists them")..];
    let documented = &documented[..documented.find("\n\n").unwrap()];
    // Every `/// N: ...` status of the Exit enum appears as "N " in the README's list.
    let defined: Vec<&str> = error_rs
        .lines()
        .filter_map(|l| l.trim().strip_prefix("/// "))
        .filter_map(|l| l.split_once(": ").map(|(n, _)| n))
        .filter(|n| n.parse::<u8>().is_ok())
        .collect();
    assert_eq!(defined, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    for n in defined {
        assert!(
            documented.contains(&format!("{n} ")),
            "exit status {n} is not in the README"
        );
    }
}

#[test]
fn the_readme_s_first_command_runs_ipvsc() {
    // The README opens with `cargo run --release -- ...`, which names no binary: with more than
    // one (the bench's floor client is another), the package must say which one runs.
    let readme = std::fs::read_to_string(common::root().join("README.md")).unwrap();
    let first = readme
        .lines()
        .find(|l| l.starts_with("cargo "))
        .expect("the README opens with a command");
    assert!(
        first.starts_with("cargo run ") && !first.contains("--bin"),
        "{first}"
    );
    let manifest = std::fs::read_to_string(common::root().join("Cargo.toml")).unwrap();
    let bins = manifest.lines().filter(|l| l.trim() == "[[bin]]").count();
    let default_run = manifest
        .lines()
        .any(|l| l.trim().replace(' ', "") == "default-run=\"ipvsc\"");
    assert!(
        bins <= 1 || default_run,
        "{bins} binaries and no default-run = \"ipvsc\": `cargo run` would not know which to run"
    );
}
