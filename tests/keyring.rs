//! `[secrets] store = keyring` against a real Secret Service: gnome-keyring on a private session
//! bus, unlocked with a throwaway password, its files in a scratch home. The token and the AMQP
//! password stored with `kompira secret set` are the ones the tools use (the file holds wrong
//! ones), and after `kompira secret delete` the file's are used again.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use kompira_e2e::{connect_options, private_session_bus, workspace_binary, Killed};
use kompira_testkit as testkit;

const TIMEOUT: Duration = Duration::from_secs(20);
const FILE_TOKEN: &str = "token-from-the-file";
const FILE_PASSWORD: &str = "password-from-the-file";

/// A session bus with an unlocked gnome-keyring on it, in `home`.
struct Keyring {
    bus_address: String,
    home: tempfile::TempDir,
    _daemons: Vec<Killed>,
}

impl Keyring {
    fn start() -> Self {
        let home = tempfile::tempdir().unwrap();
        let (bus, bus_address) = private_session_bus();
        let runtime = home.path().join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &bus_address)
            .env("HOME", home.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon runs (scripts/setup.sh installs gnome-keyring)");
        // The login keyring's password, then end of input.
        keyring.stdin.take().unwrap().write_all(b"throwaway").unwrap();
        let ring = Self { bus_address, home, _daemons: vec![Killed(keyring), bus] };
        let deadline = Instant::now() + TIMEOUT;
        while !ring.kompira(&["secret", "delete", "rest.token"], "").status.success() {
            assert!(Instant::now() < deadline, "the Secret Service did not come up on the private bus");
            std::thread::sleep(Duration::from_millis(100));
        }
        ring
    }

    fn command(&self, binary: &str) -> Command {
        let mut command = Command::new(workspace_binary(binary));
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.home.path())
            .env("XDG_RUNTIME_DIR", self.home.path().join("run"))
            .env("DBUS_SESSION_BUS_ADDRESS", &self.bus_address)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn kompira(&self, args: &[&str], input: &str) -> Output {
        run(self.command("kompira").args(args), input)
    }
}

fn run(command: &mut Command, input: &str) -> Output {
    let mut child = command.spawn().expect("the tool runs");
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// kompira.conf with the keyring keeping secrets, and wrong ones in the file.
fn write_conf(path: &Path, rest_url: &str) {
    let broker = connect_options(&testkit::broker_url());
    std::fs::write(
        path,
        format!(
            "[secrets]\nstore = keyring\n\n[rest]\nurl = {rest_url}\ntoken = {FILE_TOKEN}\n\n\
             [amqp-connection]\nserver = {}\nport = {}\nuser = {}\npassword = {FILE_PASSWORD}\nconnect_timeout = 5\n",
            broker.server, broker.port, broker.user
        ),
    )
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_in_the_os_keyring_are_the_ones_used_and_the_file_is_the_fallback() {
    let sim = kompira_sim::start(kompira_sim::SimConfig::default()).await.expect("the stand-in starts");
    let ring = tokio::task::spawn_blocking(Keyring::start).await.unwrap();
    let conf = ring.home.path().join("kompira.conf");
    write_conf(&conf, &sim.base_url);
    let conf = conf.to_str().unwrap().to_owned();
    let token = sim.token.clone();
    let amqp_password = connect_options(&testkit::broker_url()).password.expose().to_owned();

    let outcome = tokio::task::spawn_blocking(move || {
        let send = |ring: &Keyring| {
            ring.kompira(&["-c", &conf, "channel", "send", "/system/channels/Alert", "from=keyring-test"], "")
        };
        let test_connection =
            |ring: &Keyring| run(ring.command("kompira_sendevt").args(["-c", &conf, "--test-connection"]), "");

        // The file's secrets are wrong: with nothing in the keyring, they are used and refused.
        let refused = send(&ring);
        assert_eq!(refused.status.code(), Some(1), "{}", text(&refused));
        assert!(!text(&refused).contains(FILE_TOKEN), "a refusal never shows the token: {}", text(&refused));
        let refused = test_connection(&ring);
        assert_ne!(refused.status.code(), Some(0), "{}", text(&refused));
        assert!(!text(&refused).contains(FILE_PASSWORD), "{}", text(&refused));

        let stored = ring.kompira(&["secret", "set", "rest.token"], &format!("{token}\n"));
        assert!(stored.status.success(), "{}", text(&stored));
        let stored = ring.kompira(&["secret", "set", "amqp-connection.password"], &format!("{amqp_password}\n"));
        assert!(stored.status.success(), "{}", text(&stored));
        let sent = send(&ring);
        assert!(sent.status.success(), "the keyring's token was used: {}", text(&sent));
        let connected = test_connection(&ring);
        assert!(connected.status.success(), "the keyring's password was used: {}", text(&connected));

        let deleted = ring.kompira(&["secret", "delete", "rest.token"], "");
        assert!(deleted.status.success(), "{}", text(&deleted));
        let refused = send(&ring);
        assert_eq!(refused.status.code(), Some(1), "back to the file's token: {}", text(&refused));
    })
    .await;
    let messages = sim.stats().messages_per_channel.get("/system/channels/Alert").copied().unwrap_or(0);
    sim.shutdown().await;
    outcome.unwrap();
    assert_eq!(messages, 1, "exactly the send made with the keyring's token arrived");
}
