//! `[amqp-connection]` as the event sender uses it: [`AmqpSettings::from_settings`], with the
//! derived defaults (user and password by server, port by ssl, certificate files) applied.

use std::path::PathBuf;

use crate::config::{Settings, Value, AMQP};
use crate::secret::Secret;

/// AMQP connection settings with the derived defaults applied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmqpSettings {
    /// Host name or address.
    pub server: String,
    /// TCP port.
    pub port: u16,
    /// Login user.
    pub user: String,
    /// Login password.
    pub password: Secret,
    /// Whether to use TLS.
    pub ssl: bool,
    /// Whether to check the server certificate and present a client one.
    pub ssl_verify: bool,
    /// CA bundle for checking the server.
    pub ca_file: PathBuf,
    /// Client certificate.
    pub cert_file: PathBuf,
    /// Client private key.
    pub key_file: PathBuf,
    /// Extra attempts after a failed connection.
    pub max_retry: u32,
    /// Seconds between attempts.
    pub retry_interval_secs: u64,
    /// AMQP heartbeat in seconds (0 disables it).
    pub heartbeat_secs: u16,
    /// Seconds allowed for TCP + TLS + AMQP handshake.
    pub connect_timeout_secs: u64,
    /// Whether `user` was configured (not derived).
    pub user_is_set: bool,
    /// Whether `port` was configured (not derived).
    pub port_is_set: bool,
}

impl AmqpSettings {
    /// `[amqp-connection]` with the derived defaults applied (see `Settings::amqp_resolved`).
    pub fn from_settings(settings: &Settings) -> Self {
        let resolved = settings.amqp_resolved();
        let value =
            |key: &str| resolved.iter().find(|(k, _)| *k == key).map(|(_, r)| r.value.clone()).unwrap_or(Value::Null);
        let text = |key: &str| value(key).as_str().unwrap_or_default().to_string();
        let int = |key: &str| value(key).as_int().unwrap_or(0);
        AmqpSettings {
            server: text("server"),
            port: u16::try_from(int("port")).unwrap_or(5672),
            user: text("user"),
            password: Secret::new(text("password")),
            ssl: value("ssl").as_bool().unwrap_or(false),
            ssl_verify: value("ssl_verify").as_bool().unwrap_or(false),
            ca_file: PathBuf::from(text("ssl_cacertfile")),
            cert_file: PathBuf::from(text("ssl_certfile")),
            key_file: PathBuf::from(text("ssl_keyfile")),
            max_retry: u32::try_from(int("max_retry")).unwrap_or(0),
            retry_interval_secs: u64::try_from(int("retry_interval")).unwrap_or(0),
            heartbeat_secs: u16::try_from(int("heartbeat_interval")).unwrap_or(0),
            connect_timeout_secs: u64::try_from(int("connect_timeout")).unwrap_or(1),
            user_is_set: *settings.value(AMQP, "user") != Value::Null,
            port_is_set: *settings.value(AMQP, "port") != Value::Null,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::path::PathBuf;

    use super::*;
    use crate::config::testing::{source_of, value_of, Fixture};
    use crate::config::{load, LoadOptions, LoggingSettings, Os, Source};

    #[test]
    fn windows_default_log_dir_and_cert_files() {
        let env = |_: &str| None;
        let s = load(&LoadOptions {
            os: Os::Windows,
            explicit_config: None,
            exe: None,
            cwd: Some(tempfile::tempdir().unwrap().path().to_path_buf()),
            include_user_file: false,
            env: &env,
            overrides: Vec::new(),
        })
        .unwrap();
        assert_eq!(s.logging().dir, PathBuf::from(r"C:\Kompira\Log"));
        let amqp = AmqpSettings::from_settings(&s);
        assert_eq!(amqp.ca_file, PathBuf::from(r"C:\Kompira\SSL\Certs\kompira-bundle-ca.crt"));
        assert_eq!(amqp.cert_file, PathBuf::from(r"C:\Kompira\SSL\Certs\amqp-client-kompira.crt"));
        assert_eq!(amqp.key_file, PathBuf::from(r"C:\Kompira\SSL\Certs\amqp-client-kompira.key"));
    }

    #[test]
    fn each_environment_variable_overrides_file() {
        let f = Fixture::new()
            .env("AMQP_SSL_VERIFY", "on")
            .env("AMQP_SSL_CACERTFILE", "/ca")
            .env("AMQP_SSL_CERTFILE", "/cert")
            .env("AMQP_SSL_KEYFILE", "/key")
            .env("AMQP_MAX_RETRY", "5")
            .env("AMQP_RETRY_INTERVAL", " 7 ")
            .env("LOGGING_LEVEL", "warning")
            .env("LOGGING_DIR", "/logs")
            .env("LOGGING_MAXSZ", "0")
            .env("LOGGING_BACKUP", "2")
            .env("LOGGING_WHEN", "h");
        let s =
            f.load_text("[amqp-connection]\nssl_verify = no\nmax_retry = 1\n[logging]\nloglevel = DEBUG\n").unwrap();
        let amqp = AmqpSettings::from_settings(&s);
        assert!(amqp.ssl_verify);
        assert_eq!(amqp.ca_file, PathBuf::from("/ca"));
        assert_eq!(amqp.cert_file, PathBuf::from("/cert"));
        assert_eq!(amqp.key_file, PathBuf::from("/key"));
        assert_eq!(amqp.max_retry, 5);
        assert_eq!(amqp.retry_interval_secs, 7);
        assert_eq!(
            s.logging(),
            LoggingSettings {
                level: "WARNING".into(),
                dir: "/logs".into(),
                max_bytes: 0,
                backups: 2,
                when: "H".into()
            }
        );
        assert_eq!(source_of(&s, "amqp-connection", "max_retry"), "environment AMQP_MAX_RETRY");
        assert_eq!(source_of(&s, "logging", "logwhen"), "environment LOGGING_WHEN");
    }

    #[test]
    fn amqp_url_sets_connection_keys() {
        let s = Fixture::new()
            .env("AMQP_URL", "amqps://us%40er:p%3Ass@MQ.Example:5999/vhost")
            .load_text("[amqp-connection]\nserver = file\nport = 1\nuser = u\npassword = p\nssl = no\n")
            .unwrap();
        let amqp = AmqpSettings::from_settings(&s);
        assert_eq!(amqp.server, "mq.example");
        assert_eq!(amqp.port, 5999);
        assert_eq!(amqp.user, "us@er");
        assert_eq!(amqp.password.expose(), "p:ss");
        assert!(amqp.ssl);
        for key in ["server", "port", "user", "password", "ssl"] {
            assert_eq!(source_of(&s, "amqp-connection", key), "environment AMQP_URL", "{key}");
        }
    }

    #[test]
    fn amqp_url_missing_parts_become_null() {
        let s = Fixture::new()
            .env("AMQP_URL", "amqp://mq.example")
            .load_text("[amqp-connection]\nport = 1\nuser = u\npassword = p\nssl = yes\n")
            .unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "port"), Value::Null);
        assert_eq!(value_of(&s, "amqp-connection", "user"), Value::Null);
        assert_eq!(value_of(&s, "amqp-connection", "password"), Value::Null);
        assert_eq!(value_of(&s, "amqp-connection", "ssl"), Value::Bool(false));
        let amqp = AmqpSettings::from_settings(&s);
        assert_eq!((amqp.port, amqp.user.as_str(), amqp.password.expose()), (5672, "kompira", "kompira"));
        assert!(!amqp.user_is_set && !amqp.port_is_set);

        let s = Fixture::new().env("AMQP_URL", "amqp://").load_file(None).unwrap();
        assert_eq!(value_of(&s, "amqp-connection", "server"), Value::Null);
        assert_eq!(AmqpSettings::from_settings(&s).server, "localhost");
        assert_eq!(AmqpSettings::from_settings(&s).user, "guest");
    }

    #[test]
    fn bad_file_value_replaced_by_later_layer_is_fine_but_type_errors_are_not() {
        // A range problem in the file does not matter when the env replaces it …
        let s = Fixture::new().env("AMQP_MAX_RETRY", "2").load_text("[amqp-connection]\nmax_retry = -5\n").unwrap();
        assert_eq!(AmqpSettings::from_settings(&s).max_retry, 2);
        // … but text that is not a number fails, as sendevt's getint does.
        assert!(Fixture::new().env("AMQP_MAX_RETRY", "2").load_text("[amqp-connection]\nmax_retry = x\n").is_err());
    }

    #[test]
    fn local_server_derives_guest_and_plain_port() {
        for server in ["localhost", "127.0.0.1"] {
            let s = Fixture::new().load_text(&format!("[amqp-connection]\nserver = {server}\n")).unwrap();
            let amqp = AmqpSettings::from_settings(&s);
            assert_eq!((amqp.user.as_str(), amqp.password.expose()), ("guest", "guest"));
            assert_eq!((amqp.ssl, amqp.port), (false, 5672));
            assert!(!amqp.user_is_set && !amqp.port_is_set);
            let resolved: HashMap<_, _> = s.amqp_resolved().into_iter().collect();
            assert_eq!(resolved["user"].source, Source::Derived("local server"));
            assert_eq!(resolved["ssl"].source, Source::Derived("local server"));
            assert_eq!(resolved["password"].source, Source::Derived("same as user"));
            assert_eq!(resolved["port"].source.to_string(), "derived: ssl off");
        }
    }

    #[test]
    fn remote_server_derives_kompira_without_tls() {
        let s = Fixture::new().load_text("[amqp-connection]\nserver = mq.example\n").unwrap();
        let amqp = AmqpSettings::from_settings(&s);
        assert_eq!((amqp.user.as_str(), amqp.password.expose()), ("kompira", "kompira"));
        // sendevt 2.0.0 behaviour: no TLS unless ssl is set.
        assert_eq!((amqp.ssl, amqp.port), (false, 5672));
        let resolved: HashMap<_, _> = s.amqp_resolved().into_iter().collect();
        assert_eq!(resolved["user"].source.to_string(), "derived: remote server");
        assert_eq!(resolved["server"].source.to_string(), format!("{}:2", s.files_read()[0].display()));
    }

    #[test]
    fn ssl_derives_port_5671_and_password_follows_user() {
        let s = Fixture::new().load_text("[amqp-connection]\nserver = mq\nssl = true\nuser = alice\n").unwrap();
        let amqp = AmqpSettings::from_settings(&s);
        assert_eq!((amqp.ssl, amqp.port, amqp.user.as_str(), amqp.password.expose()), (true, 5671, "alice", "alice"));
        assert!(amqp.user_is_set);
        assert_eq!(amqp.ca_file, PathBuf::from("/opt/kompira/ssl/certs/kompira-bundle-ca.crt"));
        assert_eq!(amqp.cert_file, PathBuf::from("/opt/kompira/ssl/certs/amqp-client-kompira.crt"));
        assert_eq!(amqp.key_file, PathBuf::from("/opt/kompira/ssl/certs/amqp-client-kompira.key"));
        let resolved: HashMap<_, _> = s.amqp_resolved().into_iter().collect();
        assert_eq!(resolved["port"].source.to_string(), "derived: ssl on");
        assert_eq!(resolved["ssl_keyfile"].source.to_string(), "derived: default certificate directory");
    }

    #[test]
    fn explicit_values_are_not_derived() {
        let s = Fixture::new()
            .load_text("[amqp-connection]\nport = 1234\nuser = u\npassword = pw\nheartbeat_interval = 0\nconnect_timeout = 3\n")
            .unwrap();
        let amqp = AmqpSettings::from_settings(&s);
        assert_eq!((amqp.port, amqp.user.as_str(), amqp.password.expose()), (1234, "u", "pw"));
        assert!(amqp.port_is_set && amqp.user_is_set);
        assert_eq!((amqp.heartbeat_secs, amqp.connect_timeout_secs), (0, 3));
        assert_eq!(s.amqp_resolved().len(), 13);
    }

    #[test]
    fn debug_output_masks_password() {
        let s = Fixture::new().load_text("[amqp-connection]\npassword = hunter2\n").unwrap();
        let debug = format!("{s:?} {:?}", AmqpSettings::from_settings(&s));
        assert!(!debug.contains("hunter2"), "{debug}");
        assert!(debug.contains("********"));
    }
}
