//! `ironclaw run` with one channel configured, a gateway on a free
//! loopback port and a fake OpenAI behind the real openai adapter — for the
//! Slack, WhatsApp and webhook channel tests. The process is killed on
//! drop; its output is in `run.log` in the home, shown on failures.

use std::process::{Child, Stdio};
use std::time::Duration;

use super::agent::AgentHome;
use super::fake_llm::{FakeLlm, Provider};
use super::loopback;

pub const MODEL: &str = "gpt-4o-mini";
pub const WAIT: Duration = Duration::from_secs(60);
/// Starting compiles every bundled component once per test binary (a
/// shared cache); on a loaded machine that takes a while.
const START_WAIT: Duration = Duration::from_secs(240);

pub struct ChannelRun {
    pub llm: FakeLlm,
    pub home: AgentHome,
    pub gateway: String,
    pub channel: String,
    child: Child,
}

impl Drop for ChannelRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ChannelRun {
    /// Starts the host with `[channels.<channel>]` = `unknown-users =
    /// "open"` plus `settings` (TOML lines), the vault holding `secrets`.
    /// Returns once the channel's webhook route answers (an unsigned probe
    /// gets the verifier's 401, or the challenge's 403).
    pub async fn start(channel: &str, settings: &str, secrets: &[(&str, &str)]) -> ChannelRun {
        warm_cache();
        let llm = FakeLlm::start(Provider::OpenAi).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free loopback port");
        let config = format!(
            "{llm}\n[gateway]\nlisten = \"127.0.0.1:{port}\"\n\n[channels.{channel}]\nunknown-users = \"open\"\n{settings}\n",
            llm = AgentHome::llm_section(&llm, MODEL, ""),
        );
        let home = AgentHome::new(&config, "OPENAI_API_KEY");
        for (name, value) in secrets {
            set_secret(&home, name, value);
        }
        let log = std::fs::File::create(home.root.join("run.log")).expect("log file");
        let child = home
            .command(&["run"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("start ironclaw run");
        let run = ChannelRun {
            llm,
            home,
            gateway: format!("http://127.0.0.1:{port}"),
            channel: channel.to_string(),
            child,
        };
        run.wait_routed(port).await;
        run
    }

    /// `/webhook/<channel>`.
    pub fn url(&self) -> String {
        format!("{}/webhook/{}", self.gateway, self.channel)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.home.root.join("run.log")).unwrap_or_default()
    }

    /// Completion requests the fake model received.
    pub fn model_calls(&self) -> usize {
        self.llm.requests().len()
    }

    /// The last user message the model was asked about.
    pub fn last_user_text(&self) -> String {
        self.llm
            .requests()
            .iter()
            .rev()
            .filter_map(|r| r.body["messages"].as_array().cloned())
            .flat_map(|m| m.into_iter().rev())
            .find(|m| m["role"] == "user")
            .and_then(|m| m["content"].as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// Gives the host time to (wrongly) process something, then asserts the
    /// model was asked exactly `n` times in all.
    pub async fn assert_model_calls(&self, n: usize, what: &str) {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(
            self.model_calls(),
            n,
            "{what}: the model was asked {} times, expected {n}\nhost log:\n{}",
            self.model_calls(),
            self.log()
        );
    }

    async fn wait_routed(&self, port: u16) {
        let url = self.url();
        let ready = loopback::wait_until(START_WAIT, || {
            // The probe runs on a blocking thread: wait_until's check is sync.
            probe(port, &url)
        })
        .await;
        assert!(
            ready,
            "the {} route never answered\nhost log:\n{}",
            self.channel,
            self.log()
        );
    }
}

/// Compiles the bundled components into the test binary's shared cache
/// once (`ironclaw run --check`), so the tests' hosts start from it
/// instead of each compiling everything at the same time.
fn warm_cache() {
    static WARM: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    tokio::task::block_in_place(|| {
        WARM.get_or_init(|| {
            let home = AgentHome::new("", "OPENAI_API_KEY");
            let out = home
                .command(&["run", "--check"])
                .stdin(Stdio::null())
                .output()
                .expect("ironclaw run --check");
            assert!(
                out.status.success(),
                "run --check: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        })
    });
}

/// Whether the channel's route is up: anything but 404 / 503 / no answer.
fn probe(port: u16, url: &str) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let path = url.split_once(&format!(":{port}")).map_or("/", |(_, p)| p);
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\ncontent-type: application/json\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
    );
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let mut answer = String::new();
    let _ = s.read_to_string(&mut answer);
    let status: u16 = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    !matches!(status, 0 | 404 | 503)
}

pub fn set_secret(home: &AgentHome, name: &str, value: &str) {
    use std::io::Write;
    let mut child = home
        .command(&["secrets", "set", name])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("secrets set");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(value.as_bytes())
        .expect("write secret");
    let out = child.wait_with_output().expect("secrets set output");
    assert!(
        out.status.success(),
        "secrets set {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
