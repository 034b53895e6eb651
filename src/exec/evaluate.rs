//! EVALUATE: binds the statement (cut-offs, protocol options, the models, the test set), runs the
//! protocol of [`crate::eval::protocol`] and formats its report (docs/evaluation.md).

use std::path::Path;
use std::time::Instant;

use recodb_query::{Ident, Literal, OptionPair, Rerank, Source};
use recodb_storage::Side;

use super::bind::{shown, BoundOption};
use super::context::Context;
use super::recommend::MAX_TOP;
use crate::error::{Error, ErrorKind, Object, Result, ResultExt};
use crate::eval::protocol::{self, Metrics, Protocol, Ranker};
use crate::eval::test_set;
use crate::import::{ImportSpec, Target};
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;

/// Cut-offs used when `AT` is not given.
pub(super) const DEFAULT_CUTOFFS: [usize; 2] = [10, 20];

/// The largest cut-off accepted.
pub(super) const MAX_CUTOFF: u64 = 1_000;

/// Negatives per test item of the sampled protocol when `negatives` is not given.
pub(super) const DEFAULT_NEGATIVES: usize = 100;

/// The options `EVALUATE ... WITH (...)` takes.
const OPTIONS: [&str; 3] = ["protocol", "negatives", "seed"];

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

/// `EVALUATE model [RERANK m USING f] [AGAINST 'path' [FORMAT f]] [AT k, ...] [WITH (protocol = ...)]`:
/// one row per metric and cut-off (`metric`, `k`, `value`), then `users` (evaluated),
/// `users_without_training_data` and `seconds` rows. The sampled protocol's rows are named
/// `sampled_hr`, `sampled_ndcg` and `sampled_mrr`, with a `negatives` row. With RERANK each list is the
/// model's best `m` items ordered by model `f` (full ranking only).
pub(super) fn evaluate(
    ctx: &Context<'_>,
    model: &Ident,
    rerank: Option<&Rerank>,
    against: Option<&Source>,
    cutoffs: &[Literal],
    options: &[OptionPair],
) -> Result<ResultSet> {
    let started = Instant::now();
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
    let protocol = protocol(&bound)?;
    let loaded = ctx.model(model)?;
    let folded = loaded.folded_items(ctx.store())?;
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
        Some(source) => {
            let file = ctx.bind.text(&source.path, "the test file path")?;
            let format = source.format.as_ref().map(|f| f.value.as_str());
            let spec =
                ImportSpec::new(Path::new(&file), Target::Interactions, format, &[]).at(source.path.span)?;
            test_set::from_file(ctx.store(), &spec).at(source.path.span)?
        }
        None => test_set::from_holdout(ctx.store())?,
    };
    let ranker = Ranker {
        model: loaded.model.as_ref(),
        folded: folded.as_deref(),
        rerank: two_stage.as_ref().map(|(m, fine)| (*m, fine.model.as_ref())),
    };
    let n_items = ctx.store().id_bound(Side::Item)? as usize;
    let report = protocol::evaluate(ranker, &tests, &ctx.snapshot()?, &cutoffs, protocol, n_items)?;

    let mut set =
        ResultSet::new(&[("metric", ColumnType::Text), ("k", ColumnType::Int), ("value", ColumnType::Float)]);
    let mut row = |name: &str, k: Option<usize>, value: f64| {
        set.push(vec![
            Value::from(name),
            k.map_or(Value::Null, |k| Value::Int(k as i64)),
            Value::Float(value),
        ]);
    };
    match &report.metrics {
        Metrics::Full(averages) => {
            type Pick = fn(&crate::eval::metrics::Averages) -> f64;
            let metrics: [(&str, Pick); 7] = [
                ("ndcg", |a| a.ndcg),
                ("recall", |a| a.recall),
                ("precision", |a| a.precision),
                ("hr", |a| a.hit_rate),
                ("mrr", |a| a.mrr),
                ("coverage", |a| a.coverage),
                ("novelty", |a| a.novelty),
            ];
            for (name, pick) in metrics {
                for (a, &k) in averages.iter().zip(&cutoffs) {
                    row(name, Some(k), pick(a));
                }
            }
        }
        Metrics::Sampled(averages) => {
            type Pick = fn(&(f64, f64, f64)) -> f64;
            let metrics: [(&str, Pick); 3] =
                [("sampled_hr", |a| a.0), ("sampled_ndcg", |a| a.1), ("sampled_mrr", |a| a.2)];
            for (name, pick) in metrics {
                for (a, &k) in averages.iter().zip(&cutoffs) {
                    row(name, Some(k), pick(a));
                }
            }
            if let Protocol::Sampled { negatives, .. } = protocol {
                row("negatives", None, negatives as f64);
            }
        }
    }
    row("users", None, report.users as f64);
    row("users_without_training_data", None, report.users_without_training_data as f64);
    row("seconds", None, started.elapsed().as_secs_f64());
    Ok(set)
}
