//! The real binary as a child process: started, read from, and killed when the test is done. Shared by
//! the `it` tests and the replicas test (its own binary, so nothing else competes for the machine).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Kills the child on drop, so a failing test leaves no server behind.
pub struct Proc(pub Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_shoprelay"));
    c.env_remove("SHOPRELAY_MASTER_KEY")
        .env_remove("SHOPRELAY_DATABASE_URL")
        .env("SHOPRELAY_LOG", "warn");
    c
}

/// Starts `shoprelay serve` and returns it with the address from its first line.
pub fn serve(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> (Proc, String) {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .arg("serve")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("spawn shoprelay serve");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().expect("a first line").expect("utf-8");
    let addr = first
        .split("listening on ")
        .nth(1)
        .expect("first line names the address")
        .trim()
        .to_owned();
    // Keep draining stdout so the server never blocks on a full pipe.
    std::thread::spawn(move || for _ in lines {});
    (Proc(child), addr)
}

pub async fn wait_healthy(base: &str) {
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(format!("{base}/healthz")).await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{base} never became healthy");
}
