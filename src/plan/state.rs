//! What ipvsc remembers about the kernel's table between runs, beyond the table itself: real
//! servers still draining after an apply removed them, and operators' runtime overrides. Kept
//! in the state directory as a versioned document, written only under the apply lock.

use serde::{Deserialize, Serialize};

use crate::model::{Server, ServerKey, ServiceKey};

/// The format version this ipvsc writes and reads.
pub const STATE_VERSION: u32 = 1;

/// The state document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct State {
    pub format_version: u32,
    #[serde(default)]
    pub drains: Vec<DrainRecord>,
    #[serde(default)]
    pub overrides: Vec<Override>,
}

impl Default for State {
    fn default() -> State {
        State {
            format_version: STATE_VERSION,
            drains: Vec::new(),
            overrides: Vec::new(),
        }
    }
}

/// A real server an apply removed from the file, left at weight 0 until its connections are
/// gone or its deadline passes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrainRecord {
    pub service: ServiceKey,
    /// The server as the drain left it (weight 0): if the kernel's differs, someone else
    /// changed it, and the drain is dropped rather than forced.
    pub server: Server,
    /// The weight it had before the drain.
    pub weight: u32,
    /// Seconds since the epoch when the drain began.
    pub started: u64,
    /// Seconds since the epoch when it is deleted whatever its connections.
    pub deadline: u64,
    /// The service left the file too: it is deleted once its last server is.
    pub remove_service: bool,
}

impl DrainRecord {
    pub fn key(&self) -> (ServiceKey, ServerKey) {
        (self.service, self.server.key)
    }
}

/// What an operator set at runtime (`ipvsc disable`, `weight`), kept by every apply until
/// `ipvsc enable` clears it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Override {
    pub service: ServiceKey,
    pub server: ServerKey,
    /// The weight the server keeps; 0 for `disable`.
    pub weight: u32,
    /// The weight the file gives it (as of the last apply, or the kernel's when the override
    /// was set): what `enable` gives back.
    pub file_weight: u32,
    /// Seconds since the epoch when it was set.
    pub since: u64,
}

impl Override {
    pub fn key(&self) -> (ServiceKey, ServerKey) {
        (self.service, self.server)
    }

    /// `disabled` or `weight N`, as `ipvsc overrides` and `plan` show it.
    pub fn describe(&self) -> String {
        match self.weight {
            0 => "disabled (weight 0)".to_string(),
            w => format!("weight {w}"),
        }
    }
}

/// Seconds since the epoch.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Forward, Protocol};

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
            format_version: STATE_VERSION,
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
        let text = serde_json::to_string(&state).unwrap();
        assert_eq!(
            text,
            r#"{"format_version":1,"drains":[{"service":{"kind":"inet","protocol":"tcp","addr":"10.0.0.1","port":80},"server":{"key":{"addr":"10.0.0.2","port":8080},"forward":{"method":"nat"},"weight":0,"upper":0,"lower":0},"weight":3,"started":100,"deadline":1000,"remove_service":false}],"overrides":[{"service":{"kind":"inet","protocol":"tcp","addr":"10.0.0.1","port":80},"server":{"addr":"10.0.0.2","port":8080},"weight":0,"file_weight":3,"since":50}]}"#
        );
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), state);
    }
}
