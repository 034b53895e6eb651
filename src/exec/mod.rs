//! Statement execution: one module per statement family, each turning a statement into a result set.
//! [`run`] binds the statement's literals and parameters and dispatches on its kind.

mod bind;
mod data;
mod import;
mod set;
mod show;
pub(crate) mod split;

use std::path::Path;

use recodb_query::{DescribeTarget, ImportTarget, ShowObject, Statement, StatementKind};
use recodb_storage::Side;

use crate::error::{Error, Result};
use crate::import::Target;
use crate::progress::Progress;
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;
use crate::Database;

use bind::Binder;

/// Runs one parsed statement against `db` with `params` bound to its `?` placeholders.
pub(crate) fn run(
    db: &Database,
    statement: &Statement,
    params: &[Value],
    progress: &dyn Progress,
) -> Result<ResultSet> {
    let b = Binder::new(params);
    match &statement.kind {
        StatementKind::Add { side, key, tags } => {
            let tags = tags.iter().map(|t| b.text(t, "a tag")).collect::<Result<Vec<_>>>()?;
            data::add(db, side_of(*side), b.key(key)?, &tags)
        }
        StatementKind::InsertInteraction { user, item, weight, time } => {
            let weight = weight.as_ref().map(|w| b.number(w, "WEIGHT").map(|w| w as f32)).transpose()?;
            let time = time.as_ref().map(|t| b.integer(t, "AT")).transpose()?;
            data::insert(db, b.key(user)?, b.key(item)?, weight, time)
        }
        StatementKind::DeleteInteraction { user, item } => {
            data::delete_interaction(db, b.key(user)?, b.key(item)?)
        }
        StatementKind::Delete { side, key } => data::delete(db, side_of(*side), b.key(key)?),
        StatementKind::Import { target, path, format, options } => {
            let target = match target {
                ImportTarget::Interactions => Target::Interactions,
                ImportTarget::Users => Target::Users,
                ImportTarget::Items => Target::Items,
            };
            let path = b.text(path, "the file path")?;
            let format = format.as_ref().map(|f| f.value.as_str());
            import::import(db, target, Path::new(&path), format, &b.options(options)?, progress)
        }
        StatementKind::SplitHoldout { fraction, seed } => {
            let seed = seed.as_ref().map(|s| b.count(s, "SEED")).transpose()?;
            split::split_holdout(db, b.number(fraction, "the holdout fraction")?, seed)
        }
        StatementKind::SplitClear => split::split_clear(db),
        StatementKind::Show { object, limit } => {
            let limit = limit
                .as_ref()
                .map(|l| b.count(l, "LIMIT").map(|l| usize::try_from(l).unwrap_or(usize::MAX)))
                .transpose()?;
            match object {
                ShowObject::Users => show::entities(db, Side::User, limit),
                ShowObject::Items => show::entities(db, Side::Item, limit),
                ShowObject::Tags => show::tags(db, limit),
                ShowObject::Stats => show::stats(db),
                ShowObject::Models => {
                    Ok(ResultSet::new(&[("name", ColumnType::Text), ("algorithm", ColumnType::Text)]))
                }
                ShowObject::Jobs => {
                    Ok(ResultSet::new(&[("id", ColumnType::Int), ("state", ColumnType::Text)]))
                }
            }
        }
        StatementKind::Describe(DescribeTarget::User(key)) => show::describe(db, Side::User, &b.key(key)?),
        StatementKind::Describe(DescribeTarget::Item(key)) => show::describe(db, Side::Item, &b.key(key)?),
        StatementKind::Set { name, value } => set::set(db, &name.value, &b.value(value)?),
        StatementKind::Train { algorithm, .. } => Err(Error::Invalid(format!(
            "unknown algorithm '{}'; available: none (this version of recodb has no training algorithms yet)",
            algorithm.value
        ))),
        StatementKind::Recommend(q) => Err(no_model(q.using.as_ref().map(|i| i.value.as_str()))),
        StatementKind::Similar(q) => Err(no_model(q.using.as_ref().map(|i| i.value.as_str()))),
        StatementKind::Explain(recodb_query::Query::Recommend(q)) => {
            Err(no_model(q.using.as_ref().map(|i| i.value.as_str())))
        }
        StatementKind::Explain(recodb_query::Query::Similar(q)) => {
            Err(no_model(q.using.as_ref().map(|i| i.value.as_str())))
        }
        StatementKind::Evaluate { model, .. }
        | StatementKind::DropModel { name: model }
        | StatementKind::ExportCodes { model, .. }
        | StatementKind::ExportRecommendations { model, .. }
        | StatementKind::Describe(DescribeTarget::Model(model)) => Err(no_model(Some(&model.value))),
        StatementKind::CancelJob { job } | StatementKind::WaitJob { job } => {
            Err(Error::Invalid(format!("no job with id {}", b.count(job, "the job id")?)))
        }
    }
}

fn side_of(side: recodb_query::Side) -> Side {
    match side {
        recodb_query::Side::User => Side::User,
        recodb_query::Side::Item => Side::Item,
    }
}

/// The error of a statement that needs a model the database does not have.
fn no_model(name: Option<&str>) -> Error {
    match name {
        Some(name) => {
            Error::Invalid(format!("no model named '{name}' (SHOW MODELS lists the trained models)"))
        }
        None => Error::Invalid("no trained model to use; TRAIN one first".into()),
    }
}
