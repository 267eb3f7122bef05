//! A table in the ipvsc language: what `ipvsc save --format ipvs` and `ipvsc convert` print.

use std::fmt::Write;
use std::net::IpAddr;

use super::*;

/// Seconds in the largest unit that divides them: `15m`, `90s`, `1h`, `2d`.
pub fn duration(seconds: u32) -> String {
    for (unit, scale) in [("d", 86_400), ("h", 3_600), ("m", 60)] {
        if seconds != 0 && seconds % scale == 0 {
            return format!("{}{unit}", seconds / scale);
        }
    }
    format!("{seconds}s")
}

fn endpoint(addr: IpAddr, port: Option<u16>) -> String {
    match port {
        Some(port) => service::Endpoint(addr, port).to_string(),
        None => addr.to_string(),
    }
}

/// A forwarding method as a file writes it: `dr`, `nat`, `tunnel ipip`, `tunnel gue port 6080`,
/// `tunnel gre csum`; the default checksum mode, nocsum, is left out.
pub fn forward(f: Forward) -> String {
    forward_words(f, false)
}

/// A forwarding method with every setting named, the checksum mode even when it is the
/// default (`tunnel gue port 6080 nocsum`), as a plan shows it.
pub fn forward_in_full(f: Forward) -> String {
    forward_words(f, true)
}

fn forward_words(f: Forward, default_checksum: bool) -> String {
    let checksum = |c: Checksum| match c {
        Checksum::NoCsum if !default_checksum => String::new(),
        c => format!(" {}", c.name()),
    };
    match f {
        Forward::Dr | Forward::Nat => f.name().to_string(),
        Forward::Tunnel(t) => match t {
            Tunnel::Ipip => format!("{} {}", f.name(), t.name()),
            Tunnel::Gue { port, checksum: c } => {
                format!("{} {} port {port}{}", f.name(), t.name(), checksum(c))
            }
            Tunnel::Gre { checksum: c } => format!("{} {}{}", f.name(), t.name(), checksum(c)),
        },
    }
}

/// What all servers of a service share, written once at the service's level.
struct Defaults {
    forward: Option<Forward>,
    weight: Option<u32>,
}

fn defaults(service: &Service) -> Defaults {
    let mut servers = service.servers.values();
    let Some(first) = servers.next() else {
        return Defaults {
            forward: None,
            weight: None,
        };
    };
    let many = service.servers.len() > 1;
    let all = |f: &dyn Fn(&Server) -> bool| service.servers.values().all(f);
    Defaults {
        forward: (many && all(&|s| s.forward == first.forward)).then_some(first.forward),
        weight: (many && first.weight != 1 && all(&|s| s.weight == first.weight))
            .then_some(first.weight),
    }
}

fn next_addr(a: IpAddr) -> Option<IpAddr> {
    match a {
        IpAddr::V4(a) => u32::from(a).checked_add(1).map(|x| IpAddr::V4(x.into())),
        IpAddr::V6(a) => u128::from(a).checked_add(1).map(|x| IpAddr::V6(x.into())),
    }
}

/// The shortest run of consecutive addresses written as a range.
const MIN_RANGE: usize = 3;

fn server_lines(service: &Service, d: &Defaults, out: &mut String) {
    let vport = service.key.port().unwrap_or(0);
    let options = |s: &Server| {
        let mut o = String::new();
        if d.forward != Some(s.forward) {
            let _ = write!(o, " forward {}", forward(s.forward));
        }
        if d.weight.unwrap_or(1) != s.weight {
            let _ = write!(o, " weight {}", s.weight);
        }
        if s.upper != 0 {
            let _ = write!(o, " upper {}", s.upper);
        }
        if s.lower != 0 {
            let _ = write!(o, " lower {}", s.lower);
        }
        o
    };
    // In port, then address order; consecutive addresses with the same options become a range.
    let mut list: Vec<(&Server, String)> =
        service.servers.values().map(|s| (s, options(s))).collect();
    list.sort_by_key(|(s, _)| (s.key.port, s.key.addr));
    let mut i = 0;
    while i < list.len() {
        let (first, opts) = &list[i];
        let mut j = i + 1;
        while j < list.len()
            && list[j].0.key.port == first.key.port
            && list[j].1 == *opts
            && next_addr(list[j - 1].0.key.addr) == Some(list[j].0.key.addr)
        {
            j += 1;
        }
        let port = (first.key.port != vport).then_some(first.key.port);
        let addr = if j - i >= MIN_RANGE {
            let last = list[j - 1].0.key.addr;
            match (first.key.addr, port) {
                (IpAddr::V6(a), Some(p)) => format!("[{a}]-[{last}]:{p}"),
                (a, Some(p)) => format!("{a}-{last}:{p}"),
                (a, None) => format!("{a}-{last}"),
            }
        } else {
            j = i + 1;
            endpoint(first.key.addr, port)
        };
        let _ = writeln!(out, "    server {addr}{opts}");
        i = j;
    }
}

impl Table {
    /// The table in the ipvsc language; compiling the text gives this table again.
    pub fn to_ipvs(&self) -> String {
        let mut out = String::new();
        let t = &self.timeouts;
        if !t.is_empty() {
            let parts: Vec<String> = [("tcp", t.tcp), ("tcpfin", t.tcpfin), ("udp", t.udp)]
                .into_iter()
                .filter_map(|(n, v)| v.map(|v| format!("{n} {}", duration(v))))
                .collect();
            let _ = writeln!(out, "timeouts {{ {} }}", parts.join("; "));
        }
        let (defense, other): (Vec<_>, Vec<_>) =
            self.sysctls.iter().partition(|(s, _)| is_defense(**s));
        for (name, list) in [("defense", defense), ("sysctl", other)] {
            if !list.is_empty() {
                let parts: Vec<String> = list
                    .iter()
                    .map(|(s, v)| format!("{s} {}", v.display(**s)))
                    .collect();
                let _ = writeln!(out, "{name} {{ {} }}", parts.join("; "));
            }
        }
        for d in self.daemons.values() {
            let mut parts = vec![
                format!("interface {}", interface(&d.interface)),
                format!("syncid {}", d.syncid),
            ];
            if let Some(v) = d.maxlen {
                parts.push(format!("maxlen {v}"));
            }
            if let Some(v) = d.group {
                parts.push(format!("group {v}"));
            }
            if let Some(v) = d.port {
                parts.push(format!("port {v}"));
            }
            if let Some(v) = d.ttl {
                parts.push(format!("ttl {v}"));
            }
            let _ = writeln!(out, "sync {} {{ {} }}", d.state, parts.join("; "));
        }
        for service in self.services.values() {
            if !out.is_empty() {
                out.push('\n');
            }
            let _ = writeln!(out, "service {} {{", service.key);
            let mut sched = format!("    scheduler {}", service.scheduler);
            for (i, name) in ["fallback", "port", "flag-3"].iter().enumerate() {
                if service.flags.contains(1 << i) {
                    let word = if service.scheduler.has_hash_flags() {
                        name.to_string()
                    } else {
                        format!("flag-{}", i + 1)
                    };
                    let _ = write!(sched, " {word}");
                }
            }
            let _ = writeln!(out, "{sched}");
            match service.persistence {
                Some(p) if service.netmask.is_full() => {
                    let _ = writeln!(out, "    persistent {}", duration(p));
                }
                Some(p) => {
                    let _ = writeln!(
                        out,
                        "    persistent {} netmask {}",
                        duration(p),
                        service.netmask
                    );
                }
                None if !service.netmask.is_full() => {
                    let _ = writeln!(out, "    netmask {}", service.netmask);
                }
                None => {}
            }
            if let Some(pe) = &service.pe {
                let _ = writeln!(out, "    pe {pe}");
            }
            if service.one_packet {
                out.push_str("    one-packet\n");
            }
            let d = defaults(service);
            if let Some(f) = d.forward {
                let _ = writeln!(out, "    forward {}", forward(f));
            }
            if let Some(w) = d.weight {
                let _ = writeln!(out, "    weight {w}");
            }
            server_lines(service, &d, &mut out);
            out.push_str("}\n");
        }
        out
    }
}

/// An interface name as a word, or quoted when it is not one.
fn interface(name: &str) -> String {
    let word = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if word {
        name.to_string()
    } else {
        format!("\"{name}\"")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forward_spellings() {
        let gue = |checksum| {
            Forward::Tunnel(Tunnel::Gue {
                port: 6080,
                checksum,
            })
        };
        let gre = |checksum| Forward::Tunnel(Tunnel::Gre { checksum });
        let cases = [
            (Forward::Dr, "dr", "dr"),
            (Forward::Nat, "nat", "nat"),
            (Forward::Tunnel(Tunnel::Ipip), "tunnel ipip", "tunnel ipip"),
            (
                gue(Checksum::NoCsum),
                "tunnel gue port 6080",
                "tunnel gue port 6080 nocsum",
            ),
            (
                gue(Checksum::RemCsum),
                "tunnel gue port 6080 remcsum",
                "tunnel gue port 6080 remcsum",
            ),
            (gre(Checksum::NoCsum), "tunnel gre", "tunnel gre nocsum"),
            (gre(Checksum::Csum), "tunnel gre csum", "tunnel gre csum"),
        ];
        for (f, short, full) in cases {
            assert_eq!(forward(f), short);
            assert_eq!(forward_in_full(f), full);
        }
    }
}
