//! Persistence in the state dir: a snapshot (`state.json`, replaced by write-then-rename) plus an
//! append-only journal (`journal.jsonl`, one line per committed transaction, written before the
//! request is answered). A `kill -9` at any moment therefore loses no acknowledged change; a torn
//! last line (a transaction never acknowledged) is ignored on replay.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::models::{Record, State};

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// File system error.
    #[error("state dir {path}: {source}")]
    Io {
        /// The file concerned.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// A snapshot that cannot be read back.
    #[error("state dir {path}: corrupt snapshot: {message}")]
    Corrupt {
        /// The file concerned.
        path: PathBuf,
        /// Cause.
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
struct Line {
    tx: Vec<Record>,
}

/// The journal and snapshot of one state dir.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
    journal: File,
    /// Bytes of whole lines in the journal (a failed write is cut back to this).
    len: u64,
    lines: usize,
    fsync: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl Store {
    /// Opens (creating if needed) the store in `dir`; returns it with the recovered state. A new
    /// state gets a fresh organisation id. `fsync` makes every commit durable against power loss too.
    pub fn open(dir: &Path, fsync: bool) -> Result<(Store, State), StoreError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let snap = dir.join("state.json");
        let mut st = match std::fs::read(&snap) {
            Ok(bytes) => {
                serde_json::from_slice::<State>(&bytes).map_err(|e| StoreError::Corrupt {
                    path: snap.clone(),
                    message: e.to_string(),
                })?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(io(&snap)(e)),
        };
        let jpath = dir.join("journal.jsonl");
        match File::open(&jpath) {
            Ok(f) => {
                for line in BufReader::new(f).lines() {
                    let line = line.map_err(io(&jpath))?;
                    // A torn last line was never acknowledged: skip it.
                    if let Ok(l) = serde_json::from_str::<Line>(&line) {
                        for r in &l.tx {
                            st.apply(r);
                        }
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(&jpath)(e)),
        }
        if st.org_id.is_empty() {
            st.org_id = uuid::Uuid::new_v4().to_string();
        }
        write_snapshot(dir, &st)?;
        let journal = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(&jpath)
            .map_err(io(&jpath))?;
        set_private(&jpath);
        Ok((
            Store {
                dir: dir.to_path_buf(),
                journal,
                len: 0,
                lines: 0,
                fsync,
            },
            st,
        ))
    }

    /// Appends one committed transaction. Returns once the bytes are in the kernel (and on disk
    /// with `fsync`).
    pub fn append(&mut self, records: &[Record]) -> std::io::Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let mut line = serde_json::to_vec(&Line {
            tx: records.to_vec(),
        })
        .map_err(std::io::Error::other)?;
        line.push(b'\n');
        let res = self.journal.write_all(&line).and_then(|()| {
            if self.fsync {
                self.journal.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = res {
            // Never leave a torn line for the next transaction to be glued to.
            use std::io::Seek;
            let _ = self.journal.set_len(self.len);
            let _ = self.journal.seek(std::io::SeekFrom::Start(self.len));
            return Err(e);
        }
        self.len += line.len() as u64;
        self.lines += 1;
        Ok(())
    }

    /// Replaces snapshot and journal by a fresh snapshot of `st` when the journal has grown large.
    pub fn maybe_compact(&mut self, st: &State) -> Result<(), StoreError> {
        if self.lines < 20_000 + 2 * st.resource_count() {
            return Ok(());
        }
        self.compact(st)
    }

    /// Writes a snapshot of `st` and empties the journal.
    pub fn compact(&mut self, st: &State) -> Result<(), StoreError> {
        write_snapshot(&self.dir, st)?;
        let jpath = self.dir.join("journal.jsonl");
        self.journal.set_len(0).map_err(io(&jpath))?;
        use std::io::Seek;
        self.journal
            .seek(std::io::SeekFrom::Start(0))
            .map_err(io(&jpath))?;
        self.lines = 0;
        Ok(())
    }
}

fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

fn write_snapshot(dir: &Path, st: &State) -> Result<(), StoreError> {
    let snap = dir.join("state.json");
    let bytes = serde_json::to_vec(st).map_err(|e| StoreError::Corrupt {
        path: snap.clone(),
        message: e.to_string(),
    })?;
    secrets::write_atomic(&snap, &bytes, 0o600).map_err(|e| StoreError::Io {
        path: e.path,
        source: e.source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::common::Kind;
    use crate::models::state::Resource;
    use crate::models::{Tx, public_ip_block};

    #[test]
    fn journal_replays_and_ignores_a_torn_line() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut st) = Store::open(dir.path(), false).unwrap();
        let org = st.org_id.clone();
        let mut tx = Tx::new(&mut st, &crate::ops::Immediate);
        tx.put(Resource::IpBlock(public_ip_block::PublicIpBlock {
            id: "b1".into(),
            domain_id: "d".into(),
            datacenter_id: "NA9".into(),
            base_ip: "127.77.0.2".parse().unwrap(),
            size: 2,
            create_ms: 0,
            state: crate::models::ResourceState::Normal,
        }));
        let recs = tx.records.clone();
        store.append(&recs).unwrap();
        let mut tx = Tx::new(&mut st, &crate::ops::Immediate);
        tx.del(Kind::IpBlock, "b1");
        let recs = tx.records.clone();
        // Simulate a crash in the middle of writing the second transaction.
        let mut line = serde_json::to_vec(&Line { tx: recs }).unwrap();
        line.truncate(line.len() / 2);
        store.journal.write_all(&line).unwrap();
        drop(store);
        let (_store, st2) = Store::open(dir.path(), false).unwrap();
        assert_eq!(st2.org_id, org);
        assert!(
            st2.ip_blocks.contains_key("b1"),
            "the acknowledged put survives, the torn delete does not"
        );
    }

    #[test]
    fn compaction_keeps_the_state_and_empties_the_journal() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, mut st) = Store::open(dir.path(), true).unwrap();
        for i in 0..3 {
            let mut tx = Tx::new(&mut st, &crate::ops::Immediate);
            tx.put(Resource::IpBlock(public_ip_block::PublicIpBlock {
                id: format!("b{i}"),
                domain_id: "d".into(),
                datacenter_id: "NA9".into(),
                base_ip: "127.77.0.2".parse().unwrap(),
                size: 2,
                create_ms: 0,
                state: crate::models::ResourceState::Normal,
            }));
            let recs = tx.records.clone();
            store.append(&recs).unwrap();
        }
        store.compact(&st).unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("journal.jsonl"))
                .unwrap()
                .len(),
            0
        );
        let mut tx = Tx::new(&mut st, &crate::ops::Immediate);
        tx.del(Kind::IpBlock, "b0");
        let recs = tx.records.clone();
        store.append(&recs).unwrap();
        drop(store);
        let (_s, st2) = Store::open(dir.path(), false).unwrap();
        let ids: Vec<_> = st2.ip_blocks.keys().cloned().collect();
        assert_eq!(ids, ["b1", "b2"]);
    }
}
