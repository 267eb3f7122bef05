//! The rules for a virtual service (`ipvsadm -A`, `-E`, `-D`, `-C`) and its settings.

use std::net::Ipv4Addr;

use super::builder::{dup, Builder};
use super::spec::{NetmaskSpec, ServiceSpec};
use super::values::in_range;
use crate::diagnostic::{Code, Diagnostic};
use crate::model::*;
use crate::source::Spanned;

impl Builder {
    /// `ipvsadm -A`: a new service. Returns whether it was added.
    pub fn add_service(&mut self, spec: &ServiceSpec) -> bool {
        let key = spec.key.value;
        if let Some(first) = self.map.services.get(&key) {
            let d = dup(
                Code::DupService,
                spec.key.span,
                *first,
                format!("service {key}"),
            );
            self.report(d);
            return false;
        }
        let Some(service) = self.service_settings(spec, Service::new(key)) else {
            return false;
        };
        self.table.services.insert(key, service);
        self.map.services.insert(key, spec.span);
        true
    }

    /// `ipvsadm -E`: new settings for an existing service; its servers stay.
    pub fn edit_service(&mut self, spec: &ServiceSpec) -> bool {
        let key = spec.key.value;
        let Some(old) = self.table.services.get(&key).cloned() else {
            self.no_such_service(spec.key);
            return false;
        };
        let mut fresh = Service::new(key);
        fresh.servers = old.servers;
        match self.service_settings(spec, fresh) {
            Some(service) => {
                self.table.services.insert(key, service);
                true
            }
            None => false,
        }
    }

    /// `ipvsadm -D`
    pub fn delete_service(&mut self, key: Spanned<ServiceKey>) -> bool {
        self.last_service = None;
        if self.table.services.remove(&key.value).is_none() {
            self.no_such_service(key);
            return false;
        }
        self.map.remove_service(&key.value);
        true
    }

    /// `ipvsadm -C`
    pub fn clear(&mut self) {
        self.last_service = None;
        self.table.services.clear();
        self.map.clear_services();
    }

    /// Reports `key` as undefined, as the kernel's ESRCH.
    pub fn no_such_service(&mut self, key: Spanned<ServiceKey>) {
        self.report(no_such_service(key));
    }

    fn service_settings(&mut self, spec: &ServiceSpec, mut service: Service) -> Option<Service> {
        let before = self.error_count();
        let key = spec.key.value;
        service.scheduler = spec.scheduler.map_or(Scheduler::Wlc, |s| s.value);
        if let Some(p) = spec.persistence {
            service.persistence = self.report_result(
                in_range(p, 1, MAX_TIMEOUT.into(), "the persistence timeout").map(|v| v as u32),
            );
        }
        if let ServiceKey::Inet { port: 0, .. } = key {
            if spec.persistence.is_none() {
                self.report(
                    Diagnostic::error(Code::PortZero, spec.key.span, format!("service {key} has port 0 but is not persistent"))
                        .label("port 0 means any port")
                        .help("give the service a port, or make it persistent (port 0 forwards every port and needs persistence)"),
                );
            }
        }
        if let Some(span) = spec.one_packet {
            service.one_packet = true;
            if matches!(key.protocol(), Some(Protocol::Tcp | Protocol::Sctp)) {
                self.report(
                    Diagnostic::error(
                        Code::OnePacket,
                        span,
                        "one-packet scheduling is only for UDP and firewall-mark services",
                    )
                    .label(format!(
                        "service is {}",
                        key.protocol().map_or("", Protocol::name)
                    ))
                    .help(format!(
                        "remove {}: TCP and SCTP connections are never one packet",
                        self.dialect.word("`one-packet`", "`-o`")
                    )),
                );
            }
        }
        for flag in &spec.flags {
            let allowed = flag.value.only_for;
            if !allowed.is_empty() && !allowed.contains(&service.scheduler) {
                let names: Vec<&str> = allowed.iter().map(|s| s.name()).collect();
                self.report(
                    Diagnostic::error(
                        Code::SchedFlag,
                        flag.span,
                        format!(
                            "this flag is only for the {} scheduler",
                            names.join(" and ")
                        ),
                    )
                    .label(format!("scheduler is {}", service.scheduler))
                    .help(format!(
                        "remove the flag, or use scheduler {}",
                        names.join(" or ")
                    )),
                );
            }
            service.flags.0 |= flag.value.bit;
        }
        if let Some(mask) = spec.netmask {
            service.netmask = self
                .report_result(netmask(mask, key.family()))
                .unwrap_or(service.netmask);
            if spec.persistence.is_none() {
                self.report(
                    Diagnostic::warning(
                        Code::NetmaskWithoutPersistence,
                        mask.span,
                        "a netmask without persistence has no effect",
                    )
                    .label("ignored: the service is not persistent")
                    .help(format!(
                        "add {} to group clients by this netmask, or remove {}",
                        self.dialect.word("`persistent`", "`-p`"),
                        self.dialect.word("the netmask", "`-M`")
                    )),
                );
            }
        }
        if let Some(pe) = &spec.pe {
            if pe.value != "sip" {
                self.report(
                    Diagnostic::error(
                        Code::UnknownValue,
                        pe.span,
                        format!("unknown persistence engine `{}`", pe.value),
                    )
                    .label("unknown persistence engine")
                    .help("the kernel has one persistence engine: sip"),
                );
            } else if spec.persistence.is_none() {
                self.report(
                    Diagnostic::warning(
                        Code::PeWithoutPersistence,
                        pe.span,
                        "a persistence engine without persistence has no effect",
                    )
                    .label("ignored: the service is not persistent")
                    .help(format!(
                        "add {}, or remove {}",
                        self.dialect.word("`persistent`", "`-p`"),
                        self.dialect.word("`pe`", "`--pe`")
                    )),
                );
            }
            service.pe = Some(pe.value.clone());
        }
        (self.error_count() == before).then_some(service)
    }
}

/// The diagnostic for a command on a service that is not defined.
pub fn no_such_service(key: Spanned<ServiceKey>) -> Diagnostic {
    Diagnostic::error(
        Code::NoSuchService,
        key.span,
        format!("service {} is not defined", key.value),
    )
    .label("no such service")
    .help("define the service (-A) before this line")
}

fn netmask(mask: Spanned<NetmaskSpec>, family: Family) -> Result<Netmask, Diagnostic> {
    match (mask.value, family) {
        (NetmaskSpec::Ipv4(m), Family::Ipv4) => Ok(Netmask::Ipv4(m)),
        (NetmaskSpec::Prefix(p), Family::Ipv4) => {
            let p = in_range(Spanned::new(p, mask.span), 0, 32, "an IPv4 prefix length")?;
            Ok(Netmask::Ipv4(Ipv4Addr::from(
                u32::MAX.checked_shl(32 - p as u32).unwrap_or(0),
            )))
        }
        (NetmaskSpec::Prefix(p), Family::Ipv6) => {
            in_range(Spanned::new(p, mask.span), 1, 128, "an IPv6 prefix length")
                .map(|p| Netmask::Ipv6(p as u8))
        }
        (NetmaskSpec::Ipv4(m), Family::Ipv6) => Err(Diagnostic::error(
            Code::FamilyMismatch,
            mask.span,
            format!("an IPv4 netmask {m} for an IPv6 service"),
        )
        .label("IPv4 netmask")
        .help("an IPv6 service takes a prefix length, like /64")),
    }
}
