//! The VM run's listings against ipvsadm's: the numbers of every view, and the order of
//! services and servers.

#[allow(unused_imports)]
use crate::*;
/// Numbers per service and per server of one view, keyed by how ipvsadm names them:
/// ("TCP 10.9.9.9:80", None) for a service, (service, Some("127.0.0.1:80")) for a server.
pub(crate) type Numbers = BTreeMap<(String, Option<String>), Vec<u64>>;

/// The numbers of an `ipvsadm -L -n` view: every numeric word after the service or server.
pub(crate) fn ipvsadm_numbers(text: &str) -> Numbers {
    let mut out = Numbers::new();
    let mut service = None;
    for line in text.lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        let numbers = |from: usize| {
            words[from..]
                .iter()
                .filter_map(|w| w.parse().ok())
                .collect()
        };
        match words.as_slice() {
            [proto @ ("TCP" | "UDP" | "SCTP" | "FWM"), id, ..] => {
                let name = format!("{proto} {id}");
                out.insert((name.clone(), None), numbers(2));
                service = Some(name);
            }
            ["->", "RemoteAddress:Port", ..] => {}
            ["->", addr, ..] => {
                let svc = service.clone().expect("a server line after a service line");
                out.insert((svc, Some(addr.to_string())), numbers(2));
            }
            _ => {}
        }
    }
    out
}

/// The same views made from `ipvsc list --format json`.
pub(crate) fn ipvsc_numbers(json: &str) -> BTreeMap<&'static str, Numbers> {
    let listing: serde_json::Value = serde_json::from_str(json).expect("ipvsc list --format json");
    let mut views: BTreeMap<&'static str, Numbers> = BTreeMap::new();
    let n =
        |v: &serde_json::Value, k: &str| v[k].as_u64().unwrap_or_else(|| panic!("no {k} in {v}"));
    let stats = |v: &serde_json::Value| {
        ["conns", "inpkts", "outpkts", "inbytes", "outbytes"]
            .map(|k| n(v, k))
            .to_vec()
    };
    let rate = |v: &serde_json::Value| {
        ["cps", "inpps", "outpps", "inbps", "outbps"]
            .map(|k| n(v, k))
            .to_vec()
    };
    for entry in listing["services"].as_array().expect("services") {
        let service: ipvsc::model::Service =
            serde_json::from_value::<ipvsc::wire::ServiceDoc>(entry["service"].clone())
                .unwrap()
                .try_into()
                .unwrap();
        let name = match service.key {
            ipvsc::model::ServiceKey::Inet {
                protocol,
                addr,
                port,
            } => format!(
                "{} {}",
                protocol.name().to_uppercase(),
                ipvsc::model::ServerKey { addr, port }
            ),
            ipvsc::model::ServiceKey::Fwmark { mark, .. } => format!("FWM {mark}"),
        };
        views
            .entry("ipvsadm-stats")
            .or_default()
            .insert((name.clone(), None), stats(&entry["stats"]));
        views
            .entry("ipvsadm-rate")
            .or_default()
            .insert((name.clone(), None), rate(&entry["stats"]));
        // Each server is one object: its settings and its counters.
        for counters in entry["servers"].as_array().expect("servers") {
            let server: ipvsc::model::Server =
                serde_json::from_value::<ipvsc::wire::ServerDoc>(counters.clone())
                    .unwrap()
                    .try_into()
                    .unwrap();
            let key = (name.clone(), Some(server.key.to_string()));
            let (active, inactive, persist) = (
                n(counters, "active_conns"),
                n(counters, "inactive_conns"),
                n(counters, "persistent_conns"),
            );
            let weight = u64::from(server.weight);
            let view = |v: &'static str,
                        numbers: Vec<u64>,
                        views: &mut BTreeMap<&'static str, Numbers>| {
                views.entry(v).or_default().insert(key.clone(), numbers);
            };
            view("ipvsadm-list", vec![weight, active, inactive], &mut views);
            view(
                "ipvsadm-thresholds",
                vec![server.upper.into(), server.lower.into(), active, inactive],
                &mut views,
            );
            view(
                "ipvsadm-persistent",
                vec![weight, persist, active, inactive],
                &mut views,
            );
            view("ipvsadm-stats", stats(&counters["stats"]), &mut views);
            view("ipvsadm-rate", rate(&counters["stats"]), &mut views);
        }
    }
    views
}

/// A scenario's output cut at its `@@ NAME` lines: each section's text by name.
pub(crate) fn sections(output: &str) -> BTreeMap<&str, String> {
    let mut sections: BTreeMap<&str, String> = BTreeMap::new();
    let mut current = None;
    for line in output.lines() {
        if let Some(name) = line.strip_prefix("@@ ") {
            current = Some(name.trim());
            sections.entry(name.trim()).or_default();
        } else if let Some(name) = current {
            let s = sections.get_mut(name).unwrap();
            s.push_str(line);
            s.push('\n');
        }
    }
    sections
}

/// The services and servers of an `ipvsadm -L -n` listing in its order: `tcp A:P`,
/// `fwmark N`, `-> A:P`.
pub(crate) fn ipvsadm_sequence(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["TCP" | "UDP" | "SCTP", addr, ..] => {
                    Some(format!("{} {addr}", words[0].to_lowercase()))
                }
                ["FWM", mark, ..] => Some(format!("fwmark {mark}")),
                ["->", addr, ..]
                    if addr
                        .rsplit_once(':')
                        .is_some_and(|(_, p)| p.parse::<u16>().is_ok()) =>
                {
                    Some(format!("-> {addr}"))
                }
                _ => None,
            }
        })
        .collect()
}

/// The same sequence from `ipvsc list --format json`.
pub(crate) fn ipvsc_sequence(json: &str) -> Result<Vec<String>, String> {
    let listing: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for s in listing["services"].as_array().ok_or("no services array")? {
        let key: ServiceKey =
            serde_json::from_value::<ipvsc::wire::ServiceKeyDoc>(s["service"]["key"].clone())
                .map_err(|e| e.to_string())?
                .try_into()
                .map_err(|e: ipvsc::wire::Invalid| e.to_string())?;
        out.push(key.to_string());
        for server in s["servers"].as_array().ok_or("no servers array")? {
            let server: ServerKey =
                serde_json::from_value::<ipvsc::wire::ServerKeyDoc>(server["key"].clone())
                    .map_err(|e| e.to_string())?
                    .into();
            out.push(format!("-> {server}"));
        }
    }
    Ok(out)
}

/// `ipvsc list --format json` (and with `--nosort`) orders services and servers as `ipvsadm
/// -L -n` (and with `--nosort`) does.
pub(crate) fn compare_orders(output: &str) -> Vec<String> {
    let sections = sections(output);
    let mut failures = Vec::new();
    for (theirs, ours) in [
        ("ipvsadm-order", "ipvsc-order-json"),
        ("ipvsadm-nosort", "ipvsc-nosort-json"),
    ] {
        let (Some(theirs_text), Some(ours_json)) = (sections.get(theirs), sections.get(ours))
        else {
            failures.push(format!(
                "list_conns printed no `@@ {theirs}` or `@@ {ours}`"
            ));
            continue;
        };
        let want = ipvsadm_sequence(theirs_text);
        match ipvsc_sequence(ours_json) {
            Ok(have) if have == want => {}
            Ok(have) => failures.push(format!(
                "list_conns: {ours} orders otherwise than {theirs}:\n{}\n---\n{}",
                have.join("\n"),
                want.join("\n")
            )),
            Err(e) => failures.push(format!(
                "list_conns: {ours} is not a listing: {e}\n{ours_json}"
            )),
        }
        if want.len() < 20 {
            failures.push(format!(
                "list_conns: {theirs} has too few entries to prove an order"
            ));
        }
    }
    failures
}

/// `ipvsc list` against `ipvsadm -L -n` in each view, on the same table with traffic.
pub(crate) fn compare_listings(output: &str) -> Vec<String> {
    let sections = sections(output);
    let Some(json) = sections.get("ipvsc-json") else {
        return vec![format!(
            "list_zero printed no `ipvsc list --format json`:\n{output}"
        )];
    };
    let ours = ipvsc_numbers(json);
    let mut failures = Vec::new();
    for (view, theirs_text) in &sections {
        if !view.starts_with("ipvsadm-") || *view == "ipvsadm-rate-after" {
            continue;
        }
        let theirs = ipvsadm_numbers(theirs_text);
        let ours = &ours[view];
        for (key, want) in &theirs {
            // A service line shows scheduler words, not numbers, outside --stats and --rate.
            if key.1.is_none() && !matches!(*view, "ipvsadm-stats" | "ipvsadm-rate") {
                continue;
            }
            let have = ours.get(key);
            let also = (*view == "ipvsadm-rate")
                .then(|| ipvsadm_numbers(&sections["ipvsadm-rate-after"]))
                .and_then(|after| after.get(key).cloned());
            if have != Some(want) && have.cloned() != also {
                failures.push(format!(
                    "list {view}: {key:?}: ipvsadm shows {want:?}, ipvsc {have:?}\n{theirs_text}"
                ));
            }
        }
        if theirs.keys().filter(|k| k.1.is_some()).count()
            != ours.keys().filter(|k| k.1.is_some()).count()
        {
            failures.push(format!(
                "list {view}: ipvsadm and ipvsc list different servers\n{theirs_text}"
            ));
        }
    }
    let stats = &ours["ipvsadm-stats"];
    if !stats.values().any(|v| v[0] > 0) {
        failures.push(
            "list: the traffic made no connections, so the counters compared prove little".into(),
        );
    }
    failures
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listings_that_differ_are_reported() {
        let ipvsadm = "@@ ipvsadm-list\nIP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\nTCP  10.9.9.9:80 rr\n  -> 127.0.0.1:80                 Route   2      0          20\n@@ ipvsadm-stats\nTCP  10.9.9.9:80                        20      139      101     8808     9672\n  -> 127.0.0.1:80                       20      139      101     8808     9672\n";
        let json = |weight: u32| {
            format!(
                "@@ ipvsc-json\n{{\"services\": [{{\"service\": {{\"key\": {{\"kind\": \"inet\", \"protocol\": \"tcp\", \"addr\": \"10.9.9.9\", \"port\": 80}}, \"scheduler\": \"rr\", \"flags\": 0, \"persistence\": null, \"netmask\": {{\"ipv4\": \"255.255.255.255\"}}, \"pe\": null, \"one_packet\": false, \"servers\": []}}, \"stats\": {{\"conns\": 20, \"inpkts\": 139, \"outpkts\": 101, \"inbytes\": 8808, \"outbytes\": 9672, \"cps\": 0, \"inpps\": 0, \"outpps\": 0, \"inbps\": 0, \"outbps\": 0}}, \"servers\": [{{\"key\": {{\"addr\": \"127.0.0.1\", \"port\": 80}}, \"forward\": {{\"method\": \"dr\"}}, \"weight\": {weight}, \"upper\": 0, \"lower\": 0, \"active_conns\": 0, \"inactive_conns\": 20, \"persistent_conns\": 0, \"stats\": {{\"conns\": 20, \"inpkts\": 139, \"outpkts\": 101, \"inbytes\": 8808, \"outbytes\": 9672, \"cps\": 0, \"inpps\": 0, \"outpps\": 0, \"inbps\": 0, \"outbps\": 0}}}}]}}]}}\n"
            )
        };
        assert_eq!(
            compare_listings(&format!("{ipvsadm}{}", json(2))),
            Vec::<String>::new()
        );
        let failures = compare_listings(&format!("{ipvsadm}{}", json(3)));
        assert_eq!(failures.len(), 1, "{failures:?}");
        assert!(
            failures[0].contains("ipvsadm shows [2, 0, 20], ipvsc Some([3, 0, 20])"),
            "{failures:?}"
        );
    }
}
