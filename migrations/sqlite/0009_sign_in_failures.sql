-- Failed password sign-ins, by email address: after too many in a window, sign-in with that
-- address is refused for a while (whether or not it has an account, so it reveals nothing).
CREATE TABLE sign_in_failures (
    email     TEXT NOT NULL,
    failed_at INTEGER NOT NULL
);
CREATE INDEX sign_in_failures_email ON sign_in_failures(email, failed_at);
