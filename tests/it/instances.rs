//! The per-user rate limit holds for the service as a whole: two `serve` processes on one
//! PostgreSQL find each other (their own connection, named in `pg_stat_activity`) and each keep
//! half of it; when one stops, the other takes the whole limit again.

use std::time::{Duration, Instant};

use crate::cli::{base_env, mint_as};
use crate::support::http::{get, Server};
use crate::support::pg;

fn instances(port: u16) -> Option<u64> {
    let (status, body) = get(port, "/readyz", None)?;
    (status == 200)
        .then(|| serde_json::from_str::<serde_json::Value>(&body).ok())
        .flatten()?["instances"]
        .as_u64()
}

fn wait_for(port: u16, expected: u64) -> bool {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) {
        if instances(port) == Some(expected) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn two_instances_enforce_one_users_limit_together() {
    let Some(url) = pg::fresh_database() else {
        return;
    };
    let root = tempfile::tempdir().expect("tempdir");
    let mut env = base_env(root.path(), url);
    env.push(("SIG_RATE_LIMIT_BURST", "10".to_owned()));
    env.push(("SIG_RATE_LIMIT_PER_SECOND", "1".to_owned()));
    let (mut a, port_a) = Server::spawn(root.path(), &env);
    assert!(a.wait_ready(Duration::from_secs(30)), "{}", a.stop());
    assert!(wait_for(port_a, 1), "one instance counts itself");
    let (mut b, port_b) = Server::spawn(root.path(), &env);
    assert!(b.wait_ready(Duration::from_secs(30)), "{}", b.stop());
    assert!(wait_for(port_a, 2) && wait_for(port_b, 2), "each sees both");

    let token = mint_as(
        root.path(),
        &env,
        "po-1",
        "polisen-orebro",
        "police_officer",
    );
    let mut allowed = [0, 0];
    let started = Instant::now();
    for (i, port) in [port_a, port_b].into_iter().enumerate() {
        for _ in 0..10 {
            let (status, _) = get(port, "/api/v1/areas", Some(&token)).expect("an answer");
            assert!(status == 200 || status == 429, "{status}");
            allowed[i] += usize::from(status == 200);
        }
    }
    // Half the burst each, plus what half the rate refilled meanwhile.
    let refill = started.elapsed().as_secs() as usize / 2 + 1;
    assert!(
        allowed.iter().all(|n| (5..=5 + refill).contains(n)),
        "{allowed:?} in {:?}",
        started.elapsed()
    );
    assert!(
        allowed.iter().sum::<usize>() <= 10 + 2 * refill,
        "{allowed:?}"
    );

    b.stop();
    assert!(wait_for(port_a, 1), "the stopped instance drops out");
    let token = mint_as(
        root.path(),
        &env,
        "po-2",
        "polisen-orebro",
        "police_officer",
    );
    let alone = (0..10)
        .filter(|_| get(port_a, "/api/v1/areas", Some(&token)).map(|r| r.0) == Some(200))
        .count();
    assert_eq!(alone, 10, "the whole burst again");
    a.stop();
}
