//! `list --format json`: services with their counters, each server one object with its
//! settings and counters; and `list --connections --format json`, one object per entry.

use std::net::SocketAddr;

use serde::Serialize;

use super::{DaemonDoc, ServerDoc, ServiceDoc, TimeoutsDoc, LIST_VERSION};
use crate::kernel::conns::Connection;
use crate::kernel::packet::{ServerCounters, Stats};
use crate::model::{Daemon, Server, Service, Timeouts};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ListingDoc {
    pub format_version: u32,
    /// The kernel's IPVS version, `1.2.1`.
    pub version: String,
    pub conn_tab_size: u32,
    pub services: Vec<ServiceListing>,
    pub timeouts: TimeoutsDoc,
    pub daemons: Vec<DaemonDoc>,
}

/// A service: its settings (`servers` among them), its counters, and each server with its
/// counters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServiceListing {
    pub service: ServiceDoc,
    pub stats: StatsDoc,
    pub servers: Vec<ServerListing>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ServerListing {
    #[serde(flatten)]
    pub server: ServerDoc,
    pub active_conns: u32,
    pub inactive_conns: u32,
    pub persistent_conns: u32,
    pub stats: StatsDoc,
}

/// Counters since the last zeroing, and rates per second (bytes rates in bytes).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct StatsDoc {
    pub conns: u64,
    pub inpkts: u64,
    pub outpkts: u64,
    pub inbytes: u64,
    pub outbytes: u64,
    pub cps: u64,
    pub inpps: u64,
    pub outpps: u64,
    pub inbps: u64,
    pub outbps: u64,
}

impl From<&Stats> for StatsDoc {
    fn from(s: &Stats) -> StatsDoc {
        StatsDoc {
            conns: s.conns,
            inpkts: s.inpkts,
            outpkts: s.outpkts,
            inbytes: s.inbytes,
            outbytes: s.outbytes,
            cps: s.cps,
            inpps: s.inpps,
            outpps: s.outpps,
            inbps: s.inbps,
            outbps: s.outbps,
        }
    }
}

impl ServiceListing {
    pub fn new<'a>(
        service: &Service,
        stats: &Stats,
        servers: impl IntoIterator<Item = (&'a Server, &'a ServerCounters)>,
    ) -> ServiceListing {
        ServiceListing {
            service: service.into(),
            stats: stats.into(),
            servers: servers
                .into_iter()
                .map(|(server, c)| ServerListing {
                    server: server.into(),
                    active_conns: c.active_conns,
                    inactive_conns: c.inactive_conns,
                    persistent_conns: c.persistent_conns,
                    stats: (&c.stats).into(),
                })
                .collect(),
        }
    }
}

impl ListingDoc {
    pub fn new<'a>(
        version: String,
        conn_tab_size: u32,
        services: Vec<ServiceListing>,
        timeouts: Timeouts,
        daemons: impl IntoIterator<Item = &'a Daemon>,
    ) -> ListingDoc {
        ListingDoc {
            format_version: LIST_VERSION,
            version,
            conn_tab_size,
            services,
            timeouts: timeouts.into(),
            daemons: daemons.into_iter().map(DaemonDoc::from).collect(),
        }
    }
}

/// One entry of the connection table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnectionDoc<'a> {
    /// `TCP`, `UDP`, `SCTP`, or `IP` (a firewall-mark template).
    pub protocol: &'a str,
    pub client: SocketAddr,
    #[serde(rename = "virtual")]
    pub virtual_addr: SocketAddr,
    pub server: SocketAddr,
    pub state: &'a str,
    /// Seconds until it expires.
    pub expires: u32,
    /// The persistence engine's name and data.
    pub pe: Option<(&'a str, &'a str)>,
}

impl<'a> From<&'a Connection> for ConnectionDoc<'a> {
    fn from(c: &'a Connection) -> ConnectionDoc<'a> {
        ConnectionDoc {
            protocol: &c.protocol,
            client: c.client,
            virtual_addr: c.virtual_addr,
            server: c.server,
            state: &c.state,
            expires: c.expires,
            pe: c.pe.as_ref().map(|(a, b)| (a.as_str(), b.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Forward, ServerKey};

    /// Version 1 of `list --format json`, pinned: each server is one object with its settings
    /// and its counters.
    #[test]
    fn version_1_is_pinned() {
        let mut service = Service::new("tcp 10.0.0.1:80".parse().unwrap());
        let server = Server {
            key: ServerKey {
                addr: "10.0.0.2".parse().unwrap(),
                port: 80,
            },
            forward: Forward::Nat,
            weight: 2,
            upper: 0,
            lower: 0,
        };
        service.servers.insert(server.key, server);
        let stats = Stats {
            conns: 7,
            inpkts: 70,
            ..Stats::default()
        };
        let counters = ServerCounters {
            active_conns: 3,
            inactive_conns: 1,
            persistent_conns: 0,
            stats,
        };
        let doc = ListingDoc::new(
            "1.2.1".into(),
            4096,
            vec![ServiceListing::new(
                &service,
                &stats,
                [(&server, &counters)],
            )],
            Timeouts::KERNEL_DEFAULT,
            [],
        );
        let text = serde_json::to_string(&doc).unwrap();
        assert_eq!(
            text,
            r#"{"format_version":1,"version":"1.2.1","conn_tab_size":4096,"services":[{"service":{"key":{"kind":"inet","protocol":"tcp","addr":"10.0.0.1","port":80},"scheduler":"wlc","flags":0,"persistence":null,"netmask":{"ipv4":"255.255.255.255"},"pe":null,"one_packet":false,"servers":[{"key":{"addr":"10.0.0.2","port":80},"forward":{"method":"nat"},"weight":2,"upper":0,"lower":0}]},"stats":{"conns":7,"inpkts":70,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0},"servers":[{"key":{"addr":"10.0.0.2","port":80},"forward":{"method":"nat"},"weight":2,"upper":0,"lower":0,"active_conns":3,"inactive_conns":1,"persistent_conns":0,"stats":{"conns":7,"inpkts":70,"outpkts":0,"inbytes":0,"outbytes":0,"cps":0,"inpps":0,"outpps":0,"inbps":0,"outbps":0}}]}],"timeouts":{"tcp":900,"tcpfin":120,"udp":300},"daemons":[]}"#
        );
    }

    #[test]
    fn a_connection_is_pinned() {
        let conn = Connection {
            protocol: "TCP".into(),
            client: "192.0.2.9:40000".parse().unwrap(),
            virtual_addr: "10.0.0.1:80".parse().unwrap(),
            server: "10.0.0.2:80".parse().unwrap(),
            state: "ESTABLISHED".into(),
            expires: 899,
            pe: None,
        };
        assert_eq!(
            serde_json::to_string(&ConnectionDoc::from(&conn)).unwrap(),
            r#"{"protocol":"TCP","client":"192.0.2.9:40000","virtual":"10.0.0.1:80","server":"10.0.0.2:80","state":"ESTABLISHED","expires":899,"pe":null}"#
        );
    }
}
