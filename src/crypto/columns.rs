//! Every sealed column and the label its ciphertext is bound to. The AEAD's associated data is
//! `"{table}.{column}:{row id}"`, so a ciphertext copied to another row or column does not open.
//! Changing a label here makes every stored value of that column unreadable: labels are part of
//! the storage format.

use super::fields::{FieldCrypto, SealError};

/// A sealed column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Column {
    YouthPersonalNumber,
    YouthGivenName,
    YouthFamilyName,
    YouthPhone,
    YouthAddress,
    ReferralReason,
    ClosureReason,
    GuardianGivenName,
    GuardianFamilyName,
    GuardianPersonalNumber,
    GuardianPhone,
    GuardianAddress,
    RevokeReason,
    NoteText,
    /// Keyed by `"{case_id}:{version}"`.
    PlanContent,
    ReviewScope,
    ReviewFindings,
    ReviewActions,
}

impl Column {
    pub fn label(self) -> &'static str {
        match self {
            Column::YouthPersonalNumber => "cases.youth_personal_number",
            Column::YouthGivenName => "cases.youth_given_name",
            Column::YouthFamilyName => "cases.youth_family_name",
            Column::YouthPhone => "cases.youth_phone",
            Column::YouthAddress => "cases.youth_address",
            Column::ReferralReason => "cases.referral_reason",
            Column::ClosureReason => "cases.closure_reason",
            Column::GuardianGivenName => "guardians.given_name",
            Column::GuardianFamilyName => "guardians.family_name",
            Column::GuardianPersonalNumber => "guardians.personal_number",
            Column::GuardianPhone => "guardians.phone",
            Column::GuardianAddress => "guardians.address",
            Column::RevokeReason => "consents.revoke_reason",
            Column::NoteText => "notes.text",
            Column::PlanContent => "plan_versions.content",
            Column::ReviewScope => "audit_reviews.scope",
            Column::ReviewFindings => "audit_reviews.findings",
            Column::ReviewActions => "audit_reviews.actions",
        }
    }

    /// The associated data of this column's value in row `id`.
    pub fn aad(self, id: &str) -> String {
        format!("{}:{id}", self.label())
    }
}

impl FieldCrypto {
    /// Seals `plain` for `column` of row `id`.
    pub fn seal_in(&self, column: Column, id: &str, plain: &[u8]) -> Result<Vec<u8>, SealError> {
        self.seal(plain, &column.aad(id))
    }

    /// Opens `sealed` from `column` of row `id`.
    pub fn open_in(&self, column: Column, id: &str, sealed: &[u8]) -> Result<Vec<u8>, SealError> {
        self.open(sealed, &column.aad(id))
    }

    /// Seals text for `column` of row `id`.
    pub fn seal_text(&self, column: Column, id: &str, plain: &str) -> Result<Vec<u8>, SealError> {
        self.seal_str(plain, &column.aad(id))
    }

    /// Opens text from `column` of row `id`.
    pub fn open_text(&self, column: Column, id: &str, sealed: &[u8]) -> Result<String, SealError> {
        self.open_str(sealed, &column.aad(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The labels are the storage format: each names its own table and column, none repeats.
    #[test]
    fn every_sealed_column_has_its_own_label() {
        let all = [
            Column::YouthPersonalNumber,
            Column::YouthGivenName,
            Column::YouthFamilyName,
            Column::YouthPhone,
            Column::YouthAddress,
            Column::ReferralReason,
            Column::ClosureReason,
            Column::GuardianGivenName,
            Column::GuardianFamilyName,
            Column::GuardianPersonalNumber,
            Column::GuardianPhone,
            Column::GuardianAddress,
            Column::RevokeReason,
            Column::NoteText,
            Column::PlanContent,
        ];
        let mut labels: Vec<&str> = all.iter().map(|c| c.label()).collect();
        labels.sort_unstable();
        labels.dedup();
        assert_eq!(labels.len(), all.len());
        assert_eq!(Column::NoteText.aad("n1"), "notes.text:n1");
    }
}
