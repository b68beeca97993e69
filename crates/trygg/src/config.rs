//! Configuration: every setting is declared once, in [`settings!`] below, with
//! its type, default, environment variable and documentation. From that one
//! declaration come the command-line flag (`--data-dir`), the environment
//! variable (`TRYGG_DATA_DIR`), the key in the TOML file (`data_dir`), the
//! `--help` text and the commented example file (`trygg config example`).
//!
//! Precedence: flag, then environment, then file, then default.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A setting that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A value did not parse.
    #[error("CF001 invalid value for {setting} ({origin}): {reason}")]
    Invalid {
        /// Setting name.
        setting: &'static str,
        /// Where the value came from.
        origin: String,
        /// Why.
        reason: String,
    },
    /// The config file could not be read or parsed.
    #[error("CF002 config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The config file has a key no setting has.
    #[error("CF003 config file {path}: unknown setting {key:?}; see `trygg config example`")]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// Settings that do not fit together.
    #[error("CF004 {0}")]
    Conflict(String),
}

/// How a setting's text becomes a value.
pub trait SettingValue: Sized {
    /// Whether the flag may be given without a value (booleans).
    const IS_FLAG: bool = false;
    /// Parses the text form.
    fn parse_setting(s: &str) -> Result<Self, String>;
}

macro_rules! from_str_setting {
    ($($t:ty),*) => {$(
        impl SettingValue for $t {
            fn parse_setting(s: &str) -> Result<Self, String> {
                s.trim().parse().map_err(|e| format!("{e}"))
            }
        }
    )*};
}
from_str_setting!(
    SocketAddr,
    u32,
    u64,
    String,
    trygg_web::alarms::MapUrl,
    trygg_web::alarms::MapTiles
);

impl SettingValue for PathBuf {
    fn parse_setting(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            return Err("a path is required".to_owned());
        }
        Ok(PathBuf::from(s.trim()))
    }
}

impl SettingValue for bool {
    const IS_FLAG: bool = true;
    fn parse_setting(s: &str) -> Result<Self, String> {
        match s.trim() {
            "true" | "1" | "yes" | "on" => Ok(true),
            "false" | "0" | "no" | "off" => Ok(false),
            other => Err(format!("{other:?} is not true or false")),
        }
    }
}

impl<T: SettingValue> SettingValue for Option<T> {
    fn parse_setting(s: &str) -> Result<Self, String> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            T::parse_setting(s).map(Some)
        }
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

impl SettingValue for LogFormat {
    fn parse_setting(s: &str) -> Result<Self, String> {
        match s.trim() {
            "human" => Ok(LogFormat::Human),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("{other:?} is not human or json")),
        }
    }
}

/// A PostgreSQL URL.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(pub String);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&trygg_store::Database::Postgres(self.0.clone()).describe())
    }
}

impl SettingValue for DatabaseUrl {
    fn parse_setting(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            Ok(DatabaseUrl(s.to_owned()))
        } else {
            Err(
                "expected a postgres:// URL (leave unset for the embedded SQLite database)"
                    .to_owned(),
            )
        }
    }
}

/// The public origin, `scheme://host[:port]`, without a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(pub String);

impl SettingValue for PublicUrl {
    fn parse_setting(s: &str) -> Result<Self, String> {
        let s = s.trim().trim_end_matches('/');
        let rest = s
            .strip_prefix("https://")
            .or_else(|| s.strip_prefix("http://"))
            .ok_or("expected http:// or https://")?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err("expected scheme://host[:port] with no path".to_owned());
        }
        Ok(PublicUrl(s.to_owned()))
    }
}

/// Values from a TOML config file, as text, by setting name; and the
/// OpenID providers (`[[oidc_provider]]` tables), which only the file can hold.
#[derive(Debug, Default)]
pub struct FileValues {
    path: Option<PathBuf>,
    values: BTreeMap<String, String>,
    /// `[[oidc_provider]]` entries.
    pub oidc_providers: Vec<trygg_oidc::ProviderConfig>,
}

/// The TOML key of the OpenID provider tables.
pub const OIDC_PROVIDER_KEY: &str = "oidc_provider";

impl FileValues {
    /// Reads a TOML file; every key must be a known setting.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let file_err = |reason: String| ConfigError::File {
            path: path.to_owned(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_err(e.to_string()))?;
        Self::parse(&text, path)
    }

    fn parse(text: &str, path: &Path) -> Result<Self, ConfigError> {
        let file_err = |reason: String| ConfigError::File {
            path: path.to_owned(),
            reason,
        };
        let table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| file_err(e.to_string()))?;
        let known: Vec<&str> = GlobalArgs::NAMES
            .iter()
            .chain(ServeArgs::NAMES)
            .copied()
            .collect();
        let mut values = BTreeMap::new();
        let mut oidc_providers = Vec::new();
        for (key, value) in table {
            if key == OIDC_PROVIDER_KEY {
                let providers: Vec<trygg_oidc::ProviderConfig> =
                    value.try_into().map_err(|e: toml::de::Error| {
                        file_err(format!("[[{OIDC_PROVIDER_KEY}]]: {e}"))
                    })?;
                for p in &providers {
                    p.validate().map_err(|e| {
                        file_err(format!("[[{OIDC_PROVIDER_KEY}]] {}: {e}", p.name))
                    })?;
                }
                oidc_providers = providers;
                continue;
            }
            if !known.contains(&key.as_str()) {
                return Err(ConfigError::UnknownKey {
                    path: path.to_owned(),
                    key,
                });
            }
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => {
                    return Err(file_err(format!(
                        "{key}: expected a string, number or boolean"
                    )));
                }
            };
            values.insert(key, text);
        }
        Ok(Self {
            path: Some(path.to_owned()),
            values,
            oidc_providers,
        })
    }

    fn get(&self, key: &str) -> Option<(String, String)> {
        self.values.get(key).map(|v| {
            let origin = match &self.path {
                Some(p) => format!("`{key}` in {}", p.display()),
                None => format!("`{key}` in the config file"),
            };
            (v.clone(), origin)
        })
    }
}

/// Declares a group of settings: a clap `Args` struct of raw values, a
/// resolved struct, and their documentation.
macro_rules! settings {
    (
        $(#[$meta:meta])*
        $args:ident => $resolved:ident, global = $global:literal {
            $(
                $field:ident : $ty:ty = $default:literal, env $env:literal, $doc:literal;
            )*
        }
    ) => {
        /// Raw values from flags and environment (clap).
        #[derive(Debug, Clone, Default, clap::Args)]
        pub struct $args {
            $(
                #[arg(
                    long,
                    env = $env,
                    global = $global,
                    help = $doc,
                    long_help = concat!($doc, " [default: ", $default, "]"),
                    num_args = if <$ty as SettingValue>::IS_FLAG { 0..=1 } else { 1..=1 },
                    default_missing_value = if <$ty as SettingValue>::IS_FLAG { Some("true") } else { None },
                )]
                pub $field: Option<String>,
            )*
        }

        $(#[$meta])*
        #[derive(Debug, Clone)]
        pub struct $resolved {
            $(
                #[doc = $doc]
                pub $field: $ty,
            )*
        }

        impl $args {
            /// Setting names (TOML keys).
            pub const NAMES: &'static [&'static str] = &[$(stringify!($field)),*];

            /// Commented TOML for every setting of this group.
            pub fn example(out: &mut String) {
                $(
                    out.push_str(&format!(
                        "# {}\n# flag --{}, environment {}\n#{} = {}\n\n",
                        $doc,
                        stringify!($field).replace('_', "-"),
                        $env,
                        stringify!($field),
                        toml_literal($default),
                    ));
                )*
            }

            /// Resolves flag > environment > file > default.
            pub fn resolve(&self, file: &FileValues) -> Result<$resolved, ConfigError> {
                Ok($resolved {
                    $(
                        $field: {
                            let (raw, origin) = match &self.$field {
                                Some(v) => (v.clone(), format!("--{} or {}", stringify!($field).replace('_', "-"), $env)),
                                None => file.get(stringify!($field)).unwrap_or_else(|| ($default.to_owned(), "default".to_owned())),
                            };
                            <$ty as SettingValue>::parse_setting(&raw).map_err(|reason| ConfigError::Invalid {
                                setting: stringify!($field),
                                origin,
                                reason,
                            })?
                        },
                    )*
                })
            }
        }
    };
}

fn toml_literal(default: &str) -> String {
    if default.parse::<i64>().is_ok() || default == "true" || default == "false" {
        default.to_owned()
    } else {
        format!("{default:?}")
    }
}

settings! {
    /// Settings every command uses: where the data and keys are, and logging.
    GlobalArgs => GlobalSettings, global = true {
        data_dir: PathBuf = "trygg-data", env "TRYGG_DATA_DIR",
            "Folder for the embedded SQLite database and the key file; created on first start.";
        database_url: Option<DatabaseUrl> = "", env "TRYGG_DATABASE_URL",
            "PostgreSQL URL (postgres://user@host/db). Unset: the SQLite database in the data folder.";
        key_file: Option<PathBuf> = "", env "TRYGG_KEY_FILE",
            "Key file with the key-encryption keys (mode 0600). Unset: trygg.key in the data folder. TRYGG_MASTER_KEY, if set, is used instead.";
        db_max_connections: u32 = "10", env "TRYGG_DB_MAX_CONNECTIONS",
            "Largest number of database connections in the pool.";
        log_level: String = "info", env "TRYGG_LOG",
            "Log filter: a level (error, warn, info, debug, trace) or per-module directives (trygg_store=debug,info).";
        log_format: LogFormat = "human", env "TRYGG_LOG_FORMAT",
            "Log format: human or json.";
        audit_retention_years: u32 = "5", env "TRYGG_AUDIT_RETENTION_YEARS",
            "Years audit log entries are kept; `trygg audit dispose` removes older ones (at least 1).";
        sip_realm: String = "trygg", env "TRYGG_SIP_REALM",
            "The SIP Digest realm devices authenticate in, a host name. Device credentials are bound to it: changing it means provisioning every device again.";
    }
}

settings! {
    /// Settings of `trygg serve`.
    ServeArgs => ServeSettings, global = false {
        listen: SocketAddr = "127.0.0.1:8080", env "TRYGG_LISTEN",
            "Address and port to serve HTTP(S) on.";
        tls_cert: Option<PathBuf> = "", env "TRYGG_TLS_CERT",
            "PEM certificate chain; with tls_key, the server speaks HTTPS only. See `trygg admin dev-cert`.";
        tls_key: Option<PathBuf> = "", env "TRYGG_TLS_KEY",
            "PEM private key for tls_cert.";
        public_url: Option<PublicUrl> = "", env "TRYGG_PUBLIC_URL",
            "The address browsers use, scheme://host[:port] (e.g. https://trygg.exempelby.se). Unset: taken from each request's Host.";
        allow_plain_http: bool = "false", env "TRYGG_ALLOW_PLAIN_HTTP",
            "Allow plain HTTP on a non-loopback address (only behind a proxy that terminates TLS).";
        bankid_url: Option<String> = "", env "TRYGG_BANKID_URL",
            "BankID relying-party API base URL (https://appapi2.bankid.com for production). Unset: no BankID, except with --demo, which starts the BankID simulator.";
        bankid_client_cert: Option<PathBuf> = "", env "TRYGG_BANKID_CLIENT_CERT",
            "PEM client certificate for BankID's mutual TLS.";
        bankid_client_key: Option<PathBuf> = "", env "TRYGG_BANKID_CLIENT_KEY",
            "PEM private key of bankid_client_cert.";
        bankid_ca: Option<PathBuf> = "", env "TRYGG_BANKID_CA",
            "PEM certificate authority to trust for the BankID API (BankID's own CA).";
        shutdown_grace_secs: u64 = "10", env "TRYGG_SHUTDOWN_GRACE_SECS",
            "Seconds to let open requests finish after SIGTERM or Ctrl-C.";
        request_timeout_secs: u64 = "30", env "TRYGG_REQUEST_TIMEOUT_SECS",
            "Seconds before a request is answered with 408 Request Timeout.";
        citizen_log_names_staff: bool = "false", env "TRYGG_CITIZEN_LOG_NAMES_STAFF",
            "Whether a person's log extract (\"who looked at my data\") names the staff members, not only their units.";
        sip_listen: Option<SocketAddr> = "", env "TRYGG_SIP_LISTEN",
            "Address and port to receive safety alarms on, SCAIP over SIP/UDP (e.g. 0.0.0.0:5060). Unset: no alarm reception, except with --demo, which listens on 127.0.0.1:5060.";
        sips_listen: Option<SocketAddr> = "", env "TRYGG_SIPS_LISTEN",
            "Address and port to receive safety alarms on over TLS (SIPS, e.g. 0.0.0.0:5061), with tls_cert and tls_key. Unset: no SIP over TLS.";
        sip_prefer_sha256: bool = "false", env "TRYGG_SIP_PREFER_SHA256",
            "Offer devices SHA-256 Digest before MD5. Off by default: some devices take the first challenge and know only MD5. Device passwords are random (100 bits), so MD5 Digest exposes no guessable secret; use TLS for confidentiality.";
        alarm_heartbeat_grace_secs: u64 = "120", env "TRYGG_ALARM_HEARTBEAT_GRACE_SECS",
            "Seconds past its due heartbeat before a silent device raises a technical alarm (at most 86400).";
        alarm_escalate_after_secs: u64 = "120", env "TRYGG_ALARM_ESCALATE_AFTER_SECS",
            "Seconds an alarm may wait untaken before it is escalated: marked, and first in every console of its unit (at most 3600).";
        alarm_map_url: Option<trygg_web::alarms::MapUrl> = "", env "TRYGG_ALARM_MAP_URL",
            "Map service the console links alarm positions (GPS alarms) to: a URL with {lat} and {lon}, e.g. https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}. Unset: the console shows the coordinates and a geo: link, which opens the map app of the operator's device; nothing is sent anywhere.";
        alarm_map_tiles: Option<trygg_web::alarms::MapTiles> = "", env "TRYGG_ALARM_MAP_TILES",
            "Tile server the console draws GPS alarms' positions on, in the alarm page: 256-pixel XYZ tiles, a URL with {z}, {x} and {y}, e.g. https://tiles.example.se/{z}/{x}/{y}.png. The operator's browser fetches the tiles around each position shown, so the server learns roughly where the person was: use the organisation's own, or one under a data processing agreement. Unset: no map is drawn.";
        alarm_max_in_flight: u32 = "256", env "TRYGG_ALARM_MAX_IN_FLIGHT",
            "Alarms being committed at once; more are answered busy (snu=6) and the devices retry.";
        mqtt_url: Option<trygg_sensors::BrokerUrl> = "", env "TRYGG_MQTT_URL",
            "Mosquitto to take passive sensors' events from, on this machine: mqtt://127.0.0.1:1883. Unset: no sensor ingestion. See `trygg admin mqtt`.";
        mqtt_user: String = "trygg-ingest", env "TRYGG_MQTT_USER",
            "The MQTT user (and client id) Trygg reads sensor events as; Mosquitto keeps its session, and what devices send meanwhile, while Trygg is down.";
        mqtt_password_file: Option<PathBuf> = "", env "TRYGG_MQTT_PASSWORD_FILE",
            "File whose first line is mqtt_user's password (not readable by everyone). Unset: the password is taken from TRYGG_MQTT_PASSWORD.";
    }
}

/// The commented example config file, generated from the declarations.
pub fn example_config() -> String {
    let mut out = String::from(
        "# Trygg configuration (TOML). Every setting is optional; the value shown\n\
         # is the default. Flags override environment variables, which override\n\
         # this file. Generated by `trygg config example`.\n\n",
    );
    GlobalArgs::example(&mut out);
    ServeArgs::example(&mut out);
    out.push_str(
        "# OpenID Connect identity providers (e-ID brokers for BankID/Freja, Inera IdP for\n\
         # SITHS). One table each; only the config file can hold them.\n\
         #[[oidc_provider]]\n\
         #name = \"broker\"                  # [a-z0-9-], recorded on every session\n\
         #display_name = \"E-legitimation\"  # shown on the login page\n\
         #issuer = \"https://idp.example.se\"\n\
         #client_id = \"trygg\"\n\
         #client_secret = \"…\"              # or leave out for a public client\n\
         #redirect_uri = \"https://trygg.exempelby.se/login/oidc/callback\"\n\
         #min_loa = \"loa3\"\n",
    );
    out
}

impl GlobalSettings {
    /// Where the database lives.
    pub fn database(&self) -> trygg_store::Database {
        match &self.database_url {
            Some(url) => trygg_store::Database::Postgres(url.0.clone()),
            None => trygg_store::Database::Sqlite(self.data_dir.join("trygg.sqlite3")),
        }
    }

    /// Where the keys come from: `TRYGG_MASTER_KEY` if set, else the key file.
    pub fn keys(&self) -> trygg_store::KeyConfig {
        match std::env::var("TRYGG_MASTER_KEY") {
            Ok(text) if !text.trim().is_empty() => {
                trygg_store::KeyConfig::Environment(zeroize_string(text))
            }
            _ => trygg_store::KeyConfig::File(self.key_file_path()),
        }
    }

    /// The key file's path.
    pub fn key_file_path(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("trygg.key"))
    }
}

fn zeroize_string(s: String) -> zeroize::Zeroizing<String> {
    zeroize::Zeroizing::new(s)
}

impl ServeSettings {
    /// Checks that the serve settings fit together.
    pub fn check(&self) -> Result<(), ConfigError> {
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) | (None, Some(_)) => {
                return Err(ConfigError::Conflict(
                    "tls_cert and tls_key must be given together".to_owned(),
                ));
            }
            (None, None) if !self.listen.ip().is_loopback() && !self.allow_plain_http => {
                return Err(ConfigError::Conflict(format!(
                    "refusing to serve plain HTTP on {}: personal data must be encrypted in transit. \
                     Configure tls_cert and tls_key, listen on a loopback address, or, behind a proxy \
                     that terminates TLS, set allow_plain_http",
                    self.listen
                )));
            }
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<FileValues, ConfigError> {
        FileValues::parse(text, Path::new("test.toml"))
    }

    #[test]
    fn precedence_is_flag_then_file_then_default() {
        let f = file("listen = \"0.0.0.0:9000\"\nshutdown_grace_secs = 3\nallow_plain_http = true")
            .unwrap();
        let mut args = ServeArgs::default();
        let s = args.resolve(&f).unwrap();
        assert_eq!(s.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(s.shutdown_grace_secs, 3);
        assert!(s.allow_plain_http);
        assert_eq!(s.request_timeout_secs, 30);
        args.listen = Some("127.0.0.1:1".into());
        assert_eq!(
            args.resolve(&f).unwrap().listen,
            "127.0.0.1:1".parse().unwrap()
        );
        let s = ServeArgs::default()
            .resolve(&FileValues::default())
            .unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        assert!(s.tls_cert.is_none());
    }

    #[test]
    fn bad_values_name_the_setting_and_its_origin() {
        let f = file("listen = \"nowhere\"").unwrap();
        let err = ServeArgs::default().resolve(&f).unwrap_err().to_string();
        assert!(err.contains("listen") && err.contains("test.toml"), "{err}");
        let args = GlobalArgs {
            database_url: Some("mysql://x".into()),
            ..Default::default()
        };
        let err = args
            .resolve(&FileValues::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("database_url") && err.contains("TRYGG_DATABASE_URL"),
            "{err}"
        );
        assert!(matches!(
            file("colour = 1"),
            Err(ConfigError::UnknownKey { .. })
        ));
        assert!(matches!(file("listen = ["), Err(ConfigError::File { .. })));
        assert!(matches!(
            file("listen = [1]"),
            Err(ConfigError::File { .. })
        ));
    }

    #[test]
    fn plain_http_only_on_loopback_unless_allowed() {
        let mut s = ServeArgs::default()
            .resolve(&FileValues::default())
            .unwrap();
        assert!(s.check().is_ok());
        s.listen = "0.0.0.0:8080".parse().unwrap();
        assert!(matches!(s.check(), Err(ConfigError::Conflict(_))));
        s.allow_plain_http = true;
        assert!(s.check().is_ok());
        s.tls_cert = Some("c.pem".into());
        assert!(s.check().is_err());
    }

    #[test]
    fn the_example_config_parses_and_documents_every_setting() {
        let example = example_config();
        for name in GlobalArgs::NAMES.iter().chain(ServeArgs::NAMES) {
            assert!(example.contains(&format!("\n#{name} = ")), "{name} missing");
        }
        // Uncommenting every line gives a valid file with the defaults.
        let uncommented: String = example
            .lines()
            .filter(|l| l.starts_with('#') && (l.contains(" = ") || l.starts_with("#[[")))
            .map(|l| format!("{}\n", &l[1..]))
            .collect();
        let f = file(&uncommented).unwrap();
        let s = ServeArgs::default().resolve(&f).unwrap();
        assert_eq!(s.listen, "127.0.0.1:8080".parse().unwrap());
        let g = GlobalArgs::default().resolve(&f).unwrap();
        assert_eq!(g.data_dir, PathBuf::from("trygg-data"));
        assert!(g.database_url.is_none());
        assert_eq!(f.oidc_providers.len(), 1);
        assert_eq!(f.oidc_providers[0].name, "broker");
        let committed = include_str!("../../../trygg.example.toml");
        assert_eq!(
            committed, example,
            "run `trygg config example > trygg.example.toml`"
        );
    }
}
