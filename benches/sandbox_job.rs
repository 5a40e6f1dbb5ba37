//! Job latency: `echo hi` as a sandbox job, from the job's row through
//! container create → attach → start → output → exit → removal to the
//! finished row, against a real Docker daemon (DOCKER_HOST or the default
//! socket; `scripts/services/docker start` starts one). The registry-free
//! busybox image is built first if the daemon does not have it.
//!
//! Sequential jobs, p50 / p95; then the same command through the docker
//! CLI (`docker run --rm --network none`) for comparison, when the CLI is
//! installed.
//!
//!   cargo bench --bench sandbox_job [-- JOBS]

use std::sync::Arc;
use std::time::{Duration, Instant};

use ironclaw::config::Home;
use ironclaw::sandbox::{JobSpec, Policy, Sandbox, SandboxConfig, Settings, image};
use ironclaw::store::domains::JobState;
use ironclaw::store::{Database, DatabaseUrl};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn report(name: &str, mut times: Vec<Duration>) {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<44} n={:<4} p50 {:>7.1} ms  p95 {:>7.1} ms  min {:>7.1} ms  max {:>7.1} ms",
        times.len(),
        ms(percentile(&times, 0.50)),
        ms(percentile(&times, 0.95)),
        ms(times[0]),
        ms(times[times.len() - 1]),
    );
}

fn main() {
    let jobs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(50);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let tag = rt.block_on(async {
        let docker = match ironclaw::sandbox::docker::connect(Duration::from_secs(5)).await {
            Ok(d) => d,
            Err(e) => {
                eprintln!("sandbox_job: {e}");
                std::process::exit(1);
            }
        };
        let info = ironclaw::sandbox::docker::describe(&docker)
            .await
            .expect("daemon");
        println!(
            "daemon: Docker {} (API {}) at {}",
            info.version, info.api_version, info.endpoint
        );
        let busybox = image::find_busybox().expect("a static busybox (busybox-static)");
        let context = image::busybox_context(&busybox).expect("context");
        let tag = format!(
            "ironclaw-sandbox-bench:{}",
            &blake3::hash(&context).to_hex()[..12]
        );
        if !image::status(&docker, &tag).await.expect("status").present {
            image::build(&docker, &tag, context).await.expect("build");
        }
        let dir = tempfile::tempdir().expect("home").keep();
        let home = Home::at(&dir);
        home.ensure().expect("home");
        let config = SandboxConfig {
            image: tag.clone(),
            ..SandboxConfig::default()
        };
        let db = Database::open_migrated(&DatabaseUrl::Sqlite(dir.join("ironclaw.db")))
            .await
            .expect("database");
        let settings = Settings::resolve(&config, &home).expect("settings");
        let sandbox = Arc::new(Sandbox::with_docker(docker, settings, db.jobs()));
        let run = || async {
            let started = Instant::now();
            let out = sandbox
                .run(JobSpec::shell("echo hi", Policy::ReadOnly))
                .await
                .expect("job");
            let took = started.elapsed();
            assert_eq!(
                (out.state, out.stdout.as_str()),
                (JobState::Completed, "hi\n")
            );
            (took, out.job_id)
        };
        for _ in 0..5 {
            run().await;
        }
        let mut times = Vec::with_capacity(jobs);
        // Where the time goes, from the job's event times (ms): created →
        // container (create), → running (attach, start), → completed
        // (output, exit, removal).
        let mut phases: [Vec<Duration>; 3] = Default::default();
        for _ in 0..jobs {
            let (took, id) = run().await;
            times.push(took);
            let events = db.jobs().events(&id).await.expect("events");
            let at: Vec<i64> = events.iter().map(|e| e.at).collect();
            for (i, phase) in phases.iter_mut().enumerate() {
                phase.push(Duration::from_millis((at[i + 1] - at[i]).max(0) as u64));
            }
        }
        report("sandbox job `echo hi` (row → removed → row)", times);
        let [create, start, finish] = phases;
        report("  of which: create container", create);
        report("  of which: attach + start", start);
        report("  of which: output, exit, remove, finish row", finish);
        tag
    });
    // The docker CLI doing the same: create, attach, start, wait, remove.
    let cli = |args: &[&str]| std::process::Command::new("docker").args(args).output();
    if cli(&["version"]).is_ok_and(|o| o.status.success()) {
        let args = [
            "run",
            "--rm",
            "--network",
            "none",
            "--read-only",
            "--user",
            "1000:1000",
            &tag,
            "sh",
            "-c",
            "echo hi",
        ];
        for _ in 0..3 {
            let _ = cli(&args);
        }
        let mut times = Vec::with_capacity(jobs);
        for _ in 0..jobs {
            let started = Instant::now();
            let o = cli(&args).expect("docker run");
            times.push(started.elapsed());
            assert_eq!(String::from_utf8_lossy(&o.stdout), "hi\n");
        }
        report("docker CLI `docker run --rm … echo hi`", times);
    }
}
