//! Configuration: the `SIG_*` variables of API.md §1, each overridable by a flag of the same
//! meaning (`SIG_BIND` ↔ `--bind`). Checked once at start-up.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::db::{DatabaseUrl, DbError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Clone, Debug, Args)]
pub struct Config {
    /// `sqlite://PATH` (embedded, created on first start; `sqlite:///abs/path` for an absolute
    /// path) or `postgres://…`.
    #[arg(
        long,
        env = "SIG_DATABASE_URL",
        default_value = "sqlite://./data/sig-register.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// PostgreSQL: a file holding the database password (a Docker or Kubernetes secret). It is
    /// put into SIG_DATABASE_URL's password part, escaped as a URL needs, so the password is
    /// never pasted into the URL by hand.
    #[arg(long, env = "SIG_DATABASE_PASSWORD_FILE", global = true)]
    pub database_password_file: Option<PathBuf>,

    /// Listen address.
    #[arg(
        long,
        env = "SIG_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: String,

    /// Key material, created on first start with mode 0600.
    #[arg(long, env = "SIG_DATA_DIR", default_value = "./data", global = true)]
    pub data_dir: PathBuf,

    /// The audit log's name: the origin line of its signed checkpoints and the name of its
    /// key in them. Give each register its own (e.g. `orebro.se/sig-register/audit`); keep it
    /// once checkpoints are signed — verifiers and witnesses know the log by it.
    #[arg(
        long,
        env = "SIG_AUDIT_ORIGIN",
        default_value = crate::crypto::keys::DEFAULT_AUDIT_ORIGIN,
        global = true
    )]
    pub audit_origin: String,

    /// Outside witnesses that cosign the audit log's signed tree heads: comma-separated
    /// `URL VKEY` pairs (each witness's submission prefix and its verifier key, as
    /// `sig-register witness key` prints it). Empty: none.
    #[arg(long, env = "SIG_AUDIT_WITNESSES", default_value = "", global = true)]
    pub audit_witnesses: String,

    /// Cedar schema and policies.
    #[arg(
        long,
        env = "SIG_POLICIES_DIR",
        default_value = "./policies",
        global = true
    )]
    pub policies_dir: PathBuf,

    /// Required `iss` of every token.
    #[arg(
        long,
        env = "SIG_JWT_ISSUER",
        default_value = "sig-register-dev",
        global = true
    )]
    pub jwt_issuer: String,

    /// Required `aud` of every token.
    #[arg(
        long,
        env = "SIG_JWT_AUDIENCE",
        default_value = "sig-register",
        global = true
    )]
    pub jwt_audience: String,

    /// The `typ` every token must carry, e.g. `at+jwt` (RFC 9068). Unset: `JWT`, `at+jwt` or
    /// none; any other `typ` is refused either way.
    #[arg(long, env = "SIG_JWT_TYP", global = true)]
    pub jwt_typ: Option<String>,

    /// Production: a JWKS file with the identity provider's public keys (EdDSA, ES256, RS256).
    /// When set, the development key is never accepted and `token` refuses.
    #[arg(long, env = "SIG_JWKS_FILE", global = true)]
    pub jwks_file: Option<PathBuf>,

    /// Production: the URL of the identity provider's JWKS (https; http only on the loopback
    /// interface), fetched and kept as its `Cache-Control` says, fetched again at once (at most
    /// once a minute) when a token names an unknown `kid`. Not together with SIG_JWKS_FILE.
    /// Unset with SIG_OIDC_ISSUER set: the `jwks_uri` of the provider's discovery document.
    #[arg(long, env = "SIG_JWKS_URL", global = true)]
    pub jwks_url: Option<String>,

    /// The web interface's OpenID Provider (UI.md §2), found by discovery. When set, the
    /// development login and `token` are off.
    #[arg(long, env = "SIG_OIDC_ISSUER", global = true)]
    pub oidc_issuer: Option<String>,

    /// The client id registered at the provider.
    #[arg(long, env = "SIG_OIDC_CLIENT_ID", global = true)]
    pub oidc_client_id: Option<String>,

    /// The client secret (absent for a public client).
    #[arg(
        long,
        env = "SIG_OIDC_CLIENT_SECRET",
        global = true,
        hide_env_values = true
    )]
    pub oidc_client_secret: Option<String>,

    /// Scopes asked for besides `openid`, space-separated.
    #[arg(
        long,
        env = "SIG_OIDC_SCOPES",
        default_value = "profile",
        global = true
    )]
    pub oidc_scopes: String,

    /// The ID-token claim that names the user's agency (a slug of the registry).
    #[arg(
        long,
        env = "SIG_OIDC_AGENCY_CLAIM",
        default_value = "agency",
        global = true
    )]
    pub oidc_agency_claim: String,

    /// The ID-token claim that holds the user's roles (an array, or a space-separated string).
    #[arg(
        long,
        env = "SIG_OIDC_ROLES_CLAIM",
        default_value = "roles",
        global = true
    )]
    pub oidc_roles_claim: String,

    /// The address users reach the service at, e.g. `https://sig.kommun.se`: the OIDC redirect
    /// URI is `{SIG_PUBLIC_URL}/auth/callback`; https makes the session cookie `Secure`.
    #[arg(long, env = "SIG_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,

    /// tracing filter, e.g. `info` or `sig_register=debug,info`.
    #[arg(long, env = "SIG_LOG", default_value = "info", global = true)]
    pub log: String,

    /// `pretty` for people, `json` for one JSON object per line.
    #[arg(
        long,
        env = "SIG_LOG_FORMAT",
        value_enum,
        default_value = "pretty",
        global = true
    )]
    pub log_format: LogFormat,

    /// Web sessions end after this many minutes without a page view (UI.md §2).
    #[arg(
        long,
        env = "SIG_SESSION_IDLE_MINUTES",
        default_value_t = 30,
        value_parser = clap::value_parser!(i64).range(1..=1440),
        global = true
    )]
    pub session_idle_minutes: i64,

    /// Web sessions end this many hours after login, used or not (UI.md §2).
    #[arg(
        long,
        env = "SIG_SESSION_MAX_HOURS",
        default_value_t = 10,
        value_parser = clap::value_parser!(i64).range(1..=24),
        global = true
    )]
    pub session_max_hours: i64,

    /// Audit anomaly review: more distinct cases a day than this is "high volume".
    #[arg(
        long,
        env = "SIG_ANOMALY_DISTINCT_CASES",
        default_value_t = 30,
        global = true
    )]
    pub anomaly_distinct_cases: i64,

    /// Retention (gallring): a closed case's personal data is erased this many years after its
    /// last entry (DOMAIN.md; old SoL 12 kap. 1 §).
    #[arg(
        long,
        env = "SIG_RETENTION_YEARS",
        default_value_t = 5,
        value_parser = clap::value_parser!(u32).range(1..=100),
        global = true
    )]
    pub retention_years: u32,

    /// Requests per second one user (token subject) may make on average; over it, 429.
    #[arg(
        long,
        env = "SIG_RATE_LIMIT_PER_SECOND",
        default_value_t = 30,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
        global = true
    )]
    pub rate_limit_per_second: u32,

    /// Requests one user may make at once before the average rate applies.
    #[arg(
        long,
        env = "SIG_RATE_LIMIT_BURST",
        default_value_t = 300,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
        global = true
    )]
    pub rate_limit_burst: u32,

    /// Requests with a refused (or no) token one client address may send per minute on
    /// average; past it and the burst, 429 and one `auth.throttled` event per address and
    /// minute with the count instead of an event each.
    #[arg(
        long,
        env = "SIG_AUTH_FAILURES_PER_MINUTE",
        default_value_t = 60,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
        global = true
    )]
    pub auth_failures_per_minute: u32,

    /// Refused tokens one client address may send at once before that rate applies.
    #[arg(
        long,
        env = "SIG_AUTH_FAILURES_BURST",
        default_value_t = 300,
        value_parser = clap::value_parser!(u32).range(1..=1_000_000),
        global = true
    )]
    pub auth_failures_burst: u32,

    /// Reverse proxies whose `X-Forwarded-For` names the client (comma-separated IP
    /// addresses). Unset: the connection's peer is the client, whatever a header says.
    #[arg(
        long,
        env = "SIG_TRUSTED_PROXIES",
        value_delimiter = ',',
        global = true
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Seconds a client has to send a request's head (and a body's bytes); 408 or a closed
    /// connection otherwise.
    #[arg(
        long,
        env = "SIG_REQUEST_TIMEOUT_SECS",
        default_value_t = 10,
        value_parser = clap::value_parser!(u64).range(1..=300),
        global = true
    )]
    pub request_timeout_secs: u64,

    /// Seconds an idle keep-alive connection stays open.
    #[arg(
        long,
        env = "SIG_KEEP_ALIVE_SECS",
        default_value_t = 30,
        value_parser = clap::value_parser!(u64).range(1..=3600),
        global = true
    )]
    pub keep_alive_secs: u64,

    /// Database connections in the pool, and the threads that run units of work (shared
    /// among the workers, at least one each).
    #[arg(long, env = "SIG_DB_POOL_SIZE", default_value_t = 8, global = true)]
    pub db_pool_size: u32,

    /// Reads whose work (queries, policy decisions, decryption) runs at once; the others wait
    /// their turn in arrival order, holding no thread. 0: one per core. Under load, more than
    /// the cores only lengthen the slowest reads (docs/performance.md); where the database is
    /// across a slow network, a higher number keeps the cores busy while reads wait on it.
    #[arg(long, env = "SIG_READ_CONCURRENCY", default_value_t = 0, global = true)]
    pub read_concurrency: u32,
}

/// The cores this process may run on (at least one): the number of workers, and of read turns
/// unless `SIG_READ_CONCURRENCY` says otherwise.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Config {
    /// `SIG_DATABASE_URL`, with the password of `SIG_DATABASE_PASSWORD_FILE` when one is given.
    pub fn database(&self) -> Result<DatabaseUrl, DbError> {
        let url = DatabaseUrl::parse(&self.database_url)?;
        let Some(file) = &self.database_password_file else {
            return Ok(url);
        };
        let DatabaseUrl::Postgres(text) = url else {
            return Err(DbError::PasswordFile(
                "only PostgreSQL takes a password, and SIG_DATABASE_URL names SQLite".to_owned(),
            ));
        };
        let password = std::fs::read_to_string(file).map_err(|error| {
            DbError::PasswordFile(format!("cannot read {}: {error}", file.display()))
        })?;
        let password = password.trim_end_matches(['\r', '\n']);
        if password.is_empty() {
            return Err(DbError::PasswordFile(format!(
                "{} is empty",
                file.display()
            )));
        }
        let mut parsed = url::Url::parse(&text).map_err(|_| {
            DbError::PasswordFile("SIG_DATABASE_URL is not a URL a password can be put in".into())
        })?;
        parsed.set_password(Some(password)).map_err(|()| {
            DbError::PasswordFile("SIG_DATABASE_URL names no host to log in to".into())
        })?;
        Ok(DatabaseUrl::Postgres(parsed.to_string()))
    }

    /// `SIG_PUBLIC_URL` without a trailing slash.
    pub fn public_url(&self) -> Option<&str> {
        self.public_url
            .as_deref()
            .map(|u| u.trim_end_matches('/'))
            .filter(|u| !u.is_empty())
    }

    /// Whether users reach the service over https (the session cookie is then `Secure`).
    pub fn secure_cookies(&self) -> bool {
        self.public_url().is_some_and(|u| u.starts_with("https://"))
    }

    /// A configuration with every default, for tests and tools.
    pub fn defaults() -> Self {
        Self {
            database_url: "sqlite://./data/sig-register.db".to_owned(),
            database_password_file: None,
            bind: "127.0.0.1:8080".to_owned(),
            data_dir: PathBuf::from("./data"),
            audit_origin: crate::crypto::keys::DEFAULT_AUDIT_ORIGIN.to_owned(),
            audit_witnesses: String::new(),
            policies_dir: PathBuf::from("./policies"),
            jwt_issuer: "sig-register-dev".to_owned(),
            jwt_audience: "sig-register".to_owned(),
            jwt_typ: None,
            jwks_file: None,
            jwks_url: None,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_scopes: "profile".to_owned(),
            oidc_agency_claim: "agency".to_owned(),
            oidc_roles_claim: "roles".to_owned(),
            public_url: None,
            log: "info".to_owned(),
            log_format: LogFormat::Pretty,
            db_pool_size: 8,
            read_concurrency: 0,
            anomaly_distinct_cases: 30,
            session_idle_minutes: 30,
            session_max_hours: 10,
            retention_years: 5,
            rate_limit_per_second: 30,
            rate_limit_burst: 300,
            auth_failures_per_minute: 60,
            auth_failures_burst: 300,
            trusted_proxies: Vec::new(),
            request_timeout_secs: 10,
            keep_alive_secs: 30,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_file_is_escaped_into_the_url() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("db_password");
        let password = "p@ss:w/rd?#%&=+ ö";
        std::fs::write(&file, format!("{password}\n")).expect("write");
        let mut config = Config::defaults();
        config.database_url = "postgres://sig@db:5432/sig_register".to_owned();
        config.database_password_file = Some(file.clone());
        let Ok(DatabaseUrl::Postgres(url)) = config.database() else {
            panic!("a PostgreSQL URL");
        };
        let parsed = url::Url::parse(&url).expect("a URL");
        assert_eq!((parsed.host_str(), parsed.port()), (Some("db"), Some(5432)));
        assert_eq!(parsed.path(), "/sig_register");
        assert_eq!(parsed.username(), "sig");
        let decoded = percent_decode(parsed.password().unwrap_or_default());
        assert_eq!(decoded, password);

        std::fs::write(&file, "\n").expect("write");
        let empty = config.database().err().map(|e| e.to_string());
        assert!(empty.is_some_and(|e| e.contains("is empty")));
        config.database_password_file = Some(dir.path().join("missing"));
        let missing = config.database().err().map(|e| e.to_string());
        assert!(missing.is_some_and(|e| e.starts_with("SIG_DATABASE_PASSWORD_FILE: cannot read")));
        config.database_url = "sqlite://x.db".to_owned();
        assert!(config.database().is_err());
    }

    fn percent_decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' && i + 2 < bytes.len() {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                if let Ok(value) = u8::from_str_radix(hex, 16) {
                    out.push(value);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
