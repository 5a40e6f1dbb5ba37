//! Reading and parsing the TOML files the owner and component authors write
//! (config.toml, component.toml), with errors that name the file.

use std::path::Path;

use serde::de::DeserializeOwned;

#[derive(Debug, thiserror::Error)]
pub enum TomlFileError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
}

/// The file's text; `Ok(None)` when it does not exist.
pub fn read_optional(path: &Path) -> Result<Option<String>, TomlFileError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(TomlFileError::Read {
            path: path.display().to_string(),
            source,
        }),
    }
}

pub fn read(path: &Path) -> Result<String, TomlFileError> {
    std::fs::read_to_string(path).map_err(|source| TomlFileError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Parses `text`; `origin` names it in errors (toml's message already says
/// the line, column and key).
pub fn parse<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T, TomlFileError> {
    toml::from_str(text).map_err(|e| TomlFileError::Parse {
        path: origin.to_string(),
        message: e.to_string().trim_end().to_string(),
    })
}
