//! SHOW USERS, ITEMS, INTERACTIONS, TAGS and STATS, DESCRIBE USER and ITEM, and CHECK: reading what the
//! database holds.

use recodb_query::{Filter, Literal, Side as QuerySide, SortOrder};
use recodb_storage::{Key, Side, Store};

use super::context::{unknown, Context};
use super::filter::allowed;
use super::rows::{label_value, pairs};
use crate::data;
use crate::error::{Error, Result};
use crate::result::{ColumnType, ResultSet};
use crate::value::Value;

/// Rows returned by SHOW USERS, ITEMS, INTERACTIONS and TAGS when no LIMIT is given.
pub(super) const DEFAULT_SHOW_LIMIT: usize = 100;

/// Which rows of a listing SHOW returns: `offset` rows skipped, then at most `limit` (the listing's
/// default when `None`).
pub(super) struct Page {
    /// `OFFSET n` (0 when absent).
    pub(super) offset: usize,
    /// `LIMIT n`, if given.
    pub(super) limit: Option<usize>,
}

impl Page {
    /// The rows of `all` on this page; `default` is the limit when none was given.
    pub(super) fn rows<I: Iterator>(&self, all: I, default: usize) -> impl Iterator<Item = I::Item> {
        all.skip(self.offset).take(self.limit.unwrap_or(default))
    }

    /// The notice for a listing that the default limit cut: which rows are shown out of how many, and
    /// how to see more. `None` when a LIMIT was given (the user asked for the cut) or nothing was cut.
    fn cut(&self, shown: usize, total: u64, what: &str) -> Option<String> {
        let end = (self.offset + shown) as u64;
        if self.limit.is_some() || end >= total {
            return None;
        }
        Some(match self.offset {
            0 => format!("showing the first {shown} of {total} {what}; LIMIT n shows more"),
            offset => format!("showing {what} {} to {end} of {total}; LIMIT n shows more", offset + 1),
        })
    }
}

/// `SHOW USERS|ITEMS [WHERE filter] [ORDER BY INTERACTIONS [ASC|DESC]] [LIMIT n] [OFFSET n]`: key,
/// label (when some entity of the side has one), interactions and tags of each, in id order or by
/// number of interactions (ties in id order); a notice when the default limit cut the list.
pub(super) fn entities(
    ctx: &Context<'_>,
    side: Side,
    filter: Option<&Filter>,
    order: Option<SortOrder>,
    page: &Page,
) -> Result<ResultSet> {
    let store = ctx.store();
    let allowed = filter.map(|f| allowed(ctx, side, f)).transpose()?;
    let wanted = |e: &Result<(u32, Key)>| {
        e.as_ref().map_or(true, |(id, _)| allowed.as_ref().is_none_or(|a| a.contains(*id)))
    };
    // The entities the filter allows, in id order (errors passed on).
    let entities = || EntityIter::new(store, side).filter(wanted);
    let interactions = |id: u32| Ok::<_, Error>(store.neighbours(side, id)?.map_or(0, |b| b.len()));
    // Without an order, entities stream in id order and only the page is read; with one, every
    // allowed entity's count is read and sorted.
    let (listed, total): (Vec<(u32, Key, u64)>, u64) = match order {
        None => {
            let mut all = entities();
            let listed = page.rows(all.by_ref(), DEFAULT_SHOW_LIMIT).collect::<Result<Vec<_>>>()?;
            let total = match (&allowed, page.limit) {
                (None, _) => store.count(side)?,
                // The total is only needed for the notice of a default limit.
                (Some(_), Some(_)) => 0,
                (Some(_), None) => {
                    page.offset as u64 + listed.len() as u64 + all.try_fold(0, |n, e| e.map(|_| n + 1))?
                }
            };
            let listed = listed
                .into_iter()
                .map(|(id, key)| Ok((id, key, interactions(id)?)))
                .collect::<Result<_>>()?;
            (listed, total)
        }
        Some(order) => {
            let mut all = entities()
                .map(|e| e.and_then(|(id, key)| Ok((id, key, interactions(id)?))))
                .collect::<Result<Vec<_>>>()?;
            match order {
                SortOrder::Ascending => all.sort_by_key(|e| (e.2, e.0)),
                SortOrder::Descending => all.sort_by_key(|e| (std::cmp::Reverse(e.2), e.0)),
            }
            let total = all.len() as u64;
            (page.rows(all.into_iter(), DEFAULT_SHOW_LIMIT).collect(), total)
        }
    };
    let labelled = store.has_labels(side)?;
    let side_name = side.to_string();
    let mut columns = vec![(side_name.as_str(), ColumnType::Key)];
    if labelled {
        columns.push(("label", ColumnType::Text));
    }
    columns.extend([("interactions", ColumnType::Int), ("tags", ColumnType::Tags)]);
    let mut set = ResultSet::new(&columns);
    for (id, key, count) in listed {
        let tags = store.entity_tags(side, id)?;
        let mut row = vec![Value::Key(key)];
        if labelled {
            row.push(label_value(store, side, id)?);
        }
        row.extend([Value::Int(count as i64), Value::Tags(tags)]);
        set.push(row);
    }
    let cut = page.cut(set.len(), total, &format!("{side}s"));
    Ok(set.with_notices(cut))
}

/// The live entities of a side in id order, read a block at a time.
struct EntityIter<'s> {
    store: &'s Store,
    side: Side,
    block: std::vec::IntoIter<(u32, Key)>,
    next_from: Option<u32>,
}

impl<'s> EntityIter<'s> {
    /// How many entities one read fetches.
    const BLOCK: usize = 256;

    fn new(store: &'s Store, side: Side) -> EntityIter<'s> {
        EntityIter { store, side, block: Vec::new().into_iter(), next_from: Some(0) }
    }
}

impl Iterator for EntityIter<'_> {
    type Item = Result<(u32, Key)>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(entity) = self.block.next() {
            return Some(Ok(entity));
        }
        let from = self.next_from?;
        let block = match self.store.entities(self.side, from, Self::BLOCK) {
            Ok(block) => block,
            Err(e) => {
                self.next_from = None;
                return Some(Err(e.into()));
            }
        };
        self.next_from = match block.last() {
            Some(&(last, _)) if block.len() == Self::BLOCK => last.checked_add(1),
            _ => None,
        };
        self.block = block.into_iter();
        self.block.next().map(Ok)
    }
}

/// `SHOW INTERACTIONS [USER key | ITEM key] [LIMIT n] [OFFSET n]`: user, item (with the item's label
/// when items have labels), weight, time and whether it is held out, by user then item; a notice when
/// the default limit cut the list.
pub(super) fn interactions(
    ctx: &Context<'_>,
    of: Option<&(QuerySide, Literal)>,
    page: &Page,
) -> Result<ResultSet> {
    let store = ctx.store();
    let (users, item, total): (Box<dyn Iterator<Item = u32>>, Option<u32>, u64) = match of {
        None => {
            let bound = store.id_bound(Side::User)?;
            (Box::new(0..bound), None, store.interaction_count()?)
        }
        Some((side, key)) => {
            let side = super::side_of(*side);
            let bound = ctx.bind.key(key)?;
            let Some(id) = store.id_of(side, &bound)? else {
                return Err(unknown(store, side, &bound)?.at(key.span));
            };
            let neighbours = store.neighbours(side, id)?.unwrap_or_default();
            let total = neighbours.len();
            match side {
                Side::User => (Box::new(std::iter::once(id)), None, total),
                Side::Item => (Box::new(neighbours.into_iter()), Some(id), total),
            }
        }
    };
    let labelled = store.has_labels(Side::Item)?;
    let mut columns = vec![("user", ColumnType::Key), ("item", ColumnType::Key)];
    if labelled {
        columns.push(("label", ColumnType::Text));
    }
    columns.extend([
        ("weight", ColumnType::Float),
        ("time", ColumnType::Int),
        ("held_out", ColumnType::Bool),
    ]);
    let mut set = ResultSet::new(&columns);
    let mut rows = page.rows(InteractionIter::new(store, users, item), DEFAULT_SHOW_LIMIT);
    for interaction in rows.by_ref() {
        let i = interaction?;
        let mut row = vec![Value::Key(i.user), Value::Key(i.item)];
        if labelled {
            row.push(label_value(store, Side::Item, i.item_id)?);
        }
        row.extend([
            Value::Float(f64::from(i.weight)),
            i.time.map_or(Value::Null, Value::Int),
            Value::Bool(i.held_out),
        ]);
        set.push(row);
    }
    let cut = page.cut(set.len(), total, "interactions");
    Ok(set.with_notices(cut))
}

/// One interaction as SHOW INTERACTIONS lists it.
struct Interaction {
    user: Key,
    item: Key,
    item_id: u32,
    weight: f32,
    time: Option<i64>,
    held_out: bool,
}

/// The interactions of `users` (or only those with `item`), user by user, each user's in item order.
struct InteractionIter<'s> {
    store: &'s Store,
    users: Box<dyn Iterator<Item = u32> + 's>,
    item: Option<u32>,
    current: std::vec::IntoIter<Interaction>,
}

impl<'s> InteractionIter<'s> {
    fn new(store: &'s Store, users: Box<dyn Iterator<Item = u32> + 's>, item: Option<u32>) -> Self {
        InteractionIter { store, users, item, current: Vec::new().into_iter() }
    }

    /// The listed interactions of one user (none when the user was deleted).
    fn of_user(&self, user: u32) -> Result<Vec<Interaction>> {
        let (Some(user_key), Some(row)) = (self.store.key_of(Side::User, user)?, self.store.user_row(user)?)
        else {
            return Ok(Vec::new());
        };
        let held = self.store.holdout(user)?.unwrap_or_default();
        let mut out = Vec::new();
        for (item_id, weight, time) in row.iter().filter(|(i, _, _)| self.item.is_none_or(|only| only == *i))
        {
            if let Some(item) = self.store.key_of(Side::Item, item_id)? {
                out.push(Interaction {
                    user: user_key.clone(),
                    item,
                    item_id,
                    weight,
                    time,
                    held_out: held.contains(item_id),
                });
            }
        }
        Ok(out)
    }
}

impl Iterator for InteractionIter<'_> {
    type Item = Result<Interaction>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(interaction) = self.current.next() {
                return Some(Ok(interaction));
            }
            let user = self.users.next()?;
            match self.of_user(user) {
                Ok(list) => self.current = list.into_iter(),
                Err(e) => return Some(Err(e)),
            }
        }
    }
}

/// `SHOW TAGS [LIMIT n] [OFFSET n]`: every tag in use with its side and number of entities, most used
/// first; a notice when the default limit cut the list.
pub(super) fn tags(ctx: &Context<'_>, page: &Page) -> Result<ResultSet> {
    let mut all = Vec::new();
    for side in Side::BOTH {
        all.extend(ctx.store().tags(side)?.into_iter().map(|(tag, n)| (side, tag, n)));
    }
    all.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (a.0, &a.1).cmp(&(b.0, &b.1))));
    let mut set = ResultSet::new(&[
        ("side", ColumnType::Text),
        ("tag", ColumnType::Text),
        ("entities", ColumnType::Int),
    ]);
    let total = all.len() as u64;
    for (side, tag, n) in page.rows(all.into_iter(), DEFAULT_SHOW_LIMIT) {
        set.push(vec![Value::Text(side.to_string()), Value::Text(tag), Value::Int(n as i64)]);
    }
    let cut = page.cut(set.len(), total, "tags");
    Ok(set.with_notices(cut))
}

/// `SHOW STATS`: one row per figure (`stat`, `value`).
pub(super) fn stats(ctx: &Context<'_>) -> Result<ResultSet> {
    let s = data::stats(ctx.store())?;
    let rows: [(&str, String); 12] = [
        ("users", s.users.to_string()),
        ("items", s.items.to_string()),
        ("interactions", s.interactions.to_string()),
        ("held_out", s.held_out.to_string()),
        ("density", format!("{:.6}", s.density)),
        ("user_tags", s.user_tags.to_string()),
        ("item_tags", s.item_tags.to_string()),
        ("size_on_disk", s.size_on_disk.to_string()),
        ("size_data", s.size_data.to_string()),
        ("size_models", s.size_models.to_string()),
        ("size_free", s.size_free.to_string()),
        ("data_version", s.data_version.to_string()),
    ];
    Ok(pairs(["stat", "value"], rows))
}

/// `CHECK`: the integrity check, one row per count (`check`, `result`), then `problems` with how many were
/// found and one `problem` row naming each damaged structure and its key or blob. Data that cannot be
/// read at all is an error.
pub(super) fn check(ctx: &Context<'_>) -> Result<ResultSet> {
    let check = crate::db::inspect(ctx.store())?;
    let c = &check.counted;
    let counts = [
        ("users", c.users),
        ("items", c.items),
        ("interactions", c.interactions),
        ("held_out", c.holdout),
        ("tags", c.tags),
        ("blobs", c.blobs),
        ("problems", check.problems.len() as u64),
    ];
    let counts = counts.into_iter().map(|(name, n)| (name, n.to_string()));
    let problems = check.problems.into_iter().map(|problem| ("problem", problem));
    Ok(pairs(["check", "result"], counts.chain(problems)))
}

/// `DESCRIBE USER|ITEM key`: one row per property (`property`, `value`); the key is shown bare.
pub(super) fn describe(ctx: &Context<'_>, side: Side, key: &Literal) -> Result<ResultSet> {
    let bound = ctx.bind.key(key)?;
    let Some(info) = data::describe(ctx.store(), side, &bound)? else {
        return Err(unknown(ctx.store(), side, &bound)?.at(key.span));
    };
    let mut rows = vec![("key", Value::Key(info.key).to_string()), ("id", info.id.to_string())];
    if let Some(label) = info.label {
        rows.push(("label", label));
    }
    rows.push(("interactions", info.interactions.to_string()));
    if side == Side::User {
        rows.push(("held_out", info.held_out.to_string()));
    }
    rows.push(("tags", info.tags.join(", ")));
    Ok(pairs(["property", "value"], rows))
}
