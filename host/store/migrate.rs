//! Numbered migrations, embedded at build time from `migrations/<backend>/`,
//! applied in order and recorded with a checksum. Applying twice is a no-op;
//! a database newer than this binary, or a migration edited after it was
//! applied, is refused.

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

impl Migration {
    pub fn checksum(&self) -> String {
        blake3::hash(self.sql.as_bytes()).to_hex().to_string()
    }
}

/// The migrations compiled into this binary, per backend.
pub mod embedded {
    use super::Migration;
    include!(concat!(env!("OUT_DIR"), "/migrations.rs"));
}

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error(
        "the database is at schema version {database}, newer than this binary supports ({binary}); \
         upgrade ironclaw or point it at another database"
    )]
    NewerDatabase { database: u32, binary: u32 },
    #[error("migration {version} ({name}) was changed after it was applied (checksum differs)")]
    Changed { version: u32, name: String },
}

/// One recorded migration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub version: u32,
    pub checksum: String,
    pub applied_at: i64,
}

/// A row of `ironclaw db status`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationStatus {
    pub version: u32,
    pub name: &'static str,
    pub applied_at: Option<i64>,
}

/// What is left to apply, after checking what was applied is ours and not newer.
pub fn pending<'a>(
    available: &'a [Migration],
    applied: &[Applied],
) -> Result<Vec<&'a Migration>, MigrateError> {
    let binary = available.last().map_or(0, |m| m.version);
    if let Some(newest) = applied.iter().map(|a| a.version).max()
        && newest > binary
    {
        return Err(MigrateError::NewerDatabase {
            database: newest,
            binary,
        });
    }
    for a in applied {
        if let Some(m) = available.iter().find(|m| m.version == a.version)
            && m.checksum() != a.checksum
        {
            return Err(MigrateError::Changed {
                version: m.version,
                name: m.name.to_string(),
            });
        }
    }
    Ok(available
        .iter()
        .filter(|m| !applied.iter().any(|a| a.version == m.version))
        .collect())
}

pub fn status(available: &[Migration], applied: &[Applied]) -> Vec<MigrationStatus> {
    available
        .iter()
        .map(|m| MigrationStatus {
            version: m.version,
            name: m.name,
            applied_at: applied
                .iter()
                .find(|a| a.version == m.version)
                .map(|a| a.applied_at),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: &[Migration] = &[
        Migration {
            version: 1,
            name: "init",
            sql: "create table a (x);",
        },
        Migration {
            version: 2,
            name: "more",
            sql: "create table b (x);",
        },
    ];

    fn applied(m: &Migration) -> Applied {
        Applied {
            version: m.version,
            checksum: m.checksum(),
            applied_at: 1,
        }
    }

    #[test]
    fn plans_what_is_missing() {
        assert_eq!(pending(M, &[]).unwrap().len(), 2);
        assert_eq!(pending(M, &[applied(&M[0])]).unwrap()[0].version, 2);
        assert!(
            pending(M, &[applied(&M[0]), applied(&M[1])])
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn refuses_newer_and_changed() {
        let newer = Applied {
            version: 3,
            checksum: "x".into(),
            applied_at: 1,
        };
        let e = pending(M, &[newer]).unwrap_err();
        assert!(
            e.to_string()
                .contains("schema version 3, newer than this binary supports (2)"),
            "{e}"
        );
        let changed = Applied {
            version: 1,
            checksum: "other".into(),
            applied_at: 1,
        };
        assert!(matches!(
            pending(M, &[changed]),
            Err(MigrateError::Changed { version: 1, .. })
        ));
    }

    #[test]
    fn embedded_migrations_are_numbered_from_one_without_gaps() {
        for set in [embedded::SQLITE] {
            for (i, m) in set.iter().enumerate() {
                assert_eq!(m.version as usize, i + 1, "{}", m.name);
            }
        }
    }
}
