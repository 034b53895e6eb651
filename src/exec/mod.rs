//! Statement execution: one module per statement family, each turning a statement into a result set.
//! [`run`] binds the statement's literals and parameters and dispatches on its kind.

mod bind;
mod data;
mod evaluate;
mod export;
mod filter;
mod import;
mod jobs;
mod model;
mod recommend;
mod set;
mod show;
mod similar;
pub(crate) mod split;
mod stages;

use std::path::Path;

use recodb_query::{DescribeTarget, ImportTarget, ShowObject, Statement, StatementKind};
use recodb_storage::Side;

use crate::error::{Error, Result};
use crate::import::Target;
use crate::progress::Progress;
use crate::result::ResultSet;
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
                ShowObject::Models => model::show(db, limit),
                ShowObject::Jobs => jobs::show(db, limit),
            }
        }
        StatementKind::Describe(DescribeTarget::User(key)) => show::describe(db, Side::User, &b.key(key)?),
        StatementKind::Describe(DescribeTarget::Item(key)) => show::describe(db, Side::Item, &b.key(key)?),
        StatementKind::Set { name, value } => set::set(db, &name.value, &b.value(value)?),
        StatementKind::Train { algorithm, name, options, background } => model::train(
            db,
            &algorithm.value,
            name.as_ref().map(|n| n.value.as_str()),
            &b.options(options)?,
            *background,
            progress,
        ),
        StatementKind::Recommend(q) => recommend::recommend(db, q, &b),
        StatementKind::Evaluate { model, rerank, against, cutoffs, options } => {
            let rerank = rerank
                .as_ref()
                .map(|r| {
                    let m = b.count(&r.candidates, "RERANK")?;
                    Ok::<_, Error>((usize::try_from(m).unwrap_or(usize::MAX), r.model.value.as_str()))
                })
                .transpose()?;
            let protocol = evaluate::protocol(&b.options(options)?)?;
            let cutoffs = cutoffs
                .iter()
                .map(|k| b.count(k, "AT").map(|k| usize::try_from(k).unwrap_or(usize::MAX)))
                .collect::<Result<Vec<_>>>()?;
            let against = against
                .as_ref()
                .map(|s| {
                    Ok::<_, Error>((
                        b.text(&s.path, "the test file path")?,
                        s.format.as_ref().map(|f| f.value.clone()),
                    ))
                })
                .transpose()?;
            evaluate::evaluate(
                db,
                &model.value,
                rerank,
                against.as_ref().map(|(p, f)| (Path::new(p.as_str()), f.as_deref())),
                &cutoffs,
                protocol,
            )
        }
        StatementKind::Describe(DescribeTarget::Model(name)) => model::describe(db, &name.value),
        StatementKind::DropModel { name } => model::drop_model(db, &name.value),
        StatementKind::Similar(q) => similar::similar(db, q, &b),
        StatementKind::Explain(recodb_query::Query::Recommend(q)) => recommend::explain(db, q, &b),
        StatementKind::Explain(recodb_query::Query::Similar(q)) => similar::explain(db, q, &b),
        StatementKind::ExportCodes { model, side, path } => {
            let path = b.text(path, "the file path")?;
            export::codes(db, &model.value, side_of(*side), Path::new(&path))
        }
        StatementKind::ExportRecommendations { model, top, path } => {
            let top = recommend::top(&b, top)?;
            let path = b.text(path, "the file path")?;
            export::recommendations(db, &model.value, top, Path::new(&path), progress)
        }
        StatementKind::CancelJob { job } => jobs::cancel(db, b.count(job, "the job id")?),
        StatementKind::WaitJob { job } => jobs::wait(db, b.count(job, "the job id")?),
    }
}

fn side_of(side: recodb_query::Side) -> Side {
    match side {
        recodb_query::Side::User => Side::User,
        recodb_query::Side::Item => Side::Item,
    }
}
