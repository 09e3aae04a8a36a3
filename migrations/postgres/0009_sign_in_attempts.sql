-- Sign-in attempts that limits are counted over: failed password sign-ins ('password_failure')
-- by email address and client, and sign-in link requests ('link_request') by client. A client
-- is the caller's IP address (an IPv6 address's /64), or '' when the caller is in-process.
-- Rows older than the limits' window are pruned by the job runner.
CREATE TABLE sign_in_attempts (
    kind   TEXT NOT NULL,
    email  TEXT NOT NULL,
    client TEXT NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX sign_in_attempts_email ON sign_in_attempts(kind, email, client, at);
CREATE INDEX sign_in_attempts_client ON sign_in_attempts(kind, client, at);
