//! Backups that restore: `sig-register backup --to DIR` and `sig-register restore --from DIR`.
//!
//! A backup is a folder: the key files of `SIG_DATA_DIR` (without them the sealed fields and the
//! audit log's leaves cannot be read back), the audit witness file, and — on SQLite — a
//! consistent copy of the database made while the service runs (`VACUUM INTO`, one read
//! transaction: every write committed before it began is in it). On PostgreSQL the database is
//! the server's to back up (`pg_dump`); the command says what to run. `backup.json`, written
//! last, lists every file with its SHA-256, so `restore` refuses a damaged or partial backup.
//!
//! The witness file is copied before the database: the head it records is then never newer than
//! the copy, and `audit verify` of a restored register holds.

use std::fs;
use std::io::Write as _;
use std::os::unix::fs::{DirBuilderExt as _, OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use diesel::RunQueryDsl as _;
use serde::{Deserialize, Serialize};

use crate::audit::chain::WITNESS_FILE;
use crate::config::Config;
use crate::crypto::keys::{
    AUDIT_HANDOVERS_FILE, AUDIT_KEY_FILE, AUDIT_LEAF_KEY_FILE, FIELD_KEY_FILE, INDEX_KEY_FILE,
    JWT_DEV_KEY_FILE, NEXT_AUDIT_KEY_FILE, NEXT_INDEX_KEY_FILE, PREVIOUS_FIELD_KEYS_DIR,
};
use crate::db::{Backend, DatabaseUrl};

/// The manifest's name in a backup folder.
pub const MANIFEST: &str = "backup.json";
/// The SQLite copy's name in a backup folder.
pub const DATABASE_COPY: &str = "sig-register.db";
/// Where `pg_dump` is told to write, in the backup folder.
pub const POSTGRES_DUMP: &str = "sig-register.pgdump";

const KEY_FILES: [&str; 4] = [
    JWT_DEV_KEY_FILE,
    AUDIT_KEY_FILE,
    FIELD_KEY_FILE,
    INDEX_KEY_FILE,
];

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0}")]
    Refused(String),
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("the database: {0}")]
    Database(String),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One file of a backup.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Relative to the backup folder (and to `SIG_DATA_DIR` for keys and the witness).
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
}

/// `backup.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub created_at: String,
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// The SQLite copy (`sig-register.db`); `None` on PostgreSQL.
    pub database: Option<Entry>,
    /// The newest audit event in the copy (SQLite).
    pub audit_seq: Option<i64>,
    /// Key files, previous field keys and the witness file, as they lie in `SIG_DATA_DIR`.
    pub files: Vec<Entry>,
}

/// What `backup` did, for its report.
#[derive(Debug)]
pub struct Done {
    pub manifest: Manifest,
    /// On PostgreSQL: the command that backs up the database itself.
    pub postgres_command: Option<String>,
}

fn sha256_of(path: &Path) -> Result<(u64, String), BackupError> {
    let bytes = fs::read(path).map_err(io(path))?;
    let digest = ring::digest::digest(&ring::digest::SHA256, &bytes);
    let hex: String = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    Ok((bytes.len() as u64, hex))
}

fn private_dir(path: &Path) -> Result<(), BackupError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .map_err(io(path))
}

/// Copies `from` to `to` (created new, mode 0600), flushed to the disk.
fn copy_private(from: &Path, to: &Path) -> Result<(), BackupError> {
    let bytes = fs::read(from).map_err(io(from))?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(to)
        .map_err(io(to))?;
    file.write_all(&bytes).map_err(io(to))?;
    file.sync_all().map_err(io(to))
}

fn is_empty_or_missing(dir: &Path) -> Result<bool, BackupError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => Ok(entries.next().is_none()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
        Err(e) => Err(io(dir)(e)),
    }
}

/// The files of `SIG_DATA_DIR` a backup holds, relative to it: the witness file first.
fn data_files(data_dir: &Path) -> Result<Vec<String>, BackupError> {
    let mut names = Vec::new();
    if data_dir.join(WITNESS_FILE).is_file() {
        names.push(WITNESS_FILE.to_owned());
    }
    if data_dir.join(NEXT_INDEX_KEY_FILE).exists() {
        return Err(BackupError::Refused(format!(
            "{} holds {NEXT_INDEX_KEY_FILE}: a blind-index rotation did not finish; run \
             `sig-register keys rotate blind-index` again first",
            data_dir.display()
        )));
    }
    if data_dir.join(NEXT_AUDIT_KEY_FILE).exists() {
        return Err(BackupError::Refused(format!(
            "{} holds {NEXT_AUDIT_KEY_FILE}: an audit key rotation did not finish; run \
             `sig-register keys rotate audit` again first",
            data_dir.display()
        )));
    }
    for optional in [AUDIT_LEAF_KEY_FILE, AUDIT_HANDOVERS_FILE] {
        if data_dir.join(optional).is_file() {
            names.push(optional.to_owned());
        }
    }
    for name in KEY_FILES {
        if !data_dir.join(name).is_file() {
            return Err(BackupError::Refused(format!(
                "{} holds no {name}: SIG_DATA_DIR must name the data folder the server uses",
                data_dir.display()
            )));
        }
        names.push(name.to_owned());
    }
    let previous = data_dir.join(PREVIOUS_FIELD_KEYS_DIR);
    if previous.is_dir() {
        let mut keys: Vec<String> = fs::read_dir(&previous)
            .map_err(io(&previous))?
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.path().is_file())
            .map(|entry| {
                format!(
                    "{PREVIOUS_FIELD_KEYS_DIR}/{}",
                    entry.file_name().to_string_lossy()
                )
            })
            .collect();
        keys.sort();
        names.extend(keys);
    }
    Ok(names)
}

/// `sig-register backup --to DIR`.
pub fn backup(
    config: &Config,
    to: &Path,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Done, BackupError> {
    let url = config
        .database()
        .map_err(|e| BackupError::Database(e.to_string()))?;
    if !is_empty_or_missing(to)? {
        return Err(BackupError::Refused(format!(
            "{} is not empty: a backup goes into a new or empty folder",
            to.display()
        )));
    }
    let names = data_files(&config.data_dir)?;
    private_dir(to)?;
    if names.iter().any(|n| n.starts_with(PREVIOUS_FIELD_KEYS_DIR)) {
        private_dir(&to.join(PREVIOUS_FIELD_KEYS_DIR))?;
    }
    let mut files = Vec::new();
    // The witness first (see the module's note), then the keys.
    for name in &names {
        copy_private(&config.data_dir.join(name), &to.join(name))?;
        let (bytes, sha256) = sha256_of(&to.join(name))?;
        files.push(Entry {
            name: name.clone(),
            bytes,
            sha256,
        });
    }
    let (database, audit_seq, postgres_command) = match &url {
        DatabaseUrl::Sqlite(_) => {
            let copy = to.join(DATABASE_COPY);
            let mut conn = url
                .connect()
                .map_err(|e| BackupError::Database(e.to_string()))?;
            let target = copy.to_string_lossy().replace('\'', "''");
            diesel::sql_query(format!("VACUUM INTO '{target}'"))
                .execute(&mut conn)
                .map_err(|e| BackupError::Database(format!("VACUUM INTO: {e}")))?;
            fs::set_permissions(&copy, fs::Permissions::from_mode(0o600)).map_err(io(&copy))?;
            fs::File::open(&copy)
                .and_then(|f| f.sync_all())
                .map_err(io(&copy))?;
            let (bytes, sha256) = sha256_of(&copy)?;
            let seq = newest_event(&copy)?;
            let entry = Entry {
                name: DATABASE_COPY.to_owned(),
                bytes,
                sha256,
            };
            (Some(entry), seq, None)
        }
        DatabaseUrl::Postgres(text) => {
            let shown = without_password(text);
            let command = format!(
                "pg_dump --format=custom --no-owner --file {} '{shown}'",
                to.join(POSTGRES_DUMP).display()
            );
            (None, None, Some(command))
        }
    };
    let manifest = Manifest {
        format: 1,
        created_at: crate::clock::rfc3339(&now),
        backend: match url.backend() {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
        .to_owned(),
        database,
        audit_seq,
        files,
    };
    let path = to.join(MANIFEST);
    let text = serde_json::to_string_pretty(&manifest)
        .map_err(|e| BackupError::Refused(format!("the manifest: {e}")))?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(io(&path))?;
    file.write_all(text.as_bytes()).map_err(io(&path))?;
    file.sync_all().map_err(io(&path))?;
    Ok(Done {
        manifest,
        postgres_command,
    })
}

/// The newest event in the SQLite copy at `path`, read through a plain connection: the copy is
/// read as it is (no journal mode switched on it).
fn newest_event(path: &Path) -> Result<Option<i64>, BackupError> {
    let plain =
        <diesel::SqliteConnection as diesel::Connection>::establish(&path.to_string_lossy())
            .map_err(|e| BackupError::Database(e.to_string()))?;
    crate::audit::chain::head(&mut crate::db::DbConn::Sqlite(plain))
        .map(|head| head.map(|(seq, _)| seq))
        .map_err(|e| BackupError::Database(e.to_string()))
}

/// A PostgreSQL URL without its password, to print.
fn without_password(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(mut parsed) => {
            let _ = parsed.set_password(None);
            parsed.to_string()
        }
        Err(_) => "postgres://…".to_owned(),
    }
}

/// What `restore` did, for its report.
#[derive(Debug)]
pub struct Restored {
    pub manifest: Manifest,
    /// Where the SQLite database was written.
    pub database: Option<PathBuf>,
    /// On PostgreSQL: the command that restores the database itself.
    pub postgres_command: Option<String>,
}

/// Reads `backup.json` and checks every file it lists against its SHA-256.
pub fn check(from: &Path) -> Result<Manifest, BackupError> {
    let path = from.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(|e| {
        BackupError::Refused(format!(
            "{} has no readable {MANIFEST} ({e}): not a backup, or one that did not finish",
            from.display()
        ))
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| BackupError::Refused(format!("{}: {e}", path.display())))?;
    if manifest.format != 1 {
        return Err(BackupError::Refused(format!(
            "{}: format {} is not one this version restores",
            path.display(),
            manifest.format
        )));
    }
    for entry in manifest.files.iter().chain(manifest.database.iter()) {
        if entry.name.contains("..") || entry.name.starts_with('/') {
            return Err(BackupError::Refused(format!(
                "{MANIFEST} names {} outside the backup",
                entry.name
            )));
        }
        let (bytes, sha256) = sha256_of(&from.join(&entry.name))?;
        if bytes != entry.bytes || sha256 != entry.sha256 {
            return Err(BackupError::Refused(format!(
                "{} is not the file the backup wrote (its SHA-256 differs): the backup is damaged",
                from.join(&entry.name).display()
            )));
        }
    }
    Ok(manifest)
}

/// `sig-register restore --from DIR`: into an empty `SIG_DATA_DIR` and, on SQLite, a database
/// file that does not exist yet.
pub fn restore(config: &Config, from: &Path) -> Result<Restored, BackupError> {
    let manifest = check(from)?;
    let url = config
        .database()
        .map_err(|e| BackupError::Database(e.to_string()))?;
    let backend = match url.backend() {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    if backend != manifest.backend {
        return Err(BackupError::Refused(format!(
            "the backup is of a {} register and SIG_DATABASE_URL names {backend}",
            manifest.backend
        )));
    }
    if !is_empty_or_missing(&config.data_dir)? {
        return Err(BackupError::Refused(format!(
            "{} (SIG_DATA_DIR) is not empty: restore writes into an empty data folder only, \
             never over keys in use",
            config.data_dir.display()
        )));
    }
    let database = match (&url, &manifest.database) {
        (DatabaseUrl::Sqlite(path), Some(_)) => {
            if path.exists() {
                return Err(BackupError::Refused(format!(
                    "{} (SIG_DATABASE_URL) exists: restore writes a new database file only",
                    path.display()
                )));
            }
            Some(path.clone())
        }
        (DatabaseUrl::Sqlite(_), None) => {
            return Err(BackupError::Refused(
                "the backup holds no database copy".to_owned(),
            ))
        }
        (DatabaseUrl::Postgres(_), _) => None,
    };
    private_dir(&config.data_dir)?;
    if manifest
        .files
        .iter()
        .any(|e| e.name.starts_with(PREVIOUS_FIELD_KEYS_DIR))
    {
        private_dir(&config.data_dir.join(PREVIOUS_FIELD_KEYS_DIR))?;
    }
    for entry in &manifest.files {
        copy_private(&from.join(&entry.name), &config.data_dir.join(&entry.name))?;
    }
    if let Some(path) = &database {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            private_dir(parent)?;
        }
        copy_private(&from.join(DATABASE_COPY), path)?;
    }
    let postgres_command = match &url {
        DatabaseUrl::Postgres(text) => Some(format!(
            "pg_restore --no-owner --dbname '{}' {}",
            without_password(text),
            from.join(POSTGRES_DUMP).display()
        )),
        DatabaseUrl::Sqlite(_) => None,
    };
    Ok(Restored {
        manifest,
        database,
        postgres_command,
    })
}
