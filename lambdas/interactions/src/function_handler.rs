//! The Lambda entry: a thin adapter from a Function URL request to
//! [`InteractionHandler::handle_http`], with one metrics record per
//! invocation.

use std::time::{Duration, Instant};

use lambda_http::http::{Response, header};
use lambda_http::{Body, Error, Request};
use timmybot_core::metrics::{
    INTERACTION_ERRORS, INTERACTION_KIND, INTERACTION_LATENCY, INTERACTIONS, INTERACTIONS_SERVICE, MetricRecord,
    MetricsRecorder, STATUS_CODE, Unit,
};
use timmybot_interactions::{HttpReply, InteractionHandler};

/// Handles one Function URL request and writes one metrics record to
/// `metrics` (EMF on stdout in production): interactions 1, the handler time, and
/// errors 1 only when the answer is a 5xx or the handler failed.
///
/// lambda_http has already base64-decoded the body when the event says
/// `isBase64Encoded`, so `body` here is the exact bytes Discord signed; they
/// are passed on untouched (no UTF-8 round trip, no re-serialising).
///
/// # Errors
/// Only if the response cannot be built; every refusal is an HTTP status.
pub async fn function_handler(
    handler: &InteractionHandler,
    metrics: &dyn MetricsRecorder,
    request: Request,
) -> Result<Response<Body>, Error> {
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    let reply = handler.handle_http(&parts.headers, &body).await;
    let kind = reply.route;
    let failed = reply.failed;
    let response = into_response(reply);
    let status = response.as_ref().ok().map(|r| r.status().as_u16());
    metrics.record(&invocation_record(started.elapsed(), status, failed, kind));
    response
}

/// The invocation's metrics record: [`INTERACTIONS`] = 1,
/// [`INTERACTION_LATENCY`] = handler time in milliseconds, and
/// [`INTERACTION_ERRORS`] = 1 when the command failed on our side (`failed`:
/// the bus or the allowlist store was unavailable; the member got a 200 with
/// an apology), the answer is a 5xx, or there is no answer (`status` is
/// `None`), else 0.
///
/// Refusals (401 bad signature, 400 malformed, 413 too large) are the
/// caller's fault, not ours: they count as interactions with 0 errors, and
/// `kind` says which refusal it was, so they can still be counted in Logs
/// Insights. The kind and the status are plain properties, not dimensions.
fn invocation_record(latency: Duration, status: Option<u16>, failed: bool, kind: &'static str) -> MetricRecord {
    let failed = failed || status.is_none_or(|s| s >= 500);
    MetricRecord::new(INTERACTIONS_SERVICE)
        .metric(INTERACTION_LATENCY, Unit::Milliseconds, latency.as_secs_f64() * 1000.0)
        .metric(INTERACTION_ERRORS, Unit::Count, if failed { 1.0 } else { 0.0 })
        .metric(INTERACTIONS, Unit::Count, 1.0)
        .property(INTERACTION_KIND, kind)
        .property(STATUS_CODE, status.map_or_else(|| "none".to_owned(), |s| s.to_string()))
}

fn into_response(reply: HttpReply) -> Result<Response<Body>, Error> {
    // JSON is text; sending it as Text keeps the Function URL response
    // un-encoded (Binary would be base64'd and decoded again by AWS).
    let body = match String::from_utf8(reply.body) {
        Ok(text) => Body::Text(text),
        Err(bytes) => Body::Binary(bytes.into_bytes()),
    };
    Ok(Response::builder().status(reply.status).header(header::CONTENT_TYPE, reply.content_type).body(body)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_failures_count_as_errors() {
        for (status, failed, errors) in [
            (Some(500), false, 1.0),
            (Some(503), false, 1.0),
            (None, false, 1.0),
            (Some(200), false, 0.0),
            (Some(200), true, 1.0),
            (Some(401), false, 0.0),
        ] {
            let record = invocation_record(Duration::from_millis(3), status, failed, "ping");
            assert_eq!(record.value(INTERACTION_ERRORS), Some(errors), "status {status:?}");
            assert_eq!(record.value(INTERACTIONS), Some(1.0));
            assert_eq!(record.value(INTERACTION_LATENCY), Some(3.0));
        }
    }
}
