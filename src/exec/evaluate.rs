//! EVALUATE: binds the statement (cut-offs, protocol options, the models, the test set), runs the
//! protocol of [`crate::eval::protocol`] and formats its report (docs/evaluation.md).

use std::path::Path;
use std::time::Instant;

use recodb_query::{EvaluateTask, Ident, Literal, OptionPair, Rerank, Source};
use recodb_storage::{Side, Snapshot};

use super::bind::{shown, BoundOption};
use super::context::Context;
use crate::error::{Error, ErrorKind, Object, Result, ResultExt};
use crate::eval::cold::{self, ColdList};
use crate::eval::protocol::{self, Metrics, Protocol, Ranker, Report};
use crate::eval::split;
use crate::eval::test_set::{self, TestUser};
use crate::import::{ImportSpec, Target};
use crate::limits::{MAX_CUTOFF, MAX_TOP};
use crate::models::catalog::Loaded;
use crate::result::{ColumnType, ResultSet};
use crate::training::{fingerprint_param, hold_out_option};
use crate::value::Value;

/// Cut-offs used when `AT` is not given.
pub(super) const DEFAULT_CUTOFFS: [usize; 2] = [10, 20];

/// Negatives per test item of the sampled protocol when `negatives` is not given.
pub(super) const DEFAULT_NEGATIVES: usize = 100;

/// The options `EVALUATE ... WITH (...)` takes.
const OPTIONS: [&str; 3] = ["protocol", "negatives", "seed"];

/// The options `EVALUATE ... COLD ITEMS FROM ... WITH (...)` and `EVALUATE ... TAGS WITH (...)` take
/// (`EVALUATE ... COLD USERS` takes the first).
pub(super) const SEED_AND_MATCH: [&str; 2] = ["seed", "match"];

/// What an EVALUATE tests against: `COLD {ITEMS | USERS} FROM 'path'` or `TAGS`, and `AGAINST 'path'
/// [FORMAT f]`.
#[derive(Clone, Copy)]
pub(super) struct Sources<'a> {
    /// Another protocol than item recommendation: item or user cold start, or tag recommendation.
    pub task: Option<&'a EvaluateTask>,
    /// A test file.
    pub against: Option<&'a Source>,
}

/// The random seed and the tag prefix that `WITH (seed = s, match = 'genre:')` give (0 and every tag
/// by default), for `statement`, which accepts the options `names` (of [`SEED_AND_MATCH`]); any other
/// option is a not-found error at its name.
pub(super) fn seed_and_match(
    options: &[BoundOption],
    statement: &str,
    names: &[&'static str],
) -> Result<(u64, String)> {
    let (mut seed, mut prefix) = (0u64, String::new());
    for o in options {
        let bad =
            |expected: &str| Error::invalid(o.name.as_str(), expected, shown(&o.value)).at(o.value_span);
        let name = o.name.to_ascii_lowercase();
        match name.as_str() {
            "seed" if names.contains(&"seed") => {
                seed = o
                    .value
                    .as_i64()
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| bad("an integer of zero or more"))?
            }
            "match" if names.contains(&"match") => {
                prefix = o.value.as_str().ok_or_else(|| bad("a tag prefix, e.g. 'genre:'"))?.to_string()
            }
            _ => {
                let message = format!("unknown {statement} option '{}'", o.name);
                let hint = format!("options: {}", names.join(", "));
                return Err(Error::not_found(
                    Object::Option,
                    o.name.as_str(),
                    message,
                    names.iter().copied(),
                    &hint,
                )
                .at(o.name_span));
            }
        }
    }
    Ok((seed, prefix))
}

/// The protocol `WITH (protocol = 'full' | 'sampled', negatives = n, seed = s)` asks for.
fn protocol(options: &[BoundOption]) -> Result<Protocol> {
    let mut sampled = false;
    let (mut negatives, mut seed) = (DEFAULT_NEGATIVES, 0u64);
    for o in options {
        let bad =
            |expected: &str| Error::invalid(o.name.as_str(), expected, shown(&o.value)).at(o.value_span);
        match o.name.to_ascii_lowercase().as_str() {
            "protocol" => match o.value.as_str().map(str::to_ascii_lowercase).as_deref() {
                Some("full") => sampled = false,
                Some("sampled") => sampled = true,
                _ => return Err(bad("'full' or 'sampled'")),
            },
            "negatives" => {
                negatives = o
                    .value
                    .as_i64()
                    .filter(|n| (1..=100_000).contains(n))
                    .ok_or_else(|| bad("an integer from 1 to 100000"))? as usize;
            }
            "seed" => {
                seed = o
                    .value
                    .as_i64()
                    .and_then(|s| u64::try_from(s).ok())
                    .ok_or_else(|| bad("an integer of zero or more"))?
            }
            _ => {
                let message = format!("unknown EVALUATE option '{}'", o.name);
                let hint = format!("options: {}", OPTIONS.join(", "));
                return Err(Error::not_found(Object::Option, o.name.as_str(), message, OPTIONS, &hint)
                    .at(o.name_span));
            }
        }
    }
    if let Some(o) = options.iter().find(|o| !sampled && !o.name.eq_ignore_ascii_case("protocol")) {
        let kind = ErrorKind::InvalidArgument {
            name: o.name.clone(),
            expected: "protocol = 'sampled'".into(),
            got: "protocol = 'full'".into(),
        };
        let message = format!("EVALUATE option '{}' belongs to protocol = 'sampled'", o.name);
        return Err(Error::new(kind, message).at(o.name_span));
    }
    Ok(if sampled { Protocol::Sampled { negatives, seed } } else { Protocol::Full })
}

/// `EVALUATE model [, model ...] [RERANK m USING f] [COLD {ITEMS | USERS} FROM 'path'] [AGAINST 'path'
/// [FORMAT f]] [AT k, ...] [WITH (protocol = ...)]`: one row per metric and cut-off (`metric`, `k`, then `value` for
/// one model, or one column per model, named after it, for several), then `users` (evaluated),
/// `users_without_training_data` and `seconds` rows. The sampled protocol's rows are named
/// `sampled_hr`, `sampled_ndcg` and `sampled_mrr`, with a `negatives` row. With RERANK each list is a
/// model's best `m` items ordered by model `f` (full ranking only). Notices say when a model was
/// trained before the current split, or when a test file overlaps the training data. With COLD ITEMS
/// or COLD USERS, a cold-start protocol (see [`cold`]); with TAGS, tag recommendation (see
/// [`super::tags::evaluate`]).
pub(super) fn evaluate(
    ctx: &Context<'_>,
    models: &[Ident],
    rerank: Option<&Rerank>,
    sources: Sources<'_>,
    cutoffs: &[Literal],
    options: &[OptionPair],
) -> Result<ResultSet> {
    let against = sources.against;
    let cutoffs: Vec<usize> = if cutoffs.is_empty() {
        DEFAULT_CUTOFFS.to_vec()
    } else {
        cutoffs
            .iter()
            .map(|k| match ctx.bind.count_to(k, "AT", MAX_CUTOFF)? {
                0 => Err(Error::invalid("AT", format!("an integer from 1 to {MAX_CUTOFF}"), "0").at(k.span)),
                k => Ok(k),
            })
            .collect::<Result<_>>()?
    };
    let max_k = cutoffs.iter().copied().max().unwrap_or(DEFAULT_CUTOFFS[1]);
    let bound = ctx.bind.options(options)?;
    for (i, model) in models.iter().enumerate() {
        if models[..i].iter().any(|m| m.value == model.value) {
            let twice = format!("'{}' twice", model.value);
            return Err(Error::invalid("the models of EVALUATE", "each named once", twice).at(model.span));
        }
    }
    if let Some(task) = sources.task {
        if let Some(r) = rerank {
            let message =
                format!("EVALUATE ... {} ranks by each model alone, without RERANK", task_name(task));
            return Err(Error::unsupported(message).at(r.candidates.span));
        }
        return match task {
            EvaluateTask::ColdItems(path) => cold(ctx, models, (Side::Item, path), against, &cutoffs, &bound),
            EvaluateTask::ColdUsers(path) => cold(ctx, models, (Side::User, path), against, &cutoffs, &bound),
            EvaluateTask::Tags => super::tags::evaluate(ctx, models, against, &cutoffs, &bound),
        };
    }
    let protocol = protocol(&bound)?;
    let loaded = models.iter().map(|m| ctx.model(m)).collect::<Result<Vec<_>>>()?;
    let two_stage = match rerank {
        Some(r) if protocol != Protocol::Full => {
            return Err(
                Error::unsupported("EVALUATE ... RERANK ranks the full catalogue only").at(r.candidates.span)
            )
        }
        Some(r) => {
            let m = ctx.bind.count_to(&r.candidates, "RERANK", MAX_TOP)?;
            if m < max_k {
                let expected = format!("from the largest cut-off ({max_k}) to {MAX_TOP}");
                return Err(Error::invalid("RERANK", expected, m.to_string()).at(r.candidates.span));
            }
            Some((m, ctx.model(&r.model)?))
        }
        None => None,
    };
    let tests = match against {
        Some(source) => test_file(ctx, source)?,
        None => test_set::from_holdout(ctx.store())?,
    };
    let n_items = ctx.store().id_bound(Side::Item)? as usize;
    let snapshot = ctx.snapshot()?;
    let mut columns = Vec::with_capacity(loaded.len());
    for model in &loaded {
        let started = Instant::now();
        let folded = model.folded_items(ctx.store())?;
        let serving = model.serving(ctx.store())?;
        let fine = two_stage
            .as_ref()
            .map(|(m, fine)| Ok::<_, Error>((*m, fine.serving(ctx.store())?)))
            .transpose()?;
        let ranker = Ranker {
            model: serving.as_ref(),
            folded: folded.as_deref(),
            rerank: fine.as_ref().map(|(m, fine)| (*m, fine.as_ref())),
        };
        let report = protocol::evaluate(ranker, &tests, &snapshot, &cutoffs, protocol, n_items)?;
        columns.push(figures(&report, &cutoffs, protocol, started.elapsed().as_secs_f64()));
    }
    let mut notices = Vec::new();
    match against {
        None => {
            let fine = two_stage.as_ref().map(|(_, fine)| fine.as_ref());
            for model in loaded.iter().map(|l| l.as_ref()).chain(fine) {
                notices.extend(trained_before_split(ctx, model)?);
            }
        }
        Some(_) => notices.extend(overlap(&tests, &snapshot)),
    }
    let value_columns: Vec<&str> = match models {
        [_] => vec!["value"],
        _ => models.iter().map(|m| m.value.as_str()).collect(),
    };
    Ok(table(&value_columns, &columns).with_notices(notices))
}

/// The statement's name for a task, in errors.
fn task_name(task: &EvaluateTask) -> &'static str {
    match task {
        EvaluateTask::ColdItems(_) => "COLD ITEMS",
        EvaluateTask::ColdUsers(_) => "COLD USERS",
        EvaluateTask::Tags => "TAGS",
    }
}

/// The rows of `test` file `source`, mapped onto the database's ids.
pub(super) fn test_file(ctx: &Context<'_>, source: &Source) -> Result<Vec<TestUser>> {
    let file = ctx.bind.text(&source.path, "the test file path")?;
    let format = source.format.as_ref().map(|f| f.value.as_str());
    let spec = ImportSpec::new(Path::new(&file), Target::Interactions, format, &[]).at(source.path.span)?;
    test_set::from_file(ctx.store(), &spec).at(source.path.span)
}

/// The result of an EVALUATE: `metric`, `k`, then one column of figures per name of `value_columns`.
pub(super) fn table(
    value_columns: &[&str],
    columns: &[Vec<(&'static str, Option<usize>, f64)>],
) -> ResultSet {
    let mut header = vec![("metric", ColumnType::Text), ("k", ColumnType::Int)];
    header.extend(value_columns.iter().map(|name| (*name, ColumnType::Float)));
    let mut set = ResultSet::new(&header);
    for (row, (name, k, _)) in columns.first().map_or(&[][..], Vec::as_slice).iter().enumerate() {
        let mut values = vec![Value::from(*name), k.map_or(Value::Null, |k| Value::Int(k as i64))];
        values.extend(columns.iter().map(|figures| Value::Float(figures[row].2)));
        set.push(values);
    }
    set
}

/// `EVALUATE model [, ...] COLD {ITEMS | USERS} FROM 'path' [AGAINST 'test' [FORMAT f]] [AT k, ...]
/// [WITH (seed = s, match = 'prefix')]`: a cold-start protocol of [`cold`] over the entities of `side`
/// the file lists. Each model must have been trained with exactly these entities held out (`TRAIN ...
/// WITH (hold_out_items = 'path')`, or `hold_out_users`); a conflict error at its name otherwise. The
/// test interactions are every interaction of a listed entity the database holds (held out or not) and
/// those of the test file. One column per model, then the baselines, with the full protocol's rows and
/// coverage relative to the ranked items. For items: `random` (seeded by `seed`) and `tag_match` (the
/// tags whose names start with `match`), and a `cold_items` row (the listed items the database knows).
/// For users: `popularity` (training users, the cold ones left out) and `random` (`match` is refused),
/// and a `cold_users` row.
fn cold(
    ctx: &Context<'_>,
    models: &[Ident],
    (side, path): (Side, &Literal),
    against: Option<&Source>,
    cutoffs: &[usize],
    options: &[BoundOption],
) -> Result<ResultSet> {
    let (statement, accepted, what) = match side {
        Side::Item => ("EVALUATE ... COLD ITEMS", &SEED_AND_MATCH[..], "the cold items file path"),
        Side::User => ("EVALUATE ... COLD USERS", &SEED_AND_MATCH[..1], "the cold users file path"),
    };
    let (seed, prefix) = seed_and_match(options, statement, accepted)?;
    let file = ctx.bind.text(path, what)?;
    let list = ColdList::read(ctx.store(), side, Path::new(&file)).at(path.span)?;
    let loaded = models.iter().map(|m| ctx.model(m)).collect::<Result<Vec<_>>>()?;
    let fingerprint = list.fingerprint();
    for (model, name) in loaded.iter().zip(models) {
        let r = &model.record;
        if !r.params.iter().any(|(k, v)| k == fingerprint_param(side) && *v == fingerprint) {
            let option = hold_out_option(side);
            return Err(Error::conflict(format!(
                "model '{}' was not trained with the {side}s of {file} held out, so it may have seen \
                 them: TRAIN {} AS {} WITH ({option} = '{file}') first",
                r.name, r.algorithm, r.name
            ))
            .at(name.span));
        }
    }
    let extra = against.map(|source| test_file(ctx, source)).transpose()?.unwrap_or_default();
    let snapshot = ctx.snapshot()?;
    let users = cold::test_users(ctx.store(), &list, &snapshot, &extra)?;
    let serving = loaded.iter().map(|l| l.serving(ctx.store())).collect::<Result<Vec<_>>>()?;
    let mut rankers: Vec<cold::Ranker<'_>> =
        serving.iter().map(|m| cold::Ranker::Model(m.as_ref())).collect();
    let mut value_columns: Vec<&str> = models.iter().map(|m| m.value.as_str()).collect();
    let tags;
    let (train, candidates, count_row) = match side {
        Side::Item => {
            tags = cold::item_tags(ctx.store(), &prefix, snapshot.n_items)?.rows;
            rankers.extend([cold::Ranker::Random, cold::Ranker::TagMatch(&tags)]);
            value_columns.extend(["random", "tag_match"]);
            (snapshot, list.ids.clone(), "cold_items")
        }
        Side::User => {
            rankers.extend([cold::Ranker::Popularity, cold::Ranker::Random]);
            value_columns.extend(["popularity", "random"]);
            let all = (0..snapshot.n_items).collect();
            (list.remove_from(snapshot), all, "cold_users")
        }
    };
    let mut columns = Vec::with_capacity(rankers.len());
    for ranker in rankers {
        let started = Instant::now();
        let report = cold::evaluate(ranker, &users, &candidates, &train, cutoffs, seed)?;
        let mut figures = figures(&report, cutoffs, Protocol::Full, started.elapsed().as_secs_f64());
        figures.push((count_row, None, list.ids.len() as f64));
        columns.push(figures);
    }
    let mut set = table(&value_columns, &columns);
    if list.unknown > 0 {
        set.push_notice(format!("{} keys of {file} are no {side} of the database: left out", list.unknown));
    }
    Ok(set)
}

/// A report as `(metric, cut-off, value)` rows, in the order EVALUATE shows them, ending with the
/// `users`, `users_without_training_data` and `seconds` rows.
fn figures(
    report: &Report,
    cutoffs: &[usize],
    protocol: Protocol,
    seconds: f64,
) -> Vec<(&'static str, Option<usize>, f64)> {
    let mut rows = Vec::new();
    match &report.metrics {
        Metrics::Full(averages) => {
            type Pick = fn(&crate::eval::metrics::Averages) -> f64;
            let metrics: [(&'static str, Pick); 7] = [
                ("ndcg", |a| a.ndcg),
                ("recall", |a| a.recall),
                ("precision", |a| a.precision),
                ("hr", |a| a.hit_rate),
                ("mrr", |a| a.mrr),
                ("coverage", |a| a.coverage),
                ("novelty", |a| a.novelty),
            ];
            for (name, pick) in metrics {
                rows.extend(averages.iter().zip(cutoffs).map(|(a, &k)| (name, Some(k), pick(a))));
            }
        }
        Metrics::Sampled(averages) => {
            type Pick = fn(&(f64, f64, f64)) -> f64;
            let metrics: [(&'static str, Pick); 3] =
                [("sampled_hr", |a| a.0), ("sampled_ndcg", |a| a.1), ("sampled_mrr", |a| a.2)];
            for (name, pick) in metrics {
                rows.extend(averages.iter().zip(cutoffs).map(|(a, &k)| (name, Some(k), pick(a))));
            }
            if let Protocol::Sampled { negatives, .. } = protocol {
                rows.push(("negatives", None, negatives as f64));
            }
        }
    }
    rows.push(("users", None, report.users as f64));
    rows.push(("users_without_training_data", None, report.users_without_training_data as f64));
    rows.push(("seconds", None, seconds));
    rows
}

/// A notice when `model` was trained before the split in force was made: it has seen the
/// interactions that are now held out, so its figures flatter it.
pub(super) fn trained_before_split(ctx: &Context<'_>, model: &Loaded) -> Result<Option<String>> {
    let made_at = split::current(ctx.store())?.and_then(|s| s.data_version);
    let record = &model.record;
    Ok(made_at.filter(|&version| record.data_version < version).map(|_| {
        format!(
            "model '{}' was trained before the current split: it has seen the interactions now held out, \
             so these figures flatter it; retrain it (TRAIN {} AS {}) before comparing",
            record.name, record.algorithm, record.name
        )
    }))
}

/// A notice when test pairs of a file are also training interactions of the database: such an item
/// is excluded from its user's ranking as seen, so it can never be hit.
fn overlap(tests: &[TestUser], training: &Snapshot) -> Option<String> {
    let total: usize = tests.iter().map(|t| t.items.len()).sum();
    let shared: usize = tests
        .iter()
        .filter_map(|t| Some((training.row(t.user?), &t.items)))
        .map(|(row, items)| items.iter().flatten().filter(|i| row.binary_search(i).is_ok()).count())
        .sum();
    (shared > 0).then(|| {
        format!(
            "{shared} of the test file's {total} interactions are also training interactions of this \
             database: they are excluded from the rankings as seen and can never be hit (was the test \
             file imported, or is it the training file?)"
        )
    })
}
