//! What every integration test shares: a [`TestApp`] over the real actix stack with a real
//! SQLite file or a real PostgreSQL database, and real tokens signed with real keys.

#![allow(dead_code)]

pub mod fixtures;
pub mod http;
pub mod pg;
pub mod ports;
pub mod tokens;

use std::path::PathBuf;
use std::sync::Arc;

use actix_web::http::header::HeaderMap;
use actix_web::http::StatusCode;
use actix_web::test::{self, TestRequest};
use actix_web::web;
use serde_json::Value;

use sig_register::auth::Role;
use sig_register::clock::{Clock, FixedClock, SystemClock};
use sig_register::config::Config;
use sig_register::state::AppState;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates one `#[actix_web::test]` per backend for each `async fn name(backend: Backend)`.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $( #[actix_web::test] async fn $name() { super::$name($crate::support::Backend::Sqlite).await } )*
        }
        mod postgres {
            $( #[actix_web::test] async fn $name() { super::$name($crate::support::Backend::Postgres).await } )*
        }
    };
}

pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn policies_dir() -> PathBuf {
    project_dir().join("policies")
}

/// A fresh database URL for `backend`; `None` when PostgreSQL is unavailable on this machine
/// (never in CI, where that fails the run).
pub fn fresh_database_url(backend: Backend, dir: &std::path::Path) -> Option<String> {
    match backend {
        Backend::Sqlite => Some(format!(
            "sqlite://{}",
            dir.join("sig-register.db").display()
        )),
        Backend::Postgres => pg::fresh_database(),
    }
}

/// One service instance: its own temporary data directory and database.
pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub backend: Backend,
    pub config: Config,
    pub clock: Arc<FixedClock>,
    pub data: web::Data<AppState>,
}

impl TestApp {
    pub fn new(backend: Backend) -> Option<Self> {
        Self::with_config(backend, |_| {})
    }

    pub fn with_config(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<Self> {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let mut config = Config::defaults();
        config.database_url = fresh_database_url(backend, dir.path())?;
        config.data_dir = dir.path().join("data");
        config.policies_dir = policies_dir();
        config.db_pool_size = 4;
        tweak(&mut config);
        let clock = Arc::new(FixedClock::new(SystemClock.now()));
        let state = AppState::build(config.clone(), clock.clone()).expect("the service starts");
        Some(Self {
            dir,
            backend,
            config,
            clock,
            data: web::Data::new(state),
        })
    }

    pub fn state(&self) -> &AppState {
        self.data.get_ref()
    }

    /// A development token minted by the service's own issuer.
    pub fn token(&self, sub: &str, agency: &str, roles: &[Role]) -> String {
        self.state()
            .auth
            .mint_dev(
                sub,
                &format!("Test {sub}"),
                agency,
                roles,
                self.clock.now(),
                3600,
            )
            .expect("mint a token")
    }

    pub fn admin(&self) -> String {
        self.token("adm-1", "socialtjanst-orebro", &[Role::Admin])
    }

    pub async fn call(&self, request: TestRequest) -> Resp {
        let service = test::init_service(sig_register::build_app(self.data.clone())).await;
        let response = test::call_service(&service, request.to_request()).await;
        let status = response.status();
        let headers = response.headers().clone();
        let body = test::read_body(response).await.to_vec();
        Resp {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.call(with_token(TestRequest::get().uri(path), token))
            .await
    }

    pub async fn post_json(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.call(with_token(
            TestRequest::post().uri(path).set_json(body),
            token,
        ))
        .await
    }
}

pub fn with_token(request: TestRequest, token: Option<&str>) -> TestRequest {
    match token {
        Some(token) => request.insert_header(("Authorization", format!("Bearer {token}"))),
        None => request,
    }
}

/// A response, read whole.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts an RFC 9457 problem with the contract's fields, this status and this `code`.
    pub fn assert_problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "status; body: {}",
            self.text()
        );
        assert!(
            self.header("content-type")
                .unwrap_or_default()
                .starts_with("application/problem+json"),
            "content type of a {status}: {:?}",
            self.header("content-type")
        );
        let body = self.json();
        assert_eq!(body["code"], code, "code; body: {body}");
        assert_eq!(body["status"], status, "status field; body: {body}");
        for field in ["type", "title", "detail"] {
            assert!(body[field].is_string(), "problem lacks `{field}`: {body}");
        }
        for marker in [
            "panicked",
            "diesel",
            "SELECT ",
            "INSERT ",
            "sqlite",
            "postgres",
            "/tmp/",
            "backtrace",
        ] {
            assert!(
                !self.text().contains(marker),
                "problem body leaks {marker:?}: {}",
                self.text()
            );
        }
        body
    }

    pub fn error_fields(&self) -> Vec<String> {
        self.json()["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| e["field"].as_str().unwrap_or("").to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}
