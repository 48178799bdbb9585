//! A throwaway PostgreSQL cluster for the whole test binary: `initdb` + `pg_ctl` in a temporary
//! directory on a free loopback port, stopped when the tests end (at exit, and by a watchdog if
//! the test process dies). Each test gets its own database, so tests run in parallel.
//!
//! `SIG_TEST_POSTGRES_URL` points the tests at an existing server instead. Without PostgreSQL
//! binaries the PostgreSQL tests are skipped with a loud message, except in CI (`CI` set),
//! where that is a failure.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use diesel::{Connection, PgConnection, RunQueryDsl};

use super::ports::free_port;

struct Cluster {
    root: PathBuf,
    data: PathBuf,
    admin_url: String,
    user: Option<(u32, u32)>,
}

static CLUSTER: OnceLock<Option<Cluster>> = OnceLock::new();
static DATABASES: AtomicUsize = AtomicUsize::new(0);

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(tool).is_file()))
        .unwrap_or(false)
}

/// An unprivileged account to run PostgreSQL as when the tests run as root.
fn unprivileged_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    for name in [c"postgres", c"nobody"] {
        // SAFETY: `name` is a valid C string; the returned record is read at once.
        let record = unsafe { libc::getpwnam(name.as_ptr()) };
        if !record.is_null() {
            // SAFETY: checked non-null above.
            let (uid, gid) = unsafe { ((*record).pw_uid, (*record).pw_gid) };
            return Some((uid, gid));
        }
    }
    panic!("the tests run as root and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL");
}

fn command(program: &str, user: Option<(u32, u32)>) -> Command {
    use std::os::unix::process::CommandExt;
    let mut command = Command::new(program);
    command.env("LC_ALL", "C").env("LANG", "C");
    if let Some((uid, gid)) = user {
        command.uid(uid).gid(gid);
    }
    command
}

fn start() -> Option<Cluster> {
    if let Ok(url) = std::env::var("SIG_TEST_POSTGRES_URL") {
        return Some(Cluster {
            root: PathBuf::new(),
            data: PathBuf::new(),
            admin_url: url,
            user: None,
        });
    }
    if !on_path("initdb") || !on_path("pg_ctl") {
        if std::env::var_os("CI").is_some() {
            panic!("CI must run the PostgreSQL tests, but initdb/pg_ctl are not on PATH");
        }
        eprintln!(
            "\n\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
             !!  PostgreSQL tests SKIPPED: initdb/pg_ctl are not on PATH.          !!\n\
             !!  Install PostgreSQL (15+) or set SIG_TEST_POSTGRES_URL to run them. !!\n\
             !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
        );
        return None;
    }
    let user = unprivileged_user();
    let (root, data, port) = init_and_launch(user);
    let cluster = Cluster {
        admin_url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        root,
        data,
        user,
    };
    watch(&cluster);
    // SAFETY: registering a plain extern "C" function is always sound.
    unsafe { libc::atexit(stop_at_exit) };
    Some(cluster)
}

/// A new cluster, started on a free port (three tries: a port may be taken meanwhile).
fn init_and_launch(user: Option<(u32, u32)>) -> (PathBuf, PathBuf, u16) {
    let (root, data) = init(user);
    let mut last_error = String::new();
    for _attempt in 0..3 {
        let port = free_port();
        match launch(&root, &data, user, port) {
            Ok(()) => return (root, data, port),
            Err(error) => last_error = error,
        }
    }
    panic!("a throwaway PostgreSQL cluster did not start: {last_error}");
}

/// A new cluster directory (`initdb`), owned by `user`.
fn init(user: Option<(u32, u32)>) -> (PathBuf, PathBuf) {
    let root = tempfile::Builder::new()
        .prefix("sig-test-pg-")
        .tempdir()
        .expect("a temporary directory")
        .keep();
    if let Some((uid, gid)) = user {
        std::os::unix::fs::chown(&root, Some(uid), Some(gid)).expect("chown the cluster directory");
    }
    let data = root.join("cluster");
    let output = command("initdb", user)
        .args(["-D"])
        .arg(&data)
        .args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"])
        .output()
        .expect("run initdb");
    assert!(
        output.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    (root, data)
}

/// Starts the cluster in `data` on `port` and waits until it accepts connections.
fn launch(root: &Path, data: &Path, user: Option<(u32, u32)>, port: u16) -> Result<(), String> {
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off -c max_connections=400",
        root.display()
    );
    let output = command("pg_ctl", user)
        .arg("-D")
        .arg(data)
        .args(["-o", &options, "-l"])
        .arg(root.join("postgres.log"))
        .args(["-w", "-t", "60", "start"])
        .output()
        .expect("run pg_ctl");
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned()
            + &std::fs::read_to_string(root.join("postgres.log")).unwrap_or_default())
    }
}

fn pg_ctl_stop(data: &Path, user: Option<(u32, u32)>, mode: &str) -> bool {
    command("pg_ctl", user)
        .arg("-D")
        .arg(data)
        .args(["-m", mode, "-w", "stop"])
        .output()
        .is_ok_and(|output| output.status.success())
}

/// A cluster of one test's own, to stop and start again (a database outage); removed on drop.
pub struct OwnCluster {
    root: PathBuf,
    data: PathBuf,
    user: Option<(u32, u32)>,
    port: u16,
}

impl OwnCluster {
    /// `None` where the PostgreSQL tests do not run.
    pub fn start() -> Option<Self> {
        if !available() || std::env::var_os("SIG_TEST_POSTGRES_URL").is_some() {
            return None;
        }
        let user = unprivileged_user();
        let (root, data, port) = init_and_launch(user);
        watch(&Cluster {
            root: root.clone(),
            data: data.clone(),
            admin_url: String::new(),
            user,
        });
        Some(Self {
            root,
            data,
            user,
            port,
        })
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// A fast shutdown: open connections are cut, new ones refused.
    pub fn stop(&self) {
        assert!(
            pg_ctl_stop(&self.data, self.user, "fast"),
            "the test's own cluster stops"
        );
    }

    /// Back on the same port.
    pub fn resume(&self) {
        launch(&self.root, &self.data, self.user, self.port).expect("the cluster starts again");
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = pg_ctl_stop(&self.data, self.user, "immediate");
        remove(&self.root);
    }
}

/// Stops the cluster once this process is gone, however it ended.
fn watch(cluster: &Cluster) {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; \
         pg_ctl -D '{data}' -m immediate -w stop >/dev/null 2>&1; rm -rf '{root}'",
        pid = std::process::id(),
        data = cluster.data.display(),
        root = cluster.root.display(),
    );
    let _ = command("sh", cluster.user)
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

extern "C" fn stop_at_exit() {
    if let Some(Some(cluster)) = CLUSTER.get() {
        if cluster.data.as_os_str().is_empty() {
            return;
        }
        let _ = pg_ctl_stop(&cluster.data, cluster.user, "immediate");
        remove(&cluster.root);
    }
}

fn remove(path: &Path) {
    let _ = std::fs::remove_dir_all(path);
}

/// True when the PostgreSQL tests can run here.
pub fn available() -> bool {
    CLUSTER.get_or_init(start).is_some()
}

/// The admin URL of the cluster (database `postgres`).
pub fn admin_url() -> Option<String> {
    CLUSTER
        .get_or_init(start)
        .as_ref()
        .map(|c| c.admin_url.clone())
}

/// A new, empty database; its URL.
pub fn fresh_database() -> Option<String> {
    let admin = admin_url()?;
    let name = format!(
        "sig_test_{}_{}",
        std::process::id(),
        DATABASES.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = PgConnection::establish(&admin).expect("connect to the test cluster");
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .expect("create a test database");
    let base = admin
        .rsplit_once('/')
        .map(|(base, _)| base)
        .unwrap_or(&admin);
    Some(format!("{base}/{name}"))
}

/// Drops a database (all its connections are cut): the database is "down" for its users.
pub fn drop_database(url: &str) {
    let admin = admin_url().expect("the cluster runs");
    let name = url.rsplit('/').next().expect("a database name");
    let mut conn = PgConnection::establish(&admin).expect("connect to the test cluster");
    diesel::sql_query(format!("DROP DATABASE \"{name}\" WITH (FORCE)"))
        .execute(&mut conn)
        .expect("drop the test database");
}
