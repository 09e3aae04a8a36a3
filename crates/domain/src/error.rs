use std::fmt;

/// A value was rejected; `field` names the input the way the API spells it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationError {
    /// The input field at fault, e.g. `subject` or `input.priority`.
    pub field: String,
    /// A human-readable reason.
    pub message: String,
}

impl ValidationError {
    /// Builds an error for `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl fmt::Display for ValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What went wrong, as API callers read it: the code in `extensions.code` of every error body
/// (GraphQL and plain HTTP alike) and the HTTP status an HTTP answer with this error carries. The
/// one place these words are spelled; the server, the GraphQL layer and the channels use it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No valid credentials.
    Unauthenticated,
    /// Signed in, but not allowed to do this.
    Forbidden,
    /// Does not exist, or is not visible to the caller.
    NotFound,
    /// An input was rejected; the error names the field.
    Validation,
    /// The change collides with the current state.
    Conflict,
    /// Too many attempts; try again later.
    RateLimited,
    /// Something broke on our side; logged, never detailed.
    Internal,
    /// The request or GraphQL document is malformed.
    BadRequest,
    /// The GraphQL document is over the request budget.
    QueryTooLarge,
    /// The GraphQL operation ran longer than allowed and was stopped.
    Timeout,
    /// Introspection is off for this caller.
    IntrospectionDisabled,
    /// The HTTP method is not served at this path.
    MethodNotAllowed,
    /// A multipart (upload) request without an Authorization header.
    UploadNeedsAuthorization,
    /// A body in a Content-Type this endpoint does not take.
    UnsupportedMediaType,
    /// Several GraphQL operations in one request.
    BatchNotSupported,
    /// A request body larger than the server accepts.
    PayloadTooLarge,
    /// A WebSocket opened from a page whose origin is not allowed.
    ForbiddenOrigin,
    /// The request body stopped arriving before it was complete.
    RequestTimeout,
    /// Not taken right now (the database is unreachable); send it again later.
    Unavailable,
    /// An inbound message larger than the channel accepts.
    MessageTooLarge,
    /// An inbound message with no content.
    EmptyMessage,
    /// An inbound message that was kept for an admin to look at instead of being taken.
    Quarantined,
}

impl ErrorCode {
    /// Every code, for tests and documentation.
    pub const ALL: [ErrorCode; 22] = [
        ErrorCode::Unauthenticated,
        ErrorCode::Forbidden,
        ErrorCode::NotFound,
        ErrorCode::Validation,
        ErrorCode::Conflict,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
        ErrorCode::BadRequest,
        ErrorCode::QueryTooLarge,
        ErrorCode::Timeout,
        ErrorCode::IntrospectionDisabled,
        ErrorCode::MethodNotAllowed,
        ErrorCode::UploadNeedsAuthorization,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::BatchNotSupported,
        ErrorCode::PayloadTooLarge,
        ErrorCode::ForbiddenOrigin,
        ErrorCode::RequestTimeout,
        ErrorCode::Unavailable,
        ErrorCode::MessageTooLarge,
        ErrorCode::EmptyMessage,
        ErrorCode::Quarantined,
    ];

    /// The code as sent in `extensions.code`.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Validation => "VALIDATION",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::QueryTooLarge => "QUERY_TOO_LARGE",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::IntrospectionDisabled => "INTROSPECTION_DISABLED",
            ErrorCode::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorCode::UploadNeedsAuthorization => "UPLOAD_NEEDS_AUTHORIZATION",
            ErrorCode::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorCode::BatchNotSupported => "BATCH_NOT_SUPPORTED",
            ErrorCode::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorCode::ForbiddenOrigin => "FORBIDDEN_ORIGIN",
            ErrorCode::RequestTimeout => "REQUEST_TIMEOUT",
            ErrorCode::Unavailable => "UNAVAILABLE",
            ErrorCode::MessageTooLarge => "MESSAGE_TOO_LARGE",
            ErrorCode::EmptyMessage => "EMPTY_MESSAGE",
            ErrorCode::Quarantined => "QUARANTINED",
        }
    }

    /// The HTTP status of an HTTP answer carrying this error. GraphQL errors inside a response
    /// to a request that was itself fine ride on 200, as GraphQL over HTTP has them.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::Validation
            | ErrorCode::BadRequest
            | ErrorCode::QueryTooLarge
            | ErrorCode::BatchNotSupported
            | ErrorCode::EmptyMessage => 400,
            ErrorCode::Unauthenticated => 401,
            ErrorCode::Forbidden
            | ErrorCode::IntrospectionDisabled
            | ErrorCode::UploadNeedsAuthorization
            | ErrorCode::ForbiddenOrigin => 403,
            ErrorCode::NotFound => 404,
            ErrorCode::MethodNotAllowed => 405,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::Conflict => 409,
            ErrorCode::PayloadTooLarge | ErrorCode::MessageTooLarge => 413,
            ErrorCode::UnsupportedMediaType => 415,
            ErrorCode::Quarantined => 422,
            ErrorCode::RateLimited => 429,
            ErrorCode::Internal => 500,
            ErrorCode::Unavailable => 503,
            ErrorCode::Timeout => 504,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_error_code_is_spelled_once_in_screaming_snake_case() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} is spelled twice");
            assert!(s.chars().all(|c| c.is_ascii_uppercase() || c == '_'), "{s}");
            assert!((400..600).contains(&code.http_status()), "{s}");
        }
    }
}
