//! The skills on disk: trusted ones from `IRONCLAW_HOME/skills/<name>/SKILL.md`,
//! installed ones from `IRONCLAW_HOME/skills-installed/<name>/`. A broken
//! file is reported with its reason and never stops the others loading.
//! Patterns are compiled here, once per load, not once per turn.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::install::{self, Origin};
use super::parse::{self, SkillFile};
use super::{MAX_SKILL_FILE_BYTES, SkillError};
use crate::config::Home;
use crate::trust::TrustStore;

/// The file inside each skill's directory.
pub const SKILL_FILE: &str = "SKILL.md";
/// Skill directories read per source at most (a home is not a registry).
const MAX_SKILLS: usize = 512;
/// How long a load serves: an edited or new skill shows within this time.
pub const CATALOG_TTL: Duration = Duration::from_secs(2);
/// Largest compiled pattern: a skill's regex cannot take the host's memory.
const PATTERN_SIZE_LIMIT: usize = 256 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkillSource {
    /// Written by the owner in `IRONCLAW_HOME/skills`.
    Trusted,
    /// Installed from a registry (signed by a publisher).
    Installed,
}

impl SkillSource {
    pub fn as_str(self) -> &'static str {
        match self {
            SkillSource::Trusted => "trusted",
            SkillSource::Installed => "installed",
        }
    }
}

#[derive(Debug)]
pub struct Skill {
    pub file: SkillFile,
    pub source: SkillSource,
    pub path: PathBuf,
    /// `file.patterns`, compiled (case-insensitive).
    pub patterns: Vec<regex::Regex>,
    /// Where an installed skill came from.
    pub origin: Option<Origin>,
}

impl Skill {
    pub fn name(&self) -> &str {
        &self.file.name
    }
}

/// A skill that did not load, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Broken {
    pub name: String,
    pub source: SkillSource,
    pub path: PathBuf,
    pub error: String,
}

/// One load of both sources.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// Sorted by name; names are unique.
    pub skills: Vec<Arc<Skill>>,
    pub broken: Vec<Broken>,
}

impl Snapshot {
    pub fn get(&self, name: &str) -> Option<&Arc<Skill>> {
        self.skills.iter().find(|s| s.name() == name)
    }
}

pub fn trusted_dir(home: &Home) -> PathBuf {
    home.root().join("skills")
}

pub fn installed_dir(home: &Home) -> PathBuf {
    home.root().join("skills-installed")
}

/// Reads both sources now.
pub fn load(home: &Home) -> Snapshot {
    let mut snapshot = Snapshot::default();
    load_source(
        &trusted_dir(home),
        SkillSource::Trusted,
        None,
        &mut snapshot,
    );
    let installed = installed_dir(home);
    if installed.is_dir() {
        // Installed skills are checked against the trust store on every
        // load, like components: untrusting a key retires its skills.
        let trust = TrustStore::load(home).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "trust store unreadable: installed skills refused");
            TrustStore::empty()
        });
        load_source(
            &installed,
            SkillSource::Installed,
            Some(&trust),
            &mut snapshot,
        );
    }
    snapshot.skills.sort_by(|a, b| a.name().cmp(b.name()));
    snapshot
        .broken
        .sort_by(|a, b| (&a.name, a.source).cmp(&(&b.name, b.source)));
    snapshot
}

fn load_source(dir: &Path, source: SkillSource, trust: Option<&TrustStore>, out: &mut Snapshot) {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            out.broken.push(Broken {
                name: String::new(),
                source,
                path: dir.to_path_buf(),
                error: format!("cannot read the directory: {e}"),
            });
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
        })
        .collect();
    paths.sort();
    for path in paths.into_iter().take(MAX_SKILLS) {
        let dir_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !path.is_dir() {
            if path.extension().is_some_and(|x| x == "md") {
                let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned());
                out.broken.push(Broken {
                    name: stem.clone().unwrap_or_default(),
                    source,
                    path: path.clone(),
                    error: format!(
                        "a skill lives in its own directory: move it to {}",
                        dir.join(stem.unwrap_or_default())
                            .join(SKILL_FILE)
                            .display()
                    ),
                });
            }
            continue;
        }
        let file = path.join(SKILL_FILE);
        match load_one(&file, &dir_name, source, trust) {
            Ok(skill) => {
                if out.skills.iter().any(|s| s.name() == skill.name()) {
                    out.broken.push(Broken {
                        name: dir_name,
                        source,
                        path: file,
                        error: "a trusted skill has the same name; it is the one used".into(),
                    });
                } else {
                    out.skills.push(Arc::new(skill));
                }
            }
            Err(error) => out.broken.push(Broken {
                name: dir_name,
                source,
                path: file,
                error,
            }),
        }
    }
}

fn load_one(
    file: &Path,
    dir_name: &str,
    source: SkillSource,
    trust: Option<&TrustStore>,
) -> Result<Skill, String> {
    let origin_text = file.display().to_string();
    let bytes = read_capped(file).map_err(|e| e.to_string())?;
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("{origin_text}: not UTF-8"))?;
    let parsed = parse::parse(text, &origin_text).map_err(|e| e.to_string())?;
    if parsed.name != dir_name {
        return Err(format!(
            "{origin_text}: `name`: `{}` differs from its directory `{dir_name}`",
            parsed.name
        ));
    }
    let origin = match (source, trust) {
        (SkillSource::Installed, Some(trust)) => {
            let dir = file.parent().unwrap_or(file);
            Some(install::check_installed(dir, &parsed.name, &bytes, trust)?)
        }
        _ => None,
    };
    let patterns = compile_patterns(&parsed.patterns, &origin_text).map_err(|e| e.to_string())?;
    Ok(Skill {
        file: parsed,
        source,
        path: file.to_path_buf(),
        patterns,
        origin,
    })
}

pub fn compile_patterns(
    patterns: &[String],
    origin: &str,
) -> Result<Vec<regex::Regex>, SkillError> {
    patterns
        .iter()
        .map(|p| {
            regex::RegexBuilder::new(p)
                .case_insensitive(true)
                .size_limit(PATTERN_SIZE_LIMIT)
                .build()
                .map_err(|e| SkillError::Invalid {
                    path: origin.to_string(),
                    field: "patterns".into(),
                    reason: format!("`{p}` is not a valid regex: {e}"),
                })
        })
        .collect()
}

/// Reads `path`, refusing more than [`MAX_SKILL_FILE_BYTES`].
pub fn read_capped(path: &Path) -> Result<Vec<u8>, SkillError> {
    use std::io::Read;
    let read_err = |source| SkillError::Read {
        path: path.display().to_string(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_SKILL_FILE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() > MAX_SKILL_FILE_BYTES {
        return Err(SkillError::Invalid {
            path: path.display().to_string(),
            field: "file".into(),
            reason: format!("over the {MAX_SKILL_FILE_BYTES}-byte limit"),
        });
    }
    Ok(bytes)
}

/// The skills, read again at most every [`CATALOG_TTL`].
pub struct Catalog {
    home: Home,
    cache: Mutex<Option<(Instant, Arc<Snapshot>)>>,
}

impl Catalog {
    pub fn new(home: Home) -> Catalog {
        Catalog {
            home,
            cache: Mutex::new(None),
        }
    }

    pub fn snapshot(&self) -> Arc<Snapshot> {
        if let Ok(cache) = self.cache.lock()
            && let Some((read_at, snapshot)) = cache.as_ref()
            && read_at.elapsed() < CATALOG_TTL
        {
            return snapshot.clone();
        }
        let snapshot = Arc::new(load(&self.home));
        for b in &snapshot.broken {
            tracing::warn!(skill = %b.name, path = %b.path.display(), error = %b.error, "skill not loaded");
        }
        if let Ok(mut cache) = self.cache.lock() {
            *cache = Some((Instant::now(), snapshot.clone()));
        }
        snapshot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn broken_files_are_reported_and_the_rest_load() {
        let dir = tempfile::tempdir().unwrap();
        let home = Home::at(dir.path());
        let ok = "---\nname: good\ndescription: d\nkeywords: [k]\n---\nbody\n";
        write(dir.path(), "skills/good/SKILL.md", ok);
        write(
            dir.path(),
            "skills/bad/SKILL.md",
            "---\nname: bad\n---\nbody\n",
        );
        write(dir.path(), "skills/other/SKILL.md", ok);
        write(
            dir.path(),
            "skills/regex/SKILL.md",
            "---\nname: regex\ndescription: d\npatterns: [\"(\"]\n---\nbody\n",
        );
        write(dir.path(), "skills/loose.md", ok);
        let s = load(&home);
        let names: Vec<&str> = s.skills.iter().map(|s| s.name()).collect();
        assert_eq!(names, ["good"]);
        let errors: Vec<(&str, &str)> = s
            .broken
            .iter()
            .map(|b| (b.name.as_str(), b.error.as_str()))
            .collect();
        assert_eq!(errors.len(), 4, "{errors:?}");
        assert!(errors[0].0 == "bad" && errors[0].1.contains("`description`: missing"));
        assert!(errors[1].0 == "loose" && errors[1].1.contains("own directory"));
        assert!(errors[2].0 == "other" && errors[2].1.contains("differs from its directory"));
        assert!(errors[3].0 == "regex" && errors[3].1.contains("not a valid regex"));
    }
}
