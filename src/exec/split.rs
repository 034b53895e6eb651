//! `SPLIT HOLDOUT fraction [SEED n]` and `SPLIT CLEAR`.

use recodb_query::Literal;

use super::context::Context;
use crate::error::{Result, ResultExt};
use crate::eval::split;
use crate::result::ResultSet;
use crate::value::Value;

/// `SPLIT HOLDOUT fraction [SEED n]`: one row, `users_split`, `held_out` and `seed`; a notice when it
/// replaced a split in force (models trained since then have seen what the new split holds out).
pub(super) fn holdout(ctx: &Context<'_>, fraction: &Literal, seed: Option<&Literal>) -> Result<ResultSet> {
    let seed = seed.map(|s| ctx.bind.count(s, "SEED")).transpose()?;
    let share = ctx.bind.number(fraction, "the holdout fraction")?;
    let s = split::holdout(ctx.store(), share, seed).at(fraction.span)?;
    let mut set = ResultSet::single(vec![
        ("users_split", Value::Int(s.users as i64)),
        ("held_out", Value::Int(s.held_out as i64)),
        ("seed", Value::Int(s.seed as i64)),
    ]);
    if let Some(old) = s.replaced {
        set.push_notice(format!(
            "this split replaced the one in force (fraction {}, seed {}); models trained before now have \
             seen interactions it holds out, so retrain them before EVALUATE",
            old.fraction, old.seed
        ));
    }
    Ok(set)
}

/// `SPLIT CLEAR`: one row, `restored`.
pub(super) fn clear(ctx: &Context<'_>) -> Result<ResultSet> {
    let restored = split::clear(ctx.store())?;
    Ok(ResultSet::single(vec![("restored", Value::Int(restored as i64))]))
}
