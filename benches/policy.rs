//! The cost of one policy decision (a police officer reading one category of a consented
//! case): entity slice built, request validated against the schema, policy set evaluated.
//!
//! ```text
//! cargo bench --bench policy
//! ```

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use sig_register::auth::{Actor, Role};
use sig_register::authz::{AgencyFacts, CaseFacts, Context, PolicyEngine, Resource};

const ROUNDS: usize = 2_000;
const PER_ROUND: usize = 50;

fn main() {
    let engine =
        PolicyEngine::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("policies")).unwrap();
    let actor = Actor {
        sub: "po-1".to_owned(),
        name: "Per".to_owned(),
        agency: "polisen-orebro".to_owned(),
        roles: [Role::PoliceOfficer].into_iter().collect::<BTreeSet<_>>(),
    };
    let agency = AgencyFacts {
        slug: "polisen-orebro".to_owned(),
        kind: "police".to_owned(),
    };
    let case = Resource::Case(CaseFacts {
        id: "0192f0c4-0000-7000-8000-000000000001".to_owned(),
        owner_agency: "socialtjanst-orebro".to_owned(),
        status: "active".to_owned(),
        consent_active: true,
        consent_agencies: vec!["polisen-orebro".to_owned(), "skola-orebro".to_owned()],
        consent_categories: vec!["identity".to_owned(), "plan".to_owned()],
    });
    let context = Context::category("identity");
    for _ in 0..1_000 {
        assert!(
            engine
                .decide_in(&actor, &agency, "case.read", &case, &context)
                .allowed
        );
    }
    let mut per_decision = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..PER_ROUND {
            std::hint::black_box(engine.decide_in(&actor, &agency, "case.read", &case, &context));
        }
        per_decision.push(started.elapsed().as_secs_f64() * 1e6 / PER_ROUND as f64);
    }
    per_decision.sort_by(f64::total_cmp);
    let at = |p: f64| per_decision[((per_decision.len() - 1) as f64 * p) as usize];
    println!(
        "one policy decision (case.read, police, consented category): median {:.1} µs, p99 {:.1} µs ({} policies)",
        at(0.5),
        at(0.99),
        engine.policy_count()
    );
}
