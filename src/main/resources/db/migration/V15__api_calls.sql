-- V15: calls to the ticket API per UTC day, namespace (the tenant's), caller (a user or a
-- ServiceAccount), version and endpoint, for the migration report: who still calls v1, and how
-- much. The operator adds its in-memory counts every few seconds; rows older than 90 days go as
-- it writes. No tenant role reads or writes it.
-- Rollback: db/rollback/V15__api_calls.sql

CREATE TABLE IF NOT EXISTS api_calls (
    day          date NOT NULL,
    namespace    text NOT NULL,
    caller       text NOT NULL,
    version      text NOT NULL CHECK (version IN ('v1', 'v2')),
    endpoint     text NOT NULL,
    calls        bigint NOT NULL CHECK (calls >= 0),
    last_call_at timestamptz NOT NULL,
    PRIMARY KEY (day, namespace, caller, version, endpoint)
);
