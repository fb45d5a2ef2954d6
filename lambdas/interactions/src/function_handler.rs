//! The Lambda entry: a thin adapter from a Function URL request to
//! [`InteractionHandler::handle_http`].

use lambda_http::http::{Response, header};
use lambda_http::{Body, Error, Request};
use timmybot_interactions::{HttpReply, InteractionHandler};

/// Handles one Function URL request.
///
/// lambda_http has already base64-decoded the body when the event says
/// `isBase64Encoded`, so `body` here is the exact bytes Discord signed; they
/// are passed on untouched (no UTF-8 round trip, no re-serialising).
///
/// # Errors
/// Only if the response cannot be built; every refusal is an HTTP status.
pub async fn function_handler(handler: &InteractionHandler, request: Request) -> Result<Response<Body>, Error> {
    let (parts, body) = request.into_parts();
    let reply = handler.handle_http(&parts.headers, &body).await;
    into_response(reply)
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
