//! `database.url` (or `DATABASE_URL`): `sqlite://PATH` or `postgres://…`.

use std::path::PathBuf;

use crate::config::Home;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
#[error("database url `{url}`: {message}")]
pub struct UrlError {
    pub url: String,
    pub message: String,
}

impl DatabaseUrl {
    /// `DATABASE_URL`, else the configured url, else `IRONCLAW_HOME/ironclaw.db`.
    pub fn resolve(configured: Option<&str>, home: &Home) -> Result<DatabaseUrl, UrlError> {
        DatabaseUrl::choose(std::env::var("DATABASE_URL").ok(), configured, home)
    }

    fn choose(
        env: Option<String>,
        configured: Option<&str>,
        home: &Home,
    ) -> Result<DatabaseUrl, UrlError> {
        match env.as_deref().filter(|s| !s.is_empty()).or(configured) {
            Some(url) => DatabaseUrl::parse(url),
            None => Ok(DatabaseUrl::Sqlite(home.root().join("ironclaw.db"))),
        }
    }

    pub fn parse(url: &str) -> Result<DatabaseUrl, UrlError> {
        let err = |message: &str| UrlError {
            url: redact(url),
            message: message.to_string(),
        };
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(err(
                    "sqlite:// needs a file path, e.g. sqlite:///var/lib/ironclaw.db",
                ));
            }
            return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_string()));
        }
        Err(err("expected sqlite://PATH or postgres://…"))
    }

    /// For messages and logs: never the password.
    pub fn display(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => redact(u),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(crate) fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    // The last '@' ends the user info: a password may itself hold '@'.
    let rest = match rest.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => rest.to_string(),
        },
        None => rest.to_string(),
    };
    // `?password=…` is a password too.
    let rest = match rest.split_once('?') {
        Some((base, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|kv| match kv.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => kv.to_string(),
                })
                .collect();
            format!("{base}?{}", params.join("&"))
        }
        None => rest,
    };
    format!("{scheme}://{rest}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            redact("postgres://u:p@ss@h:5/db?sslmode=disable&password=x"),
            "postgres://u:***@h:5/db?sslmode=disable&password=***"
        );
        assert_eq!(redact("postgres://u@h/db"), "postgres://u@h/db");
    }

    #[test]
    fn parses_both_backends_and_refuses_others() {
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@127.0.0.1/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn env_beats_config_beats_the_home_default() {
        let home = Home::at("/h");
        let cfg = Some("sqlite:///c.db");
        let env = Some("sqlite:///e.db".to_string());
        assert_eq!(
            DatabaseUrl::choose(None, None, &home).unwrap(),
            DatabaseUrl::Sqlite("/h/ironclaw.db".into())
        );
        assert_eq!(
            DatabaseUrl::choose(None, cfg, &home).unwrap(),
            DatabaseUrl::Sqlite("/c.db".into())
        );
        assert_eq!(
            DatabaseUrl::choose(env, cfg, &home).unwrap(),
            DatabaseUrl::Sqlite("/e.db".into())
        );
        assert_eq!(
            DatabaseUrl::choose(Some(String::new()), cfg, &home).unwrap(),
            DatabaseUrl::Sqlite("/c.db".into())
        );
    }

    #[test]
    fn passwords_never_print() {
        let u = DatabaseUrl::parse("postgres://me:hunter2@127.0.0.1:5432/db").unwrap();
        assert_eq!(u.display(), "postgres://me:***@127.0.0.1:5432/db");
        let e = DatabaseUrl::parse("mongo://me:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }
}
