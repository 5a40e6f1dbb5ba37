//! The job image: built from a Dockerfile directory (sandbox/Dockerfile,
//! Debian slim, needs a registry), or with no registry at all — FROM
//! scratch with a static busybox from this machine and a symlink per
//! applet — which is what the tests and offline machines use.

use std::path::{Path, PathBuf};

use bollard::Docker;
use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt;
use serde::Serialize;

use super::SandboxError;

/// Commands the busybox image offers (each a symlink to /bin/busybox):
/// enough for a shell job and for the file tools (cat, find, stat, patch).
pub const APPLETS: &[&str] = &[
    "[",
    "awk",
    "base64",
    "basename",
    "cat",
    "chmod",
    "cmp",
    "cp",
    "cut",
    "date",
    "diff",
    "dirname",
    "du",
    "echo",
    "env",
    "expr",
    "false",
    "find",
    "grep",
    "gunzip",
    "gzip",
    "head",
    "hexdump",
    "id",
    "ln",
    "ls",
    "md5sum",
    "mkdir",
    "mktemp",
    "mv",
    "nproc",
    "od",
    "patch",
    "printf",
    "pwd",
    "readlink",
    "realpath",
    "rm",
    "rmdir",
    "sed",
    "seq",
    "sh",
    "sha256sum",
    "sleep",
    "sort",
    "stat",
    "tail",
    "tar",
    "tee",
    "test",
    "timeout",
    "touch",
    "tr",
    "true",
    "uname",
    "uniq",
    "wc",
    "wget",
    "which",
    "whoami",
    "xargs",
    "yes",
];

/// Where a static busybox is looked for when none is named (Debian's
/// busybox-static installs /bin/busybox).
pub const BUSYBOX_PATHS: &[&str] = &["/bin/busybox", "/usr/bin/busybox"];

const BUSYBOX_DOCKERFILE: &str = "\
# Made by `ironclaw sandbox build`: no base image, nothing pulled.
FROM scratch
COPY rootfs/ /
USER 1000:1000
WORKDIR /workspace
ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/tmp
CMD [\"/bin/sh\"]
";

pub fn find_busybox() -> Option<PathBuf> {
    BUSYBOX_PATHS
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// The build context of the busybox image as a tar archive.
pub fn busybox_context(busybox: &Path) -> Result<Vec<u8>, SandboxError> {
    let binary = std::fs::read(busybox)
        .map_err(|e| SandboxError::Build(format!("cannot read {}: {e}", busybox.display())))?;
    if !binary.starts_with(b"\x7fELF") {
        return Err(SandboxError::Build(format!(
            "{} is not an ELF executable",
            busybox.display()
        )));
    }
    if has_interpreter(&binary) {
        return Err(SandboxError::Build(format!(
            "{} is dynamically linked: an image FROM scratch has no libc for it (install Debian's busybox-static, or pass --busybox PATH to a static one)",
            busybox.display()
        )));
    }
    let mut tar = tar::Builder::new(Vec::new());
    let io = |e: std::io::Error| SandboxError::Build(format!("build context: {e}"));
    file(&mut tar, "Dockerfile", BUSYBOX_DOCKERFILE.as_bytes(), 0o644).map_err(io)?;
    for dir in [
        "rootfs/bin",
        "rootfs/usr/bin",
        "rootfs/etc",
        "rootfs/workspace",
    ] {
        directory(&mut tar, dir, 0o755).map_err(io)?;
    }
    directory(&mut tar, "rootfs/tmp", 0o1777).map_err(io)?;
    file(&mut tar, "rootfs/bin/busybox", &binary, 0o755).map_err(io)?;
    for applet in APPLETS {
        symlink(&mut tar, &format!("rootfs/bin/{applet}"), "busybox").map_err(io)?;
    }
    // `#!/usr/bin/env sh` scripts.
    symlink(&mut tar, "rootfs/usr/bin/env", "/bin/busybox").map_err(io)?;
    file(
        &mut tar,
        "rootfs/etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/tmp:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n",
        0o644,
    )
    .map_err(io)?;
    file(
        &mut tar,
        "rootfs/etc/group",
        b"root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n",
        0o644,
    )
    .map_err(io)?;
    tar.into_inner().map_err(io)
}

/// Whether a little-endian ELF file asks for a program interpreter (is
/// dynamically linked). Other layouts answer `false`: the build then
/// fails later, in the container, with the daemon's own message.
fn has_interpreter(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |at: usize| {
        elf.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
    };
    let u32_at = |at: usize| {
        elf.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |at: usize| {
        elf.get(at..at + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    // EI_DATA 1 = little-endian; EI_CLASS 1 = 32-bit, 2 = 64-bit.
    if elf.get(5) != Some(&1) {
        return false;
    }
    let (phoff, entsize, count) = match elf.get(4) {
        Some(2) => (u64_at(0x20).map(|v| v as usize), u16_at(0x36), u16_at(0x38)),
        Some(1) => (u32_at(0x1C).map(|v| v as usize), u16_at(0x2A), u16_at(0x2C)),
        _ => return false,
    };
    let (Some(phoff), Some(entsize), Some(count)) = (phoff, entsize, count) else {
        return false;
    };
    (0..count).any(|i| {
        phoff
            .checked_add(i.saturating_mul(entsize))
            .and_then(u32_at)
            == Some(PT_INTERP)
    })
}

/// A directory (a user's Dockerfile and what it copies) as a tar archive.
pub fn directory_context(dir: &Path) -> Result<Vec<u8>, SandboxError> {
    if !dir.join("Dockerfile").is_file() {
        return Err(SandboxError::Build(format!(
            "{} has no Dockerfile",
            dir.display()
        )));
    }
    let mut tar = tar::Builder::new(Vec::new());
    tar.follow_symlinks(false);
    tar.append_dir_all(".", dir)
        .and_then(|_| tar.into_inner())
        .map_err(|e| SandboxError::Build(format!("{}: {e}", dir.display())))
}

fn header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_entry_type(kind);
    h.set_mode(mode);
    h.set_size(size);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h
}

fn file(
    tar: &mut tar::Builder<Vec<u8>>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let mut h = header(tar::EntryType::Regular, mode, data.len() as u64);
    tar.append_data(&mut h, path, data)
}

fn directory(tar: &mut tar::Builder<Vec<u8>>, path: &str, mode: u32) -> std::io::Result<()> {
    let mut h = header(tar::EntryType::Directory, mode, 0);
    tar.append_data(&mut h, path, std::io::empty())
}

fn symlink(tar: &mut tar::Builder<Vec<u8>>, path: &str, target: &str) -> std::io::Result<()> {
    let mut h = header(tar::EntryType::Symlink, 0o777, 0);
    tar.append_link(&mut h, path, target)
}

/// Builds `context` (a tar with a Dockerfile at its root) as `tag`;
/// returns the build's log lines.
pub async fn build(
    docker: &Docker,
    tag: &str,
    context: Vec<u8>,
) -> Result<Vec<String>, SandboxError> {
    let options = BuildImageOptions {
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        // A build step never needs the network of the host.
        networkmode: Some("none".into()),
        ..Default::default()
    };
    let mut stream = docker.build_image(options, None, Some(bollard::body_full(context.into())));
    let mut log = Vec::new();
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| SandboxError::Build(e.to_string()))?;
        if let Some(detail) = info.error_detail {
            return Err(SandboxError::Build(
                detail
                    .message
                    .unwrap_or_else(|| "the daemon reported an error".into()),
            ));
        }
        if let Some(line) = info.stream {
            let line = line.trim_end();
            if !line.is_empty() {
                log.push(line.to_string());
            }
        }
    }
    Ok(log)
}

/// The registry-free image: FROM scratch with `busybox` (default: the
/// first of [`BUSYBOX_PATHS`]).
pub async fn build_busybox(
    docker: &Docker,
    tag: &str,
    busybox: Option<&Path>,
) -> Result<Vec<String>, SandboxError> {
    let path = match busybox {
        Some(p) => p.to_path_buf(),
        None => find_busybox().ok_or_else(|| {
            SandboxError::Build(
                "no static busybox found at /bin/busybox or /usr/bin/busybox (install Debian's busybox-static, or pass --busybox PATH)"
                    .into(),
            )
        })?,
    };
    build(docker, tag, busybox_context(&path)?).await
}

/// What `sandbox status` says about the image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageStatus {
    pub tag: String,
    pub present: bool,
    pub id: Option<String>,
    pub size_bytes: Option<i64>,
}

pub async fn status(docker: &Docker, tag: &str) -> Result<ImageStatus, SandboxError> {
    match docker.inspect_image(tag).await {
        Ok(i) => Ok(ImageStatus {
            tag: tag.to_string(),
            present: true,
            id: i.id,
            size_bytes: i.size,
        }),
        Err(e) if super::docker::is_not_found(&e) => Ok(ImageStatus {
            tag: tag.to_string(),
            present: false,
            id: None,
            size_bytes: None,
        }),
        Err(e) => Err(SandboxError::docker(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_busybox_context_holds_the_binary_links_and_users() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("busybox");
        std::fs::write(&fake, b"\x7fELF fake").unwrap();
        let tar_bytes = busybox_context(&fake).unwrap();
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            if path == "rootfs/bin/sh" {
                assert_eq!(
                    entry.link_name().unwrap().unwrap().display().to_string(),
                    "busybox"
                );
            }
            names.push(path);
        }
        for n in [
            "Dockerfile",
            "rootfs/bin/busybox",
            "rootfs/bin/sh",
            "rootfs/bin/patch",
            "rootfs/etc/passwd",
            "rootfs/tmp",
        ] {
            assert!(
                names.iter().any(|x| x.trim_end_matches('/') == n),
                "{n} in {names:?}"
            );
        }
    }

    #[test]
    fn a_dynamic_binary_is_refused_and_a_static_one_taken() {
        // This test binary is dynamically linked (it has a PT_INTERP).
        let me = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        assert!(has_interpreter(&me));
        if let Some(busybox) = find_busybox() {
            let bytes = std::fs::read(&busybox).unwrap();
            // Debian's busybox-static, as scripts/services/docker installs.
            assert_eq!(busybox_context(&busybox).is_ok(), !has_interpreter(&bytes));
        }
        assert!(!has_interpreter(b"\x7fELF\x02\x01"));
    }

    #[test]
    fn a_non_elf_busybox_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("busybox");
        std::fs::write(&fake, b"#!/bin/sh\n").unwrap();
        assert!(
            busybox_context(&fake)
                .unwrap_err()
                .to_string()
                .contains("not an ELF")
        );
    }
}
