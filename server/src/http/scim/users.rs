//! `/scim/v2/Users`: the account's users as its identity provider sees them — created, read,
//! listed with a filter and a page, replaced, patched (RFC 7644 §3.5.2) and deleted. A user's
//! JSON is read into the few attributes Tally keeps ([`Editable`]), checked by `core` with the
//! Users page's rules, and written by the services; attributes Tally does not keep (a title, a
//! phone number) are ignored, as identity providers expect of an application.

use std::collections::HashMap;

use axum::{
    body::Bytes,
    extract::{Path, Query, State},
    http::{header, HeaderValue, StatusCode},
    response::Response,
    Extension,
};
use serde_json::{json, Map, Value};
use tally_core::{
    forms::{external_id, NewUserInput},
    scim::{page, parse_filter, USER_SCHEMA},
};
use tally_services::directory::users::{
    scim::{ScimOrService, ScimRefusal, ScimUserInput},
    UserRecord,
};

use super::{body_json, list_response, location, scim_json, Provider, ScimError};
use crate::http::AppState;

const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

impl From<ScimOrService> for ScimError {
    fn from(e: ScimOrService) -> Self {
        match e {
            ScimOrService::Service(e) => e.into(),
            ScimOrService::Refused(ScimRefusal::Uniqueness(why)) => {
                ScimError::new(StatusCode::CONFLICT, Some("uniqueness"), why)
            }
            ScimOrService::Refused(ScimRefusal::Closed) => ScimError::new(
                StatusCode::BAD_REQUEST,
                Some("mutability"),
                "The account is closed: its users can be read, not changed.",
            ),
        }
    }
}

/// A user's JSON: the SCIM resource.
fn resource(state: &AppState, u: &UserRecord) -> Value {
    let time = |millis: i64| {
        chrono::DateTime::from_timestamp_millis(millis)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    let mut v = json!({
        "schemas": [USER_SCHEMA],
        "id": u.id,
        "userName": u.user_name,
        "name": {"givenName": u.first_name, "familyName": u.last_name},
        "emails": [{"value": u.email}],
        "active": u.status.is_seat(),
        "meta": {
            "resourceType": "User",
            "created": time(u.created_at),
            "lastModified": time(u.updated_at),
            "location": location(state, &format!("/Users/{}", u.id)),
        },
    });
    if let Some(x) = &u.external_id {
        v["externalId"] = json!(x);
    }
    v
}

/// The attributes Tally keeps of a user, as a request left them.
#[derive(Clone, Debug, Default, PartialEq)]
struct Editable {
    user_name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    email: Option<String>,
    external_id: Option<String>,
    active: Option<bool>,
}

impl Editable {
    fn of(u: &UserRecord) -> Self {
        Editable {
            user_name: Some(u.user_name.clone()),
            given_name: Some(u.first_name.clone()),
            family_name: Some(u.last_name.clone()),
            email: Some(u.email.clone()),
            external_id: u.external_id.clone(),
            active: Some(u.status.is_seat()),
        }
    }

    /// Checked with the Users page's rules; the field names are SCIM's.
    fn checked(&self) -> Result<ScimUserInput, ScimError> {
        let email = self.email.clone().or_else(|| {
            self.user_name
                .clone()
                .filter(|n| tally_core::contact::Email::parse(n).is_ok())
        });
        let input = NewUserInput {
            first_name: self.given_name.clone().unwrap_or_default(),
            last_name: self.family_name.clone().unwrap_or_default(),
            email: email.unwrap_or_default(),
        };
        let mut problems = Vec::new();
        let user = match input.parse() {
            Ok(u) => Some(u),
            Err(errors) => {
                for (field, message) in errors.iter() {
                    let name = match field {
                        "first_name" => "name.givenName",
                        "last_name" => "name.familyName",
                        "email" => "emails",
                        other => other,
                    };
                    problems.push(format!("{name}: {message}"));
                }
                None
            }
        };
        let user_name = match self.user_name.as_deref().map(external_id) {
            Some(Ok(Some(n))) => Some(n),
            Some(Err(m)) => {
                problems.push(format!("userName: {m}"));
                None
            }
            _ => {
                problems.push("userName: Send the user's userName.".into());
                None
            }
        };
        let external = match self.external_id.as_deref().map(external_id) {
            Some(Err(m)) => {
                problems.push(format!("externalId: {m}"));
                None
            }
            Some(Ok(x)) => x,
            None => None,
        };
        match (user, user_name) {
            (Some(user), Some(user_name)) if problems.is_empty() => Ok(ScimUserInput {
                user,
                user_name,
                external_id: external,
                active: self.active.unwrap_or(true),
            }),
            _ => Err(ScimError::invalid_value(problems.join(" "))),
        }
    }

    /// Sets the attribute at `path` (lower-cased, without the schema's URN) to `value`.
    fn set(&mut self, path: &str, value: &Value) -> Result<(), ScimError> {
        match path {
            "username" => self.user_name = Some(text(value, "userName")?),
            "externalid" => self.external_id = Some(text(value, "externalId")?),
            "active" => self.active = Some(boolean(value)?),
            "name" => {
                let Value::Object(name) = value else {
                    return Err(ScimError::invalid_value(
                        "name is an object with givenName and familyName.",
                    ));
                };
                for (k, v) in name {
                    self.set(&format!("name.{}", k.to_ascii_lowercase()), v)?;
                }
            }
            "name.givenname" => self.given_name = Some(text(value, "name.givenName")?),
            "name.familyname" => self.family_name = Some(text(value, "name.familyName")?),
            "emails" => self.email = Some(primary_email(value)?),
            p if p == "emails.value" || (p.starts_with("emails[") && p.ends_with("].value")) => {
                self.email = Some(text(value, "emails.value")?)
            }
            _ => {}
        }
        Ok(())
    }

    /// Removes the attribute at `path`: only externalId may go; every other one Tally keeps
    /// is required.
    fn remove(&mut self, path: &str) -> Result<(), ScimError> {
        match path {
            "externalid" => self.external_id = None,
            "username" | "name" | "name.givenname" | "name.familyname" | "emails"
            | "emails.value" | "active" => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("mutability"),
                    format!("{path} is required: replace it instead of removing it."),
                ))
            }
            _ => {}
        }
        Ok(())
    }

    /// A whole resource's attributes, as POST and PUT send them.
    fn from_resource(body: &Value) -> Result<Self, ScimError> {
        let Value::Object(attrs) = body else {
            return Err(ScimError::invalid_syntax("Send the user as a JSON object."));
        };
        let mut e = Editable::default();
        for (k, v) in flatten_extension(attrs) {
            if v.is_null() {
                continue;
            }
            e.set(&attribute_path(&k), &v)?;
        }
        Ok(e)
    }
}

/// The attributes of an object, with those sent under the User schema's URN (as some
/// providers do) brought to the top.
fn flatten_extension(attrs: &Map<String, Value>) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    for (k, v) in attrs {
        if k.eq_ignore_ascii_case(USER_SCHEMA) {
            if let Value::Object(inner) = v {
                out.extend(inner.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        } else {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

/// A path lower-cased, without the User schema's URN in front.
fn attribute_path(path: &str) -> String {
    let lower = path.trim().to_ascii_lowercase();
    let urn = format!("{}:", USER_SCHEMA.to_ascii_lowercase());
    lower.strip_prefix(&urn).map(str::to_owned).unwrap_or(lower)
}

fn text(value: &Value, name: &str) -> Result<String, ScimError> {
    value
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| ScimError::invalid_value(format!("{name} is a string.")))
}

/// A boolean, or the strings some providers send for one (`"True"`).
fn boolean(value: &Value) -> Result<bool, ScimError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::invalid_value("active is true or false.")),
    }
}

/// The address Tally keeps of `emails`: the primary one, or the first.
fn primary_email(value: &Value) -> Result<String, ScimError> {
    let emails = match value {
        Value::Array(a) => a.clone(),
        Value::Object(_) => vec![value.clone()],
        _ => {
            return Err(ScimError::invalid_value(
                "emails is a list of {\"value\": …}.",
            ))
        }
    };
    let chosen = emails
        .iter()
        .find(|e| e["primary"] == json!(true))
        .or_else(|| emails.first())
        .ok_or_else(|| ScimError::invalid_value("emails: send at least one address."))?;
    text(&chosen["value"], "emails.value")
}

/// Applies a PatchOp's operations to `e`.
fn apply_patch(e: &mut Editable, body: &Value) -> Result<(), ScimError> {
    let schemas_ok = body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x == PATCH_SCHEMA));
    let Some(ops) = body["Operations"].as_array().filter(|_| schemas_ok) else {
        return Err(ScimError::invalid_syntax(format!(
            "Send a PatchOp: {{\"schemas\": [\"{PATCH_SCHEMA}\"], \"Operations\": [...]}}."
        )));
    };
    for op in ops {
        let kind = op["op"].as_str().unwrap_or("").to_ascii_lowercase();
        let path = op["path"].as_str().map(attribute_path);
        match (kind.as_str(), path) {
            ("add" | "replace", Some(path)) => e.set(&path, &op["value"])?,
            ("add" | "replace", None) => {
                let Value::Object(attrs) = &op["value"] else {
                    return Err(ScimError::invalid_syntax(
                        "An operation without a path takes an object of attributes as its value.",
                    ));
                };
                for (k, v) in flatten_extension(attrs) {
                    e.set(&attribute_path(&k), &v)?;
                }
            }
            ("remove", Some(path)) => e.remove(&path)?,
            ("remove", None) => {
                return Err(ScimError::new(
                    StatusCode::BAD_REQUEST,
                    Some("noTarget"),
                    "A remove operation needs a path.",
                ))
            }
            (other, _) => {
                return Err(ScimError::invalid_syntax(format!(
                    "Unknown operation \"{other}\": use add, replace or remove."
                )))
            }
        }
    }
    Ok(())
}

/// `attributes` / `excludedAttributes`: which of a resource's attributes an answer carries.
#[derive(Clone, Debug, Default)]
struct Projection {
    attributes: Option<Vec<String>>,
    excluded: Vec<String>,
}

impl Projection {
    fn of(attributes: Option<&str>, excluded: Option<&str>) -> Self {
        let names = |s: &str| {
            s.split(',')
                .map(|a| attribute_path(a).split('.').next().unwrap_or("").to_owned())
                .filter(|a| !a.is_empty())
                .collect::<Vec<_>>()
        };
        Projection {
            attributes: attributes.map(names),
            excluded: excluded.map(names).unwrap_or_default(),
        }
    }

    /// `v` with only the attributes asked for; `id` and `schemas` always.
    fn apply(&self, mut v: Value) -> Value {
        if let Value::Object(map) = &mut v {
            map.retain(|k, _| {
                let lower = k.to_ascii_lowercase();
                if lower == "id" || lower == "schemas" {
                    return true;
                }
                let asked = self.attributes.as_ref().is_none_or(|a| a.contains(&lower));
                asked && !self.excluded.contains(&lower)
            });
        }
        v
    }
}

fn created_response(state: &AppState, u: &UserRecord) -> Response {
    let body = resource(state, u);
    let mut res = scim_json(StatusCode::CREATED, &body);
    if let Ok(loc) = HeaderValue::from_str(&location(state, &format!("/Users/{}", u.id))) {
        res.headers_mut().insert(header::LOCATION, loc);
    }
    res
}

/// The query string of a list, read leniently as identity providers send it.
fn number(params: &HashMap<String, String>, name: &str) -> Result<Option<i64>, ScimError> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| {
            v.trim()
                .parse::<i64>()
                .map_err(|_| ScimError::invalid_value(format!("{name} is a whole number.")))
        })
        .transpose()
}

fn param<'a>(params: &'a HashMap<String, String>, name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

async fn list_users(
    state: &AppState,
    provider: &Provider,
    filter: Option<&str>,
    start_index: Option<i64>,
    count: Option<i64>,
    projection: &Projection,
) -> Result<Response, ScimError> {
    let filter = filter
        .filter(|f| !f.trim().is_empty())
        .map(|f| {
            parse_filter(f)
                .map_err(|m| ScimError::new(StatusCode::BAD_REQUEST, Some("invalidFilter"), m))
        })
        .transpose()?;
    let (offset, limit) = page(start_index, count);
    let (total, users) = state
        .services
        .scim
        .list(&provider.0, filter.as_ref(), offset, limit)
        .await?;
    let resources = users
        .iter()
        .map(|u| projection.apply(resource(state, u)))
        .collect();
    Ok(scim_json(
        StatusCode::OK,
        &list_response(total, offset + 1, resources),
    ))
}

pub async fn list(
    State(state): State<AppState>,
    Extension(provider): Extension<Provider>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let projection = Projection::of(
        param(&params, "attributes"),
        param(&params, "excludedAttributes"),
    );
    list_users(
        &state,
        &provider,
        param(&params, "filter"),
        number(&params, "startIndex")?,
        number(&params, "count")?,
        &projection,
    )
    .await
}

/// `POST /Users/.search`: a list asked for in a body.
pub async fn search(
    State(state): State<AppState>,
    Extension(provider): Extension<Provider>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let body = body_json(&body)?;
    if !body["schemas"]
        .as_array()
        .is_some_and(|s| s.iter().any(|x| x == SEARCH_SCHEMA))
    {
        return Err(ScimError::invalid_syntax(format!(
            "Send a SearchRequest ({SEARCH_SCHEMA})."
        )));
    }
    let joined = |v: &Value| match v {
        Value::Array(a) => Some(
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
        ),
        Value::String(s) => Some(s.clone()),
        _ => None,
    };
    let projection = Projection::of(
        joined(&body["attributes"]).as_deref(),
        joined(&body["excludedAttributes"]).as_deref(),
    );
    list_users(
        &state,
        &provider,
        body["filter"].as_str(),
        body["startIndex"].as_i64(),
        body["count"].as_i64(),
        &projection,
    )
    .await
}

pub async fn get(
    State(state): State<AppState>,
    Extension(provider): Extension<Provider>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Result<Response, ScimError> {
    let user = state.services.scim.get(&provider.0, &id).await?;
    let projection = Projection::of(
        param(&params, "attributes"),
        param(&params, "excludedAttributes"),
    );
    Ok(scim_json(
        StatusCode::OK,
        &projection.apply(resource(&state, &user)),
    ))
}

pub async fn create(
    State(state): State<AppState>,
    Extension(provider): Extension<Provider>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let input = Editable::from_resource(&body_json(&body)?)?.checked()?;
    let user = state.services.scim.create(&provider.0, &input).await?;
    Ok(created_response(&state, &user))
}

pub async fn replace(
    State(state): State<AppState>,
    Extension(provider): Extension<Provider>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ScimError> {
    // Not found before the body is judged.
    state.services.scim.get(&provider.0, &id).await?;
    let input = Editable::from_resource(&body_json(&body)?)?.checked()?;
    let user = state
        .services
        .scim
        .replace(&provider.0, &id, &input)
        .await?;
    Ok(scim_json(StatusCode::OK, &resource(&state, &user)))
}

pub async fn patch(
    State(state): State<AppState>,
    Extension(provider): Extension<Provider>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ScimError> {
    let current = state.services.scim.get(&provider.0, &id).await?;
    let mut editable = Editable::of(&current);
    apply_patch(&mut editable, &body_json(&body)?)?;
    if editable == Editable::of(&current) {
        return Ok(scim_json(StatusCode::OK, &resource(&state, &current)));
    }
    let input = editable.checked()?;
    let user = state
        .services
        .scim
        .replace(&provider.0, &id, &input)
        .await?;
    Ok(scim_json(StatusCode::OK, &resource(&state, &user)))
}

pub async fn delete(
    State(state): State<AppState>,
    Extension(provider): Extension<Provider>,
    Path(id): Path<String>,
) -> Result<StatusCode, ScimError> {
    state.services.scim.delete(&provider.0, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> Editable {
        Editable {
            user_name: Some("ada".into()),
            given_name: Some("Ada".into()),
            family_name: Some("Byron".into()),
            email: Some("ada@example.com".into()),
            external_id: Some("00u1".into()),
            active: Some(true),
        }
    }

    fn ops(ops: Value) -> Value {
        json!({"schemas": [PATCH_SCHEMA], "Operations": ops})
    }

    #[test]
    fn the_patches_identity_providers_send_apply() {
        // Entra ID: a path and a string for a boolean.
        let mut e = user();
        apply_patch(
            &mut e,
            &ops(json!([{"op": "Replace", "path": "active", "value": "False"}])),
        )
        .unwrap();
        assert_eq!(e.active, Some(false));
        // Okta: no path, an object.
        let mut e = user();
        apply_patch(&mut e, &ops(json!([{"op": "replace", "value": {"active": false, "name": {"givenName": "Augusta"}}}]))).unwrap();
        assert_eq!(
            (e.active, e.given_name.as_deref()),
            (Some(false), Some("Augusta"))
        );
        // A filtered email path, an unknown attribute ignored, externalId removed.
        let mut e = user();
        apply_patch(&mut e, &ops(json!([
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "ada@lovelace.test"},
            {"op": "add", "path": "title", "value": "Countess"},
            {"op": "remove", "path": "externalId"},
        ]))).unwrap();
        assert_eq!(
            (e.email.as_deref(), e.external_id.as_deref()),
            (Some("ada@lovelace.test"), None)
        );
        // A required attribute cannot be removed; an unknown op is refused.
        assert_eq!(
            apply_patch(
                &mut user(),
                &ops(json!([{"op": "remove", "path": "userName"}]))
            )
            .unwrap_err()
            .scim_type,
            Some("mutability")
        );
        assert_eq!(
            apply_patch(
                &mut user(),
                &ops(json!([{"op": "move", "path": "userName"}]))
            )
            .unwrap_err()
            .scim_type,
            Some("invalidSyntax")
        );
        assert_eq!(
            apply_patch(&mut user(), &json!({"Operations": []}))
                .unwrap_err()
                .scim_type,
            Some("invalidSyntax")
        );
    }

    #[test]
    fn a_resource_is_checked_with_the_users_pages_rules() {
        let body = json!({"schemas": [USER_SCHEMA], "userName": "ada@example.com", "name": {"givenName": "Ada", "familyName": "Byron"}, "active": false});
        let input = Editable::from_resource(&body).unwrap().checked().unwrap();
        assert_eq!(
            input.user.email.as_str(),
            "ada@example.com",
            "the userName is the address when no email is sent"
        );
        assert!(!input.active);
        let bad = json!({"userName": "ada", "name": {"givenName": "", "familyName": "Byron"}, "emails": [{"value": "not-an-address"}]});
        let e = Editable::from_resource(&bad)
            .unwrap()
            .checked()
            .unwrap_err();
        assert!(
            e.detail.contains("name.givenName: ") && e.detail.contains("emails: "),
            "{}",
            e.detail
        );
    }

    #[test]
    fn attributes_choose_what_an_answer_carries() {
        let v =
            json!({"schemas": [], "id": "1", "userName": "a", "externalId": "x", "active": true});
        let only = Projection::of(Some("externalId"), None).apply(v.clone());
        assert_eq!(only, json!({"schemas": [], "id": "1", "externalId": "x"}));
        let without = Projection::of(
            None,
            Some("urn:ietf:params:scim:schemas:core:2.0:User:active,id"),
        )
        .apply(v);
        assert_eq!(
            without,
            json!({"schemas": [], "id": "1", "userName": "a", "externalId": "x"})
        );
    }
}
