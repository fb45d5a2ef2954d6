//! The transport-neutral HTTP answer the Lambda adapter (and a local server)
//! turn into their own response type.

use crate::{InteractionResponse, RequestError};

/// Content type of every reply we send.
pub const JSON: &str = "application/json";

/// An HTTP reply: status, body and its content type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpReply {
    /// The HTTP status code.
    pub status: u16,
    /// The body bytes.
    pub body: Vec<u8>,
    /// The `Content-Type` of `body`.
    pub content_type: &'static str,
    /// The command failed on our side (the command bus or the allowlist
    /// store was unavailable), although the member got a 200 with an
    /// ephemeral apology: what the `InteractionErrors` metric counts.
    pub failed: bool,
    /// A fixed label of what was asked, never text from the request, for
    /// logs and metrics: the route (`/play`, `ping`, `component`, …) of an
    /// accepted interaction, or the refusal (`unverified`, `too_large`,
    /// `malformed`).
    pub route: &'static str,
}

impl HttpReply {
    /// A 200 carrying an interaction response.
    pub fn ok(response: &InteractionResponse) -> Self {
        let body = serde_json::to_vec(response).expect("interaction responses serialise");
        Self { status: 200, body, content_type: JSON, failed: false, route: "other" }
    }

    /// The same reply labelled with `route`.
    #[must_use]
    pub fn with_route(self, route: &'static str) -> Self {
        Self { route, ..self }
    }

    /// A 200 carrying the apology for a command that failed on our side.
    pub fn failed(response: &InteractionResponse) -> Self {
        Self { failed: true, ..Self::ok(response) }
    }

    /// The reply for a refused request: its status and a generic body.
    ///
    /// The body names only the class of problem; details go to the log, so a
    /// prober learns nothing about why a signature failed.
    pub fn from_error(error: &RequestError) -> Self {
        let (message, route) = match error {
            RequestError::TooLarge { .. } => ("request body too large", "too_large"),
            RequestError::Unverified(_) => ("invalid request signature", "unverified"),
            RequestError::Malformed(_) => ("malformed interaction", "malformed"),
        };
        let body = serde_json::to_vec(&serde_json::json!({ "error": message })).expect("json serialises");
        Self { status: error.status(), body, content_type: JSON, failed: false, route }
    }
}

impl From<RequestError> for HttpReply {
    fn from(error: RequestError) -> Self {
        Self::from_error(&error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::VerifyError;

    #[test]
    fn unverified_request_gets_a_generic_401() {
        let reply = HttpReply::from(RequestError::Unverified(VerifyError::MissingHeader("x-signature-ed25519")));
        assert_eq!(reply.status, 401);
        assert_eq!(reply.route, "unverified");
        assert!(!reply.failed);
        assert_eq!(reply.body, br#"{"error":"invalid request signature"}"#);
    }

    #[test]
    fn ok_reply_is_json_of_the_response() {
        let reply = HttpReply::ok(&InteractionResponse::Pong);
        assert_eq!((reply.status, reply.body.as_slice(), reply.content_type), (200, &br#"{"type":1}"#[..], JSON));
    }
}
