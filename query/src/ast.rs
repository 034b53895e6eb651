//! The abstract syntax tree.
//!
//! One [`Statement`] per statement of the text: a [`StatementKind`] and the [`Span`] it covers. Every node
//! that stands for text carries its span; spans never take part in equality (see [`crate::span`]), so
//! `parse_statement(&ast.to_string()) == Ok(ast)`. `Display` on every node prints canonical recodb text
//! (see [`crate::printer`]).
//!
//! Invariants the parser guarantees and the printer relies on: lists that follow a keyword (`TAGS (...)`,
//! `WITH (...)`, `AT k, ...`, `IN (...)`) are non-empty when present and empty when absent; `And`/`Or`
//! have at least two operands; identifiers and words are non-empty.

use crate::span::Span;

/// One statement and the text it covers (without its `;`).
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    /// What the statement says.
    pub kind: StatementKind,
    /// Where it is in the text given to the parser.
    pub span: Span,
}

/// The statements of the language, one variant per form of docs/language.md §3.
#[derive(Clone, Debug, PartialEq)]
pub enum StatementKind {
    /// `ADD USER|ITEM key [LABEL 'text'] [TAGS ('t1', ...)]`
    Add {
        /// Users or items.
        side: Side,
        /// The external key.
        key: Literal,
        /// A display label (a title) to give it (a string or `?`).
        label: Option<Literal>,
        /// Tags to attach (strings or `?`); empty when `TAGS` is absent.
        tags: Vec<Literal>,
    },
    /// `INSERT INTERACTION USER key ITEM key [WEIGHT number] [AT integer]`
    InsertInteraction {
        /// The user's key.
        user: Literal,
        /// The item's key.
        item: Literal,
        /// An optional weight (a rating, a count): an integer or float, possibly negative, or `?`.
        weight: Option<Literal>,
        /// An optional timestamp: an integer, possibly negative, or `?`.
        time: Option<Literal>,
    },
    /// `DELETE INTERACTION USER key ITEM key`
    DeleteInteraction {
        /// The user's key.
        user: Literal,
        /// The item's key.
        item: Literal,
    },
    /// `DELETE USER key` or `DELETE ITEM key`
    Delete {
        /// Users or items.
        side: Side,
        /// The external key.
        key: Literal,
    },
    /// `IMPORT INTERACTIONS|USERS|ITEMS FROM 'path' [FORMAT name] [WITH (option = value, ...)]`
    Import {
        /// What the file holds.
        target: ImportTarget,
        /// The file's path: a string or `?`.
        path: Literal,
        /// The file format (`csv`, `tsv`, `movielens`, `lightgcn`, ...), lower-cased when bare.
        format: Option<Ident>,
        /// Reader options; empty when `WITH` is absent.
        options: Vec<OptionPair>,
    },
    /// `SPLIT HOLDOUT fraction [SEED integer]`
    SplitHoldout {
        /// The fraction held out: an unsigned integer or float, or `?`.
        fraction: Literal,
        /// The seed: an unsigned integer or `?`.
        seed: Option<Literal>,
    },
    /// `SPLIT CLEAR`
    SplitClear,
    /// `TRAIN algorithm [AS name] [WITH (param = value, ...)] [BACKGROUND]`
    Train {
        /// The algorithm (`dsiml`, `cml`, ...).
        algorithm: Ident,
        /// The model's name; the database picks one when absent.
        name: Option<Ident>,
        /// Hyperparameters; empty when `WITH` is absent.
        options: Vec<OptionPair>,
        /// Whether `BACKGROUND` was given (return a job id at once).
        background: bool,
    },
    /// `RECOMMEND USER key TOP n ...`
    Recommend(Recommend),
    /// `RECOMMEND TAGS FOR USER|ITEM key TOP n ...`
    RecommendTags(RecommendTags),
    /// `SIMILAR ITEM|USER key TOP n ...`
    Similar(Similar),
    /// `EVALUATE name [, name ...] [RERANK m USING name] [COLD ITEMS FROM 'path' | COLD USERS FROM 'path' | TAGS] [AGAINST 'path'
    /// [FORMAT name]] [AT k1, k2, ...] [WITH (option = value, ...)]`
    Evaluate {
        /// The models to evaluate (at least one), side by side.
        models: Vec<Ident>,
        /// `RERANK m USING name`: evaluate the two-stage ranking (the model retrieves, another ranks).
        rerank: Option<Rerank>,
        /// `COLD ITEMS FROM 'path'` or `TAGS`: another protocol than item recommendation.
        task: Option<EvaluateTask>,
        /// An external test file; the database's holdout when absent.
        against: Option<Source>,
        /// The cut-offs K (unsigned integers or `?`); empty when `AT` is absent.
        cutoffs: Vec<Literal>,
        /// Protocol options; empty when `WITH` is absent.
        options: Vec<OptionPair>,
    },
    /// `EXPLAIN RECOMMEND ...` or `EXPLAIN SIMILAR ...`
    Explain(Query),
    /// `SHOW USERS|ITEMS|INTERACTIONS|TAGS|MODELS|JOBS|STATS|ALGORITHMS ... [LIMIT n] [OFFSET n]`
    Show(Show),
    /// `DESCRIBE USER key`, `DESCRIBE ITEM key` or `DESCRIBE MODEL name`
    Describe(DescribeTarget),
    /// `DROP MODEL name`
    DropModel {
        /// The model to drop, with all its versions.
        name: Ident,
    },
    /// `CHECK`: the database's integrity check.
    Check,
    /// `CANCEL JOB id`
    CancelJob {
        /// The job id: an unsigned integer or `?`.
        job: Literal,
    },
    /// `WAIT JOB id`
    WaitJob {
        /// The job id: an unsigned integer or `?`.
        job: Literal,
    },
    /// `EXPORT CODES name USERS|ITEMS TO 'path'`
    ExportCodes {
        /// The model whose binary codes are written.
        model: Ident,
        /// Whose codes.
        side: Side,
        /// The file's path: a string or `?`.
        path: Literal,
    },
    /// `EXPORT RECOMMENDATIONS name TOP n TO 'path'`
    ExportRecommendations {
        /// The model that recommends.
        model: Ident,
        /// How many items per user: an unsigned integer or `?`.
        top: Literal,
        /// The file's path: a string or `?`.
        path: Literal,
    },
    /// `SET option = value`
    Set {
        /// The setting (any word, keywords included), lower-cased when bare.
        name: Ident,
        /// Its new value.
        value: Literal,
    },
}

/// `RECOMMEND USER key TOP n [USING name] [RERANK m USING name] [WHERE filter] [INCLUDE SEEN] [WITH (...)]`
#[derive(Clone, Debug, PartialEq)]
pub struct Recommend {
    /// The user's key.
    pub user: Literal,
    /// How many items: an unsigned integer or `?`.
    pub top: Literal,
    /// The model; the most recently trained one when absent.
    pub using: Option<Ident>,
    /// A second model that re-orders the first one's candidates.
    pub rerank: Option<Rerank>,
    /// Which items may be recommended.
    pub filter: Option<Filter>,
    /// Whether `INCLUDE SEEN` was given (keep items the user already interacted with).
    pub include_seen: bool,
    /// Options (e.g. which tags to show beside each row); empty when `WITH` is absent.
    pub options: Vec<OptionPair>,
}

/// `RECOMMEND TAGS FOR USER|ITEM key TOP n [USING name] [WITH (option = value, ...)]`: the tags nearest a
/// user, or those an item lacks.
#[derive(Clone, Debug, PartialEq)]
pub struct RecommendTags {
    /// Tags for a user or for an item.
    pub side: Side,
    /// The user's or item's key.
    pub key: Literal,
    /// How many tags: an unsigned integer or `?`.
    pub top: Literal,
    /// The model; the most recently trained one when absent.
    pub using: Option<Ident>,
    /// Options (e.g. a tag prefix); empty when `WITH` is absent.
    pub options: Vec<OptionPair>,
}

/// What an `EVALUATE` measures besides item recommendation (its default).
#[derive(Clone, Debug, PartialEq)]
pub enum EvaluateTask {
    /// `COLD ITEMS FROM 'path'`: the item cold-start protocol over the items the file lists (a string or
    /// `?`).
    ColdItems(Literal),
    /// `COLD USERS FROM 'path'`: the user cold-start protocol over the users the file lists (a string or
    /// `?`).
    ColdUsers(Literal),
    /// `TAGS`: tag recommendation, against the tags of each user's test items.
    Tags,
}

/// `RERANK m USING name`: order the first `m` candidates by another model's scores.
#[derive(Clone, Debug, PartialEq)]
pub struct Rerank {
    /// How many candidates: an unsigned integer or `?`.
    pub candidates: Literal,
    /// The model that re-orders them.
    pub model: Ident,
}

/// `SIMILAR ITEM|USER key TOP n [USING name] [WHERE filter] [WITH (...)]`
#[derive(Clone, Debug, PartialEq)]
pub struct Similar {
    /// Similar items or similar users.
    pub side: Side,
    /// The key of the entity to compare with.
    pub key: Literal,
    /// How many: an unsigned integer or `?`.
    pub top: Literal,
    /// The model; the most recently trained one when absent.
    pub using: Option<Ident>,
    /// Which results may be returned.
    pub filter: Option<Filter>,
    /// Options (e.g. which tags to show beside each row); empty when `WITH` is absent.
    pub options: Vec<OptionPair>,
}

/// A statement that `EXPLAIN` can explain.
#[derive(Clone, Debug, PartialEq)]
pub enum Query {
    /// `RECOMMEND ...`
    Recommend(Recommend),
    /// `SIMILAR ...`
    Similar(Similar),
}

/// `'path' [FORMAT name]`: an external file read by `EVALUATE ... AGAINST`.
#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    /// The file's path: a string or `?`.
    pub path: Literal,
    /// The file format, lower-cased when bare.
    pub format: Option<Ident>,
}

/// Users or items.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Side {
    /// `USER` (or `USERS`).
    User,
    /// `ITEM` (or `ITEMS`).
    Item,
}

/// What an `IMPORT` file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImportTarget {
    /// `INTERACTIONS`: (user, item[, weight][, time]) rows.
    Interactions,
    /// `USERS`: users and their tags.
    Users,
    /// `ITEMS`: items and their tags.
    Items,
}

/// `SHOW object [WHERE filter] [ORDER BY INTERACTIONS [ASC|DESC]] [LIMIT n] [OFFSET n]`; the parser
/// accepts `WHERE` and `ORDER BY` only after `USERS` and `ITEMS`.
#[derive(Clone, Debug, PartialEq)]
pub struct Show {
    /// What to list.
    pub object: ShowObject,
    /// `WHERE filter`: the users or items listed.
    pub filter: Option<Filter>,
    /// `ORDER BY INTERACTIONS [ASC|DESC]`: by number of interactions instead of by id.
    pub order: Option<SortOrder>,
    /// At most this many rows: an unsigned integer or `?`.
    pub limit: Option<Literal>,
    /// Rows skipped before the first one shown: an unsigned integer or `?`.
    pub offset: Option<Literal>,
}

/// The direction of `ORDER BY`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SortOrder {
    /// `ASC` (the default): smallest first.
    Ascending,
    /// `DESC`: largest first.
    Descending,
}

/// What `SHOW` lists.
#[derive(Clone, Debug, PartialEq)]
pub enum ShowObject {
    /// `USERS`
    Users,
    /// `ITEMS`
    Items,
    /// `TAGS`
    Tags,
    /// `MODELS`
    Models,
    /// `JOBS`
    Jobs,
    /// `STATS`
    Stats,
    /// `ALGORITHMS`: the algorithms TRAIN knows, with their parameters.
    Algorithms,
    /// `INTERACTIONS [USER key | ITEM key]`: every interaction, or one user's or one item's.
    Interactions(Option<(Side, Literal)>),
}

/// What `DESCRIBE` describes.
#[derive(Clone, Debug, PartialEq)]
pub enum DescribeTarget {
    /// `DESCRIBE USER key`
    User(Literal),
    /// `DESCRIBE ITEM key`
    Item(Literal),
    /// `DESCRIBE MODEL name`
    Model(Ident),
}

/// A `WHERE` filter. `NOT` binds tighter than `AND`, which binds tighter than `OR`.
///
/// `And` and `Or` are n-ary (`a AND b AND c` is one `And` of three operands), so a long chain makes a flat
/// list, not a deep tree; an `And` directly inside an `And` exists only where the text had parentheses.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `TAG = 'x'`
    TagEq {
        /// The tag: a string or `?`.
        tag: Literal,
        /// The filter's text.
        span: Span,
    },
    /// `TAG IN ('x', ...)`
    TagIn {
        /// The tags (strings or `?`), at least one.
        tags: Vec<Literal>,
        /// The filter's text.
        span: Span,
    },
    /// `ITEM IN (key, ...)`
    ItemIn {
        /// The item keys, at least one.
        items: Vec<Literal>,
        /// The filter's text.
        span: Span,
    },
    /// `NOT filter`
    Not {
        /// The negated filter.
        operand: Box<Filter>,
        /// The filter's text.
        span: Span,
    },
    /// `filter AND filter AND ...`
    And {
        /// The operands, at least two.
        operands: Vec<Filter>,
        /// The filter's text.
        span: Span,
    },
    /// `filter OR filter OR ...`
    Or {
        /// The operands, at least two.
        operands: Vec<Filter>,
        /// The filter's text.
        span: Span,
    },
}

impl Filter {
    /// The text the filter covers (for a parenthesized filter, the text inside the parentheses).
    pub fn span(&self) -> Span {
        match self {
            Filter::TagEq { span, .. }
            | Filter::TagIn { span, .. }
            | Filter::ItemIn { span, .. }
            | Filter::Not { span, .. }
            | Filter::And { span, .. }
            | Filter::Or { span, .. } => *span,
        }
    }
}

/// A name: a model, an algorithm, a format, an option.
///
/// A bare identifier is stored lower-cased (`USING DSiml` names `dsiml`); a double-quoted one is stored
/// exactly as written (`"My Model"`), and is how a keyword or any other text can be a name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    /// The name, never empty.
    pub value: String,
    /// Where it was written.
    pub span: Span,
}

/// `name = value` in a `WITH (...)` list.
#[derive(Clone, Debug, PartialEq)]
pub struct OptionPair {
    /// The option (any word, keywords included), lower-cased when bare.
    pub name: Ident,
    /// Its value.
    pub value: Literal,
    /// The text `name = value`.
    pub span: Span,
}

/// A literal value or a `?` placeholder, with its position.
#[derive(Clone, Debug, PartialEq)]
pub struct Literal {
    /// The value.
    pub value: LiteralValue,
    /// Where it was written (a leading `-` included).
    pub span: Span,
}

impl Literal {
    /// A literal with a default span (for building ASTs in code).
    pub fn new(value: LiteralValue) -> Self {
        Literal { value, span: Span::default() }
    }
}

/// The value of a [`Literal`].
#[derive(Clone, Debug, PartialEq)]
pub enum LiteralValue {
    /// An integer in [`crate::limits::MIN_INT`] ..= [`crate::limits::MAX_INT`].
    Int(i128),
    /// A finite float (`1.5`, `-.5`, `1e-3`). Printed with `{:?}`, so it reads back exactly and as a float.
    Float(f64),
    /// A single-quoted string, unescaped.
    Str(String),
    /// `TRUE` or `FALSE`.
    Bool(bool),
    /// A bare word used as a value (`SET durability = relaxed`), kept as written; distinct from a string.
    /// A double-quoted identifier in a value position is also a word (`"true"` is the word, not the bool).
    Word(String),
    /// A `?` placeholder: its index, counting from 0 in order of appearance across the parsed text.
    Param(usize),
}
