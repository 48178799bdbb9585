//! Authorisation: the Cedar policy set in `policies/` is the single place the access rules live.
//!
//! Loading is strict: the schema and every `*.cedar` file must parse, every policy needs a
//! unique `@id("…")` (audit events name policies by it), and the set must pass strict
//! validation against the schema. Any failure names the file and line and stops the start.
//! At decision time an evaluation error counts as a denial: Cedar skips a policy whose
//! evaluation errors, so a failing `forbid` would otherwise silently disappear.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use cedar_policy::{
    ActionConstraint, Authorizer, Context as CedarContext, Decision as CedarDecision, Entities,
    Entity, EntityId, EntityTypeName, EntityUid, Policy, PolicyId, PolicySet, PrincipalConstraint,
    Request, RestrictedExpression, Schema, ValidationMode, Validator,
};
use miette::Diagnostic;

use crate::auth::{Actor, Role};

pub const SCHEMA_FILE: &str = "schema.cedarschema";

#[derive(Debug, thiserror::Error)]
pub enum PolicyLoadError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

pub use crate::domain::agency::AgencyFacts;

/// What a decision needs to know about a case, computed per request from the database (never
/// cached): the owner, the status, and whether its current consent is active now and whom and
/// what it covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CaseFacts {
    pub id: String,
    pub owner_agency: String,
    pub status: String,
    pub consent_active: bool,
    pub consent_agencies: Vec<String>,
    pub consent_categories: Vec<String>,
}

/// The resource of one decision.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Resource {
    /// The agency registry.
    Registry,
    /// The case register (create and list).
    Cases,
    /// The audit log.
    AuditLog,
    /// One case.
    Case(CaseFacts),
}

/// The request context of `case.read` (`category`), `note.read` (`category`, `own_agency`) and
/// `plan.measure.update` (`measure_agency`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Context {
    pub category: Option<String>,
    pub own_agency: Option<bool>,
    pub measure_agency: Option<String>,
}

impl Context {
    pub fn category(category: &str) -> Self {
        Self {
            category: Some(category.to_owned()),
            ..Self::default()
        }
    }
}

/// One question to the policy set: may `actor`, of `agency`, do `action` to `resource` in
/// `context`?
#[derive(Clone, Copy, Debug)]
pub struct Question<'a> {
    pub actor: &'a Actor,
    pub agency: &'a AgencyFacts,
    pub action: &'a str,
    pub resource: &'a Resource,
    pub context: &'a Context,
}

/// One decision: allowed or not, and the ids of the policies that decided it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// `@id`s of the determining policies (for a denial without any, empty: default deny).
    pub policy_ids: Vec<String>,
    /// True when a policy failed to evaluate; the decision is then a denial.
    pub evaluation_error: bool,
}

impl Decision {
    /// The reason recorded in the audit log: the deciding policies, or why it was denied.
    pub fn reason(&self) -> String {
        if self.evaluation_error {
            "policy_evaluation_error".to_owned()
        } else if self.policy_ids.is_empty() {
            "default_deny".to_owned()
        } else {
            self.policy_ids.join(",")
        }
    }
}

/// The loaded, validated policy set.
pub struct PolicyEngine {
    types: TypeNames,
    policies: PolicySet,
    /// Per action, only the policies whose action scope can match it: the same decisions
    /// (the schema has no action groups, see [`slice_by_action`]) at a third of the cost.
    by_action: HashMap<String, Slice>,
    decisions: DecisionCache,
    authorizer: Authorizer,
    files: Vec<PathBuf>,
}

impl std::fmt::Debug for PolicyEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyEngine")
            .field("files", &self.files)
            .field("policies", &self.policies.policies().count())
            .finish()
    }
}

fn read(path: &Path) -> Result<String, PolicyLoadError> {
    std::fs::read_to_string(path).map_err(|source| PolicyLoadError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// `file:line:column` of a byte offset.
fn location(file: &Path, text: &str, offset: usize) -> String {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    format!("{}:{line}:{column}", file.display())
}

/// One message per diagnostic, each starting with the place it points at.
fn describe(file: &Path, text: &str, diagnostic: &dyn Diagnostic, message: String) -> String {
    let offset = diagnostic
        .labels()
        .and_then(|mut labels| labels.next())
        .map(|label| label.offset());
    let place = match offset {
        Some(offset) => location(file, text, offset),
        None => file.display().to_string(),
    };
    let help = diagnostic
        .help()
        .map(|h| format!(" ({h})"))
        .unwrap_or_default();
    format!("{place}: {message}{help}")
}

impl PolicyEngine {
    /// Loads `dir/schema.cedarschema` and every `dir/*.cedar`, strictly.
    pub fn load(dir: &Path) -> Result<Self, PolicyLoadError> {
        if !dir.is_dir() {
            return Err(PolicyLoadError::Invalid(format!(
                "there is no folder {} (SIG_POLICIES_DIR): point it at the folder that holds \
                 {SCHEMA_FILE} and the *.cedar files (`policies/` of the project)",
                dir.display()
            )));
        }
        let schema_path = dir.join(SCHEMA_FILE);
        let schema_text = read(&schema_path)?;
        let schema = Schema::from_cedarschema_str(&schema_text)
            .map(|(schema, _warnings)| schema)
            .map_err(|e| {
                PolicyLoadError::Invalid(describe(&schema_path, &schema_text, &e, e.to_string()))
            })?;

        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|source| PolicyLoadError::Read {
                path: dir.display().to_string(),
                source,
            })?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "cedar"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(PolicyLoadError::Invalid(format!(
                "{}: no *.cedar policy files",
                dir.display()
            )));
        }

        let mut policies = PolicySet::new();
        // Where each policy came from, to point validation errors at file and line.
        let mut origin: HashMap<String, (PathBuf, String)> = HashMap::new();
        for file in &files {
            let text = read(file)?;
            let parsed = PolicySet::from_str(&text)
                .map_err(|e| PolicyLoadError::Invalid(describe(file, &text, &e, e.to_string())))?;
            if parsed.templates().next().is_some() {
                return Err(PolicyLoadError::Invalid(format!(
                    "{}: templates are not used by sig-register",
                    file.display()
                )));
            }
            for policy in parsed.policies() {
                let place = place_of(file, &text, policy);
                let id = policy.annotation("id").ok_or_else(|| {
                    PolicyLoadError::Invalid(format!(
                        "{place}: the policy has no @id(\"…\") annotation"
                    ))
                })?;
                if origin.contains_key(id) {
                    return Err(PolicyLoadError::Invalid(format!(
                        "{place}: @id(\"{id}\") is used by another policy too"
                    )));
                }
                let renamed: Policy = policy.new_id(PolicyId::new(id));
                policies
                    .add(renamed)
                    .map_err(|e| PolicyLoadError::Invalid(format!("{place}: {e}")))?;
                origin.insert(id.to_owned(), (file.clone(), text.clone()));
            }
        }

        let validator = Validator::new(schema.clone());
        let result = validator.validate(&policies, ValidationMode::Strict);
        if !result.validation_passed() {
            let messages: Vec<String> = result
                .validation_errors()
                .map(|error| {
                    let id = error.policy_id().to_string();
                    match origin.get(&id) {
                        Some((file, text)) => {
                            describe(file, text, error, format!("policy {id}: {error}"))
                        }
                        None => format!("policy {id}: {error}"),
                    }
                })
                .collect();
            return Err(PolicyLoadError::Invalid(messages.join("\n")));
        }

        let by_action = slice_by_action(&schema, &policies)?;
        Ok(Self {
            types: TypeNames::parse()?,
            by_action,
            decisions: DecisionCache::default(),
            policies,
            authorizer: Authorizer::new(),
            files,
        })
    }

    pub fn policy_count(&self) -> usize {
        self.policies.policies().count()
    }

    /// Decides whether `actor` (of `agency`) may do `action` to `resource`.
    pub fn decide(
        &self,
        actor: &Actor,
        agency: &AgencyFacts,
        action: &str,
        resource: &Resource,
    ) -> Decision {
        self.decide_in(Question {
            actor,
            agency,
            action,
            resource,
            context: &Context::default(),
        })
    }

    /// Whether any member of `agency` who reads cases (its social secretaries, police officers
    /// or partners, by the agency's kind) would be allowed `action` on `resource` in `context`:
    /// the access explanation's question, asked of the same policy set as every request.
    pub fn agency_member_allowed(
        &self,
        agency: &AgencyFacts,
        action: &str,
        resource: &Resource,
        context: &Context,
    ) -> bool {
        let role = match agency.kind.as_str() {
            "social_services" => Role::SocialSecretary,
            "police" => Role::PoliceOfficer,
            _ => Role::Partner,
        };
        let member = Actor {
            sub: format!("any-member-of:{}", agency.slug),
            name: String::new(),
            agency: agency.slug.clone(),
            roles: [role].into_iter().collect(),
        };
        self.decide_in(Question {
            actor: &member,
            agency,
            action,
            resource,
            context,
        })
        .allowed
    }

    /// As [`Self::decide`], with a request context.
    pub fn decide_in(&self, question: Question<'_>) -> Decision {
        let key = DecisionKey {
            sub: question.actor.sub.clone(),
            roles: question.actor.roles.iter().copied().collect(),
            agency: question.agency.clone(),
            action: question.action.to_owned(),
            resource: question.resource.clone(),
            context: question.context.clone(),
        };
        if let Some(decision) = self.decisions.get(&key) {
            return decision;
        }
        let decision = self.evaluate(question);
        if !decision.evaluation_error {
            self.decisions.put(key, &decision);
        }
        decision
    }

    /// As [`Self::decide_in`], always evaluated by Cedar (no memo): for benchmarks and tests.
    pub fn evaluate(&self, question: Question<'_>) -> Decision {
        match self.try_decide(question) {
            Ok(decision) => decision,
            Err(error) => {
                tracing::error!(%error, action = question.action, "policy request could not be built; denying");
                Decision {
                    allowed: false,
                    policy_ids: Vec::new(),
                    evaluation_error: true,
                }
            }
        }
    }

    /// Whether an active consent covering the caller's agency (and every category) would allow
    /// what was just denied: the difference between `consent_required` and `forbidden`, asked of
    /// the same policy set rather than a second copy of the rules.
    pub fn consent_would_allow(&self, question: Question<'_>) -> bool {
        let Resource::Case(facts) = question.resource else {
            return false;
        };
        let hypothetical = Resource::Case(CaseFacts {
            consent_active: true,
            consent_agencies: vec![question.agency.slug.clone()],
            consent_categories: crate::domain::consent::CATEGORIES
                .iter()
                .map(|c| c.to_string())
                .collect(),
            ..facts.clone()
        });
        self.decide_in(Question {
            resource: &hypothetical,
            ..question
        })
        .allowed
    }

    fn try_decide(&self, question: Question<'_>) -> Result<Decision, String> {
        let Question {
            actor,
            agency,
            action,
            resource,
            context,
        } = question;
        let t = &self.types;
        let agency_uid = uid(&t.agency, &agency.slug);
        let user_uid = uid(&t.user, &actor.sub);
        let slice = self.by_action.get(action);
        // For a caller with one role, the slice with its role tests resolved (see `for_role`).
        let role_slice = match (slice, actor.roles.len()) {
            (Some(slice), 1) => actor.roles.first().and_then(|role| slice.by_role.get(role)),
            _ => None,
        };
        let policies = match (role_slice, slice) {
            (Some(role_slice), _) => &role_slice.policies,
            (None, Some(slice)) => &slice.policies,
            (None, None) => &self.policies,
        };
        // Roles are the user's parents, where a policy still tests them. They need no entities
        // of their own: `principal in Sig::Role::"…"` reads the user's ancestors, and no policy
        // reads a role's attributes.
        let role_uids: HashSet<EntityUid> = if role_slice.is_some_and(|s| !s.asks_roles) {
            HashSet::new()
        } else {
            actor
                .roles
                .iter()
                .map(|role| uid(&t.role, role.as_str()))
                .collect()
        };
        let mut entities = Vec::with_capacity(3);
        // The agency's own entity (its `kind`) only where a policy of the action reads an
        // attribute through another one (`principal.agency.kind`); elsewhere agencies are only
        // compared, which needs their ids alone.
        if slice.is_none_or(|slice| slice.reads_through_attributes) {
            entities.push(
                Entity::new(
                    agency_uid.clone(),
                    HashMap::from([(
                        "kind".to_owned(),
                        RestrictedExpression::new_string(agency.kind.clone()),
                    )]),
                    HashSet::new(),
                )
                .map_err(|e| e.to_string())?,
            );
        }
        entities.push(
            Entity::new(
                user_uid.clone(),
                HashMap::from([(
                    "agency".to_owned(),
                    RestrictedExpression::new_entity_uid(agency_uid),
                )]),
                role_uids,
            )
            .map_err(|e| e.to_string())?,
        );
        let resource_uid = match resource {
            Resource::Registry => uid(&t.registry, "agencies"),
            Resource::Cases => uid(&t.registry, "cases"),
            Resource::AuditLog => uid(&t.audit_log, "main"),
            Resource::Case(facts) => uid(&t.case, &facts.id),
        };
        match resource {
            Resource::Case(facts) => {
                let agencies = |slugs: &[String]| -> RestrictedExpression {
                    RestrictedExpression::new_set(
                        slugs
                            .iter()
                            .map(|s| RestrictedExpression::new_entity_uid(uid(&t.agency, s))),
                    )
                };
                let attributes = HashMap::from([
                    (
                        "owner_agency".to_owned(),
                        RestrictedExpression::new_entity_uid(uid(&t.agency, &facts.owner_agency)),
                    ),
                    (
                        "status".to_owned(),
                        RestrictedExpression::new_string(facts.status.clone()),
                    ),
                    (
                        "consent_active".to_owned(),
                        RestrictedExpression::new_bool(facts.consent_active),
                    ),
                    (
                        "consent_agencies".to_owned(),
                        agencies(&facts.consent_agencies),
                    ),
                    (
                        "consent_categories".to_owned(),
                        RestrictedExpression::new_set(
                            facts
                                .consent_categories
                                .iter()
                                .map(|c| RestrictedExpression::new_string(c.clone())),
                        ),
                    ),
                ]);
                entities.push(
                    Entity::new(resource_uid.clone(), attributes, HashSet::new())
                        .map_err(|e| e.to_string())?,
                );
            }
            _ => entities.push(Entity::new_no_attrs(resource_uid.clone(), HashSet::new())),
        }
        let mut pairs = Vec::new();
        if let Some(category) = &context.category {
            pairs.push((
                "category".to_owned(),
                RestrictedExpression::new_string(category.clone()),
            ));
        }
        if let Some(own) = context.own_agency {
            pairs.push(("own_agency".to_owned(), RestrictedExpression::new_bool(own)));
        }
        if let Some(measure_agency) = &context.measure_agency {
            pairs.push((
                "measure_agency".to_owned(),
                RestrictedExpression::new_entity_uid(uid(&t.agency, measure_agency)),
            ));
        }
        let context = if pairs.is_empty() {
            CedarContext::empty()
        } else {
            CedarContext::from_pairs(pairs).map_err(|e| e.to_string())?
        };
        // Neither the entities nor the request are validated against the schema (that cost
        // half again as much as the decision): both are built right here from typed facts, the
        // policies were validated strictly at load, and a missing or mistyped attribute fails
        // evaluation, which denies (see `evaluation_error`). The policy table test pins every
        // decision.
        let entities = Entities::from_entities(entities, None).map_err(|e| e.to_string())?;
        let request = Request::new(
            user_uid,
            uid(&t.action, action),
            resource_uid,
            context,
            None,
        )
        .map_err(|e| e.to_string())?;
        let response = self.authorizer.is_authorized(&request, policies, &entities);
        let evaluation_error = response.diagnostics().errors().next().is_some();
        if evaluation_error {
            for error in response.diagnostics().errors() {
                tracing::error!(%error, action, "policy evaluation error; denying");
            }
        }
        // Cedar reports the deciding policies in no fixed order; the audit reason should not vary.
        let mut policy_ids: Vec<String> = response
            .diagnostics()
            .reason()
            .map(|id| AsRef::<str>::as_ref(id).to_owned())
            .collect();
        policy_ids.sort();
        Ok(Decision {
            allowed: response.decision() == CedarDecision::Allow && !evaluation_error,
            policy_ids,
            evaluation_error,
        })
    }
}

/// `file:line:column` of a policy, found by its source text.
fn place_of(file: &Path, text: &str, policy: &Policy) -> String {
    let source = policy.to_string();
    match text.find(source.trim()) {
        Some(offset) => location(file, text, offset),
        None => file.display().to_string(),
    }
}

/// Every input of one decision. Cedar's decision is a pure function of its request, entities
/// and the policy set, which is fixed for the life of the process and reads no clock; the
/// entities are built from exactly these fields. So equal keys get equal decisions, and a
/// change in any fact (a revoked consent, another role) is another key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct DecisionKey {
    sub: String,
    roles: Vec<crate::auth::Role>,
    agency: AgencyFacts,
    action: String,
    resource: Resource,
    context: Context,
}

/// Memoised decisions: a decision costs tens of microseconds in Cedar (entity store, transitive
/// closure, evaluation) and a case read asks one per category. Bounded: emptied when full.
#[derive(Debug, Default)]
struct DecisionCache(std::sync::Mutex<HashMap<DecisionKey, Decision>>);

const DECISION_CACHE_ENTRIES: usize = 16_384;

impl DecisionCache {
    fn get(&self, key: &DecisionKey) -> Option<Decision> {
        self.0.lock().ok()?.get(key).cloned()
    }

    fn put(&self, key: DecisionKey, decision: &Decision) {
        if let Ok(mut map) = self.0.lock() {
            if map.len() >= DECISION_CACHE_ENTRIES {
                map.clear();
            }
            map.insert(key, decision.clone());
        }
    }
}

/// Splits the policy set by action. A policy belongs to an action's slice when its action scope
/// is unconstrained, names the action, or lists it; with action groups in the schema an `in`
/// scope could match through a group, so such policies go into every slice.
///
/// Without groups, a listed policy's scope is narrowed in its slice to `action == <that action>`:
/// the same truth value for every request the slice is asked (only that action's), without
/// building the listed set as a Cedar value on every decision — a third of a decision's cost for
/// the thirteen-action guardrail.
fn slice_by_action(
    schema: &Schema,
    policies: &PolicySet,
) -> Result<HashMap<String, Slice>, PolicyLoadError> {
    let grouped = schema.action_groups().next().is_some();
    let role_type = TypeNames::parse()?.role;
    let mut slices = HashMap::new();
    for action in schema.actions() {
        let mut slice = PolicySet::new();
        let mut reads_through_attributes = false;
        for policy in policies.policies() {
            let member = match policy.action_constraint() {
                ActionConstraint::Any => Some(policy.clone()),
                ActionConstraint::Eq(named) => (&named == action).then(|| policy.clone()),
                ActionConstraint::In(_) if grouped => Some(policy.clone()),
                ActionConstraint::In(listed) => listed
                    .contains(action)
                    .then(|| narrowed(policy, action))
                    .transpose()?,
            };
            if let Some(member) = member {
                let json = member.to_json().map_err(|e| {
                    PolicyLoadError::Invalid(format!("policy {}: {e}", member.id()))
                })?;
                reads_through_attributes |= reads_through_attribute(&json);
                slice
                    .add(member)
                    .map_err(|e| PolicyLoadError::Invalid(e.to_string()))?;
            }
        }
        let by_role = Role::ALL
            .into_iter()
            .map(|role| Ok((role, for_role(&slice, role, &role_type)?)))
            .collect::<Result<_, PolicyLoadError>>()?;
        slices.insert(
            action.id().unescaped().to_owned(),
            Slice {
                policies: slice,
                by_role,
                reads_through_attributes,
            },
        );
    }
    Ok(slices)
}

/// The policies of one action.
struct Slice {
    policies: PolicySet,
    /// For a caller with exactly one role: without the policies scoped to another role
    /// (`principal in Sig::Role::"…"`), which cannot match them — a user is in exactly the
    /// roles of their token, and roles have no parents.
    by_role: HashMap<Role, RoleSlice>,
    /// Whether any of them reads an attribute of an entity reached through another attribute
    /// (`principal.agency.kind`), so that entity must be in the store.
    reads_through_attributes: bool,
}

/// The policies of `slice` that a caller holding `role` alone can match.
///
/// For such a caller `principal in Sig::Role::"…"` is known before any request: true for their
/// role, false for any other (a user is in exactly the roles of their token, and roles have no
/// parents). So a scope on their role becomes unconstrained and each such test in a condition
/// becomes its truth value; when nothing else asks about roles, the user is then built without
/// them, and Cedar has no hierarchy left to close over.
fn for_role(
    slice: &PolicySet,
    role: Role,
    role_type: &EntityTypeName,
) -> Result<RoleSlice, PolicyLoadError> {
    let invalid = |policy: &Policy, e: &dyn std::fmt::Display| {
        PolicyLoadError::Invalid(format!("policy {}: resolving role tests: {e}", policy.id()))
    };
    let role_type_name = role_type.to_string();
    let mut policies = PolicySet::new();
    let mut asks_roles = false;
    for policy in slice.policies() {
        let mut json = policy.to_json().map_err(|e| invalid(policy, &e))?;
        if let PrincipalConstraint::In(scope) = policy.principal_constraint() {
            if scope.type_name() == role_type {
                if scope.id().unescaped() != role.as_str() {
                    continue;
                }
                json["principal"] = serde_json::json!({ "op": "All" });
            }
        }
        resolve_role_tests(&mut json, &role_type_name, role.as_str());
        asks_roles |= mentions_type(&json, &role_type_name);
        let resolved =
            Policy::from_json(Some(policy.id().clone()), json).map_err(|e| invalid(policy, &e))?;
        policies
            .add(resolved)
            .map_err(|e| PolicyLoadError::Invalid(e.to_string()))?;
    }
    Ok(RoleSlice {
        policies,
        asks_roles,
    })
}

/// A slice as it reads for a caller with one role.
struct RoleSlice {
    policies: PolicySet,
    /// Whether any policy still tests a role, so the user must be built in theirs.
    asks_roles: bool,
}

/// Replaces every `principal in <role_type>::"<id>"` in a policy's JSON form with its value for
/// a caller whose one role is `role`.
fn resolve_role_tests(json: &mut serde_json::Value, role_type: &str, role: &str) {
    let tested = json.get("in").and_then(|test| {
        let principal = test.get("left")?.get("Var")?.as_str()? == "principal";
        let entity = test.get("right")?.get("Value")?.get("__entity")?;
        let is_role = entity.get("type")?.as_str()? == role_type;
        (principal && is_role).then(|| entity.get("id")?.as_str().map(|id| id == role))?
    });
    if let Some(holds) = tested {
        *json = serde_json::json!({ "Value": holds });
        return;
    }
    match json {
        serde_json::Value::Object(map) => map
            .values_mut()
            .for_each(|value| resolve_role_tests(value, role_type, role)),
        serde_json::Value::Array(items) => items
            .iter_mut()
            .for_each(|value| resolve_role_tests(value, role_type, role)),
        _ => {}
    }
}

/// Whether a policy's JSON form names an entity of `type_name` anywhere.
fn mentions_type(json: &serde_json::Value, type_name: &str) -> bool {
    match json {
        serde_json::Value::Object(map) => map.iter().any(|(key, value)| {
            (key == "type" || key == "entity_type") && value.as_str() == Some(type_name)
                || mentions_type(value, type_name)
        }),
        serde_json::Value::Array(items) => items.iter().any(|v| mentions_type(v, type_name)),
        _ => false,
    }
}

/// Whether a policy (in Cedar's JSON form) reads an attribute (`.` or `has`) of anything but
/// `principal`, `action`, `resource` or `context` themselves.
fn reads_through_attribute(json: &serde_json::Value) -> bool {
    match json {
        serde_json::Value::Object(map) => map.iter().any(|(key, value)| {
            let through = (key == "." || key == "has")
                && value
                    .get("left")
                    .is_some_and(|left| left.get("Var").is_none());
            through || reads_through_attribute(value)
        }),
        serde_json::Value::Array(items) => items.iter().any(reads_through_attribute),
        _ => false,
    }
}

/// `policy` with its action scope replaced by `action == <action>`, through Cedar's JSON form
/// (id, annotations, effect, the other scopes and conditions unchanged).
fn narrowed(policy: &Policy, action: &EntityUid) -> Result<Policy, PolicyLoadError> {
    let invalid = |e: &dyn std::fmt::Display| {
        PolicyLoadError::Invalid(format!(
            "policy {}: narrowing its action scope: {e}",
            policy.id()
        ))
    };
    let mut json = policy.to_json().map_err(|e| invalid(&e))?;
    json["action"] = serde_json::json!({
        "op": "==",
        "entity": {
            "type": action.type_name().to_string(),
            "id": action.id().unescaped(),
        },
    });
    let narrowed = Policy::from_json(Some(policy.id().clone()), json).map_err(|e| invalid(&e))?;
    debug_assert_eq!(
        narrowed.action_constraint(),
        ActionConstraint::Eq(action.clone())
    );
    Ok(narrowed)
}

fn uid(type_name: &EntityTypeName, id: &str) -> EntityUid {
    EntityUid::from_type_name_and_id(type_name.clone(), EntityId::new(id))
}

/// The schema's entity types, parsed once (Cedar's parser costs microseconds a call).
struct TypeNames {
    user: EntityTypeName,
    role: EntityTypeName,
    agency: EntityTypeName,
    case: EntityTypeName,
    registry: EntityTypeName,
    audit_log: EntityTypeName,
    action: EntityTypeName,
}

impl TypeNames {
    fn parse() -> Result<Self, PolicyLoadError> {
        let name = |kind: &str| {
            EntityTypeName::from_str(&format!("Sig::{kind}"))
                .map_err(|e| PolicyLoadError::Invalid(format!("entity type Sig::{kind}: {e}")))
        };
        Ok(Self {
            user: name("User")?,
            role: name("Role")?,
            agency: name("Agency")?,
            case: name("Case")?,
            registry: name("Registry")?,
            audit_log: name("AuditLog")?,
            action: name("Action")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A narrowed policy is its source with only the action scope changed, and every slice holds
    /// exactly the policies whose scope can match its action.
    #[test]
    fn slices_narrow_listed_action_scopes_and_change_nothing_else() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let engine = PolicyEngine::load(&dir).unwrap();
        let text = std::fs::read_to_string(dir.join(SCHEMA_FILE)).unwrap();
        let (schema, _) = Schema::from_cedarschema_str(&text).unwrap();
        let mut narrowed = 0;
        for action in schema.actions() {
            let name = action.id().unescaped();
            let slice = &engine.by_action[name].policies;
            let expected: Vec<&Policy> = engine
                .policies
                .policies()
                .filter(|p| match p.action_constraint() {
                    ActionConstraint::Any => true,
                    ActionConstraint::Eq(named) => &named == action,
                    ActionConstraint::In(listed) => listed.contains(action),
                })
                .collect();
            assert_eq!(slice.policies().count(), expected.len(), "{name}");
            for source in expected {
                let member = slice.policy(source.id()).unwrap();
                let mut want = source.to_json().unwrap();
                if let ActionConstraint::In(_) = source.action_constraint() {
                    assert_eq!(
                        member.action_constraint(),
                        ActionConstraint::Eq(action.clone())
                    );
                    want["action"] = member.to_json().unwrap()["action"].clone();
                    narrowed += 1;
                }
                assert_eq!(member.to_json().unwrap(), want, "{name} {}", source.id());
            }
        }
        assert!(
            narrowed > 0,
            "the project's policies list actions in scopes"
        );
    }

    /// Only actions whose policies read `principal.agency.kind` get the agency's entity.
    #[test]
    fn agency_entities_are_built_for_the_actions_that_read_them() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let engine = PolicyEngine::load(&dir).unwrap();
        let reading: Vec<&str> = engine
            .by_action
            .iter()
            .filter(|(_, slice)| slice.reads_through_attributes)
            .map(|(action, _)| action.as_str())
            .collect();
        assert_eq!(reading, ["case.create"]);
        let through = Policy::parse(
            None,
            r#"permit (principal, action, resource) when { principal.agency.kind == "police" };"#,
        )
        .unwrap();
        let direct = Policy::parse(None, r#"permit (principal, action, resource) when { principal.agency == resource.owner_agency && context has category };"#).unwrap();
        assert!(reads_through_attribute(&through.to_json().unwrap()));
        assert!(!reads_through_attribute(&direct.to_json().unwrap()));
    }

    /// For a one-role caller every role test of the project's policies is resolved at load, so
    /// no decision needs the user's roles; a policy set that tests roles some other way keeps them.
    #[test]
    fn role_tests_are_resolved_for_one_role_callers() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("policies");
        let engine = PolicyEngine::load(&dir).unwrap();
        for (action, slice) in &engine.by_action {
            for (role, resolved) in &slice.by_role {
                assert!(!resolved.asks_roles, "{action} for {role:?}");
            }
        }
        let role_type = EntityTypeName::from_str("Sig::Role").unwrap();
        let text = r#"permit (principal in Sig::Role::"auditor", action, resource)
            when { principal in Sig::Role::"admin" || principal in Sig::Role::"auditor" };
            permit (principal, action, resource) when { Sig::Role::"admin" in [principal] };"#;
        let set = PolicySet::from_str(text).unwrap();
        let auditor = for_role(&set, Role::Auditor, &role_type).unwrap();
        assert_eq!(auditor.policies.policies().count(), 2);
        assert!(auditor.asks_roles, "`Role in [principal]` is not resolved");
        let first = auditor
            .policies
            .policies()
            .find(|p| {
                p.principal_constraint() == PrincipalConstraint::Any
                    && p.to_json().unwrap().to_string().contains("true")
            })
            .expect("the scope and both tests resolved");
        assert!(!mentions_type(&first.to_json().unwrap(), "Sig::Role"));
        let police = for_role(&set, Role::PoliceOfficer, &role_type).unwrap();
        assert_eq!(
            police.policies.policies().count(),
            1,
            "the auditor-scoped policy is dropped"
        );
    }
}
