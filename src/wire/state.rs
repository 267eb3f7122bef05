//! The drain and override state (`state.json`), and `overrides --format json`.

use serde::{Deserialize, Serialize};

use super::{Invalid, ServerDoc, ServerKeyDoc, ServiceKeyDoc, STATE_VERSION};
use crate::model::Server;
use crate::plan::state::{DrainRecord, Override, State};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateDoc {
    pub format_version: u32,
    #[serde(default)]
    pub drains: Vec<DrainDoc>,
    #[serde(default)]
    pub overrides: Vec<OverrideDoc>,
}

/// A server draining: as the drain left it (weight 0), the weight it had, and its times in
/// seconds since the epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainDoc {
    pub service: ServiceKeyDoc,
    pub server: ServerDoc,
    pub weight: u32,
    pub started: u64,
    pub deadline: u64,
    pub remove_service: bool,
}

/// An operator's weight for a server (0 for `disable`), and the file's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverrideDoc {
    pub service: ServiceKeyDoc,
    pub server: ServerKeyDoc,
    pub weight: u32,
    pub file_weight: u32,
    pub since: u64,
}

impl From<&Override> for OverrideDoc {
    fn from(o: &Override) -> OverrideDoc {
        OverrideDoc {
            service: o.service.into(),
            server: o.server.into(),
            weight: o.weight,
            file_weight: o.file_weight,
            since: o.since,
        }
    }
}

impl From<&State> for StateDoc {
    fn from(state: &State) -> StateDoc {
        StateDoc {
            format_version: STATE_VERSION,
            drains: state
                .drains
                .iter()
                .map(|d| DrainDoc {
                    service: d.service.into(),
                    server: (&d.server).into(),
                    weight: d.weight,
                    started: d.started,
                    deadline: d.deadline,
                    remove_service: d.remove_service,
                })
                .collect(),
            overrides: state.overrides.iter().map(OverrideDoc::from).collect(),
        }
    }
}

impl TryFrom<StateDoc> for State {
    type Error = Invalid;

    fn try_from(doc: StateDoc) -> Result<State, Invalid> {
        let mut state = State::default();
        for d in doc.drains {
            state.drains.push(DrainRecord {
                service: d.service.try_into()?,
                server: Server::try_from(d.server)?,
                weight: d.weight,
                started: d.started,
                deadline: d.deadline,
                remove_service: d.remove_service,
            });
        }
        for o in doc.overrides {
            state.overrides.push(Override {
                service: o.service.try_into()?,
                server: o.server.into(),
                weight: o.weight,
                file_weight: o.file_weight,
                since: o.since,
            });
        }
        Ok(state)
    }
}

/// The state as written to `state.json`.
pub fn state_to_json(state: &State) -> String {
    serde_json::to_string_pretty(&StateDoc::from(state)).expect("a state serializes") + "\n"
}

/// The state read from `state.json`'s text.
pub fn state_from_json(text: &str) -> Result<State, Invalid> {
    #[derive(Deserialize)]
    struct Version {
        format_version: u32,
    }
    let version: Version = serde_json::from_str(text).map_err(|e| Invalid(e.to_string()))?;
    if version.format_version != STATE_VERSION {
        return Err(Invalid(format!(
            "format version {} is not the {STATE_VERSION} this ipvsc reads; use the ipvsc that \
             wrote it, or a newer one",
            version.format_version
        )));
    }
    let doc: StateDoc = serde_json::from_str(text).map_err(|e| Invalid(e.to_string()))?;
    State::try_from(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Forward, Protocol, ServerKey, ServiceKey};

    /// The document as version 1 writes it: a change here is a new format version.
    #[test]
    fn version_1_is_pinned() {
        let service = ServiceKey::Inet {
            protocol: Protocol::Tcp,
            addr: "10.0.0.1".parse().unwrap(),
            port: 80,
        };
        let key = ServerKey {
            addr: "10.0.0.2".parse().unwrap(),
            port: 8080,
        };
        let state = State {
            drains: vec![DrainRecord {
                service,
                server: Server {
                    key,
                    forward: Forward::Nat,
                    weight: 0,
                    upper: 0,
                    lower: 0,
                },
                weight: 3,
                started: 100,
                deadline: 1000,
                remove_service: false,
            }],
            overrides: vec![Override {
                service,
                server: key,
                weight: 0,
                file_weight: 3,
                since: 50,
            }],
        };
        let text = serde_json::to_string(&StateDoc::from(&state)).unwrap();
        assert_eq!(
            text,
            r#"{"format_version":1,"drains":[{"service":{"kind":"inet","protocol":"tcp","addr":"10.0.0.1","port":80},"server":{"key":{"addr":"10.0.0.2","port":8080},"forward":{"method":"nat"},"weight":0,"upper":0,"lower":0},"weight":3,"started":100,"deadline":1000,"remove_service":false}],"overrides":[{"service":{"kind":"inet","protocol":"tcp","addr":"10.0.0.1","port":80},"server":{"addr":"10.0.0.2","port":8080},"weight":0,"file_weight":3,"since":50}]}"#
        );
        assert_eq!(state_from_json(&text).unwrap(), state);
    }

    #[test]
    fn a_record_the_model_cannot_hold_is_refused() {
        let text = r#"{"format_version":1,"overrides":[{"service":{"kind":"inet","protocol":"icmp","addr":"10.0.0.1","port":80},"server":{"addr":"10.0.0.2","port":8080},"weight":0,"file_weight":3,"since":50}]}"#;
        assert_eq!(
            state_from_json(text).unwrap_err().to_string(),
            "unknown protocol `icmp`"
        );
    }
}
