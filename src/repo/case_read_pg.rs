//! A case with its current consent and its guardians, read from PostgreSQL in one statement.
//!
//! PostgreSQL's cost for a case read is per statement, not per row: the protocol round trip,
//! the snapshot, the portal. The case joined with its current consent, the consent's parties,
//! agencies and categories and the case's guardians come back as one row, the lists as arrays
//! (records for the multi-column rows). Its SQL text is fixed and its query id static, so the
//! connection prepares it once. Every column list is rendered from the row structs' own
//! `Selectable` columns, and every row decoded through their `Queryable`, so a column added to
//! a table changes this statement with the struct.

use diesel::deserialize::Queryable;
use diesel::dsl::SqlTypeOf;
use diesel::pg::sql_types::Record;
use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::result::Error;
use diesel::sql_types::{Array, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl, Selectable};

use super::rows::{CaseRow, ConsentRow, GuardianRow, PartyRow};

/// The columns a row struct selects, their SQL types, and the tuple it is built from.
type Columns<T> = <T as Selectable<Pg>>::SelectExpression;
type SqlOf<T> = SqlTypeOf<Columns<T>>;
type RowOf<T> = <T as Queryable<SqlOf<T>, Pg>>::Row;

/// The case read for one case id.
pub struct CaseRead<'a> {
    id: &'a str,
    case: Columns<CaseRow>,
    consent: Columns<ConsentRow>,
    party: Columns<PartyRow>,
    guardian: Columns<GuardianRow>,
}

/// What one row of [`CaseRead`] holds.
pub struct CaseReadRow {
    pub case: CaseRow,
    pub consent: Option<ConsentRow>,
    pub parties: Vec<PartyRow>,
    pub agencies: Vec<String>,
    pub categories: Vec<String>,
    pub guardians: Vec<GuardianRow>,
}

impl<'a> CaseRead<'a> {
    pub fn new(id: &'a str) -> Self {
        Self {
            id,
            case: <CaseRow as Selectable<Pg>>::construct_selection(),
            consent: <ConsentRow as Selectable<Pg>>::construct_selection(),
            party: <PartyRow as Selectable<Pg>>::construct_selection(),
            guardian: <GuardianRow as Selectable<Pg>>::construct_selection(),
        }
    }

    /// The case's row, or `None` when there is no such case. Every consent but the current
    /// one is superseded, so the join finds at most one row.
    pub fn load(self, conn: &mut PgConnection) -> QueryResult<Option<CaseReadRow>> {
        type Loaded = (
            CaseRow,
            Option<ConsentRow>,
            Vec<RowOf<PartyRow>>,
            Vec<String>,
            Vec<String>,
            Vec<RowOf<GuardianRow>>,
        );
        let rows: Vec<Loaded> = RunQueryDsl::load(self, conn)?;
        // The newest consent, should there ever be more than one unsuperseded: chosen here, as
        // `ORDER BY recorded_at DESC, id DESC` would (a sort node in the statement cost more
        // to set up on every execution than the one row it orders).
        let newest = rows.into_iter().max_by(|a, b| {
            let key = |row: &Loaded| {
                row.1
                    .as_ref()
                    .map(|consent| (consent.recorded_at, consent.id.clone()))
            };
            key(a).cmp(&key(b))
        });
        let Some((case, consent, parties, agencies, categories, guardians)) = newest else {
            return Ok(None);
        };
        // Lists are put in order here: a sort inside the statement costs PostgreSQL a sort
        // node to set up on every execution, for a handful of rows.
        let mut parties = build_all::<PartyRow>(parties)?;
        parties.sort_by_key(|party| party.position);
        let mut guardians = build_all::<GuardianRow>(guardians)?;
        guardians.sort_by_key(|guardian| guardian.position);
        Ok(Some(CaseReadRow {
            case,
            consent,
            parties,
            agencies,
            categories,
            guardians,
        }))
    }
}

/// Builds row structs from the records an array held.
fn build_all<T>(rows: Vec<RowOf<T>>) -> QueryResult<Vec<T>>
where
    T: Selectable<Pg> + Queryable<SqlOf<T>, Pg>,
{
    rows.into_iter()
        .map(|row| T::build(row).map_err(Error::DeserializationError))
        .collect()
}

/// The statement's own id: its text never changes.
pub struct CaseReadId;

impl QueryId for CaseRead<'_> {
    type QueryId = CaseReadId;
    const HAS_STATIC_QUERY_ID: bool = true;
}

impl Query for CaseRead<'_> {
    type SqlType = (
        SqlOf<CaseRow>,
        Nullable<SqlOf<ConsentRow>>,
        Array<Record<SqlOf<PartyRow>>>,
        Array<Text>,
        Array<Text>,
        Array<Record<SqlOf<GuardianRow>>>,
    );
}

impl RunQueryDsl<PgConnection> for CaseRead<'_> {}

impl QueryFragment<Pg> for CaseRead<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        self.case.walk_ast(out.reborrow())?;
        out.push_sql(", ");
        self.consent.walk_ast(out.reborrow())?;
        out.push_sql(", ARRAY(SELECT ROW(");
        self.party.walk_ast(out.reborrow())?;
        out.push_sql(
            ") FROM \"consent_parties\" \
             WHERE \"consent_parties\".\"consent_id\" = \"consents\".\"id\"), \
             ARRAY(SELECT \"consent_agencies\".\"agency\" FROM \"consent_agencies\" \
             WHERE \"consent_agencies\".\"consent_id\" = \"consents\".\"id\"), \
             ARRAY(SELECT \"consent_categories\".\"category\" FROM \"consent_categories\" \
             WHERE \"consent_categories\".\"consent_id\" = \"consents\".\"id\"), \
             ARRAY(SELECT ROW(",
        );
        self.guardian.walk_ast(out.reborrow())?;
        out.push_sql(
            ") FROM \"guardians\" WHERE \"guardians\".\"case_id\" = \"cases\".\"id\") \
             FROM \"cases\" LEFT JOIN \"consents\" ON \"consents\".\"case_id\" = \"cases\".\"id\" \
             AND \"consents\".\"superseded_at\" IS NULL \
             WHERE \"cases\".\"id\" = ",
        );
        out.push_bind_param::<Text, _>(self.id)
    }
}
