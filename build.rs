//! Embeds `migrations/<backend>/NNNN_name.sql` into the binary, in order, so
//! a release carries its schema and `ironclaw db migrate` needs no files.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let mut out = String::new();
    for backend in ["sqlite", "postgres"] {
        let dir = Path::new("migrations").join(backend);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<(u32, String, String)> = Vec::new();
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
                    continue;
                };
                let Some(stem) = file.strip_suffix(".sql") else {
                    continue;
                };
                let (num, name) = stem
                    .split_once('_')
                    .unwrap_or_else(|| panic!("migration {file}: expected NNNN_name.sql"));
                let version: u32 = num
                    .parse()
                    .unwrap_or_else(|_| panic!("migration {file}: `{num}` is not a number"));
                let abs = std::fs::canonicalize(&path).unwrap_or(path.clone());
                files.push((version, name.to_string(), abs.display().to_string()));
            }
        }
        files.sort();
        for pair in files.windows(2) {
            assert!(
                pair[0].0 != pair[1].0,
                "two {backend} migrations numbered {}",
                pair[0].0
            );
        }
        let const_name = backend.to_uppercase();
        let _ = writeln!(out, "pub const {const_name}: &[Migration] = &[");
        for (version, name, abs) in &files {
            let _ = writeln!(
                out,
                "    Migration {{ version: {version}, name: {name:?}, sql: include_str!({abs:?}) }},"
            );
        }
        let _ = writeln!(out, "];");
    }
    let dest = Path::new(&std::env::var("OUT_DIR").expect("OUT_DIR")).join("migrations.rs");
    std::fs::write(dest, out).expect("write migrations.rs");
}
