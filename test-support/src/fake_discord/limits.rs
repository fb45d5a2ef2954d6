//! What Discord validates in a message body (create, edit, follow-up,
//! callback types 4 and 7) and in an autocomplete answer (callback type 8),
//! so a bot that would be refused by Discord is refused by the fake too.
//!
//! A refusal names the field the way Discord's `errors` object does (a path
//! of keys and array indexes), which the REST layer turns into a 400 with
//! code 50035.

use serde_json::{Map, Value, json};

/// Characters of `content` a message may have.
pub(crate) const MAX_CONTENT: usize = 2000;
/// Action rows (top-level components) a message may have.
pub(crate) const MAX_ACTION_ROWS: usize = 5;
/// Components (buttons) an action row may hold.
pub(crate) const MAX_ROW_COMPONENTS: usize = 5;
/// Characters of a component's `custom_id`.
pub(crate) const MAX_CUSTOM_ID: usize = 100;
/// Characters of a link button's `url`.
pub(crate) const MAX_BUTTON_URL: usize = 512;
/// Characters of a button's `label`.
pub(crate) const MAX_BUTTON_LABEL: usize = 80;
/// Choices an autocomplete answer may offer.
pub(crate) const MAX_CHOICES: usize = 25;
/// Characters of a choice's `name` (at least one), and of a string `value`.
pub(crate) const MAX_CHOICE_TEXT: usize = 100;

/// Component type of a button.
const BUTTON: u64 = 2;

/// One field Discord would refuse: where it is and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FieldError {
    /// Keys and array indexes from the body's root to the field.
    pub(crate) path: Vec<String>,
    /// Discord's error code for the field, e.g. `BASE_TYPE_MAX_LENGTH`.
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl FieldError {
    fn too_long(path: Vec<String>, max: usize) -> Self {
        Self { path, code: "BASE_TYPE_MAX_LENGTH", message: format!("Must be {max} or fewer in length.") }
    }

    fn bad_length(path: Vec<String>, min: usize, max: usize) -> Self {
        Self { path, code: "BASE_TYPE_BAD_LENGTH", message: format!("Must be between {min} and {max} in length.") }
    }

    fn required(path: Vec<String>) -> Self {
        Self { path, code: "BASE_TYPE_REQUIRED", message: "This field is required".to_owned() }
    }

    /// Discord's nested `errors` object, e.g.
    /// `{"components": {"0": {"components": {"_errors": [{"code", "message"}]}}}}`.
    pub(crate) fn to_errors(&self) -> Value {
        let mut errors = json!({ "_errors": [{ "code": self.code, "message": self.message }] });
        for key in self.path.iter().rev() {
            let mut level = Map::new();
            level.insert(key.clone(), errors);
            errors = Value::Object(level);
        }
        errors
    }
}

fn path(keys: &[&str]) -> Vec<String> {
    keys.iter().map(|key| (*key).to_owned()).collect()
}

fn chars(text: &str) -> usize {
    text.chars().count()
}

/// Check a message body: content length, the number of action rows and of
/// components per row, `custom_id` and button `label` lengths. Absent or
/// null fields are fine (an edit that leaves them alone).
pub(crate) fn check_message(body: &Value) -> Result<(), FieldError> {
    if let Some(content) = body.get("content").and_then(Value::as_str)
        && chars(content) > MAX_CONTENT
    {
        return Err(FieldError::too_long(path(&["content"]), MAX_CONTENT));
    }
    let Some(rows) = body.get("components").and_then(Value::as_array) else {
        return Ok(());
    };
    if rows.len() > MAX_ACTION_ROWS {
        return Err(FieldError::too_long(path(&["components"]), MAX_ACTION_ROWS));
    }
    for (row_index, row) in rows.iter().enumerate() {
        let row_index = row_index.to_string();
        check_component(row, &["components", &row_index])?;
        let Some(children) = row.get("components").and_then(Value::as_array) else {
            continue;
        };
        if children.len() > MAX_ROW_COMPONENTS {
            return Err(FieldError::bad_length(path(&["components", &row_index, "components"]), 1, MAX_ROW_COMPONENTS));
        }
        for (index, child) in children.iter().enumerate() {
            check_component(child, &["components", &row_index, "components", &index.to_string()])?;
        }
    }
    Ok(())
}

/// One component's own fields: `custom_id`, a link's `url`, and a button's
/// `label`.
fn check_component(component: &Value, at: &[&str]) -> Result<(), FieldError> {
    let field = |name: &str| {
        let mut keys = path(at);
        keys.push(name.to_owned());
        keys
    };
    if let Some(custom_id) = component.get("custom_id").and_then(Value::as_str)
        && chars(custom_id) > MAX_CUSTOM_ID
    {
        return Err(FieldError::too_long(field("custom_id"), MAX_CUSTOM_ID));
    }
    if let Some(url) = component.get("url").and_then(Value::as_str)
        && chars(url) > MAX_BUTTON_URL
    {
        return Err(FieldError::too_long(field("url"), MAX_BUTTON_URL));
    }
    let is_button = component.get("type").and_then(Value::as_u64) == Some(BUTTON);
    if is_button
        && let Some(label) = component.get("label").and_then(Value::as_str)
        && chars(label) > MAX_BUTTON_LABEL
    {
        return Err(FieldError::too_long(field("label"), MAX_BUTTON_LABEL));
    }
    Ok(())
}

/// Check the `data` of an autocomplete answer: a `choices` array of at most
/// 25 entries, each with a `name` of 1 to 100 characters and a `value`
/// (a string of at most 100 characters, or a number).
pub(crate) fn check_autocomplete(data: &Value) -> Result<(), FieldError> {
    let Some(choices) = data.get("choices").and_then(Value::as_array) else {
        return Err(FieldError::required(path(&["data", "choices"])));
    };
    if choices.len() > MAX_CHOICES {
        return Err(FieldError::too_long(path(&["data", "choices"]), MAX_CHOICES));
    }
    for (index, choice) in choices.iter().enumerate() {
        let index = index.to_string();
        let field = |name: &str| path(&["data", "choices", &index, name]);
        match choice.get("name").and_then(Value::as_str) {
            None => return Err(FieldError::required(field("name"))),
            Some(name) if !(1..=MAX_CHOICE_TEXT).contains(&chars(name)) => {
                return Err(FieldError::bad_length(field("name"), 1, MAX_CHOICE_TEXT));
            }
            Some(_) => {}
        }
        match choice.get("value") {
            Some(Value::String(value)) if chars(value) > MAX_CHOICE_TEXT => {
                return Err(FieldError::too_long(field("value"), MAX_CHOICE_TEXT));
            }
            Some(Value::String(_) | Value::Number(_)) => {}
            _ => return Err(FieldError::required(field("value"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(count: usize, buttons: usize) -> Value {
        let row = json!({ "type": 1, "components": (0..buttons)
            .map(|i| json!({ "type": 2, "style": 1, "label": format!("b{i}"), "custom_id": format!("b{i}") }))
            .collect::<Vec<_>>() });
        Value::Array(vec![row; count])
    }

    #[test]
    fn five_rows_of_five_buttons_and_2000_characters_pass() {
        let body = json!({ "content": "é".repeat(MAX_CONTENT), "components": rows(5, 5) });
        assert_eq!(check_message(&body), Ok(()));
        assert_eq!(check_message(&json!({ "components": null, "content": null })), Ok(()));
    }

    #[test]
    fn message_limits_name_the_refused_field() {
        let error = check_message(&json!({ "content": "x".repeat(2001) })).unwrap_err();
        assert_eq!(error.path, ["content"]);
        assert_eq!(check_message(&json!({ "components": rows(6, 1) })).unwrap_err().path, ["components"]);
        let error = check_message(&json!({ "components": rows(2, 6) })).unwrap_err();
        assert_eq!(error.path, ["components", "0", "components"]);

        let mut long = rows(1, 2);
        long[0]["components"][1]["custom_id"] = json!("c".repeat(101));
        let error = check_message(&json!({ "components": long })).unwrap_err();
        assert_eq!(error.path, ["components", "0", "components", "1", "custom_id"]);
        assert_eq!(
            error.to_errors()["components"]["0"]["components"]["1"]["custom_id"]["_errors"][0]["code"],
            "BASE_TYPE_MAX_LENGTH"
        );

        let mut label = rows(1, 1);
        label[0]["components"][0]["label"] = json!("l".repeat(81));
        assert_eq!(check_message(&json!({ "components": label })).unwrap_err().path.last().unwrap(), "label");
    }

    #[test]
    fn autocomplete_answers_are_limited_to_25_choices_of_100_characters() {
        let choice = |name: String| json!({ "name": name, "value": "v" });
        let ok: Vec<Value> = (0..25).map(|i| choice(format!("song {i}"))).collect();
        assert_eq!(check_autocomplete(&json!({ "choices": ok })), Ok(()));
        assert_eq!(check_autocomplete(&json!({ "choices": [] })), Ok(()));
        assert_eq!(check_autocomplete(&json!({ "choices": [{ "name": "n", "value": 3 }] })), Ok(()));

        let too_many: Vec<Value> = (0..26).map(|i| choice(format!("song {i}"))).collect();
        assert!(check_autocomplete(&json!({ "choices": too_many })).is_err());
        assert!(check_autocomplete(&json!({ "choices": [choice("n".repeat(101))] })).is_err());
        assert!(check_autocomplete(&json!({ "choices": [choice(String::new())] })).is_err());
        assert!(check_autocomplete(&json!({ "choices": [{ "name": "n", "value": "v".repeat(101) }] })).is_err());
        assert!(check_autocomplete(&json!({})).is_err());
    }
}
