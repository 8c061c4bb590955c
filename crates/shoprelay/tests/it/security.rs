//! Who can reach what: the API token guard, Host / Origin / content-type checks against cross-site
//! requests and DNS rebinding, connection timeouts and the stop's deadline, file permissions and the
//! key file, page headers, and secrets that never show.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use shoprelay::server::{start, Running, StartOptions};
use shoprelay_core::secret::SecretBox;
use shoprelay_http::edge::Limits;
use shoprelay_http::guard::ApiToken;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::cli::{bin, Proc};
use crate::helpers::*;

const TOKEN: &str = "s3cr3t-api-token-0123456789abcdef-XYZ";

/// A server with an empty configuration on a fresh SQLite database; `edit` adjusts its options.
async fn start_bare(edit: impl FnOnce(&mut StartOptions)) -> (Running, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secrets = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
    let mut options = StartOptions::new(format!("sqlite://{}", dir.path().join("t.db").display()), secrets);
    options.workers = false;
    edit(&mut options);
    let server = start(listener, options).await.unwrap();
    (server, base, dir)
}

/// Reads until the server closes the connection; fails the test if it does not within `guard`.
async fn read_until_closed(stream: &mut TcpStream, guard: Duration) -> String {
    let mut seen = Vec::new();
    let read = tokio::time::timeout(guard, stream.read_to_end(&mut seen)).await;
    assert!(
        read.is_ok(),
        "the server kept the connection open: {:?}",
        String::from_utf8_lossy(&seen)
    );
    String::from_utf8_lossy(&seen).into_owned()
}

fn host_of(base: &str) -> &str {
    base.trim_start_matches("http://")
}

// ---- 1. the API token guard ------------------------------------------------------------------------

/// Runs `shoprelay serve` and returns `Err(stderr)` when it refuses to start, `Ok(())` when it starts.
fn try_serve(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .arg("serve")
        .args(args)
        .env_remove("SHOPRELAY_API_TOKEN")
        .env_remove("SHOPRELAY_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let mut child = Proc(cmd.spawn().unwrap());
    // The first line announces a started server; end of output means it exited.
    if first_line(&mut child).contains("listening on") {
        return Ok(());
    }
    let mut err = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let status = child.0.wait().unwrap();
    assert!(!status.success(), "{err}");
    Err(err)
}

/// The child's first line of output (empty if it wrote none); the rest is drained so it never blocks.
fn first_line(child: &mut Proc) -> String {
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let first = lines.next().and_then(Result::ok).unwrap_or_default();
    std::thread::spawn(move || for _ in lines {});
    first
}

#[test]
fn an_empty_short_or_missing_token_never_guards_a_public_listener() {
    let dir = tempfile::tempdir().unwrap();
    let err = try_serve(dir.path(), &["--listen", "0.0.0.0:0"], &[("SHOPRELAY_API_TOKEN", "")])
        .expect_err("an empty token on 0.0.0.0 must not start");
    assert!(err.contains("api.token_too_short") && err.contains("32"), "{err}");

    let err = try_serve(dir.path(), &[], &[("SHOPRELAY_LISTEN", "0:0")])
        .expect_err("`0:PORT` binds every interface: it needs a token");
    assert!(err.contains("api.token_required"), "{err}");

    let err = try_serve(dir.path(), &["--listen", "[::]:0"], &[])
        .expect_err("`[::]` binds every interface: it needs a token");
    assert!(err.contains("api.token_required"), "{err}");

    let err = try_serve(
        dir.path(),
        &["--listen", "127.0.0.1:0"],
        &[("SHOPRELAY_API_TOKEN", "short")],
    )
    .expect_err("a short token is refused even on loopback");
    assert!(err.contains("api.token_too_short"), "{err}");

    assert!(try_serve(
        dir.path(),
        &["--listen", "0.0.0.0:0"],
        &[("SHOPRELAY_API_TOKEN", TOKEN)]
    )
    .is_ok());
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive_and_metrics_follow_the_setting() {
    let (server, base, _dir) = start_bare(|o| o.api_token = Some(ApiToken::parse(TOKEN).unwrap())).await;
    let http = reqwest::Client::new();
    let status = |auth: Option<String>, path: &'static str| {
        let mut req = http.get(format!("{base}{path}"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        async move { req.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(status(Some(format!("Bearer {TOKEN}")), "/api/v1/status").await, 200);
    assert_eq!(status(Some(format!("bearer {TOKEN}")), "/api/v1/status").await, 200);
    assert_eq!(status(Some(format!("BEARER  {TOKEN}")), "/api/v1/status").await, 200);
    assert_eq!(status(Some(format!("Basic {TOKEN}")), "/api/v1/status").await, 401);
    assert_eq!(status(None, "/api/v1/status").await, 401);
    // /metrics is behind the token by default once there is one.
    assert_eq!(status(None, "/metrics").await, 401);
    assert_eq!(status(Some(format!("bearer {TOKEN}")), "/metrics").await, 200);
    server.stop().await.unwrap();

    let (server, base, _dir) = start_bare(|o| {
        o.api_token = Some(ApiToken::parse(TOKEN).unwrap());
        o.metrics_public = true;
    })
    .await;
    let open = reqwest::get(format!("{base}/metrics")).await.unwrap();
    assert_eq!(open.status().as_u16(), 200);
    server.stop().await.unwrap();
}

// ---- 2. cross-site requests and DNS rebinding --------------------------------------------------------

#[tokio::test]
async fn another_sites_page_cannot_write_through_the_loopback_api() {
    let app = spawn_app().await;
    let refused = app
        .http
        .post(format!("{}/api/v1/rules/orders/disable", app.base))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let body: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(body["code"], "http.cross_origin", "{body}");
    assert!(body["message"].is_string() && body["message_en"].is_string());

    let fetched = app
        .http
        .post(format!("{}/api/v1/rules/orders/disable", app.base))
        .header("sec-fetch-site", "cross-site")
        .send()
        .await
        .unwrap();
    assert_eq!(fetched.status().as_u16(), 403, "Sec-Fetch-Site: cross-site");

    let rule: serde_json::Value = app
        .http
        .get(format!("{}/api/v1/rules/orders", app.base))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(rule["enabled"], false, "nothing was disabled: {rule}");

    // The console's own page (same origin) may.
    let own = app
        .http
        .post(format!("{}/api/v1/rules/orders/disable", app.base))
        .header("origin", &app.base)
        .send()
        .await
        .unwrap();
    assert_eq!(own.status().as_u16(), 200);

    let plain = app
        .http
        .post(format!("{}/api/v1/tasks/1/ack", app.base))
        .header("content-type", "text/plain")
        .body(r#"{"by":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(plain.status().as_u16(), 415);
    let body: serde_json::Value = plain.json().await.unwrap();
    assert_eq!(body["code"], "http.unsupported_media_type", "{body}");
    let form = app
        .http
        .post(format!("{}/api/v1/deliveries/replay", app.base))
        .form(&[("destination", "wecom_app:hq")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 415, "a form post is not JSON");

    // A cross-site form on an acknowledgement page is refused too.
    let ack = app
        .http
        .post(format!("{}/ack/some-token", app.base))
        .header("origin", "http://evil.example")
        .form(&[("by", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(ack.status().as_u16(), 403);
}

#[tokio::test]
async fn a_rebound_host_name_is_refused() {
    let app = spawn_app().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let get = |host: String, path: &'static str| {
        let req = app.http.get(format!("{}{path}", app.base)).header("host", host);
        async move { req.send().await.unwrap() }
    };
    let rebound = get(format!("evil.example:{port}"), "/api/v1/status").await;
    assert_eq!(rebound.status().as_u16(), 403);
    let body: serde_json::Value = rebound.json().await.unwrap();
    assert_eq!(body["code"], "http.host_not_allowed", "{body}");
    assert_eq!(get(format!("evil.example:{port}"), "/").await.status().as_u16(), 403);
    assert_eq!(
        get(format!("evil.example:{port}"), "/ack/x").await.status().as_u16(),
        403
    );

    assert_eq!(
        get(format!("localhost:{port}"), "/api/v1/status")
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        get(host_of(&app.base).to_owned(), "/api/v1/status")
            .await
            .status()
            .as_u16(),
        200
    );
    assert_eq!(
        get(format!("[::1]:{port}"), "/api/v1/status").await.status().as_u16(),
        200
    );
    // Machines do not send a browser's Host: health checks and pushes are not held to it.
    assert_eq!(
        get(format!("evil.example:{port}"), "/healthz").await.status().as_u16(),
        200
    );
}

#[tokio::test]
async fn pages_cannot_be_framed_sniffed_or_leak_their_address() {
    let app = spawn_app().await;
    for path in ["/", "/ack/unknown", "/api/v1/status"] {
        let resp = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        let h = |k: &str| {
            resp.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            h("content-security-policy").contains("frame-ancestors 'none'"),
            "{path}"
        );
        assert!(h("content-security-policy").contains("default-src 'none'"), "{path}");
        assert_eq!(h("x-frame-options"), "DENY", "{path}");
        assert_eq!(h("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(h("referrer-policy"), "no-referrer", "{path}");
    }
}

// ---- 5. timeouts, connection cap and the stop's deadline --------------------------------------------

fn short_limits() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(300),
        body_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_millis(600),
        max_connections: 64,
        max_connections_per_source: 0,
        shutdown_grace: Duration::from_millis(300),
        ..Limits::default()
    }
}

#[tokio::test]
async fn slow_partial_and_idle_clients_are_cut_off() {
    let (server, base, _dir) = start_bare(|o| o.http = short_limits()).await;
    let addr = host_of(&base).to_owned();
    let guard = Duration::from_secs(10);

    let mut partial_headers = TcpStream::connect(&addr).await.unwrap();
    partial_headers
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .await
        .unwrap();
    read_until_closed(&mut partial_headers, guard).await;

    let mut idle = TcpStream::connect(&addr).await.unwrap();
    read_until_closed(&mut idle, guard).await;

    // An idle connection after a first answered request is closed too.
    let mut kept_alive = TcpStream::connect(&addr).await.unwrap();
    kept_alive
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let seen = read_until_closed(&mut kept_alive, guard).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");

    // A body that stops coming: the body timeout ends the request, then the connection.
    let partial_body_request = |addr: &str| {
        format!(
            "POST /push/shopee/main HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{\"code\":"
        )
    };
    let mut partial_body = TcpStream::connect(&addr).await.unwrap();
    partial_body
        .write_all(partial_body_request(&addr).as_bytes())
        .await
        .unwrap();
    let seen = read_until_closed(&mut partial_body, guard).await;
    assert!(seen.is_empty() || seen.starts_with("HTTP/1.1 4"), "{seen}");
    server.stop().await.unwrap();

    // With a patient body timeout, the request deadline answers first, with its code.
    let (server, base, _dir) = start_bare(|o| {
        o.http = Limits {
            body_timeout: Duration::from_secs(60),
            ..short_limits()
        }
    })
    .await;
    let addr = host_of(&base).to_owned();
    let mut partial_body = TcpStream::connect(&addr).await.unwrap();
    partial_body
        .write_all(partial_body_request(&addr).as_bytes())
        .await
        .unwrap();
    let seen = read_until_closed(&mut partial_body, guard).await;
    assert!(
        seen.starts_with("HTTP/1.1 408") && seen.contains("http.request_timeout"),
        "{seen}"
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn connections_past_the_cap_are_answered_503() {
    let (server, base, _dir) = start_bare(|o| {
        o.http = Limits {
            max_connections: 2,
            header_timeout: Duration::from_secs(60),
            ..short_limits()
        }
    })
    .await;
    let addr = host_of(&base).to_owned();
    let _a = TcpStream::connect(&addr).await.unwrap();
    let _b = TcpStream::connect(&addr).await.unwrap();
    let mut c = TcpStream::connect(&addr).await.unwrap();
    let _ = c
        .write_all(format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes())
        .await;
    let seen = read_until_closed(&mut c, Duration::from_secs(10)).await;
    assert!(seen.starts_with("HTTP/1.1 503"), "{seen}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn one_source_cannot_take_every_connection() {
    let (server, base, _dir) = start_bare(|o| {
        o.http = Limits {
            max_connections: 10,
            max_connections_per_source: 2,
            header_timeout: Duration::from_secs(60),
            ..short_limits()
        }
    })
    .await;
    let addr = host_of(&base).to_owned();
    let get = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    let _a = TcpStream::connect(&addr).await.unwrap();
    let _b = TcpStream::connect(&addr).await.unwrap();
    let mut c = TcpStream::connect(&addr).await.unwrap();
    let _ = c.write_all(get.as_bytes()).await;
    let seen = read_until_closed(&mut c, Duration::from_secs(10)).await;
    assert!(
        seen.starts_with("HTTP/1.1 503"),
        "a third connection from the same address: {seen}"
    );
    // Another address (all of 127/8 is this machine) is served while the first holds its share.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    let mut other = socket.connect(addr.parse().unwrap()).await.unwrap();
    other.write_all(get.as_bytes()).await.unwrap();
    let seen = read_until_closed(&mut other, Duration::from_secs(10)).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "another source: {seen}");
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_stop_finishes_within_its_grace_period_despite_a_slow_client() {
    let (server, base, _dir) = start_bare(|o| {
        o.http = Limits {
            header_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(60),
            request_timeout: Duration::from_secs(60),
            ..short_limits()
        }
    })
    .await;
    let addr = host_of(&base).to_owned();
    let mut slow = TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /push/shopee/main HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
             Content-Length: 100\r\n\r\n{{"
        )
        .as_bytes(),
    )
    .await
    .unwrap();
    let _idle = TcpStream::connect(&addr).await.unwrap();
    // Let the server take up the request before it is told to stop.
    let probe = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(probe.status().as_u16(), 200);
    let stopped = tokio::time::timeout(Duration::from_secs(10), server.stop()).await;
    assert!(stopped.is_ok(), "the stop waited for the slow client");
    read_until_closed(&mut slow, Duration::from_secs(10)).await;
}

// ---- 7. files at rest ----------------------------------------------------------------------------

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_and_its_wal_files_are_private() {
    let (server, _base, dir) = start_bare(|_| {}).await;
    for name in ["t.db", "t.db-wal", "t.db-shm"] {
        let path = dir.path().join(name);
        assert!(path.exists(), "{name}");
        assert_eq!(mode(&path), 0o600, "{name} is readable by others: {:o}", mode(&path));
    }
    server.stop().await.unwrap();
}

/// Starts `serve` in `dir`, stops it, and returns its stderr.
fn serve_once(dir: &Path) -> Result<String, String> {
    let mut cmd = bin();
    cmd.current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env_remove("SHOPRELAY_API_TOKEN")
        .env_remove("SHOPRELAY_LISTEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = Proc(cmd.spawn().unwrap());
    let started = first_line(&mut child).contains("listening on");
    if started {
        let pid = child.0.id().to_string();
        assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    }
    let mut err = String::new();
    child.0.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    let _ = child.0.wait();
    if started {
        Ok(err)
    } else {
        Err(err)
    }
}

#[cfg(unix)]
#[test]
fn a_loose_key_file_is_warned_about_and_a_missing_one_is_not_replaced() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("shoprelay.db.key");
    let first = serve_once(dir.path()).expect("a fresh start");
    assert!(!first.contains("permission"), "{first}");
    assert_eq!(mode(&key), 0o600);

    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let loose = serve_once(dir.path()).expect("a loose key file is a warning, not a refusal");
    assert!(
        loose.contains("WARN") && loose.contains("shoprelay.db.key") && loose.contains("chmod 600"),
        "{loose}"
    );

    std::fs::remove_file(&key).unwrap();
    let missing = serve_once(dir.path()).expect_err("no start without the key");
    assert!(
        missing.contains("key.file_missing")
            && missing.contains("restore it from your backup")
            && missing.contains("请从备份中恢复"),
        "{missing}"
    );
    assert!(!key.exists(), "no new key was generated in its place");
}

// ---- secrets never show ---------------------------------------------------------------------------

/// Everything the subscriber writes, for the test to search.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

const WEBHOOK_SECRET: &str = "whsec_c2VjcmV0LXdlYmhvb2sta2V5LWZvci10ZXN0cw==";

#[tokio::test]
async fn secrets_never_appear_in_logs_answers_errors_or_metrics() {
    let logs = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(logs.clone())
        .with_env_filter("debug,sqlx=info,hyper=info,hyper_util=info,h2=info")
        .with_ansi(false)
        .finish();
    // The test's runtime runs on this thread, so a thread default sees the whole server.
    let _guard = tracing::subscriber::set_default(subscriber);

    // A webhook receiver that fails, a robot that cannot be reached: errors that could quote a secret.
    let hook = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", hook.local_addr().unwrap());
    tokio::spawn(async move {
        let app = axum::Router::new().route(
            "/hook",
            axum::routing::post(|| async { (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
        );
        axum::serve(hook, app).await
    });
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let extra = format!(
        r#"
[[webhooks]]
id = "wms"
url = "{hook_url}"
secret = "{WEBHOOK_SECRET}"
allow_private_network = true

[[wecom.robots]]
id = "gone"
key = "gone-robot-key-7f3a9c"
api_base = "{closed_url}"

[[rules]]
id = "everywhere"
events = ["order_created"]
targets = [{{ type = "webhook", webhook = "wms" }}, {{ type = "robot", robot = "gone" }}]
"#
    );
    let app = spawn_app_with(Options {
        wecom_secret: "wrong-wecom-secret-5b1e".into(),
        extra_toml: extra,
        ..Options::default()
    })
    .await;
    app.authorize().await;
    app.create_order("READY_TO_SHIP").await;
    // Failing destinations keep retrying; a few passes make every kind of error happen.
    for _ in 0..5 {
        app.dispatch().await;
    }

    let (a, s) = (
        shoprelay_core::ids::ConfigId::parse(APP).unwrap(),
        shoprelay_core::ids::ShopId::new(SHOP).unwrap(),
    );
    let auth = app.server.engine.store().shop_auth(&a, s).await.unwrap().unwrap();
    let secrets = [
        PARTNER_KEY.to_owned(),
        "wrong-wecom-secret-5b1e".to_owned(),
        "sim-robot-key".to_owned(),
        "gone-robot-key-7f3a9c".to_owned(),
        WEBHOOK_SECRET.to_owned(),
        WEBHOOK_SECRET.trim_start_matches("whsec_").to_owned(),
        auth.access_token.expose().to_owned(),
        auth.refresh_token.expose().to_owned(),
    ];

    let mut answers = String::new();
    for path in [
        "/api/v1/status",
        "/api/v1/audit?limit=1000",
        "/api/v1/rules",
        "/api/v1/rules/everywhere",
        "/api/v1/tasks",
        "/metrics",
        "/",
    ] {
        let resp = app.http.get(format!("{}{path}", app.base)).send().await.unwrap();
        answers.push_str(&resp.text().await.unwrap());
    }
    let test = app
        .http
        .post(format!("{}/api/v1/rules/test", app.base))
        .json(&serde_json::json!({"kind": "order_created"}))
        .send()
        .await
        .unwrap();
    answers.push_str(&test.text().await.unwrap());
    assert!(
        answers.contains("everywhere") && answers.contains("shoprelay_"),
        "the answers were read: {answers}"
    );

    // The API token: a server guarded by one, asked with a wrong one and a right one.
    let (server, base, _dir) = start_bare(|o| o.api_token = Some(ApiToken::parse(TOKEN).unwrap())).await;
    for auth in ["Bearer wrong", &format!("Bearer {TOKEN}")] {
        for path in ["/api/v1/status", "/metrics", "/"] {
            let resp = reqwest::Client::new()
                .get(format!("{base}{path}"))
                .header("authorization", auth)
                .send()
                .await
                .unwrap();
            answers.push_str(&resp.text().await.unwrap());
        }
    }
    server.stop().await.unwrap();

    let log = String::from_utf8_lossy(&logs.0.lock().unwrap()).into_owned();
    assert!(
        log.contains("webhook answered HTTP 500") && log.contains("robot:gone") && log.contains("40001"),
        "the failures were logged, and captured: {log}"
    );
    for secret in secrets.iter().map(String::as_str).chain([TOKEN]) {
        assert!(!log.contains(secret), "`{secret}` is in the log:\n{log}");
        assert!(!answers.contains(secret), "`{secret}` is in an answer:\n{answers}");
    }
}

// ---- rate limits per source ------------------------------------------------------------------------

/// A client whose requests leave from `ip` (all of 127/8 is this machine).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(Some(ip.parse().unwrap()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_source_refused_too_often_waits_while_others_and_genuine_traffic_are_served() {
    let (server, base, _dir) = start_bare(|o| {
        o.http = Limits {
            refused_per_minute: 5,
            ..Limits::default()
        }
    })
    .await;
    let get = |client: &reqwest::Client, path: &str| client.get(format!("{base}{path}")).send();
    // Genuine requests are never charged, however many.
    let busy = client_from("127.0.0.3");
    for _ in 0..40 {
        assert_eq!(get(&busy, "/healthz").await.unwrap().status(), 200);
    }
    // A prober spends its budget of refusals, then is answered 429 even for what it may ask.
    let prober = client_from("127.0.0.1");
    for _ in 0..6 {
        assert_eq!(get(&prober, "/wp-login.php").await.unwrap().status(), 404);
    }
    let held = get(&prober, "/healthz").await.unwrap();
    assert_eq!(held.status(), 429);
    let retry: u64 = held.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body: serde_json::Value = held.json().await.unwrap();
    assert_eq!(body["code"], "http.too_many_refused", "{body}");
    // Everyone else is served as before.
    assert_eq!(get(&client_from("127.0.0.2"), "/healthz").await.unwrap().status(), 200);
    assert_eq!(get(&busy, "/healthz").await.unwrap().status(), 200);
    server.stop().await.unwrap();
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_source_is_throttled_not_the_proxy() {
    let (server, base, _dir) = start_bare(|o| {
        o.http = Limits {
            refused_per_minute: 3,
            trusted_proxies: vec!["127.0.0.1".parse().unwrap()],
            ..Limits::default()
        }
    })
    .await;
    let proxy = client_from("127.0.0.1");
    let via = |client: &reqwest::Client, forwarded: &str, path: &str| {
        client
            .get(format!("{base}{path}"))
            .header("x-forwarded-for", forwarded)
            .send()
    };
    for _ in 0..4 {
        via(&proxy, "198.51.100.7", "/nope").await.unwrap();
    }
    assert_eq!(via(&proxy, "198.51.100.7", "/healthz").await.unwrap().status(), 429);
    assert_eq!(
        via(&proxy, "198.51.100.8", "/healthz").await.unwrap().status(),
        200,
        "another client behind the same proxy"
    );
    // An untrusted peer cannot choose which address it is charged to.
    let direct = client_from("127.0.0.4");
    for _ in 0..4 {
        via(&direct, "203.0.113.1", "/nope").await.unwrap();
    }
    assert_eq!(via(&direct, "203.0.113.2", "/healthz").await.unwrap().status(), 429);
    server.stop().await.unwrap();
}
