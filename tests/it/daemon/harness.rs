//! The test's side of a running `liqwave run`: the config it reads, the child process (killed if a
//! test fails, its log printed), systemd's notify socket, and a real SMTP server. Every wait here
//! is bounded and async, so the fakes on the test's runtime keep serving while a test waits.

use std::fs::File;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(25);

/// Waits until `done()` holds, looking every 25 ms; panics with `what` after `bound`.
pub(crate) async fn until(what: &str, bound: Duration, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(POLL).await;
    }
}

/// What a test varies in the daemon's config; everything else is small and fixed: one pair, a
/// day of warm-up, the store in the test's directory, logs plain.
#[derive(Debug, Clone)]
pub(crate) struct Setup {
    pub(crate) rest_url: String,
    pub(crate) ws_url: String,
    /// The daily summary, due at start (00:00 UTC with a day of grace), to the file and email.
    pub(crate) summary: bool,
    /// The file sink at `alerts.jsonl`.
    pub(crate) file_sink: bool,
    /// The email sink (plain SMTP, no auth) to this port of 127.0.0.1.
    pub(crate) smtp_port: Option<u16>,
    pub(crate) shutdown_deadline_secs: u64,
    pub(crate) watchdog_silence_secs: u64,
    /// `[metrics] listen`; `None` turns the endpoint off.
    pub(crate) metrics: Option<String>,
    /// A raw TOML tail, appended last.
    pub(crate) extra: String,
}

impl Setup {
    pub(crate) fn new(rest_url: &str, ws_url: &str) -> Setup {
        Setup {
            rest_url: rest_url.to_owned(),
            ws_url: ws_url.to_owned(),
            summary: false,
            file_sink: false,
            smtp_port: None,
            shutdown_deadline_secs: 2,
            watchdog_silence_secs: 120,
            metrics: None,
            extra: String::new(),
        }
    }

    /// Writes `liqwave.toml` into `dir` and returns its path.
    pub(crate) fn write(&self, dir: &Path) -> PathBuf {
        let mut text = format!(
            "[symbols]\ninclude = [\"{PAIR}\"]\n\n\
             [binance]\nrest_url = \"{}\"\nws_url = \"{}\"\nwarmup_days = 1\n\n\
             [sinks.console]\nenabled = false\n\n\
             [store]\npath = \"db\"\ncache_mb = 16\n\n\
             [delivery]\nshutdown_deadline_secs = {}\nmax_attempts = 1000\n\
             backoff_initial_ms = 100\nbackoff_max_secs = 1\n\n\
             [service]\nwatchdog_silence_secs = {}\nwarmup_deadline_secs = 120\n\n\
             [log]\nfilter = \"info\"\nformat = \"journald\"\n\n",
            self.rest_url, self.ws_url, self.shutdown_deadline_secs, self.watchdog_silence_secs,
        );
        text += &match &self.metrics {
            Some(listen) => format!("[metrics]\nenabled = true\nlisten = \"{listen}\"\n\n"),
            None => "[metrics]\nenabled = false\n\n".to_owned(),
        };
        text += &format!(
            "[summary]\nenabled = {}\nat = \"00:00\"\ntz = \"UTC\"\ngrace_minutes = 1440\n\n",
            self.summary
        );
        if self.file_sink {
            text += "[sinks.file]\npath = \"alerts.jsonl\"\n\n";
            text += "[[routes]]\nsink = \"file\"\nkinds = [\"daily_summary\"]\n\n";
        }
        if let Some(port) = self.smtp_port {
            text += &format!(
                "[sinks.email]\nsmtp_host = \"127.0.0.1\"\nsmtp_port = {port}\ntls = \"none\"\n\
                 from = \"liqwave <alerts@liqwave.test>\"\nto = [\"trader@liqwave.test\"]\n\
                 timeout_secs = 2\n\n[[routes]]\nsink = \"email\"\nkinds = [\"daily_summary\"]\n\n"
            );
        }
        text += &self.extra;
        let path = dir.join("liqwave.toml");
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// The one pair the daemon follows: the REST fake's first listing.
pub(crate) const PAIR: &str = "SYN000USDT";

/// A running `liqwave run`; dropping it kills the process if it still runs, and prints its log
/// when the test is failing.
pub(crate) struct Daemon {
    child: Child,
    log: PathBuf,
}

impl Daemon {
    /// Starts `liqwave run --config CONFIG` with a clean environment plus `env`; its log goes to
    /// `LOG_NAME` beside the config.
    pub(crate) fn start(config: &Path, log_name: &str, env: &[(&str, &str)]) -> Daemon {
        let log = config.with_file_name(log_name);
        let child = Command::new(env!("CARGO_BIN_EXE_liqwave"))
            .args(["run", "--config"])
            .arg(config)
            .env_clear()
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .expect("start liqwave run");
        Daemon { child, log }
    }

    pub(crate) fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status, and how long after the call it came.
    pub(crate) async fn exit(&mut self, bound: Duration) -> (ExitStatus, Duration) {
        let started = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, started.elapsed());
            }
            assert!(
                started.elapsed() < bound,
                "the daemon did not exit within {bound:?}"
            );
            tokio::time::sleep(POLL).await;
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _killed = self.child.kill();
            let _reaped = self.child.wait();
        }
        if std::thread::panicking() {
            // The failing test's output: what the daemon said is the first thing to read.
            #[allow(clippy::print_stderr)]
            {
                eprintln!("---- liqwave run log ----\n{}", self.log());
            }
        }
    }
}

/// systemd's side of `$NOTIFY_SOCKET`: every datagram with its arrival time, collected on a
/// thread until dropped.
pub(crate) struct Notifications {
    path: PathBuf,
    seen: Arc<Mutex<Vec<(Instant, String)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Notifications {
    pub(crate) fn bind(dir: &Path) -> Notifications {
        let path = dir.join("notify.sock");
        let socket = UnixDatagram::bind(&path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (Arc::clone(&seen), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stop2.load(Ordering::Relaxed) {
                if let Ok(n) = socket.recv(&mut buf) {
                    let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                    seen2.lock().unwrap().push((Instant::now(), text));
                }
            }
        });
        Notifications {
            path,
            seen,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn path(&self) -> &str {
        self.path.to_str().unwrap()
    }

    /// Arrival times of the datagrams that carry the line `state` (such as `READY=1`).
    pub(crate) fn times(&self, state: &str) -> Vec<Instant> {
        let seen = self.seen.lock().unwrap();
        seen.iter()
            .filter(|(_, text)| text.lines().any(|l| l == state))
            .map(|(at, _)| *at)
            .collect()
    }

    pub(crate) fn first(&self, state: &str) -> Option<Instant> {
        self.times(state).first().copied()
    }

    /// How many `state` datagrams arrived within `from..to`.
    pub(crate) fn count(&self, state: &str, from: Instant, to: Instant) -> usize {
        self.times(state)
            .into_iter()
            .filter(|t| (from..to).contains(t))
            .count()
    }

    /// Everything received, with times relative to `origin`, for failure messages.
    pub(crate) fn describe(&self, origin: Instant) -> String {
        let seen = self.seen.lock().unwrap();
        let lines: Vec<String> = seen
            .iter()
            .map(|(at, text)| {
                let t = at.saturating_duration_since(origin).as_secs_f64();
                format!("{t:7.3}s {}", text.replace('\n', " | "))
            })
            .collect();
        lines.join("\n")
    }
}

impl Drop for Notifications {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _joined = thread.join();
        }
    }
}

/// The alert ids in the JSONL file sink's file, in order.
pub(crate) fn file_ids(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("alerts.jsonl")).unwrap_or_default();
    text.lines()
        .map(|line| {
            let alert: serde_json::Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"));
            alert["id"].as_str().expect("an id").to_owned()
        })
        .collect()
}

/// The address of the metrics endpoint, from the daemon's "Serving metrics." log line.
pub(crate) fn metrics_addr(log: &str) -> Option<String> {
    let line = log.lines().find(|l| l.contains("Serving metrics."))?;
    let field = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("addr="))?;
    Some(field.to_owned())
}

/// One scrape of `GET /metrics`: the families (`# TYPE` lines) and every sample's value.
#[derive(Debug)]
pub(crate) struct Scrape {
    pub(crate) text: String,
}

impl Scrape {
    /// Fetches `http://ADDR/metrics` (HTTP/1.1, one request, bounded by a 5 s timeout); panics
    /// on anything but a 200 with the Prometheus text type.
    pub(crate) fn get(addr: &str) -> Scrape {
        use std::io::{Read, Write};
        let mut tcp = std::net::TcpStream::connect(addr).expect("connect to the metrics endpoint");
        tcp.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        tcp.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
        let request = format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        tcp.read_to_string(&mut answer).expect("a whole answer");
        let (head, body) = answer.split_once("\r\n\r\n").expect("a head and a body");
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/plain; version=0.0.4"),
            "{head}"
        );
        Scrape {
            text: body.to_owned(),
        }
    }

    /// Whether the family `name` is declared (`# TYPE name …`).
    pub(crate) fn has_family(&self, name: &str) -> bool {
        let declared = format!("# TYPE {name} ");
        self.text.lines().any(|l| l.starts_with(&declared))
    }

    /// The value of the sample `series`, written exactly as exposed (`name{label="v"}`).
    pub(crate) fn value(&self, series: &str) -> Option<f64> {
        self.text.lines().find_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            (name == series).then(|| value.parse().expect("a number"))
        })
    }

    /// The values of every sample of family `name`, labels and all.
    pub(crate) fn samples(&self, name: &str) -> Vec<(String, f64)> {
        self.text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.rsplit_once(' '))
            .filter(|(series, _)| series.split('{').next() == Some(name))
            .map(|(series, value)| (series.to_owned(), value.parse().expect("a number")))
            .collect()
    }
}

/// The series names the runbook documents (its metrics table), labels stripped.
pub(crate) fn documented_series() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/RUNBOOK.md");
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("| `liqwave_"))
        .filter_map(|rest| rest.split(['`', '{']).next())
        .map(|name| format!("liqwave_{name}"))
        .collect()
}
