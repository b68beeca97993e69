//! Mosquitto's files: who may connect (the password file) and who may
//! publish or read what (the ACL file). Mosquitto enforces both; Trygg only
//! writes them (`trygg admin mqtt password | acl`).
//!
//! The password file holds one line per user in Mosquitto 2.0's
//! PBKDF2-SHA512 form, as `mosquitto_passwd` writes it:
//! `user:$7$101$<salt, 12 bytes, base64>$<hash, 64 bytes, base64>`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::num::NonZeroU32;

/// PBKDF2 iterations: Mosquitto's default (`mosquitto_passwd -I`). The
/// broker hashes on every connection, and a fleet reconnects at once after
/// a broker restart; device passwords are random (100 bits, see `trygg
/// admin device add`), where more iterations add nothing.
pub const ITERATIONS: NonZeroU32 = match NonZeroU32::new(101) {
    Some(n) => n,
    None => NonZeroU32::MIN,
};

/// Salt length, as `mosquitto_passwd` makes it.
pub const SALT_LEN: usize = 12;

/// Hash length: one SHA-512 output.
pub const HASH_LEN: usize = 64;

/// The shortest password taken.
pub const MIN_PASSWORD: usize = 12;

/// Whether `user` can be a user name in Mosquitto's files and a topic level:
/// 1–64 ASCII letters, digits, `-`, `_` or `.` (the rule for device user
/// names). No `+`, `#` or `/` (a topic level), no `:` (the password file's
/// separator), no space or newline.
pub fn valid_user(user: &str) -> bool {
    (1..=64).contains(&user.len())
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
}

/// A problem with what the files are made from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    /// The user name breaks [`valid_user`].
    #[error("the user name must be 1 to 64 letters, digits, '-', '_' or '.'")]
    BadUser,
    /// The password is shorter than [`MIN_PASSWORD`] characters or holds a
    /// control character.
    #[error("the password must be at least 12 characters, without control characters")]
    BadPassword,
    /// A path for Mosquitto's configuration that is not absolute or not
    /// printable text on one line.
    #[error("paths in Mosquitto's configuration must be absolute, printable, on one line")]
    BadPath,
}

/// One line of Mosquitto's password file for `user`, hashed with `salt`
/// (random, [`SALT_LEN`] bytes; the caller draws it).
pub fn password_line(
    user: &str,
    password: &str,
    salt: &[u8; SALT_LEN],
) -> Result<String, FileError> {
    if !valid_user(user) {
        return Err(FileError::BadUser);
    }
    if password.chars().count() < MIN_PASSWORD || password.chars().any(char::is_control) {
        return Err(FileError::BadPassword);
    }
    let mut hash = zeroize::Zeroizing::new([0u8; HASH_LEN]);
    aws_lc_rs::pbkdf2::derive(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA512,
        ITERATIONS,
        salt,
        password.as_bytes(),
        hash.as_mut_slice(),
    );
    Ok(format!(
        "{user}:$7${ITERATIONS}${}${}",
        STANDARD.encode(salt),
        STANDARD.encode(hash.as_slice())
    ))
}

/// Whether `password` matches a password-file line (for tests and checks).
pub fn verify_line(line: &str, password: &str) -> bool {
    let Some((_, hashed)) = line.trim_end().split_once(':') else {
        return false;
    };
    let mut parts = hashed.split('$');
    let (Some(""), Some("7"), Some(iterations), Some(salt), Some(hash), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return false;
    };
    let (Ok(iterations), Ok(salt), Ok(hash)) = (
        iterations.parse::<NonZeroU32>(),
        STANDARD.decode(salt),
        STANDARD.decode(hash),
    ) else {
        return false;
    };
    aws_lc_rs::pbkdf2::verify(
        aws_lc_rs::pbkdf2::PBKDF2_HMAC_SHA512,
        iterations,
        &salt,
        password.as_bytes(),
        &hash,
    )
    .is_ok()
}

/// Mosquitto's ACL file: `ingest_user` may read every device's events and
/// nothing else; every other user (a device) may publish only on its own
/// events topic, and read nothing.
pub fn acl_file(ingest_user: &str) -> Result<String, FileError> {
    if !valid_user(ingest_user) {
        return Err(FileError::BadUser);
    }
    Ok(format!(
        "# Mosquitto ACL for Trygg's sensors, made by `trygg admin mqtt acl`.\n\
         # Anything not granted here is refused.\n\
         \n\
         # Trygg's ingest reads every device's events.\n\
         user {ingest_user}\n\
         topic read {filter}\n\
         \n\
         # Every device publishes on its own topic only (%u is the user name).\n\
         # A pattern applies to every user: the ingest user's own topic is\n\
         # ignored by Trygg.\n\
         pattern write trygg/devices/%u/events\n",
        filter = crate::event::TOPIC_FILTER,
    ))
}

/// What Mosquitto's configuration file is made from (`trygg admin mqtt
/// config`).
#[derive(Debug, Clone)]
pub struct BrokerFiles<'a> {
    /// Where devices connect, over TLS only: an address (`None`: every
    /// address) and a port.
    pub device_listener: (Option<std::net::IpAddr>, u16),
    /// The loopback port Trygg's ingest connects to in plain MQTT.
    pub ingest_port: u16,
    /// The server certificate chain and its key, PEM.
    pub cert: &'a std::path::Path,
    /// The certificate's private key, PEM.
    pub key: &'a std::path::Path,
    /// The password file ([`password_line`] lines).
    pub password_file: &'a std::path::Path,
    /// The ACL file ([`acl_file`]).
    pub acl_file: &'a std::path::Path,
    /// Where Mosquitto keeps its sessions (queued events for Trygg).
    pub persistence_dir: &'a std::path::Path,
}

/// A path Mosquitto's configuration can hold: absolute, printable, on one
/// line, with no surrounding spaces (Mosquitto reads the rest of the line).
fn config_path(path: &std::path::Path) -> Result<&str, FileError> {
    let text = path.to_str().ok_or(FileError::BadPath)?;
    let printable = !text.chars().any(char::is_control) && text.trim() == text;
    if path.is_absolute() && printable && !text.is_empty() {
        Ok(text)
    } else {
        Err(FileError::BadPath)
    }
}

/// Mosquitto's configuration for Trygg: devices on a listener of their own
/// that speaks only TLS (1.2 or later), Trygg's ingest on loopback (plain
/// MQTT never leaves the machine), no anonymous users, Trygg's password and
/// ACL files for every listener, and sessions kept on disk.
pub fn config_file(files: &BrokerFiles<'_>) -> Result<String, FileError> {
    let (address, device_port) = files.device_listener;
    let device_listener = match address {
        Some(ip) => format!("{device_port} {ip}"),
        None => device_port.to_string(),
    };
    let mut dir = config_path(files.persistence_dir)?.to_owned();
    if !dir.ends_with('/') {
        dir.push('/');
    }
    Ok(format!(
        "# Mosquitto for Trygg's sensors, made by `trygg admin mqtt config`.\n\
         per_listener_settings false\n\
         allow_anonymous false\n\
         password_file {passwd}\n\
         acl_file {acl}\n\
         \n\
         # Devices: TLS only, 1.2 or later.\n\
         listener {device_listener}\n\
         certfile {cert}\n\
         keyfile {key}\n\
         tls_version tlsv1.2\n\
         \n\
         # Trygg's ingest, on this machine only.\n\
         listener {ingest} 127.0.0.1\n\
         \n\
         # What waits for Trygg while it is down, kept on disk.\n\
         persistence true\n\
         persistence_location {dir}\n\
         autosave_on_changes true\n\
         autosave_interval 1\n\
         max_queued_messages 100000\n",
        passwd = config_path(files.password_file)?,
        acl = config_path(files.acl_file)?,
        cert = config_path(files.cert)?,
        key = config_path(files.key)?,
        ingest = files.ingest_port,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_has_devices_on_tls_only_and_refuses_a_path_that_adds_a_line() {
        let p = std::path::Path::new;
        let files = BrokerFiles {
            device_listener: (None, 8883),
            ingest_port: 1883,
            cert: p("/etc/trygg/cert.pem"),
            key: p("/etc/trygg/key.pem"),
            password_file: p("/etc/mosquitto/trygg.passwd"),
            acl_file: p("/etc/mosquitto/trygg.acl"),
            persistence_dir: p("/var/lib/mosquitto"),
        };
        let text = config_file(&files).unwrap();
        let listeners: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("listener "))
            .collect();
        assert_eq!(listeners, ["listener 8883", "listener 1883 127.0.0.1"]);
        assert!(text.contains("allow_anonymous false\n"));
        assert!(text.contains("certfile /etc/trygg/cert.pem\nkeyfile /etc/trygg/key.pem\n"));
        assert!(text.contains("persistence_location /var/lib/mosquitto/\n"));
        for bad in [
            "/etc/x\nallow_anonymous true",
            "relative.pem",
            "/etc/x ",
            "",
        ] {
            let files = BrokerFiles {
                cert: p(bad),
                ..files.clone()
            };
            assert_eq!(config_file(&files), Err(FileError::BadPath), "{bad:?}");
        }
    }

    #[test]
    fn a_line_matches_what_mosquitto_passwd_writes() {
        // `mosquitto_passwd -b passwd alice secret123` (Mosquitto 2.0.11)
        // wrote this line; the same salt gives the same hash.
        let theirs = "alice:$7$101$rUlEV/Bj42NrpDvq$bSO38NhCt1mvxedu7SaAEAGV9aGEGwu/1SO9wQWPrblfBzTzkHlhXInoFssXYHH9dpX/aPw61x2dCpIux47d6w==";
        assert!(verify_line(theirs, "secret123"));
        assert!(!verify_line(theirs, "secret124"));
        let salt: [u8; SALT_LEN] = STANDARD
            .decode("rUlEV/Bj42NrpDvq")
            .unwrap()
            .try_into()
            .unwrap();
        // Our rule wants 12 characters; Mosquitto's does not.
        assert_eq!(
            password_line("alice", "secret123", &salt),
            Err(FileError::BadPassword)
        );
        let ours = password_line("alice", "secret123456", &salt).unwrap();
        assert!(ours.starts_with("alice:$7$101$rUlEV/Bj42NrpDvq$"));
        assert_eq!(ours.len(), theirs.len());
        assert!(verify_line(&ours, "secret123456"));
        assert!(!verify_line(&ours, "secret123"));
    }

    #[test]
    fn bad_users_and_passwords_are_refused() {
        let salt = [7u8; SALT_LEN];
        for user in ["", "a:b", "a/b", "a+", "#", "a b", "ä", &"x".repeat(65)] {
            assert_eq!(
                password_line(user, "long-enough-pw", &salt),
                Err(FileError::BadUser),
                "{user}"
            );
            assert_eq!(acl_file(user), Err(FileError::BadUser));
        }
        assert_eq!(
            password_line("sensor-1", "short", &salt),
            Err(FileError::BadPassword)
        );
        assert_eq!(
            password_line("sensor-1", "long-enough\npw", &salt),
            Err(FileError::BadPassword)
        );
        assert!(password_line(&"x".repeat(64), "long-enough-pw", &salt).is_ok());
    }

    #[test]
    fn the_acl_grants_reading_to_the_ingest_and_own_topics_to_devices() {
        let acl = acl_file("trygg-ingest").unwrap();
        let rules: Vec<&str> = acl
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(
            rules,
            [
                "user trygg-ingest",
                "topic read trygg/devices/+/events",
                "pattern write trygg/devices/%u/events",
            ]
        );
    }
}
