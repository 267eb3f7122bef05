use std::fmt::Write;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use clap::ValueEnum;

use super::{Error, Exit, Outcome};
use crate::kernel::conns::{self, Connection};
use crate::kernel::netlink::ServiceStats;
use crate::kernel::packet::{IpvsInfo, Stats};
use crate::kernel::Unavailable;
use crate::legacy::{sort_servers, sort_services};
use crate::model::Timeouts;
use crate::model::{language, Daemon, Forward, Service, ServiceKey};
use crate::wire::{ConnectionDoc, ListingDoc, ServiceListing, CONNECTIONS_VERSION};

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table for people.
    Text,
    /// Everything, as JSON, for tools.
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// One service, like `tcp 10.0.0.1:80`, `udp [2001:db8::1]:53` or `fwmark 5`; without it,
    /// every service (`ipvsadm -L -t|-u|-f SERVICE`).
    service: Vec<String>,
    /// The connection table instead of the services, like `ipvsadm -L -c -n` (read from
    /// /proc/net/ip_vs_conn; with SERVICE, only that service's connections).
    #[arg(long, short = 'c')]
    connections: bool,
    /// Counters: connections, packets and bytes in and out (`ipvsadm -L --stats`).
    #[arg(long)]
    stats: bool,
    /// Rates: connections, packets and bytes per second (`ipvsadm -L --rate`).
    #[arg(long)]
    rate: bool,
    /// Upper and lower connection thresholds (`ipvsadm -L --thresholds`).
    #[arg(long)]
    thresholds: bool,
    /// Persistent connections of each server (`ipvsadm -L --persistent-conn`); with
    /// `--connections`, the persistence engine's name and data.
    #[arg(long)]
    persistent_conns: bool,
    /// Everything above, plus timeouts and sync daemons.
    #[arg(long, short)]
    all: bool,
    /// Services and servers in the kernel's order instead of ipvsadm's (`ipvsadm --nosort`).
    #[arg(long)]
    nosort: bool,
    /// The output format.
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    format: ListFormat,
}

/// `ipvsc list`: what `ipvsadm -L -n` shows, with counters, rates, thresholds, timeouts and
/// daemons on request, in ipvsadm's order; or the connection table (`ipvsadm -L -c -n`).
pub fn run(args: Args) -> Outcome {
    let only = super::zero::service_arg(&args.service)?;
    if args.connections {
        return list_connections(&args, only.as_ref());
    }
    let mut kernel = super::open_netlink()?;
    let info = kernel.info()?;
    let mut services = kernel.stats()?;
    let timeouts = kernel.timeouts()?;
    let daemons = kernel.daemons()?;
    if let Some(key) = only {
        services.retain(|s| s.service.key == key);
        if services.is_empty() {
            return Err(Error::Input(format!("no such service {key}")));
        }
    }
    if !args.nosort {
        ipvsadm_order(&mut services);
    }
    match args.format {
        ListFormat::Json => {
            let listing = ListingDoc::new(
                info.version_string(),
                info.conn_tab_size,
                services
                    .iter()
                    .map(|s| {
                        ServiceListing::new(
                            &s.service,
                            &s.stats,
                            s.servers.iter().map(|(a, b)| (a, b)),
                        )
                    })
                    .collect(),
                timeouts,
                daemons.values(),
            );
            println!(
                "{}",
                serde_json::to_string_pretty(&listing).expect("a listing serializes")
            );
        }
        ListFormat::Text => {
            let view = View {
                stats: args.stats || args.all,
                rate: args.rate || args.all,
                thresholds: args.thresholds || args.all,
                persistent: args.persistent_conns || args.all,
            };
            print!("{}", render(&info, &services, view));
            if args.all {
                print!("{}", render_extras(&timeouts, daemons.values()));
            }
        }
    }
    Ok(Exit::Ok)
}

/// Services, and each service's servers, from the kernel's dump order into the order `ipvsadm
/// -L -n` prints them.
fn ipvsadm_order(services: &mut [ServiceStats]) {
    sort_services(services, |s| &s.service);
    for s in services {
        sort_servers(&mut s.servers, |(server, _)| server);
    }
}

/// Why the connection table cannot be read: without the file, IPVS is not loaded.
fn connections_unreadable(e: &std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::NotFound {
        return Error::Unavailable(Unavailable::NotLoaded);
    }
    Error::usage(format!("cannot read {}: {e}", conns::PROC_PATH))
}

/// `list --connections`: the connection table as `ipvsadm -L -c -n` prints it, or as JSON, one
/// entry at a time (the table may hold millions).
fn list_connections(args: &Args, only: Option<&ServiceKey>) -> Outcome {
    let wanted: Option<(String, SocketAddr)> = match only {
        None => None,
        Some(ServiceKey::Inet {
            protocol,
            addr,
            port,
        }) => Some((
            protocol.name().to_ascii_uppercase(),
            SocketAddr::new(*addr, *port),
        )),
        Some(key @ ServiceKey::Fwmark { .. }) => {
            return Err(Error::usage(format!(
                "the connection table does not say which firewall mark brought a connection: list the connections of {key} without it"
            )));
        }
    };
    let path = Path::new(conns::PROC_PATH);
    // The file exists exactly while ip_vs is loaded; look before printing a header.
    if let Err(e) = std::fs::metadata(path) {
        return Err(connections_unreadable(&e));
    }
    let pe = args.persistent_conns || args.all;
    let json = args.format == ListFormat::Json;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, std::io::stdout().lock());
    let mut written: std::io::Result<()> = if json {
        write!(
            out,
            "{{\n  \"format_version\": {CONNECTIONS_VERSION},\n  \"connections\": ["
        )
    } else {
        out.write_all(conns::ipvsadm_header(pe).as_bytes())
    };
    let mut first = true;
    let read = conns::for_each(path, |conn: Connection| {
        if written.is_err() {
            return;
        }
        if let Some((protocol, virtual_addr)) = &wanted {
            if conn.protocol != *protocol || conn.virtual_addr != *virtual_addr {
                return;
            }
        }
        written = if json {
            let sep = if first { "\n    " } else { ",\n    " };
            let entry = serde_json::to_string(&ConnectionDoc::from(&conn))
                .expect("a connection serializes");
            write!(out, "{sep}{entry}")
        } else {
            out.write_all(conns::ipvsadm_line(&conn, pe).as_bytes())
        };
        first = false;
    });
    if let Err(e) = read {
        // Whatever was printed stays; the error says the rest is missing.
        let _ = out.flush();
        return Err(connections_unreadable(&e));
    }
    if json && written.is_ok() {
        written = out.write_all(if first { b"]\n}\n" } else { b"\n  ]\n}\n" });
    }
    match written.and_then(|()| out.flush()) {
        Ok(()) => Ok(Exit::Ok),
        // A reader that stopped early (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Exit::Ok),
        Err(e) => Err(Error::usage(format!(
            "cannot write the connection table: {e}"
        ))),
    }
}

/// Which columns a listing shows besides the defaults.
#[derive(Clone, Copy, Default)]
pub struct View {
    pub stats: bool,
    pub rate: bool,
    pub thresholds: bool,
    pub persistent: bool,
}

fn service_title(s: &Service) -> String {
    let mut t = s.key.to_string();
    let _ = write!(t, "  {}", s.scheduler);
    for name in s.flags.names(s.scheduler) {
        let _ = write!(t, " {name}");
    }
    if let Some(p) = s.persistence {
        let _ = write!(t, "  persistent {}", language::duration(p));
        if !s.netmask.is_full() {
            let _ = write!(t, " netmask {}", s.netmask);
        }
    }
    if let Some(pe) = &s.pe {
        let _ = write!(t, "  pe {pe}");
    }
    if s.one_packet {
        t.push_str("  one-packet");
    }
    t
}

fn forward(f: Forward) -> String {
    match f {
        Forward::Dr => "dr".into(),
        Forward::Nat => "nat".into(),
        Forward::Tunnel(t) => format!("tunnel/{}", t.name()),
    }
}

fn stats_cells(s: &Stats, view: View) -> Vec<String> {
    let mut cells = Vec::new();
    if view.stats {
        cells.extend([s.conns, s.inpkts, s.outpkts, s.inbytes, s.outbytes].map(|v| v.to_string()));
    }
    if view.rate {
        cells.extend([s.cps, s.inpps, s.outpps, s.inbps, s.outbps].map(|v| v.to_string()));
    }
    cells
}

/// The listing as aligned text: a header, each service, its servers indented under it.
pub fn render(info: &IpvsInfo, services: &[ServiceStats], view: View) -> String {
    let mut header = vec![
        "SERVICE / SERVER",
        "FORWARD",
        "WEIGHT",
        "ACTIVE",
        "INACTIVE",
    ];
    if view.persistent {
        header.push("PERSIST");
    }
    if view.thresholds {
        header.extend(["UPPER", "LOWER"]);
    }
    if view.stats {
        header.extend(["CONNS", "INPKTS", "OUTPKTS", "INBYTES", "OUTBYTES"]);
    }
    if view.rate {
        header.extend(["CPS", "INPPS", "OUTPPS", "INBPS", "OUTBPS"]);
    }
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|h| h.to_string()).collect()];
    // A service row leaves the server columns empty and puts its own counters under theirs.
    let server_columns = header.len() - stats_cells(&Stats::default(), view).len() - 1;
    let mut titles = Vec::new();
    for s in services {
        titles.push((rows.len(), service_title(&s.service)));
        let mut row = vec![String::new(); server_columns + 1];
        row.extend(stats_cells(&s.stats, view));
        rows.push(row);
        for (server, counters) in &s.servers {
            let mut row = vec![
                format!("  -> {}", server.key),
                forward(server.forward),
                server.weight.to_string(),
                counters.active_conns.to_string(),
                counters.inactive_conns.to_string(),
            ];
            if view.persistent {
                row.push(counters.persistent_conns.to_string());
            }
            if view.thresholds {
                row.extend([server.upper.to_string(), server.lower.to_string()]);
            }
            row.extend(stats_cells(&counters.stats, view));
            rows.push(row);
        }
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = format!(
        "IP Virtual Server version {} (connection table size {})\n",
        info.version_string(),
        info.conn_tab_size
    );
    let mut title = titles.iter().peekable();
    for (i, row) in rows.iter().enumerate() {
        if let Some((_, t)) = title.next_if(|(at, _)| *at == i) {
            out.push_str(t);
            out.push('\n');
            if row.iter().all(String::is_empty) {
                continue;
            }
        }
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c == 0 {
                let _ = write!(line, "{cell:<w$}", w = widths[0]);
            } else {
                let _ = write!(line, "  {cell:>w$}", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Timeouts and sync daemons, for `list --all`.
pub fn render_extras<'a>(timeouts: &Timeouts, daemons: impl Iterator<Item = &'a Daemon>) -> String {
    let show = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    let mut out = format!(
        "\nTimeouts (seconds): tcp {}  tcpfin {}  udp {}\n",
        show(timeouts.tcp),
        show(timeouts.tcpfin),
        show(timeouts.udp)
    );
    for d in daemons {
        let _ = write!(
            out,
            "Sync daemon {}: interface {} syncid {}",
            d.state, d.interface, d.syncid
        );
        if let Some(v) = d.maxlen {
            let _ = write!(out, " maxlen {v}");
        }
        if let Some(v) = d.group {
            let _ = write!(out, " group {v}");
        }
        if let Some(v) = d.port {
            let _ = write!(out, " port {v}");
        }
        if let Some(v) = d.ttl {
            let _ = write!(out, " ttl {v}");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::packet::ServerCounters;
    use crate::model::{Server, ServerKey};

    fn listed(key: &str, servers: &[&str]) -> ServiceStats {
        let servers = servers
            .iter()
            .map(|s| {
                let at: SocketAddr = s.parse().unwrap();
                let key = ServerKey {
                    addr: at.ip(),
                    port: at.port(),
                };
                (Server::new(key), ServerCounters::default())
            })
            .collect();
        ServiceStats {
            service: Service::new(key.parse().unwrap()),
            stats: Stats::default(),
            servers,
        }
    }

    #[test]
    fn services_and_servers_take_ipvsadms_order() {
        let mut services = vec![
            listed("fwmark 3", &[]),
            listed("udp 10.0.0.1:53", &[]),
            listed(
                "tcp 10.0.0.1:80",
                &["10.0.0.2:80", "207.175.44.110:80", "10.0.0.1:80"],
            ),
            listed("tcp 207.175.44.110:80", &[]),
        ];
        ipvsadm_order(&mut services);
        let keys: Vec<String> = services.iter().map(|s| s.service.key.to_string()).collect();
        // ipvsadm's comparator subtracts addresses in 32 bits: 207.175.44.110 comes first.
        assert_eq!(
            keys,
            [
                "tcp 207.175.44.110:80",
                "tcp 10.0.0.1:80",
                "udp 10.0.0.1:53",
                "fwmark 3"
            ]
        );
        let servers: Vec<String> = services[1]
            .servers
            .iter()
            .map(|(s, _)| s.key.to_string())
            .collect();
        assert_eq!(servers, ["207.175.44.110:80", "10.0.0.1:80", "10.0.0.2:80"]);
    }
}
