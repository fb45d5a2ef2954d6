//! [`SecretStore`] over a local file readable only by its owner.
//!
//! The file is either a JSON object of names to string values, or lines of
//! `name=value` (blank lines and lines starting with `#` are ignored; the
//! value is everything after the first `=`). It is read on every
//! [`SecretStore::get`], so a rotated value is picked up without a restart,
//! and its mode is checked every time: a file that group or others may read
//! is refused rather than trusted.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use timmybot_core::{Secret, SecretError, SecretStore};

/// The most permissive mode accepted: read and write for the owner only.
const MAX_MODE: u32 = 0o600;

/// The secrets file could not be used. Never carries a secret value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsFileError {
    /// The file's mode lets someone other than its owner read it (or is
    /// executable); fix with `chmod 600`.
    #[error("secrets file {} has mode {mode:o}, more permissive than 600: run `chmod 600` on it", .path.display())]
    TooPermissive {
        /// The file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The path is a directory or another non-regular file.
    #[error("secrets file {} is not a regular file", .path.display())]
    NotAFile {
        /// The path.
        path: PathBuf,
    },
    /// Opening, reading or writing the file failed.
    #[error("secrets file {} could not be accessed", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// The content is neither a JSON object of strings nor `name=value`
    /// lines. Only the position is reported, so no value leaks into logs.
    #[error("secrets file {} is malformed at line {line}", .path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the first problem.
        line: usize,
    },
}

/// Reads secrets from a 0600 file; see the module docs for the format.
#[derive(Debug, Clone)]
pub struct FileSecretStore {
    path: PathBuf,
}

impl FileSecretStore {
    /// Opens the secrets file at `path`, checking now that it exists, has a
    /// safe mode and parses, so a bad file fails at startup rather than at
    /// the first use of a secret.
    ///
    /// Blocking; call it once at startup.
    ///
    /// # Errors
    /// Any [`SecretsFileError`].
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, SecretsFileError> {
        let path = path.into();
        read_secrets(&path)?;
        Ok(Self { path })
    }

    /// Writes `secrets` to a new file at `path` with mode 0600 (replacing
    /// any file there) and opens it.
    ///
    /// The file is written as JSON, so values may hold any character.
    /// Blocking.
    ///
    /// # Errors
    /// [`SecretsFileError::Io`] when the file cannot be written.
    pub fn create<N, V>(
        path: impl Into<PathBuf>,
        secrets: impl IntoIterator<Item = (N, V)>,
    ) -> Result<Self, SecretsFileError>
    where
        N: Into<String>,
        V: Into<String>,
    {
        let path = path.into();
        let map: BTreeMap<String, String> = secrets.into_iter().map(|(n, v)| (n.into(), v.into())).collect();
        let body = serde_json::to_string_pretty(&map).expect("a map of strings serialises");
        write_private(&path, body.as_bytes()).map_err(|source| SecretsFileError::Io { path: path.clone(), source })?;
        Ok(Self { path })
    }

    /// The file this store reads.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl SecretStore for FileSecretStore {
    async fn get(&self, name: &str) -> Result<Secret, SecretError> {
        let path = self.path.clone();
        let secrets = tokio::task::spawn_blocking(move || read_secrets(&path))
            .await
            .map_err(|join| SecretError::Unavailable { name: name.to_owned(), source: Box::new(join) })?
            .map_err(|e| SecretError::Unavailable { name: name.to_owned(), source: Box::new(e) })?;
        secrets.get(name).map(|v| Secret::new(v.clone())).ok_or_else(|| SecretError::NotFound(name.to_owned()))
    }
}

/// Creates or truncates `path` with mode 0600 and writes `body`.
fn write_private(path: &Path, body: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create(true).truncate(true).mode(MAX_MODE).open(path)?;
    // `mode` only applies when the file is created; an existing file keeps
    // its old bits unless set explicitly.
    file.set_permissions(std::fs::Permissions::from_mode(MAX_MODE))?;
    file.write_all(body)?;
    file.sync_all()
}

/// Opens, checks and parses the file.
fn read_secrets(path: &Path) -> Result<BTreeMap<String, String>, SecretsFileError> {
    let io_err = |source| SecretsFileError::Io { path: path.to_owned(), source };
    let mut file = File::open(path).map_err(io_err)?;
    // Check the opened file, not the path, so a swap between the check and
    // the read cannot slip a different file in.
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(SecretsFileError::NotAFile { path: path.to_owned() });
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & !MAX_MODE != 0 {
        return Err(SecretsFileError::TooPermissive { path: path.to_owned(), mode });
    }
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io_err)?;
    parse(&text).map_err(|line| SecretsFileError::Malformed { path: path.to_owned(), line })
}

/// Parses either format; on failure returns the 1-based line of the problem.
fn parse(text: &str) -> Result<BTreeMap<String, String>, usize> {
    if text.trim_start().starts_with('{') {
        // serde_json's own message may quote the offending value: keep only
        // its position.
        return serde_json::from_str(text).map_err(|e| e.line());
    }
    let mut secrets = BTreeMap::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (name, value) = trimmed.split_once('=').ok_or(index + 1)?;
        let name = name.trim();
        if name.is_empty() {
            return Err(index + 1);
        }
        secrets.insert(name.to_owned(), value.trim_end_matches('\r').to_owned());
    }
    Ok(secrets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reads_name_value_lines_and_skips_comments() {
        let map = parse("# app secrets\n\ndiscord_token = abc=def\r\nkey=\n").unwrap();
        assert_eq!(map.get("discord_token").map(String::as_str), Some(" abc=def"));
        assert_eq!(map.get("key").map(String::as_str), Some(""));
    }

    #[test]
    fn parse_reads_a_json_object() {
        let map = parse(r#"{"a": "1", "b": "two"}"#).unwrap();
        assert_eq!(map.len(), 2);
        assert_eq!(map["b"], "two");
    }

    #[test]
    fn parse_reports_the_line_of_a_bad_entry() {
        assert_eq!(parse("a=1\nno equals sign\n"), Err(2));
        assert_eq!(parse("=value\n"), Err(1));
        assert_eq!(parse("{\n\"a\": 5\n}"), Err(2));
    }

    #[tokio::test]
    async fn get_refuses_a_file_others_can_read_and_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.env");
        std::fs::write(&path, "token=hunter2\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();

        let err = FileSecretStore::open(&path).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, SecretsFileError::TooPermissive { mode: 0o644, .. }), "{err:?}");
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(!message.contains("hunter2"));

        // A file that became readable after open is refused at the next get.
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let store = FileSecretStore::open(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = store.get("token").await.unwrap_err();
        assert!(matches!(err, SecretError::Unavailable { .. }), "{err:?}");
        let source = std::error::Error::source(&err).unwrap().to_string();
        assert!(source.contains("more permissive than 600"), "{source}");
    }

    #[test]
    fn create_sets_mode_0600_on_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.json");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o666)).unwrap();
        FileSecretStore::create(&path, [("a", "1")]).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn open_reports_a_malformed_file_without_its_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.env");
        FileSecretStore::create(&path, [("a", "1")]).unwrap();
        write_private(&path, b"supersecretvalue\n").unwrap();
        let err = FileSecretStore::open(&path).unwrap_err();
        assert!(matches!(err, SecretsFileError::Malformed { line: 1, .. }));
        assert!(!err.to_string().contains("supersecretvalue"));
    }
}
