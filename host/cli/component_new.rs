//! `ironclaw component new`: a new component crate of any kind, with the
//! WIT package written into it (see [`crate::scaffold`]).

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{CliError, Context};
use crate::registry::ComponentKind;
use crate::scaffold::{self, ScaffoldError};

/// What the new component is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    /// A tool the agent can call (world `tool-component`).
    Tool,
    /// A messaging channel: webhooks in, answers out (`channel-component`).
    Channel,
    /// An LLM adapter for one provider (`llm-adapter-component`).
    #[value(alias = "llm-adapter")]
    Llm,
    /// A safety filter over messages, tool output and egress (`safety-filter-component`).
    #[value(alias = "safety-filter")]
    Safety,
    /// A hook on the agent's events (`hook-component`).
    Hook,
}

impl From<KindArg> for ComponentKind {
    fn from(kind: KindArg) -> ComponentKind {
        match kind {
            KindArg::Tool => ComponentKind::Tool,
            KindArg::Channel => ComponentKind::Channel,
            KindArg::Llm => ComponentKind::LlmAdapter,
            KindArg::Safety => ComponentKind::SafetyFilter,
            KindArg::Hook => ComponentKind::Hook,
        }
    }
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// The kind of component.
    #[arg(long, value_enum)]
    pub kind: KindArg,
    /// The component's name: lowercase letters a-z, digits and '-', starting
    /// with a letter, at most 64 characters. The crate is created in
    /// PARENT/NAME.
    pub name: String,
    /// The directory to create the crate in (default: the current one).
    #[arg(long, value_name = "PARENT", default_value = ".")]
    pub dir: PathBuf,
}

pub async fn run(_ctx: &Context, args: NewArgs) -> Result<(), CliError> {
    let kind = ComponentKind::from(args.kind);
    let generated = scaffold::generate(kind, &args.name, &args.dir).map_err(|e| match e {
        ScaffoldError::Io { .. } => CliError::Failed(e.to_string()),
        _ => CliError::Usage(e.to_string()),
    })?;
    let dir = generated.dir.display();
    let wasm = generated.wasm_file_name();
    println!(
        "created the {} component `{}` in {dir}",
        kind.as_str(),
        generated.name
    );
    println!();
    println!("  cd {dir}");
    println!(
        "  cargo build --release --target wasm32-wasip2   # → target/wasm32-wasip2/release/{wasm}"
    );
    println!("  cargo test                                     # its unit tests, natively");
    if kind == ComponentKind::Tool {
        let stem = wasm.trim_end_matches(".wasm");
        println!("  cp component.toml target/wasm32-wasip2/release/{stem}.toml");
        println!(
            "  ironclaw tool call {} --wasm target/wasm32-wasip2/release/{wasm} --params '{{\"name\":\"Ada\"}}'",
            generated.name
        );
    }
    println!();
    println!("README.md says more (cargo component build, capabilities in component.toml).");
    Ok(())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::config::{Config, Home};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: NewArgs,
    }

    fn parse(args: &[&str]) -> Result<NewArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("new").chain(args.iter().copied())).map(|c| c.args)
    }

    #[test]
    fn kinds_parse_short_and_long_and_dir_defaults_to_here() {
        let args = parse(&["--kind", "llm", "my-llm"]).unwrap();
        assert_eq!(args.kind, KindArg::Llm);
        assert_eq!(args.dir, PathBuf::from("."));
        assert_eq!(
            parse(&["--kind", "safety-filter", "x"]).unwrap().kind,
            KindArg::Safety
        );
        assert_eq!(
            ComponentKind::from(parse(&["--kind", "hook", "x"]).unwrap().kind),
            ComponentKind::Hook
        );
        assert!(parse(&["--kind", "filter", "x"]).is_err());
        assert!(parse(&["x"]).is_err(), "--kind is required");
    }

    #[tokio::test]
    async fn run_creates_the_crate_and_refuses_to_overwrite_it() {
        let parent =
            std::env::temp_dir().join(format!("ironclaw-component-new-{}", std::process::id()));
        std::fs::create_dir_all(&parent).unwrap();
        let ctx = Context {
            home: Home::at(parent.join("home")),
            config: Config::default(),
        };
        let dir = parent.display().to_string();
        let args = || parse(&["--kind", "tool", "hello", "--dir", &dir]).unwrap();
        run(&ctx, args()).await.unwrap();
        assert!(parent.join("hello/component.toml").is_file());
        let err = run(&ctx, args()).await.unwrap_err();
        assert!(matches!(err, CliError::Usage(_)), "{err}");
        assert!(err.to_string().contains("already exists"), "{err}");
        let bad = parse(&["--kind", "tool", "Hello", "--dir", &dir]).unwrap();
        let err = run(&ctx, bad).await.unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(
            err.to_string().contains("invalid component name `Hello`"),
            "{err}"
        );
        std::fs::remove_dir_all(&parent).unwrap();
    }
}
