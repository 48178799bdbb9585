//! The `sig-register` command as a newcomer runs it: a spawned process, real files, real HTTP.

use std::time::Duration;

use crate::support::http::{cli, get, Server};
use crate::support::{pg, policies_dir};

pub fn base_env(root: &std::path::Path, database_url: String) -> Vec<(&'static str, String)> {
    vec![
        ("SIG_DATABASE_URL", database_url),
        ("SIG_DATA_DIR", root.join("data").display().to_string()),
        ("SIG_POLICIES_DIR", policies_dir().display().to_string()),
    ]
}

fn mint(root: &std::path::Path, env: &[(&str, String)], role: &str) -> String {
    mint_as(root, env, "cli-user", "socialtjanst-orebro", role)
}

/// A development token from the `token` command of the binary under test.
pub fn mint_as(
    root: &std::path::Path,
    env: &[(&str, String)],
    sub: &str,
    agency: &str,
    role: &str,
) -> String {
    let output = cli(
        root,
        env,
        &[
            "token",
            "--sub",
            sub,
            "--name",
            "Test User",
            "--agency",
            agency,
            "--role",
            role,
        ],
    );
    assert!(
        output.status.success(),
        "token: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    assert_eq!(token.matches('.').count(), 2, "a compact JWT");
    token
}

fn served_areas_with_a_minted_token(database_url: String) {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(root.path(), database_url);
    let (mut server, port) = Server::spawn(root.path(), &env);
    assert!(
        server.wait_ready(Duration::from_secs(60)),
        "serve became ready"
    );
    let token = mint(root.path(), &env, "police_officer");
    let (status, body) = get(port, "/api/v1/areas", Some(&token)).expect("an answer");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("vivalla"));
    let (status, _) = get(port, "/api/v1/areas", None).expect("an answer");
    assert_eq!(status, 401);
    server.stop();
}

#[test]
fn sqlite_serve_answers_a_token_from_the_token_command() {
    let root = tempfile::tempdir().expect("tempdir");
    served_areas_with_a_minted_token(format!("sqlite://{}", root.path().join("cli.db").display()));
}

#[test]
fn postgres_serve_answers_a_token_from_the_token_command() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    served_areas_with_a_minted_token(url);
}

#[test]
fn defaults_work_from_an_empty_directory() {
    // `sig-register serve` with no configuration: ./data/sig-register.db and ./policies.
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(root.path().join("policies")).expect("mkdir");
    for entry in std::fs::read_dir(policies_dir()).expect("policies") {
        let path = entry.expect("entry").path();
        std::fs::copy(
            &path,
            root.path()
                .join("policies")
                .join(path.file_name().expect("name")),
        )
        .expect("copy");
    }
    let (mut server, port) = Server::spawn(root.path(), &[]);
    assert!(server.wait_ready(Duration::from_secs(60)));
    assert!(root.path().join("data/sig-register.db").is_file());
    let token = mint(root.path(), &[], "admin");
    assert_eq!(
        get(port, "/api/v1/agencies", Some(&token)).map(|r| r.0),
        Some(200)
    );
    server.stop();
}

#[test]
fn token_refuses_when_the_providers_keys_are_configured() {
    let root = tempfile::tempdir().expect("tempdir");
    for (name, value) in [
        (
            "SIG_JWKS_FILE",
            root.path().join("jwks.json").display().to_string(),
        ),
        ("SIG_JWKS_URL", "https://idp.example.se/keys".to_owned()),
    ] {
        let mut env = base_env(
            root.path(),
            format!("sqlite://{}", root.path().join("x.db").display()),
        );
        env.push((name, value));
        let output = cli(
            root.path(),
            &env,
            &[
                "token", "--sub", "a", "--name", "A", "--agency", "obo", "--role", "partner",
            ],
        );
        assert!(!output.status.success(), "{name}");
        assert!(output.stdout.is_empty(), "no token is printed");
        assert!(String::from_utf8_lossy(&output.stderr).contains(name));
    }
}

#[test]
fn the_demo_runs_in_development_mode_only_and_once() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(
        root.path(),
        format!("sqlite://{}", root.path().join("demo.db").display()),
    );
    let mut with_provider = env.clone();
    with_provider.push(("SIG_OIDC_ISSUER", "https://idp.example.se".to_owned()));
    with_provider.push(("SIG_OIDC_CLIENT_ID", "sig".to_owned()));
    with_provider.push(("SIG_PUBLIC_URL", "https://sig.example.se".to_owned()));
    let refused = cli(root.path(), &with_provider, &["demo"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("development mode only"));
    assert!(!root.path().join("demo.db").exists(), "nothing was created");

    let filled = cli(root.path(), &env, &["demo"]);
    assert!(
        filled.status.success(),
        "{}",
        String::from_utf8_lossy(&filled.stderr)
    );
    assert!(String::from_utf8_lossy(&filled.stdout).contains("10 fictitious case(s)"));
    let again = cli(root.path(), &env, &["demo"]);
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("nothing added"));
    let verify = cli(root.path(), &env, &["audit", "verify"]);
    assert!(
        verify.status.success(),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
}

#[test]
fn token_refuses_an_unknown_role() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(
        root.path(),
        format!("sqlite://{}", root.path().join("x.db").display()),
    );
    let output = cli(
        root.path(),
        &env,
        &[
            "token", "--sub", "a", "--name", "A", "--agency", "obo", "--role", "root",
        ],
    );
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
}

#[test]
fn migrate_runs_twice_on_both_backends() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut urls = vec![format!("sqlite://{}", root.path().join("m.db").display())];
    urls.extend(pg::fresh_database());
    for url in urls {
        let env = base_env(root.path(), url);
        for attempt in ["first", "second"] {
            let output = cli(root.path(), &env, &["migrate"]);
            assert!(
                output.status.success(),
                "{attempt} migrate: {}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
}

#[test]
fn a_mistyped_database_url_stops_the_start() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(root.path(), "postgress://user@localhost/db".to_owned());
    let output = cli(root.path(), &env, &["migrate"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sqlite:// or postgres://"));
    assert!(
        !root.path().join("postgress:").exists(),
        "no file named after the typo"
    );
}

/// Each start-up error is one line on stderr, naming what to fix, and nothing is said twice.
#[test]
fn start_up_errors_are_said_once_naming_what_to_fix() {
    let root = tempfile::tempdir().expect("tempdir");
    let sqlite = format!("sqlite://{}", root.path().join("s.db").display());
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = taken.local_addr().expect("address").port();
    let with = |extra: &[(&'static str, String)]| {
        let mut env = base_env(root.path(), sqlite.clone());
        env.push(("SIG_LOG", "warn".to_owned()));
        env.extend(extra.iter().cloned());
        env
    };
    // A key file made unreadable as a key: a folder in its place.
    let odd = root.path().join("odd-data");
    std::fs::create_dir_all(odd.join("field-encryption.key")).expect("mkdir");
    type Env = Vec<(&'static str, String)>;
    let cases: [(&str, Env, &str); 5] = [
        (
            "bad URL scheme",
            with(&[("SIG_DATABASE_URL", "mysql://db/sig".to_owned())]),
            "SIG_DATABASE_URL must start with sqlite:// or postgres://",
        ),
        (
            "missing policies folder",
            with(&[(
                "SIG_POLICIES_DIR",
                root.path().join("nope").display().to_string(),
            )]),
            "there is no folder",
        ),
        (
            "port in use",
            with(&[("SIG_BIND", format!("127.0.0.1:{port}"))]),
            &format!("cannot listen on 127.0.0.1:{port} (SIG_BIND)"),
        ),
        (
            "unreadable key file",
            with(&[("SIG_DATA_DIR", odd.display().to_string())]),
            "field-encryption.key: not a file",
        ),
        (
            "a password file for SQLite",
            with(&[("SIG_DATABASE_PASSWORD_FILE", "/run/secrets/x".to_owned())]),
            "SIG_DATABASE_PASSWORD_FILE: only PostgreSQL takes a password",
        ),
    ];
    for (what, env, expected) in cases {
        let output = cli(root.path(), &env, &["serve"]);
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(!output.status.success(), "{what}: the start stops");
        let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{what}: one line, got {stderr}");
        assert!(lines[0].starts_with("sig-register: "), "{what}: {stderr}");
        assert!(lines[0].contains(expected), "{what}: {stderr}");
        // No clause twice (a cause repeated after its context).
        let clauses: Vec<&str> = lines[0].split(": ").filter(|c| c.len() > 12).collect();
        let unique: std::collections::BTreeSet<&str> = clauses.iter().copied().collect();
        assert_eq!(clauses.len(), unique.len(), "{what}: said twice: {stderr}");
        assert!(
            !stderr.contains("sig-register ready"),
            "{what}: never ready"
        );
    }
    drop(taken);
}

#[test]
fn serve_stops_on_a_policy_that_does_not_parse_and_names_file_and_line() {
    let root = tempfile::tempdir().expect("tempdir");
    let policies = root.path().join("policies");
    std::fs::create_dir(&policies).expect("mkdir");
    for entry in std::fs::read_dir(policies_dir()).expect("policies") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, policies.join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(
        policies.join("broken.cedar"),
        "@id(\"x\")\npermit(principal, action, resource\n",
    )
    .expect("write");
    let mut env = base_env(
        root.path(),
        format!("sqlite://{}", root.path().join("p.db").display()),
    );
    env.push(("SIG_POLICIES_DIR", policies.display().to_string()));
    let (mut server, _) = Server::spawn(root.path(), &env);
    let mut exited = None;
    for _ in 0..300 {
        if let Ok(Some(status)) = server.child.try_wait() {
            exited = Some(status);
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let status = exited.expect("serve exits on a broken policy");
    assert!(!status.success());
    let stderr = server.stop();
    assert!(
        stderr.contains("broken.cedar:2:"),
        "names file and line: {stderr}"
    );
}

#[test]
fn json_logs_are_one_object_per_line_without_tokens_or_query_strings() {
    let root = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(
        root.path(),
        format!("sqlite://{}", root.path().join("l.db").display()),
    );
    env.push(("SIG_LOG_FORMAT", "json".to_owned()));
    env.push(("SIG_LOG", "debug".to_owned()));
    let (mut server, port) = Server::spawn(root.path(), &env);
    assert!(server.wait_ready(Duration::from_secs(60)));
    let token = mint(root.path(), &env, "police_officer");
    get(
        port,
        "/api/v1/areas?personal_number=200811122381",
        Some(&token),
    )
    .expect("answer");
    get(port, "/api/v1/areas", Some("not.a.token")).expect("answer");
    let logs = server.stop();
    let lines: Vec<&str> = logs.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{logs}");
    for line in &lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        assert!(
            value.get("timestamp").is_some() && value.get("level").is_some(),
            "{line}"
        );
    }
    assert!(logs.contains("request_id"), "requests carry their id");
    for secret in [
        token.as_str(),
        token.split('.').nth(1).expect("payload"),
        "200811122381",
        "not.a.token",
        "Cli User",
    ] {
        assert!(!logs.contains(secret), "the log holds {secret:.20}…");
    }
}

fn audit_cli_round_trip(database_url: String, tamper: &dyn Fn(&str)) {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(root.path(), database_url.clone());
    let (mut server, port) = Server::spawn(root.path(), &env);
    assert!(server.wait_ready(Duration::from_secs(60)));
    for _ in 0..5 {
        get(port, "/api/v1/areas", None).expect("answer");
    }
    server.stop();

    let verify = cli(root.path(), &env, &["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert_eq!(
        verify.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
    assert!(
        stdout.contains("5 events and 1 checkpoints verified"),
        "a checkpoint was signed at shutdown: {stdout}"
    );

    let export = cli(
        root.path(),
        &env,
        &["audit", "export", "--format", "ndjson"],
    );
    assert!(export.status.success());
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&export.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 5);
    assert!(lines
        .iter()
        .all(|e| e["action"] == "auth.failed" && e["method"] == "GET"));
    let csv = cli(
        root.path(),
        &env,
        &[
            "audit",
            "export",
            "--format",
            "csv",
            "--from",
            "2000-01-01T00:00:00Z",
        ],
    );
    assert!(String::from_utf8_lossy(&csv.stdout).starts_with("seq,id,at,actor,action"));
    assert_eq!(String::from_utf8_lossy(&csv.stdout).lines().count(), 6);

    tamper(&database_url);
    let verify = cli(root.path(), &env, &["audit", "verify"]);
    let stdout = String::from_utf8_lossy(&verify.stdout).into_owned();
    assert_eq!(verify.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("first bad seq 3"), "{stdout}");
}

#[test]
fn sqlite_audit_verify_and_export_from_the_command_line() {
    let root = tempfile::tempdir().expect("tempdir");
    let path = root.path().join("audit.db");
    audit_cli_round_trip(format!("sqlite://{}", path.display()), &|_| {
        use diesel::connection::SimpleConnection;
        let mut conn =
            <diesel::SqliteConnection as diesel::Connection>::establish(&path.to_string_lossy())
                .expect("open");
        conn.batch_execute("DROP TRIGGER audit_events_no_update; UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 3;")
            .expect("tamper");
    });
}

#[test]
fn postgres_audit_verify_and_export_from_the_command_line() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    audit_cli_round_trip(url, &|url| {
        use diesel::connection::SimpleConnection;
        let mut conn =
            <diesel::PgConnection as diesel::Connection>::establish(url).expect("connect");
        conn.batch_execute("ALTER TABLE audit_events DISABLE TRIGGER USER; UPDATE audit_events SET reason = 'nothing to see' WHERE seq = 3;")
            .expect("tamper");
    });
}

#[test]
fn audit_verify_exits_2_when_the_log_cannot_be_read() {
    let root = tempfile::tempdir().expect("tempdir");
    let env = base_env(root.path(), "postgres://nobody@127.0.0.1:1/none".to_owned());
    let verify = cli(root.path(), &env, &["audit", "verify"]);
    assert_eq!(verify.status.code(), Some(2));
    assert!(!String::from_utf8_lossy(&verify.stdout).contains("TAMPERED"));
}
