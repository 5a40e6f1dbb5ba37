//! An agent turn that asks to run a shell command waits for the owner's
//! approval, then runs it in a container (real openai adapter against the
//! loopback fake, real dockerd); a denied one never starts a job.

mod support;

use serde_json::{Value, json};
use support::agent::AgentHome;
use support::docker::{config_section, containers_labelled, daemon, image, workspace};
use support::fake_llm::{FakeLlm, Provider, Scripted};

const MODEL: &str = "gpt-4o-mini";

async fn setup() -> Option<(FakeLlm, AgentHome, std::path::PathBuf, bollard::Docker)> {
    let docker = daemon().await?;
    let image = image(&docker).await;
    let ws = workspace();
    let fake = FakeLlm::start(Provider::OpenAi).await;
    let config = format!(
        "{}{}",
        AgentHome::llm_section(&fake, MODEL, ""),
        config_section(&image, &ws, "")
    );
    let home = AgentHome::new(&config, "OPENAI_API_KEY");
    Some((fake, home, ws, docker))
}

fn jobs(home: &AgentHome) -> Vec<Value> {
    let o = home.command(&["jobs", "list", "--json"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice::<Value>(&o.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shell_command_waits_for_approval_then_runs_in_a_container() {
    let Some((fake, home, ws, docker)) = setup().await else {
        return;
    };
    let command = "echo from-the-container > /workspace/out.txt; id -u; cat /workspace/out.txt";
    fake.push(Scripted::tool_call("shell", json!({ "command": command })));
    let asked = home
        .chat("write a file with the shell", &[])
        .await
        .expect_ok();
    assert_eq!(asked.kind(), "approval-needed", "{asked:?}");
    assert!(asked.text().contains("`shell`"), "{}", asked.text());
    // The model was offered the container tools beside the components'.
    let offered: Vec<String> = fake.requests()[0].body["tools"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
        .collect();
    for t in [
        "shell",
        "read_file",
        "write_file",
        "list_dir",
        "apply_patch",
        "echo",
    ] {
        assert!(offered.iter().any(|o| o == t), "{t} not in {offered:?}");
    }
    // Nothing ran while the question waits.
    assert!(!ws.join("out.txt").exists());
    assert!(jobs(&home).is_empty());

    fake.push(Scripted::text("Done: the file says from-the-container."));
    let done = home.chat("/approve", &[]).await.expect_ok();
    assert_eq!(done.text(), "Done: the file says from-the-container.");
    assert_eq!(
        std::fs::read_to_string(ws.join("out.txt")).unwrap(),
        "from-the-container\n"
    );
    // The job's output went back to the model as the tool's result.
    let last = fake.requests().pop().unwrap();
    assert!(
        last.body_text.contains("tool_output name=\\\"shell\\\""),
        "{}",
        last.body_text
    );
    assert!(
        last.body_text.contains("1000\\\\nfrom-the-container"),
        "{}",
        last.body_text
    );
    let list = jobs(&home);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["kind"], "shell");
    assert_eq!(list[0]["state"], "completed");
    assert_eq!(list[0]["spec"]["summary"], command);
    let scope = ironclaw::sandbox::scope_of(&home.root);
    assert!(
        containers_labelled(&docker, ironclaw::sandbox::labels::SCOPE, &scope)
            .await
            .is_empty(),
        "the container was removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_shell_command_never_starts_a_job() {
    let Some((fake, home, ws, _docker)) = setup().await else {
        return;
    };
    fake.push(Scripted::tool_call(
        "write_file",
        json!({"path": "denied.txt", "content": "no"}),
    ));
    let asked = home.chat("write it", &[]).await.expect_ok();
    assert_eq!(asked.kind(), "approval-needed");
    fake.push(Scripted::text("Understood."));
    let chat = home.chat("/deny", &[]).await.expect_ok();
    assert_eq!(chat.text(), "Understood.");
    assert!(!ws.join("denied.txt").exists());
    assert!(jobs(&home).is_empty());
}
