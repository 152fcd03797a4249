//! `plumbery emulator serve|start|stop|status`: the emulator's own command line.
//!
//! `serve` runs in the foreground and prints the URL as the first line of stdout; `start` runs
//! `serve` in the background (pid in `STATE_DIR/emulator.pid`, output in `STATE_DIR/emulator.log`,
//! URL in `STATE_DIR/url`) and returns once it answers; `stop` sends SIGTERM; `status` reports.
//! The state dir defaults to `emulator/` under the plumbery state dir ([`default_state_dir`]), the
//! one `plumbery --local` uses.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};

use emulator::FaultSpec;
use emulator::Profile;
use emulator::{EmulatorConfig, Nodes, Stop};

/// `plumbery emulator SUBCOMMAND`: what to do with the emulator.
#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Serve in the foreground until SIGTERM or Ctrl-C (prints the URL first).
    Serve(ServeArgs),
    /// Serve in the background; returns once the emulator answers.
    Start(ServeArgs),
    /// Stop the emulator started in the state dir.
    Stop(DirArgs),
    /// Tell whether the emulator of the state dir runs (exit code 3 when it does not).
    Status(DirArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NodesArg {
    /// Nothing becomes real.
    None,
    /// Servers become local namespace containers.
    Local,
}

#[derive(Debug, Clone, Args)]
pub struct DirArgs {
    /// State directory (state, journal, request log, pid, URL, CA) [default: `emulator/` under the
    /// plumbery state dir, i.e. $PLUMBERY_STATE_DIR/emulator or ~/.local/state/plumbery/emulator].
    #[arg(long, env = "PLUMBERY_EMULATOR_STATE_DIR")]
    state_dir: Option<PathBuf>,
}

impl DirArgs {
    fn dir(&self) -> PathBuf {
        self.state_dir.clone().unwrap_or_else(default_state_dir)
    }
}

/// The default state dir of `plumbery emulator` and of `plumbery --local`: `emulator/` under
/// `secrets::state_root()`.
pub fn default_state_dir() -> PathBuf {
    secrets::state_root().join("emulator")
}

/// The URL of the emulator running in `dir` when it runs and answers.
pub fn running_url(dir: &Path) -> Option<String> {
    read_pid(dir).filter(|p| is_our_emulator(*p))?;
    let url = std::fs::read_to_string(dir.join("url")).ok()?;
    let url = url.trim().to_string();
    answers(&url).then_some(url)
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    #[command(flatten)]
    dir: DirArgs,
    /// What makes servers real.
    #[arg(long, value_enum, default_value = "none")]
    nodes: NodesArg,
    /// Multiplier of every latency (0.01 makes a 240 s deploy take 2.4 s).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// YAML/JSON file of latencies in seconds (keys deployServer, startServer, ...).
    #[arg(long)]
    profile: Option<PathBuf>,
    /// Faults, e.g. busy=0.1,unexpected=0.02,http503=0.02,reset=0.01,delay=50ms.
    #[arg(long, default_value = "")]
    faults: String,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// API user.
    #[arg(long, default_value = "plumbery", env = "PLUMBERY_EMULATOR_USER")]
    user: String,
    /// API password.
    #[arg(
        long,
        default_value = "plumbery",
        env = "PLUMBERY_EMULATOR_PASSWORD",
        hide_env_values = true
    )]
    password: String,
    /// Serve HTTPS with a self-signed certificate (CA in STATE_DIR/ca.pem).
    #[arg(long)]
    tls: bool,
    /// fsync every journal write.
    #[arg(long)]
    fsync: bool,
}

/// Runs `plumbery emulator ...` once clap has parsed it; `args` are the words after `emulator`
/// (`start` runs `serve` with them in the background). Returns the exit code.
pub fn run(cmd: Cmd, args: &[String]) -> i32 {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(crate::colour())
        .try_init();
    let res = match cmd {
        Cmd::Serve(a) => serve(a),
        Cmd::Start(a) => start(a, args),
        Cmd::Stop(d) => stop(&d.dir()),
        Cmd::Status(d) => return status(&d.dir()),
    };
    match res {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("plumbery emulator: {e:#}");
            1
        }
    }
}

fn config(a: &ServeArgs) -> anyhow::Result<EmulatorConfig> {
    let mut cfg = EmulatorConfig::new(a.dir.dir());
    cfg.listen = a.listen;
    cfg.time_scale = a.time_scale;
    if let Some(p) = &a.profile {
        cfg.profile = Profile::load(p)?;
    }
    cfg.faults = FaultSpec::parse(&a.faults)?;
    cfg.seed = a.seed;
    cfg.user = a.user.clone();
    cfg.password = a.password.clone();
    cfg.tls = a.tls;
    cfg.fsync = a.fsync;
    cfg.nodes = match a.nodes {
        NodesArg::None => Nodes::None,
        NodesArg::Local => Nodes::Make(Arc::new(|dir: &Path| nodes::local_backend(dir))),
    };
    Ok(cfg)
}

fn serve(a: ServeArgs) -> anyhow::Result<()> {
    let cfg = config(&a)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        // Handlers are installed before the backend makes anything, so a SIGTERM or Ctrl-C that
        // comes early still ends in a clean backend shutdown, never in the default (kill) action.
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let stop = async move {
            tokio::select! {
                _ = term.recv() => {}
                _ = int.recv() => {}
            }
            tracing::info!("stopping");
            Stop::Graceful
        };
        let ready = move |r| {
            let _ = ready_tx.send(r);
        };
        let server = tokio::spawn(emulator::run(cfg, ready, stop));
        match ready_rx.await {
            Ok(Ok(r)) => {
                let mut out = std::io::stdout().lock();
                let _ = writeln!(out, "{}", r.url);
                let _ = out.flush();
                drop(out);
                tracing::info!(url = %r.url, state_dir = %a.dir.dir().display(), "CloudControl emulator listening");
            }
            Ok(Err(e)) => return Err(anyhow::Error::new(e)),
            Err(_) => anyhow::bail!("the emulator stopped before it was ready"),
        }
        server.await?;
        Ok(())
    })?;
    rt.shutdown_timeout(Duration::from_secs(5));
    Ok(())
}

fn pid_file(dir: &Path) -> PathBuf {
    dir.join("emulator.pid")
}

fn read_pid(dir: &Path) -> Option<i32> {
    std::fs::read_to_string(pid_file(dir))
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether `pid` is a live `plumbery emulator serve` (so we never signal a stranger).
fn is_our_emulator(pid: i32) -> bool {
    let Ok(cmd) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
    let zombie = std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    });
    !zombie && args.contains(&b"emulator".as_slice()) && args.contains(&b"serve".as_slice())
}

fn answers(url: &str) -> bool {
    let Some(hostport) = url.split("://").nth(1) else {
        return false;
    };
    let Ok(addr) = hostport.trim_end_matches('/').parse::<SocketAddr>() else {
        return false;
    };
    if url.starts_with("https://") {
        return std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_ok();
    }
    match emulator::http::Client::new(url, "", "") {
        Ok(c) => c
            .without_auth()
            .get("/oec/0.9/myaccount", false)
            .is_ok_and(|r| r.status == 401 || r.status == 200),
        Err(_) => false,
    }
}

fn start(a: ServeArgs, raw: &[String]) -> anyhow::Result<()> {
    let dir = &a.dir.dir();
    config(&a)?;
    std::fs::create_dir_all(dir)?;
    // Concurrent starts in one dir take turns, so none clobbers the other's pid and URL files.
    let start_lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("start.lock"))?;
    let _turn = nix::fcntl::Flock::lock(start_lock, nix::fcntl::FlockArg::LockExclusive)
        .map_err(|(_, e)| anyhow::anyhow!("lock {}: {e}", dir.join("start.lock").display()))?;
    if let Some(pid) = read_pid(dir).filter(|p| is_our_emulator(*p)) {
        anyhow::bail!("an emulator already runs in {} (pid {pid})", dir.display());
    }
    let _ = std::fs::remove_file(dir.join("url"));
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("emulator.log"))?;
    let mut args: Vec<String> = raw.to_vec();
    if let Some(i) = args.iter().position(|x| x == "start") {
        args[i] = "serve".into();
    }
    let exe = std::env::current_exe()?;
    use std::os::unix::process::CommandExt;
    let mut child = std::process::Command::new(exe)
        .arg("emulator")
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()?;
    let pid = child.id();
    std::fs::write(pid_file(dir), format!("{pid}\n"))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(st) = child.try_wait()? {
            let _ = std::fs::remove_file(pid_file(dir));
            let tail = std::fs::read_to_string(dir.join("emulator.log")).unwrap_or_default();
            let tail: Vec<&str> = tail.lines().rev().take(5).collect();
            anyhow::bail!(
                "the emulator exited ({st}) before answering: {}",
                tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
            );
        }
        if let Ok(url) = std::fs::read_to_string(dir.join("url")) {
            let url = url.trim();
            if answers(url) {
                println!("{url}");
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            anyhow::bail!(
                "the emulator (pid {pid}) did not answer within 30 s; see {}",
                dir.join("emulator.log").display()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stop(dir: &Path) -> anyhow::Result<()> {
    let Some(pid) = read_pid(dir) else {
        println!("not running ({})", dir.display());
        return Ok(());
    };
    if !is_our_emulator(pid) {
        let _ = std::fs::remove_file(pid_file(dir));
        println!("not running (stale pid {pid} removed)");
        return Ok(());
    }
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    kill(Pid::from_raw(pid), Signal::SIGTERM)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while is_our_emulator(pid) {
        if Instant::now() > deadline {
            anyhow::bail!("pid {pid} did not stop within 30 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = std::fs::remove_file(pid_file(dir));
    println!("stopped (pid {pid})");
    Ok(())
}

fn status(dir: &Path) -> i32 {
    let pid = read_pid(dir).filter(|p| is_our_emulator(*p));
    let url = std::fs::read_to_string(dir.join("url"))
        .ok()
        .map(|u| u.trim().to_string());
    match (pid, url) {
        (Some(pid), Some(url)) if answers(&url) => {
            println!("running pid={pid} url={url}");
            0
        }
        (Some(pid), _) => {
            println!("starting or unresponsive pid={pid}");
            1
        }
        _ => {
            println!("not running");
            3
        }
    }
}
