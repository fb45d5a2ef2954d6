//! [`AccountStore`] on DynamoDB: the users table, partitioned by member
//! (`user_id`), one item per linked account at `kind = "link#<provider>"`
//! with its version; saves are conditional on it, as the settings' are.
//! The tokens in it are already sealed by the token vault.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;
use serde::{Deserialize, Serialize};
use timmybot_core::{AccountStore, LinkState, LinkedAccount, Provider, StoreError, StoreErrorKind, UserId};

use crate::DynamoStore;
use crate::dynamo_store::{Item, decode_item, encode_item, put_error, unavailable};

/// The sort-key prefix of linked accounts.
const LINK_PREFIX: &str = "link#";

/// The stored account, apart from the domain type so that either can change
/// without silently changing the other.
#[derive(Serialize, Deserialize)]
struct LinkItem {
    user_id: UserId,
    kind: String,
    version: u64,
    schema_version: u32,
    provider: Provider,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    account_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    access_expires_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    grant_expires_ms: Option<u64>,
    linked_at_ms: u64,
    state: LinkState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_lease_until_ms: Option<u64>,
}

fn kind(provider: Provider) -> String {
    format!("{LINK_PREFIX}{provider}")
}

pub(crate) fn key(user: UserId, kind: String) -> Item {
    HashMap::from([
        ("user_id".to_owned(), AttributeValue::S(user.to_string())),
        ("kind".to_owned(), AttributeValue::S(kind)),
    ])
}

fn account_of(user: UserId, item: Item) -> Result<LinkedAccount, StoreError> {
    let item: LinkItem = decode_item(item)?;
    if item.user_id != user || item.kind != kind(item.provider) {
        return Err(StoreError::new(StoreErrorKind::Corrupt));
    }
    Ok(LinkedAccount {
        user: item.user_id,
        provider: item.provider,
        account_name: item.account_name,
        access_token: item.access_token,
        refresh_token: item.refresh_token,
        access_expires_ms: item.access_expires_ms,
        grant_expires_ms: item.grant_expires_ms,
        linked_at_ms: item.linked_at_ms,
        state: item.state,
        refresh_lease_until_ms: item.refresh_lease_until_ms,
        version: item.version,
    })
}

impl DynamoStore {
    /// The member's items in the users table whose kind starts with
    /// `prefix` (all of them with `None`).
    pub(crate) async fn member_items(&self, user: UserId, prefix: Option<&str>) -> Result<Vec<Item>, StoreError> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let query = self
                .client()
                .query()
                .table_name(&self.tables().users)
                .expression_attribute_values(":user", AttributeValue::S(user.to_string()));
            // DynamoDB refuses an empty `begins_with` prefix: no prefix is
            // the whole partition.
            let query = match prefix {
                Some(prefix) => query
                    .key_condition_expression("user_id = :user AND begins_with(kind, :prefix)")
                    .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned())),
                None => query.key_condition_expression("user_id = :user"),
            };
            let page = query.consistent_read(true).set_exclusive_start_key(start).send().await.map_err(unavailable)?;
            items.extend(page.items.unwrap_or_default());
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(items);
            }
        }
    }
}

#[async_trait]
impl AccountStore for DynamoStore {
    async fn load_account(&self, user: UserId, provider: Provider) -> Result<Option<LinkedAccount>, StoreError> {
        let Some(item) = self.get_raw(&self.tables().users, key(user, kind(provider))).await? else {
            return Ok(None);
        };
        account_of(user, item).map(Some)
    }

    async fn save_account(&self, account: &LinkedAccount) -> Result<u64, StoreError> {
        let version = account.version.checked_add(1).ok_or_else(|| StoreError::new(StoreErrorKind::Corrupt))?;
        let a = account.clone();
        let item = encode_item(&LinkItem {
            user_id: a.user,
            kind: kind(a.provider),
            version,
            schema_version: timmybot_core::SCHEMA_VERSION,
            provider: a.provider,
            account_name: a.account_name,
            access_token: a.access_token,
            refresh_token: a.refresh_token,
            access_expires_ms: a.access_expires_ms,
            grant_expires_ms: a.grant_expires_ms,
            linked_at_ms: a.linked_at_ms,
            state: a.state,
            refresh_lease_until_ms: a.refresh_lease_until_ms,
        })?;
        let put = self.client().put_item().table_name(&self.tables().users).set_item(Some(item));
        let put = if account.version == 0 {
            put.condition_expression("attribute_not_exists(user_id)")
        } else {
            put.condition_expression("version = :expected")
                .expression_attribute_values(":expected", AttributeValue::N(account.version.to_string()))
        };
        put.send().await.map_err(put_error)?;
        Ok(version)
    }

    async fn accounts(&self, user: UserId) -> Result<Vec<LinkedAccount>, StoreError> {
        // The sort key orders them by provider name.
        self.member_items(user, Some(LINK_PREFIX)).await?.into_iter().map(|item| account_of(user, item)).collect()
    }

    async fn delete_account(&self, user: UserId, provider: Provider) -> Result<bool, StoreError> {
        self.delete_user_item(user, kind(provider)).await
    }

    async fn delete_member(&self, user: UserId) -> Result<usize, StoreError> {
        // Every item of the member's partition, whatever its kind.
        let mut removed = 0;
        for item in self.member_items(user, None).await? {
            let Some(AttributeValue::S(kind)) = item.get("kind") else { continue };
            if self.delete_user_item(user, kind.clone()).await? {
                removed += 1;
            }
        }
        Ok(removed)
    }
}

impl DynamoStore {
    /// Deletes the member's item of `kind`; returns whether there was one.
    pub(crate) async fn delete_user_item(&self, user: UserId, kind: String) -> Result<bool, StoreError> {
        let removed = self
            .client()
            .delete_item()
            .table_name(&self.tables().users)
            .set_key(Some(key(user, kind)))
            .return_values(aws_sdk_dynamodb::types::ReturnValue::AllOld)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(removed.attributes.is_some())
    }
}
