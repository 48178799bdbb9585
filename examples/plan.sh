#!/usr/bin/env bash
# A joint implementation plan: drafted, agreed, reported on by the police and the school, followed
# up — each write with the plan's current ETag in If-Match. Against a running server (API,
# default http://127.0.0.1:8080/api/v1); `sig-register` on PATH, seeing the server's data folder.
set -euo pipefail
API=${API:-http://127.0.0.1:8080/api/v1}
tok() { sig-register token --sub "$1" --name "$2" --agency "$3" --role "$4"; }
# Dates as the register counts them: in Europe/Stockholm (GNU date, or BSD date on macOS).
export TZ=Europe/Stockholm
days_from_now() { date -d "+$1 days" +%F 2>/dev/null || date -v+"$1"d +%F; }
expect() { [ "$1" = "$2" ] || { echo "expected $2, got $1" >&2; exit 1; }; echo "$1"; }
post() { curl -s "$API$1" -H "Authorization: Bearer $2" -H 'Content-Type: application/json' "${@:3}"; }
ANNA=$(tok anna "Anna Lindqvist" socialtjanst-orebro social_secretary)
PER=$(tok per "Per Nilsson" polisen-orebro police_officer)
SARA=$(tok sara "Sara Ek" skola-orebro partner)

# A case for a 19-year-old, with consent for the police and the school to see identity and plan.
CASE_ID=$(post /cases "$ANNA" -d '{"area": "varberga",
  "youth": {"personal_number": "20070315-2389", "given_name": "Adam", "family_name": "Ek"}}' | jq -r .id)
TODAY=$(date +%F)
expect "$(post "/cases/$CASE_ID/consents" "$ANNA" -d '{
  "youth": {"decision": "given", "method": "written", "decided_on": "'"$TODAY"'"},
  "agencies": ["polisen-orebro", "skola-orebro"], "categories": ["identity", "plan"],
  "purpose": "sig_joint_plan", "valid_from": "'"$TODAY"'", "valid_until": "'"$(days_from_now 180)"'",
  "evidence_ref": "Samtyckesblankett 2026-118"}' | jq -r .state)" active

# 1. Anna drafts the plan with the young person and the family (the plan starts at version 0).
PLAN=$(post "/cases/$CASE_ID/plan" "$ANNA" -X PUT -H 'If-Match: "0"' -d '{
  "goals": ["Fullföljd gymnasieutbildning", "Ingen ny brottslighet"],
  "measures": [
    {"agency": "polisen-orebro", "responsible_name": "Per Nilsson", "description": "Kontaktpolis, samtal varannan vecka"},
    {"agency": "skola-orebro", "responsible_name": "Sara Ek", "description": "Anpassad studiegång", "due_on": "'"$(days_from_now 90)"'"},
    {"agency": "socialtjanst-orebro", "responsible_name": "Anna Lindqvist", "description": "Stödsamtal med familjen"}]}')
expect "$(echo "$PLAN" | jq -c '{version, status}')" '{"version":1,"status":"draft"}'
POLICE_MEASURE=$(echo "$PLAN" | jq -r '.measures[] | select(.agency=="polisen-orebro") | .id')
SCHOOL_MEASURE=$(echo "$PLAN" | jq -r '.measures[] | select(.agency=="skola-orebro") | .id')

# 2. Anna agrees it (this needs an active consent).
expect "$(post "/cases/$CASE_ID/plan/agree" "$ANNA" -X POST -H 'If-Match: "1"' \
  | jq -c '{version, status, agreed_on}')" '{"version":2,"status":"agreed","agreed_on":"'"$TODAY"'"}'

# 3. Per reports on the police measure, then Sara on the school's; each sends the ETag it last saw.
expect "$(post "/cases/$CASE_ID/plan/measures/$POLICE_MEASURE" "$PER" -X PATCH -H 'If-Match: "2"' \
  -d '{"status": "ongoing", "progress_note": "Första samtalet hållet"}' | jq -c '{version, status}')" \
  '{"version":3,"status":"agreed"}'
expect "$(post "/cases/$CASE_ID/plan/measures/$SCHOOL_MEASURE" "$SARA" -X PATCH -H 'If-Match: "3"' \
  -d '{"status": "ongoing"}' | jq -c '{version}')" '{"version":4}'
# Per may not touch the school's measure, and a stale ETag is refused:
expect "$(post "/cases/$CASE_ID/plan/measures/$SCHOOL_MEASURE" "$PER" -X PATCH -H 'If-Match: "4"' \
  -d '{"status": "done"}' | jq -r .code)" forbidden
expect "$(post "/cases/$CASE_ID/plan/measures/$POLICE_MEASURE" "$PER" -X PATCH -H 'If-Match: "3"' \
  -d '{"status": "done"}' | jq -r .code)" precondition_failed

# 4. Anna records the follow-up meeting.
expect "$(post "/cases/$CASE_ID/plan/follow-ups" "$ANNA" -X POST -H 'If-Match: "4"' -d '{"held_on": "'"$TODAY"'",
  "summary": "Uppföljning med Adam och mamma: skolan fungerar bättre", "next_follow_up_on": "'"$(days_from_now 30)"'"}' \
  | jq -c '{version, follow_ups: [.follow_ups[].summary]}')" \
  '{"version":5,"follow_ups":["Uppföljning med Adam och mamma: skolan fungerar bättre"]}'

# Every version stays readable.
curl -s "$API/cases/$CASE_ID/plan/versions" -H "Authorization: Bearer $ANNA" \
  | jq -c '[.[] | [.version, .status, .updated_by_agency]]'
