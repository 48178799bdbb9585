#!/usr/bin/env python3
"""The SQLite ceiling for an audited case read (GET /api/v1/cases/{id} as a police officer).

Runs the statements the service runs for that read -- the case with its current consent, the
consent's parties, its agencies and categories, the guardians -- and its audit append (head, event
row, case index row) in one transaction, with the service's pragmas (WAL, synchronous=FULL,
foreign keys, busy timeout) and its writer discipline (BEGIN IMMEDIATE, writers of one process
queued on one lock), from CONCURRENCY threads for DURATION seconds. Prints requests/s and
p50/p99 in milliseconds. Python's own overhead is part of these figures, so they understate
SQLite; the sqlite3 module releases the GIL while SQLite works.

    sqlite_case_read.py DATABASE CASE_IDS_FILE CONCURRENCY DURATION
"""
import hashlib
import random
import sqlite3
import sys
import threading
import time
import uuid

database, ids_file, concurrency, duration = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
case_ids = [line.strip().rsplit("/", 1)[-1] for line in open(ids_file) if line.strip()]
writer = threading.Lock()
latencies = []
errors = [0]
record = threading.Lock()
deadline = time.monotonic() + duration


def connect():
    conn = sqlite3.connect(database, isolation_level=None, check_same_thread=False)
    conn.executescript("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; "
                       "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")
    return conn


def one(conn, case_id):
    with writer:
        conn.execute("BEGIN IMMEDIATE")
        try:
            consent = conn.execute(
                "SELECT consents.*, cases.* FROM cases LEFT JOIN consents ON consents.case_id = cases.id "
                "AND consents.superseded_at IS NULL WHERE cases.id = ? "
                "ORDER BY consents.recorded_at DESC, consents.id DESC", (case_id,)).fetchone()
            consent_id = consent[0]
            conn.execute("SELECT * FROM consent_parties WHERE consent_id = ? ORDER BY position", (consent_id,)).fetchall()
            conn.execute("SELECT 1, agency FROM consent_agencies WHERE consent_id = ? "
                         "UNION ALL SELECT 0, category FROM consent_categories WHERE consent_id = ?",
                         (consent_id, consent_id)).fetchall()
            conn.execute("SELECT * FROM guardians WHERE case_id = ? ORDER BY position", (case_id,)).fetchall()
            seq, prev = conn.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
            now = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
            conn.execute(
                "INSERT INTO audit_events (seq, id, at, actor_sub, actor_name, actor_agency, actor_roles, action, "
                "outcome, status, case_ids, categories, consent_id, reason, request_id, method, path, prev_hash, hash) "
                "VALUES (?, ?, ?, 'load-police', 'Police', 'polisen-orebro', '[\"police_officer\"]', 'case.read', "
                "'allowed', 200, ?, '[\"identity\",\"plan\"]', ?, 'consented-agency-reads-covered-categories', ?, "
                "'GET', ?, ?, ?)",
                (seq + 1, str(uuid.uuid4()), now, f'["{case_id}"]', consent_id, str(uuid.uuid4()),
                 f"/api/v1/cases/{case_id}", prev, hashlib.sha256(prev + case_id.encode()).digest()))
            conn.execute("INSERT INTO audit_event_cases (case_id, seq) VALUES (?, ?)", (case_id, seq + 1))
            conn.execute("COMMIT")
        except Exception:
            conn.execute("ROLLBACK")
            raise


def client():
    conn = connect()
    mine = []
    while time.monotonic() < deadline:
        started = time.perf_counter()
        try:
            one(conn, random.choice(case_ids))
            mine.append(time.perf_counter() - started)
        except Exception:
            with record:
                errors[0] += 1
    with record:
        latencies.extend(mine)


threads = [threading.Thread(target=client) for _ in range(concurrency)]
started = time.monotonic()
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - started
latencies.sort()
at = lambda p: latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000 if latencies else 0.0
print(f"RESULT {len(latencies)} {len(latencies) / elapsed:.0f} {at(0.5):.2f} {at(0.99):.2f} {errors[0]}")
