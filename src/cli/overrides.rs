//! Runtime overrides for operators and health checkers: `ipvsc disable`, `enable` and `weight`
//! change one server's weight in the kernel at once and record it, so that later applies keep
//! it until it is cleared; `ipvsc overrides` lists them.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use clap::ValueEnum;
use serde::Serialize;

use super::apply::{lock_clean, save_state};
use super::{Error, Exit, Outcome};
use crate::kernel::netlink::NetlinkKernel;
use crate::kernel::{Kernel, Op};
use crate::model::{Drain, Server, ServerKey, ServiceKey, Table, MAX_WEIGHT};
use crate::plan::render::duration;
use crate::plan::state::{self, Override};
use crate::wire::{OverrideDoc, STATE_VERSION};

#[derive(clap::Args)]
pub struct Target {
    /// The service, like `tcp 10.0.0.1:80` or `fwmark 1`, then the real server, like
    /// `10.0.0.2:8080` (the port may be left out when the address is enough).
    #[arg(required = true, num_args = 2.., value_name = "WORD")]
    words: Vec<String>,
}

#[derive(clap::Args)]
pub struct DisableArgs {
    #[command(flatten)]
    target: Target,
    /// Then wait until the server's connections are gone, at most this long (default 15m);
    /// exit 1 if some are still there.
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "15m", require_equals = true,
          value_parser = super::apply::parse_drain_arg)]
    drain: Option<Drain>,
}

#[derive(clap::Args)]
pub struct WeightArgs {
    /// The service, the real server, then the weight (0 to 65535), like
    /// `tcp 10.0.0.1:80 10.0.0.2:8080 5`.
    #[arg(required = true, num_args = 3.., value_name = "WORD")]
    words: Vec<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct ListArgs {
    /// The output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// A server named on the command line: the service's words, then the server's.
fn parse_target(words: &[String]) -> Result<(ServiceKey, String), Error> {
    let (server, service) = words.split_last().expect("clap requires two words");
    let service = service
        .join(" ")
        .parse::<ServiceKey>()
        .map_err(|e| Error::usage(e.to_string()))?;
    Ok((service, server.clone()))
}

/// `10.0.0.2:80`, `[2001:db8::2]:80`, or an address alone when the service has one server at it.
fn find_server(table: &Table, service: &ServiceKey, text: &str) -> Result<Server, Error> {
    let Some(svc) = table.services.get(service) else {
        return Err(Error::Input(format!(
            "the kernel has no service {service}; nothing was changed"
        )));
    };
    let (addr, port) = match text.strip_prefix('[') {
        Some(rest) => match rest.split_once("]:") {
            Some((a, p)) => (a, Some(p)),
            None => (rest.trim_end_matches(']'), None),
        },
        None => match text.rsplit_once(':') {
            Some((a, p)) if !a.contains(':') => (a, Some(p)),
            _ => (text, None),
        },
    };
    let Ok(addr) = addr.parse::<IpAddr>() else {
        return Err(Error::usage(format!(
            "`{text}` is not a real server: write it like 10.0.0.2:8080 or [2001:db8::2]:80"
        )));
    };
    let port = match port.map(str::parse::<u16>) {
        Some(Ok(p)) => Some(p),
        Some(Err(_)) => return Err(Error::usage(format!("`{text}` has no valid port"))),
        None => None,
    };
    let found: Vec<&Server> = svc
        .servers
        .values()
        .filter(|s| s.key.addr == addr && port.is_none_or(|p| p == s.key.port))
        .collect();
    match found.as_slice() {
        [one] => Ok(**one),
        [] => {
            let have: Vec<String> = svc.servers.keys().map(ServerKey::to_string).collect();
            Err(Error::Input(format!(
                "service {service} has no real server {text} (it has: {}); nothing was changed",
                if have.is_empty() {
                    "none".to_string()
                } else {
                    have.join(", ")
                }
            )))
        }
        _ => Err(Error::usage(format!(
            "service {service} has several servers at {addr}: give the port too"
        ))),
    }
}

/// What to do to the named server's override.
enum Change {
    Set(u32),
    Clear,
}

/// Under the lock: records the override first (so that a crash can only leave the kernel
/// behind the record, which the next apply repairs), then changes the kernel in one operation;
/// a refusal puts the record back.
fn change(
    kernel: &mut NetlinkKernel,
    words: &[String],
    change: Change,
) -> Result<(ServiceKey, Server), Error> {
    let (service, server_text) = parse_target(words)?;
    let journal = lock_clean()?;
    let table = kernel.read()?;
    let server = find_server(&table, &service, &server_text)?;
    let before = journal
        .state()
        .map_err(|e| Error::usage(format!("cannot read the recorded overrides: {e}")))?;
    let mut after = before.clone();
    let existing = after
        .overrides
        .iter()
        .position(|o| o.service == service && o.server == server.key);
    let weight = match change {
        Change::Set(weight) => {
            let file_weight = existing.map_or(server.weight, |i| after.overrides[i].file_weight);
            let o = Override {
                service,
                server: server.key,
                weight,
                file_weight,
                since: state::now(),
            };
            match existing {
                Some(i) => after.overrides[i] = o,
                None => after.overrides.push(o),
            }
            weight
        }
        Change::Clear => match existing {
            Some(i) => after.overrides.remove(i).file_weight,
            None => {
                println!(
                    "server {} of service {service} has no override; nothing to do",
                    server.key
                );
                return Ok((service, server));
            }
        },
    };
    // A server left draining by an apply is the apply's: an override ends that drain.
    after
        .drains
        .retain(|d| !(d.service == service && d.server.key == server.key));
    save_state(&journal, &after)?;
    let new = Server { weight, ..server };
    if new != server {
        if let Err(e) = kernel.apply(&Op::EditServer(service, new)) {
            let _ = save_state(&journal, &before);
            return Err(e.into());
        }
    }
    println!(
        "server {} of service {service}: weight {} → {weight}{}",
        server.key,
        server.weight,
        match change {
            Change::Set(0) => format!(
                " (disabled; `ipvsc enable {service} {}` gives it back)",
                server.key
            ),
            Change::Set(_) => " (kept by every apply until `ipvsc enable`)".to_string(),
            Change::Clear => " (the file's weight; override cleared)".to_string(),
        }
    );
    Ok((service, new))
}

/// `ipvsc disable SERVICE SERVER [--drain[=DURATION]]`
pub fn disable(args: DisableArgs) -> Outcome {
    let mut kernel = super::open_netlink()?;
    let (service, server) = change(&mut kernel, &args.target.words, Change::Set(0))?;
    match args.drain.and_then(Drain::deadline) {
        None => Ok(Exit::Ok),
        Some(secs) => wait_idle(&mut kernel, service, server.key, secs),
    }
}

/// Waits until the server has no connections left, at most `secs`.
fn wait_idle(
    kernel: &mut NetlinkKernel,
    service: ServiceKey,
    server: ServerKey,
    secs: u32,
) -> Outcome {
    let cancel = super::signals::cancel_on_signals();
    let start = Instant::now();
    let limit = Duration::from_secs(secs.into());
    loop {
        let loads = kernel.loads(&[service])?;
        let left = loads.get(&(service, server)).map_or(0, |l| l.left());
        if left == 0 {
            println!("server {server} of service {service} has no connections left");
            return Ok(Exit::Ok);
        }
        if start.elapsed() >= limit || cancel.is_cancelled() {
            return Err(Error::Input(format!(
                "server {server} of service {service} still has {left} connection{} after {}; it stays disabled",
                if left == 1 { "" } else { "s" },
                duration(start.elapsed().as_secs())
            )));
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// `ipvsc enable SERVICE SERVER`
pub fn enable(target: Target) -> Outcome {
    let mut kernel = super::open_netlink()?;
    change(&mut kernel, &target.words, Change::Clear)?;
    Ok(Exit::Ok)
}

/// `ipvsc weight SERVICE SERVER N`
pub fn weight(args: WeightArgs) -> Outcome {
    let (weight, target) = args.words.split_last().expect("clap requires three words");
    let weight = match weight.parse::<u32>() {
        Ok(w) if w <= MAX_WEIGHT => w,
        _ => {
            return Err(Error::usage(format!(
                "`{weight}` is not a weight: write a number from 0 to {MAX_WEIGHT}"
            )))
        }
    };
    let mut kernel = super::open_netlink()?;
    change(&mut kernel, target, Change::Set(weight))?;
    Ok(Exit::Ok)
}

#[derive(Serialize)]
struct Listing {
    format_version: u32,
    overrides: Vec<OverrideDoc>,
}

/// `ipvsc overrides`: what operators set at runtime, that applies keep.
pub fn list(args: ListArgs) -> Outcome {
    let recorded = super::drain::recorded()?;
    match args.format {
        Format::Json => {
            let listing = Listing {
                format_version: STATE_VERSION,
                overrides: recorded.overrides.iter().map(OverrideDoc::from).collect(),
            };
            println!(
                "{}",
                serde_json::to_string_pretty(&listing).expect("overrides serialize")
            );
        }
        Format::Text if recorded.overrides.is_empty() => println!("No overrides."),
        Format::Text => {
            let now = state::now();
            for o in &recorded.overrides {
                println!(
                    "service {} server {}: {}, the file says weight {} (set {} ago)",
                    o.service,
                    o.server,
                    o.describe(),
                    o.file_weight,
                    duration(now.saturating_sub(o.since))
                );
            }
        }
    }
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        crate::compiler::compile_clean(
            "service tcp 10.0.0.1:80 { forward nat; server 10.0.0.2:8080; server 10.0.0.2:8081; server 10.0.0.3:8080 }\n\
             service tcp [2001:db8::1]:80 { server 2001:db8::2 }\n",
        )
    }

    fn exit<T>(r: Result<T, Error>) -> Exit {
        r.err().expect("an error").exit()
    }

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn a_server_is_found_by_address_and_port_or_address_alone() {
        let t = table();
        let (svc, server) = parse_target(&words("tcp 10.0.0.1:80 10.0.0.3")).unwrap();
        assert_eq!(find_server(&t, &svc, &server).unwrap().key.port, 8080);
        assert_eq!(
            find_server(&t, &svc, "10.0.0.2:8081").unwrap().key.port,
            8081
        );
        // Two servers at that address: the port is needed.
        assert_eq!(exit(find_server(&t, &svc, "10.0.0.2")), Exit::Usage);
        let (v6, server) = parse_target(&words("tcp [2001:db8::1]:80 [2001:db8::2]:80")).unwrap();
        assert_eq!(find_server(&t, &v6, &server).unwrap().key.port, 80);
        assert!(find_server(&t, &v6, "2001:db8::2").is_ok());
    }

    #[test]
    fn unknown_services_and_servers_are_errors() {
        let t = table();
        let (svc, _) = parse_target(&words("tcp 10.0.0.9:80 10.0.0.2")).unwrap();
        assert_eq!(exit(find_server(&t, &svc, "10.0.0.2")), Exit::Errors);
        let (svc, _) = parse_target(&words("tcp 10.0.0.1:80 x")).unwrap();
        assert_eq!(exit(find_server(&t, &svc, "10.0.0.4:8080")), Exit::Errors);
        assert_eq!(exit(find_server(&t, &svc, "nonsense")), Exit::Usage);
        assert_eq!(
            exit(parse_target(&words("tcp 10.0.0.1 10.0.0.2"))),
            Exit::Usage
        );
    }
}
