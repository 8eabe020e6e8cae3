//! `/v1/accounts/{account_id}/users`: an account's users, the seats it is billed for, as the
//! seller's product reports them — the same users the account's Users page shows, counted
//! toward the month's peak the moment they are added and until they are deleted.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::IntoResponse,
    Json,
};
use serde::{Deserialize, Deserializer, Serialize};
use tally_core::{
    actor::Actor,
    api_keys::ApiScope,
    codes::UserStatus,
    forms::{external_id, FieldErrors, NewUser as ValidUser, NewUserInput},
};
use tally_services::directory::users::UserRecord;
use utoipa::ToSchema;

use super::{
    accounts::AccountPath, problem::Problem, timestamp, Body, Key, Page, PageQuery, Query,
};
use crate::http::AppState;

/// A user of an account.
#[derive(Debug, Serialize, ToSchema)]
pub struct User {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// The seller's own id for the user.
    pub external_id: Option<String>,
    /// Suspended users are still billed.
    pub suspended: bool,
    /// RFC 3339.
    pub created_at: String,
    pub updated_at: String,
}

impl From<UserRecord> for User {
    fn from(u: UserRecord) -> Self {
        User {
            suspended: u.status == UserStatus::Suspended,
            id: u.id,
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
            external_id: u.external_id,
            created_at: timestamp(u.created_at),
            updated_at: timestamp(u.updated_at),
        }
    }
}

/// A new user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    #[schema(example = "Grace", min_length = 1, max_length = 100)]
    pub first_name: String,
    #[schema(example = "Hopper", min_length = 1, max_length = 100)]
    pub last_name: String,
    #[schema(example = "grace@globex.test", format = Email, max_length = 254)]
    pub email: String,
    /// The seller's own id for the user, unique within the account.
    #[schema(example = "crm-1042", max_length = 255)]
    pub external_id: Option<String>,
}

/// What changes; what is left out stays as it is. `external_id: null` removes it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserChange {
    #[schema(min_length = 1, max_length = 100)]
    pub first_name: Option<String>,
    #[schema(min_length = 1, max_length = 100)]
    pub last_name: Option<String>,
    #[schema(format = Email, max_length = 254)]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub external_id: Option<Option<String>>,
}

/// A field sent, even as null, is `Some`; one left out stays `None` (`#[serde(default)]`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The account's id.
    #[param(max_length = 64)]
    pub account_id: String,
    /// The user's id.
    #[param(max_length = 64)]
    pub user_id: String,
}

/// The user's fields checked by `core`, as the Users page checks them, and the external id.
fn checked(
    input: &NewUserInput,
    external: Option<&str>,
) -> Result<(ValidUser, Option<String>), Problem> {
    let mut errors = FieldErrors::new();
    let user = input.parse().map_err(|e| errors.merge(e)).ok();
    let external = external.and_then(|x| errors.check("external_id", external_id(x)).flatten());
    match user {
        Some(user) if errors.is_empty() => Ok((user, external)),
        _ => Err(Problem::invalid(&errors, "")),
    }
}

async fn acting(
    state: &AppState,
    key: &Key,
    account_id: &str,
    change: bool,
) -> Result<Actor, Problem> {
    let scope = if change {
        ApiScope::UsersWrite
    } else {
        ApiScope::UsersRead
    };
    let operator = key.needs(scope)?;
    Ok(state
        .services
        .customers
        .acting_in(operator, account_id, change)
        .await?)
}

/// List the account's users, in the order they were added.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/users", tag = "Users", operation_id = "listUsers",
    params(AccountPath, PageQuery),
    security(("api_key" = ["users:read"])),
    responses((status = 200, description = "A page of users.", body = Page<User>)))]
pub async fn list(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<User>>, Problem> {
    let actor = acting(&state, &key, &path.account_id, false).await?;
    let (limit, cursor) = page.checked()?;
    let rows = state
        .services
        .users
        .page_after(&actor, cursor, limit + 1)
        .await?;
    let page = Page::of(rows, limit, |u| u.id.clone());
    Ok(Json(Page {
        data: page.data.into_iter().map(User::from).collect(),
        has_more: page.has_more,
        next_cursor: page.next_cursor,
    }))
}

/// Add a user: counted toward this month's peak from now on.
#[utoipa::path(post, path = "/v1/accounts/{account_id}/users", tag = "Users", operation_id = "createUser",
    params(AccountPath),
    request_body = NewUser,
    security(("api_key" = ["users:write"])),
    responses((status = 201, description = "The user, added.", body = User)))]
pub async fn create(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
    Body(body): Body<NewUser>,
) -> Result<impl IntoResponse, Problem> {
    let actor = acting(&state, &key, &path.account_id, true).await?;
    let input = NewUserInput {
        first_name: body.first_name,
        last_name: body.last_name,
        email: body.email,
    };
    let (user, external) = checked(&input, body.external_id.as_deref())?;
    let users = &state.services.users;
    let id = users
        .create_with(&actor, &user, external.as_deref())
        .await?;
    let user = users.get(&actor, &id).await?;
    Ok((StatusCode::CREATED, Json(User::from(user))))
}

/// Read one user.
#[utoipa::path(get, path = "/v1/accounts/{account_id}/users/{user_id}", tag = "Users", operation_id = "getUser",
    params(UserPath),
    security(("api_key" = ["users:read"])),
    responses((status = 200, description = "The user.", body = User)))]
pub async fn get(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<UserPath>,
) -> Result<Json<User>, Problem> {
    let actor = acting(&state, &key, &path.account_id, false).await?;
    Ok(Json(
        state
            .services
            .users
            .get(&actor, &path.user_id)
            .await?
            .into(),
    ))
}

/// Change a user's name, address or external id.
#[utoipa::path(patch, path = "/v1/accounts/{account_id}/users/{user_id}", tag = "Users", operation_id = "updateUser",
    params(UserPath),
    request_body = UserChange,
    security(("api_key" = ["users:write"])),
    responses((status = 200, description = "The user, changed.", body = User)))]
pub async fn update(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<UserPath>,
    Body(body): Body<UserChange>,
) -> Result<Json<User>, Problem> {
    let actor = acting(&state, &key, &path.account_id, true).await?;
    let users = &state.services.users;
    let now = users.get(&actor, &path.user_id).await?;
    let input = NewUserInput {
        first_name: body.first_name.unwrap_or(now.first_name),
        last_name: body.last_name.unwrap_or(now.last_name),
        email: body.email.unwrap_or(now.email),
    };
    let sent_external = body
        .external_id
        .as_ref()
        .map(|x| x.as_deref().unwrap_or(""));
    let (user, external) = checked(&input, sent_external)?;
    let change_external = body.external_id.is_some().then_some(external.as_deref());
    users
        .update_with(&actor, &path.user_id, &user, change_external)
        .await?;
    Ok(Json(users.get(&actor, &path.user_id).await?.into()))
}

/// Delete a user: their seat ends now (this month's peak keeps what it reached).
#[utoipa::path(delete, path = "/v1/accounts/{account_id}/users/{user_id}", tag = "Users", operation_id = "deleteUser",
    params(UserPath),
    security(("api_key" = ["users:write"])),
    responses((status = 204, description = "The user is deleted.")))]
pub async fn delete(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<UserPath>,
) -> Result<StatusCode, Problem> {
    let actor = acting(&state, &key, &path.account_id, true).await?;
    state.services.users.delete(&actor, &path.user_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The most users one sync may send.
pub const SYNC_MAX: usize = 50_000;

/// The account's users, all of them.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserList {
    /// Each person once: an address and an external id appear at most once in the list.
    #[schema(max_items = 50000)]
    pub users: Vec<NewUser>,
}

/// What a sync did.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncResult {
    pub added: u64,
    /// Kept, with a new name or address.
    pub changed: u64,
    pub removed: u64,
    pub users_now: u64,
}

/// Make the account's users exactly this list, in one transaction: a user is the same one
/// when its `external_id` is (or, sent without one, its address); the others are deleted and
/// the new ones added, at one instant, so replacing users does not raise the month's peak.
#[utoipa::path(put, path = "/v1/accounts/{account_id}/users", tag = "Users", operation_id = "syncUsers",
    params(AccountPath),
    request_body = UserList,
    security(("api_key" = ["users:write"])),
    responses((status = 200, description = "The account's users are the list now.", body = SyncResult)))]
pub async fn sync(
    State(state): State<AppState>,
    key: Key,
    Path(path): Path<AccountPath>,
    Body(body): Body<UserList>,
) -> Result<Json<SyncResult>, Problem> {
    let actor = acting(&state, &key, &path.account_id, true).await?;
    if body.users.len() > SYNC_MAX {
        return Err(Problem::invalid_field(
            "users",
            &format!("Send at most {SYNC_MAX} users in one sync."),
        ));
    }
    let mut errors = FieldErrors::new();
    let mut wanted = Vec::with_capacity(body.users.len());
    let mut emails = std::collections::HashSet::new();
    let mut externals = std::collections::HashSet::new();
    for (i, u) in body.users.into_iter().enumerate() {
        let input = NewUserInput {
            first_name: u.first_name,
            last_name: u.last_name,
            email: u.email,
        };
        match checked(&input, u.external_id.as_deref()) {
            Ok((user, external)) => {
                if !emails.insert(user.email.normalized_key()) {
                    errors.add(
                        format!("users[{i}].email"),
                        "This address is in the list already.",
                    );
                }
                if let Some(x) = &external {
                    if !externals.insert(x.clone()) {
                        errors.add(
                            format!("users[{i}].external_id"),
                            "This external ID is in the list already.",
                        );
                    }
                }
                wanted.push((user, external));
            }
            Err(problem) => {
                for f in problem.errors {
                    errors.add(format!("users[{i}].{}", f.field), f.detail);
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(Problem::invalid(&errors, ""));
    }
    let report = state.services.users.sync(&actor, &wanted).await?;
    Ok(Json(SyncResult {
        added: report.added,
        changed: report.changed,
        removed: report.removed,
        users_now: report.users_now,
    }))
}
