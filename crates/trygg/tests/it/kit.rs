//! The test kit: fresh databases on both backends, a controlled clock, a real
//! server on port 0, and the `trygg` binary.

#![allow(dead_code)]

use sqlx::Connection as _;
use std::path::PathBuf;
use std::process::Output;
use std::sync::Arc;
use time::macros::datetime;
use trygg::config::{FileValues, ServeArgs};
use trygg::server::Server;
use trygg_domain::{
    IdentityNumber, IdentityNumberKind, ManualClock, OrgNumber, PersonDetails, PersonName, Tenant,
    TenantKind,
};
use trygg_store::{Database, KeyConfig, Store, StoreOptions};

/// Runs an async test body once per backend: `mod name { sqlite, postgres }`.
macro_rules! on_both_backends {
    ($(async fn $name:ident($b:ident) $body:block)*) => {$(
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            async fn run($b: $crate::kit::Backend) $body
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() { run($crate::kit::Backend::Sqlite).await }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() { run($crate::kit::Backend::Postgres).await }
        }
    )*};
}
pub(crate) use on_both_backends;

/// Which database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The fixed start of every test's clock.
pub fn start_time() -> time::OffsetDateTime {
    datetime!(2026-06-01 08:00 UTC)
}

pub fn postgres_admin_url() -> String {
    std::env::var("TRYGG_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A fresh, empty database (and data folder) that is removed afterwards.
pub struct TestDb {
    pub backend: Backend,
    pub dir: tempfile::TempDir,
    pg: Option<(String, String)>, // (database name, URL)
}

impl TestDb {
    pub async fn new(backend: Backend) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let admin = postgres_admin_url();
                let name = format!("trygg_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = sqlx::PgConnection::connect(&admin)
                    .await
                    .unwrap_or_else(|e| {
                        panic!("PostgreSQL at {admin} is needed for the tests (run .ci/run): {e}")
                    });
                sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                conn.close().await.unwrap();
                let (base, _) = admin.rsplit_once('/').unwrap();
                Some((name.clone(), format!("{base}/{name}")))
            }
        };
        Self { backend, dir, pg }
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn key_file(&self) -> PathBuf {
        self.data_dir().join("trygg.key")
    }

    pub fn sqlite_file(&self) -> PathBuf {
        self.data_dir().join("trygg.sqlite3")
    }

    pub fn postgres_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|(_, url)| url.as_str())
    }

    pub fn database(&self) -> Database {
        match &self.pg {
            Some((_, url)) => Database::Postgres(url.clone()),
            None => Database::Sqlite(self.sqlite_file()),
        }
    }

    /// Global flags that point the `trygg` binary at this database.
    pub fn cli_args(&self) -> Vec<String> {
        let mut args = vec![
            "--data-dir".to_owned(),
            self.data_dir().display().to_string(),
        ];
        if let Some(url) = self.postgres_url() {
            args.push("--database-url".to_owned());
            args.push(url.to_owned());
        }
        args
    }

    /// Opens the store with the key file in the data folder.
    pub async fn open(&self, clock: &ManualClock) -> Result<Store, trygg_store::StoreError> {
        self.open_with(KeyConfig::File(self.key_file()), clock)
            .await
    }

    pub async fn open_with(
        &self,
        keys: KeyConfig,
        clock: &ManualClock,
    ) -> Result<Store, trygg_store::StoreError> {
        Store::open(
            StoreOptions {
                database: self.database(),
                keys,
                max_connections: 4,
            },
            Arc::new(clock.clone()),
        )
        .await
    }

    /// Raw access for assertions about what is stored (tests only).
    pub async fn raw(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        let url = match &self.pg {
            Some((_, url)) => url.clone(),
            None => format!("sqlite://{}", self.sqlite_file().display()),
        };
        sqlx::AnyPool::connect(&url).await.unwrap()
    }

    /// Everything the database holds on disk, as bytes: the SQLite files, or a
    /// `pg_dump` of the PostgreSQL database.
    pub async fn raw_bytes(&self) -> Vec<u8> {
        match &self.pg {
            None => {
                let mut all = Vec::new();
                for suffix in ["", "-wal", "-shm", "-journal"] {
                    let path = PathBuf::from(format!("{}{suffix}", self.sqlite_file().display()));
                    if let Ok(bytes) = std::fs::read(&path) {
                        all.extend(bytes);
                    }
                }
                all
            }
            Some((_, url)) => {
                let out = tokio::process::Command::new("pg_dump")
                    .arg("--no-owner")
                    .arg(format!("--dbname={url}"))
                    .output()
                    .await
                    .expect("pg_dump is needed for the tests");
                assert!(
                    out.status.success(),
                    "pg_dump failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
                out.stdout
            }
        }
    }
}

impl TestDb {
    /// How binary data appears in [`TestDb::raw_bytes`]: as is in SQLite's
    /// file, hex-encoded in a `pg_dump`.
    pub fn as_stored(&self, bytes: &[u8]) -> Vec<u8> {
        match self.backend {
            Backend::Sqlite => bytes.to_vec(),
            Backend::Postgres => bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
                .into_bytes(),
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((name, _)) = self.pg.take() {
            let admin = postgres_admin_url();
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&admin).await {
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                        )))
                        .execute(&mut conn)
                        .await;
                    }
                });
            })
            .join();
        }
    }
}

/// A clock at [`start_time`].
/// A free TCP port on 127.0.0.1, for a program that cannot be told to
/// take port 0 and say which it got (chromedriver, a provider, Mosquitto).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn clock() -> ManualClock {
    ManualClock::new(start_time())
}

/// A store on a fresh database, with its clock.
pub async fn store(backend: Backend) -> (TestDb, Store, ManualClock) {
    let db = TestDb::new(backend).await;
    let clock = clock();
    let store = db.open(&clock).await.unwrap();
    (db, store, clock)
}

/// A municipality to put things in.
pub async fn tenant(store: &Store, org: &str) -> Tenant {
    let mut tx = store.begin().await.unwrap();
    let t = tx
        .add_tenant(
            "Testby kommun",
            &OrgNumber::parse(org).unwrap(),
            TenantKind::Municipality,
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    t
}

/// A valid identity number born on `date` with `serial`.
pub fn pnr(date: time::Date, serial: u16) -> IdentityNumber {
    IdentityNumber::from_parts(date, serial, IdentityNumberKind::Personnummer).unwrap()
}

/// Person details with the given names and number.
pub fn person(given: &str, family: &str, number: IdentityNumber) -> PersonDetails {
    PersonDetails {
        identity_number: number,
        given_name: PersonName::parse(given).unwrap(),
        family_name: PersonName::parse(family).unwrap(),
        address: None,
        phone: None,
        email: None,
    }
}

/// A running server on port 0 over a fresh database.
pub struct TestApp {
    /// The BankID simulator the app's BankID login talks to.
    pub bankid: trygg_bankid::SimulatorServer,
    pub db: TestDb,
    pub store: Store,
    pub clock: ManualClock,
    pub server: Server,
    pub base: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, clock(), "127.0.0.1:0", Vec::new()).await
    }

    /// A server with a given clock, address and OpenID providers.
    pub async fn spawn_with(
        backend: Backend,
        clock: ManualClock,
        listen: &str,
        oidc: Vec<trygg_oidc::ProviderConfig>,
    ) -> Self {
        let args = ServeArgs {
            listen: Some(listen.into()),
            ..Default::default()
        };
        Self::spawn_configured(backend, clock, args, oidc).await
    }

    /// A server with given settings (SIP on a free port unless they say
    /// otherwise).
    pub async fn spawn_configured(
        backend: Backend,
        clock: ManualClock,
        mut args: ServeArgs,
        oidc: Vec<trygg_oidc::ProviderConfig>,
    ) -> Self {
        let db = TestDb::new(backend).await;
        let store = db.open(&clock).await.unwrap();
        args.sip_listen.get_or_insert_with(|| "127.0.0.1:0".into());
        args.shutdown_grace_secs.get_or_insert_with(|| "2".into());
        let settings = args.resolve(&FileValues::default()).unwrap();
        let simulator = trygg_bankid::BankIdSimulator::new(Arc::new(clock.clone()), Vec::new());
        let bankid = simulator
            .serve("127.0.0.1:0".parse().unwrap(), None)
            .await
            .unwrap();
        let mut methods = trygg_web::methods::LoginMethods::default();
        methods.bankid = Some(trygg_web::methods::BankIdLogin {
            client: trygg_bankid::BankIdClient::new(trygg_bankid::BankIdConfig {
                base_url: format!("http://{}", bankid.addr()),
                client_identity: None,
                ca_pem: None,
            })
            .unwrap(),
            simulator_app: Some(format!("http://{}/simulator/app", bankid.addr())),
        });
        // Passkeys as without public_url: RP id `localhost`, any port.
        methods.passkey = Some(trygg_web::passkey::PasskeyLogin::new(None).unwrap());
        if !oidc.is_empty() {
            methods.oidc = Some(
                trygg_oidc::OidcRp::discover(
                    oidc,
                    Arc::new(clock.clone()),
                    trygg_oidc::http_client().unwrap(),
                )
                .await
                .unwrap(),
            );
        }
        let server = Server::start(store.clone(), &settings, "trygg", methods)
            .await
            .unwrap();
        let base = format!("http://{}", server.addr());
        Self {
            bankid,
            db,
            store,
            clock,
            server,
            base,
            client: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The URL a browser uses: `http://localhost:PORT`, so that WebAuthn's
    /// RP id (`localhost`) matches and the page is a secure context.
    pub fn localhost_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.server.addr().port())
    }
}

/// Runs the `trygg` binary with `args` (plus the database's global flags).
pub async fn trygg(db: &TestDb, args: &[&str]) -> Output {
    trygg_env(db, args, &[]).await
}

/// Like [`trygg`] with extra environment variables.
pub async fn trygg_env(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_trygg"));
    cmd.args(db.cli_args()).args(args);
    cmd.env_remove("TRYGG_MASTER_KEY")
        .env_remove("TRYGG_CONFIG")
        .env_remove("TRYGG_DATABASE_URL");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Counts occurrences of `needle` in `haystack`.
pub fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// The `.route("path", handlers)` calls in Rust source: (path, handler text).
/// Reads the source without whitespace (rustfmt may split a call over lines)
/// and follows parentheses to the end of each call.
pub fn route_calls(source: &str) -> Vec<(String, String)> {
    let compact: String = source.split_whitespace().collect();
    let mut out = Vec::new();
    for chunk in compact.split(".route(\"").skip(1) {
        let Some((path, rest)) = chunk.split_once('"') else {
            continue;
        };
        let mut depth = 1usize;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        out.push((path.to_owned(), rest[..end].to_owned()));
    }
    out
}

/// A cookie jar of our own for the HTTP clients of the tests (reqwest's jar
/// would not send the `Secure` `__Host-` cookies over plain HTTP). Keeps
/// every `Set-Cookie` it saw, for assertions on cookie flags.
#[derive(Debug, Default)]
pub struct CookieJar {
    cookies: Vec<(String, String)>,
    /// Every `Set-Cookie` header value received, in order.
    pub seen: Vec<String>,
}

impl CookieJar {
    /// The `Cookie` request header.
    pub fn header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Takes in a response's `Set-Cookie` headers (`Max-Age=0` removes).
    pub fn absorb(&mut self, headers: &reqwest::header::HeaderMap) {
        for v in headers.get_all(reqwest::header::SET_COOKIE) {
            let text = v.to_str().unwrap().to_owned();
            let (name, value) = text.split(';').next().unwrap().split_once('=').unwrap();
            let removed = text.contains("Max-Age=0");
            self.set(name, (!removed).then_some(value));
            self.seen.push(text);
        }
    }

    /// Sets (or with `None` removes) a cookie by hand.
    pub fn set(&mut self, name: &str, value: Option<&str>) {
        self.cookies.retain(|(k, _)| k != name);
        if let Some(value) = value {
            self.cookies.push((name.to_owned(), value.to_owned()));
        }
    }

    /// A cookie's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A session made directly in the store (BankID, LoA3, authenticated at
/// `authenticated_at`), and requests as it; redirects are shown, not followed.
pub struct As {
    pub token: trygg_auth::Token,
    base: String,
    client: reqwest::Client,
}

impl As {
    /// A session for `account`, authenticated just now (stepped up).
    pub async fn new(app: &TestApp, account: trygg_domain::Account) -> Self {
        Self::authenticated_at(app, account, trygg_domain::Clock::now(&app.clock)).await
    }

    /// A session for `account`, authenticated at `at`.
    pub async fn authenticated_at(
        app: &TestApp,
        account: trygg_domain::Account,
        at: time::OffsetDateTime,
    ) -> Self {
        let token = trygg_auth::Token::generate().unwrap();
        let now = trygg_domain::Clock::now(&app.clock);
        app.store
            .create_session(
                &token.hash(),
                &trygg_store::SessionRecord {
                    account,
                    method: trygg_domain::AuthMethod::BankId,
                    provider: "bankid".into(),
                    loa: trygg_domain::Loa::Loa3,
                    authenticated_at: at,
                    created_at: now,
                    last_seen_at: now,
                    expires_at: now + time::Duration::hours(12),
                },
            )
            .await
            .unwrap();
        Self {
            token,
            base: app.base.clone(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }

    fn cookie(&self) -> String {
        format!("__Host-trygg-session={}", self.token.expose())
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie())
            .send()
            .await
            .unwrap()
    }

    /// `POST path` with a form (the CSRF field added).
    pub async fn form(&self, path: &str, fields: &[(&str, &str)]) -> reqwest::Response {
        let csrf = self.token.csrf();
        let mut all = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie())
            .header("origin", &self.base)
            .form(&all)
            .send()
            .await
            .unwrap()
    }

    /// `POST path` with a JSON body (the CSRF header added).
    pub async fn json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie())
            .header("x-csrf-token", self.token.csrf())
            .header("origin", &self.base)
            .json(body)
            .send()
            .await
            .unwrap()
    }
}

/// Where a response sends the browser (`""` if nowhere).
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}
