//! Statement execution: one module per statement family, each turning a statement into a result set.
//! [`run`] builds the statement's [`Context`] (the database's parts, its bound parameters, its progress)
//! and dispatches on its kind; the modules bind literals, call the layers below (data, import, training,
//! serving, evaluation, models, storage) and format rows. A mistake in the statement (a name not found,
//! an invalid argument, something unsupported or not possible now) that points nowhere more precise is
//! pointed at the whole statement; failures that are not the statement's (storage, cancellation, bugs)
//! carry no position.

mod batch;
mod bind;
mod context;
mod data;
mod evaluate;
mod explain;
mod export;
mod filter;
mod import;
mod jobs;
mod model;
mod recommend;
mod rows;
mod set;
mod show;
mod similar;
mod split;
mod tags;

use recodb_query::{DescribeTarget, Literal, Show, ShowObject, Statement, StatementKind};
use recodb_storage::Side;

use crate::error::{Error, ErrorKind, Result};
use crate::progress::Progress;
use crate::result::ResultSet;
use crate::value::Value;

pub(crate) use batch::recommend_many;
pub use batch::Recommendations;
pub(crate) use context::Parts;

use bind::Binder;
use context::Context;

/// Runs one parsed statement over `parts` with `params` bound to its `?` placeholders.
pub(crate) fn run(
    parts: &Parts,
    statement: &Statement,
    params: &[Value],
    progress: &dyn Progress,
) -> Result<ResultSet> {
    if parts.read_only && !statement.is_read_only() {
        return Err(read_only().at(statement.span));
    }
    let ctx = Context::new(parts, Binder::new(params), progress);
    dispatch(&ctx, &statement.kind).map_err(|e: Error| match e.kind() {
        ErrorKind::NotFound { .. }
        | ErrorKind::InvalidArgument { .. }
        | ErrorKind::Unsupported(_)
        | ErrorKind::Conflict(_) => e.at(statement.span),
        _ => e,
    })
}

fn dispatch(ctx: &Context<'_>, kind: &StatementKind) -> Result<ResultSet> {
    match kind {
        StatementKind::Add { side, key, label, tags } => {
            data::add(ctx, side_of(*side), key, label.as_ref(), tags)
        }
        StatementKind::InsertInteraction { user, item, weight, time } => {
            data::insert(ctx, user, item, weight, time)
        }
        StatementKind::DeleteInteraction { user, item } => data::delete_interaction(ctx, user, item),
        StatementKind::Delete { side, key } => data::delete(ctx, side_of(*side), key),
        StatementKind::Import { target, path, format, options } => {
            import::import(ctx, *target, path, format, options)
        }
        StatementKind::SplitHoldout { fraction, seed } => split::holdout(ctx, fraction, seed.as_ref()),
        StatementKind::SplitClear => split::clear(ctx),
        StatementKind::Show(show) => self::show(ctx, show),
        StatementKind::Describe(DescribeTarget::User(key)) => show::describe(ctx, Side::User, key),
        StatementKind::Describe(DescribeTarget::Item(key)) => show::describe(ctx, Side::Item, key),
        StatementKind::Describe(DescribeTarget::Model(name)) => model::describe(ctx, name),
        StatementKind::Set { name, value } => set::set(ctx, name, value),
        StatementKind::Train { algorithm, name, options, background } => {
            model::train(ctx, algorithm, name.as_ref(), options, *background)
        }
        StatementKind::DropModel { name } => model::drop_model(ctx, name),
        StatementKind::Recommend(q) => recommend::recommend(ctx, q),
        StatementKind::RecommendTags(q) => tags::recommend(ctx, q),
        StatementKind::Similar(q) => similar::similar(ctx, q),
        StatementKind::Explain(recodb_query::Query::Recommend(q)) => recommend::explain(ctx, q),
        StatementKind::Explain(recodb_query::Query::Similar(q)) => similar::explain(ctx, q),
        StatementKind::Evaluate { models, rerank, task, against, cutoffs, options } => {
            let sources = evaluate::Sources { task: task.as_ref(), against: against.as_ref() };
            evaluate::evaluate(ctx, models, rerank.as_ref(), sources, cutoffs, options)
        }
        StatementKind::ExportCodes { model, side, path } => export::codes(ctx, model, side_of(*side), path),
        StatementKind::ExportRecommendations { model, top, path } => {
            export::recommendations(ctx, model, top, path)
        }
        StatementKind::Check => show::check(ctx),
        StatementKind::CancelJob { job } => jobs::cancel(ctx, job),
        StatementKind::WaitJob { job } => jobs::wait(ctx, job),
    }
}

/// The error for a write to a database opened read-only.
pub(crate) fn read_only() -> Error {
    Error::conflict("the database is open read-only: statements that change it are refused")
}

/// The storage side of a side of the language.
/// `SHOW ...`: binds LIMIT and OFFSET and lists what the statement names. WHERE and ORDER BY (which
/// the parser accepts only there) list users or items.
fn show(ctx: &Context<'_>, show: &Show) -> Result<ResultSet> {
    let count = |literal: &Option<Literal>, what| {
        literal.as_ref().map(|l| ctx.bind.count_to(l, what, u64::MAX)).transpose()
    };
    let page = show::Page {
        offset: count(&show.offset, "OFFSET")?.unwrap_or(0),
        limit: count(&show.limit, "LIMIT")?,
    };
    let entities = |side| show::entities(ctx, side, show.filter.as_ref(), show.order, &page);
    match &show.object {
        ShowObject::Users => entities(Side::User),
        ShowObject::Items => entities(Side::Item),
        _ if show.filter.is_some() || show.order.is_some() => {
            Err(Error::unsupported("WHERE and ORDER BY list users or items only"))
        }
        ShowObject::Interactions(of) => show::interactions(ctx, of.as_ref(), &page),
        ShowObject::Tags => show::tags(ctx, &page),
        ShowObject::Stats => show::stats(ctx),
        ShowObject::Models => model::show(ctx, &page),
        ShowObject::Jobs => jobs::show(ctx, &page),
        ShowObject::Algorithms => model::algorithms(&page),
    }
}

pub(super) fn side_of(side: recodb_query::Side) -> Side {
    match side {
        recodb_query::Side::User => Side::User,
        recodb_query::Side::Item => Side::Item,
    }
}
