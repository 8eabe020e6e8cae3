//! The discovery endpoints (RFC 7644 §4): what this service provider supports, its one
//! resource type (User) and the schemas — the User attributes Tally keeps, and the three
//! schemas that describe the discovery resources themselves (RFC 7643 §5–§7).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde_json::{json, Value};
use tally_core::scim::{SCIM_MAX_RESULTS, USER_SCHEMA};

use super::{list_response, location, scim_json, ScimError};
use crate::http::AppState;

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RESOURCE_TYPE_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

/// How an attribute is described (RFC 7643 §7).
struct Attr {
    name: &'static str,
    kind: &'static str,
    required: bool,
    multi: bool,
    mutability: &'static str,
    case_exact: bool,
    uniqueness: &'static str,
    description: &'static str,
    sub: Vec<Value>,
    reference_types: &'static [&'static str],
    canonical: &'static [&'static str],
}

impl Attr {
    fn new(name: &'static str, kind: &'static str, description: &'static str) -> Self {
        Attr {
            name,
            kind,
            required: false,
            multi: false,
            mutability: "readOnly",
            case_exact: false,
            uniqueness: "none",
            description,
            sub: Vec::new(),
            reference_types: &[],
            canonical: &[],
        }
    }
    fn required(mut self) -> Self {
        self.required = true;
        self
    }
    fn multi(mut self) -> Self {
        self.multi = true;
        self
    }
    fn writable(mut self) -> Self {
        self.mutability = "readWrite";
        self
    }
    fn case_exact(mut self) -> Self {
        self.case_exact = true;
        self
    }
    fn unique(mut self) -> Self {
        self.uniqueness = "server";
        self
    }
    fn sub(mut self, sub: Vec<Value>) -> Self {
        self.sub = sub;
        self
    }
    fn refs(mut self, types: &'static [&'static str]) -> Self {
        self.reference_types = types;
        self
    }
    fn canonical(mut self, values: &'static [&'static str]) -> Self {
        self.canonical = values;
        self
    }
    fn done(self) -> Value {
        let mut v = json!({
            "name": self.name,
            "type": self.kind,
            "multiValued": self.multi,
            "description": self.description,
            "required": self.required,
            "mutability": self.mutability,
            "returned": "default",
        });
        if matches!(self.kind, "string" | "reference" | "binary") {
            v["caseExact"] = json!(self.case_exact);
            v["uniqueness"] = json!(self.uniqueness);
        }
        if !self.sub.is_empty() {
            v["subAttributes"] = json!(self.sub);
        }
        if !self.reference_types.is_empty() {
            v["referenceTypes"] = json!(self.reference_types);
        }
        if !self.canonical.is_empty() {
            v["canonicalValues"] = json!(self.canonical);
        }
        v
    }
}

/// The User attributes Tally keeps: every one of them required but the common `externalId`.
fn user_attributes() -> Vec<Value> {
    vec![
        Attr::new(
            "userName",
            "string",
            "The identity provider's unique name for the user; without one, their address.",
        )
        .required()
        .writable()
        .unique()
        .done(),
        Attr::new("name", "complex", "The user's name.")
            .required()
            .writable()
            .sub(vec![
                Attr::new("givenName", "string", "First name.")
                    .required()
                    .writable()
                    .done(),
                Attr::new("familyName", "string", "Last name.")
                    .required()
                    .writable()
                    .done(),
            ])
            .done(),
        // One address, and no `primary` flag kept: of several sent, the one marked primary (or
        // the first) is the user's.
        Attr::new(
            "emails",
            "complex",
            "The user's address: Tally keeps one, the primary (or the first) of those sent.",
        )
        .required()
        .multi()
        .writable()
        .sub(vec![Attr::new("value", "string", "The address.")
            .required()
            .writable()
            .done()])
        .done(),
        Attr::new(
            "active",
            "boolean",
            "False deactivates the user: kept, but no longer a seat from that moment.",
        )
        .required()
        .writable()
        .done(),
    ]
}

/// The attributes describing an attribute, for the Schema schema (one level deeper without
/// `subAttributes`).
fn attribute_description(with_sub: bool) -> Vec<Value> {
    let types: &'static [&'static str] = &[
        "string",
        "complex",
        "boolean",
        "decimal",
        "integer",
        "dateTime",
        "reference",
        "binary",
    ];
    let mut attrs = vec![
        Attr::new("name", "string", "The attribute's name.")
            .required()
            .case_exact()
            .done(),
        Attr::new("type", "string", "The attribute's data type.")
            .required()
            .canonical(types)
            .done(),
        Attr::new("multiValued", "boolean", "Whether it has several values.")
            .required()
            .done(),
        Attr::new("description", "string", "What it is.").done(),
        Attr::new("required", "boolean", "Whether it is required.").done(),
        Attr::new("canonicalValues", "string", "Its usual values.")
            .multi()
            .done(),
        Attr::new(
            "caseExact",
            "boolean",
            "Whether its values compare with case.",
        )
        .done(),
        Attr::new("mutability", "string", "Whether and when it can change.")
            .canonical(&["readOnly", "readWrite", "immutable", "writeOnly"])
            .done(),
        Attr::new("returned", "string", "When it is returned.")
            .canonical(&["always", "never", "default", "request"])
            .done(),
        Attr::new("uniqueness", "string", "How unique its values are.")
            .canonical(&["none", "server", "global"])
            .done(),
        Attr::new("referenceTypes", "string", "What a reference may point to.")
            .multi()
            .done(),
    ];
    if with_sub {
        attrs.push(
            Attr::new(
                "subAttributes",
                "complex",
                "The attributes of a complex attribute.",
            )
            .multi()
            .sub(attribute_description(false))
            .done(),
        );
    }
    attrs
}

fn schema_resource(
    state: &AppState,
    id: &str,
    name: &str,
    description: &str,
    attributes: Vec<Value>,
) -> Value {
    json!({
        "schemas": [SCHEMA_SCHEMA],
        "id": id,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": location(state, &format!("/Schemas/{id}"))},
    })
}

fn all_schemas(state: &AppState) -> Vec<Value> {
    let supported = |name: &'static str, d: &'static str| {
        Attr::new(name, "complex", d)
            .required()
            .sub(vec![Attr::new(
                "supported",
                "boolean",
                "Whether it is supported.",
            )
            .required()
            .done()])
            .done()
    };
    vec![
        schema_resource(
            state,
            USER_SCHEMA,
            "User",
            "A user of the account: a seat while active.",
            user_attributes(),
        ),
        schema_resource(
            state,
            SPC_SCHEMA,
            "ServiceProviderConfig",
            "What this service provider supports.",
            vec![
                Attr::new(
                    "documentationUri",
                    "reference",
                    "Help for this service provider.",
                )
                .refs(&["external"])
                .done(),
                supported("patch", "PATCH."),
                Attr::new("bulk", "complex", "Bulk operations.")
                    .required()
                    .sub(vec![
                        Attr::new("supported", "boolean", "Whether it is supported.")
                            .required()
                            .done(),
                        Attr::new("maxOperations", "integer", "The most operations at once.")
                            .required()
                            .done(),
                        Attr::new("maxPayloadSize", "integer", "The largest payload.")
                            .required()
                            .done(),
                    ])
                    .done(),
                Attr::new("filter", "complex", "Filters.")
                    .required()
                    .sub(vec![
                        Attr::new("supported", "boolean", "Whether it is supported.")
                            .required()
                            .done(),
                        Attr::new("maxResults", "integer", "The most results a list gives.")
                            .required()
                            .done(),
                    ])
                    .done(),
                supported("changePassword", "Changing passwords."),
                supported("sort", "Sorting."),
                supported("etag", "ETags."),
                Attr::new("authenticationSchemes", "complex", "How to authenticate.")
                    .required()
                    .multi()
                    .sub(vec![
                        Attr::new("type", "string", "The scheme's type.")
                            .required()
                            .done(),
                        Attr::new("name", "string", "Its name.").required().done(),
                        Attr::new("description", "string", "What it is.")
                            .required()
                            .done(),
                        Attr::new("specUri", "reference", "Its specification.")
                            .refs(&["external"])
                            .done(),
                        Attr::new("documentationUri", "reference", "Help with it.")
                            .refs(&["external"])
                            .done(),
                    ])
                    .done(),
            ],
        ),
        schema_resource(
            state,
            RESOURCE_TYPE_SCHEMA,
            "ResourceType",
            "A type of resource this service provider serves.",
            vec![
                Attr::new("id", "string", "Its id.").done(),
                Attr::new("name", "string", "Its name.").required().done(),
                Attr::new("description", "string", "What it is.").done(),
                Attr::new("endpoint", "reference", "Where it is served.")
                    .required()
                    .refs(&["uri"])
                    .done(),
                Attr::new("schema", "reference", "Its core schema.")
                    .required()
                    .case_exact()
                    .refs(&["uri"])
                    .done(),
                Attr::new("schemaExtensions", "complex", "Its extensions.")
                    .multi()
                    .sub(vec![
                        Attr::new("schema", "reference", "The extension's schema.")
                            .required()
                            .case_exact()
                            .refs(&["uri"])
                            .done(),
                        Attr::new("required", "boolean", "Whether it is required.")
                            .required()
                            .done(),
                    ])
                    .done(),
            ],
        ),
        schema_resource(
            state,
            SCHEMA_SCHEMA,
            "Schema",
            "A schema: the attributes of a resource.",
            vec![
                Attr::new("id", "string", "The schema's URN.")
                    .required()
                    .done(),
                Attr::new("name", "string", "Its name.").done(),
                Attr::new("description", "string", "What it describes.").done(),
                Attr::new("attributes", "complex", "Its attributes.")
                    .required()
                    .multi()
                    .sub(attribute_description(true))
                    .done(),
            ],
        ),
    ]
}

fn user_resource_type(state: &AppState) -> Value {
    json!({
        "schemas": [RESOURCE_TYPE_SCHEMA],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "The account's users: the seats it is billed for.",
        "schema": USER_SCHEMA,
        "meta": {"resourceType": "ResourceType", "location": location(state, "/ResourceTypes/User")},
    })
}

pub async fn service_provider_config(State(state): State<AppState>) -> Response {
    scim_json(
        StatusCode::OK,
        &json!({
            "schemas": [SPC_SCHEMA],
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": SCIM_MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "Bearer token",
                "description": "A SCIM token made on the account's Users page, sent as Authorization: Bearer scim_….",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": location(&state, "/ServiceProviderConfig")},
        }),
    )
}

pub async fn resource_types(State(state): State<AppState>) -> Response {
    scim_json(
        StatusCode::OK,
        &list_response(1, 1, vec![user_resource_type(&state)]),
    )
}

pub async fn resource_type(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    if id == "User" {
        Ok(scim_json(StatusCode::OK, &user_resource_type(&state)))
    } else {
        Err(ScimError::not_found())
    }
}

pub async fn schemas(State(state): State<AppState>) -> Response {
    let all = all_schemas(&state);
    scim_json(StatusCode::OK, &list_response(all.len() as u64, 1, all))
}

pub async fn schema(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ScimError> {
    all_schemas(&state)
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(|s| scim_json(StatusCode::OK, &s))
        .ok_or_else(ScimError::not_found)
}
