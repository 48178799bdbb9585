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
    Authorizer, Context as CedarContext, Decision as CedarDecision, Entities, Entity, EntityId,
    EntityTypeName, EntityUid, Policy, PolicyId, PolicySet, Request, RestrictedExpression, Schema,
    ValidationMode, Validator,
};
use miette::Diagnostic;

use crate::auth::Actor;

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

/// What the caller's agency is, as the registry knows it.
#[derive(Clone, Debug)]
pub struct AgencyFacts {
    pub slug: String,
    pub kind: String,
}

/// What a decision needs to know about a case, computed per request (never cached): the
/// owner, the status, and whether its current consent is active now and whom and what it covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseFacts {
    pub id: String,
    pub owner_agency: String,
    pub status: String,
    pub consent_active: bool,
    pub consent_agencies: Vec<String>,
    pub consent_categories: Vec<String>,
}

/// The resource of one decision.
#[derive(Clone, Debug)]
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
#[derive(Clone, Debug, Default)]
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
    schema: Schema,
    policies: PolicySet,
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

        Ok(Self {
            schema,
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
        self.decide_in(actor, agency, action, resource, &Context::default())
    }

    /// As [`Self::decide`], with a request context.
    pub fn decide_in(
        &self,
        actor: &Actor,
        agency: &AgencyFacts,
        action: &str,
        resource: &Resource,
        context: &Context,
    ) -> Decision {
        match self.try_decide(actor, agency, action, resource, context) {
            Ok(decision) => decision,
            Err(error) => {
                tracing::error!(%error, action, "policy request could not be built; denying");
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
    pub fn consent_would_allow(
        &self,
        actor: &Actor,
        agency: &AgencyFacts,
        action: &str,
        resource: &Resource,
        context: &Context,
    ) -> bool {
        let Resource::Case(facts) = resource else {
            return false;
        };
        let hypothetical = Resource::Case(CaseFacts {
            consent_active: true,
            consent_agencies: vec![agency.slug.clone()],
            consent_categories: crate::domain::consent::CATEGORIES
                .iter()
                .map(|c| c.to_string())
                .collect(),
            ..facts.clone()
        });
        self.decide_in(actor, agency, action, &hypothetical, context)
            .allowed
    }

    fn try_decide(
        &self,
        actor: &Actor,
        agency: &AgencyFacts,
        action: &str,
        resource: &Resource,
        context: &Context,
    ) -> Result<Decision, String> {
        let agency_uid = uid("Agency", &agency.slug)?;
        let user_uid = uid("User", &actor.sub)?;
        let mut role_uids = HashSet::new();
        let mut entities = Vec::new();
        for role in &actor.roles {
            let role_uid = uid("Role", role.as_str())?;
            entities.push(Entity::new_no_attrs(role_uid.clone(), HashSet::new()));
            role_uids.insert(role_uid);
        }
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
            Resource::Registry => uid("Registry", "agencies")?,
            Resource::Cases => uid("Registry", "cases")?,
            Resource::AuditLog => uid("AuditLog", "main")?,
            Resource::Case(facts) => uid("Case", &facts.id)?,
        };
        match resource {
            Resource::Case(facts) => {
                let agencies = |slugs: &[String]| -> Result<RestrictedExpression, String> {
                    let uids = slugs
                        .iter()
                        .map(|s| uid("Agency", s))
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(RestrictedExpression::new_set(
                        uids.into_iter().map(RestrictedExpression::new_entity_uid),
                    ))
                };
                let attributes = HashMap::from([
                    (
                        "owner_agency".to_owned(),
                        RestrictedExpression::new_entity_uid(uid("Agency", &facts.owner_agency)?),
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
                        agencies(&facts.consent_agencies)?,
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
                RestrictedExpression::new_entity_uid(uid("Agency", measure_agency)?),
            ));
        }
        let context = if pairs.is_empty() {
            CedarContext::empty()
        } else {
            CedarContext::from_pairs(pairs).map_err(|e| e.to_string())?
        };
        let entities =
            Entities::from_entities(entities, Some(&self.schema)).map_err(|e| e.to_string())?;
        let request = Request::new(
            user_uid,
            uid("Action", action)?,
            resource_uid,
            context,
            Some(&self.schema),
        )
        .map_err(|e| e.to_string())?;
        let response = self
            .authorizer
            .is_authorized(&request, &self.policies, &entities);
        let evaluation_error = response.diagnostics().errors().next().is_some();
        if evaluation_error {
            for error in response.diagnostics().errors() {
                tracing::error!(%error, action, "policy evaluation error; denying");
            }
        }
        Ok(Decision {
            allowed: response.decision() == CedarDecision::Allow && !evaluation_error,
            policy_ids: response
                .diagnostics()
                .reason()
                .map(ToString::to_string)
                .collect(),
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

fn uid(kind: &str, id: &str) -> Result<EntityUid, String> {
    let type_name = EntityTypeName::from_str(&format!("Sig::{kind}")).map_err(|e| e.to_string())?;
    Ok(EntityUid::from_type_name_and_id(
        type_name,
        EntityId::new(id),
    ))
}
