//! `station hub test NAME`: the connection test of one destination, a line per step with its
//! verdict in Chinese (`--english` for English), the time it took and the raw detail; exit
//! status 1 when a step failed. `--json` for the center's scripts.
//!
//! `station hub forget-refusal NAME`: forget that the hub refused compressed images, as the
//! destination dialog's button does (`station::actions::destination`, audited as actor `cli`).

use anyhow::{anyhow, bail};
use clap::Subcommand;
use station::actions::{self, Actor};
use station::config::Overrides;
use station::events::Events;
use station::upstream::probe::{self, Skip, Step, StepResult, Verdict};

use super::words;
use super::ConfigArgs;

#[derive(Subcommand)]
pub enum HubAction {
    /// Test the link to a destination step by step: DNS, TCP, TLS, login, QIDO-RS.
    Test {
        #[command(flatten)]
        config: ConfigArgs,
        /// The destination's name, as in `[[destinations]] name`.
        name: String,
        #[arg(long)]
        english: bool,
        #[arg(long)]
        json: bool,
    },
    /// Forget that the hub refused compressed images: the next study tries the codec again.
    ForgetRefusal {
        #[command(flatten)]
        config: ConfigArgs,
        /// The destination's name, as in `[[destinations]] name`.
        name: String,
    },
}

pub fn run(action: HubAction) -> anyhow::Result<()> {
    let (config, name, english, json) = match action {
        HubAction::Test {
            config,
            name,
            english,
            json,
        } => (config, name, english, json),
        HubAction::ForgetRefusal { config, name } => return forget_refusal(&config, &name),
    };
    let config = config.load(Overrides::default())?;
    let Some(dest) = config.destinations.iter().find(|d| d.name == name) else {
        let known: Vec<&str> = config
            .destinations
            .iter()
            .map(|d| d.name.as_str())
            .collect();
        bail!("no destination {name:?} (configured: {})", known.join(", "));
    };
    let steps = probe::probe_blocking(&[dest])
        .map_err(|e| anyhow!("tokio runtime: {e}"))?
        .pop()
        .unwrap_or_default();
    if json {
        println!("{}", serde_json::to_string_pretty(&steps)?);
    } else {
        for s in &steps {
            println!("{}", line(s, english));
        }
    }
    if !probe::passed(&steps) {
        std::process::exit(1);
    }
    Ok(())
}

fn forget_refusal(config: &ConfigArgs, name: &str) -> anyhow::Result<()> {
    let (config, store) = super::open_store(config)?;
    if !config.destinations.iter().any(|d| d.name == name) {
        bail!("no destination {name:?}");
    }
    let events = Events::new();
    let done = actions::destination::forget_refusals(&Actor::new(&store, &events, "cli"), name)?;
    if done.forgotten.is_empty() {
        println!("{name}: no refusal was remembered");
    } else {
        println!(
            "{name}: forgot the refusal of {}; the next study tries it again",
            done.forgotten.join(", ")
        );
    }
    Ok(())
}

fn line(s: &StepResult, english: bool) -> String {
    let (mark, verdict) = match (s.verdict, english) {
        (Verdict::Passed, false) => ("✓", "通过"),
        (Verdict::Passed, true) => ("✓", "passed"),
        (Verdict::Failed, false) => ("✗", "失败"),
        (Verdict::Failed, true) => ("✗", "failed"),
        (Verdict::Skipped, false) => ("-", "跳过"),
        (Verdict::Skipped, true) => ("-", "skipped"),
    };
    let time = match s.verdict {
        Verdict::Skipped => String::new(),
        _ => format!(" ({})", words::duration_ms(s.millis as i64)),
    };
    let detail = match s.skipped {
        Some(why) => skip_reason(why, english),
        None => &s.detail,
    };
    format!(
        "{mark} {} {verdict}{time}: {detail}",
        step_name(s.step, english),
    )
}

fn skip_reason(why: Skip, english: bool) -> &'static str {
    match (why, english) {
        (Skip::NotReached, false) => "前一步失败，未进行",
        (Skip::NotReached, true) => "not reached: an earlier step failed",
        (Skip::PlainHttp, false) => "使用 HTTP，无加密",
        (Skip::PlainHttp, true) => "plain HTTP, no encryption",
        (Skip::CheckedByTheSearch, false) => "用户名密码或令牌由影像查询一步检验",
        (Skip::CheckedByTheSearch, true) => "password or token: checked by the search",
        (Skip::NoCredentials, false) => "未配置登录信息",
        (Skip::NoCredentials, true) => "no credentials configured",
    }
}

fn step_name(step: Step, english: bool) -> &'static str {
    match (step, english) {
        (Step::Dns, false) => "域名解析 (DNS)",
        (Step::Dns, true) => "name lookup (DNS)",
        (Step::Tcp, false) => "网络连接 (TCP)",
        (Step::Tcp, true) => "connection (TCP)",
        (Step::Tls, false) => "加密握手 (TLS)",
        (Step::Tls, true) => "encryption (TLS)",
        (Step::Auth, false) => "登录认证 (OAuth2)",
        (Step::Auth, true) => "login (OAuth2)",
        (Step::Qido, false) => "影像查询 (QIDO-RS)",
        (Step::Qido, true) => "image search (QIDO-RS)",
    }
}
