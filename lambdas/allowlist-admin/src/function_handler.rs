//! The Lambda entry: a thin adapter from an IAM-authenticated Function URL
//! request to [`AdminApi::handle`].

use lambda_http::http::{Response, header};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Error, Request, RequestExt};
use timmybot_allowlist::admin_api::{AdminApi, AdminRequest, AdminResponse};
use timmybot_core::Actor;

/// Handles one Function URL request.
///
/// AWS has already checked the SigV4 signature (the Function URL's auth type
/// is `AWS_IAM`) and put the caller's identity into the request context;
/// that ARN becomes the audit trail's [`Actor::Iam`]. A request without it is
/// refused with 401 before the API sees it: should the URL ever be switched
/// to `NONE`, the Lambda still never acts anonymously.
///
/// The API lives at the URL root, so the request's raw path is the API path.
///
/// # Errors
/// Only if the response cannot be built; every refusal is an HTTP status.
pub async fn function_handler(api: &AdminApi, request: Request) -> Result<Response<Body>, Error> {
    let Some(arn) = caller_arn(&request) else {
        tracing::warn!(method = %request.method(), "admin request without an IAM identity refused");
        return into_response(&AdminResponse::unauthorized());
    };
    // rawPath as the client sent it (lambda_http keeps it); a request built
    // without that extension falls back to the URI's path.
    let path = match request.raw_http_path() {
        "" => request.uri().path().to_owned(),
        raw => raw.to_owned(),
    };
    let query = request.uri().query().map(str::to_owned);
    let (parts, body) = request.into_parts();
    let response = api
        .handle(AdminRequest {
            method: &parts.method,
            path: &path,
            query: query.as_deref(),
            body: &body,
            caller: Actor::Iam(arn.clone()),
        })
        .await;
    tracing::info!(method = %parts.method, path = %path, caller = %arn, status = response.status, "admin request");
    into_response(&response)
}

/// The caller's IAM ARN, only from an API Gateway v2 shaped context (what
/// Function URLs send) whose IAM authorizer names a principal.
fn caller_arn(request: &Request) -> Option<String> {
    let Some(RequestContext::ApiGatewayV2(context)) = request.request_context_ref() else { return None };
    let arn = context.authorizer.as_ref()?.iam.as_ref()?.user_arn.as_deref()?.trim();
    // Every IAM principal's ARN starts so; anything else is not an identity.
    arn.starts_with("arn:").then(|| arn.to_owned())
}

fn into_response(response: &AdminResponse) -> Result<Response<Body>, Error> {
    // JSON is text; sending it as Text keeps the Function URL response
    // un-encoded (Binary would be base64'd and decoded again by AWS).
    let body = serde_json::to_string(&response.body)?;
    Ok(Response::builder()
        .status(response.status)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::Text(body))?)
}
