#!/usr/bin/env bash
# Consent, a police read, a revocation and the auditor — the whole consent flow with curl and jq,
# against a running server (API, default http://127.0.0.1:8080/api/v1). `sig-register` must be on
# PATH and see the server's data folder (run it where the server runs, or set SIG_DATA_DIR).
set -euo pipefail
API=${API:-http://127.0.0.1:8080/api/v1}
tok() { sig-register token --sub "$1" --name "$2" --agency "$3" --role "$4"; }
# Dates as the register counts them: in Europe/Stockholm (GNU date, or BSD date on macOS).
export TZ=Europe/Stockholm
days_from_now() { date -d "+$1 days" +%F 2>/dev/null || date -v+"$1"d +%F; }
expect() { [ "$1" = "$2" ] || { echo "expected $2, got $1" >&2; exit 1; }; echo "$1"; }
ANNA=$(tok anna "Anna Lindqvist" socialtjanst-orebro social_secretary)   # social secretary (owner)
PER=$(tok per "Per Nilsson" polisen-orebro police_officer)               # police officer
ALVA=$(tok alva "Alva Berg" socialtjanst-orebro auditor)                 # data-protection auditor

# 1. Anna opens a case for a 16-year-old with two guardians who share custody.
CASE=$(curl -s "$API/cases" -H "Authorization: Bearer $ANNA" -H 'Content-Type: application/json' -d '{
  "area": "vivalla",
  "youth": {"personal_number": "20100315-2384", "given_name": "Elin", "family_name": "Berg",
            "phone": "070-123 45 67", "address": "Vivallagatan 1, 703 75 Örebro"},
  "guardians": [
    {"given_name": "Maria", "family_name": "Berg", "has_custody": true},
    {"given_name": "Johan", "family_name": "Berg", "has_custody": true}],
  "referral": {"source_agency": "polisen-orebro", "reason": "Orosanmälan"}}')
CASE_ID=$(echo "$CASE" | jq -r .id)
G1=$(echo "$CASE" | jq -r '.guardians[0].id'); G2=$(echo "$CASE" | jq -r '.guardians[1].id')

# 2. Per may not read it yet: no consent covers the police.
expect "$(curl -s "$API/cases/$CASE_ID" -H "Authorization: Bearer $PER" | jq -r .code)" consent_required

# 3. Anna records the signed consent of Elin and both guardians: the police may see
#    identity and plan for six months.
FROM=$(date +%F); UNTIL=$(days_from_now 180)
CONSENT=$(curl -s "$API/cases/$CASE_ID/consents" -H "Authorization: Bearer $ANNA" \
  -H 'Content-Type: application/json' -d '{
  "youth": {"decision": "given", "method": "written", "decided_on": "'"$FROM"'"},
  "guardians": [
    {"guardian_id": "'"$G1"'", "decision": "given", "method": "written", "decided_on": "'"$FROM"'"},
    {"guardian_id": "'"$G2"'", "decision": "given", "method": "written", "decided_on": "'"$FROM"'"}],
  "agencies": ["polisen-orebro"], "categories": ["identity", "plan"],
  "purpose": "sig_joint_plan", "valid_from": "'"$FROM"'", "valid_until": "'"$UNTIL"'",
  "evidence_ref": "Samtyckesblankett 2026-117"}')
CONSENT_ID=$(echo "$CONSENT" | jq -r .id)
expect "$(echo "$CONSENT" | jq -r .state)" active

# 4. Per reads the case: the consented categories only (no referral, no social notes).
expect "$(curl -s "$API/cases/$CASE_ID" -H "Authorization: Bearer $PER" \
  | jq -c '{visible_categories, youth: .youth.given_name}')" \
  '{"visible_categories":["identity","plan"],"youth":"Elin"}'

# 5. Elin withdraws her consent; from the next request on, Per is refused.
expect "$(curl -s "$API/cases/$CASE_ID/consents/$CONSENT_ID/revoke" -H "Authorization: Bearer $ANNA" \
  -H 'Content-Type: application/json' -d '{"party": "youth", "reason": "Vill inte längre"}' \
  | jq -r .state)" revoked
expect "$(curl -s "$API/cases/$CASE_ID" -H "Authorization: Bearer $PER" | jq -r .code)" consent_required

# 6. Alva, the auditor, sees all of it — who, when, which agency, allowed or denied — and can
#    hand the family its register extract. She never sees the case itself.
curl -s "$API/cases/$CASE_ID/access-log" -H "Authorization: Bearer $ALVA" \
  | jq -r '.items[] | "\(.at)  \(.agency)  \(.role)  \(.action)  \(.outcome)"'
expect "$(curl -s "$API/cases/$CASE_ID" -H "Authorization: Bearer $ALVA" | jq -r .code)" forbidden
curl -s "$API/audit/verify" -H "Authorization: Bearer $ALVA" | jq -c '{ok}'
