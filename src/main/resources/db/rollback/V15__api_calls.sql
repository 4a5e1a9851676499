-- Undoes V15__api_calls.sql.
DROP TABLE IF EXISTS api_calls;
