-- Sign-in tokens issued before this moment (ms) no longer work: set by "sign out everywhere",
-- a password change or reset, and deactivation. NULL: every unexpired token works.
ALTER TABLE users ADD COLUMN sessions_valid_after BIGINT;
ALTER TABLE contacts ADD COLUMN sessions_valid_after BIGINT;
