//! Where appliers meet: a lock so two never interleave, and a journal of the table found
//! before the first change, so that a crash mid-apply can be rolled back by the next run.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{ServiceKey, Table};
use crate::plan::state::State;
use crate::wire::{self, ServiceKeyDoc, TableDoc, JOURNAL_VERSION};

/// The directory of the lock, the journal and the state: where the caller says (the CLI:
/// `$IPVSC_STATE_DIR`, or [`DEFAULT_STATE_DIR`]).
#[derive(Clone, Debug)]
pub struct StateDir {
    path: PathBuf,
}

fn version_1() -> u32 {
    1
}

/// What an apply in progress wrote before its first change: the journal's document (its
/// format: [`JOURNAL_VERSION`]; version 1 had no `format_version` and is read as it is).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JournalDoc {
    #[serde(default = "version_1")]
    pub format_version: u32,
    /// The process that wrote it.
    pub pid: u32,
    /// Seconds since the epoch when it began.
    pub started: u64,
    /// The file being applied, as named on the command line.
    pub source: String,
    /// The kernel's boot id (`/proc/sys/kernel/random/boot_id`) when it began: IPVS keeps
    /// nothing across a reboot, so a journal of another boot protects a table that is gone.
    #[serde(default)]
    pub boot_id: Option<String>,
    /// The services the apply changes, when it changes only some: `before` holds those alone
    /// (the ones the kernel had), and `recover` touches no other. Absent: the whole table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<ServiceKeyDoc>>,
    /// The kernel's table before the first change (of `services`, when given): what `recover`
    /// restores.
    pub before: TableDoc,
}

/// A journal read back: its document, and the table it protects.
#[derive(Clone, Debug)]
pub struct JournalEntry {
    pub format_version: u32,
    pub pid: u32,
    pub started: u64,
    pub source: String,
    pub boot_id: Option<String>,
    /// The services the apply changes (`None`: it may change any); `before` holds only those.
    pub services: Option<Vec<ServiceKey>>,
    pub before: Table,
}

/// The lock, held while this value lives (the kernel drops it if the process dies).
pub struct Journal {
    dir: StateDir,
    _lock: File,
}

/// Where the state directory is unless the caller says otherwise: on disk, so that a journal
/// outlives a power loss.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/ipvsc";

impl StateDir {
    pub fn new(path: impl Into<PathBuf>) -> StateDir {
        StateDir { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn journal_path(&self) -> PathBuf {
        self.path.join("journal.json")
    }

    fn state_path(&self) -> PathBuf {
        self.path.join("state.json")
    }

    /// The drains and overrides recorded so far (none when nothing was ever recorded). Reading
    /// needs no lock: the file is replaced whole.
    pub fn read_state(&self) -> std::io::Result<State> {
        let path = self.state_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::default()),
            Err(e) => return Err(e),
        };
        wire::state_from_json(&text).map_err(|e| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        })
    }

    /// Takes the lock, waiting for another apply to finish.
    pub fn lock(&self) -> std::io::Result<Journal> {
        std::fs::create_dir_all(&self.path)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.path.join("lock"))?;
        // flock(2): released by the kernel when the process dies.
        rustix::fs::flock(&file, rustix::fs::FlockOperation::LockExclusive)?;
        Ok(Journal {
            dir: self.clone(),
            _lock: file,
        })
    }
}

impl Journal {
    /// The journal an interrupted apply left behind, if any.
    pub fn pending(&self) -> std::io::Result<Option<JournalEntry>> {
        match std::fs::read_to_string(self.dir.journal_path()) {
            Ok(text) => read_journal(&text).map(Some),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Records the table found, durably, before the first change: `before` is the part of it
    /// the apply may change, the services `services` (all when `None`) and everything but
    /// services. Written as it is serialized, without a copy of the text in memory.
    pub fn begin(
        &self,
        source: &str,
        before: &Table,
        services: Option<&[ServiceKey]>,
    ) -> std::io::Result<()> {
        let entry = JournalDoc {
            format_version: JOURNAL_VERSION,
            pid: std::process::id(),
            started: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            source: source.to_string(),
            boot_id: boot_id(),
            services: services.map(|keys| keys.iter().map(|k| (*k).into()).collect()),
            before: before.into(),
        };
        write_durably_with(&self.dir, &self.dir.journal_path(), |out| {
            serde_json::to_writer(out, &entry).map_err(std::io::Error::from)
        })
    }

    /// The drains and overrides recorded so far.
    pub fn state(&self) -> std::io::Result<State> {
        self.dir.read_state()
    }

    /// Records the drains and overrides, durably (only the lock's holder writes them).
    pub fn save_state(&self, state: &State) -> std::io::Result<()> {
        if state.drains.is_empty() && state.overrides.is_empty() {
            return match std::fs::remove_file(self.dir.state_path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            };
        }
        let text = wire::state_to_json(state);
        write_durably(&self.dir, &self.dir.state_path(), text.as_bytes())
    }

    /// The transaction is over (done, or rolled back): forget it.
    pub fn end(&self) -> std::io::Result<()> {
        match std::fs::remove_file(self.dir.journal_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// This boot's id, if the kernel tells it.
pub fn boot_id() -> Option<String> {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
}

impl JournalEntry {
    /// Whether it was written before the machine last booted (so the table it protects is
    /// gone: the kernel starts with an empty one).
    pub fn from_another_boot(&self) -> bool {
        matches!((&self.boot_id, boot_id()), (Some(then), Some(now)) if *then != now)
    }
}

/// A journal of this version or an older one.
fn read_journal(text: &str) -> std::io::Result<JournalEntry> {
    let invalid = |why: String| std::io::Error::new(std::io::ErrorKind::InvalidData, why);
    let doc: JournalDoc = serde_json::from_str(text).map_err(|e| invalid(e.to_string()))?;
    if doc.format_version > JOURNAL_VERSION {
        return Err(invalid(format!(
            "the journal has format version {}, newer than the {JOURNAL_VERSION} this ipvsc \
             reads: recover with the ipvsc that wrote it",
            doc.format_version
        )));
    }
    Ok(JournalEntry {
        format_version: doc.format_version,
        pid: doc.pid,
        started: doc.started,
        source: doc.source,
        boot_id: doc.boot_id,
        services: doc
            .services
            .map(|keys| {
                keys.into_iter()
                    .map(ServiceKey::try_from)
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()
            .map_err(|e| invalid(format!("the journal's services: {e}")))?,
        before: Table::try_from(doc.before)
            .map_err(|e| invalid(format!("the journal's table: {e}")))?,
    })
}

/// Replaces `path` (in `dir`) with `bytes`, on disk before it returns: written to a temporary
/// file, synced, renamed over, and the directory synced.
fn write_durably(dir: &StateDir, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_durably_with(dir, path, |out| out.write_all(bytes))
}

/// [`write_durably`] of what `write` writes, through a buffer.
fn write_durably_with(
    dir: &StateDir,
    path: &Path,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let mut out = BufWriter::with_capacity(1 << 16, File::create(&tmp)?);
    write(&mut out)?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    File::open(dir.path())?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> StateDir {
        let path = std::env::temp_dir().join(format!("ipvsc-state-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        StateDir { path }
    }

    #[test]
    fn state_is_written_durably_read_back_and_removed_when_empty() {
        let d = dir("roundtrip");
        assert_eq!(d.read_state().unwrap(), State::default());
        let journal = d.lock().unwrap();
        let mut state = State::default();
        state.overrides.push(crate::plan::state::Override {
            service: "tcp 10.0.0.1:80".parse().unwrap(),
            server: crate::model::ServerKey {
                addr: "10.0.0.2".parse().unwrap(),
                port: 80,
            },
            weight: 0,
            file_weight: 1,
            since: 1,
        });
        journal.save_state(&state).unwrap();
        assert_eq!(d.read_state().unwrap(), state);
        journal.save_state(&State::default()).unwrap();
        assert!(!d.path().join("state.json").exists());
        std::fs::remove_dir_all(d.path()).unwrap();
    }

    /// A journal as ipvsc 0.1 wrote it before journals had a version (a committed file).
    #[test]
    fn a_version_1_journal_is_read() {
        let text = include_str!("testdata/journal-v1.json");
        let entry = read_journal(text).unwrap();
        assert_eq!(entry.format_version, 1);
        assert_eq!(entry.source, "lb.ipvs");
        assert_eq!(entry.before.server_count(), 2);
        assert_eq!(entry.before.daemons.len(), 1);
        let newer = text.replacen(
            '{',
            &format!("{{\"format_version\": {}, ", JOURNAL_VERSION + 1),
            1,
        );
        assert!(read_journal(&newer)
            .unwrap_err()
            .to_string()
            .contains("newer"));
    }

    /// Version 2 as this ipvsc writes it, pinned by a committed file: a change to the journal's
    /// shape is a new format version, and the file is read back to the same table.
    fn every_option() -> Table {
        let mut sources = crate::source::Sources::new();
        let id = sources.add(crate::source::SourceFile::new(
            "every-option.ipvs",
            None,
            include_str!("../../tests/convert/every-option.ipvs").to_string(),
        ));
        let compiled = crate::compiler::compile(&mut sources, id, &Default::default());
        assert!(!compiled.has_errors());
        compiled.table
    }

    #[test]
    fn version_3_is_pinned_and_read() {
        let table = every_option();
        let keys: Vec<ServiceKey> = table.services.keys().take(2).copied().collect();
        let part = crate::apply::part(&table, Some(&keys)).into_owned();
        let entry = JournalDoc {
            format_version: JOURNAL_VERSION,
            pid: 4242,
            started: 1_764_000_000,
            source: "every-option.ipvs".into(),
            boot_id: Some("0b7e2a46-3c1f-4f0e-9d55-5b8f3e6c1a20".into()),
            services: Some(keys.iter().map(|k| (*k).into()).collect()),
            before: (&part).into(),
        };
        let text = serde_json::to_string_pretty(&entry).unwrap() + "\n";
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src/apply/testdata/journal-v3.json"
        );
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(path, &text).unwrap();
        }
        assert_eq!(text, include_str!("testdata/journal-v3.json"));
        let read = read_journal(include_str!("testdata/journal-v3.json")).unwrap();
        assert_eq!(read.before, part);
        assert_eq!(read.services, Some(keys));
        assert_eq!(read.format_version, 3);
    }

    #[test]
    fn a_version_2_journal_holds_the_whole_table() {
        let read = read_journal(include_str!("testdata/journal-v2.json")).unwrap();
        assert_eq!(read.before, every_option());
        assert_eq!(read.services, None);
        assert_eq!(read.format_version, 2);
    }

    #[test]
    fn begin_writes_what_is_read_back() {
        let dir = dir("begin");
        let journal = dir.lock().unwrap();
        let table = every_option();
        let keys: Vec<ServiceKey> = table.services.keys().take(1).copied().collect();
        let part = crate::apply::part(&table, Some(&keys)).into_owned();
        journal.begin("f.ipvs", &part, Some(&keys)).unwrap();
        let read = journal.pending().unwrap().unwrap();
        assert_eq!((read.before, read.services), (part, Some(keys)));
        journal.begin("f.ipvs", &table, None).unwrap();
        let read = journal.pending().unwrap().unwrap();
        assert_eq!((read.before, read.services), (table, None));
        journal.end().unwrap();
        assert!(journal.pending().unwrap().is_none());
    }

    #[test]
    fn a_journal_of_another_boot_is_told_apart() {
        let mut entry = read_journal(include_str!("testdata/journal-v1.json")).unwrap();
        // Version 1 recorded no boot: it is never set aside.
        assert!(!entry.from_another_boot());
        entry.boot_id = boot_id();
        assert!(entry.boot_id.is_some(), "Linux tells its boot id");
        assert!(!entry.from_another_boot());
        entry.boot_id = Some("00000000-0000-0000-0000-000000000000".into());
        assert!(entry.from_another_boot());
    }

    #[test]
    fn another_format_version_is_refused_with_a_reason() {
        let d = dir("version");
        std::fs::write(
            d.path().join("state.json"),
            r#"{"format_version": 2, "drains": []}"#,
        )
        .unwrap();
        let e = d.read_state().unwrap_err().to_string();
        assert!(
            e.contains("format version 2 is not the 1 this ipvsc reads"),
            "{e}"
        );
        std::fs::write(d.path().join("state.json"), "{").unwrap();
        assert!(d.read_state().is_err());
        std::fs::remove_dir_all(d.path()).unwrap();
    }
}
