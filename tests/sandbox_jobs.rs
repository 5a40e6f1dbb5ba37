//! Sandbox jobs against a real Docker daemon: output and exit codes, the
//! deadline, the memory limit, the output cap, read-only workspaces, no
//! network, a non-root user with nothing but the workspace, job state and
//! events in the store, and every container removed.

mod support;

use ironclaw::sandbox::labels;
use ironclaw::sandbox::{JobSpec, Limits, Policy, SandboxError};
use ironclaw::store::domains::JobState;
use support::docker::{containers_labelled, rig};

fn small(timeout_secs: u64, memory_mb: u64, output_bytes: u64) -> Limits {
    Limits {
        memory_mb,
        cpu_shares: 512,
        pids: 64,
        timeout_secs,
        output_bytes,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_job_returns_stdout_stderr_and_exit_code_and_is_recorded() {
    let Some(rig) = rig(|_| {}).await else { return };
    let ok = rig
        .sandbox
        .run(JobSpec::shell("echo hi", Policy::ReadOnly))
        .await
        .unwrap();
    assert_eq!(
        (
            ok.state,
            ok.exit_code,
            ok.stdout.as_str(),
            ok.stderr.as_str()
        ),
        (JobState::Completed, Some(0), "hi\n", "")
    );

    let failed = rig
        .sandbox
        .run(JobSpec::shell(
            "echo out; echo err >&2; exit 3",
            Policy::ReadOnly,
        ))
        .await
        .unwrap();
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.exit_code, Some(3));
    assert_eq!(failed.stdout, "out\n");
    assert_eq!(failed.stderr, "err\n");
    assert!(!failed.truncated);

    // The store has both, with their events, and no container is left.
    let jobs = rig.db.jobs();
    let stored = jobs.job(&failed.job_id).await.unwrap().unwrap();
    assert_eq!(
        (stored.kind.as_str(), stored.state),
        ("shell", JobState::Failed)
    );
    let result: serde_json::Value =
        serde_json::from_str(stored.result.as_deref().unwrap()).unwrap();
    assert_eq!(result["exit_code"], 3);
    assert_eq!(result["stderr"], "err\n");
    let spec: serde_json::Value = serde_json::from_str(&stored.spec).unwrap();
    assert_eq!(spec["policy"], "read-only");
    assert_eq!(spec["summary"], "echo out; echo err >&2; exit 3");
    let events: Vec<String> = jobs
        .events(&failed.job_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect();
    assert_eq!(events, ["created", "container", "running", "failed"]);
    assert_eq!(
        jobs.list(Some(JobState::Completed), 10)
            .await
            .unwrap()
            .len(),
        1
    );
    for id in [&ok.job_id, &failed.job_id] {
        assert!(
            containers_labelled(rig.sandbox.docker(), labels::JOB, id)
                .await
                .is_empty(),
            "container of {id} removed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_deadline_kills_the_job_and_says_so() {
    let Some(rig) = rig(|_| {}).await else { return };
    let started = std::time::Instant::now();
    let out = rig
        .sandbox
        .run(
            JobSpec::shell("echo before; sleep 60; echo after", Policy::ReadOnly)
                .with_limits(small(1, 64, 4096)),
        )
        .await
        .unwrap();
    assert_eq!(out.state, JobState::TimedOut);
    assert_eq!(out.exit_code, None);
    assert_eq!(out.stdout, "before\n", "output up to the kill is kept");
    assert!(
        out.reason
            .as_deref()
            .unwrap()
            .contains("timed out after 1 s")
    );
    assert!(started.elapsed().as_secs() < 30, "killed, not waited for");
    let stored = rig.db.jobs().job(&out.job_id).await.unwrap().unwrap();
    assert_eq!(stored.state, JobState::TimedOut);
    assert!(
        containers_labelled(rig.sandbox.docker(), labels::JOB, &out.job_id)
            .await
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_memory_limit_kills_the_job_and_says_so() {
    let Some(rig) = rig(|_| {}).await else { return };
    // The shell holds 256 MB of output in a variable; the limit is 32 MB.
    let out = rig
        .sandbox
        .run(
            JobSpec::shell(
                "x=$(head -c 268435456 /dev/zero | tr '\\0' a); echo survived ${#x}",
                Policy::ReadOnly,
            )
            .with_limits(small(60, 32, 4096)),
        )
        .await
        .unwrap();
    assert_eq!(out.state, JobState::Failed, "{out:?}");
    assert!(
        out.reason
            .as_deref()
            .unwrap_or_default()
            .contains("memory limit of 32 MB"),
        "{out:?}"
    );
    assert!(!out.stdout.contains("survived"));
    let stored = rig.db.jobs().job(&out.job_id).await.unwrap().unwrap();
    assert!(stored.result.unwrap().contains("memory limit"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn output_over_the_cap_is_cut_and_marked() {
    let Some(rig) = rig(|_| {}).await else { return };
    let out = rig
        .sandbox
        .run(
            JobSpec::shell(
                "yes 0123456789 | head -c 100000; echo done >&2",
                Policy::ReadOnly,
            )
            .with_limits(small(30, 64, 1024)),
        )
        .await
        .unwrap();
    assert_eq!(out.state, JobState::Completed);
    assert!(out.truncated);
    assert_eq!(out.omitted_bytes, 100_000 + 5 - 1024);
    assert!(out.stdout.starts_with("0123456789\n0123456789\n"));
    assert!(
        out.stdout
            .ends_with("[output truncated: 98981 more bytes not shown (cap 1024 bytes)]\n"),
        "{}",
        &out.stdout[out.stdout.len() - 100..]
    );
    assert!(out.stdout.len() < 1200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_read_only_job_cannot_write_and_a_workspace_write_job_can() {
    let Some(rig) = rig(|_| {}).await else { return };
    let ro = rig
        .sandbox
        .run(JobSpec::shell(
            "echo x > /workspace/ro.txt",
            Policy::ReadOnly,
        ))
        .await
        .unwrap();
    assert_eq!(ro.state, JobState::Failed);
    assert!(ro.stderr.contains("Read-only file system"), "{}", ro.stderr);
    assert!(!rig.workspace.join("ro.txt").exists());

    let rw = rig
        .sandbox
        .run(JobSpec::shell(
            "echo x > /workspace/rw.txt && id -u",
            Policy::WorkspaceWrite,
        ))
        .await
        .unwrap();
    assert_eq!(rw.state, JobState::Completed, "{rw:?}");
    assert_eq!(rw.stdout.trim(), "1000", "not root");
    assert_eq!(
        std::fs::read_to_string(rig.workspace.join("rw.txt")).unwrap(),
        "x\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_access_needs_the_owners_opt_in() {
    let Some(rig) = rig(|_| {}).await else { return };
    let e = rig
        .sandbox
        .run(JobSpec::shell("true", Policy::FullAccess))
        .await
        .unwrap_err();
    assert!(matches!(e, SandboxError::PolicyRefused { .. }), "{e}");
    assert!(e.to_string().contains("[sandbox] policy"));
    assert!(rig.db.jobs().list(None, 10).await.unwrap().is_empty());

    let Some(ro) = support::docker::rig(|c| c.policy = Policy::ReadOnly).await else {
        return;
    };
    let e = ro
        .sandbox
        .run(JobSpec::shell("true", Policy::WorkspaceWrite))
        .await
        .unwrap_err();
    assert!(matches!(e, SandboxError::PolicyRefused { .. }), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_is_unreachable_inside() {
    let Some(rig) = rig(|_| {}).await else { return };
    // A server on the host's loopback, reachable from here…
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    // …is not from inside: the job has only its own loopback, no route.
    let out = rig
        .sandbox
        .run(JobSpec::shell(
            &format!(
                "cat /proc/net/dev; echo ROUTES; cat /proc/net/route; wget -q -T 2 -O- http://127.0.0.1:{port}/ && echo REACHED"
            ),
            Policy::WorkspaceWrite,
        ))
        .await
        .unwrap();
    assert!(!out.stdout.contains("REACHED"), "{out:?}");
    let interfaces: Vec<&str> = out
        .stdout
        .split("ROUTES")
        .next()
        .unwrap()
        .lines()
        .skip(2)
        .filter_map(|l| l.split(':').next().map(str::trim))
        .collect();
    assert_eq!(interfaces, ["lo"], "{}", out.stdout);
    let routes = out.stdout.split("ROUTES\n").nth(1).unwrap();
    assert_eq!(routes.lines().count(), 1, "only the header: {routes}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_sees_only_the_workspace_and_its_own_environment() {
    let Some(rig) = rig(|_| {}).await else { return };
    let out = rig
        .sandbox
        .run(JobSpec::shell(
            "env | sort; echo ---; ls /; echo ---; touch /etc/x 2>&1; touch /x 2>&1; echo ok > /tmp/t && cat /tmp/t",
            Policy::WorkspaceWrite,
        ))
        .await
        .unwrap();
    let parts: Vec<&str> = out.stdout.split("---\n").collect();
    let env: Vec<&str> = parts[0]
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .collect();
    for name in &env {
        assert!(
            ["HOME", "HOSTNAME", "LANG", "PATH", "PWD", "SHLVL", "TMPDIR"].contains(name),
            "unexpected variable {name} in {env:?}"
        );
    }
    assert!(parts[2].contains("Read-only file system"), "{}", parts[2]);
    assert!(parts[2].ends_with("ok\n"), "/tmp is writable: {}", parts[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cancelled_while_running_ends_cancelled_and_its_container_goes() {
    let Some(rig) = rig(|_| {}).await else { return };
    let sandbox = rig.sandbox.clone();
    let run = tokio::spawn(async move {
        sandbox
            .run(JobSpec::shell("echo started; sleep 60", Policy::ReadOnly))
            .await
    });
    let jobs = rig.db.jobs();
    let job = loop {
        if let Some(j) = jobs.list(Some(JobState::Running), 1).await.unwrap().pop() {
            break j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    jobs.transition(&job.id, JobState::Cancelled, None)
        .await
        .unwrap();
    for id in containers_labelled(rig.sandbox.docker(), labels::JOB, &job.id).await {
        ironclaw::sandbox::remove_container(rig.sandbox.docker(), &id)
            .await
            .unwrap();
    }
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), run)
        .await
        .expect("the runner noticed")
        .unwrap()
        .unwrap();
    assert_eq!(out.state, JobState::Cancelled);
    assert!(out.reason.unwrap().contains("cancelled"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_fails_the_job_with_the_way_to_build_it() {
    let Some(rig) = rig(|c| c.image = "ironclaw-sandbox-test:never-built".into()).await else {
        return;
    };
    let e = rig
        .sandbox
        .run(JobSpec::shell("true", Policy::ReadOnly))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("ironclaw sandbox build"), "{e}");
    let failed = rig
        .db
        .jobs()
        .list(Some(JobState::Failed), 10)
        .await
        .unwrap();
    assert_eq!(failed.len(), 1, "pending → failed is recorded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_job_still_removes_its_container() {
    let Some(rig) = rig(|_| {}).await else { return };
    let sandbox = rig.sandbox.clone();
    let run = tokio::spawn(async move {
        sandbox
            .run(JobSpec::shell("sleep 60", Policy::ReadOnly))
            .await
    });
    let jobs = rig.db.jobs();
    let job = loop {
        if let Some(j) = jobs.list(Some(JobState::Running), 1).await.unwrap().pop() {
            break j;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    run.abort();
    let docker = rig.sandbox.docker();
    for _ in 0..100 {
        if containers_labelled(docker, labels::JOB, &job.id)
            .await
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("container of the dropped job {} still there", job.id);
}

/// The reaper and the job row on the second backend: a job whose owner
/// process is gone is failed at the next start, its container removed.
async fn a_job_of_a_gone_owner_is_reaped(backend: support::backends::Backend) {
    let Some(rig) = rig(|_| {}).await else { return };
    let t = support::backends::migrated(backend).await;
    let sandbox = ironclaw::sandbox::Sandbox::with_docker(
        rig.sandbox.docker().clone(),
        rig.sandbox.settings().clone(),
        t.db.jobs(),
    );
    let done = sandbox
        .run(JobSpec::shell("echo stored", Policy::ReadOnly))
        .await
        .unwrap();
    let row = t.db.jobs().job(&done.job_id).await.unwrap().unwrap();
    assert_eq!(row.state, JobState::Completed);
    // A row as a crashed host leaves it: running, owned by a dead pid.
    let orphan =
        t.db.jobs()
            .create(
                "shell",
                &serde_json::json!({"summary": "sleep", "owner": format!("{}::", u32::MAX)})
                    .to_string(),
            )
            .await
            .unwrap();
    t.db.jobs()
        .transition(&orphan.id, JobState::Running, None)
        .await
        .unwrap();
    let report = ironclaw::sandbox::reaper::reap(&sandbox).await.unwrap();
    assert_eq!(report.jobs, std::slice::from_ref(&orphan.id));
    let row = t.db.jobs().job(&orphan.id).await.unwrap().unwrap();
    assert_eq!(row.state, JobState::Failed);
    assert!(row.result.unwrap().contains("host stopped"));
    // The finished job and a live owner's jobs are left alone.
    assert_eq!(
        t.db.jobs().job(&done.job_id).await.unwrap().unwrap().state,
        JobState::Completed
    );
}

on_both_backends!(a_job_of_a_gone_owner_is_reaped);
