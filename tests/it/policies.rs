//! The Cedar policy set: loaded from `policies/` exactly as the server loads it, decided by an
//! ALLOW/DENY table, and refused at load time with a message naming file and line.

use std::collections::BTreeSet;
use std::path::Path;

use sig_register::auth::{Actor, Role};
use sig_register::authz::{AgencyFacts, PolicyEngine, Question, Resource};

use crate::support::policies_dir;

fn actor(roles: &[Role], agency: &str) -> Actor {
    Actor {
        sub: "u-1".to_owned(),
        name: "Test".to_owned(),
        agency: agency.to_owned(),
        roles: roles.iter().copied().collect::<BTreeSet<_>>(),
    }
}

fn facts(slug: &str, kind: &str) -> AgencyFacts {
    AgencyFacts {
        slug: slug.to_owned(),
        kind: kind.to_owned(),
    }
}

/// (roles, agency kind, action, expected) — every role, alone and combined.
const AGENCY_TABLE: &[(&[Role], &str, &str, bool)] = &[
    (&[Role::Admin], "social_services", "agency.create", true),
    (&[Role::Admin], "police", "agency.create", true),
    (
        &[Role::Admin, Role::Auditor],
        "social_services",
        "agency.create",
        true,
    ),
    (
        &[Role::SocialSecretary],
        "social_services",
        "agency.create",
        false,
    ),
    (&[Role::PoliceOfficer], "police", "agency.create", false),
    (&[Role::Partner], "partner", "agency.create", false),
    (&[Role::Auditor], "social_services", "agency.create", false),
    (
        &[Role::SocialSecretary, Role::Auditor, Role::Partner],
        "school",
        "agency.create",
        false,
    ),
];

#[test]
fn the_project_policy_set_loads_and_decides_the_agency_table() {
    let engine = PolicyEngine::load(&policies_dir()).expect("policies/ loads");
    assert!(engine.policy_count() >= 1);
    for (roles, kind, action, expected) in AGENCY_TABLE {
        let decision = engine.decide(
            &actor(roles, "some-agency"),
            &facts("some-agency", kind),
            action,
            &Resource::Registry,
        );
        assert_eq!(
            decision.allowed, *expected,
            "{roles:?} at a {kind} agency: {action}"
        );
        assert!(!decision.evaluation_error);
        if *expected {
            assert_eq!(
                decision.policy_ids,
                ["admin-registers-agencies"],
                "audit reasons name policies by @id"
            );
        } else {
            assert_eq!(decision.reason(), "default_deny");
        }
    }
}

/// A copy of the project's policies with `extra` added as `extra.cedar` (and optionally a
/// replaced schema).
fn policy_dir_with(extra: &str, schema: Option<&str>) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for entry in std::fs::read_dir(policies_dir()).expect("policies/") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
    }
    std::fs::write(dir.path().join("extra.cedar"), extra).expect("write");
    if let Some(schema) = schema {
        std::fs::write(dir.path().join("schema.cedarschema"), schema).expect("write");
    }
    dir
}

fn load_error(dir: &Path) -> String {
    PolicyEngine::load(dir)
        .expect_err("the policy set must be refused")
        .to_string()
}

#[test]
fn a_policy_that_does_not_parse_is_refused_with_file_and_line() {
    let dir = policy_dir_with(
        "// first line\n\n@id(\"broken\")\npermit(principal, action, resource\n",
        None,
    );
    let message = load_error(dir.path());
    assert!(message.contains("extra.cedar:"), "{message}");
    let line: usize = message
        .split("extra.cedar:")
        .nth(1)
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .expect("a line number");
    assert!(
        (3..=5).contains(&line),
        "points at the broken policy: {message}"
    );
}

#[test]
fn a_policy_that_fails_strict_validation_is_refused_with_file_and_line() {
    let policy = "\n\n@id(\"typo\")\npermit(principal, action == Sig::Action::\"agency.create\", resource)\nwhen { principal.agancy.kind == \"police\" };\n";
    let message = load_error(policy_dir_with(policy, None).path());
    assert!(message.contains("extra.cedar:"), "{message}");
    assert!(message.contains("typo"), "names the policy: {message}");
    let unknown_action = "@id(\"unknown-action\")\npermit(principal, action == Sig::Action::\"case.burn\", resource);\n";
    assert!(load_error(policy_dir_with(unknown_action, None).path()).contains("extra.cedar"));
}

#[test]
fn policies_need_a_unique_id() {
    let message = load_error(
        policy_dir_with(
            "permit(principal, action == Sig::Action::\"agency.create\", resource);\n",
            None,
        )
        .path(),
    );
    assert!(
        message.contains("extra.cedar") && message.contains("@id"),
        "{message}"
    );
    let duplicate = "@id(\"admin-registers-agencies\")\nforbid(principal, action == Sig::Action::\"agency.create\", resource);\n";
    assert!(
        load_error(policy_dir_with(duplicate, None).path()).contains("admin-registers-agencies")
    );
}

#[test]
fn a_broken_schema_is_refused_with_file_and_line() {
    let message = load_error(
        policy_dir_with(
            "",
            Some("namespace Sig {\n  entity Role;\n  entity User in [Rol];\n}\n"),
        )
        .path(),
    );
    assert!(message.contains("schema.cedarschema"), "{message}");
}

#[test]
fn an_evaluation_error_is_a_denial() {
    // Overflow is a run-time error that strict validation cannot see. Cedar skips the erroring
    // forbid and would allow; the engine must deny.
    let forbid = "@id(\"overflowing-forbid\")\nforbid(principal, action == Sig::Action::\"agency.create\", resource)\nwhen { 9223372036854775807 + 1 > 0 };\n";
    let dir = policy_dir_with(forbid, None);
    let engine = PolicyEngine::load(dir.path()).expect("it validates");
    let decision = engine.decide(
        &actor(&[Role::Admin], "a"),
        &facts("a", "social_services"),
        "agency.create",
        &Resource::Registry,
    );
    assert!(!decision.allowed, "an erroring forbid must still deny");
    assert!(decision.evaluation_error);
    assert_eq!(decision.reason(), "policy_evaluation_error");

    let permit = "@id(\"overflowing-permit\")\npermit(principal, action == Sig::Action::\"agency.create\", resource)\nwhen { 9223372036854775807 + 1 > 0 };\n";
    let dir = policy_dir_with(permit, None);
    let engine = PolicyEngine::load(dir.path()).expect("it validates");
    let decision = engine.decide(
        &actor(&[Role::Auditor], "a"),
        &facts("a", "police"),
        "agency.create",
        &Resource::Registry,
    );
    assert!(!decision.allowed && decision.evaluation_error);
}

#[test]
fn an_empty_or_missing_policy_directory_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(PolicyEngine::load(dir.path()).is_err());
    std::fs::copy(
        policies_dir().join("schema.cedarschema"),
        dir.path().join("schema.cedarschema"),
    )
    .expect("copy");
    assert!(load_error(dir.path()).contains("no *.cedar"));
    assert!(PolicyEngine::load(&dir.path().join("missing")).is_err());
}

/// API.md §7 in plain words, the oracle for the table below.
fn oracle(
    role: Role,
    owner: bool,
    listed: bool,
    active: bool,
    action: &str,
    category: &str,
    own: bool,
) -> bool {
    const CONSENTED: [&str; 3] = ["identity", "plan", "police_notes"];
    let covers_agency = active && listed;
    let covers_category = covers_agency && CONSENTED.contains(&category);
    match role {
        Role::Auditor => matches!(action, "access.read" | "access_log.read"),
        Role::Admin => false,
        Role::SocialSecretary if owner => true,
        Role::SocialSecretary | Role::PoliceOfficer | Role::Partner => match action {
            "case.read" => covers_category,
            "note.read" => covers_agency && (CONSENTED.contains(&category) || own),
            "note.create" => covers_agency,
            // `own` here: the measure belongs to the caller's agency.
            "plan.measure.update" => covers_agency && CONSENTED.contains(&"plan") && own,
            _ => false,
        },
    }
}

#[test]
fn every_role_consent_state_category_and_action_is_decided_as_the_contract_says() {
    use sig_register::authz::{CaseFacts, Context};
    let engine = PolicyEngine::load(&policies_dir()).expect("policies/ loads");
    // The caller's agency: (slug, kind, listed in the consent).
    let callers = [
        ("socialtjanst-orebro", "social_services", false),
        ("polisen-orebro", "police", true),
        ("skola-orebro", "school", false),
        ("socialtjanst-karlskoga", "social_services", true),
    ];
    let states = [
        "none",
        "active",
        "scheduled",
        "refused",
        "expired",
        "revoked",
        "superseded",
    ];
    let categories = [
        "identity",
        "plan",
        "social_notes",
        "police_notes",
        "school_notes",
        "partner_notes",
        "referral",
        "protected_contact",
    ];
    let simple_actions = [
        "note.create",
        "case.update",
        "consent.create",
        "consent.list",
        "consent.revoke",
        "access.read",
        "access_log.read",
        "plan.update",
        "plan.agree",
        "plan.follow_up.create",
    ];
    let mut rows = 0;
    let mut allowed = 0;
    for role in Role::ALL {
        for (slug, kind, listed) in callers {
            for state in states {
                let active = state == "active";
                // The consent's agencies and categories are given even when it is not active:
                // only `consent_active` may stand between them and a disclosure.
                let case = Resource::Case(CaseFacts {
                    id: "case-1".to_owned(),
                    owner_agency: "socialtjanst-orebro".to_owned(),
                    status: "active".to_owned(),
                    consent_active: active,
                    consent_agencies: if state == "none" {
                        vec![]
                    } else {
                        vec![
                            "polisen-orebro".to_owned(),
                            "socialtjanst-karlskoga".to_owned(),
                        ]
                    },
                    consent_categories: if state == "none" {
                        vec![]
                    } else {
                        vec![
                            "identity".to_owned(),
                            "plan".to_owned(),
                            "police_notes".to_owned(),
                        ]
                    },
                });
                let user = actor(&[role], slug);
                let agency = facts(slug, kind);
                let owner = slug == "socialtjanst-orebro";
                let mut check = |action: &str, context: Context, category: &str, own: bool| {
                    let question = Question {
                        actor: &user,
                        agency: &agency,
                        action,
                        resource: &case,
                        context: &context,
                    };
                    let decision = engine.decide_in(question);
                    // The memoised answer, asked again, and Cedar's own evaluation agree.
                    assert_eq!(engine.decide_in(question), decision);
                    assert_eq!(engine.evaluate(question), decision);
                    let expected = oracle(role, owner, listed, active, action, category, own);
                    assert!(
                        !decision.evaluation_error,
                        "{role:?}@{slug} {state} {action} {category}"
                    );
                    assert_eq!(
                        decision.allowed, expected,
                        "{role:?} at {slug}, consent {state}: {action} {category} (own notes: {own})"
                    );
                    rows += 1;
                    allowed += usize::from(expected);
                };
                for category in categories {
                    check("case.read", Context::category(category), category, false);
                }
                for category in &categories[..6] {
                    for own in [false, true] {
                        let context = Context {
                            category: Some(category.to_string()),
                            own_agency: Some(own),
                            ..Context::default()
                        };
                        check("note.read", context, category, own);
                    }
                }
                for action in simple_actions {
                    check(action, Context::default(), "", false);
                }
                for (measure_agency, own) in [(slug, true), ("arbetsmarknad-orebro", false)] {
                    let context = Context {
                        measure_agency: Some(measure_agency.to_owned()),
                        ..Context::default()
                    };
                    check("plan.measure.update", context, "", own);
                }
            }
        }
    }
    assert_eq!(rows, 5 * 4 * 7 * (8 + 12 + 10 + 2));
    assert!(
        allowed > 200 && allowed < rows / 2,
        "{allowed} of {rows} rows allow"
    );
    eprintln!(
        "policy table: {rows} rows, {allowed} ALLOW, {} DENY",
        rows - allowed
    );
}

/// The question `who` (a user and their agency) asks about `case`.
fn question<'a>(
    who: &'a (Actor, AgencyFacts),
    action: &'a str,
    case: &'a Resource,
    context: &'a sig_register::authz::Context,
) -> Question<'a> {
    Question {
        actor: &who.0,
        agency: &who.1,
        action,
        resource: case,
        context,
    }
}

#[test]
fn a_denial_is_consent_required_only_where_a_consent_could_help() {
    use sig_register::authz::{CaseFacts, Context};
    let engine = PolicyEngine::load(&policies_dir()).expect("policies/ loads");
    let case = Resource::Case(CaseFacts {
        id: "case-1".to_owned(),
        owner_agency: "socialtjanst-orebro".to_owned(),
        status: "open".to_owned(),
        consent_active: false,
        consent_agencies: vec![],
        consent_categories: vec![],
    });
    let read = Context::category("identity");
    let police = (
        actor(&[Role::PoliceOfficer], "polisen-orebro"),
        facts("polisen-orebro", "police"),
    );
    assert!(
        !engine
            .decide_in(question(&police, "case.read", &case, &read))
            .allowed
    );
    assert!(
        engine.consent_would_allow(question(&police, "case.read", &case, &read)),
        "consent_required"
    );
    let no_context = Context::default();
    assert!(
        !engine.consent_would_allow(question(&police, "consent.create", &case, &no_context)),
        "forbidden"
    );
    let auditor = (
        actor(&[Role::Auditor], "socialtjanst-orebro"),
        facts("socialtjanst-orebro", "social_services"),
    );
    assert!(
        !engine.consent_would_allow(question(&auditor, "case.read", &case, &read)),
        "forbidden"
    );
    let referral = Context::category("referral");
    assert!(
        !engine.consent_would_allow(question(&police, "case.read", &case, &referral)),
        "no consent covers the referral"
    );
}
