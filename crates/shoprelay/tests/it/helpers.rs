//! `spawn_app()`: simulators, a fresh database and the server on port 0, workers off so each test runs
//! the pipeline with `dispatch()` instead of sleeping; one manual clock shared by the server and both
//! simulators, so a test lets a minute pass with `app.clock.advance(…)` instead of waiting for it.

use std::time::Duration;

use serde_json::Value;
use shoprelay::server::{start, Running, StartOptions};
use shoprelay_clock::{Clock, ManualClock, UnixMs};
use shoprelay_core::ids::{ConfigId, ShopId};
use shoprelay_core::secret::{Secret, SecretBox};
use shoprelay_engine::config::{parse_config, ConfigFile, Registry};
use shoprelay_sim::shopee::{NewItem, NewOrder, ShopeeSim, ShopeeSimConfig};
use shoprelay_sim::wecom::{SimMessage, WeComSim, WeComSimConfig};
use shoprelay_store::{AuditEntry, AuditFilter, ShopAuth, ShopAuthStatus};
use tokio::net::TcpListener;

pub const APP: &str = "main";
pub const SHOP: u64 = 727720655;
pub const PARTNER_KEY: &str = "4a6b6c7a4d4c5a6f4e6b6f6b4a4c5a4f";

/// Knobs a test may turn before the app starts.
pub struct Options {
    /// The WeCom app's secret as configured in shoprelay (the simulator's is `sim-app-secret`).
    pub wecom_secret: String,
    /// Extra TOML appended to the configuration.
    pub extra_toml: String,
    /// Language of the built-in messages.
    pub language: shoprelay_core::error::Lang,
    /// The simulated Shopee (shops, main accounts, token answers).
    pub shopee: ShopeeSimConfig,
    /// Extra TOML lines for the `[[shopee.apps]]` entry (e.g. `auth_link = "legacy"`).
    pub shopee_app_toml: String,
    /// Changes to the simulated corp (its departments, tags, chats …) before the simulator starts.
    pub wecom_sim: fn(&mut WeComSimConfig),
}

impl Default for Options {
    fn default() -> Self {
        Self {
            wecom_secret: "sim-app-secret".into(),
            extra_toml: String::new(),
            language: shoprelay_core::error::Lang::Zh,
            shopee: ShopeeSimConfig::default(),
            shopee_app_toml: String::new(),
            wecom_sim: |_| {},
        }
    }
}

pub struct TestApp {
    pub server: Running,
    /// The time of the server and of both simulators; it moves only when a test advances it.
    pub clock: ManualClock,
    pub shopee: ShopeeSim,
    pub wecom: WeComSim,
    pub base: String,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub fn config_toml(base: &str, shopee: &str, wecom: &str, wecom_secret: &str) -> String {
    format!(
        r#"
[server]
public_url = "{base}"

[admin]
targets = [{{ type = "robot", robot = "ops" }}]

[[shopee.apps]]
id = "{APP}"
partner_id = 2001887
partner_key = "{PARTNER_KEY}"
api_base = "{shopee}"

[[shopee.shops]]
app = "{APP}"
shop_id = {SHOP}
name = "测试店铺"
region = "SG"

[[wecom.apps]]
id = "hq"
corp_id = "wwsim00000000000001"
secret = "{wecom_secret}"
agent_id = 1000002
api_base = "{wecom}"

[[wecom.robots]]
id = "ops"
key = "sim-robot-key"
api_base = "{wecom}"

[[routes]]
id = "orders"
events = ["order_created", "order_status_changed", "tracking_number_assigned"]
targets = [{{ type = "wecom_app", app = "hq", users = ["zhangsan"] }}]

[[routes]]
id = "group"
events = ["order_created"]
targets = [{{ type = "robot", robot = "ops" }}]
"#
    )
}

/// Test tunables: retries come due at once, the logistics watch looks at every pass.
fn tune(s: &mut shoprelay_engine::EngineSettings) {
    s.delivery_backoff.base = Duration::from_millis(1);
    s.delivery_backoff.max = Duration::from_millis(2);
    s.enrich_backoff.base = Duration::from_millis(1);
    s.enrich_backoff.max = Duration::from_millis(2);
    s.http_timeout = Duration::from_secs(2);
    s.breaker_open = Duration::from_millis(1);
    s.tracking_poll = Duration::ZERO;
    s.ship_by_scan = Duration::ZERO;
}

/// The app with `extra_toml` (rules, webhooks …) added to the configuration, its shop authorized.
pub async fn spawn_authorized_with_rules(extra_toml: impl Into<String>) -> TestApp {
    let app = spawn_app_with(Options {
        extra_toml: extra_toml.into(),
        ..Options::default()
    })
    .await;
    app.authorize().await;
    app
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(Options::default()).await
}

pub async fn spawn_app_with(options: Options) -> TestApp {
    // Starting at the host's time keeps what the simulated Shopee signs and checks with the host clock
    // (API call timestamps) in step with the rest.
    let clock = ManualClock::starting_now();
    let mut wecom_config = WeComSimConfig {
        users: vec!["zhangsan".into(), "lisi".into()],
        chats: vec![shoprelay_sim::wecom::SimChat {
            chatid: "orders01".into(),
            name: "订单群".into(),
            members: vec!["zhangsan".into(), "lisi".into()],
            agent_id: 1000002,
        }],
        ..WeComSimConfig::default()
    };
    (options.wecom_sim)(&mut wecom_config);
    let wecom = shoprelay_sim::wecom::serve(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        wecom_config,
        clock.shared(),
    )
    .await
    .unwrap();
    let shopee = shoprelay_sim::shopee::serve(
        TcpListener::bind("127.0.0.1:0").await.unwrap(),
        options.shopee.clone(),
        clock.shared(),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secrets = SecretBox::from_base64(&SecretBox::generate_key()).unwrap();
    let mut start_options = StartOptions::new(
        format!("sqlite://{}", dir.path().join("t.db").display()),
        secrets.clone(),
    );
    start_options.workers = false;
    start_options.language = options.language;
    start_options.tune = tune;
    start_options.clock = clock.shared();
    let server = start(listener, start_options).await.unwrap();
    let app_line = format!("api_base = \"{}\"\n", shopee.base_url());
    let toml = config_toml(&base, shopee.base_url(), &wecom.base_url(), &options.wecom_secret).replacen(
        &app_line,
        &format!("{app_line}{}\n", options.shopee_app_toml),
        1,
    ) + &options.extra_toml;
    let file = parse_config(&toml).unwrap();
    let objects = Registry::from_file(&file).to_objects(&secrets).unwrap();
    server.engine.store().apply_config(&objects, clock.now()).await.unwrap();
    server.engine.reload_config().await.unwrap();
    shopee.set_push_target(None, &format!("{base}/push/shopee/{APP}")).await;
    TestApp {
        server,
        clock,
        shopee,
        wecom,
        base,
        http: reqwest::Client::new(),
        _dir: dir,
    }
}

impl TestApp {
    /// The SQLite database file, for tests that must reach under the store (tampering, corruption).
    pub fn database_path(&self) -> std::path::PathBuf {
        self._dir.path().join("t.db")
    }

    /// Applies the usual configuration plus `more` (another marketplace's app and shops, rules …) as
    /// `shoprelay apply` would, and reloads it; answers the parsed file.
    pub async fn apply_config_with(&self, more: &str) -> ConfigFile {
        let toml = config_toml(
            &self.base,
            self.shopee.base_url(),
            &self.wecom.base_url(),
            "sim-app-secret",
        ) + more;
        let file = parse_config(&toml).unwrap();
        let engine = &self.server.engine;
        let objects = Registry::from_file(&file).to_objects(&engine.secrets).unwrap();
        engine.store().apply_config(&objects, self.clock.now()).await.unwrap();
        engine.reload_config().await.unwrap();
        file
    }

    /// Stores an active authorization of shop `shop` of app `app` with the tokens its marketplace granted,
    /// as the authorization callback does.
    pub async fn save_active_auth(
        &self,
        app: &str,
        shop: u64,
        (access_token, refresh_token): (Secret, Secret),
        access_expires_at: UnixMs,
        refresh_expires_at: UnixMs,
    ) {
        let auth = ShopAuth {
            app_id: ConfigId::parse(app).unwrap(),
            shop_id: ShopId::new(shop).unwrap(),
            access_token,
            refresh_token,
            access_expires_at,
            refresh_expires_at,
            status: ShopAuthStatus::Active,
            status_reason: None,
            version: 0,
        };
        let store = self.server.engine.store();
        store.save_shop_auth(&auth, self.clock.now()).await.unwrap();
    }

    /// Authorizes the simulated shop through the real OAuth redirect flow.
    pub async fn authorize(&self) {
        let landing = self.land(&format!("{}/auth/shopee/{APP}", self.base)).await;
        assert!(landing.contains(&format!("shops={SHOP}")), "{landing}");
    }

    /// Follows `url` through the marketplace's authorization until shoprelay sends the seller back to
    /// the console: answers where (`/console/onboarding?authorized=…&shops=…`), failing on anything else.
    pub async fn land(&self, url: &str) -> String {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::custom(|attempt| {
                if attempt.url().path() == "/console/onboarding" {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .unwrap();
        let answer = client.get(url).send().await.unwrap();
        let status = answer.status();
        let location = answer
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = answer.text().await.unwrap_or_default();
        assert_eq!(status.as_u16(), 303, "authorization failed: {status} {text}");
        assert!(location.starts_with("/console/onboarding?authorized="), "{location}");
        location
    }

    /// Runs the pipeline until nothing is due.
    pub async fn dispatch(&self) {
        self.server.engine.dispatch_all_pending().await.unwrap();
    }

    /// Retries come due after a millisecond or two in tests; dispatch until the queues are empty, moving
    /// the clock on a few milliseconds between passes.
    pub async fn dispatch_until_settled(&self) {
        for _ in 0..200 {
            self.dispatch().await;
            let q = self.server.engine.store().queue_depths().await.unwrap();
            if q.inbox_pending == 0 && q.deliveries_pending == 0 {
                return;
            }
            self.clock.advance(Duration::from_millis(5));
        }
        panic!(
            "work did not settle: {:?}",
            self.server.engine.store().queue_depths().await.unwrap()
        );
    }

    pub async fn create_order(&self, status: &str) -> String {
        self.shopee
            .create_order(NewOrder {
                items: vec![
                    NewItem {
                        item_name: "陶瓷马克杯".into(),
                        item_sku: "MUG".into(),
                        model_name: "Blue".into(),
                        model_sku: "MUG-BL".into(),
                        quantity: 2,
                        price: 12.9,
                        original_price: None,
                    },
                    NewItem {
                        item_name: "杯垫".into(),
                        item_sku: "CST".into(),
                        model_name: String::new(),
                        model_sku: String::new(),
                        quantity: 1,
                        price: 3.5,
                        original_price: None,
                    },
                ],
                buyer_username: Some("buyer_ana".into()),
                currency: Some("SGD".into()),
                status: Some(status.into()),
                ..NewOrder::default()
            })
            .await
            .unwrap()
            .order
            .order_sn
    }

    /// App messages (template cards) delivered to WeCom.
    pub fn cards(&self) -> Vec<SimMessage> {
        self.wecom
            .messages()
            .into_iter()
            .filter(|m| m.msgtype == "template_card")
            .collect()
    }

    /// Robot markdown messages delivered to WeCom.
    pub fn markdowns(&self) -> Vec<String> {
        self.wecom
            .messages()
            .into_iter()
            .filter(|m| m.msgtype == "markdown")
            .filter_map(|m| m.body["markdown"]["content"].as_str().map(str::to_owned))
            .collect()
    }

    pub async fn audit(&self, filter: AuditFilter) -> Vec<AuditEntry> {
        self.server.engine.audit_sink.flush().await;
        self.server.engine.store().query_audit(&filter).await.unwrap()
    }

    /// Posts a raw push with a signature computed over `url`+body with `key`.
    pub async fn post_push(&self, app: &str, body: &str, signature: Option<String>) -> (u16, Value) {
        let url = format!("{}/push/shopee/{app}", self.base);
        let mut req = self
            .http
            .post(&url)
            .header("content-type", "application/json")
            .body(body.to_owned());
        if let Some(sig) = signature {
            req = req.header("authorization", sig);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    /// The signature Shopee would send for `body` to this app.
    pub fn sign(&self, body: &str) -> String {
        let url = format!("{}/push/shopee/{APP}", self.base);
        shoprelay_marketplaces::shopee::push_signature(PARTNER_KEY, &url, body.as_bytes())
    }
}

/// The card's `horizontal_content_list` as (keyname, value) pairs.
pub fn card_rows(m: &SimMessage) -> Vec<(String, String)> {
    m.body["template_card"]["horizontal_content_list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            (
                r["keyname"].as_str().unwrap_or_default().to_owned(),
                r["value"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

pub fn card_title(m: &SimMessage) -> String {
    m.body["template_card"]["main_title"]["title"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}
