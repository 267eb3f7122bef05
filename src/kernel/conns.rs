//! The kernel's connection table, `/proc/net/ip_vs_conn` (what `ipvsadm -L -c` prints). There
//! is no netlink command for connections; the file is per network namespace.
//!
//! The kernel writes it with `ip_vs_conn_seq_show` (`net/netfilter/ipvs/ip_vs_conn.c`): a header
//! line, then one line per entry:
//!
//! ```text
//! Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData
//! TCP 0A000002 B5E2 0A000001 0050 C0A80A01 1F90 ESTABLISHED     899
//! ```
//!
//! The protocol (`TCP`, `UDP`, `SCTP`, `IP` for a firewall-mark persistence template, `ICMP`,
//! `ICMPv6`, `IP_N` for others); client, virtual and destination address, each followed by its
//! port in four hex digits. An IPv4 address is eight hex digits (the value in host order), an
//! IPv6 one is printed with `%pI6` (eight groups of four hex digits). The client and virtual
//! addresses take the connection's family, the destination its own (a tunneled server may be of
//! the other family). Then the state name, padded to 11; the seconds until the entry expires,
//! right-aligned in 7; and, for an entry a persistence engine made, a space, the engine's name, a
//! space and its data (`sip` and the Call-ID).

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

use serde::Serialize;

use crate::model::{ServerKey, ServiceKey};

/// Where the kernel lists the connections of the reader's network namespace.
pub const PROC_PATH: &str = "/proc/net/ip_vs_conn";

/// One entry of the connection table: a connection, or a persistence template.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Connection {
    /// `TCP`, `UDP`, `SCTP`, or `IP` for the template of a firewall-mark service, as the file
    /// says.
    pub protocol: String,
    /// The client's address and port (port 0 in a persistence template).
    pub client: SocketAddr,
    /// The virtual service's address and port. A firewall-mark template holds the mark as an
    /// IPv4 address (mark 10 is `0.0.0.10`) and port 0.
    #[serde(rename = "virtual")]
    pub virtual_addr: SocketAddr,
    /// The real server.
    pub server: SocketAddr,
    /// The kernel's state name: `ESTABLISHED`, `TIME_WAIT`, `UDP`, `NONE`, `ASSURED`, ...
    pub state: String,
    /// Seconds until the entry expires.
    pub expires: u32,
    /// The persistence engine's name and data (`sip` and the Call-ID), when an engine made the
    /// entry.
    pub pe: Option<(String, String)>,
}

impl Connection {
    /// A persistence template, not a connection: it keeps a client on a server (`ipvsadm
    /// -p`). Firewall-mark templates have protocol `IP`; the templates of other services keep
    /// the service's protocol and are told apart by their client port 0 and template state
    /// (`NONE` or `ASSURED`), which no TCP, UDP or SCTP connection has together.
    pub fn is_template(&self) -> bool {
        self.protocol == "IP"
            || (self.client.port() == 0 && matches!(self.state.as_str(), "NONE" | "ASSURED"))
    }

    /// The connection is over and only waits out its timer: TCP `TIME_WAIT` or `CLOSE`, SCTP
    /// `CLOSED` or `REJECTED`. It still counts in the server's InActConn until it expires.
    pub fn is_closing(&self) -> bool {
        !self.is_template()
            && matches!(
                self.state.as_str(),
                "TIME_WAIT" | "CLOSE" | "CLOSED" | "REJECTED"
            )
    }
}

/// One line of [`PROC_PATH`]: `Ok(None)` for the header line, the entry otherwise, or what is
/// wrong with it.
pub fn parse_line(line: &str) -> Result<Option<Connection>, String> {
    let line = line.trim_end_matches(['\n', '\r']);
    if line.starts_with("Pro ") {
        return Ok(None);
    }
    let bad = |what: &str| format!("not an IPVS connection entry ({what}): `{line}`");
    // The PE data comes last and is the engine's to format: split off only the fixed fields
    // and the PE name.
    let mut rest = line.trim_start();
    let mut field = |what: &str| -> Result<&str, String> {
        let end = rest.find(' ').unwrap_or(rest.len());
        let (word, tail) = rest.split_at(end);
        if word.is_empty() {
            return Err(bad(&format!("no {what}")));
        }
        rest = tail.trim_start_matches(' ');
        Ok(word)
    };
    let protocol = field("protocol")?.to_string();
    let client = endpoint(field("client address")?, field("client port")?)
        .ok_or_else(|| bad("client address"))?;
    let virtual_addr = endpoint(field("virtual address")?, field("virtual port")?)
        .ok_or_else(|| bad("virtual address"))?;
    let server = endpoint(field("server address")?, field("server port")?)
        .ok_or_else(|| bad("server address"))?;
    let state = field("state")?.to_string();
    let expires = field("expiry")?.parse::<u32>().map_err(|_| bad("expiry"))?;
    let pe = if rest.is_empty() {
        None
    } else {
        let (name, data) = rest.split_once(' ').unwrap_or((rest, ""));
        Some((name.to_string(), data.to_string()))
    };
    Ok(Some(Connection {
        protocol,
        client,
        virtual_addr,
        server,
        state,
        expires,
        pe,
    }))
}

/// An address as `ip_vs_conn_seq_show` prints it (eight hex digits, or `%pI6`) and a port in
/// four hex digits.
fn endpoint(addr: &str, port: &str) -> Option<SocketAddr> {
    let ip = if addr.contains(':') {
        IpAddr::V6(addr.parse::<Ipv6Addr>().ok()?)
    } else if addr.len() == 8 {
        IpAddr::V4(Ipv4Addr::from(u32::from_str_radix(addr, 16).ok()?))
    } else {
        return None;
    };
    if port.len() != 4 {
        return None;
    }
    Some(SocketAddr::new(ip, u16::from_str_radix(port, 16).ok()?))
}

/// Calls `f` with each entry of the connection table file at `path` ([`PROC_PATH`] for the
/// kernel's), reading line by line: memory stays bounded however many million entries the
/// table holds. A line that is not an entry is an `InvalidData` error naming it.
pub fn for_each(path: &Path, mut f: impl FnMut(Connection)) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, std::fs::File::open(path)?);
    let mut line = String::new();
    let mut number = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        number += 1;
        match parse_line(&line) {
            Ok(Some(conn)) => f(conn),
            Ok(None) => {}
            Err(e) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{}:{number}: {e}", path.display()),
                ))
            }
        }
    }
}

/// `ipvsadm -L -c -n`'s header (`list_conn`), with the persistence engine's columns when
/// `pe` (ipvsadm's `--persistent-conn`).
pub fn ipvsadm_header(pe: bool) -> String {
    if pe {
        format!(
            "IPVS connection entries\npro expire {:<11} {:<18} {:<18} {:<18} {:<16} {}\n",
            "state", "source", "virtual", "destination", "pe name", "pe_data"
        )
    } else {
        format!(
            "IPVS connection entries\npro expire {:<11} {:<18} {:<18} {}\n",
            "state", "source", "virtual", "destination"
        )
    }
}

/// One entry as `ipvsadm -L -c -n` prints it (`print_conn`): expiry as minutes:seconds, IPv6
/// addresses in brackets, and with `pe` (`--persistent-conn`) the engine's name and data when
/// the entry has them. ipvsadm reads all three addresses by the client's family; this prints
/// each by its own, which differs only for a tunneled server of the other family.
pub fn ipvsadm_line(conn: &Connection, pe: bool) -> String {
    let expire = format!("{:02}:{:02}", conn.expires / 60, conn.expires % 60);
    let head = format!(
        "{:<3} {:<6} {:<11} {:<18} {:<18}",
        conn.protocol,
        expire,
        conn.state,
        conn.client.to_string(),
        conn.virtual_addr.to_string()
    );
    match (&conn.pe, pe) {
        (Some((name, data)), true) => {
            format!("{head} {:<16} {name:<18} {data}\n", conn.server.to_string())
        }
        _ => format!("{head} {}\n", conn.server),
    }
}

/// Counts, into each server's load, its connections that are over (TIME_WAIT, CLOSE): the
/// connection table is the only place that tells them apart from the live inactive ones.
pub fn count_closing(path: &Path, loads: &mut super::Loads) -> std::io::Result<()> {
    // Each server's entry, by the real server's address: a server of several services is
    // told apart by the service's address, port and protocol (a firewall mark's connections
    // show the packet's address, so they match any).
    let mut by_server: std::collections::HashMap<SocketAddr, Vec<(ServiceKey, ServerKey)>> =
        std::collections::HashMap::new();
    for (service, server) in loads.keys() {
        by_server
            .entry(SocketAddr::new(server.addr, server.port))
            .or_default()
            .push((*service, *server));
    }
    for_each(path, |conn| {
        if !conn.is_closing() {
            return;
        }
        let Some(keys) = by_server.get(&conn.server) else {
            return;
        };
        let of_service = |service: &ServiceKey| match service {
            ServiceKey::Fwmark { .. } => true,
            ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => {
                conn.protocol.eq_ignore_ascii_case(protocol.name())
                    && conn.virtual_addr == SocketAddr::new(*addr, *port)
            }
        };
        if let Some(key) = keys.iter().find(|(service, _)| of_service(service)) {
            if let Some(load) = loads.get_mut(key) {
                load.closing += 1;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sock(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    // Lines as a 6.1 kernel writes them: `%-3s %08X %04X %08X %04X %s %04X %-11s %7u%s`.
    const HEADER: &str =
        "Pro FromIP   FPrt ToIP     TPrt DestIP   DPrt State       Expires PEName PEData\n";
    const TCP4: &str = "TCP 0A000002 B5E2 0A000001 0050 C0A80A01 1F90 ESTABLISHED     899\n";
    const TEMPLATE_FWM: &str =
        "IP  C0A80006 0000 0000000A 0000 0A000011 0000 NONE            948\n";
    const TEMPLATE_TCP: &str =
        "TCP C000026E 0000 0A600164 0050 0A000106 1F90 ASSURED       10793\n";
    const TCP6: &str = "TCP 2001:0db8:0000:0000:0000:0000:0000:0002 D431 2001:0db8:0000:0000:0000:0000:0000:0001 0050 2001:0db8:0000:0000:0000:0000:0000:0010 0050 TIME_WAIT       117\n";
    const SIP: &str = "UDP 0A000002 13C4 0A000001 13C4 0A000005 13C4 UDP             179 sip a84b4c76e66710@pc33.example.com\n";

    #[test]
    fn header_is_none() {
        assert_eq!(parse_line(HEADER), Ok(None));
    }

    #[test]
    fn ipv4_connection() {
        let c = parse_line(TCP4).unwrap().unwrap();
        assert_eq!(
            c,
            Connection {
                protocol: "TCP".into(),
                client: sock("10.0.0.2:46562"),
                virtual_addr: sock("10.0.0.1:80"),
                server: sock("192.168.10.1:8080"),
                state: "ESTABLISHED".into(),
                expires: 899,
                pe: None,
            }
        );
        assert!(!c.is_template());
        assert!(!c.is_closing());
        assert_eq!(
            ipvsadm_line(&c, false),
            "TCP 14:59  ESTABLISHED 10.0.0.2:46562     10.0.0.1:80        192.168.10.1:8080\n"
        );
    }

    #[test]
    fn ipv6_connection() {
        let c = parse_line(TCP6).unwrap().unwrap();
        assert_eq!(c.client, sock("[2001:db8::2]:54321"));
        assert_eq!(c.virtual_addr, sock("[2001:db8::1]:80"));
        assert_eq!(c.server, sock("[2001:db8::10]:80"));
        assert_eq!(c.state, "TIME_WAIT");
        assert_eq!(c.expires, 117);
        assert!(c.is_closing());
        assert_eq!(
            ipvsadm_line(&c, false),
            "TCP 01:57  TIME_WAIT   [2001:db8::2]:54321 [2001:db8::1]:80   [2001:db8::10]:80\n"
        );
    }

    #[test]
    fn templates() {
        let fwm = parse_line(TEMPLATE_FWM).unwrap().unwrap();
        assert_eq!(fwm.protocol, "IP");
        assert_eq!(fwm.virtual_addr, sock("0.0.0.10:0"));
        assert!(fwm.is_template());
        assert!(!fwm.is_closing());
        let tcp = parse_line(TEMPLATE_TCP).unwrap().unwrap();
        assert_eq!(tcp.client, sock("192.0.2.110:0"));
        assert_eq!(tcp.expires, 10793);
        assert!(tcp.is_template());
        // Seen on 6.1 after one request to a `-p 60` service: the template of a TCP service.
        let seen = "TCP 0A640102 0000 0A000064 0050 0AC80102 0050 ASSURED          59\n";
        let seen = parse_line(seen).unwrap().unwrap();
        assert_eq!(seen.client, sock("10.100.1.2:0"));
        assert!(seen.is_template());
        // Minutes are not capped at two digits.
        assert_eq!(
            ipvsadm_line(&tcp, false),
            "TCP 179:53 ASSURED     192.0.2.110:0      10.96.1.100:80     10.0.1.6:8080\n"
        );
    }

    #[test]
    fn persistence_engine_data() {
        let c = parse_line(SIP).unwrap().unwrap();
        assert_eq!(
            c.pe,
            Some(("sip".into(), "a84b4c76e66710@pc33.example.com".into()))
        );
        assert_eq!(c.state, "UDP");
        assert!(!c.is_template());
        assert_eq!(
            ipvsadm_line(&c, true),
            "UDP 02:59  UDP         10.0.0.2:5060      10.0.0.1:5060      10.0.0.5:5060    sip                a84b4c76e66710@pc33.example.com\n"
        );
        // Without --persistent-conn, ipvsadm leaves the engine out.
        assert!(ipvsadm_line(&c, false).ends_with(" 10.0.0.5:5060\n"));
    }

    #[test]
    fn json_names_the_virtual_address_virtual() {
        let c = parse_line(TCP4).unwrap().unwrap();
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["virtual"], "10.0.0.1:80");
        assert_eq!(json["server"], "192.168.10.1:8080");
        assert_eq!(json["pe"], serde_json::Value::Null);
    }

    #[test]
    fn malformed_lines_are_errors() {
        for line in [
            "TCP 0A000002 B5E2 0A000001 0050 C0A80A01 1F90 ESTABLISHED\n",
            "TCP 0A0002 B5E2 0A000001 0050 C0A80A01 1F90 ESTABLISHED 899\n",
            "TCP 0A000002 B5E2 0A000001 0050 C0A80A01 1F90 ESTABLISHED soon\n",
            "TCP 0A000002 XYZW 0A000001 0050 C0A80A01 1F90 ESTABLISHED 899\n",
            "\n",
        ] {
            let e = parse_line(line).unwrap_err();
            assert!(e.contains("not an IPVS connection entry"), "{e}");
        }
    }

    #[test]
    fn for_each_streams_a_file() {
        let dir = std::env::temp_dir().join(format!("ipvsc-conns-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ip_vs_conn");
        std::fs::write(&path, [HEADER, TCP4, TCP6, TEMPLATE_FWM, SIP].concat()).unwrap();
        let mut seen = Vec::new();
        for_each(&path, |c| seen.push(c.protocol)).unwrap();
        assert_eq!(seen, ["TCP", "TCP", "IP", "UDP"]);

        std::fs::write(&path, [HEADER, TCP4, "garbage\n"].concat()).unwrap();
        let e = for_each(&path, |_| {}).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
        assert!(e.to_string().contains(":3: "), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn closed_connections_are_counted_for_their_service_and_server() {
        use crate::kernel::{Load, Loads};
        let dir = std::env::temp_dir().join(format!("ipvsc-closing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ip_vs_conn");
        // Server 192.168.10.1:8080 of tcp 10.0.0.1:80 (one open, two closed) and of
        // tcp 10.0.0.1:81 (one closed); a template of the first, which is no connection.
        let lines = [
            HEADER,
            TCP4,
            "TCP 0A000002 B5E3 0A000001 0050 C0A80A01 1F90 TIME_WAIT       110\n",
            "TCP 0A000003 B5E4 0A000001 0050 C0A80A01 1F90 CLOSE             5\n",
            "TCP 0A000003 B5E5 0A000001 0051 C0A80A01 1F90 TIME_WAIT        90\n",
            "TCP 0A000003 0000 0A000001 0050 C0A80A01 1F90 NONE            300\n",
        ];
        std::fs::write(&path, lines.concat()).unwrap();
        let svc = |port| ServiceKey::Inet {
            protocol: crate::model::Protocol::Tcp,
            addr: "10.0.0.1".parse().unwrap(),
            port,
        };
        let server = ServerKey {
            addr: "192.168.10.1".parse().unwrap(),
            port: 8080,
        };
        let mut loads = Loads::new();
        let busy = Load {
            active: 1,
            inactive: 2,
            persistent: 1,
            closing: 0,
        };
        loads.insert((svc(80), server), busy);
        loads.insert(
            (svc(81), server),
            Load {
                inactive: 1,
                ..Load::default()
            },
        );
        count_closing(&path, &mut loads).unwrap();
        assert_eq!(loads[&(svc(80), server)].closing, 2);
        assert_eq!(
            loads[&(svc(80), server)].left(),
            2,
            "the open one and the template"
        );
        assert_eq!(loads[&(svc(81), server)].left(), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn headers() {
        assert_eq!(
            ipvsadm_header(false),
            "IPVS connection entries\npro expire state       source             virtual            destination\n"
        );
        assert!(ipvsadm_header(true).ends_with("destination        pe name          pe_data\n"));
    }
}
