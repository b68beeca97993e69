//! Sensors over MQTT: `trygg admin mqtt password | acl | config` (Mosquitto's files,
//! which Mosquitto enforces), and the settings that start the sensor
//! ingest in `trygg serve`.

use crate::config::{ConfigError, ServeSettings, SettingValue};
use anyhow::Context as _;
use clap::Subcommand;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use trygg_sensors::{BrokerUrl, ClientConfig, Ingest, MAX_IN_FLIGHT};
use trygg_store::Store;
use zeroize::Zeroizing;

/// `admin mqtt …`
#[derive(Debug, Subcommand)]
pub enum MqttCmd {
    /// Print a line for Mosquitto's password file (PBKDF2-SHA512, as
    /// mosquitto_passwd writes it) for a device or the ingest user. The
    /// password is read from standard input: one line, at least 12
    /// characters.
    Password {
        /// The MQTT user name: a device's user name (as in `admin device
        /// add`), or the ingest user (the `mqtt_user` setting).
        #[arg(long)]
        user: String,
    },
    /// Print Mosquitto's ACL file: the ingest user may read every device's
    /// events (trygg/devices/+/events); each device may only publish on its
    /// own topic (trygg/devices/<user>/events) and nothing else.
    Acl {
        /// The ingest user (the `mqtt_user` setting of `trygg serve`).
        #[arg(long, default_value = "trygg-ingest")]
        ingest_user: String,
    },
    /// Print Mosquitto's configuration: devices connect over TLS only (1.2
    /// or later) with their password, Trygg's ingest over loopback, every
    /// listener under the password and ACL files, sessions kept on disk.
    Config {
        /// The port devices connect to over TLS.
        #[arg(long, default_value_t = 8883)]
        device_port: u16,
        /// The address devices connect to (default: every address).
        #[arg(long)]
        device_address: Option<std::net::IpAddr>,
        /// The loopback port of Trygg's ingest (`mqtt_url`).
        #[arg(long, default_value_t = 1883)]
        ingest_port: u16,
        /// The server certificate chain (PEM) devices see.
        #[arg(long)]
        cert: PathBuf,
        /// Its private key (PEM).
        #[arg(long)]
        key: PathBuf,
        /// The password file (`admin mqtt password` lines).
        #[arg(long, default_value = "/etc/mosquitto/trygg.passwd")]
        password_file: PathBuf,
        /// The ACL file (`admin mqtt acl`).
        #[arg(long, default_value = "/etc/mosquitto/trygg.acl")]
        acl_file: PathBuf,
        /// Where Mosquitto keeps sessions.
        #[arg(long, default_value = "/var/lib/mosquitto")]
        persistence_dir: PathBuf,
    },
}

/// Runs `admin mqtt …`. Needs no database.
pub fn run(command: MqttCmd) -> anyhow::Result<ExitCode> {
    let text = match command {
        MqttCmd::Password { user } => {
            let mut line = Zeroizing::new(String::new());
            std::io::stdin()
                .read_line(&mut line)
                .context("cannot read the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            let salt = trygg_crypto::random_bytes::<{ trygg_sensors::mosquitto::SALT_LEN }>()?;
            trygg_sensors::mosquitto::password_line(&user, password, &salt)?
        }
        MqttCmd::Acl { ingest_user } => trygg_sensors::mosquitto::acl_file(&ingest_user)?,
        MqttCmd::Config {
            device_port,
            device_address,
            ingest_port,
            cert,
            key,
            password_file,
            acl_file,
            persistence_dir,
        } => {
            if device_port == ingest_port {
                anyhow::bail!("devices and the ingest need ports of their own");
            }
            trygg_sensors::mosquitto::config_file(&trygg_sensors::mosquitto::BrokerFiles {
                device_listener: (device_address, device_port),
                ingest_port,
                cert: &cert,
                key: &key,
                password_file: &password_file,
                acl_file: &acl_file,
                persistence_dir: &persistence_dir,
            })?
        }
    };
    // A closed pipe ends the command quietly.
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.trim_end())?;
    Ok(ExitCode::SUCCESS)
}

impl SettingValue for BrokerUrl {
    fn parse_setting(s: &str) -> Result<Self, String> {
        BrokerUrl::parse(s)
    }
}

/// How the ingest connects, from the serve settings: `None` without
/// `mqtt_url`. The broker must be on this machine (plain MQTT never leaves
/// it), the user a valid MQTT user name, and the password given by
/// `mqtt_password_file` or `TRYGG_MQTT_PASSWORD` (not both).
pub fn ingest_config(settings: &ServeSettings) -> Result<Option<ClientConfig>, ConfigError> {
    let Some(url) = &settings.mqtt_url else {
        return Ok(None);
    };
    if !url.is_loopback() {
        return Err(ConfigError::Conflict(format!(
            "refusing plain MQTT to {url}: sensor events are personal data and the ingest's \
             password would cross the network in clear. Run Mosquitto on this machine and \
             set mqtt_url to mqtt://127.0.0.1:PORT (devices reach Mosquitto over its own TLS \
             listener)"
        )));
    }
    if !trygg_sensors::mosquitto::valid_user(&settings.mqtt_user) {
        return Err(ConfigError::Invalid {
            setting: "mqtt_user",
            origin: "mqtt_user or TRYGG_MQTT_USER".to_owned(),
            reason: "must be 1 to 64 letters, digits, '-', '_' or '.'".to_owned(),
        });
    }
    let from_env = std::env::var("TRYGG_MQTT_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty())
        .map(Zeroizing::new);
    let password = match (&settings.mqtt_password_file, from_env) {
        (Some(_), Some(_)) => {
            return Err(ConfigError::Conflict(
                "give the MQTT password either in mqtt_password_file or in TRYGG_MQTT_PASSWORD, \
                 not both"
                    .to_owned(),
            ));
        }
        (Some(path), None) => read_password_file(path)?,
        (None, Some(password)) => password,
        (None, None) => {
            return Err(ConfigError::Conflict(
                "mqtt_url is set but there is no MQTT password: set mqtt_password_file or \
                 TRYGG_MQTT_PASSWORD"
                    .to_owned(),
            ));
        }
    };
    Ok(Some(ClientConfig {
        url: url.clone(),
        user: settings.mqtt_user.clone(),
        password,
        max_in_flight: MAX_IN_FLIGHT,
    }))
}

/// The first line of the password file, which others than its owner and
/// group must not be able to read.
fn read_password_file(path: &Path) -> Result<Zeroizing<String>, ConfigError> {
    let invalid = |reason: String| ConfigError::Invalid {
        setting: "mqtt_password_file",
        origin: path.display().to_string(),
        reason,
    };
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path)
            .map_err(|e| invalid(e.to_string()))?
            .permissions()
            .mode();
        if mode & 0o004 != 0 {
            return Err(invalid(
                "the file is readable by everyone; make it 0600 or 0640".to_owned(),
            ));
        }
    }
    let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| invalid(e.to_string()))?);
    let first = text.lines().next().unwrap_or_default();
    if first.is_empty() {
        return Err(invalid("the first line (the password) is empty".to_owned()));
    }
    Ok(Zeroizing::new(first.to_owned()))
}

/// Starts the sensor ingest (after [`ingest_config`] gave a config).
pub fn start_ingest(store: &Store, config: &ClientConfig) -> Ingest {
    Ingest::connect(store.clone(), store.clock().clone(), config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{FileValues, ServeArgs};

    fn settings(args: ServeArgs) -> ServeSettings {
        args.resolve(&FileValues::default()).unwrap()
    }

    #[test]
    fn without_a_url_there_is_no_ingest() {
        assert!(
            ingest_config(&settings(ServeArgs::default()))
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn the_broker_must_be_on_this_machine_and_the_password_given() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("mqtt.pw");
        std::fs::write(&file, "ingest-password-1\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let with = |url: &str, file: Option<&Path>| ServeArgs {
            mqtt_url: Some(url.into()),
            mqtt_password_file: file.map(|f| f.display().to_string()),
            ..Default::default()
        };
        let config = ingest_config(&settings(with("mqtt://127.0.0.1:18830", Some(&file))))
            .unwrap()
            .unwrap();
        assert_eq!(config.password.as_str(), "ingest-password-1");
        assert_eq!(config.user, "trygg-ingest");
        assert_eq!(config.url.port, 18830);
        let err = ingest_config(&settings(with("mqtt://broker.exempelby.se", Some(&file))))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("CF004") && err.contains("plain MQTT"),
            "{err}"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let err = ingest_config(&settings(with("mqtt://localhost", Some(&file))))
                .unwrap_err()
                .to_string();
            assert!(err.contains("readable by everyone"), "{err}");
        }
        let bad_user = ServeArgs {
            mqtt_user: Some("a/b".into()),
            ..with("mqtt://localhost", Some(&file))
        };
        assert!(
            ingest_config(&settings(bad_user))
                .unwrap_err()
                .to_string()
                .contains("mqtt_user")
        );
        let args = with("mqtts://localhost", None);
        assert!(args.resolve(&FileValues::default()).is_err());
    }
}
