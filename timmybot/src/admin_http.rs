//! The allowlist admin API ([`timmybot_allowlist::admin_api`]) on the local
//! HTTP server, under [`MOUNT`], behind the admin token.
//!
//! The Lambda serves the same API behind IAM; here the only credential is a
//! bearer token read from the secret store ([`ADMIN_TOKEN_SECRET`]). Without
//! a token the routes do not exist at all, so a self-hoster who never set
//! one has no admin surface to attack.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use subtle::ConstantTimeEq;
use timmybot_allowlist::admin_api::{AdminApi, AdminRequest, AdminResponse, MAX_BODY_BYTES};
use timmybot_core::{Actor, Secret};

/// The name of the admin token in the secret store.
pub const ADMIN_TOKEN_SECRET: &str = "admin-token";

/// Where the API is mounted on the local server.
pub const MOUNT: &str = "/admin/allowlist";

#[derive(Clone)]
struct AdminState {
    api: AdminApi,
    token: Arc<Secret>,
}

/// Every method under `/admin/allowlist` and `/admin/allowlist/{*rest}`,
/// answered by `api` as [`Actor::AdminToken`] once `Authorization: Bearer
/// <token>` matches `token`.
///
/// A missing or wrong token is 401 before the body is read or the API is
/// called. `token == None` (or blank) gives a router with no routes: the
/// admin API is off and its paths are 404. Bodies over 16 KiB are 413.
/// Neither the token nor the `Authorization` header is ever logged.
pub fn admin_router(api: AdminApi, token: Option<Secret>) -> Router {
    let Some(token) = token.filter(|t| !t.expose().trim().is_empty()) else {
        return Router::new();
    };
    let state = AdminState { api, token: Arc::new(token) };
    Router::new().route(MOUNT, any(serve)).route(&format!("{MOUNT}/{{*rest}}"), any(serve)).with_state(state)
}

async fn serve(State(state): State<AdminState>, method: Method, uri: Uri, headers: HeaderMap, body: Body) -> Response {
    // Authenticate before reading the body: an anonymous caller cannot make
    // the server buffer anything.
    if !bearer_matches(&headers, &state.token) {
        tracing::info!(method = %method, path = uri.path(), "admin request refused: missing or wrong token");
        let mut response = json_response(&AdminResponse::unauthorized());
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let body = match read_body(body).await {
        Ok(body) => body,
        Err(response) => return json_response(&response),
    };
    let path = match uri.path().strip_prefix(MOUNT) {
        Some("") | None => "/",
        Some(rest) => rest,
    };
    let response = state
        .api
        .handle(AdminRequest { method: &method, path, query: uri.query(), body: &body, caller: Actor::AdminToken })
        .await;
    tracing::info!(method = %method, path, status = response.status, "admin request");
    json_response(&response)
}

/// Reads at most [`MAX_BODY_BYTES`]; more is 413 without reading further.
async fn read_body(body: Body) -> Result<axum::body::Bytes, AdminResponse> {
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => Ok(bytes),
        Err(error) => {
            let inner = error.into_inner();
            let too_large = inner.is::<http_body_util::LengthLimitError>()
                || inner.source().is_some_and(|source| source.is::<http_body_util::LengthLimitError>());
            Err(if too_large {
                AdminResponse::error(413, "too_large", format!("bodies are limited to {MAX_BODY_BYTES} bytes"))
            } else {
                AdminResponse::error(400, "bad_request", "the request body could not be read")
            })
        }
    }
}

/// Whether the request carries `Authorization: Bearer <token>`.
///
/// The comparison is constant-time over the token's bytes, so response
/// timing does not reveal how much of a guess was right.
fn bearer_matches(headers: &HeaderMap, token: &Secret) -> bool {
    let Some(value) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else { return false };
    let Some((scheme, credential)) = value.trim().split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("bearer") {
        return false;
    }
    let credential = credential.trim();
    !credential.is_empty() && bool::from(credential.as_bytes().ct_eq(token.expose().as_bytes()))
}

fn json_response(response: &AdminResponse) -> Response {
    let status = StatusCode::from_u16(response.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [(header::CONTENT_TYPE, "application/json")], response.body.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(authorization: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_str(authorization).unwrap());
        headers
    }

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let token = Secret::new("s3cret-token");
        assert!(bearer_matches(&headers("Bearer s3cret-token"), &token));
        assert!(bearer_matches(&headers("bearer  s3cret-token "), &token));
        for wrong in ["Bearer s3cret-toke", "Bearer s3cret-token2", "Basic s3cret-token", "Bearer ", "s3cret-token"] {
            assert!(!bearer_matches(&headers(wrong), &token), "{wrong}");
        }
        assert!(!bearer_matches(&HeaderMap::new(), &token));
    }
}
